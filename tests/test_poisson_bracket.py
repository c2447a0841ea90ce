"""The Poisson count's CDF bracket (simulator.poisson_kernel's module notes): ``pdtr`` skipped where a proved
bound decides, the counts still the reference's (:func:`simulator.rng.poisson_inverse_cdf`) for every input.

The bound is checked against a 40-digit CDF (``decimal``: ``e^-λ Σ λʲ/j!``, positive terms, no
cancellation), scipy's ``pdtr`` against the same sum beyond cephes' documented range (a = k + 1 > 100), and
the counts against the reference where they are hardest: ``u`` within 1e-12 of a CDF step, and at the
bracket's own width from it.
"""
from __future__ import annotations

import decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from numpy.testing import assert_array_equal
from scipy import special

from simulator import poisson_kernel, rng

SLACK = poisson_kernel._BRACKET_SLACK


def cdf_40_digits(k: int, lam: float) -> float:
    """``P(N ≤ k)`` for ``N ~ Poisson(λ)`` to 40 digits (λ the double's exact value), rounded to a double."""
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        x = decimal.Decimal(lam)
        term = (-x).exp()
        total = term
        for j in range(1, k + 1):
            term = term * x / j
            total += term
        return float(total)


def pmf_estimate(k: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The reference's pmf estimate at ``k`` (rng.poisson_inverse_cdf's ``pmf_k``)."""
    return np.exp(k * np.log(lam) - lam - special.gammaln(k + 1))


def brackets(k: np.ndarray, lam: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pmf = pmf_estimate(k, lam)
    pairs = [poisson_kernel.cdf_bracket(a, b, f, table) for a, b, f in zip(k, lam, pmf)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def sample_points(rng_: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Means across [16, 2048) (log-uniform, with row edges: h = 0, just below 1), counts across each row."""
    lam = np.exp(rng_.uniform(np.log(16.0), np.log(2048.0), n))
    lam[: n // 8] = np.floor(lam[: n // 8])  # h = 0
    lam[n // 8: n // 4] = np.nextafter(np.floor(lam[n // 8: n // 4]) + 1.0, 0.0)  # h → 1
    half = np.ceil(6.0 * np.sqrt(np.floor(lam) + 1.0)) + 8.0
    k = np.floor(lam) + np.round(rng_.uniform(-1.0, 1.0, n) * half)
    return np.maximum(k, 1.0), lam


def test_the_bracket_holds_against_a_40_digit_cdf_and_is_narrow():
    """``low ≤ P ≤ high`` and ``low ≤ pdtr ≤ high``; the Taylor part alone within its bound ``|R|`` (the
    bracket's half-width less the slack) to 1e-11 (the pmf estimate's and rounding's share); scipy's ``pdtr``
    within 1e-13 of the 40-digit sum (the module notes' assumption for a > 100); and the bound useful: at
    λ ≈ k ≈ 144 ± 12 the half-width is below 6e-5."""
    g = np.random.default_rng(19)
    k, lam = sample_points(g, 240)
    table = poisson_kernel.new_table()
    low, high = brackets(k, lam, table)
    exact = np.array([cdf_40_digits(int(a), b) for a, b in zip(k, lam)])
    kept = ~np.isnan(low)
    assert kept.mean() > 0.9  # a guess beyond its row is the only reason for NaN here
    assert (low[kept] <= exact[kept]).all() and (exact[kept] <= high[kept]).all()
    cdf = special.pdtr(k, lam)
    assert (low[kept] <= cdf[kept]).all() and (cdf[kept] <= high[kept]).all()
    assert np.abs(cdf - exact).max() <= 1e-13
    g_mid, bound = (low + high) / 2, (high - low) / 2 - SLACK
    assert (np.abs(g_mid - exact)[kept] <= bound[kept] + 1e-11).all()
    near = kept & (lam > 130) & (lam < 160) & (np.abs(k - lam) <= 12)
    assert near.sum() == 0 or (high - low)[near].max() / 2 < 6e-5
    lam_near = 144.0 + g.random(60)
    k_near = np.floor(lam_near) + g.integers(-12, 13, 60)
    lo_n, hi_n = brackets(k_near, lam_near, table)
    assert ((hi_n - lo_n) / 2).max() < 6e-5


def test_rows_are_pdtr_bit_for_bit_and_filled_only_when_needed():
    """A mean fills its own row once (``pdtr(k, ⌊λ⌋)``, scipy's values bit for bit); means outside
    [16, 2048), ``k = 0`` and ``k`` beyond the row give no bracket and leave the table as it was."""
    table = poisson_kernel.new_table()
    low, high = poisson_kernel.cdf_bracket(150.0, 144.25, 0.03, table)
    assert low < high
    filled = np.flatnonzero(table[:poisson_kernel.CDF_ROWS, 0])
    assert filled.tolist() == [144 - 16]
    row = table[144 - 16]
    n, first = int(row[0]), row[1]
    ks = first + np.arange(n)
    assert first == 144 - 81 and ks[-1] == 144 + 81  # ⌈6 √145⌉ + 8 = 81 either side
    assert_array_equal(row[2:2 + n], special.pdtr(ks, 144.0))
    assert (row[2 + n:] == 0).all()
    before = table.copy()
    for k, lam in ((150.0, 15.999), (2100.0, 2048.0), (0.0, 144.5), (144.0 + 82, 144.5), (144.0 - 82, 144.5)):
        assert np.isnan(poisson_kernel.cdf_bracket(k, lam, 0.01, table)).all()
    assert_array_equal(table, before)


def assert_counts_equal(u: np.ndarray, lam: np.ndarray) -> None:
    want = rng.poisson_inverse_cdf(u, lam)
    got = poisson_kernel.poisson_inverse_cdf(u, lam)
    assert got.dtype == want.dtype == np.int64
    assert_array_equal(got, want)


EDGE_LAMBDA = [16.0, np.nextafter(16.0, 0.0), 144.0, np.nextafter(145.0, 0.0), np.nextafter(2048.0, 0.0), 2048.0,
               8.0, 3000.0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lam=st.one_of(st.sampled_from(EDGE_LAMBDA), st.floats(8.0, 3000.0)),
       offset=st.floats(-5.0, 5.0),
       gap=st.one_of(st.floats(-1e-12, 1e-12), st.integers(-3, 3).map(float),
                     st.tuples(st.sampled_from([-1.0, 1.0]), st.floats(-12.0, -2.0)).map(lambda s: s[0] * 10 ** s[1])))
def test_counts_equal_the_reference_near_every_step(lam, offset, gap):
    """``u`` near ``F(k; λ)`` for ``k`` within 5 σ of λ: within 1e-12 of it, a few doubles either side (``gap``
    an integer: that many ``nextafter`` steps), or 1e-12 … 1e-2 away (across the bracket's own width);
    λ in and around [16, 2048)."""
    k = max(np.floor(lam + offset * np.sqrt(lam)), 0.0)
    cdf = special.pdtr(k, lam)
    if gap == int(gap) and abs(gap) <= 3:
        u = cdf
        for _ in range(int(abs(gap))):
            u = np.nextafter(u, 1.0 if gap > 0 else 0.0)
    else:
        u = cdf + gap
    if not 0.0 <= u < 1.0:
        return
    assert_counts_equal(np.array([u, u]), np.array([lam, lam * (1 + 1e-9)]))


@pytest.mark.parametrize("lam", [16.0, 20.5, 144.0, 144.7, 1000.3, 2047.9])
def test_counts_equal_the_reference_at_every_step_and_the_bracket_s_width(lam):
    """For every ``k`` within 6 σ: ``u`` at ``F(k)``, one double either side, and ``F(k) ± δ`` for δ around the
    bracket's half-width (where its decisions flip from ``pdtr``'s to its own)."""
    sd = np.sqrt(lam)
    k = np.unique(np.floor(np.linspace(max(lam - 6 * sd, 0), lam + 6 * sd, 300)))
    cdf = special.pdtr(k, lam)
    deltas = np.concatenate([[0.0], 10.0 ** np.arange(-12.0, -2.0, 0.5)])
    u = np.concatenate([cdf, np.nextafter(cdf, 0.0), np.nextafter(cdf, 1.0)]
                       + [cdf + s * d for d in deltas[1:] for s in (-1.0, 1.0)])
    u = u[(u >= 0.0) & (u < 1.0)]
    assert_counts_equal(u, np.full(u.size, lam))


def test_the_bracket_decides_most_bench_like_draws():
    """At the network's λ (144 blocks a day, ±30 %, the streams' uniforms) ``pdtr`` is skipped on more than
    99 % of draws (99.4 %: the guess puts ``u`` near ``F(k)``, ~1/15 of its step apart, so within the
    bracket's ~1.6e-5 of it 6 times in 10³), and every count so decided is the reference's."""
    g = np.random.default_rng(144)
    lam = 144.0 * g.uniform(0.7, 1.3, 200_000)
    u = g.random(lam.size)
    z = rng.poisson_normal_guess(u)
    table = poisson_kernel.new_table()
    known = np.array([poisson_kernel.decided(a, b, c, table) for a, b, c in zip(u, z, lam)])
    skipped = known >= 0
    assert skipped.mean() > 0.99
    assert_array_equal(known[skipped].astype(np.int64), rng.poisson_inverse_cdf(u[skipped], lam[skipped]))
    assert_counts_equal(u, lam)


def test_the_kept_gammaln_of_a_count_is_scipy_s_bit_for_bit():
    """``gammaln(k + 1)`` kept in the table's last rows: NaN until a count meets it, then scipy's own double
    (compiled code's call), for every ``k`` kept; beyond them it is computed every time, the table untouched."""
    table = poisson_kernel.new_table()
    kept = table[poisson_kernel.CDF_ROWS:].reshape(-1)
    assert np.isnan(kept).all() and kept.size >= poisson_kernel.GAMMALN_KEPT
    u = np.full(2 * poisson_kernel.GAMMALN_KEPT, 0.5)
    lam = np.arange(1.0, 2 * poisson_kernel.GAMMALN_KEPT + 1.0)  # guesses from 0 up, beyond the kept ones
    out = np.empty(u.size)
    assert poisson_kernel.counts(u, rng.poisson_normal_guess(u), lam, out, table) == poisson_kernel.OK
    met = np.flatnonzero(~np.isnan(kept))
    assert met.size > 1000 and met.max() < poisson_kernel.GAMMALN_KEPT
    assert_array_equal(kept[met], [poisson_kernel.gammaln(k + 1.0) for k in met])
    assert_array_equal(kept[met], special.gammaln(met + 1.0))
    assert_array_equal(out, rng.poisson_inverse_cdf(u, lam))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lam=st.lists(st.one_of(st.sampled_from(EDGE_LAMBDA + [0.0, -0.0, -3.0, np.nan, 0.5, 1e5, 5e-324]),
                              st.floats(0.0, 5000.0)), min_size=1, max_size=40),
       seed=st.integers(0, 2**32 - 1))
def test_counts_a_step_at_a_time_are_each_elements_count(lam, seed):
    """``counts`` (``counts_in_steps``: every element's guess, then every logarithm, … then the steps) gives each
    element :func:`count`'s number, ``λ ≤ 0`` and NaN (count 0) mixed among the others, ``u`` at 0 and near 1."""
    lam = np.array(lam)
    g = np.random.default_rng(seed)
    u = g.random(lam.size)
    u[g.random(lam.size) < 0.1] = 0.0
    u[g.random(lam.size) < 0.1] = np.nextafter(1.0, 0.0)
    z = rng.poisson_normal_guess(u)
    out = np.full(lam.size, -7.0)
    assert poisson_kernel.counts(u, z, lam, out, poisson_kernel.new_table()) == poisson_kernel.OK
    table = poisson_kernel.new_table()
    assert_array_equal(out, [poisson_kernel.count(a, b, c, table) for a, b, c in zip(u, z, lam)])
    with np.errstate(invalid="ignore"):  # (the reference's √λ of a negative λ, whose count is 0)
        assert_counts_equal(u, lam)


@pytest.mark.parametrize("seed", range(4))
def test_the_tables_read_a_step_at_a_time_are_each_elements_reads(seed):
    """``counts_in_steps``' loops of loads (``_gammaln_of_counts``, ``_tabled_all``, session 35) give each element
    ``_gammaln_of_count``'s and ``_tabled``'s doubles (NaN where no entry is kept: λ outside [16, 2048), k < 1 or
    beyond the row, k + 1 beyond the kept lgammas) and leave the table as they do, from a fresh table and from one
    they filled in part (every ``k`` from 0 up to past the kept 4,096, λ across and beyond the rows)."""
    from numba import njit

    @njit
    def steps(k, lam, table):
        g, lam_i, t = np.empty(k.size), np.empty(k.size), np.empty(k.size)
        poisson_kernel._gammaln_of_counts(k, g, table)
        poisson_kernel._tabled_all(k, lam, lam_i, t, table)
        return g, lam_i, t

    @njit
    def each(k, lam, table):
        g, lam_i, t = np.empty(k.size), np.empty(k.size), np.empty(k.size)
        for i in range(k.size):
            g[i] = poisson_kernel._gammaln_of_count(k[i] + 1, table)
            lam_i[i], t[i] = poisson_kernel._tabled(k[i], lam[i], table)
        return g, lam_i, t

    g = np.random.default_rng(seed)
    lam = np.concatenate([g.uniform(0.0, 2200.0, 300), EDGE_LAMBDA, [np.nan, -1.0, 0.0, np.inf, 1e9]])
    k = np.where(g.random(lam.size) < 0.7, np.floor(lam + g.normal(0.0, 3.0 * np.sqrt(np.abs(lam) + 1.0))),
                 g.choice([0.0, 1.0, 4094.0, 4095.0, 4096.0, 5000.0, 1e7], lam.size))
    lam_i = np.floor(lam[:300])
    half = np.ceil(6.0 * np.sqrt(lam_i + 1.0)) + 8.0
    first, last = np.maximum(lam_i - half, 0.0), lam_i + half  # a row's first and last k (_fill's), and beyond
    k[:300] = np.where(g.random(300) < 0.5, k[:300], g.choice([-1.0, 0.0, 1.0], 300) + np.where(
        g.random(300) < 0.5, first, last))
    k = np.where(np.isfinite(k) & (k > 0), k, 0.0)  # counts: whole, ≥ 0 (_first_guess's)
    a, b = poisson_kernel.new_table(), poisson_kernel.new_table()
    for part in (slice(0, 150), slice(None)):  # a fresh table, then one the first half filled
        for x, y in zip(steps(k[part], lam[part], a), each(k[part], lam[part], b)):
            assert x.tobytes() == y.tobytes()
        assert np.array_equal(a, b, equal_nan=True)


def test_compiled_normal_guesses_are_rng_s_bit_for_bit():
    """``poisson_kernel.normal_guesses`` (Cephes' central branch on SIMD lanes, scipy's own ``ndtri`` elsewhere) is
    ``rng.poisson_normal_guess`` (``clip(scipy.special.ndtri(u), −8, 8)``) bit for bit: on 2·10⁶ uniforms of the
    streams' form ``k·2⁻⁵³``, every double within 300 of the branch edges ``exp(−2)`` and ``1 − exp(−2)`` and of ½, and
    0, 1, NaN, ±inf, outside [0, 1], the streams' extremes, subnormals; a shape kept. (50·10⁶ more uniforms were
    checked once: docs/decisions.md, session 36.) Mutations of a coefficient's digits, of the grouping or of the edge
    fail it."""
    r = np.random.default_rng(36)
    c, h = poisson_kernel._NDTRI_LOW, poisson_kernel._NDTRI_HIGH
    near = np.arange(-300, 301)
    u = np.concatenate([r.random(2_000_000), c + near * np.spacing(c), h + near * np.spacing(h),
                        0.5 + near * np.spacing(0.25), 0.5 + near * np.spacing(0.5),
                        [0.0, -0.0, 1.0, np.nan, -1.0, 2.0, np.inf, -np.inf, 2.0**-54, 5e-324, 1e-300, 1 - 2.0**-53,
                         0.5, 1e-20, 1 - 1e-15, np.nextafter(1.0, 0.0)]])
    got, want = poisson_kernel.poisson_normal_guess(u), rng.poisson_normal_guess(u)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
    central = (u > c) & (u <= h)
    assert central.sum() > 1_000_000 and (~central & (u > 0) & (u < 1)).sum() > 500_000  # both branches taken
    block = r.random((30, 7))
    assert poisson_kernel.poisson_normal_guess(block).tobytes() == rng.poisson_normal_guess(block).tobytes()
