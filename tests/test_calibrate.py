"""`hashfleet calibrate`: parameter recovery on data the project's own models generate, the
engine's endogenous recursion reproduced exactly, the fragment included into the contract
example, the CLI end to end, and bad input.

Recovery tolerances: every fitted parameter within 3 of its standard errors of the value the
data were generated with (and each standard error small enough that the check has teeth: the
GBM drift test, for one, fails by 6 standard errors if the fit forgot DESIGN.md's mean-drift
convention ``E[S_t] = S0 e^{μt}``). The network: the true lag, elasticity, power price,
capitulation delay and payback target inside their 95 % profile intervals, lag within 5
days, elasticity within 3 %.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from simulator.cli import main
from simulator.config import load_scenario
from simulator.engine import simulate
from simulator.errors import InputError
from simulator.hardware import load_library
from simulator.market.fees import LognormalFees
from simulator.market.history import load_history
from simulator.market.price import GBMPrice, JumpPrice, RegimePrice
from simulator.network import EndogenousHashrate
from simulator.rng import PathStreams
from simulator.workflows import calibrate as cal

from conftest import CONTRACT, CONTRACT_120_DAYS

SIGMAS = 3.0  # recovery tolerance in standard errors


def log_returns(model, paths: int, days: int, seed: int = 11) -> np.ndarray:
    """Daily log returns ``(days, paths)`` of a price model, as the engine draws them."""
    streams = PathStreams(seed, "btc_price", np.arange(paths))
    prices, _ = model.block(model.start(streams), 0, days, streams)
    return np.diff(np.log(np.vstack([np.full((1, paths), model.initial_usd), prices])), axis=0)


def assert_recovered(fit, truth: dict, max_se: dict) -> None:
    for e in fit.estimates:
        if e.parameter not in truth:
            continue
        assert e.se is not None and e.se <= max_se[e.parameter], (e.parameter, e.se)
        assert abs(e.value - truth[e.parameter]) <= SIGMAS * e.se, (e.parameter, e.value, truth[e.parameter], e.se)


# --------------------------------------------------------------------------- price and fees
def test_gbm_recovers_mean_drift_and_vol():
    fit = cal.fit_gbm(log_returns(GBMPrice(90_000, drift_annual=0.3, vol_annual=0.6), paths=40, days=3650))
    assert_recovered(fit, {"drift_annual": 0.3, "vol_annual": 0.6}, {"drift_annual": 0.035, "vol_annual": 0.002})
    # the closed-form standard error of the drift: sqrt(σ²/T + σ⁴/(2n)), T = 400 years
    assert fit.estimates[0].se == pytest.approx(np.sqrt(0.36 / 400 + 0.6**4 / (2 * 40 * 3650)), rel=0.01)
    assert fit.params == {"drift_annual": fit.estimates[0].value, "vol_annual": fit.estimates[1].value}


def test_jump_recovers_merton_parameters():
    truth = {"drift_annual": 0.2, "vol_annual": 0.4, "jump_intensity_annual": 12.0, "jump_mean": -0.06,
             "jump_vol": 0.10}
    model = JumpPrice(90_000, **truth)
    fit = cal.fit_jump(log_returns(model, paths=4, days=3650))
    # a drift off by the jump compensator λκ ≈ −0.64 would fail by 7 standard errors
    assert_recovered(fit, truth, {"drift_annual": 0.09, "vol_annual": 0.004, "jump_intensity_annual": 1.0,
                                  "jump_mean": 0.006, "jump_vol": 0.004})
    assert not fit.notes  # nothing at a search bound
    gbm = cal.fit_gbm(log_returns(model, paths=4, days=3650))
    assert fit.bic < gbm.bic - 100  # the jumps are detected


def test_regime_recovers_two_regimes():
    truth = [{"drift_annual": 0.8, "vol_annual": 0.4, "mean_duration_days": 200.0},
             {"drift_annual": -0.5, "vol_annual": 0.9, "mean_duration_days": 120.0}]
    fit = cal.fit_regime(log_returns(RegimePrice(90_000, truth), paths=5, days=4000))
    flat = {f"regimes[{k}].{key}": v for k, r in enumerate(truth) for key, v in r.items()}
    max_se = {"regimes[0].drift_annual": 0.08, "regimes[0].vol_annual": 0.004, "regimes[0].mean_duration_days": 40,
              "regimes[1].drift_annual": 0.25, "regimes[1].vol_annual": 0.01, "regimes[1].mean_duration_days": 20}
    assert_recovered(fit, flat, max_se)
    assert [r["vol_annual"] < 0.5 for r in fit.params["regimes"]] == [True, False]  # calm regime first
    assert fit.params["initial"] in (0, 1)


def test_regime_minimum_duration_is_respected():
    returns = log_returns(GBMPrice(90_000, drift_annual=0.1, vol_annual=0.5), paths=1, days=1500)
    fit = cal.fit_regime(returns, min_duration_days=60)
    assert all(r["mean_duration_days"] >= 60 * (1 - 1e-6) for r in fit.params["regimes"])


def test_fees_recover_lognormal_ar1():
    model = LognormalFees(btc_per_block=0.03, vol=0.7, phi=0.9)
    streams = PathStreams(3, "fees", np.arange(10))
    fees, _ = model.block(model.start(streams), 0, 2000, streams)
    fit = cal.fit_fees(fees)
    assert_recovered(fit, {"btc_per_block": 0.03, "vol": 0.7, "phi": 0.9},
                     {"btc_per_block": 0.001, "vol": 0.015, "phi": 0.005})
    assert set(fit.params) == {"btc_per_block", "vol", "phi"}


def test_fees_phi_is_clipped_into_the_schema_range():
    rng = np.random.default_rng(2)
    alternating = 0.02 * np.exp(0.5 * (-1.0) ** np.arange(800) + 0.05 * rng.standard_normal(800))
    low = cal.fit_fees(alternating)  # φ̂ ≈ −1
    trending = 0.02 * np.exp(0.005 * np.arange(800) + 0.05 * rng.standard_normal(800))
    high = cal.fit_fees(trending)  # φ̂ → 1
    assert low.params["phi"] == 0.0 and high.params["phi"] == 0.999
    assert "clipped" in low.notes[0] and "clipped" in high.notes[0]


# --------------------------------------------------------------------------- network
WINDOW_START = dt.date(2022, 3, 23)
PRIOR = 61


@pytest.fixture(scope="module")
def history_hashprice():
    """Real hashprice (shipped history) from PRIOR days before WINDOW_START to its end."""
    days = pd.date_range(WINDOW_START - dt.timedelta(days=PRIOR), "2026-03-22")
    return cal.history_hashprice_usd_per_ph_day(load_history()).reindex(days).to_numpy()


def engine_path(hashprice, start, lag, elasticity, power, capitulation, target, prior=PRIOR, initial_ehs=1.0):
    """The network hashrate the engine's own EndogenousHashrate makes from a hashprice series."""
    model = EndogenousHashrate.from_library(load_library(), start, initial_ehs, lag_days=lag, elasticity=elasticity,
                                            network_power_usd_per_mwh=power, capitulation_days=capitulation,
                                            payback_target_months=target, mix_years=4.0)
    state = replace(model.start(1), hashprice_history=hashprice[prior - lag: prior][:, None].copy())
    out = []
    for d in range(hashprice.size - prior):
        h, state = model.day(state, d)
        out.append(h[0])
        state = model.record(state, hashprice[prior + d: prior + d + 1])
    return np.array(out)


def test_endogenous_paths_equal_the_engine_model(history_hashprice):
    inputs = cal.NetworkInputs.build(WINDOW_START, np.ones(history_hashprice.size - PRIOR), history_hashprice, PRIOR)
    combos = [(21, 1.0, 50.0, 14, 15.0), (1, 0.3, 80.0, 7, 12.0), (60, 0.05, 20.0, 90, 48.0),
              (35, 0.5, 60.0, 30, 24.0), (1, 2.0, 40.0, 14, 18.0)]
    batch = cal.endogenous_paths(inputs, *(np.array(c) for c in zip(*combos)))  # all at once
    for k, combo in enumerate(combos):
        expected = engine_path(history_hashprice, WINDOW_START, *combo)
        np.testing.assert_allclose(batch[:, k], expected, rtol=1e-12)
    assert batch[-1, 1] < 0.5 < 1.5 < batch[-1, 4]  # capitulation at 80 USD/MWh; growth at 40


@pytest.fixture(scope="module")
def synthetic_network(history_hashprice):
    """Observed hashrate: the engine's model (lag 30, elasticity 1, 50 USD/MWh, 14 days, a
    15-month payback target) on the real hashprice, times lognormal block-luck noise of 8 % a day."""
    truth = {"lag_days": 30, "elasticity": 1.0, "network_power_usd_per_mwh": 50.0, "capitulation_days": 14,
             "payback_target_months": 15.0}
    path = engine_path(history_hashprice, WINDOW_START, 30, 1.0, 50.0, 14, 15.0, initial_ehs=200.0)
    noise = np.exp(0.08 * np.random.default_rng(5).standard_normal(path.size))
    inputs = cal.NetworkInputs.build(WINDOW_START, path * noise, history_hashprice, PRIOR)
    return inputs, truth


GRIDS = {"lags": np.arange(1, PRIOR + 1), "powers_usd_per_mwh": (30.0, 40.0, 50.0, 60.0, 70.0),
         "capitulation_grid_days": (7, 14, 30), "payback_target_grid_months": (12.0, 15.0, 18.0, 21.0, 24.0)}


def test_network_fit_recovers_lag_and_elasticity(synthetic_network):
    inputs, truth = synthetic_network
    fit = cal.fit_network(inputs, **GRIDS)
    est = {e.parameter: e for e in fit.estimates}
    for name, value in truth.items():
        assert est[name].ci_low <= value <= est[name].ci_high, (name, est[name])
    assert abs(fit.params["lag_days"] - 30) <= 10  # with payback ∝ h/(h − b) the lag is weakly identified
    assert fit.params["elasticity"] == pytest.approx(1.0, rel=0.03)
    assert est["lag_days"].ci_high - est["lag_days"].ci_low <= 40  # informative: narrower than the 60-day grid
    assert est["elasticity"].ci_high - est["elasticity"].ci_low < 0.2  # ±10 % of the true 1.0
    assert fit.rmse_log == pytest.approx(0.08, rel=0.1)  # the residual is the noise put in
    assert fit.params["mix_years"] == 4.0


def test_network_holdout_forecast_beats_flat(synthetic_network):
    inputs, _ = synthetic_network
    holdout = cal.network_holdout(inputs, 120, **GRIDS)
    assert holdout.days == 120
    assert holdout.rmse_log < 0.1  # the noise (0.08) and little else
    assert holdout.rmse_log < holdout.naive_rmse_log
    assert abs(holdout.end_error_pct) < 5.0


# --------------------------------------------------------------------------- end to end
def synthetic_history(seed: int = 5) -> pd.DataFrame:
    """A history file's columns made by the project's models: jump prices, lognormal fees,
    the endogenous network driven by the hashprice they imply (closed loop).

    Seed 5 since 0.2.0's keyed streams (issue 19; it was 4). One history is one draw: the
    end-to-end test's lag and elasticity 95 % profile intervals both cover the truth on most
    histories, not all. Measured over seeds 1–31 (``calibrate`` with this test's grids): both
    covered on 24 histories with 0.2.0's streams and on 27 with 0.1.x's per-path PCG64 (a
    difference of 3 in 31, well within chance: Fisher's exact p ≈ 0.5). Seed 4 covered on 0.1.x
    by 0.001 (elasticity interval [0.477, 1.001]) and misses on 0.2.0 ([0.889, 0.990], lag
    [21, 40]); seed 5 covers on both streams.
    """
    start, prior, days = dt.date(2023, 3, 1), 41, 700
    dates = pd.date_range(start - dt.timedelta(days=prior), periods=prior + days)
    real = load_history().reindex(dates)
    price = JumpPrice(25_000, drift_annual=0.3, vol_annual=0.5, jump_intensity_annual=6, jump_mean=-0.08,
                      jump_vol=0.1)
    streams = PathStreams(seed, "btc_price", np.arange(1))
    prices = price.block(price.start(streams), 0, dates.size, streams)[0][:, 0]
    fee_model = LognormalFees(btc_per_block=0.05, vol=0.8, phi=0.95)
    streams = PathStreams(seed, "fees", np.arange(1))
    fees = fee_model.block(fee_model.start(streams), 0, dates.size, streams)[0][:, 0]
    blocks, subsidy = real["blocks"].to_numpy(), real["subsidy_btc"].to_numpy()
    noise = np.exp(0.08 * np.random.default_rng(seed).standard_normal(dates.size))
    ths = np.empty(dates.size)
    hashprice = np.empty(dates.size)

    def observe(i, ehs):
        ths[i] = ehs * noise[i] * 1e6
        hashprice[i] = (subsidy[i] + fees[i] * blocks[i]) * prices[i] / (ths[i] / 1e3)

    for i in range(prior):
        observe(i, 300.0)
    model = EndogenousHashrate.from_library(load_library(), start, 300.0, lag_days=20, elasticity=1.0,
                                            network_power_usd_per_mwh=50.0, capitulation_days=14,
                                            payback_target_months=15.0, mix_years=4.0)
    state = replace(model.start(1), hashprice_history=hashprice[prior - 20: prior][:, None].copy())
    for d in range(days):
        ehs, state = model.day(state, d)
        observe(prior + d, ehs[0])
        state = model.record(state, hashprice[prior + d: prior + d + 1])
    frame = pd.DataFrame({"price_usd": prices, "hashrate_ths": ths, "fees_btc": fees * blocks,
                          "subsidy_btc": subsidy, "blocks": blocks}, index=pd.DatetimeIndex(dates, name="date"))
    frame.attrs["file"] = "synthetic.csv"
    return frame


#: The network grids of the end-to-end fits: the true 50 USD/MWh, 14 days and 15 months with a
#: neighbour on each side (the default 9 × 5 × 11 grid is run by the slow README-table test).
NARROW_GRIDS = {"powers_usd_per_mwh": (40.0, 50.0, 60.0), "capitulation_grid_days": (7, 14, 30),
                "payback_target_grid_months": (12.0, 15.0, 18.0)}


@pytest.fixture(scope="module")
def calibration():
    return cal.calibrate(synthetic_history(), "2023-03-01", holdout_days=90, max_lag_days=40, **NARROW_GRIDS)


def test_calibrate_end_to_end_on_synthetic_history(calibration):
    c = calibration
    assert (c.from_date, c.to_date) == (dt.date(2023, 3, 1), dt.date(2025, 1, 28))
    assert set(c.price_fits) == {"gbm", "jump", "regime"}
    assert c.price_model == min(c.price_fits, key=lambda k: c.price_fits[k].bic)
    jump = {e.parameter: e for e in c.price_fits["jump"].estimates}
    assert abs(jump["vol_annual"].value - 0.5) <= SIGMAS * jump["vol_annual"].se
    fees = {e.parameter: e for e in c.fees.estimates}
    assert abs(fees["phi"].value - 0.95) <= SIGMAS * fees["phi"].se
    net = {e.parameter: e for e in c.network.estimates}
    assert net["lag_days"].ci_low <= 20 <= net["lag_days"].ci_high
    assert net["elasticity"].ci_low <= 1.0 <= net["elasticity"].ci_high
    assert c.network.holdout is not None and c.network.holdout.days == 90
    rows = c.rows()
    assert all(set(r) == set(cal.ROW_COLUMNS) for r in rows)
    written = {(r["model"], r["parameter"]) for r in rows if r["written"]}
    assert ("network", "lag_days") in written and ("fees", "phi") in written
    assert {m for m, _ in written} == {c.price_model, "fees", "network"}


def test_fragment_includes_into_the_contract_example_and_runs(calibration, tmp_path):
    fragment = tmp_path / "calibrated.yaml"
    calibration.write(fragment)
    text = fragment.read_text()
    assert text.startswith("# hashfleet calibrate") and "window: 2023-03-01 … 2025-01-28" in text
    assert "history: synthetic.csv" in text and "holdout: fitted on 2023-03-01 … 2024-10-30, forecast 2024-10-31 … 2025-01-28" in text
    scenario_text = CONTRACT.read_text().replace("seed: 7\n", "seed: 7\ninclude: [calibrated.yaml]\n")
    (tmp_path / "s.yaml").write_text(scenario_text)
    scenario = load_scenario(str(tmp_path / "s.yaml"))
    price, fees, hashrate = scenario.market.btc_price, scenario.market.fees, scenario.network.hashrate
    assert price.model == calibration.price_model and price.initial_usd == 90_000  # kept from the scenario
    assert fees.model == "lognormal" and fees.phi == pytest.approx(calibration.fees.params["phi"], rel=1e-7)
    assert hashrate.model == "endogenous" and hashrate.lag_days == calibration.network.params["lag_days"]
    assert hashrate.elasticity == pytest.approx(calibration.network.params["elasticity"], rel=1e-7)
    assert not hasattr(hashrate, "growth_annual")  # the growth model's key was dropped
    assert scenario.network.network_power_usd_per_mwh == pytest.approx(  # network-wide, shared with the signals
        calibration.network.params["network_power_usd_per_mwh"], rel=1e-7)
    # it runs: over 120 days with the example's dated changes inside (the horizon is not what is checked)
    short = load_scenario(str(tmp_path / "s.yaml"), CONTRACT_120_DAYS)
    assert short.network.hashrate == hashrate and short.market == scenario.market
    results = simulate(short, paths=2, keep_paths=0)
    assert results.summary["metrics"]["btc_mined"]["mean"] > 0


def test_fragment_for_each_price_model_validates(calibration, tmp_path):
    for name in cal.PRICE_MODEL_NAMES:
        c = replace(calibration, price_model=name)
        path = tmp_path / f"{name}.yaml"
        c.write(path)
        (tmp_path / f"s_{name}.yaml").write_text(
            CONTRACT.read_text().replace("seed: 7\n", f"seed: 7\ninclude: [{name}.yaml]\n"))
        scenario = load_scenario(str(tmp_path / f"s_{name}.yaml"))
        assert scenario.market.btc_price.model == name


def test_write_is_atomic_and_refuses_to_overwrite(calibration, tmp_path, monkeypatch):
    target = tmp_path / "f.yaml"
    calibration.write(target)
    with pytest.raises(InputError, match="output file exists"):
        calibration.write(target)

    def broken(self):
        raise RuntimeError("disk full")

    before = target.read_text()
    monkeypatch.setattr(cal.Calibration, "fragment_text", broken)
    with pytest.raises(RuntimeError):
        calibration.write(target, overwrite=True)
    assert target.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["f.yaml"]


# --------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def history_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("history") / "history.csv"
    synthetic_history().to_csv(path, date_format="%Y-%m-%d")
    return path


def test_cli_writes_fragment_and_prints_json(runner, history_csv, tmp_path, monkeypatch):
    # the CLI's options reach the library as given; the network grids are narrowed to NARROW_GRIDS
    # (the default grid took ~12 s of this test: the library runs it in the slow README-table test)
    import simulator.workflows.calibrate as package

    real, passed = package.calibrate, []

    def narrowed(*args, **options):
        passed.append((args[1:], options))
        return real(*args, **options, **NARROW_GRIDS)

    monkeypatch.setattr(package, "calibrate", narrowed)
    out = tmp_path / "calibrated.yaml"
    result = runner.invoke(main, ["calibrate", "--history", str(history_csv), "--from", "2024-01-01",
                                  "--holdout-days", "0", "--max-lag-days", "20", "--price-model", "gbm",
                                  "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output + result.stderr
    assert passed == [(("2024-01-01", None), {"holdout_days": 0, "price_model": "gbm", "max_lag_days": 20,
                                              "regime_min_duration_days": None})]
    rows = json.loads(result.stdout)
    assert list(rows[0]) == list(cal.ROW_COLUMNS)
    gbm = [r for r in rows if r["model"] == "gbm" and r["written"]]
    assert [r["parameter"] for r in gbm] == ["drift_annual", "vol_annual"]
    assert f"history: {history_csv}" in out.read_text() and "model: gbm" in out.read_text()
    scenario = tmp_path / "s.yaml"
    scenario.write_text(CONTRACT.read_text().replace("seed: 7\n", "seed: 7\ninclude: [calibrated.yaml]\n"))
    validated = runner.invoke(main, ["validate", str(scenario)])
    assert validated.exit_code == 0, validated.stderr


LINE = re.compile(r"^[^\n:]+:\d+:\d+: \S[^\n]*\n$")


@pytest.mark.parametrize("args, where", [
    (["--from", "2027-01-01"], "history.csv:1:1:"),
    (["--from", "2024-06-01", "--to", "2024-03-01"], "--from 2024-06-01:1:1:"),
    (["--from", "2010-01-01"], "history.csv:1:1:"),
    (["--from", "2024-02-30"], "--from 2024-02-30:1:1:"),
    (["--from", "2024-10-01"], "--from 2024-10-01:1:1:"),  # too short for the network fit
])
def test_cli_bad_window_exits_2_with_one_line(runner, history_csv, tmp_path, args, where):
    out = tmp_path / "never.yaml"
    result = runner.invoke(main, ["calibrate", "--history", str(history_csv), *args, "--out", str(out)])
    assert result.exit_code == 2, result.stderr
    assert LINE.match(result.stderr), result.stderr
    assert where in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == "" and not out.exists()


def test_cli_bad_history_and_existing_output(runner, tmp_path, history_csv):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,price_usd\n2024-01-01,1\n")
    result = runner.invoke(main, ["calibrate", "--history", str(bad), "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2 and LINE.match(result.stderr) and "missing column" in result.stderr
    result = runner.invoke(main, ["calibrate", "--history", str(tmp_path), "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2 and LINE.match(result.stderr) and "is a directory" in result.stderr
    # shipped history, but before any hardware in the library was released
    result = runner.invoke(main, ["calibrate", "--from", "2012-01-01", "--to", "2013-06-01", "--holdout-days", "0",
                                  "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2 and result.stderr.startswith("--from 2012-01-01:1:1: no hardware profile")
    assert LINE.match(result.stderr) and not (tmp_path / "x.yaml").exists()
    existing = tmp_path / "exists.yaml"
    existing.write_text("keep me\n")
    result = runner.invoke(main, ["calibrate", "--history", str(history_csv), "--out", str(existing)])
    assert result.exit_code == 2 and "output file exists" in result.stderr and LINE.match(result.stderr)
    assert existing.read_text() == "keep me\n"


# --------------------------------------------------------------------------- includes
def test_include_switching_a_model_drops_only_the_old_models_keys(tmp_path):
    (tmp_path / "frag.yaml").write_text(
        "market:\n  btc_price: {model: regime, regimes: [{mean_duration_days: 100}]}\n"
        "network:\n  hashrate: {model: endogenous, lag_days: 10}\n")
    text = CONTRACT.read_text().replace("seed: 7\n", "seed: 7\ninclude: [frag.yaml]\n")
    text = text.replace("{model: growth, growth_annual: 0.30}", "{model: growth, growth_annual: 0.30, initial_ehs: 900}")
    (tmp_path / "s.yaml").write_text(text)
    scenario = load_scenario(str(tmp_path / "s.yaml"))
    assert scenario.market.btc_price.model == "regime" and scenario.market.btc_price.initial_usd == 90_000
    assert scenario.network.hashrate.model == "endogenous" and scenario.network.hashrate.initial_ehs == 900
    assert scenario.network.hashrate.lag_days == 10
    # the same model merges key by key, as before
    (tmp_path / "frag2.yaml").write_text("market:\n  btc_price: {model: gbm, vol_annual: 0.7}\n")
    (tmp_path / "s2.yaml").write_text(CONTRACT.read_text().replace("seed: 7\n", "seed: 7\ninclude: [frag2.yaml]\n"))
    price = load_scenario(str(tmp_path / "s2.yaml")).market.btc_price
    assert (price.drift_annual, price.vol_annual) == (0.15, 0.7)


@pytest.mark.slow
def test_shipped_window_holdout_is_the_readme_table():
    """Regression pin of the README's holdout table (a real run of ``hashfleet calibrate
    --from 2022-03-01 --to 2026-03-22``): fitted on 2022-03-01 … 2025-09-23, the payback
    model's RMSE of ln hashrate over 2025-09-24 … 2026-03-22 beside the flat forecast's."""
    start, prior = dt.date(2022, 3, 1), cal.DEFAULT_MAX_LAG_DAYS + 1
    history = load_history()
    hashprice = cal.history_hashprice_usd_per_ph_day(history).reindex(
        pd.date_range(start - dt.timedelta(days=prior), "2026-03-22")).to_numpy()
    observed = history["hashrate_ths"].reindex(pd.date_range(start, "2026-03-22")).to_numpy() / 1e6
    inputs = cal.NetworkInputs.build(start, observed, hashprice, prior)
    holdout = cal.network_holdout(inputs, 180, lags=np.arange(1, cal.DEFAULT_MAX_LAG_DAYS + 1))
    assert inputs.days - 180 == (dt.date(2025, 9, 23) - start).days + 1
    assert holdout.rmse_log == pytest.approx(0.1821, abs=5e-4)
    assert holdout.naive_rmse_log == pytest.approx(0.1022, abs=5e-4)
    assert holdout.params["payback_target_months"] == 60.0 and holdout.params["capitulation_days"] == 90
