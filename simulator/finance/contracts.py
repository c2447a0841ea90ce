"""Expected present value of signed HPC contracts from what is known on the day (no look-ahead).

From its ``signed`` date (default: the project's ``start``) a project counts in the firm's
value at its expected present value, net of the capex the company still has to pay; before
that, at book value. Only what is known at the day's close is used: the lease rate signed
(its per-path factor is drawn at signing), whether and when the capacity was completed,
whether the lease has ended, and the day's power price. The path's own pre-drawn completion
delay and tenant-default date are never read.

For a project completed ``a`` years ago with contract (or GPU) life ``L`` years, the value is
the sum over monthly steps ``t_k = (k + ½)/12`` of the remaining life (the last step cut to
what is left, so the value is continuous in ``a``):

.. math::

    PV(a) = Σ_k Δ_k \\, CF(a + t_k) \\, (1 − q)^{t_k} \\, (1 + ρ)^{−t_k},

where ``Δ_k`` is the step's length [years], ``q`` the tenant's annual default probability (an
exponential hazard: the expected survival; 0 for GPU cloud), ``ρ`` the HPC discount rate and
``CF(x)`` the net cash flow per year at age ``x``:

* colocation: ``it_mw × 1000 × lease × 12 × factor × (1 + esc)^{⌊x⌋} × occ(x) − power × occ(x) − opex``;
* gpu_cloud: ``GPUs × 8760 × price × utilisation × (1 − decline)^x × occ(x) − power × occ(x) − opex``
  at the configured (expected) utilisation and decline;

``occ(x) = min(x / ramp, 1)`` (the tenant ramp), power ``it_mw × pue × 8760 × today's price``
when the company pays it, opex ``opex_usd_per_mw_year × it_mw``. Before completion the value
is ``PV(0) (1 + ρ)^{−τ}`` less the remaining capex (building capex not yet spent and the
GPUs bought at completion, the company's share, undiscounted so that paying it moves cash
and the netted amount equally), with the expected time to completion
``τ = max(start + build − today, 0) + delay_mean`` (the exponential delay is memoryless, so
a project late today is still expected ``delay_mean`` away). A lease that has ended is worth 0.
Units: USD, years, annual fractions.
"""
from __future__ import annotations

import numpy as np

from simulator import units
from simulator.lazy_kernel import LazyKernel

#: Steps per year of the valuation grid.
STEPS_PER_YEAR = 12


class ContractValuer:
    """The projects' expected values ``(projects, paths)``, updated from what each day reveals."""

    def __init__(self, projects, start, discount_rate: float, dcf_years: int, paths: int):
        self.projects, self.rate = projects, discount_rate
        n = len(projects)
        self.signed_day = np.array([((p.signed or p.start) - start).days for p in projects], dtype=float)
        self.start_day = np.array([(p.start - start).days for p in projects], dtype=float)
        self.build_days = np.array([p.build_months * units.DAYS_PER_YEAR / units.MONTHS_PER_YEAR for p in projects])
        self.delay_days = np.array([p.delay_mean_months * units.DAYS_PER_YEAR / units.MONTHS_PER_YEAR
                                    for p in projects])
        self.building_capex_usd = np.array([p.it_mw * p.capex_usd_per_mw * (1 - p.tenant_funded_fraction)
                                            for p in projects])
        self.gpu_capex_usd = np.array([p.revenue.gpus_per_mw * p.it_mw * p.revenue.capex_usd_per_gpu
                                       * (1 - p.tenant_funded_fraction) if p.revenue.kind == "gpu_cloud" else 0.0
                                       for p in projects])
        self.life_years = np.array([_life_years(p.revenue, dcf_years) for p in projects])
        self._life_days = [int(np.ceil(life * units.DAYS_PER_YEAR)) for life in self.life_years]  # the first age worth 0
        self.completed_day = np.full((n, paths), np.nan)
        self._waiting = n * paths  # completions not yet seen (NaN days)
        self.ended = np.zeros((n, paths), dtype=bool)
        self._tables: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # pv_parts by project
        self._all_signed_day = float(self.signed_day.max()) if n else 0.0
        self._terms = [(float(self.start_day[j]), float(self.build_days[j]), float(self.delay_days[j]),
                        float(self.building_capex_usd[j]), float(self.gpu_capex_usd[j])) for j in range(n)]
        self._packed = None  # (packed_tables: the tables' version it was made of, the table, the limits)
        self._tables_version = 0  # (one more each time pv_parts extends a table: packed_tables' key)

    def observe(self, day: int, completed, lease_ended) -> None:
        """Record what the day revealed: completions (their day) and leases that ended."""
        if not self.projects:
            return
        # (every project completed on every path, or no completion flag today: nothing is first)
        if self._waiting and np.count_nonzero(completed):
            first = np.asarray(completed, dtype=bool) & np.isnan(self.completed_day)
            if n := np.count_nonzero(first):  # (else the where would copy the same days: most days complete nothing)
                self.completed_day = np.where(first, float(day), self.completed_day)
                self._waiting -= n  # (each first completion turns one NaN into its day)
        lease_ended = np.asarray(lease_ended, dtype=bool)
        if np.count_nonzero(lease_ended):  # (else |= leaves every flag as it is)
            self.ended |= lease_ended

    def quiet_days(self, completed, lease_ended) -> np.ndarray:
        """Of a block's days ``(n, projects, paths)`` from the first one not yet observed on (the block's first day, or
        a later one when the question is first asked mid-block): whether :meth:`observe` of each day, taken in order,
        would change nothing ``(n,)``: no lease ends and no project completes for the
        first time (a completion flag where the project's day is still NaN and no earlier day of the block raised it:
        a flag raised on an earlier day was observed then). numpy's nonzero tests, as :meth:`observe`'s."""
        n = completed.shape[0]
        ends = np.asarray(lease_ended, dtype=bool).reshape(n, -1).any(axis=1)  # (a new array: written below)
        if not self._waiting or not self.projects:  # (no completion is first)
            return ~ends
        # a day is some completion's first exactly where it is the first day of the block a project still waiting on a
        # path (its day NaN) has its flag raised: only the waiting (project, path) columns are read
        waiting = np.flatnonzero(np.isnan(self.completed_day).reshape(-1))
        done = np.asarray(np.asarray(completed).reshape(n, -1)[:, waiting], dtype=bool)
        ends[done.argmax(axis=0)[done.any(axis=0)]] = True
        return ~ends

    @property
    def waiting(self) -> bool:
        """Whether some project on some path is not completed yet (its value then reads :meth:`day_terms`)."""
        return self._waiting > 0

    def signed(self, day: int) -> np.ndarray:
        """Projects whose contract is signed by ``day`` ``(projects,)``."""
        return self.signed_day <= day

    def value_usd(self, day: int, rate_factor, power_price_usd_per_mwh) -> np.ndarray:
        """Expected value of every project at the close of ``day`` ``(projects, paths)`` [USD].

        ``PV(a)`` is read from each project's tables by the path's age in days (:meth:`pv_parts`):
        the module docstring's sums, regrouped by what multiplies them. One compiled pass a project
        (:func:`simulator.finance.firm_value_kernel.contract_value`, the same numbers) once a
        process's closes pay for loading it (:data:`FIRM_VALUE_KERNEL`)."""
        kernel = FIRM_VALUE_KERNEL.for_call(self.completed_day.size, _NUMPY_CONTRACT_COST * len(self.projects))
        if kernel is not None:
            return self._value_usd_compiled(kernel, day, rate_factor, power_price_usd_per_mwh)
        out = np.zeros(self.completed_day.shape)
        for j in range(len(self.projects)):
            done = self.completed_day[j] <= day  # NaN (not completed): False
            factor = rate_factor[j] if self.projects[j].revenue.kind == "colocation" else 1.0
            some_done = done.any()
            if some_done:
                age_days = np.where(done, day - self.completed_day[j], 0.0).astype(np.intp)
                revenue, power, fixed = self.pv_parts(j, int(age_days.max()))
                age_days = np.minimum(age_days, len(fixed) - 1)  # the last entry: past the life, worth 0
                pv = factor * revenue[age_days] - power_price_usd_per_mwh[j] * power[age_days] - fixed[age_days]
                if done.all():  # (no path waits for completion)
                    out[j] = np.where(self.ended[j], 0.0, pv)
                    continue
            else:  # every path at age 0
                revenue, power, fixed = (float(t[0]) for t in self.pv_parts(j, 0))
                pv = factor * revenue - power_price_usd_per_mwh[j] * power - fixed
            discount, build_left, gpu_usd = self.day_terms(j, day)
            before = pv * discount - build_left - gpu_usd
            out[j] = np.where(done, np.where(self.ended[j], 0.0, pv), before) if some_done else before
        return out

    def _value_usd_compiled(self, kernel, day: int, rate_factor, power_price_usd_per_mwh) -> np.ndarray:
        """:meth:`value_usd` by ``kernel.contract_value``: the tables extended (and the pass run again)
        only when a path's age passes them, as :meth:`pv_parts` extends them."""
        out = np.empty(self.completed_day.shape)
        for j, project in enumerate(self.projects):
            unit_factor = project.revenue.kind != "colocation"
            args = (self.completed_day[j], self.ended[j], float(day), rate_factor[j], unit_factor,
                    power_price_usd_per_mwh[j])
            tables, final_from = self.tables_of(j)
            costs = (*self.day_terms(j, day), out[j])
            done, max_age = kernel.contract_value(*args, *tables, final_from, *costs)
            if not done:
                kernel.contract_value(*args, *self.pv_parts(j, int(max_age)), _NO_AGE, *costs)
        return out

    def day_terms(self, j: int, day: int) -> tuple[float, float, float]:
        """Project ``j``'s terms of ``day`` before completion: the discount ``(1 + ρ)^{−τ}`` over the expected
        wait, the building capex left and the GPU capex [1, USD, USD] (module docstring)."""
        s, b, delay, building, gpu = self._terms[j]  # (Python floats: the same doubles, each operation correctly
        wait_days = max(s + b - day, 0.0) + delay   # rounded, and pow the C library's either way)
        discount = (1 + self.rate) ** (-wait_days / units.DAYS_PER_YEAR)
        fraction = float(day < s) if b <= 0 else min(max((s + b - max(day + 1, s)) / b, 0.0), 1.0)
        return discount, building * fraction, gpu

    def terms_fixed_from(self, j: int) -> float:
        """The first day from which :meth:`day_terms` of project ``j`` gives the same numbers every day: its start
        ``s`` and expected completion ``s + b`` both reached (the wait is then ``0.0 + delay``, the building's
        fraction ``0.0``); NaN (no such day) where ``s`` or ``b`` is NaN."""
        s, b = self._terms[j][:2]
        return max(s + b, s)

    def tables_of(self, j: int) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], int]:
        """Project ``j``'s tables as computed so far (:meth:`pv_parts`) and the first age they do not cover
        (:data:`_NO_AGE` once they reach the end of the life: every later age reads their last entry, 0)."""
        tables = self._tables.get(j, _NO_TABLES)
        return tables, _NO_AGE if len(tables[0]) > self._life_days[j] else len(tables[0])

    def all_signed(self, day: int) -> bool:
        """Whether every project's contract is signed by ``day`` (:meth:`signed` true for all; no project: True)."""
        return not len(self.signed_day) or day >= self._all_signed_day

    def packed_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """The projects' tables as one ``(3 × projects, longest)`` table (rows ``3j``, ``3j + 1``, ``3j + 2``:
        project ``j``'s revenue, power and fixed parts, each as long as :meth:`pv_parts` made it, the rest 0.0)
        and their limits ``(projects, 2)``: the first age each does not cover (:meth:`tables_of`) and its
        length; made again only when a table has grown."""
        if self._packed is None or self._packed[0] != self._tables_version:  # (a table grew, or none packed yet)
            n = len(self.projects)
            key = [self._tables.get(j, _NO_TABLES)[0] for j in range(n)]
            longest = max([1] + [len(t) for t in key])
            table, limits = np.zeros((3 * n, longest)), np.zeros((n, 2), dtype=np.int64)
            for j in range(n):
                tables, limits[j, 0] = self.tables_of(j)
                limits[j, 1] = len(tables[0])
                for i, t in enumerate(tables):
                    table[3 * j + i, :len(t)] = t
            self._packed = (self._tables_version, table, limits)
        return self._packed[1], self._packed[2]

    def pv_parts(self, j: int, max_age_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Project ``j``'s ``PV(a)`` at ages ``a = i / 365`` years, ``i = 0, 1, …``, in three parts
        ``(revenue, power, fixed)`` [USD, USD per USD/MWh, USD], so that
        ``PV(a) = factor × revenue[i] − power price × power[i] − fixed[i]`` (``factor``: the path's lease
        rate factor for colocation, 1 for GPU cloud). The module docstring's sums do not depend on
        the path otherwise, so they are computed once per age, a year of ages at a time as the run
        needs them, up to the end of the life (one more entry, 0, stands for every later age)."""
        tables = self._tables.setdefault(j, _NO_TABLES)
        life_days = self._life_days[j]
        have = len(tables[0])
        if max_age_days < have or have > life_days:
            return tables
        ages = np.arange(have, min(max(max_age_days + 1, have + units.DAYS_PER_YEAR), life_days + 1), dtype=float)
        extra = self._pv_parts_at(j, ages / units.DAYS_PER_YEAR)
        self._tables[j] = tables = tuple(np.concatenate([t, e]) for t, e in zip(tables, extra))
        self._tables_version += 1
        return tables

    def _pv_parts_at(self, j: int, age_years: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The parts of ``PV(a)`` (:meth:`pv_parts`) at ages ``a`` [years] ``(ages,)``."""
        p, r = self.projects[j], self.projects[j].revenue
        length, t, x, occ = self._grid(j, age_years)
        weight = length * (1 + self.rate) ** -t
        if r.kind == "colocation":
            weight = weight * (1 - r.tenant_default_probability_annual) ** t
            revenue = (p.it_mw * units.KW_PER_MW * r.lease_usd_per_kw_month * units.MONTHS_PER_YEAR
                       * (1 + r.escalator_annual) ** np.floor(x))
            power = 0.0 if r.tenant_pays_power else p.it_mw * p.pue * units.HOURS_PER_DAY * units.DAYS_PER_YEAR
        else:
            revenue = (r.gpus_per_mw * p.it_mw * units.HOURS_PER_DAY * units.DAYS_PER_YEAR * r.price_usd_per_gpu_hour
                       * r.utilization * (1 - r.price_decline_annual) ** x)
            power = p.it_mw * p.pue * units.HOURS_PER_DAY * units.DAYS_PER_YEAR
        fixed = p.opex_usd_per_mw_year * p.it_mw * weight.sum(axis=0)
        return (weight * revenue * occ).sum(axis=0), (weight * power * occ).sum(axis=0), fixed

    def _grid(self, j: int, age_years) -> tuple[np.ndarray, ...]:
        """The monthly steps of the remaining life at ages ``a`` ``(steps, ages)``: their lengths [years],
        middles ``t`` from today [years], ages ``x = a + t`` at the middles [years] and occupancy."""
        r, life = self.projects[j].revenue, self.life_years[j]
        steps = max(1, int(np.ceil(life * STEPS_PER_YEAR)))
        k = np.arange(steps, dtype=float)[:, None]
        left_steps = (life - np.asarray(age_years, dtype=float)) * STEPS_PER_YEAR
        length = np.clip(left_steps - k, 0.0, 1.0) / STEPS_PER_YEAR
        t = (k + 0.5 * np.clip(left_steps - k, 0.0, 1.0)) / STEPS_PER_YEAR  # the middle of each (cut) step
        x = age_years + t
        ramp = (r.tenant_ramp_months if r.kind == "colocation" else 0.0) / units.MONTHS_PER_YEAR
        occ = np.clip(x / ramp, 0.0, 1.0) if ramp > 0 else np.ones_like(x)
        return length, t, x, occ



#: The compiled contract values and firm value (:mod:`simulator.finance.firm_value_kernel`,
#: :meth:`LazyKernel.of_the_close`; a close counts its paths times projects): the numpy forms' fixed costs
#: are :data:`_NUMPY_CONTRACT_COST` a project (~25 µs), :data:`NUMPY_FIRM_VALUE_COST` the firm value (~20 µs),
#: :data:`NUMPY_CONVERTIBLE_COST` a convertible in the strike.
FIRM_VALUE_KERNEL = LazyKernel.of_the_close("simulator.finance.firm_value_kernel")
_NUMPY_CONTRACT_COST = 512
NUMPY_FIRM_VALUE_COST = 384
#: A convertible's if-converted shares in the numpy form (~10 µs while in the money) in the same units.
NUMPY_CONVERTIBLE_COST = 192
#: A project's tables before the first close values it (none computed yet).
_NO_TABLES = (np.empty(0),) * 3
#: An age every path's is below: the tables reach the end of the life, so no age extends them.
_NO_AGE = np.iinfo(np.intp).max


def _life_years(revenue, dcf_years: int) -> float:
    """Years a project earns from completion: the lease term (dcf_years without one) or the GPUs' life."""
    if revenue.kind == "colocation":
        return float(revenue.term_years or dcf_years)
    return float(revenue.gpu_life_years)
