"""A colocation project's block of days in one compiled pass: :meth:`simulator.hpc.HpcPortfolio.block`'s flows.

:meth:`simulator.hpc.HpcPortfolio.block` (numpy) is the reference. For a colocation project whose block takes
the per-``k`` tables of :meth:`~simulator.hpc.HpcPortfolio._since_completion` (``k = day − completion``, whole
days: the occupied share and the escalation factor of every ``k`` of the block, made in numpy, the power
``(1 + escalator)^⌊years⌋`` included), each path ``p`` and day ``d`` (``day = first + d``) gets

    running = c ≤ day < end,  i = day − c − k₀,  share = S[i] · running,  rate = (R · factor) · E[i]
    revenue = rate · share,  power = P · share  (P = 0, or facility MWh × the day's price)
    opex = O · running,  prepaid = (rate · months) · days a month on ``day = c``, else 0
    net = ((rate − P) − O) · 365 where running, else 0
    left = min(end − day, life days) / 365 where running, else 0

and every flow +0.0 on a day when no path runs or completes (a block of that day alone skips it). These are
the reference's operations on the same operands in its order (its broadcasts left to right; ``np.minimum`` as
:func:`simulator.kernel_math.minimum`), so the same doubles (tests/test_hpc_block.py: both forms). Compiled
with ``cache=True``, ``nogil``, no ``fastmath``, ``error_model="numpy"``. Importing this module imports numba.
"""
from __future__ import annotations

from numba import njit

from simulator import numba_cache, units
from simulator.kernel_math import minimum

numba_cache.configure()  # before any @njit: numba picks a function's cache directory when decorating it

_DAYS_PER_YEAR = float(units.DAYS_PER_YEAR)


@njit(cache=True, nogil=True, error_model="numpy")
def colocation_days(first, completion, end, factor, rate_usd, tenant_pays_power, facility_mwh_per_day, price,
                    share_of_k, escalation_of_k, k0, prepayment_months, days_per_month, opex_usd, life_days, revenue,
                    power, opex, gpu, net, left, prepaid):
    """One colocation project's block (module notes) into ``revenue`` … ``prepaid`` ``(days, paths)``.

    ``completion``, ``end`` and ``factor`` ``(paths,)``: completion and lease-end days, rate signed over quoted;
    ``rate_usd`` the full-occupancy rate a day before the factor [USD]; ``price`` ``(days, paths)`` the site's
    power price [USD/MWh]; ``share_of_k`` and ``escalation_of_k`` the tables of ``k = k0, k0 + 1, …``;
    ``prepayment_months`` and ``days_per_month`` (multiplied into the rate left to right); ``opex_usd`` a day;
    ``life_days`` the contract's years × 365. ``gpu`` is written 0."""
    days, paths = price.shape
    for d in range(days):
        day = float(first + d)
        any_on = False
        for p in range(paths):
            c, e = completion[p], end[p]
            running = day >= c and day < e
            any_on |= running or c == day
            i = int(day - c - k0)
            share = share_of_k[i] * (1.0 if running else 0.0)
            rate = rate_usd * factor[p] * escalation_of_k[i]
            company_power = 0.0 if tenant_pays_power else facility_mwh_per_day * price[d, p]
            revenue[d, p] = rate * share
            power[d, p] = company_power * share
            opex[d, p] = opex_usd * (1.0 if running else 0.0)
            gpu[d, p] = 0.0
            net[d, p] = (rate - company_power - opex_usd) * _DAYS_PER_YEAR if running else 0.0
            left[d, p] = minimum(e - day, life_days) / _DAYS_PER_YEAR if running else 0.0
            prepaid[d, p] = rate * prepayment_months * days_per_month if day == c else 0.0
        if not any_on:  # a day no path runs or completes: +0.0 (a block of that day alone skips the project)
            for p in range(paths):
                revenue[d, p] = power[d, p] = opex[d, p] = gpu[d, p] = net[d, p] = left[d, p] = prepaid[d, p] = 0.0
