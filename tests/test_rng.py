"""Per-path streams and the inverse-CDF samplers, against scipy.stats as the reference."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator.rng import PathStreams, binomial_inverse_cdf, poisson_inverse_cdf


@pytest.mark.parametrize("n, p", [(0, 0.2), (5, 0.0), (3, 1.0), (10, 0.3), (40, 0.9), (15000, 1.4e-4),
                                  (200, 0.2), (1000, 0.5), (100000, 0.3)])
def test_binomial_inverse_cdf_equals_scipy(n, p):
    u = np.random.default_rng(1).random(4000)
    assert np.array_equal(binomial_inverse_cdf(u, n, p), stats.binom.ppf(u, n, p))


@pytest.mark.parametrize("mean", [0.0, 0.5, 3.0, 144.0, 1000.0])
def test_poisson_inverse_cdf_equals_scipy(mean):
    u = np.random.default_rng(2).random(4000)
    assert np.array_equal(poisson_inverse_cdf(u, np.full(u.shape, mean)), stats.poisson.ppf(u, mean).astype(int))


def test_path_streams_depend_only_on_seed_component_and_path():
    whole = PathStreams(5, "blocks", np.arange(6)).uniform((10,))
    part = PathStreams(5, "blocks", np.array([4, 1])).uniform((10,))
    assert np.array_equal(whole[:, [4, 1]], part)
    assert not np.array_equal(whole, PathStreams(5, "fees", np.arange(6)).uniform((10,)))
    assert not np.array_equal(PathStreams(5, "power:0", [0]).normal((3,)), PathStreams(5, "power:1", [0]).normal((3,)))
