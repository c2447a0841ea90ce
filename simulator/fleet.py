"""The company's machines as cohorts: arrays over cohorts, built once from the scenario.

A cohort is a fleet item or a purchase: ``units`` identical machines of one hardware
profile at one site, energised from ``deployed``/``delivery`` (00:00 of that date) until
``retired``. Per-unit hashrate and power are the profile's nameplate figures (spec sheets,
see ``hardware_profiles/``) at the item's static tuning setting f: ``hashrate × f`` and
``power × f^k`` (:func:`simulator.hardware.tuned_power_w`); a ``dynamic`` cohort starts
from nameplate and the site re-tunes it every hour. Purchases carry their capex (``units × hashrate_ths ×
price_usd_per_th``, else the launch price; NaN where neither is known: the engine then prices
the machines at the ASIC price index).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from simulator.config.checks import cohorts as scenario_cohorts
from simulator.config.schema import Scenario
from simulator.hardware import tuned_power_w
from simulator.rng import binomial_inverse_cdf


@dataclass(frozen=True)
class Cohorts:
    """Arrays of shape ``(cohorts,)``; days are counted from the scenario start.

    ``site_index`` is −1 for a cohort hosted at a third party (``hosting_usd_per_kwh`` is its
    all-in price; NaN for cohorts at the company's own sites).
    """

    ids: tuple[str, ...]
    models: tuple[str, ...]
    site_index: np.ndarray
    units: np.ndarray
    hashrate_ths: np.ndarray
    power_w: np.ndarray
    efficiency_jth: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray
    capex_usd: np.ndarray
    purchase: np.ndarray
    resale_usd_per_th: np.ndarray
    hosting_usd_per_kwh: np.ndarray
    k_under: np.ndarray
    k_over: np.ndarray
    min_fraction: np.ndarray
    max_fraction: np.ndarray
    dynamic: np.ndarray
    inlet_limit_c: np.ndarray
    shutdown_c: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def energised(self, day: float) -> np.ndarray:
        """Cohorts installed and connected during day ``day`` (bool, ``(cohorts,)``)."""
        return (self.start_day <= day) & (day < self.end_day)

    def change_days(self) -> list[int]:
        """Days inside the horizon on which a cohort is energised or retired, ascending."""
        days = np.concatenate([self.start_day, self.end_day[np.isfinite(self.end_day)]])
        return sorted({int(d) for d in days if d > 0})


@dataclass
class FailureState:
    """Units per cohort and path ``(cohorts, paths)``: working, installed, and in repair.

    ``repairs`` is a ring of ``R`` days: ``repairs[(head + j) % R]`` holds the units that come
    back ``j + 1`` days from now (so ``repairs[head]`` come back at the next day's start).
    """

    working: np.ndarray
    installed: np.ndarray
    repairs: np.ndarray
    head: int = 0


def fail_and_repair(state: FailureState, u_fail: np.ndarray, u_permanent: np.ndarray,
                    daily_probability: np.ndarray, permanent_fraction: float) -> tuple[FailureState, np.ndarray]:
    """One day of the failure model; returns the new state and the units that failed.

    ``failed ~ Binomial(working, q)`` with ``q = 1 − (1 − r)^(1/365)`` from the profile's
    annual rate r; ``lost ~ Binomial(failed, permanent_fraction)`` leave the fleet for good;
    the rest return after the repair delay (the queue ``repairs``, a ring updated in place:
    today's slot, emptied by the units coming back, takes the units that come back in
    ``R`` days).
    """
    slot = state.head
    working = state.working + state.repairs[slot]
    failed = binomial_inverse_cdf(u_fail, working, daily_probability[:, None])
    lost = binomial_inverse_cdf(u_permanent, failed, permanent_fraction)
    np.subtract(failed, lost, out=state.repairs[slot])
    working -= failed
    head = (slot + 1) % state.repairs.shape[0]
    return FailureState(working, state.installed - lost, state.repairs, head), failed


def build_cohorts(scenario: Scenario, library: Mapping) -> Cohorts:
    """Cohorts of ``scenario.fleet`` then ``scenario.purchases``, in file order."""
    site_names = [s.name for s in scenario.sites]
    rows = []
    for loc, item, energised in scenario_cohorts(scenario):
        profile = library[item.model]
        setting = 1.0 if item.tuning == "dynamic" else item.tuning
        price = item.price_usd_per_th
        if price is None:  # NaN: no price known, finance prices the machines at the ASIC price index
            price = profile.launch_price_usd_per_th if profile.launch_price_usd_per_th is not None else np.nan
        rows.append(dict(
            id=item.id or f"{loc[0]}[{loc[1]}]",
            model=item.model,
            site=site_names.index(item.site) if item.site is not None else -1,
            hosting=item.hosted_at.price_usd_per_kwh if item.hosted_at is not None else np.nan,
            units=float(item.units),
            hashrate_ths=profile.hashrate_ths * setting,
            power_w=float(tuned_power_w(profile, setting)),
            efficiency_jth=float(tuned_power_w(profile, setting)) / (profile.hashrate_ths * setting),
            start=float((energised - scenario.start).days),
            end=float((item.retired - scenario.start).days) if item.retired else np.inf,
            capex=price * item.units * profile.hashrate_ths, purchase=loc[0] == "purchases",
            resale=np.nan if item.resale_usd_per_th is None else item.resale_usd_per_th,
            k_under=profile.tuning.k_under, k_over=profile.tuning.k_over,
            min_fraction=profile.tuning.min_fraction, max_fraction=profile.tuning.max_fraction,
            dynamic=item.tuning == "dynamic", inlet_limit_c=profile.inlet_limit_c, shutdown_c=profile.shutdown_c,
        ))
    col = lambda key, dtype=float: np.array([r[key] for r in rows], dtype=dtype)  # noqa: E731
    return Cohorts(
        ids=tuple(r["id"] for r in rows), models=tuple(r["model"] for r in rows),
        site_index=col("site", np.int64), units=col("units"), hashrate_ths=col("hashrate_ths"),
        power_w=col("power_w"), efficiency_jth=col("efficiency_jth"), start_day=col("start"),
        end_day=col("end"), capex_usd=col("capex"), purchase=col("purchase", bool), resale_usd_per_th=col("resale"),
        hosting_usd_per_kwh=col("hosting"), k_under=col("k_under"), k_over=col("k_over"),
        min_fraction=col("min_fraction"), max_fraction=col("max_fraction"), dynamic=col("dynamic", bool),
        inlet_limit_c=col("inlet_limit_c"), shutdown_c=col("shutdown_c"),
    )
