"""Market models: BTC price, fees, CSV series and the shipped history.

Stochastic checks compare sample moments with closed forms at 5 standard errors (SE), with
fixed seeds; invariance checks (block splits, path chunks) are exact.
"""
from __future__ import annotations

import datetime as dt
import math
from importlib.resources import files
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from simulator.errors import InputError
from simulator.market.fees import FEE_MODELS, ConstantFees, CsvFees, LognormalFees
from simulator.market.history import HISTORY_COLUMNS, load_history
from simulator.market.price import (
    PRICE_MODELS,
    BootstrapPrice,
    CsvPrice,
    GBMPrice,
    JumpPrice,
    RegimePrice,
    cumulate,
    poisson_from_uniform,
)
from simulator.market.series_csv import load_series_csv, read_series_csv
from simulator.market import price as price_module
from simulator.rng import PathStreams

S0 = 90_000.0
START = dt.date(2026, 1, 1)


def simulate(model, path_ids, blocks, seed=11, component="btc_price"):
    """Run ``model`` over consecutive blocks of ``blocks`` days; returns (values, state)."""
    streams = PathStreams(seed, component, np.asarray(path_ids))
    state = model.start(streams)
    out, day = [], 0
    for n in blocks:
        values, state = model.block(state, day, n, streams)
        assert values.shape == (n, streams.paths)
        out.append(values)
        day += n
    return np.concatenate(out, axis=0), state


def log_returns(prices, initial=S0):
    """Daily log returns, day 0 measured from the initial price; shape (n_days, paths)."""
    logs = np.log(prices)
    return np.diff(logs, axis=0, prepend=np.full((1, prices.shape[1]), math.log(initial)))


def assert_within_se(estimate, expected, se, k=5.0):
    assert abs(estimate - expected) <= k * se, f"{estimate} vs {expected}: {abs(estimate - expected) / se:.1f} SE"


def mean_and_se(x):
    x = np.asarray(x, dtype=float)
    return x.mean(), x.std(ddof=1) / math.sqrt(x.size)


# --------------------------------------------------------------------------- synthetic data


def synthetic_history(n_returns=100, step=1e-4):
    """Daily prices whose i-th log return is (i + 1) * step − 0.005: every return identifiable."""
    returns = (np.arange(n_returns) + 1) * step - 0.005
    prices = 20_000.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    index = pd.date_range("2020-01-01", periods=n_returns + 1, freq="D", name="date")
    frame = pd.DataFrame({c: np.nan for c in HISTORY_COLUMNS}, index=index)
    frame["price_usd"] = prices
    return frame, returns


def write(path, text):
    path.write_text(text)
    return path


def daily_csv(path, n_days, per_path=0, value=lambda d, p: 1000.0 + d + 0.5 * p, name="value"):
    lines = [f"date,path,{name}" if per_path else f"date,{name}"]
    for d in range(n_days):
        day = (START + dt.timedelta(days=d)).isoformat()
        if per_path:
            lines += [f"{day},{p},{value(d, p)}" for p in range(per_path)]
        else:
            lines.append(f"{day},{value(d, 0)}")
    return write(path, "\n".join(lines) + "\n")


# --------------------------------------------------------------------------- registries


def test_registries_name_every_model():
    assert set(PRICE_MODELS) == {"gbm", "jump", "regime", "bootstrap", "csv"}
    assert set(FEE_MODELS) == {"constant", "lognormal", "csv"}


# --------------------------------------------------------------------------- gbm


def test_gbm_log_return_mean_and_variance_match_closed_form():
    mu, sigma, n_paths = 0.15, 0.6, 4000
    prices, _ = simulate(GBMPrice(S0, mu, sigma), np.arange(n_paths), [365])
    total = np.log(prices[-1] / S0)  # T = 1 year
    mean, se = mean_and_se(total)
    assert_within_se(mean, mu - sigma**2 / 2, se)
    var, var_se = total.var(ddof=1), sigma**2 * math.sqrt(2 / (n_paths - 1))
    assert_within_se(var, sigma**2, var_se)
    daily = log_returns(prices)
    assert_within_se(daily.mean(), (mu - sigma**2 / 2) / 365, sigma / math.sqrt(365 * daily.size))
    assert_within_se(daily.var(), sigma**2 / 365, sigma**2 / 365 * math.sqrt(2 / daily.size))


@pytest.mark.parametrize("mu", [0.15, -0.3, 0.0])
def test_gbm_without_volatility_is_exactly_exponential(mu):
    prices, _ = simulate(GBMPrice(S0, mu, 0.0), np.arange(3), [365, 365])
    t_years = (np.arange(730) + 1) / 365  # day d's close is at t = d + 1
    expected = S0 * np.exp(mu * t_years)
    assert_allclose(prices, np.repeat(expected[:, None], 3, axis=1), rtol=1e-12, atol=0)


def test_models_reject_bad_parameters():
    with pytest.raises(ValueError):
        GBMPrice(S0, 0.1, -0.2)
    with pytest.raises(ValueError):
        GBMPrice(0.0, 0.1, 0.2)
    with pytest.raises(ValueError):
        LognormalFees(0.02, phi=1.0)
    with pytest.raises(ValueError):
        RegimePrice(S0, [{"drift_annual": 0, "vol_annual": 0.5, "mean_duration_days": 10}], initial=1)


# --------------------------------------------------------------------------- mean drift


def regime_params():
    return [
        {"drift_annual": 0.8, "vol_annual": 0.5, "mean_duration_days": 200},
        {"drift_annual": -0.6, "vol_annual": 0.9, "mean_duration_days": 100},
    ]


def regime_expected_growth(regimes, initial, n_days):
    """E[S_T]/S_0 from the regime chain: forward recursion over its transition matrix."""
    k = len(regimes)
    p = np.array([-math.expm1(-1 / r["mean_duration_days"]) for r in regimes])
    transition = np.where(np.eye(k, dtype=bool), 1 - p[:, None], p[:, None] / max(k - 1, 1))
    gross = np.exp(np.array([r["drift_annual"] for r in regimes]) / 365)
    weight = np.eye(k)[initial]
    for _ in range(n_days):
        weight = (weight * gross) @ transition
    return weight.sum()


@pytest.mark.parametrize(
    "model, growth",
    [
        (GBMPrice(S0, 0.15, 0.6), math.exp(0.15)),
        (JumpPrice(S0, 0.10, 0.4, jump_intensity_annual=6, jump_mean=-0.08, jump_vol=0.15), math.exp(0.10)),
        (JumpPrice(S0, -0.20, 0.0, jump_intensity_annual=12, jump_mean=0.05, jump_vol=0.2), math.exp(-0.20)),
        (RegimePrice(S0, regime_params()), regime_expected_growth(regime_params(), 0, 365)),
        (RegimePrice(S0, regime_params(), initial=1), regime_expected_growth(regime_params(), 1, 365)),
    ],
    ids=["gbm", "jump", "jump-only", "regime-from-0", "regime-from-1"],
)
def test_mean_price_grows_at_the_mean_drift(model, growth):
    prices, _ = simulate(model, np.arange(4000), [365], seed=2026)
    mean, se = mean_and_se(prices[-1] / S0)
    assert_within_se(mean, growth, se)


def test_jump_counts_are_poisson_and_compensated():
    lam, m = 20.0, -0.1
    model = JumpPrice(S0, 0.05, 0.0, jump_intensity_annual=lam, jump_mean=m, jump_vol=0.0)
    prices, _ = simulate(model, np.arange(2000), [365], seed=5)
    kappa = math.expm1(m)
    drift = (0.05 - lam * kappa) / 365  # compensated drift per day
    assert model.kappa == pytest.approx(kappa)
    counts = np.rint((log_returns(prices) - drift) / m)
    assert_allclose((log_returns(prices) - drift) / m, counts, atol=1e-6)  # whole jumps only
    rate = lam / 365
    assert_within_se(counts.mean(), rate, math.sqrt(rate / counts.size))
    assert_within_se(counts.var(), rate, rate * math.sqrt((1 + 2 * rate) / (rate * counts.size)))
    assert counts.max() >= 2  # multiple jumps in a day happen


def test_poisson_inverse_cdf_matches_pmf():
    u = (np.arange(200_000) + 0.5) / 200_000  # a fine quantile grid
    counts = poisson_from_uniform(u, 2.5)
    freq = np.bincount(counts, minlength=12)[:12] / u.size
    pmf = np.array([math.exp(-2.5) * 2.5**k / math.factorial(k) for k in range(12)])
    assert_allclose(freq, pmf, atol=1e-5)
    assert poisson_from_uniform(np.array([0.3]), 0.0).tolist() == [0]


# --------------------------------------------------------------------------- regime


def test_regime_durations_and_switching_follow_the_chain():
    durations = [10.0, 30.0, 60.0]
    regimes = [
        {"drift_annual": 0.365, "vol_annual": 0.0, "mean_duration_days": durations[0]},
        SimpleNamespace(drift_annual=0.0, vol_annual=0.0, mean_duration_days=durations[1]),  # objects too
        {"drift_annual": -0.365, "vol_annual": 0.0, "mean_duration_days": durations[2]},
    ]
    n_paths, n_days = 2000, 365
    prices, state = simulate(RegimePrice(S0, regimes), np.arange(n_paths), [n_days], seed=9)
    regime = 1 - np.rint(log_returns(prices) / 0.001).astype(int)  # +0.001 → 0, 0 → 1, −0.001 → 2
    assert set(np.unique(regime)) == {0, 1, 2}
    assert (regime[0] == 0).all()  # day 0 runs in the initial regime
    now, nxt = regime[:-1], regime[1:]
    for i, d in enumerate(durations):
        p = -math.expm1(-1 / d)
        stays = now == i
        leaves = stays & (nxt != i)
        assert_within_se(leaves.sum() / stays.sum(), p, math.sqrt(p * (1 - p) / stays.sum()))
        # destinations are uniform over the other regimes
        to = nxt[leaves]
        others = [j for j in range(3) if j != i]
        assert_within_se((to == others[0]).mean(), 0.5, math.sqrt(0.25 / to.size))
    # fraction of time in each regime against the chain's exact time average
    p = np.array([-math.expm1(-1 / d) for d in durations])
    transition = np.where(np.eye(3, dtype=bool), 1 - p[:, None], p[:, None] / 2)
    dist, average = np.eye(3)[0], np.zeros(3)
    for _ in range(n_days):
        average += dist / n_days
        dist = dist @ transition
    for i in range(3):
        mean, se = mean_and_se((regime == i).mean(axis=0))
        assert_within_se(mean, average[i], se)
    assert_array_equal(state.regime[:0], [])  # state has one regime per path
    assert state.regime.shape == (n_paths,)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_draws_consecutive_blocks_from_the_window():
    history, window = synthetic_history(n_returns=100)
    model = BootstrapPrice(S0, block_days=10, history=history)
    assert model.window == (dt.date(2020, 1, 1), dt.date(2020, 4, 10))  # the whole short history
    assert_allclose(model.returns, window, atol=1e-12)
    prices, _ = simulate(model, np.arange(300), [95])
    index = np.rint((log_returns(prices) + 0.005) / 1e-4).astype(int) - 1
    assert_allclose(log_returns(prices), window[index], atol=1e-9)  # every return is a window return
    steps = (np.diff(index, axis=0) % 100)[np.arange(1, 95) % 10 != 0]
    assert (steps == 1).all()  # consecutive inside a block, wrapping at the window's end
    starts = index[::10]
    assert 0.4 < starts.mean() / 99 < 0.6 and starts.min() == 0 and starts.max() == 99


def test_bootstrap_recentring_gives_the_drift():
    history, window = synthetic_history(n_returns=100)
    mu = 0.30
    model = BootstrapPrice(S0, block_days=10, history=history, drift_annual=mu)
    assert_allclose(np.mean(np.exp(model.returns)), math.exp(mu / 365), rtol=1e-13)
    assert_allclose(np.diff(model.returns), np.diff(window), atol=1e-13)  # a pure shift
    prices, _ = simulate(model, np.arange(2000), [100], seed=4)
    mean, se = mean_and_se(np.exp(log_returns(prices)).mean(axis=0))
    assert_within_se(mean, math.exp(mu / 365), se)


def test_bootstrap_defaults_to_the_last_five_years_of_shipped_data():
    model = BootstrapPrice(S0)
    history = load_history()
    end = history["price_usd"].dropna().index.max().date()
    assert model.window == (end - dt.timedelta(days=5 * 365), end)
    prices = history.loc[str(model.window[0]) : str(model.window[1]), "price_usd"].to_numpy()
    assert_allclose(model.returns, np.diff(np.log(prices)), rtol=0, atol=1e-15)


def test_bootstrap_window_outside_history_is_an_error():
    history, _ = synthetic_history()
    with pytest.raises(InputError, match="outside the prices"):
        BootstrapPrice(S0, history=history, from_date="2019-01-01", to_date="2020-02-01")
    with pytest.raises(ValueError, match="fewer than block_days"):
        BootstrapPrice(S0, history=history, block_days=30, from_date="2020-01-01", to_date="2020-01-11")


# --------------------------------------------------------------------------- fees


def test_constant_fees_are_exact():
    fees, _ = simulate(ConstantFees(0.025), np.arange(3), [10], component="fees")
    assert_array_equal(fees, np.full((10, 3), 0.025))


def test_lognormal_fees_mean_variance_and_autocorrelation():
    mean_fee, s, phi, n_paths = 0.025, 0.5, 0.9, 4000
    fees, _ = simulate(LognormalFees(mean_fee, vol=s, phi=phi), np.arange(n_paths), [100], component="fees")
    for day in (0, 99):  # stationary from day 0: the mean holds every day
        mean, se = mean_and_se(fees[day])
        assert_within_se(mean, mean_fee, se)
    mean, se = mean_and_se(fees.mean(axis=0))  # all days: paths are the independent units
    assert_within_se(mean, mean_fee, se)
    x = np.log(fees / mean_fee) + s**2 / 2
    assert_within_se(x[0].var(ddof=1), s**2, s**2 * math.sqrt(2 / (n_paths - 1)))
    phi_hat = (x[1:] * x[:-1]).sum() / (x[:-1] ** 2).sum()
    assert_within_se(phi_hat, phi, math.sqrt((1 - phi**2) / x[1:].size))


def test_lognormal_fees_without_volatility_are_the_mean():
    fees, _ = simulate(LognormalFees(0.03, vol=0.0, phi=0.5), np.arange(2), [5], component="fees")
    assert_array_equal(fees, np.full((5, 2), 0.03))


# --------------------------------------------------------------------------- invariance


def model_factories():
    history, _ = synthetic_history(n_returns=120)
    regimes = [
        {"drift_annual": 0.5, "vol_annual": 0.4, "mean_duration_days": 20},
        {"drift_annual": -0.4, "vol_annual": 0.9, "mean_duration_days": 15},
        {"drift_annual": 0.0, "vol_annual": 0.2, "mean_duration_days": 40},
    ]
    return {
        "gbm": lambda tmp: GBMPrice(S0, 0.15, 0.5),
        "jump": lambda tmp: JumpPrice(S0, 0.15, 0.5, jump_intensity_annual=30, jump_mean=-0.05, jump_vol=0.1),
        "regime": lambda tmp: RegimePrice(S0, regimes, initial=2),
        "bootstrap": lambda tmp: BootstrapPrice(S0, block_days=30, history=history, drift_annual=0.1),
        "bootstrap-default": lambda tmp: BootstrapPrice(S0, block_days=7),
        "csv-price": lambda tmp: CsvPrice(daily_csv(tmp / "p.csv", 200, per_path=10), start=START),
        "csv-price-single": lambda tmp: CsvPrice(daily_csv(tmp / "p1.csv", 210), start=START, horizon_days=200),
        "fees-constant": lambda tmp: ConstantFees(0.02),
        "fees-lognormal": lambda tmp: LognormalFees(0.02, vol=0.8, phi=0.7),
        "fees-csv": lambda tmp: CsvFees(daily_csv(tmp / "f.csv", 200, per_path=10), start=START),
    }


@pytest.mark.parametrize("name", list(model_factories()))
def test_results_do_not_depend_on_block_splits_or_path_chunks(name, tmp_path):
    model = model_factories()[name](tmp_path)
    whole, state = simulate(model, np.arange(10), [200])
    halves, state2 = simulate(model, np.arange(10), [100, 100])
    ragged, _ = simulate(model, np.arange(10), [1, 0, 36, 163])
    assert_array_equal(whole, halves)
    assert_array_equal(whole, ragged)
    assert state.day == state2.day == 200
    chunks = np.concatenate(
        [simulate(model, np.arange(5), [200])[0], simulate(model, np.arange(5, 10), [200])[0]], axis=1
    )
    assert_array_equal(whole, chunks)
    odd, _ = simulate(model, np.array([7, 3]), [120, 80])
    assert_array_equal(odd, whole[:, [7, 3]])
    assert np.isfinite(whole).all() and (whole > 0).all()


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("days, paths", [(0, 3), (1, 3), (2, 1), (7, 4), (365, 50)])
def test_cumulate_is_numpys_cumsum_of_the_carry_and_the_increments(monkeypatch, days, paths, compiled):
    """``cumulate`` (row after row, in place: session 36; compiled, ``market_kernel.cumulate``, where forced) gives
    ``np.cumsum`` of ``[carry, inc[0], …]`` along the days bit for bit, returned over the increments, with NaN, ±inf,
    ±0.0 and magnitudes far apart among them."""
    from simulator.market import market_kernel, price

    monkeypatch.setattr(price.MARKET_KERNEL, "for_call", lambda *a, **k: market_kernel if compiled else None)
    rng = np.random.default_rng(days * 7 + paths)
    increments = rng.normal(size=(days, paths)) * 10.0 ** rng.integers(-200, 200, (days, paths))
    carry = rng.normal(size=paths) * 1e3
    if days >= 4 and paths >= 3:
        increments[1, 0], increments[2, 1], increments[3, 2], carry[2] = np.nan, np.inf, -0.0, -0.0
        increments[:, -1] = -0.0
        carry[-1] = -0.0  # (a running sum of −0.0s stays −0.0)
    want = np.cumsum(np.concatenate([carry[None, :], increments]), axis=0)[1:]
    given = increments.copy()
    got = cumulate(carry, given)
    assert got is given and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("paths", [1, 7, 300])
def test_the_lognormal_fees_recursion_compiled_is_numpys(monkeypatch, paths):
    """``LognormalFees.block``'s AR(1) compiled (``market_kernel.ar1``) against its numpy form (a product, then a
    sum, a day at a time) byte for byte: blocks of 1, 0, 2, 29 and 365 days carrying the state (the stationary start
    in the first), every φ of [0, 1) sampled (0.0 included) and a wide volatility; the compiled side ran."""
    from simulator.market import market_kernel, price

    calls = []
    ar1 = market_kernel.ar1
    monkeypatch.setattr(market_kernel, "ar1", lambda *a: calls.append(1) or ar1(*a))

    def run(kernel, model):
        monkeypatch.setattr(price.MARKET_KERNEL, "for_call", lambda *a, **k: kernel)
        streams, out = PathStreams(11, "fees", np.arange(paths)), []
        state = model.start(streams)
        for n in (1, 0, 2, 29, 365):
            fees, state = model.block(state, state.day, n, streams)
            out.append(fees.copy())
        return np.concatenate(out), state.log_fee
    for phi, vol in ((0.0, 0.5), (0.9, 0.5), (0.999, 3.0), (0.37, 1e-3)):
        model = LognormalFees(btc_per_block=0.025, vol=vol, phi=phi)
        (want, want_state), (got, got_state) = run(None, model), run(market_kernel, model)
        assert got.tobytes() == want.tobytes() and got_state.tobytes() == want_state.tobytes()
    assert len(calls) == 4 * 3  # (the blocks of 2, 29 and 365 days: the first's one day is the stationary start)


def test_block_must_continue_from_the_state():
    model = GBMPrice(S0, 0.1, 0.5)
    streams = PathStreams(1, "btc_price", np.arange(2))
    with pytest.raises(ValueError, match="state is at day 0"):
        model.block(model.start(streams), 5, 10, streams)


# --------------------------------------------------------------------------- csv series


def test_csv_single_series_is_broadcast(tmp_path):
    f = daily_csv(tmp_path / "s.csv", 5, name="price_usd")
    values = read_series_csv(f, START + dt.timedelta(days=1), 3, [0, 1, 2], "btc_price")
    assert values.shape == (3, 3)
    assert_array_equal(values, np.repeat([[1001.0], [1002.0], [1003.0]], 3, axis=1))


def test_csv_per_path_series_in_any_row_order(tmp_path):
    f = write(
        tmp_path / "p.csv",
        "date,path,hashrate_ehs\n2026-01-02,2,5\n2026-01-01,0,1\n2026-01-01,2,4\n"
        "2026-01-02,0,2\n2026-01-01,1,9\n2026-01-02,1,9\n",
    )
    values = read_series_csv(f, START, 2, [2, 0], "network_hashrate")
    assert_array_equal(values, [[4.0, 1.0], [5.0, 2.0]])


def test_csv_missing_day_names_file_line_and_horizon(tmp_path):
    f = write(tmp_path / "gap.csv", "date,price_usd\n2026-01-01,1\n2026-01-02,2\n2026-01-04,4\n2026-01-05,5\n")
    with pytest.raises(InputError) as info:
        read_series_csv(f, START, 5, [0], "btc_price")
    err = info.value
    assert err.file == str(f) and err.line == 4 and err.col == 1  # the row the gap precedes
    assert "2026-01-03" in err.message
    assert "the series must cover the horizon 2026-01-01 … 2026-01-05" in err.message
    assert str(err).startswith(f"{f}:4:1:")
    with pytest.raises(InputError, match="no value for 2026-01-06") as info:
        read_series_csv(f, dt.date(2026, 1, 4), 3, [0], "btc_price")  # runs past the end
    assert info.value.line == 5


def test_csv_missing_day_of_one_path(tmp_path):
    f = write(tmp_path / "p.csv", "date,path,v\n2026-01-01,0,1\n2026-01-01,1,1\n2026-01-02,0,2\n")
    with pytest.raises(InputError, match="no value for 2026-01-02 on path 1") as info:
        read_series_csv(f, START, 2, [0, 1], "fees")
    assert info.value.line == 3


def test_csv_non_numeric_value_and_bad_date_report_their_line(tmp_path):
    f = write(tmp_path / "bad.csv", "date,price_usd\n2026-01-01,1\n\n2026-01-02,abc\n")
    with pytest.raises(InputError, match="expected a finite number, got 'abc'") as info:
        read_series_csv(f, START, 2, [0], "btc_price")
    assert (info.value.file, info.value.line) == (str(f), 4)  # the blank line 3 counts
    f = write(tmp_path / "date.csv", "date,price_usd\n2026-01-01,1\n01/02/2026,2\n")
    with pytest.raises(InputError, match="ISO date") as info:
        read_series_csv(f, START, 2, [0], "btc_price")
    assert info.value.line == 3
    f = write(tmp_path / "nan.csv", "date,price_usd\n2026-01-01,nan\n")
    with pytest.raises(InputError, match="finite") as info:
        read_series_csv(f, START, 1, [0], "btc_price")
    assert info.value.line == 2


def test_csv_missing_path_id(tmp_path):
    f = daily_csv(tmp_path / "p.csv", 3, per_path=3)
    with pytest.raises(InputError, match="no rows for path 3, 4") as info:
        read_series_csv(f, START, 3, [0, 3, 4], "btc_price")
    assert info.value.file == str(f)


def test_csv_header_and_duplicates(tmp_path):
    f = write(tmp_path / "two.csv", "date,a,b\n2026-01-01,1,2\n")
    with pytest.raises(InputError, match="exactly one value column") as info:
        read_series_csv(f, START, 1, [0], "fees")
    assert info.value.line == 1
    f = write(tmp_path / "nohead.csv", "2026-01-01,1\n2026-01-02,2\n")
    with pytest.raises(InputError, match="no 'date' column"):
        read_series_csv(f, START, 1, [0], "fees")
    f = write(tmp_path / "dup.csv", "date,v\n2026-01-01,1\n2026-01-02,2\n2026-01-01,3\n")
    with pytest.raises(InputError, match="given twice \\(also on line 2\\)") as info:
        read_series_csv(f, START, 1, [0], "fees")
    assert info.value.line == 4
    with pytest.raises(InputError, match="file not found"):
        read_series_csv(tmp_path / "absent.csv", START, 1, [0], "fees")


def test_csv_models_check_values_and_horizon(tmp_path):
    f = write(tmp_path / "neg.csv", "date,price_usd\n2026-01-01,1\n2026-01-02,0\n")
    with pytest.raises(InputError, match="must be > 0") as info:
        CsvPrice(f, START).start(PathStreams(1, "btc_price", np.arange(1)))
    assert info.value.line == 3
    f = daily_csv(tmp_path / "short.csv", 10)
    model = CsvFees(f, start="2026-01-01", horizon_days=20)
    assert model.start_date == START
    with pytest.raises(InputError, match="horizon 2026-01-01 … 2026-01-20"):
        model.start(PathStreams(1, "fees", np.arange(1)))
    table = load_series_csv(f, "fees")
    assert table.paths is None and table.values.size == 10


# --------------------------------------------------------------------------- history


def test_history_has_the_expected_columns_and_cross_checked_values():
    history = load_history()
    assert list(history.columns) == list(HISTORY_COLUMNS)
    assert isinstance(history.index, pd.DatetimeIndex) and history.index.name == "date"
    assert all(history[c].dtype == float for c in HISTORY_COLUMNS)
    assert history.index.min() == pd.Timestamp("2010-07-18")
    assert history.index.is_monotonic_increasing and history.index.is_unique
    day = history.loc["2024-04-20"]
    assert_allclose(day["fees_btc"], 1206.47, atol=0.005)  # SOURCES.md cross-check
    assert_allclose([day["subsidy_btc"], day["blocks"]], [406.25, 130])  # 130 blocks × 3.125 BTC
    assert_allclose(history.loc["2024-04-19", "hashrate_ths"], 6.48e8, rtol=0.01)  # 648 EH/s
    history.loc["2024-04-20", "fees_btc"] = 0.0  # callers get a copy
    assert load_history().loc["2024-04-20", "fees_btc"] > 1000


def test_shipped_data_carries_its_notice():
    folder = files("simulator") / "data" / "coinmetrics"
    notice = (folder / "NOTICE.md").read_text()
    for text in ("CC BY-NC 4.0", "https://creativecommons.org/licenses/by-nc/4.0/", "Coin Metrics",
                 "--history FILE", "history_csv:", "coinmetrics/data", "chrisshao0/APS1052"):
        assert text in notice
    assert (folder / "btc_daily.csv").read_text().startswith(
        "date,price_usd,hashrate_ths,fees_btc,subsidy_btc,blocks\n2010-07-18,"
    )


def test_user_history_is_validated(tmp_path):
    f = write(tmp_path / "h.csv", "date,price_usd,fees_btc\n2024-01-01,40000,20\n")
    with pytest.raises(InputError, match="missing column\\(s\\) hashrate_ths, subsidy_btc, blocks") as info:
        load_history(f)
    assert "date,price_usd,hashrate_ths,fees_btc,subsidy_btc,blocks" in info.value.message
    f = write(
        tmp_path / "h2.csv",
        "date,price_usd,hashrate_ths,fees_btc,subsidy_btc,blocks\n"
        "2024-01-02,41000,,,,\n2024-01-01,40000,5e8,20,450,144\n",
    )
    history = load_history(f)
    assert history.index[0] == pd.Timestamp("2024-01-01") and np.isnan(history.iloc[1]["fees_btc"])
    assert history.attrs["file"] == str(f)
    write(f, "date,price_usd,hashrate_ths,fees_btc,subsidy_btc,blocks\n2024-01-01,x,,,,\n")
    with pytest.raises(InputError, match="price_usd") as info:
        load_history(f)
    assert info.value.line == 2


@pytest.mark.parametrize("blocks", [[365], [1, 364, 0, 30], [100, 100]])
def test_gbm_and_lognormal_fee_blocks_are_their_formulas_bit_for_bit(blocks):
    """The blocks, computed over their own arrays (fewer fresh ones), give the formulas' floats written out:
    ``S_0 · exp(a·t + Σ σ√Δ z)`` and ``b̄ · exp(x − s²/2)`` with ``x_0 = s ε_0``, ``x_d = φ x_{d−1} + √(1 − φ²) s ε_d``,
    the same operations in the same order, whatever the split into blocks (``0``: a block of no days)."""
    price, fees = GBMPrice(90_000.0, 0.1, 0.5), LognormalFees(0.025, vol=0.5, phi=0.9)
    ids = np.arange(7)
    got_price, _ = simulate(price, ids, blocks)
    got_fees, _ = simulate(fees, ids, blocks, component="fees")
    days = sum(blocks)
    z = PathStreams(11, "btc_price", ids).normal((days,))
    noise = np.cumsum(np.concatenate([np.zeros((1, 7)), 0.5 * math.sqrt(price_module._DT) * z]), axis=0)[1:]
    t = (1.0 + np.arange(days, dtype=float))[:, None]
    expected_price = 90_000.0 * np.exp((0.1 - 0.5 * 0.5**2) * price_module._DT * t + noise)
    eps = PathStreams(11, "fees", ids).normal((days,))
    x, previous = np.empty_like(eps), None
    for k in range(days):
        previous = 0.5 * eps[k] if previous is None else 0.9 * previous + math.sqrt(1.0 - 0.9**2) * 0.5 * eps[k]
        x[k] = previous
    assert got_price.tobytes() == expected_price.tobytes()
    assert got_fees.tobytes() == (0.025 * np.exp(x - 0.5 * 0.5**2)).tobytes()
