"""The faster kernels of issue 10 give exactly what the straightforward computations give."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from simulator.config.schema import Curtailment
from simulator.results import exact_percentiles
from simulator.rng import PathStreams, binomial_inverse_cdf, poisson_inverse_cdf
from simulator.site import _count_at_or_below, dispatch_day, energy_bill


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 21, 100, 999, 1000, 1001])
def test_exact_percentiles_are_numpys(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(12, n)) * 1e3
    x[1] = np.round(x[1])  # ties
    x[2] = 5.0  # constant
    x[3, 0] = np.nan
    x[4, -1], x[5, 0] = np.inf, -np.inf
    x[6, rng.random(n) < 0.3] = 0.0
    with np.errstate(invalid="ignore"):  # inf − inf in the interpolation, numpy's and ours
        expected = np.moveaxis(np.percentile(x, [5, 50, 95], axis=-1), 0, -1)
        got = exact_percentiles(x.copy())
    assert np.array_equal(got, expected, equal_nan=True)


def test_exact_percentiles_keep_leading_axes():
    x = np.random.default_rng(0).lognormal(size=(4, 3, 50))
    expected = np.moveaxis(np.percentile(x, [5, 50, 95], axis=-1), 0, -1)
    assert np.array_equal(exact_percentiles(x.copy()), expected)


@pytest.mark.parametrize("mean", [0.3, 4.0, 144.0, 2500.0])
def test_poisson_inverse_cdf_at_the_cdf_steps(mean):
    """Uniforms on and next to the exact CDF values, where an estimate could tip the count."""
    k = np.arange(max(0, int(mean - 6 * np.sqrt(mean))), int(mean + 6 * np.sqrt(mean)) + 2, dtype=float)
    cdf = special.pdtr(k, mean)
    u = np.concatenate([cdf, np.nextafter(cdf, 0.0), np.nextafter(cdf, 1.0)])
    u = u[(u >= 0) & (u < 1)]
    got = poisson_inverse_cdf(u, np.full(u.shape, mean))
    ks = np.arange(int(mean + 8 * np.sqrt(mean)) + 10, dtype=float)
    steps = special.pdtr(ks, mean)  # the definition, by brute force: min{k : pdtr(k) > u}
    assert np.array_equal(got, (steps[None, :] <= u[:, None]).sum(axis=1))


def test_binomial_inverse_cdf_per_cohort_probabilities():
    """The failure model's shapes: (cohorts, paths) counts with a probability per cohort."""
    rng = np.random.default_rng(3)
    n = rng.integers(0, 9000, (20, 200)).astype(float)
    q = rng.random(20)[:, None] * 3e-4
    u = rng.random((20, 200))
    assert np.array_equal(binomial_inverse_cdf(u, n, q), stats.binom.ppf(u, n, np.broadcast_to(q, n.shape)))
    lost = binomial_inverse_cdf(u[::-1], binomial_inverse_cdf(u, n, q), 0.1)
    assert np.array_equal(lost, stats.binom.ppf(u[::-1], binomial_inverse_cdf(u, n, q), 0.1))


def test_draws_into_reused_memory_are_the_same_numbers_path_last_in_c_order():
    fresh = PathStreams(5, "power:1", np.arange(7))
    reused = PathStreams(5, "power:1", np.arange(7))
    for _ in range(3):
        a = fresh.uniform((4, 50))
        b = reused.uniform((4, 50), reuse=True)
        assert np.array_equal(a, b)
        assert b.flags.c_contiguous  # each day's or hour's row of paths contiguous: nothing to copy
    assert np.array_equal(fresh.normal((3,)), reused.normal((3,), reuse=True))


def test_count_at_or_below_is_searchsorted():
    rng = np.random.default_rng(1)
    values = np.sort(rng.choice([12.0, 15.5, 15.5, 21.0, 30.0], 5))
    x = rng.random((24, 300)) * 40
    x[0, :3] = [np.nan, np.inf, 15.5]
    assert np.array_equal(_count_at_or_below(values, x), np.searchsorted(values, x, side="right"))


@pytest.mark.parametrize("rows", [1, 24])
def test_dispatch_matches_a_test_per_cohort_and_hour(rows):
    """The threshold count gives what testing every cohort in every hour gives."""
    rng = np.random.default_rng(rows)
    eff = np.sort(rng.random(6) * 20 + 12)
    units_ = rng.integers(0, 5000, (6, 50)).astype(float)
    ths, mw = units_ * 200.0, units_ * 200.0 * eff[:, None] / 1e6
    price = rng.normal(45, 25, (rows, 50))
    hashprice = rng.random(50) * 80
    run = dispatch_day(Curtailment(policy="economic"), hashprice, price, 3.0, 0.02, 0.05, eff, ths, mw)
    all_in = price + 3.0
    on = (all_in <= 0) | (eff[:, None, None] <= hashprice / 1000 * 0.98 * 1e6 / (24 * 1.05 * all_in))
    hourly_mw = (on * mw[:, None, :]).sum(axis=0) * 1.05
    hourly = np.repeat(hourly_mw, 24 // rows, axis=0)
    np.testing.assert_allclose(run.energy_hourly_mwh, hourly, rtol=1e-12)
    np.testing.assert_allclose(run.energy_mwh, hourly.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(run.running_ths, np.repeat((on * ths[:, None, :]).sum(axis=0), 24 // rows, axis=0).mean(axis=0),
                               rtol=1e-12)
    bill = energy_bill(None, run.energy_hourly_mwh, price, 3.0, energy_mwh=run.energy_mwh)
    assert np.array_equal(bill.power_cost_usd, energy_bill(None, run.energy_hourly_mwh, price, 3.0).power_cost_usd)
