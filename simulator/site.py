"""Sites: power contracts, curtailment decisions, facility power and opex (pure functions).

Facility power = IT power × (1 + cooling_overhead) (DESIGN.md, "Economics"). Site opex is
charged on ``capacity_mw``. The ``economic`` curtailment policy runs a cohort on a day only
if its revenue covers its power cost, i.e. when the site breakeven power price

    breakeven = hashprice_usd_per_th_day × (1 − pool_fee) × 1e6 / (24 × e × (1 + overhead)) − tax

[USD/MWh] is at least the hour's contract price (``e`` in J/TH). Curtailment is decided hour
by hour (:func:`dispatch_day`; a fixed contract has the same price every hour), against the
marginal cost of energy under a PPA (:func:`net_energy_cost_usd`). The stop and retire
policies judge each cohort on its own margin after that dispatch (:func:`policy_step`);
hosted load is here too (demand response and 4CP: :mod:`simulator.grid_programmes`).
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from simulator import merit_order, units
from simulator.config.schema import Curtailment, Site
from simulator.hardware import breakeven_power_usd_per_mwh
from simulator.merit_order import count_at_or_below as _count_at_or_below
from simulator.merit_order import cumulative_pair as _cumulative_pair
from simulator.merit_order import efficiency_threshold_jth as _efficiency_threshold_jth
from simulator.merit_order import take_rows as _take_rows
from simulator.merit_order import value_usd_per_th_hour as _value_usd_per_th_hour


def site_breakeven_usd_per_mwh(hashprice_usd_per_ph_day: np.ndarray, efficiency_jth: np.ndarray, pool_fee: float,
                               cooling_overhead: float, tax_usd_per_mwh: float) -> np.ndarray:
    """DESIGN.md's site breakeven power price ``(cohorts, paths)`` [USD/MWh] (see the module doc).

    Examples
    --------
    >>> site_breakeven_usd_per_mwh(np.array([50.0]), np.array([21.5]), 0.02, 0.04, 5.0).round(3).tolist()
    [[86.309]]
    """
    return breakeven_power_usd_per_mwh(np.asarray(hashprice_usd_per_ph_day)[None, :],
                                       np.asarray(efficiency_jth)[:, None], pool_fee, cooling_overhead, tax_usd_per_mwh)


@dataclass(frozen=True)
class Dispatch:
    """A site's day, per path: running TH/s averaged over the day, hourly energy, curtailment.

    ``energy_mwh`` is the day's energy, ``energy_hourly_mwh.sum(axis=0)`` (computed once).
    ``curtailed_mwh`` is facility energy not drawn because machines were switched off;
    ``underclocked_mwh`` is facility energy not drawn because running machines were tuned
    below their stock setting (dynamic tuning). With ``margins=True`` the dispatch also gives
    each cohort's own margin ``cohort_margin_usd`` ``(cohorts, paths)`` [USD] over the hours it
    runs (:func:`cohort_margins_usd`).
    """

    running_ths: np.ndarray
    energy_hourly_mwh: np.ndarray
    curtailed_mwh: np.ndarray
    energy_mwh: np.ndarray = None
    underclocked_mwh: np.ndarray = None
    cohort_margin_usd: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.energy_mwh is None:
            object.__setattr__(self, "energy_mwh", self.energy_hourly_mwh.sum(axis=0))
        if self.underclocked_mwh is None:
            object.__setattr__(self, "underclocked_mwh", np.zeros_like(self.curtailed_mwh))


@dataclass(frozen=True)
class PpaTerms:
    """A PPA hour's terms for dispatch: minimum take T and block B [MWh of facility energy per hour], price.

    Below T a MWh used is a MWh not sold back (marginal cost: the index); between T and B it
    is PPA energy (the PPA price); above B it is bought at the index.
    """

    take_mwh: float
    block_mwh: float
    price_usd_per_mwh: float


def ppa_terms(power, ppa_usd_per_mwh: float | None, other_load_mw: float = 0.0) -> PpaTerms | None:
    """The dispatch terms of a PPA on a day for mining (None without a PPA or after its expiry).

    Load that always runs (hosted clients' ``other_load_mw``) fills the contract first, so
    mining's own load meets the minimum take and the block that much earlier:
    ``T' = max(T − other, 0)``, ``B' = max(B − other, 0)`` (the increments of the whole
    site's bill over mining's load are those of a contract with T' and B').
    """
    if ppa_usd_per_mwh is None:
        return None
    take, block = power.min_take_fraction * power.block_mw, power.block_mw
    return PpaTerms(max(take - other_load_mw, 0.0), max(block - other_load_mw, 0.0), ppa_usd_per_mwh)


def net_energy_cost_usd(load_mwh: np.ndarray, price_usd_per_mwh: np.ndarray, tax_usd_per_mwh: float,
                        ppa: PpaTerms | None = None) -> np.ndarray:
    """Cost of drawing ``load_mwh`` of facility energy in an hour, less the cost of drawing none [USD].

    Without a PPA ``L (p + tax)``. Under a PPA with minimum take T and block B, the increment
    of :func:`energy_bill`'s cost − credit over L = 0:
    ``tax L + p (min(L, T) + max(L − B, 0)) + ppa (clip(L, T, B) − T)``.

    Examples
    --------
    >>> terms = PpaTerms(take_mwh=5.0, block_mwh=10.0, price_usd_per_mwh=25.0)
    >>> [float(net_energy_cost_usd(np.array(L), np.array(250.0), 0.0, terms)) for L in (4.0, 8.0, 12.0)]
    [1000.0, 1325.0, 1875.0]
    """
    if ppa is None:
        return load_mwh * (price_usd_per_mwh + tax_usd_per_mwh)
    take, block = ppa.take_mwh, ppa.block_mwh
    return (load_mwh * tax_usd_per_mwh
            + price_usd_per_mwh * (np.minimum(load_mwh, take) + np.maximum(load_mwh - block, 0.0))
            + ppa.price_usd_per_mwh * (np.clip(load_mwh, take, block) - take))


@dataclass(frozen=True)
class Bill:
    """A day's energy bill per path [USD]: cost of energy bought, credit for energy sold back."""

    power_cost_usd: np.ndarray
    power_credit_usd: np.ndarray


def ppa_price_usd_per_mwh(power, day: int, expiry_day: float) -> float | None:
    """The PPA price of day ``day``, escalated ``price (1 + escalator)^(day/365)``; None after expiry."""
    if day > expiry_day:
        return None
    return power.price_usd_per_mwh * (1 + power.escalator_annual) ** (day / units.DAYS_PER_YEAR)


def energy_bill(power, energy_hourly_mwh: np.ndarray, price_usd_per_mwh: np.ndarray, tax_usd_per_mwh: float,
                ppa_usd_per_mwh: float | None = None, energy_mwh: np.ndarray | None = None) -> Bill:
    """The day's bill; ``price_usd_per_mwh`` is each hour's contract or market price ``(24, paths)``.

    * fixed or index (or a PPA after expiry, ``ppa_usd_per_mwh=None``): cost ``Σ_h U_h (p_h + tax)``.
    * ppa with block B and minimum take T = f·B [MWh per hour]:
      cost = ``Σ_h [min(max(U_h, T), B) ppa + max(U_h − B, 0) p_h + U_h tax]``,
      credit = ``Σ_h max(T − U_h, 0) p_h`` (Riot-style power credits).

    Examples
    --------
    >>> from simulator.config.schema import PpaPower
    >>> ppa = PpaPower(contract="ppa", price_usd_per_mwh=30, block_mw=10, index={"mean_usd_per_mwh": 40})
    >>> bill = energy_bill(ppa, np.full((24, 1), 4.0), np.full((24, 1), 100.0), 0.0, 30.0)
    >>> float(bill.power_cost_usd[0]), float(bill.power_credit_usd[0])
    (7200.0, 14400.0)
    """
    used = energy_hourly_mwh
    energy = used.sum(axis=0) if energy_mwh is None else energy_mwh  # energy_mwh: that sum
    # hourly and two columns or more: compiled when large (numpy adds one column's hours pairwise, the kernel in order)
    if np.shape(price_usd_per_mwh) == used.shape and used.ndim == 2 and len(used) > 1 and used.shape[1] > 1:
        kernel = merit_order.INDEX_KERNEL.for_call(used.size)
        if kernel is not None:
            cost, credit = np.empty((2, used.shape[1]))
            take, block = (0.0, 0.0) if ppa_usd_per_mwh is None else (power.min_take_fraction * power.block_mw,
                                                                          power.block_mw)
            as_kernel = merit_order.kernel_array
            kernel.bill(as_kernel(used, used.shape), as_kernel(price_usd_per_mwh, used.shape),
                        as_kernel(energy, cost.shape), float(tax_usd_per_mwh),
                        np.zeros(0) if ppa_usd_per_mwh is None else as_kernel(ppa_usd_per_mwh, cost.shape),
                        take, block, cost, credit)
            return Bill(cost, credit)
    tax = energy * tax_usd_per_mwh
    if ppa_usd_per_mwh is None:
        if np.shape(price_usd_per_mwh)[0] == 1:  # one price every hour: Σ_h U_h p = p Σ_h U_h
            return Bill(energy * price_usd_per_mwh[0] + tax, np.zeros(used.shape[1:]))
        return Bill((used * price_usd_per_mwh).sum(axis=0) + tax, np.zeros(used.shape[1:]))
    block, take = power.block_mw, power.min_take_fraction * power.block_mw
    cost = (np.minimum(np.maximum(used, take), block) * ppa_usd_per_mwh
            + np.maximum(used - block, 0.0) * price_usd_per_mwh).sum(axis=0) + tax
    credit = (np.maximum(take - used, 0.0) * price_usd_per_mwh).sum(axis=0)
    return Bill(cost, credit)


def dispatch_day(curtailment: Curtailment, hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray,
                 tax_usd_per_mwh: float, pool_fee: float, cooling_overhead: float, efficiency_jth: np.ndarray,
                 working_ths: np.ndarray, working_mw: np.ndarray, cap_mw: np.ndarray | None = None, *,
                 ppa: PpaTerms | None = None, margins: bool = False) -> Dispatch:
    """Hour-by-hour curtailment of a site's cohorts and the day's energy bill.

    Parameters
    ----------
    hashprice_usd_per_ph_day : (paths,)
    price_usd_per_mwh : (24, paths) or (1, paths)
        Hourly energy price; one row means every hour alike (a fixed contract under ``none``
        or ``economic``), computed once.
    efficiency_jth : (cohorts,)
        Sorted ascending (most efficient first).
    working_ths, working_mw : (cohorts, paths)
        Hashrate [TH/s] and IT power [MW] of the working units, in the same order.
    cap_mw : (24, paths), optional
        Most IT power [MW] allowed in each hour (demand-response calls, 4CP avoidance); units
        of the least efficient cohorts are shed first (the marginal cohort runs in part).
    ppa : PpaTerms, optional
        A PPA in force with minimum take below its block: the marginal cost of energy is the
        index below T, the PPA price between T and B, the index above B (:func:`ppa_running_count`).
    margins : bool
        Also give each cohort's own margin and running hours (for the stop and retire policies).

    Notes
    -----
    Under ``economic`` a cohort of efficiency ``e`` runs in an hour when its site breakeven
    covers the price, ``e ≤ e* = hashprice_th (1 − fee) 1e6 / (24 (1 + overhead) (price + tax))``
    (every cohort runs when ``price + tax ≤ 0``). Because the running set is always the
    ``k`` most efficient cohorts, ``k = searchsorted(e_sorted, e*)`` and cumulative sums give
    the running TH/s and MW in O(hours × paths × log cohorts) instead of comparing every
    cohort in every hour. ``uptime_target`` also runs everything in the cheapest
    ``ceil(uptime × 24)`` hours of the day; ``schedule`` runs everything except in
    ``hours_off``. Energy = Σ_h MW_h × (1 + overhead); cost = Σ_h energy_h × (price_h + tax);
    curtailed energy = Σ_h (available MW − MW_h) × (1 + overhead), hour by hour, so exactly 0 when
    everything runs (the difference of the day's totals left a rounding residue).
    Under a PPA whose minimum take is below its block the economic count maximises the
    hour's margin against the bill's marginal cost instead (:func:`ppa_running_count`).
    """
    n_cohorts, paths = working_ths.shape
    cum = _cumulative_pair(working_ths, working_mw)  # (cohorts + 1, 2, paths): TH/s and MW
    cum_ths, cum_mw = cum[:, 0], cum[:, 1]
    k = _running_count(curtailment, hashprice_usd_per_ph_day, price_usd_per_mwh, tax_usd_per_mwh, pool_fee,
                       cooling_overhead, efficiency_jth, cum_ths, cum_mw, ppa)
    share = None
    if cap_mw is None:
        running_ths, running_mw = _take_rows(cum, k)
    else:  # demand-response calls, 4CP avoidance: shed units, least efficient first
        running_ths, running_mw, share = _capped(k, cap_mw, cum, working_ths, working_mw)
    extra = {}
    if margins:
        extra["cohort_margin_usd"] = cohort_margins_usd(k, share, hashprice_usd_per_ph_day, price_usd_per_mwh,
                                                        tax_usd_per_mwh, pool_fee, cooling_overhead, working_ths,
                                                        working_mw, cum_mw, ppa)
    facility = 1 + cooling_overhead
    running_mw *= facility
    available_mw = cum_mw[-1] * facility
    if running_mw.shape[0] == 1:  # one price row stands for every hour alike (a fixed contract)
        curtailed_mwh = (available_mw - running_mw[0]) * units.HOURS_PER_DAY
        running_mw = np.broadcast_to(running_mw, (units.HOURS_PER_DAY, paths))  # a read-only view, not 24 copies
        mean_ths = running_ths[0]
    else:
        curtailed_mwh = (available_mw - running_mw).sum(axis=0)  # hour by hour: exactly 0 when everything runs
        mean_ths = running_ths.mean(axis=0)
    energy_mwh = running_mw.sum(axis=0)  # the 24 hours added one by one, as for 24 price rows
    return Dispatch(running_ths=mean_ths, energy_hourly_mwh=running_mw,  # MW for an hour = MWh
                    curtailed_mwh=np.maximum(curtailed_mwh, 0.0), energy_mwh=energy_mwh, **extra)


def _running_count(curtailment: Curtailment, hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray,
                   tax_usd_per_mwh: float, pool_fee: float, cooling_overhead: float, efficiency_jth: np.ndarray,
                   cum_ths: np.ndarray, cum_mw: np.ndarray, ppa: PpaTerms | None) -> np.ndarray:
    """How many cohorts (most efficient first) run in each hour under the policy ``(hours, paths)``: see :func:`dispatch_day`."""
    def economic() -> np.ndarray:
        if ppa is not None and ppa.take_mwh < ppa.block_mwh:
            return ppa_running_count(hashprice_usd_per_ph_day, price_usd_per_mwh, tax_usd_per_mwh, pool_fee,
                                     cooling_overhead, efficiency_jth, cum_ths, cum_mw, ppa)
        return merit_order.economic_count(hashprice_usd_per_ph_day, price_usd_per_mwh, tax_usd_per_mwh, pool_fee,
                                          cooling_overhead, efficiency_jth)

    return merit_order.policy_count(curtailment, price_usd_per_mwh, len(efficiency_jth), economic)


def _capped(k: np.ndarray, cap_mw: np.ndarray, cum: np.ndarray, working_ths: np.ndarray,
            working_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Running TH/s and IT MW ``(hours, paths)`` when at most ``cap_mw`` may run, least efficient shed first
    (``cum`` the cumulative TH/s and MW ``(cohorts + 1, 2, paths)``).

    Also ``(capped, whole, part)``: the hours the cap binds, the cohorts running wholly there
    and the share of the next one (the marginal cohort) that runs. The rows are gathered through
    flat indices (:func:`simulator.merit_order.take_rows`): the same values as ``take_along_axis``.
    """
    n_cohorts, paths = working_ths.shape
    cum_mw = cum[:, 1]
    k = k.astype(np.intp)
    running_ths, running_mw = _take_rows(cum, k)
    fits = (cum_mw[:, None, :] <= cap_mw[None]).sum(axis=0) - 1  # whole cohorts within the cap
    capped = k > fits
    whole = np.minimum(k, fits)
    ths_fit, mw_fit = _take_rows(cum, whole)
    marginal = np.minimum(whole, n_cohorts - 1)  # the cohort partly running at the cap
    flat = np.multiply(marginal, paths, dtype=np.intp)
    flat += np.arange(paths)
    mw_m, ths_m = working_mw.reshape(-1).take(flat), working_ths.reshape(-1).take(flat)
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(mw_m > 0, np.clip((cap_mw - mw_fit) / mw_m, 0.0, 1.0), 0.0)
    running_ths = np.where(capped, ths_fit + part * ths_m, running_ths)
    running_mw = np.where(capped, mw_fit + part * mw_m, running_mw)
    return running_ths, running_mw, (capped, whole, part)


def ppa_running_count(hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray, tax_usd_per_mwh: float,
                      pool_fee: float, cooling_overhead: float, efficiency_jth: np.ndarray, cum_ths: np.ndarray,
                      cum_mw: np.ndarray, ppa: PpaTerms) -> np.ndarray:
    """How many cohorts (most efficient first) maximise each hour's margin under a PPA ``(hours, paths)``.

    Notes
    -----
    With ``L_k`` the facility load of the first ``k`` cohorts, the hour's margin is
    ``M(k) = v TH_k − C(L_k)`` (``C``: :func:`net_energy_cost_usd`, whose slope is the index
    below T, the PPA price between T and B, the index above B). ``k_T`` and ``k_B`` are the
    most cohorts that fit wholly below T and B. On ``[0, k_T]``, ``[k_T + 1, k_B]`` and
    ``[k_B + 1, n]`` every added cohort meets one marginal price, so (efficiencies ascending)
    ``M`` rises up to that segment's efficiency threshold and falls after it: the segment's
    best ``k`` is the threshold count clipped to the segment (which takes in the kinks at T
    and B). The hour takes the best of the three, the larger ``k`` on a tie.
    """
    facility = 1 + cooling_overhead
    load = cum_mw * facility  # (n + 1, paths), nondecreasing
    n = len(efficiency_jth)
    k_take = (load <= ppa.take_mwh).sum(axis=0) - 1
    k_block = (load <= ppa.block_mwh).sum(axis=0) - 1
    all_in = price_usd_per_mwh + tax_usd_per_mwh
    t_index = _count_at_or_below(efficiency_jth, _efficiency_threshold_jth(hashprice_usd_per_ph_day, all_in,
                                                                           pool_fee, cooling_overhead))
    ppa_all_in = np.full(np.shape(hashprice_usd_per_ph_day), ppa.price_usd_per_mwh + tax_usd_per_mwh)
    t_ppa = np.searchsorted(efficiency_jth, _efficiency_threshold_jth(hashprice_usd_per_ph_day, ppa_all_in,
                                                                      pool_fee, cooling_overhead), side="right")
    candidates = (np.minimum(t_index, k_take),
                  np.clip(t_ppa, np.minimum(k_take + 1, n), k_block) * np.ones_like(t_index),
                  np.maximum(t_index, np.minimum(k_block + 1, n)))
    value = _value_usd_per_th_hour(hashprice_usd_per_ph_day, pool_fee)
    best_k, best_m = None, None
    for k in candidates:
        k = k.astype(np.intp)
        m = value * np.take_along_axis(cum_ths, k, axis=0) - net_energy_cost_usd(
            np.take_along_axis(load, k, axis=0), price_usd_per_mwh, tax_usd_per_mwh, ppa)
        if best_k is None:
            best_k, best_m = k, m
        else:
            better = (m > best_m) | ((m == best_m) & (k > best_k))
            best_k, best_m = np.where(better, k, best_k), np.where(better, m, best_m)
    return best_k


def cohort_margins_usd(k: np.ndarray, share, hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray,
                       tax_usd_per_mwh: float, pool_fee: float, cooling_overhead: float, working_ths: np.ndarray,
                       working_mw: np.ndarray, cum_mw: np.ndarray, ppa: PpaTerms | None = None) -> np.ndarray:
    """Each cohort's own margin over the hours it runs ``(cohorts, paths)`` [USD] (what stop and retire decide on).

    ``margin_j = Σ_h [v r_jh TH_j − (C(S_j + r_jh P_j) − C(S_j))]`` [USD]: ``r_jh`` the share of
    cohort j running in hour h, ``v`` the pool's payout per TH/s-hour, ``P_j`` its facility
    power and ``S_j`` the facility power of the more efficient cohorts before it (its place in
    the merit order), ``C`` :func:`net_energy_cost_usd`. Under ``economic`` curtailment on a
    fixed or index contract every running hour has a margin ≥ 0, so the margin is too.
    One price row stands for 24 alike hours.

    Notes
    -----
    Counted from the hours' running counts ``k`` ``(hours, paths)`` (cohorts ``j < k`` run
    wholly) and, for hours where a cap binds, ``share = (capped, whole, part)`` of
    :func:`dispatch_day` (cohorts ``j < whole`` run wholly, cohort ``whole`` runs ``part``),
    without a ``(cohorts, hours, paths)`` array. ``C`` is piecewise linear in the load with
    kinks at T and B only, so a whole cohort's cost in hour h is
    ``tax P_j + p_h A_j + ppa D_j`` with ``A_j = [min(L, T) + max(L − B, 0)]_{S_j}^{S_j + P_j}``
    and ``D_j = [clip(L, T, B)]_{S_j}^{S_j + P_j}`` the same in every hour (without a PPA
    ``A_j = P_j``, ``D_j = 0``). Hence
    ``margin_j = N_j (v TH_j − tax P_j − ppa D_j) − A_j Σ_{h: j runs} p_h`` + the marginal
    cohort's hours, where ``N_j`` is the number of hours with ``k > j``: a histogram of ``k``
    per path (``np.bincount``) summed from the top down.
    """
    n_cohorts, paths = working_ths.shape
    facility = 1 + cooling_overhead
    hours = units.HOURS_PER_DAY if np.shape(price_usd_per_mwh)[0] == 1 else 1
    price = np.broadcast_to(price_usd_per_mwh, np.shape(k))
    value = _value_usd_per_th_hour(hashprice_usd_per_ph_day, pool_fee)
    whole = k if share is None else np.where(share[0], share[1], k)
    at = (whole.astype(np.intp) * paths + np.arange(paths)).reshape(-1)  # flat index into (cohorts + 1, paths)
    n_hours = merit_order.sum_above(at, None, (n_cohorts + 1, paths))  # Σ over the hours with whole > j
    price_sum = merit_order.sum_above(at, price.reshape(-1), (n_cohorts + 1, paths))
    power = working_mw * facility
    start = cum_mw[:-1] * facility
    if ppa is None:
        a, d, ppa_price = power, 0.0, 0.0
    else:
        end = start + power
        take, block = ppa.take_mwh, ppa.block_mwh
        a = (np.minimum(end, take) - np.minimum(start, take)) + (np.maximum(end - block, 0.0)
                                                                 - np.maximum(start - block, 0.0))
        d, ppa_price = np.clip(end, take, block) - np.clip(start, take, block), ppa.price_usd_per_mwh
    margin = n_hours * (value * working_ths - tax_usd_per_mwh * power - ppa_price * d) - a * price_sum
    if share is not None:  # the marginal cohort of each capped hour runs in part
        capped, marginal, part = share
        marginal = np.minimum(marginal, n_cohorts - 1).astype(np.intp)
        flat = marginal * paths + np.arange(paths)
        s_m = start.reshape(-1).take(flat)
        load = part * power.reshape(-1).take(flat)
        gain = (value * part * working_ths.reshape(-1).take(flat)
                - (net_energy_cost_usd(s_m + load, price, tax_usd_per_mwh, ppa)
                   - net_energy_cost_usd(s_m, price, tax_usd_per_mwh, ppa)))
        margin += np.bincount(flat[capped], gain[capped], minlength=n_cohorts * paths).reshape(n_cohorts, paths)
    return margin * hours


def ambient_c(site: Site, month: int) -> np.ndarray | None:
    """Inlet temperature of each UTC hour of a day in ``month`` (1–12) [°C], or None.

    ``T(h) = mean_month + swing / 2 × cos(2π (h − 21) / 24)``: the monthly mean from
    ``ambient_c`` and a daily swing peaking at 21:00 UTC (mid-afternoon in the US Central
    time zone), an assumption standing in for a site's measured profile; or the site's own
    ``ambient_hourly_c`` table (hour UTC × month).
    """
    if site.ambient_hourly_c is not None:
        return np.array([row[month - 1] for row in site.ambient_hourly_c], dtype=float)
    if site.ambient_c is None:
        return None
    hours = np.arange(units.HOURS_PER_DAY)
    return site.ambient_c[month - 1] + site.diurnal_swing_c / 2 * np.cos(2 * np.pi * (hours - 21) / 24)


def dispatch_day_tuned(curtailment: Curtailment, hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray,
                       tax_usd_per_mwh: float, pool_fee: float, cooling_overhead: float, working_ths: np.ndarray,
                       working_mw: np.ndarray, k_under: np.ndarray, k_over: np.ndarray, min_fraction: np.ndarray,
                       max_fraction: np.ndarray, dynamic: np.ndarray, derate: np.ndarray,
                       cap_mw: np.ndarray | None = None, *, margins: bool = False,
                       efficiency_jth: np.ndarray | None = None) -> Dispatch:
    """Hourly dispatch with thermal derating and dynamic firmware tuning.

    Arrays: ``working_ths``, ``working_mw`` ``(cohorts, paths)`` at the cohort's static
    setting; ``k_*``, ``*_fraction``, ``dynamic`` ``(cohorts,)``; ``derate`` ``(cohorts, 24)``
    hashrate multiplier from :func:`simulator.hardware.temperature_derate_fraction` (a firmware
    throttle: power follows the tuning curve, ``d^k_under``); ``cap_mw`` as in
    :func:`dispatch_day` (cohorts are in static efficiency order); ``efficiency_jth``
    ``(cohorts,)`` their stock efficiencies, ``working_mw / working_ths × 10⁶``.

    Stock cohorts (not ``dynamic``) are counted by threshold when their efficiencies are given
    and no cap binds the day: :func:`simulator.merit_order.derated_stock_dispatch` sorts them by
    their derated efficiency in each group of hours sharing a derate. The cohort-by-cohort
    arithmetic (:func:`_dispatch_by_cohort`) decides the rest: a dynamic cohort's best setting
    ``f`` and so its margin depend on its own ``r = v T / (c M)`` in every hour and path (no
    common merit order), and a cap sheds units in the static order across stock and dynamic
    cohorts alike, which couples them. Both give the same running set (the threshold is the
    margin's sign solved for the efficiency), up to the rounding of a margin of exactly 0.
    """
    stock = ~np.asarray(dynamic, dtype=bool)
    by_cohort = functools.partial(_dispatch_by_cohort, curtailment, hashprice_usd_per_ph_day, price_usd_per_mwh,
                                  tax_usd_per_mwh, pool_fee, cooling_overhead, working_ths, working_mw, k_under, k_over,
                                  min_fraction, max_fraction, dynamic, derate, margins=margins)
    if efficiency_jth is None or not stock.any():
        return by_cohort(cap_mw)
    if cap_mw is not None:  # the capped paths shed by cohort, the others keep the threshold dispatch: both
        capped = np.isfinite(cap_mw).any(axis=0)  # over the whole chunk, so a path's figures never depend on
        shed = by_cohort(cap_mw)  # whether another path of its chunk had a call that day
        if capped.all():
            return shed
        free = dispatch_day_tuned(curtailment, hashprice_usd_per_ph_day, price_usd_per_mwh, tax_usd_per_mwh, pool_fee,
                                  cooling_overhead, working_ths, working_mw, k_under, k_over, min_fraction,
                                  max_fraction, dynamic, derate, margins=margins, efficiency_jth=efficiency_jth)
        return Dispatch(**{f.name: np.where(capped, getattr(shed, f.name), getattr(free, f.name))
                           for f in dataclasses.fields(Dispatch) if getattr(free, f.name) is not None})
    ths, energy, curtailed, margin = merit_order.derated_stock_dispatch(
        curtailment, hashprice_usd_per_ph_day, price_usd_per_mwh, tax_usd_per_mwh, pool_fee, cooling_overhead,
        efficiency_jth[stock], working_ths[stock], working_mw[stock], k_under[stock], derate[stock], margins)
    underclocked = np.zeros(working_ths.shape[1])
    if not stock.all():  # the dynamic cohorts, one by one (each cohort's dispatch is its own without a cap)
        t = ~stock
        rest = _dispatch_by_cohort(curtailment, hashprice_usd_per_ph_day, price_usd_per_mwh, tax_usd_per_mwh,
                                   pool_fee, cooling_overhead, working_ths[t], working_mw[t], k_under[t], k_over[t],
                                   min_fraction[t], max_fraction[t], dynamic[t], derate[t], margins=margins)
        ths, energy, curtailed = ths + rest.running_ths, energy + rest.energy_hourly_mwh, curtailed + rest.curtailed_mwh
        underclocked = rest.underclocked_mwh
        if margins:
            both = np.empty(working_ths.shape)
            both[stock], both[t] = margin, rest.cohort_margin_usd
            margin = both
    extra = {"cohort_margin_usd": margin} if margins else {}
    return Dispatch(running_ths=ths, energy_hourly_mwh=energy, curtailed_mwh=curtailed, underclocked_mwh=underclocked,
                    **extra)


def _dispatch_by_cohort(curtailment: Curtailment, hashprice_usd_per_ph_day: np.ndarray, price_usd_per_mwh: np.ndarray,
                        tax_usd_per_mwh: float, pool_fee: float, cooling_overhead: float, working_ths: np.ndarray,
                        working_mw: np.ndarray, k_under: np.ndarray, k_over: np.ndarray, min_fraction: np.ndarray,
                        max_fraction: np.ndarray, dynamic: np.ndarray, derate: np.ndarray,
                        cap_mw: np.ndarray | None = None, *, margins: bool = False) -> Dispatch:
    """:func:`dispatch_day_tuned` deciding each cohort's hour on its own margin, a cohort at a time.

    Each cohort's ``(24, paths)`` hours are computed and added up in turn (no
    ``(cohorts, 24, paths)`` temporaries); stock cohorts run at ``f = 1`` (no powers), the
    setting and its powers ``f^k`` are computed for the dynamic cohorts only. A cap sheds units
    in the cohorts' order, each cohort capped at what the cap leaves after those before it.

    Notes
    -----
    With ``v`` the pool payout of 1 TH/s for an hour [USD] and ``c = (price + tax)(1 + overhead)``
    the cost of 1 MWh of IT energy, a cohort at setting ``f`` earns ``m(f) = v T f − c M f^k``
    (T [TH/s], M [MW], k = k_under below nameplate, k_over above). ``m`` is concave on each
    side of 1, so the hourly optimum of a ``dynamic`` cohort is, with ``r = v T / (c M)``:
    ``f = (r / k_over)^(1/(k_over−1))`` clipped to [1, max] when r > k_over,
    ``(r / k_under)^(1/(k_under−1))`` clipped to [min, 1] when r < k_under, else 1
    (max when c ≤ 0). ``economic`` runs a cohort when ``m(f) ≥ 0``; ``uptime_target`` also runs
    everything in the cheapest hours; ``schedule`` runs nothing in ``hours_off``. Curtailed
    energy is what the switched-off units would have drawn at their stock setting,
    ``Σ (1 − run) M``; underclocked energy is what running units did not draw because they were
    tuned down, ``Σ run max(M − M f^k, 0)`` (both × (1 + overhead)). A cohort's margin
    (``margins=True``) is ``Σ_h run (v T f − c M f^k)``.
    """
    n_cohorts, paths = working_ths.shape
    hours = units.HOURS_PER_DAY
    value = _value_usd_per_th_hour(hashprice_usd_per_ph_day, pool_fee)
    cost = np.broadcast_to((price_usd_per_mwh + tax_usd_per_mwh) * (1 + cooling_overhead), (hours, paths))
    forced = None  # hours every cohort runs whatever its margin
    if curtailment.policy == "none":
        forced = np.ones((hours, paths), dtype=bool)
    elif curtailment.policy == "schedule":
        forced = np.broadcast_to(merit_order.scheduled_hours(curtailment)[:, None], (hours, paths))
    elif curtailment.policy == "uptime_target":
        forced = np.broadcast_to(merit_order.cheapest_hours(curtailment, price_usd_per_mwh), (hours, paths))
    power = derate ** k_under[:, None]  # (cohorts, 24) power multiplier of the throttle
    sums = np.zeros((3, paths))  # running TH/s-hours, curtailed and underclocked IT MWh
    energy, drawn_before = np.zeros((hours, paths)), np.zeros((hours, paths))
    margin_usd = np.empty((n_cohorts, paths)) if margins else None
    for j in range(n_cohorts):  # each cohort's (24, paths) hours stay in the cache
        ths, mw = working_ths[j] * derate[j][:, None], working_mw[j] * power[j][:, None]
        run_ths, run_mw = ths, mw  # stock setting: f = 1
        if dynamic[j]:
            run_ths, run_mw = _tuned_setting(value, cost, ths, mw, float(k_under[j]), float(k_over[j]),
                                             float(min_fraction[j]), float(max_fraction[j]))
        margin = value * run_ths - cost * run_mw  # the cohort's hour at its setting [USD]
        if forced is None:  # economic
            run = margin >= 0
        else:
            run = forced | (margin >= 0) if curtailment.policy == "uptime_target" else forced
        drawn = run_mw * run
        if cap_mw is not None:  # cohorts come most efficient first: shed units from the end
            with np.errstate(divide="ignore", invalid="ignore"):
                run = np.where(drawn > 0, run * np.clip((cap_mw - drawn_before) / drawn, 0.0, 1.0), run * 1.0)
            drawn_before += drawn
            drawn = run_mw * run
        energy += drawn
        sums[0] += (run_ths * run).sum(axis=0)
        sums[1] += ((1.0 - run) * mw).sum(axis=0)
        if dynamic[j]:
            sums[2] += (run * np.maximum(mw - run_mw, 0.0)).sum(axis=0)
        if margins:
            margin_usd[j] = (run * margin).sum(axis=0)
    facility = 1 + cooling_overhead
    extra = {"cohort_margin_usd": margin_usd} if margins else {}
    return Dispatch(running_ths=sums[0] / hours, energy_hourly_mwh=energy * facility, curtailed_mwh=sums[1] * facility,
                    underclocked_mwh=sums[2] * facility, **extra)


def _tuned_setting(value: np.ndarray, cost: np.ndarray, ths: np.ndarray, mw: np.ndarray, ku: float, ko: float,
                   low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Hashrate and power ``(T f, M f^k)`` ``(24, paths)`` of a dynamic cohort at its best hourly setting ``f``.

    :func:`_dispatch_by_cohort`'s closed form; the exponents and bounds are the cohort's scalars
    (with the library's ``k_over = 2`` the overclock's setting is a copy and its power a square).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        r = value * ths / (cost * mw)
        over = np.clip((r / ko) ** (1 / (ko - 1)), 1.0, high)
        under = np.clip((r / ku) ** (1 / (ku - 1)), low, 1.0)
    best = np.where(r > ko, over, np.where(r < ku, under, 1.0))  # clipped: finite, or NaN where r is undefined
    f = np.where(cost > 0, np.where(np.isnan(best), 1.0, best), high)
    return ths * f, mw * np.where(f < 1, f ** ku, f ** ko)


def expansion_capex_usd_per_day(expansions, start, days: int) -> np.ndarray:
    """Construction capex of a site's expansions per simulated day ``(days,)`` [USD].

    Each expansion's ``mw × capex_usd_per_mw`` is spread evenly over the ``build_months``
    (of 365/12 days) that end on its date; all of it falls on the date when the build takes
    no time. Spending before the start is left out (it is in the opening balance sheet).
    """
    out = np.zeros(days)
    for e in expansions:
        total = e.mw * e.capex_usd_per_mw
        end = (e.date - start).days
        build_days = max(int(round(e.build_months * units.DAYS_PER_YEAR / units.MONTHS_PER_YEAR)), 1)
        lo, hi = max(end - build_days + 1, 0), min(end, days - 1)
        if lo <= hi:
            out[lo:hi + 1] += total / build_days
    return out


@dataclass(frozen=True)
class SiteCohorts:
    """A site's cohorts in dispatch order (most efficient first): per-unit hashrate and power, tuning.

    ``ths_per_unit``, ``mw_per_unit`` ``(cohorts, 1)`` [TH/s, IT MW]; the tuning arrays
    ``(cohorts,)`` as in :func:`dispatch_day_tuned`; ``tuned`` when any cohort tunes
    dynamically or the site has an ambient profile (:func:`dispatch_day_tuned`).
    """

    efficiency_jth: np.ndarray
    ths_per_unit: np.ndarray
    mw_per_unit: np.ndarray
    k_under: np.ndarray
    k_over: np.ndarray
    min_fraction: np.ndarray
    max_fraction: np.ndarray
    dynamic: np.ndarray
    tuned: bool


def dispatch_site(cohorts: SiteCohorts, site: Site, working: np.ndarray, hashprice_usd_per_ph_day: np.ndarray,
                  price_usd_per_mwh: np.ndarray, tax_usd_per_mwh: float, pool_fee: float, derate: np.ndarray,
                  calls: np.ndarray | None = None, avoid: np.ndarray | None = None, ppa: PpaTerms | None = None,
                  margins: bool = False) -> Dispatch:
    """A site's day for ``working`` units ``(cohorts, paths)``: the programmes' caps, then the dispatch.

    A demand-response call (``calls`` ``(24, paths)``) caps IT power at the site's IT load less
    the committed facility MW; a 4CP avoidance hour (``avoid`` ``(24, 1)``) caps it at 0. A large
    day without margins, tuning or a PPA's kink runs compiled, with the same floats
    (:func:`simulator.merit_order.compiled_dispatch`).
    """
    ths, mw = cohorts.ths_per_unit * working, cohorts.mw_per_unit * working
    cap_mw = None
    if not len(working):  # a site without cohorts (HPC only) has nothing to shed
        calls = avoid = None
    calls = calls if calls is not None and calls.any() else None  # a day without a call or an avoided hour
    avoid = avoid if avoid is not None and avoid.any() else None  # caps nothing: the uncapped dispatch
    shed_mw = 0.0 if calls is None else site.demand_response.committed_mw / (1 + site.cooling_overhead)
    tuned = cohorts.tuned and (ppa is not None or cohorts.dynamic.any() or not np.all(derate == 1.0))
    if not (tuned or margins or ppa is not None and ppa.take_mwh < ppa.block_mwh):  # compiled when large
        compiled = merit_order.compiled_dispatch(site.curtailment, hashprice_usd_per_ph_day, price_usd_per_mwh,
                                                 tax_usd_per_mwh, pool_fee, site.cooling_overhead,
                                                 cohorts.efficiency_jth, ths, mw, calls, avoid, shed_mw)
        if compiled is not None:
            return Dispatch(*compiled)
    if calls is not None:
        cap_mw = np.where(calls, np.maximum(mw.sum(axis=0) - shed_mw, 0.0), np.inf)
    if avoid is not None:
        cap_mw = np.where(avoid, 0.0, np.inf if cap_mw is None else cap_mw)
    if tuned:
        return dispatch_day_tuned(site.curtailment, hashprice_usd_per_ph_day, price_usd_per_mwh, tax_usd_per_mwh,
                                  pool_fee, site.cooling_overhead, ths, mw, cohorts.k_under, cohorts.k_over,
                                  cohorts.min_fraction, cohorts.max_fraction, cohorts.dynamic, derate, cap_mw,
                                  margins=margins, efficiency_jth=cohorts.efficiency_jth)
    return dispatch_day(site.curtailment, hashprice_usd_per_ph_day, price_usd_per_mwh, tax_usd_per_mwh, pool_fee,
                        site.cooling_overhead, cohorts.efficiency_jth, ths, mw, cap_mw, ppa=ppa, margins=margins)


def policy_step(cohort_margin_usd: np.ndarray, present: np.ndarray, losing_days: np.ndarray, stopped: np.ndarray,
                policies, avoidable_fixed_usd: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stop and retire rules on a day: ``(losing_days, stopped, retire_now)``, each ``(cohorts, paths)``.

    A cohort loses on a day when its own margin after the hour-by-hour dispatch
    (``cohort_margin_usd`` of :func:`dispatch_site` with ``margins=True`` and every working unit;
    see :func:`cohort_margins_usd`) does not cover the fixed costs stopping it would save:
    ``margin − avoidable_fixed_usd < 0``. The engine passes 0: in this model nothing a
    stopped cohort saves is fixed (site opex is charged on capacity, failures and repairs
    happen either way), so a cohort that curtailment idles all day (margin 0) is not losing.
    Only cohorts with units ``present`` count; a day that is not losing resets the run.
    ``stop`` switches a cohort off after ``negative_margin_days`` losing days in a row and on
    again on its first day that is not losing; ``retire`` sells it once the run reaches its
    ``negative_margin_days``.
    """
    losing = (cohort_margin_usd - avoidable_fixed_usd < 0) & present
    losing_days = np.where(losing, losing_days + 1, 0)
    if policies.stop:
        stopped = losing & (stopped | (losing_days >= policies.stop.negative_margin_days))
    retire = losing_days >= policies.retire.negative_margin_days if policies.retire else np.zeros_like(losing)
    return losing_days, stopped, retire


def hosting_day_usd(site: Site, energy_hourly_mwh: np.ndarray, price_usd_per_mwh: np.ndarray, tax_usd_per_mwh: float,
                    ppa_usd_per_mwh: float | None, mining_bill: Bill) -> tuple[np.ndarray, float]:
    """Hosted clients' day: (incremental power bill of their load, hosting revenue) [USD].

    Clients' machines draw ``hosting.mw`` every hour (they are not ours to curtail); their
    power cost is the site's bill with their load less the bill without it (net of credits),
    their revenue ``mw × 24 × 1,000 × price_usd_per_kwh``.
    """
    hosted_mwh = site.hosting.mw
    revenue = hosted_mwh * units.HOURS_PER_DAY * units.KW_PER_MW * site.hosting.price_usd_per_kwh
    if ppa_usd_per_mwh is None:  # the bill is linear in the load: H Σ_h (p_h + tax)
        hours = units.HOURS_PER_DAY if np.shape(price_usd_per_mwh)[0] == 1 else 1
        return hosted_mwh * (price_usd_per_mwh.sum(axis=0) * hours + units.HOURS_PER_DAY * tax_usd_per_mwh), revenue
    with_hosted = energy_bill(site.power, energy_hourly_mwh + hosted_mwh, price_usd_per_mwh, tax_usd_per_mwh,
                              ppa_usd_per_mwh)
    cost = (with_hosted.power_cost_usd - with_hosted.power_credit_usd
            - mining_bill.power_cost_usd + mining_bill.power_credit_usd)
    return cost, revenue
