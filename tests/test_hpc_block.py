"""The HPC projects' block (:meth:`simulator.hpc.HpcPortfolio.block`) against its one-day reference form
(session 32's ``HpcPortfolio._day``, frozen here, a day at a time): the same bytes, field by field, day by day, and
the fields' memory layout that the sums over projects depend on."""
from __future__ import annotations

import datetime as dt
from dataclasses import fields

import numpy as np
import pytest

from simulator.columns import from_columns
from simulator.config.schema.hpc import HpcProject
from simulator import units
from simulator.kept_days import KEPT_CHUNK_DAYS
from simulator.hpc import DAYS_PER_MONTH, HpcDay, HpcPortfolio, occupied_share
from simulator.rng import PathStreams

START = dt.date(2026, 1, 1)
SITES = ["a", "b", "c"]


def _projects(delay_months: float) -> list[HpcProject]:
    """Nine projects (more than numpy's eight-way unrolled sums) over every revenue option."""
    colo = dict(kind="colocation", lease_usd_per_kw_month=140.0)
    gpu = dict(kind="gpu_cloud", gpus_per_mw=700.0, capex_usd_per_gpu=30000.0, price_usd_per_gpu_hour=2.0)
    specs = [
        dict(revenue={**colo, "tenant_ramp_months": 6.0}),
        dict(revenue={**colo, "escalator_annual": 0.03, "term_years": 2.0, "tenant_pays_power": False,
                      "lease_rate_vol": 0.2, "prepayment_months": 3.0}, tenant_funded_fraction=0.25),
        dict(revenue={**colo, "tenant_ramp_months": 2.5, "tenant_default_probability_annual": 0.6,
                      "escalator_annual": 0.05}),
        dict(revenue={**colo}, build_months=0.0),
        dict(revenue={**gpu, "price_decline_annual": 0.1, "price_decline_vol": 0.05, "utilization_vol": 0.2,
                      "gpu_life_years": 1.5}),
        dict(revenue={**gpu}, tenant_funded_fraction=0.5, build_months=0.0),
        dict(revenue={**colo, "tenant_ramp_months": 30.0, "term_years": 1.0}),
        dict(revenue={**gpu, "price_decline_annual": 0.3, "gpu_life_years": 0.5}),
        dict(revenue={**colo, "tenant_ramp_months": 1.0, "tenant_pays_power": False}),
    ]
    return [HpcProject(site=SITES[j % 3], it_mw=5.0 + j, pue=1.2, start=START + dt.timedelta(days=17 * j),
                       build_months=spec.pop("build_months", 1.0 + j % 4), capex_usd_per_mw=8.0e6,
                       opex_usd_per_mw_year=1.0e5 * j, delay_mean_months=delay_months, **spec)
            for j, spec in enumerate(specs)]


def _day(self: HpcPortfolio, day, power_price_usd_per_mwh: np.ndarray, completion_day: np.ndarray,
         end_day: np.ndarray, lease_factor: np.ndarray, decline: np.ndarray) -> HpcDay:
    """All projects on ``day`` ``(cols,)`` (one day per column) with the per-path draws given
    ``(projects, cols)``: ``HpcPortfolio._day`` of session 32, frozen here as the reference of
    :meth:`~simulator.hpc.HpcPortfolio.block` (on one day at a time: its no-flows skip is decided over all
    the columns)."""
    n, paths = len(self), power_price_usd_per_mwh.shape[1]
    revenue, power, opex, building, gpu, net, left, prepaid, factor, site_price = (np.zeros((n, paths))
                                                                                    for _ in range(10))
    building += self.build_capex_usd(day)
    for j, p in enumerate(self.projects):
        c, r = completion_day[j], p.revenue
        running = (day >= c) & (day < end_day[j])
        price = power_price_usd_per_mwh[self.site_index[j]]
        site_price[j] = price
        factor[j] = lease_factor[j] if r.kind == "colocation" else 1.0
        if not running.any() and not (c == day).any():  # building, or ended, on every path: no flows
            continue
        share = occupied_share(day, c, self.ramp_days[j]) * running
        years = np.maximum(day - c, 0.0) / units.DAYS_PER_YEAR
        facility_mwh_per_day = self.reserved_mw[j] * units.HOURS_PER_DAY
        opex_per_day = p.opex_usd_per_mw_year * p.it_mw / units.DAYS_PER_YEAR
        if r.kind == "colocation":
            rate = (p.it_mw * units.KW_PER_MW * r.lease_usd_per_kw_month * units.MONTHS_PER_YEAR
                    / units.DAYS_PER_YEAR * lease_factor[j] * (1 + r.escalator_annual) ** np.floor(years))
            company_power = 0.0 if r.tenant_pays_power else facility_mwh_per_day * price
            prepaid[j] = np.where(day == c, rate * r.prepayment_months * DAYS_PER_MONTH, 0.0)
        else:
            gpus = r.gpus_per_mw * p.it_mw
            rate = (gpus * units.HOURS_PER_DAY * r.price_usd_per_gpu_hour * lease_factor[j]
                    * (1 - decline[j]) ** years)
            company_power = facility_mwh_per_day * price
            gpu[j] = np.where(day == c, gpus * r.capex_usd_per_gpu * (1 - p.tenant_funded_fraction), 0.0)
        revenue[j] = rate * share
        power[j] = company_power * share
        opex[j] = opex_per_day * running
        net[j] = np.where(running, (rate - company_power - opex_per_day) * units.DAYS_PER_YEAR, 0.0)
        left[j] = np.where(running, np.minimum(end_day[j] - day, self.life_years[j] * units.DAYS_PER_YEAR)
                           / units.DAYS_PER_YEAR, 0.0)
    ended = (day == np.ceil(end_day)) & (end_day > completion_day)
    return HpcDay(revenue, power, opex, building, gpu, day >= completion_day, prepaid, ended, net, left, factor,
                  site_price)



def _columns_block(h: HpcPortfolio, first: int, n: int, power_price_usd_per_mwh: np.ndarray) -> HpcDay:
    """The block as session 32 computed a block of one day, :func:`_day` with the paths as columns, day by day."""
    def one(d):
        return _day(h, np.full(h.completion_day.shape[1], d), power_price_usd_per_mwh[d - first], h.completion_day,
                    h.end_day, h.factor, h.decline)
    days = [one(d) for d in range(first, first + n)]
    return HpcDay(*(np.stack([getattr(x, f.name) for x in days]) for f in fields(HpcDay)))


def _portfolio(paths: int, delay_months: float) -> HpcPortfolio:
    projects = _projects(delay_months)
    ids = np.arange(paths)
    return HpcPortfolio(projects, START, SITES, [PathStreams(7, f"hpc:{j}", ids) for j in range(len(projects))], 10)


@pytest.fixture(params=["numpy", "compiled"])
def hpc_form(request, monkeypatch):
    """Each test below in both forms of a colocation project's block: numpy, and :mod:`simulator.hpc_kernel`
    (counting its calls)."""
    import importlib

    from simulator import hpc
    calls = []
    if request.param == "compiled":
        kernel = importlib.import_module("simulator.hpc_kernel")
        compiled = kernel.colocation_days
        monkeypatch.setattr(kernel, "colocation_days", lambda *a: calls.append(1) or compiled(*a))
        monkeypatch.setattr(hpc.HPC_KERNEL, "for_call", lambda *a, **k: kernel)
    else:
        monkeypatch.setattr(hpc.HPC_KERNEL, "for_call", lambda *a, **k: None)
    return request.param, calls


@pytest.mark.parametrize("paths, delay_months", [(1, 0.0), (2, 4.0), (3, 0.0), (37, 2.0), (37, 40.0)])
def test_block_is_the_one_day_arithmetic_byte_for_byte(paths, delay_months, hpc_form):
    h = _portfolio(paths, delay_months)
    rng = np.random.default_rng(paths)
    bounds = [(0, 30), (30, 1), (31, 7), (38, 30), (68, 29)] + [(d, 30) for d in range(97, 1400, 30)] + [(1397, 2)]
    for first, n in bounds:
        price = rng.uniform(-20.0, 90.0, (n, len(SITES), paths))
        got = h.block(first, n, price)
        layout = from_columns(np.empty((len(h), n * paths)), n).strides
        for f in fields(HpcDay):
            x = getattr(got, f.name)
            assert x.shape == (n, len(h), paths)
            assert x.strides == tuple(s * x.itemsize // 8 for s in layout), f.name  # the sums over projects' order
        want = _columns_block(h, first, n, price)
        for f in fields(HpcDay):
            a, b = getattr(got, f.name), getattr(want, f.name)
            assert a.dtype == b.dtype and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), \
                (f.name, first)
    form, calls = hpc_form  # the colocation projects' running blocks compiled, unless completions spread wider
    assert (len(calls) > 0) == (form == "compiled" and delay_months < 40.0)  # than a block's values (the numpy form)


def test_block_covers_every_phase_of_the_projects():
    """The test above sees building, ramping, running, ended and defaulted projects, and completion days both
    gathered by whole days since completion and computed directly (spread wider than a small block's values)."""
    h = _portfolio(37, 40.0)
    spread = h.completion_day.max(axis=1) - h.completion_day.min(axis=1)
    assert (spread > 37 * 30).any()
    assert (np.ptp(_portfolio(37, 2.0).completion_day, axis=1) < 37 * 30 - 30).all()
    assert np.isfinite(h.end_day).any() and np.isinf(h.end_day).any()
    revenue = np.concatenate([h.block(d, 30, np.full((30, 3, 37), 40.0)).revenue_usd for d in range(0, 1400, 30)])
    earning = (revenue > 0).any(axis=2)  # (days, projects)
    assert earning.any(axis=0).all() and (~earning[0]).all() and (~earning[-1]).any()


def test_build_capex_of_days_is_each_block_s_own_call_byte_for_byte():
    """``HpcPortfolio._build_capex_of_days`` (a slice of a table kept from day 0, extended in chunks of 4,096 days) is
    ``build_capex_usd`` of the block's own days bit for bit: blocks within the first chunk, a block asked for past it
    first (the table extended), one across a chunk's end, an empty one; and a block past day 4,096 is still the
    one-day arithmetic (the reference above)."""
    h = _portfolio(5, 2.0)
    h.start_day = h.start_day + np.arange(len(h)) * 1200.0  # builds over the chunks (some across 4,096 and 8,192)
    h.build_days = h.build_days * 40.0
    nonzero = 0
    for first, n in [(0, 30), (9000, 30), (4090, 12), (8180, 30), (365, 0), (17, 1), (12280, 30), (1200, 30)]:
        want = h.build_capex_usd(np.arange(first, first + n))
        got = h._build_capex_of_days(first, n)
        assert got.shape == want.shape and got.tobytes() == want.tobytes(), first
        nonzero += int(np.count_nonzero(want))
    assert nonzero > 100 and h._kept_build_capex.shape[0] == 4 * KEPT_CHUNK_DAYS  # (day 12,309)
    g = _portfolio(3, 0.0)
    rng = np.random.default_rng(5)
    for first, n in [(4080, 16), (4096, 30)]:
        price = rng.uniform(-20.0, 90.0, (n, len(SITES), 3))
        got, want = g.block(first, n, price), _columns_block(g, first, n, price)
        for f in fields(HpcDay):
            assert np.ascontiguousarray(getattr(got, f.name)).tobytes() == \
                np.ascontiguousarray(getattr(want, f.name)).tobytes(), f.name


def test_k_tables_kept_are_each_block_s_own_values():
    """``HpcPortfolio._k_tables`` (slices of a project's values of every whole ``k`` since completion, kept from the
    first block's and extended 4,096 at a time) are the values the block computes of its own ``k``s bit for bit:
    blocks in order, one far later (the table extended), one before the kept origin, for colocation projects with a
    ramp and an escalator and for GPU ones (no escalation)."""
    from simulator import units

    h = _portfolio(37, 2.0)
    for j, p in enumerate(h.projects):
        c, r = h.completion_day[j], p.revenue
        for d0, n in [(0, 30), (30, 30), (60, 7), (9000, 30), (4100, 30), (0, 1)]:
            day = np.arange(d0, d0 + n)[:, None]
            got = h._k_tables(day, c, j)
            if got is None:
                continue
            first, share, years, escalation = got
            offsets = first + np.arange(len(share), dtype=float)
            want_years = np.maximum(offsets, 0.0) / units.DAYS_PER_YEAR
            assert share.tobytes() == occupied_share(offsets, 0.0, h.ramp_days[j]).tobytes(), (j, d0)
            assert years.tobytes() == want_years.tobytes()
            assert (escalation is None) == (r.kind != "colocation")
            if escalation is not None:
                assert escalation.tobytes() == ((1 + r.escalator_annual) ** np.floor(want_years)).tobytes()
        early = h._k_tables(np.arange(0, 30)[:, None], c - 5000.0, j)  # a k before the kept origin: kept anew
        assert early is None or early[0] == -(c - 5000.0).max()
    assert any(len(kept[1]) >= 2 * 4096 for kept in h._kept_k.values())
    assert any(p.revenue.escalator_annual > 0 for p in h.projects)
