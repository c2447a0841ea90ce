"""Cross-field checks of a scenario, one small named function each (PyPSA's consistency.py).

Each check takes the validated :class:`~simulator.config.schema.Scenario` (and, where it
needs them, the hardware library) and yields ``(location, message)`` pairs; the location is
the key path of the offending item so the loader can cite its ``file:line:col``. The
messages say what would be valid.
"""
from __future__ import annotations

import datetime as dt
import difflib
import os
from typing import Any, Callable, Iterator, Mapping, Optional

from simulator.config.schema import BtcBacked, IndexMarket, RegimePrice, Scenario
from simulator.hardware import load_library, tuned_power_w

Problem = tuple[tuple, str]


def library_for(scenario: Scenario, base_dir: str | None = None) -> Mapping:
    """The hardware library plus the scenario's own ``hardware_dirs``."""
    base = base_dir or (scenario.provenance.base_dir if scenario.provenance else ".")
    dirs = tuple(d if os.path.isabs(d) else os.path.join(base, d) for d in scenario.hardware_dirs)
    return load_library(extra_dirs=dirs)


def cohorts(scenario: Scenario):
    """(location, item, energised date) of every fleet item and purchase."""
    for i, item in enumerate(scenario.fleet):
        yield ("fleet", i), item, item.deployed
    for i, item in enumerate(scenario.purchases):
        yield ("purchases", i), item, item.delivery


def check_unique_names(scenario: Scenario, library: Mapping) -> Iterator[Problem]:
    """Site names are unique; cohort ids are unique across fleet and purchases."""
    seen: dict = {}
    for i, site in enumerate(scenario.sites):
        if site.name in seen:
            yield ("sites", i, "name"), f"duplicate site name {site.name!r} (also sites[{seen[site.name]}])"
        seen.setdefault(site.name, i)
    ids: dict = {}
    for loc, item, _ in cohorts(scenario):
        if item.id is None:
            continue
        if item.id in ids:
            yield loc + ("id",), f"duplicate cohort id {item.id!r}; ids must be unique across fleet and purchases"
        ids.setdefault(item.id, loc)


def check_models_exist(scenario: Scenario, library: Mapping) -> Iterator[Problem]:
    """Every fleet and purchase model is in the hardware library."""
    for loc, item, _ in cohorts(scenario):
        if item.model not in library:
            close = difflib.get_close_matches(item.model, list(library), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else "see `hashfleet hardware list`"
            yield loc + ("model",), f"unknown hardware model {item.model!r}; {hint}"


def check_sites_exist(scenario: Scenario, library: Mapping) -> Iterator[Problem]:
    """Every site named by a cohort, an HPC project or an event exists."""
    names = [s.name for s in scenario.sites]
    items = [(loc, item) for loc, item, _ in cohorts(scenario)]
    items = [(loc, item) for loc, item in items if item.site is not None]
    items += [(("hpc", i), p) for i, p in enumerate(scenario.hpc)]
    items += [(("events", i), e) for i, e in enumerate(scenario.events) if hasattr(e, "site")]
    hedges = scenario.company.hedges if scenario.company is not None else ()
    items += [(("company", "hedges", i), h) for i, h in enumerate(hedges) if h.kind == "power_swap"]
    for loc, item in items:
        if item.site not in names:
            close = difflib.get_close_matches(item.site, names, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}?" if close else f"valid sites: {', '.join(names)}"
            yield loc + ("site",), f"unknown site {item.site!r}; {hint}"


def check_dates(scenario: Scenario, library: Mapping) -> Iterator[Problem]:
    """The horizon ends before 9999-12-31; deliveries, HPC starts and events fall inside it; retirements follow energising."""
    if (dt.date.max - scenario.start).days < scenario.horizon_days:
        yield ("horizon_days",), (f"start {scenario.start} + {scenario.horizon_days} days is past 9999-12-31; "
                                  f"at most {(dt.date.max - scenario.start).days} days fit")
        return
    first, last = scenario.start, scenario.end - dt.timedelta(days=1)
    span = f"inside the horizon {first} … {last}"
    dated = [(("purchases", i, "delivery"), p.delivery) for i, p in enumerate(scenario.purchases)]
    dated += [(("hpc", i, "start"), h.start) for i, h in enumerate(scenario.hpc)]
    dated += [(("events", i, "date"), e.date) for i, e in enumerate(scenario.events)]
    dated += [(("sites", i, "expansions", j, "date"), e.date)
              for i, s in enumerate(scenario.sites) for j, e in enumerate(s.expansions)]
    for loc, when in dated:
        if not first <= when <= last:
            yield loc, f"{when} is outside the horizon; it must fall {span}"
    for loc, item, energised in cohorts(scenario):
        if item.retired is not None and item.retired <= energised:
            yield loc + ("retired",), f"retired {item.retired} is not after {energised}; dates must be in order"
    if scenario.company is not None:
        for i, debt in enumerate(scenario.company.debt):
            if debt.maturity is not None and debt.maturity <= first:
                yield ("company", "debt", i, "maturity"), (
                    f"maturity {debt.maturity} is not after the start {first}; a matured loan is not on the books")
        for i, hedge in enumerate(scenario.company.hedges):
            if hedge.start is not None and hedge.end is not None and hedge.end < hedge.start:
                yield ("company", "hedges", i, "end"), f"end {hedge.end} is before start {hedge.start}; dates must be in order"
            for key in ("start", "end"):
                when = getattr(hedge, key)
                if when is not None and not first <= when <= last:
                    yield ("company", "hedges", i, key), f"{when} is outside the horizon; it must fall {span}"


#: ``sites[i].power.contract`` -> the real-time market section the contract meets and its key path
#: under ``power`` (None: a fixed price never meets the market).
INDEX_MARKETS: dict[str, Callable[[Any], tuple[Optional[IndexMarket], tuple]]] = {
    "fixed": lambda power: (None, ()),
    "index": lambda power: (power, ()),
    "ppa": lambda power: (power.index, ("index",)),  # unused energy is sold into its index
}


def check_fractions_and_ordering(scenario: Scenario, library: Mapping) -> Iterator[Problem]:
    """BTC-backed loans: LTV initial < margin call < liquidation; regimes and power bounds make sense."""
    if scenario.company is not None:
        for i, debt in enumerate(scenario.company.debt):
            if isinstance(debt, BtcBacked) and not debt.ltv_initial < debt.ltv_margin_call < debt.ltv_liquidation:
                yield ("company", "debt", i), (
                    f"LTVs out of order ({debt.ltv_initial} / {debt.ltv_margin_call} / {debt.ltv_liquidation}); "
                    "need ltv_initial < ltv_margin_call < ltv_liquidation")
    price = scenario.market.btc_price
    if isinstance(price, RegimePrice) and price.initial >= len(price.regimes):
        yield ("market", "btc_price", "initial"), f"initial regime {price.initial} does not exist; valid: 0 … {len(price.regimes) - 1}"
    for i, site in enumerate(scenario.sites):
        market, key = INDEX_MARKETS[site.power.contract](site.power)
        if market is not None and not market.floor_usd_per_mwh < market.cap_usd_per_mwh:
            yield ("sites", i, "power") + key, "floor_usd_per_mwh must be below cap_usd_per_mwh"
    for i, site in enumerate(scenario.sites):
        rows = site.ambient_hourly_c or ()
        if any(len(row) != 12 for row in rows):
            yield ("sites", i, "ambient_hourly_c"), "each of the 24 hourly rows needs 12 monthly values (Jan … Dec)"
        if rows and site.ambient_c is not None:
            yield ("sites", i, "ambient_hourly_c"), "give ambient_c (monthly) or ambient_hourly_c (hourly), not both"
    names = [site.name for site in scenario.sites]
    for i, hedge in enumerate(scenario.company.hedges if scenario.company is not None else ()):
        if hedge.kind == "power_swap" and hedge.site in names and \
                scenario.sites[names.index(hedge.site)].power.contract == "fixed":
            yield ("company", "hedges", i, "site"), (
                f"site {hedge.site!r} buys power at a fixed price; a power swap needs an index or ppa site")
    if scenario.pool.payout == "pplns" and scenario.pool.hashrate_ehs is None:
        yield ("pool",), "pplns needs pool.hashrate_ehs (the pool's size in EH/s)"


def committed_mw(scenario: Scenario, library: Mapping) -> dict[str, list]:
    """Facility-MW steps per site: ``[(date, delta_mw, location), ...]`` sorted by date.

    Mining facility power of a cohort = units × power_w(tuning) × (1 + cooling_overhead) / 1e6 from
    its energising date until ``retired`` (a dynamically tuned cohort counts at its highest
    setting; hosted cohorts have no site); an HPC project reserves ``it_mw × pue`` from its
    start; hosted third-party load counts from the start. Removals sort before
    additions on the same date (a retirement frees MW that day).
    """
    sites = {s.name: s for s in scenario.sites}
    steps: dict = {name: [] for name in sites}
    for loc, item, energised in cohorts(scenario):
        if item.site not in sites or item.model not in library:
            continue
        profile = library[item.model]
        fraction = profile.tuning.max_fraction if item.tuning == "dynamic" else item.tuning
        mw = item.units * float(tuned_power_w(profile, fraction)) * (1 + sites[item.site].cooling_overhead) / 1e6
        steps[item.site].append((energised, mw, loc))
        if item.retired is not None:
            steps[item.site].append((item.retired, -mw, loc))
    for i, project in enumerate(scenario.hpc):
        if project.site in sites:
            steps[project.site].append((project.start, project.it_mw * project.pue, ("hpc", i)))
    for i, site in enumerate(scenario.sites):
        if site.hosting is not None:
            steps[site.name].append((scenario.start, site.hosting.mw, ("sites", i, "hosting")))
    for name in steps:
        steps[name].sort(key=lambda s: (s[0], s[1]))
    return steps


def peak_mw(steps: list) -> float:
    """Largest running total of a site's facility-MW steps."""
    total, peak = 0.0, 0.0
    for _, delta, _ in steps:
        total += delta
        peak = max(peak, total)
    return peak


def capacity_mw(site, when) -> float:
    """A site's capacity on ``when``: ``capacity_mw`` plus expansions energised by then."""
    return site.capacity_mw + sum(e.mw for e in site.expansions if e.date <= when)


def check_site_capacity(scenario: Scenario, library: Mapping) -> Iterator[Problem]:
    """At no date does a site's committed facility power exceed its capacity on that date."""
    tolerance_mw = 1e-9
    for site in scenario.sites:
        total = 0.0
        for when, delta, loc in committed_mw(scenario, library)[site.name]:
            total += delta
            capacity = capacity_mw(site, when)
            if delta > 0 and total > capacity + tolerance_mw:
                spare = capacity - (total - delta)
                if loc[0] in ("fleet", "purchases"):
                    what = f"{getattr(scenario, loc[0])[loc[1]].units} units"
                else:
                    what = "HPC project" if loc[0] == "hpc" else "hosting load"
                yield loc, (f"site {site.name!r} would draw {total:.1f} MW from {when} with this {what} "
                            f"({delta:.1f} MW) but its capacity is {capacity:g} MW then; "
                            f"at most {max(spare, 0):.1f} MW more fit")
                break


def check_tuning(scenario: Scenario, library: Mapping) -> Iterator[Problem]:
    """A static tuning setting lies inside the profile's tuning range."""
    for loc, item, _ in cohorts(scenario):
        profile = library.get(item.model)
        if profile is None or item.tuning == "dynamic":
            continue
        lo, hi = profile.tuning.min_fraction, profile.tuning.max_fraction
        if not lo <= item.tuning <= hi:
            yield loc + ("tuning",), (f"{item.tuning:g} is outside {item.model}'s tuning range; "
                                      f"valid: {lo:g} … {hi:g} of nameplate, or dynamic")


#: Most blocks a day the start's network hashrate and difficulty may imply: 100 times Bitcoin's 144
#: (difficulty follows hashrate within days; real starts are within a few tens of per cent). Beyond it
#: the hashrate is in the wrong unit (PH/s given for EH/s is 1,000 times too large, H/s 10¹⁸) or absurd.
MAX_START_BLOCKS_PER_DAY = 14_400.0


def check_network_scale(scenario: Scenario, library: Mapping) -> Iterator[Problem]:
    """The start's hashrate mines at most :data:`MAX_START_BLOCKS_PER_DAY` blocks a day at the start's
    difficulty (a csv hashrate's first day: :func:`simulator.engine.check_input_models`)."""
    ehs = getattr(scenario.network.hashrate, "initial_ehs", None)
    problem = None if ehs is None else network_scale_problem(ehs, scenario.network.initial_difficulty)
    if problem is not None:
        yield ("network", "hashrate", "initial_ehs"), problem


def network_scale_problem(ehs: float, difficulty: float) -> str | None:
    """What is wrong with a start of ``ehs`` EH/s at ``difficulty``: ``86,400 s × H / (D × 2³²)`` blocks a day
    (144 when the two agree) above :data:`MAX_START_BLOCKS_PER_DAY`; None when nothing is."""
    blocks = 86_400 * ehs * 1e18 / (difficulty * 2**32)
    if not blocks > MAX_START_BLOCKS_PER_DAY:
        return None
    most_ehs = MAX_START_BLOCKS_PER_DAY * difficulty * 2**32 / 86_400 / 1e18
    return (f"{ehs:g} EH/s at difficulty {difficulty:.4g} mines {blocks:.3g} blocks a day (144 when they agree); "
            f"valid: at most {MAX_START_BLOCKS_PER_DAY:,.0f} a day ({most_ehs:.4g} EH/s): the hashrate is in EH/s "
            "(1 EH/s = 1e18 H/s)")


CHECKS = (check_unique_names, check_tuning, check_models_exist, check_sites_exist, check_dates,
          check_fractions_and_ordering, check_site_capacity, check_network_scale)


def run_all(scenario: Scenario, base_dir: str | None = None) -> list[Problem]:
    """Every problem every check finds."""
    library = library_for(scenario, base_dir)
    return [problem for check in CHECKS for problem in check(scenario, library)]


def warnings(scenario: Scenario, library: Mapping) -> list[Problem]:
    """Things that are allowed but probably unintended (a cohort deployed before release)."""
    out = []
    for loc, item, energised in cohorts(scenario):
        profile = library.get(item.model)
        if profile is not None and profile.release_date is not None and energised < profile.release_date:
            out.append((loc, f"{item.model} deployed {energised}, before its release {profile.release_date}"))
    return out
