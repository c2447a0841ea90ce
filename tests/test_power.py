"""Hourly power prices: the index model and hourly CSV files (simulator/market/power.py).

Stochastic checks compare sample statistics with the model's closed forms at 5 standard
errors (SE), with fixed seeds; the cap, floor and invariance checks are exact.
"""
from __future__ import annotations

import datetime as dt
import doctest
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from simulator.config.schema import IndexPower
from simulator.errors import InputError
from simulator.market import power
from simulator.market.power import (
    DRAWS_PER_DAY,
    POWER_MODELS,
    CsvPowerModel,
    IndexPowerModel,
    default_shape,
    normalise_shape,
    stationary_log_variance,
)
from simulator.market.power_profiles import index_model_kwargs
from simulator.rng import PathStreams

START = dt.date(2026, 1, 1)
MEAN = 38.0  # the contract example's ercot-hub mean [USD/MWh]
NO_LIMITS = dict(cap_usd_per_mwh=1e12, floor_usd_per_mwh=-1e12)


def run(model, path_ids, blocks, seed=11):
    """Run ``model`` over consecutive blocks of ``blocks`` days: (prices, state)."""
    streams = PathStreams(seed, "power", np.asarray(path_ids))
    state = model.start(streams)
    out, day = [], 0
    for n in blocks:
        values, state = model.block(state, day, n, streams)
        out.append(values)
        day += n
    return np.concatenate(out, axis=0), state


def draw(model, paths, days, seed=11):
    streams = PathStreams(seed, "power", np.arange(paths))
    detail, _ = model.draw(model.start(streams), 0, days, streams)
    return detail


# --------------------------------------------------------------------------- the index model


@pytest.fixture(scope="module")
def ou():
    """400 paths × 730 days, σ = 0.35, κ = 0.1, no spikes or negatives, no cap or floor."""
    model = IndexPowerModel(MEAN, START, vol_daily=0.35, reversion_daily=0.1, **NO_LIMITS)
    return model, draw(model, 400, 730)


def test_long_run_mean_is_mean_usd_per_mwh(ou):
    # The paths are independent (one generator each); within a path the hours are strongly
    # autocorrelated (the base is an AR(1)), so each path's mean over its 730 × 24 hours is one
    # independent sample: SE = sd(path means, ddof=1) / sqrt(paths).
    model, detail = ou
    per_path = detail.prices_usd_per_mwh.mean(axis=(0, 1))
    se = per_path.std(ddof=1) / math.sqrt(per_path.size)
    assert se < 0.02 * MEAN  # the test has power (SE ≈ 0.3 USD/MWh)
    assert abs(per_path.mean() - MEAN) < 5 * se


def test_mean_holds_from_day_zero(ou):
    # Stationary start: E[B_0] = M across independent paths; SE = sd / sqrt(paths).
    model, detail = ou
    b0 = detail.base_usd_per_mwh[0]
    assert abs(b0.mean() - MEAN) < 5 * b0.std(ddof=1) / math.sqrt(b0.size)


def test_log_base_is_ar1_with_phi_one_minus_reversion(ou):
    model, detail = ou
    y = np.log(detail.base_usd_per_mwh) - model.log_base_centre(0)  # known centre ln M − v/2
    phi = (y[:-1] * y[1:]).sum() / (y[:-1] ** 2).sum()  # pooled least squares, no intercept
    n = y[:-1].size
    se = math.sqrt((1 - 0.9**2) / n)  # asymptotic SE of the AR(1) coefficient
    assert abs(phi - (1 - model.reversion_daily)) < 5 * se
    # stationary variance v = σ² / (1 − (1 − κ)²) = 0.1225 / 0.19, within 10 %
    assert_allclose(y.var(), model.log_variance, rtol=0.10)
    assert_allclose(model.log_variance, 0.35**2 / (1 - 0.9**2))


def test_zero_vol_is_mean_times_shape():
    model = IndexPowerModel(MEAN, START)
    prices, _ = run(model, [0, 1], [365])
    shape = model.shape_of_days(0, 365)
    assert_allclose(prices, MEAN * shape[:, :, None] * np.ones(2), rtol=1e-12)
    assert_allclose(prices.mean(), MEAN, rtol=1e-12)  # a 365-day year averages to M exactly
    july = (dt.date(2026, 7, 1) - START).days
    assert_allclose(prices[july, :, 0], MEAN * model.shape_table[:, 6], rtol=1e-12)


def test_random_walk_keeps_the_mean():
    # κ = 0: y is a random walk from y_0 = σ z_0; the centre ln M − (d + 1)σ²/2 keeps E[B_d] = M.
    model = IndexPowerModel(MEAN, START, vol_daily=0.05, reversion_daily=0.0, **NO_LIMITS)
    detail = draw(model, 400, 365)
    last = detail.base_usd_per_mwh[-1]
    assert abs(last.mean() - MEAN) < 5 * last.std(ddof=1) / math.sqrt(last.size)
    y = np.log(detail.base_usd_per_mwh) - model.log_base_centre(np.arange(365))[:, None]
    assert_allclose(y[-1].var(), 365 * 0.05**2, rtol=0.25)  # 5 SE of a variance: 5·sqrt(2/400)


def test_spike_and_negative_hours():
    p, q, jump, neg = 0.05, 0.03, 500.0, -20.0  # p × J = 25 < M: the all-in mean leaves a base of ~14
    model = IndexPowerModel(MEAN, START, vol_daily=0.3, spike_probability=p, spike_usd_per_mwh=jump,
                            negative_probability=q, negative_usd_per_mwh=neg, **NO_LIMITS)
    d = draw(model, 100, 365)
    n = d.spike.size  # hours are independent: SE of a frequency = sqrt(p(1 − p) / n)
    assert abs(d.spike.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert abs(d.negative.mean() - q) < 5 * math.sqrt(q * (1 - q) / n)
    assert abs((d.spike & d.negative).mean() - p * q) < 5 * math.sqrt(p * q / n)  # independent
    formula = d.base_usd_per_mwh[:, None, :] * d.shape[:, :, None]
    spiked = d.spike & ~d.negative
    assert (d.prices_usd_per_mwh[spiked] >= formula[spiked] + jump).all()
    assert_allclose(d.prices_usd_per_mwh[spiked], formula[spiked] + jump, rtol=1e-12)
    assert (d.prices_usd_per_mwh[d.negative] == neg).all()  # replaces the formula, spike or not
    plain = ~d.spike & ~d.negative
    assert_allclose(d.prices_usd_per_mwh[plain], formula[plain], rtol=1e-12)


def test_cap_and_floor_hold_exactly():
    # ERCOT: $5,000 high system-wide offer cap, −$250 offer floor (GLOSSARY.md).
    model = IndexPowerModel(1500.0, START, vol_daily=3.0, spike_probability=0.2, spike_usd_per_mwh=10_000.0,
                            negative_probability=0.1, negative_usd_per_mwh=-1_000.0)
    d = draw(model, 50, 200)
    prices = d.prices_usd_per_mwh
    assert prices.max() == 5000.0 and prices.min() == -250.0
    assert (prices[d.spike & ~d.negative] == 5000.0).all()  # ≥ 10,000 before the cap
    assert (prices[d.negative] == -250.0).all()  # −1,000 floored
    assert ((prices >= -250.0) & (prices <= 5000.0)).all()


def test_diurnal_shape_is_visible(ou):
    model, detail = ou
    hourly = (model.shape_table * power.MONTH_DAYS).sum(axis=1)
    peak, trough = int(hourly.argmax()), int(hourly.argmin())
    by_hour = detail.prices_usd_per_mwh.mean(axis=(0, 2))
    assert by_hour[peak] > 1.3 * by_hour[trough]
    assert (peak, trough) == (1, 16)  # 19:00 CDT / 10:00 CST-ish evening peak, mid-morning trough


def test_default_shape_is_stylised_ercot():
    s = default_shape()
    assert s.shape == (24, 12) and not s.flags.writeable
    assert 0.6 < s.min() and s.max() < 1.85
    assert_allclose((s * power.MONTH_DAYS).sum() / (24 * 365), 1.0, rtol=1e-14)
    summer = s[:, 5:9].mean(axis=0)  # Jun–Sep
    assert summer.min() > s[:, [2, 3, 4, 9, 10]].mean(axis=0).max()
    assert s[0:3].mean() > 1.2 and s[15:17].mean() < 0.8  # 00–03 UTC peak, 15–16 UTC trough


def test_custom_shape_is_normalised():
    flat = np.r_[np.ones(12), 3 * np.ones(12)]
    model = IndexPowerModel(MEAN, START, shape=flat)
    assert_allclose(model.shape_table[:12], 0.5)
    assert_allclose(model.shape_table[12:], 1.5)
    prices, _ = run(model, [0], [2])
    assert_allclose(prices[0, :, 0], MEAN * np.r_[0.5 * np.ones(12), 1.5 * np.ones(12)])
    assert model == IndexPowerModel(MEAN, START, shape=flat.tolist())
    with pytest.raises(ValueError, match="shape must be"):
        normalise_shape(np.ones((24, 3)))
    with pytest.raises(ValueError, match="must not be all 0"):
        normalise_shape(np.zeros(24))


def test_block_split_invariance():
    model = IndexPowerModel(MEAN, START, vol_daily=0.35, spike_probability=0.01, negative_probability=0.02)
    whole, s1 = run(model, np.arange(6), [100])
    parts, s2 = run(model, np.arange(6), [1, 36, 0, 43, 20])
    assert_array_equal(whole, parts)
    assert s1.day == s2.day == 100
    assert_array_equal(s1.log_deviation, s2.log_deviation)


def test_path_chunk_invariance():
    model = IndexPowerModel(MEAN, START, vol_daily=0.35, spike_probability=0.01, negative_probability=0.02)
    together, _ = run(model, np.arange(8), [60])
    chunks = [run(model, ids, [60])[0] for ids in (np.arange(0, 3), np.arange(3, 8))]
    assert_array_equal(together, np.concatenate(chunks, axis=2))
    reordered, _ = run(model, [5, 2], [60])
    assert_array_equal(reordered, together[:, :, [5, 2]])


def test_draws_a_fixed_number_per_day():
    # 50 uniforms per path and day, as one (n_days, 50) block: the next draw after 10 days
    # is the 501st uniform of the path's generator.
    model = IndexPowerModel(MEAN, START, vol_daily=0.35)
    streams = PathStreams(3, "power", [0])
    model.block(model.start(streams), 0, 10, streams)
    fresh = PathStreams(3, "power", [0])
    fresh.uniform((10 * DRAWS_PER_DAY,))
    assert_array_equal(streams.uniform((1,)), fresh.uniform((1,)))


def test_defaults_are_the_schemas_and_scenario_keys_build_the_model():
    keys = IndexPower(contract="index", mean_usd_per_mwh=38, vol_daily=0.35, spike_probability=0.01)
    kwargs = index_model_kwargs(keys)
    model = POWER_MODELS["index"](start=START, **kwargs)
    for name, value in keys.model_dump(exclude={"contract", "file", "shape", "profile"}).items():
        assert getattr(model, name) == value
    assert (model.cap_usd_per_mwh, model.floor_usd_per_mwh) == (5000.0, -250.0)
    assert POWER_MODELS["csv"] is CsvPowerModel


@pytest.mark.parametrize("kwargs, match", [
    (dict(mean_usd_per_mwh=0.0), "mean_usd_per_mwh must be > 0"),
    (dict(vol_daily=-0.1), "vol_daily must be >= 0"),
    (dict(reversion_daily=1.5), "reversion_daily must be in"),
    (dict(spike_probability=-0.1), "spike_probability must be in"),
    (dict(cap_usd_per_mwh=-300.0), "must be below cap"),
    (dict(vol_daily=math.nan), "finite"),
])
def test_bad_parameters(kwargs, match):
    args = dict(mean_usd_per_mwh=MEAN, start=START) | kwargs
    with pytest.raises(ValueError, match=match):
        IndexPowerModel(**args)


def test_block_must_continue_the_state():
    model = IndexPowerModel(MEAN, START)
    streams = PathStreams(1, "power", [0])
    with pytest.raises(ValueError, match="block starts at day 5"):
        model.block(model.start(streams), 5, 1, streams)


def test_stationary_log_variance():
    assert stationary_log_variance(0.0, 0.0) == 0.0
    assert stationary_log_variance(0.2, 0.0) == math.inf
    assert_allclose(stationary_log_variance(0.2, 0.5), 0.04 / 0.75)


# --------------------------------------------------------------------------- hourly CSV files


def hours_csv(tmp_path, rows, header="datetime,price_usd_per_mwh", name="p.csv"):
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return str(path)


def day_rows(date="2026-01-01", price=lambda h: 20.0 + h, fmt="{date}T{h:02d}:00Z"):
    return [f"{fmt.format(date=date, h=h)},{price(h)}" for h in range(24)]


def test_csv_single_series_is_broadcast(tmp_path):
    rows = day_rows("2026-01-02", lambda h: 100.0 + h, "{date} {h:02d}:00") + day_rows()  # out of order
    model = CsvPowerModel(hours_csv(tmp_path, rows), START, horizon_days=2)
    prices, state = run(model, [0, 1, 2], [2])
    assert prices.shape == (2, 24, 3) and state.day == 2
    assert_array_equal(prices[0, :, 1], 20.0 + np.arange(24))
    assert_array_equal(prices[1, :, 2], 100.0 + np.arange(24))
    assert_array_equal(prices, np.repeat(prices[:, :, :1], 3, axis=2))
    split, _ = run(model, [0, 1, 2], [1, 1])
    assert_array_equal(prices, split)


def test_csv_per_path(tmp_path):
    rows = [f"{r.split(',')[0]},{p},{float(r.split(',')[1]) + 1000 * p}" for p in (0, 1) for r in day_rows()]
    file = hours_csv(tmp_path, rows, header="datetime,path,price_usd_per_mwh")
    prices, _ = run(CsvPowerModel(file, START), [1, 0], [1])
    assert_array_equal(prices[0, :, 0], 1020.0 + np.arange(24))
    assert_array_equal(prices[0, :, 1], 20.0 + np.arange(24))
    with pytest.raises(InputError, match="no rows for path 2"):
        run(CsvPowerModel(file, START), [0, 2], [1])


def test_csv_missing_hour_names_hour_file_and_line(tmp_path):
    rows = day_rows()
    del rows[5]  # 05:00Z; the next row, 06:00Z, is on line 1 (header) + 6 = 7
    file = hours_csv(tmp_path, rows)
    with pytest.raises(InputError) as err:
        CsvPowerModel(file, START, horizon_days=1).start(PathStreams(1, "power", [0]))
    assert (err.value.file, err.value.line) == (file, 7)
    assert str(err.value).startswith(f"{file}:7:1: ")
    assert "2026-01-01T05:00Z" in str(err.value)
    # a horizon longer than the file fails at start, naming the first hour after it
    with pytest.raises(InputError, match="2026-01-02T00:00Z"):
        CsvPowerModel(hours_csv(tmp_path, day_rows(), name="q.csv"), START, horizon_days=2).start(
            PathStreams(1, "power", [0]))


def test_csv_timezone_offsets_are_converted_to_utc(tmp_path):
    # 2025-12-31T18:00-06:00 (CST) is 2026-01-01T00:00Z; mixed notations are fine.
    rows = [f"{(dt.datetime(2025, 12, 31, 18) + dt.timedelta(hours=h)).strftime('%Y-%m-%dT%H:%M')}-06:00,{h}"
            for h in range(12)]
    rows += [f"2026-01-01T{h:02d}:00:00+00:00,{h}" for h in range(12, 18)]
    rows += [f"2026-01-01T{h + 1:02d}:00+0100,{h}" for h in range(18, 23)] + ["2026-01-01 23:00,23"]
    prices, _ = run(CsvPowerModel(hours_csv(tmp_path, rows), START), [0], [1])
    assert_array_equal(prices[0, :, 0], np.arange(24.0))


def test_csv_bad_rows(tmp_path):
    dup = day_rows() + ["2025-12-31T19:00-05:00,1"]  # = 2026-01-01T00:00Z, line 2
    with pytest.raises(InputError, match=r":26:1: power_price: the hour 2026-01-01T00:00Z is given twice \(also on line 2\)"):
        CsvPowerModel(hours_csv(tmp_path, dup), START).start(PathStreams(1, "power", [0]))
    for bad, what in (("2026-01-01T00:30Z,1", "not on the hour"), ("2026-01-01T00:00+05:30,1", "not on the hour"),
                      ("2026-01-01,1", "expected an ISO date and hour"), ("2026-02-30T00:00Z,1", "expected an ISO")):
        with pytest.raises(InputError, match=f":3:1: .*{what}"):
            CsvPowerModel(hours_csv(tmp_path, ["2026-01-01T01:00Z,5", bad]), START).start(
                PathStreams(1, "power", [0]))
    with pytest.raises(InputError, match="no 'datetime' column"):
        CsvPowerModel(hours_csv(tmp_path, ["2026-01-01,5"], header="date,price"), START).start(
            PathStreams(1, "power", [0]))
    with pytest.raises(InputError, match=":2:1: power_price: expected a finite number"):
        CsvPowerModel(hours_csv(tmp_path, ["2026-01-01T00:00Z,abc"]), START).start(PathStreams(1, "power", [0]))


def test_doctests():
    result = doctest.testmod(power, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 10
