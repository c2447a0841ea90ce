"""AI/HPC conversion projects at mining sites, vectorised over paths.

A project reserves ``it_mw × pue`` facility MW of its site from ``start`` (validated against
the site's capacity together with the mining load, so mining runs on what is left; its
curtailment and power credits concern mining load only). Construction capex
``it_mw × capex_usd_per_mw`` is paid evenly over ``build_months`` (× 365/12 days) from the
start; the tenant may fund a share (``tenant_funded_fraction``). Completion, the day the
capacity is energised, is ``start + build + delay``, the delay exponential with mean
``delay_mean_months`` per path (completion is the first whole day after that instant).

Occupancy rises linearly from 0 at completion to 1 after ``tenant_ramp_months``
(``R`` days); a day's occupied share is the exact integral over the day,
``F(d + 1 − c) − F(d − c)`` with ``F(x) = x²/(2R)`` for ``0 ≤ x ≤ R`` and ``R/2 + (x − R)`` beyond.

* ``colocation``: revenue per day ``it_mw × 1000 × lease × 12/365 × occupied share ×
  (1 + escalator)^(whole years since completion)`` during the term, so a full year at full
  occupancy earns exactly ``MW × 1000 × lease × 12``. The rate signed varies by path
  (``lease × exp(σz − σ²/2)``); the tenant defaults at an exponential time with the annual
  probability given (revenue stops). A prepayment of ``prepayment_months`` of the signed
  full-occupancy rate is received at completion and used up before the lease pays cash again
  (the ledger keeps it as deferred revenue; what is left when the lease ends is kept). If the
  tenant does not pay the power, the company
  pays facility power ``it_mw × pue × 24 × occupied share`` MWh a day at the site's price.
* ``gpu_cloud``: ``gpus_per_mw × it_mw`` GPUs bought at completion; revenue
  ``GPUs × 24 × price × utilisation × (1 − decline)^(years since completion) × occupied
  share``, utilisation and decline drawn per path; the company pays the facility power.

Data-centre opex (``opex_usd_per_mw_year`` on it_mw) runs from completion. Parameters are the
user's (developers' disclosures: e.g. TeraWulf's and Core Scientific's colocation leases are
announced at roughly 1.5–2 M USD per MW-year of critical IT, i.e. 125–170 USD/kW-month).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np
from scipy.special import ndtri

from simulator import units
from simulator.kept_days import kept_days
from simulator.lazy_kernel import LazyKernel

#: Days in a month of a rate quoted per month (a 365-day year).
DAYS_PER_MONTH = units.DAYS_PER_YEAR / units.MONTHS_PER_YEAR


def occupied_share(day, completion_day, ramp_days: float):
    """Integral of linear-ramp occupancy over ``[day, day + 1)`` (0 before completion) for one project's ramp of
    ``ramp_days`` days: ``F(day + 1 − c) − F(day − c)`` with ``F(x) = min(x⁺, r)² / 2r + (x − r)⁺``."""
    return _integral(day + 1 - completion_day, float(ramp_days)) - _integral(day - completion_day, float(ramp_days))


def _integral(x: np.ndarray, ramp: float) -> np.ndarray:
    """:func:`occupied_share`'s ``F(x)`` for one ramp of ``ramp`` days."""
    x = np.maximum(x, 0.0)
    inside = np.minimum(x, ramp) ** 2 / (2 * ramp) if ramp > 0 else 0.0
    return inside + np.maximum(x - ramp, 0.0)


@dataclass
class HpcDay:
    """One day of all projects ``(projects, paths)`` unless noted."""

    revenue_usd: np.ndarray
    power_cost_usd: np.ndarray
    opex_usd: np.ndarray
    building_capex_usd: np.ndarray
    """Construction capex paid by the company (tenant share excluded)."""
    gpu_capex_usd: np.ndarray
    """GPUs bought at completion by the company (tenant share excluded)."""
    completed: np.ndarray
    """Capacity energised (completion reached)."""
    prepayment_usd: np.ndarray
    """Lease prepaid by the tenant today (at completion)."""
    lease_ended: np.ndarray
    """The lease ends today (term or tenant default): unused prepayment is kept."""
    net_annual_usd: np.ndarray
    """Contracted net cash flow per year at full occupancy from today (for valuation)."""
    remaining_years: np.ndarray
    """Years of contract (or GPU life) left."""
    rate_factor: np.ndarray
    """Lease rate signed over the quoted one (colocation; known at signing), 1 for GPU cloud."""
    power_price_usd_per_mwh: np.ndarray
    """The project site's power price of the day [USD/MWh]."""

    @classmethod
    def zeros(cls, projects: int, paths: int) -> "HpcDay":
        """A day with nothing built, earned or spent (what a scenario without projects hands on)."""
        return cls(**{f.name: np.zeros((projects, paths)) for f in fields(cls)})


#: :mod:`simulator.hpc_kernel` (a colocation project's block in one pass): loaded for a block of at least 2¹²
#: path-days or once a process's numpy blocks have spent 2¹⁹ (each its path-days plus 2¹² for its ~25 numpy calls).
HPC_KERNEL = LazyKernel("simulator.hpc_kernel", large_from=2**12, numpy_at_most=2**19)

#: :meth:`HpcPortfolio._k_tables` keeps a project's values of the days since completion this many at a time.
_K_CHUNK = 4096

#: What a stopped company's projects zero (:meth:`simulator.block.OpsBlock.stop`; the rate signed and the
#: site's power price are market facts, the power and opex reach finance as the day record's sums).
STOPPED_HPC = ("revenue_usd", "building_capex_usd", "gpu_capex_usd", "completed", "prepayment_usd", "lease_ended",
               "net_annual_usd", "remaining_years")


class HpcPortfolio:
    """The scenario's HPC projects with their per-path draws, stepped a block of days at a time."""

    def __init__(self, projects, start: dt.date, site_names: list[str], streams, dcf_years: int):
        self.projects = projects
        n = len(projects)
        self.site_index = np.array([site_names.index(p.site) for p in projects], dtype=np.int64)
        self.start_day = np.array([(p.start - start).days for p in projects], dtype=float)
        self.build_days = np.array([p.build_months * DAYS_PER_MONTH for p in projects])
        draws = [s.uniform((5,)) for s in streams]  # per project: (5, paths)
        u = np.stack(draws) if n else np.zeros((0, 5, 0))
        with np.errstate(divide="ignore"):
            delay = -np.log1p(-u[:, 0]) * np.array([p.delay_mean_months * DAYS_PER_MONTH for p in projects])[:, None]
        self.completion_day = np.ceil(self.start_day[:, None] + self.build_days[:, None] + delay)
        self.reserved_mw = np.array([p.it_mw * p.pue for p in projects])
        #: Construction capex the company pays per project (the tenant funds the rest) [USD].
        self.company_capex_usd = np.array([p.it_mw * p.capex_usd_per_mw * (1 - p.tenant_funded_fraction)
                                           for p in projects])
        self.ramp_days = np.zeros(n)
        self.factor = np.ones_like(u[:, 0])  # lease factor or utilisation per path
        self.decline = np.zeros_like(u[:, 0])
        self.end_day = np.full_like(u[:, 0], np.inf)  # term end or tenant default
        self.life_years = np.full(n, float(dcf_years))
        self._kept_k: dict = {}  # project → its kept tables of the days since completion (_k_tables)
        for j, p in enumerate(projects):
            r = p.revenue
            z = ndtri(u[j, 2])
            if r.kind == "colocation":
                self.ramp_days[j] = r.tenant_ramp_months * DAYS_PER_MONTH
                self.factor[j] = np.exp(r.lease_rate_vol * z - 0.5 * r.lease_rate_vol ** 2)
                term = r.term_years * units.DAYS_PER_YEAR if r.term_years else np.inf
                hazard = -np.log1p(-r.tenant_default_probability_annual) / units.DAYS_PER_YEAR
                with np.errstate(divide="ignore"):
                    default = np.where(hazard > 0, -np.log1p(-u[j, 1]) / max(hazard, 1e-300), np.inf)
                self.end_day[j] = self.completion_day[j] + np.minimum(term, np.ceil(default))
                if r.term_years:
                    self.life_years[j] = r.term_years
            else:
                self.factor[j] = np.minimum(r.utilization * np.exp(r.utilization_vol * z - 0.5 * r.utilization_vol ** 2),
                                            1.0)
                self.decline[j] = np.clip(r.price_decline_annual + r.price_decline_vol * ndtri(u[j, 3]), 0.0, 0.99)
                self.life_years[j] = r.gpu_life_years
                self.end_day[j] = self.completion_day[j] + r.gpu_life_years * units.DAYS_PER_YEAR

    def __len__(self) -> int:
        return len(self.projects)

    def reserved_mw_on(self, day: int) -> float:
        """Facility MW reserved by all projects on ``day`` (each from its start)."""
        return float(np.where(self.start_day <= day, self.reserved_mw, 0.0).sum())

    def reserved_mw_by_day(self, days: int) -> np.ndarray:
        """:meth:`reserved_mw_on` of each day ``0 … days − 1`` ``(days,)`` [MW]: the same sum over projects, a row a day."""
        return np.where(self.start_day <= np.arange(days)[:, None], self.reserved_mw, 0.0).sum(axis=1)

    def build_capex_usd(self, days: np.ndarray) -> np.ndarray:
        """Building capex per project on each of ``days`` ``(cols,)`` [USD] ``(projects, cols)``: even over
        the build days from the start."""
        lo, hi, build = self.start_day[:, None], (self.start_day + self.build_days)[:, None], self.build_days[:, None]
        overlap = np.clip(np.minimum(days + 1, hi) - np.maximum(days, lo), 0.0, None)
        share = np.where(build > 0, overlap / np.where(build > 0, build, 1.0), (days == lo).astype(float))
        return self.company_capex_usd[:, None] * share

    def _build_capex_of_days(self, first: int, n: int) -> np.ndarray:
        """:meth:`build_capex_usd` of days ``first … first + n − 1`` ``(projects, n)``: a slice of its table of days
        ``0 … T − 1`` (:func:`~simulator.kept_days.kept_days`, kept days-major), each element computed from its own
        day alone, so the same doubles as a block's own call (~55 µs a block before)."""
        days_major = lambda a, k: self.build_capex_usd(np.arange(a, a + k)).T  # noqa: E731
        return kept_days(self.__dict__, "_kept_build_capex", days_major, first, n).T

    def block(self, first: int, n: int, power_price_usd_per_mwh: np.ndarray) -> HpcDay:
        """All projects on days ``first … first + n − 1`` (arrays ``(n, projects, paths)``), from each site's
        price of each day ``(n, sites, paths)``: each day a row ``(n, 1)`` broadcast against the per-path draws
        ``(paths,)``. A project with no flows on a day (building, or ended, on every path, and completing on
        none) has its flows +0.0 that day, as in a block of that day alone, so that where blocks are cut never
        changes a byte (a negative power price times a zero share would be −0.0). Each field is stored
        ``(projects, n, paths)`` and handed on as its ``(n, projects, paths)`` view, the strides
        :func:`simulator.columns.from_columns` gives (the sums over projects add whole rows in order);
        tests/test_hpc_block.py holds it to the one-day arithmetic of session 32 byte for byte."""
        P, paths = len(self), power_price_usd_per_mwh.shape[-1]
        day = np.arange(first, first + n)[:, None]  # (n, 1), int64 as the columns' days
        revenue, power, opex, building, gpu, net, left, prepaid, factor, site_price = (np.empty((P, n, paths))
                                                                                        for _ in range(10))
        np.add(0.0, self._build_capex_of_days(first, n)[:, :, None], out=building)  # (0 + x, as the zeros it was added to)
        flows = (revenue, power, opex, gpu, net, left, prepaid)  # (+0.0 on a project's days without flows)
        kernel = HPC_KERNEL.for_call(n * paths, 2**12)
        for j, p in enumerate(self.projects):
            c, end, r = self.completion_day[j], self.end_day[j], p.revenue
            site_price[j] = power_price_usd_per_mwh[:, self.site_index[j]]
            factor[j] = self.factor[j] if r.kind == "colocation" else 1.0
            built = not c.min(initial=np.inf) > first + n - 1  # (else building on every path all block)
            if kernel is not None and built and self._colocation_days(kernel, j, day, site_price[j],
                                                                      [x[j] for x in flows]):
                continue
            running = (day >= c) & (day < end) if built else None  # (None: building)
            if running is None or not running.any() and not (c == day).any():  # building, or ended, on every path
                for x in flows:
                    x[j] = 0.0
                continue
            price = site_price[j]
            share, years, escalation = self._since_completion(day, c, j)
            share = share * running
            facility_mwh_per_day = self.reserved_mw[j] * units.HOURS_PER_DAY
            opex_per_day = p.opex_usd_per_mw_year * p.it_mw / units.DAYS_PER_YEAR
            if r.kind == "colocation":
                rate = (p.it_mw * units.KW_PER_MW * r.lease_usd_per_kw_month * units.MONTHS_PER_YEAR
                        / units.DAYS_PER_YEAR * self.factor[j] * escalation)
                company_power = 0.0 if r.tenant_pays_power else facility_mwh_per_day * price
                prepaid[j] = np.where(day == c, rate * r.prepayment_months * DAYS_PER_MONTH, 0.0)
                gpu[j] = 0.0
            else:
                gpus = r.gpus_per_mw * p.it_mw
                prepaid[j] = 0.0
                rate = (gpus * units.HOURS_PER_DAY * r.price_usd_per_gpu_hour * self.factor[j]
                        * np.tile(1 - self.decline[j], (n, 1)) ** years)
                company_power = facility_mwh_per_day * price
                gpu[j] = np.where(day == c, gpus * r.capex_usd_per_gpu * (1 - p.tenant_funded_fraction), 0.0)
            revenue[j] = rate * share
            power[j] = company_power * share
            opex[j] = opex_per_day * running
            net[j] = np.where(running, (rate - company_power - opex_per_day) * units.DAYS_PER_YEAR, 0.0)
            left[j] = np.where(running, np.minimum(end - day, self.life_years[j] * units.DAYS_PER_YEAR)
                               / units.DAYS_PER_YEAR, 0.0)
            idle = ~(running.any(axis=1) | (c == day).any(axis=1))  # (n,): the days a block of one would skip
            if idle.any():
                for x in flows:
                    x[j][idle] = 0.0
        completion, end = self.completion_day[:, None], self.end_day[:, None]
        ended = (day == np.ceil(end)) & (end > completion)
        return HpcDay(*(x.transpose(1, 0, 2) for x in (revenue, power, opex, building, gpu, day >= completion, prepaid,
                                                       ended, net, left, factor, site_price)))

    def _colocation_days(self, kernel, j: int, day: np.ndarray, price: np.ndarray, rows: list) -> bool:
        """Project ``j``'s flows ``rows`` (revenue, power, opex, GPU, net, years left, prepaid ``(n, paths)``) on days
        ``day`` ``(n, 1)`` through :func:`simulator.hpc_kernel.colocation_days` (the loop's operations element by
        element, from :meth:`_k_tables`' tables); False (nothing written) where that form does not apply: not a
        colocation lease, or no tables."""
        p, r = self.projects[j], self.projects[j].revenue
        tables = self._k_tables(day, self.completion_day[j], j) if r.kind == "colocation" else None
        if tables is None:
            return False
        first, share, _, escalation = tables
        rate = (p.it_mw * units.KW_PER_MW * r.lease_usd_per_kw_month * units.MONTHS_PER_YEAR / units.DAYS_PER_YEAR)
        kernel.colocation_days(int(day[0, 0]), self.completion_day[j], self.end_day[j], self.factor[j], float(rate),
                               bool(r.tenant_pays_power), float(self.reserved_mw[j] * units.HOURS_PER_DAY), price,
                               share, escalation, float(first), float(r.prepayment_months), float(DAYS_PER_MONTH),
                               float(p.opex_usd_per_mw_year * p.it_mw / units.DAYS_PER_YEAR),
                               float(self.life_years[j] * units.DAYS_PER_YEAR), *rows)
        return True

    def _k_tables(self, day: np.ndarray, completion_day: np.ndarray, j: int) -> tuple | None:
        """:meth:`_since_completion`'s tables of every ``k = day − completion`` of the block ``(k₀, share, years,
        escalation)`` (escalation None but for colocation), or None where it takes the full arrays (completion days
        not all finite, or spread wider than the block's values). The tables are slices of project ``j``'s kept
        values of every whole ``k`` from the first block's (made :data:`_K_CHUNK` at a time, again when a block needs
        a later ``k``): each value is a function of its ``k`` alone (the same integer-valued double), so the same
        doubles as a block's own (~50 µs a block before)."""
        ramp, r = self.ramp_days[j], self.projects[j].revenue
        finite = np.isfinite(completion_day).all()
        first = day[0, 0] - completion_day.max() if finite else 0.0
        size = int(day[-1, 0] - completion_day.min() - first) + 1 if finite else 0
        if not finite or size > day.size * completion_day.size:
            return None
        kept = self._kept_k.get(j)  # (k of its first entry, share, years, escalation) of every k from it
        if kept is None or not kept[0] <= first or first - kept[0] + size > len(kept[1]):
            origin = min(first, -completion_day.max())  # (the block of day 0's first k, or earlier)
            count = _K_CHUNK * -(-int(first - origin + size) // _K_CHUNK)
            offsets = origin + np.arange(count, dtype=float)  # every k from the origin, in order
            years = np.maximum(offsets, 0.0) / units.DAYS_PER_YEAR
            escalation = (1 + r.escalator_annual) ** np.floor(years) if r.kind == "colocation" else None
            kept = self._kept_k[j] = (origin, occupied_share(offsets, 0.0, ramp), years, escalation)
        i = int(first - kept[0])
        return first, *(None if x is None else x[i:i + size] for x in kept[1:])

    def _since_completion(self, day: np.ndarray, completion_day: np.ndarray, j: int) -> tuple:
        """Project ``j``'s occupied share, years since completion and lease escalation factor
        ``(1 + escalator)^⌊years⌋`` (colocation, else None) on days ``day`` ``(n, 1)`` of paths completing on
        ``completion_day`` ``(paths,)``, each ``(n, paths)``. Completion days are whole (``ceil``), so each value
        is a function of the whole days ``k = day − completion`` alone: computed once per ``k`` of the block (the
        same floats: ``day + 1 − c`` and ``k + 1`` are the same integer) and gathered, unless the completion
        days are not all finite or spread wider than the block's values."""
        ramp, r = self.ramp_days[j], self.projects[j].revenue
        k = day - completion_day
        tables = self._k_tables(day, completion_day, j)
        if tables is None:
            years = np.maximum(k, 0.0) / units.DAYS_PER_YEAR
            escalation = (1 + r.escalator_annual) ** np.floor(years) if r.kind == "colocation" else None
            return occupied_share(day, completion_day, ramp), years, escalation
        first, share, years, escalation = tables
        at = (k - first).astype(np.intp)
        return share.take(at), years.take(at), None if escalation is None else escalation.take(at)

    def reserved_mw_at(self, site_index: int, days: np.ndarray) -> np.ndarray:
        """Facility MW the projects at site ``site_index`` reserve on each of ``days`` ``(n,)``."""
        on = (self.site_index == site_index) & (self.start_day <= np.asarray(days)[:, None])
        return np.where(on, self.reserved_mw, 0.0).sum(axis=1)

