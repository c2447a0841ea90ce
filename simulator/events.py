"""Dated scenario events as state the daily actors read: taxes, outages, price and hashrate shocks, fee spikes.

An event applies from 00:00 of its date, inclusive (DESIGN.md, "Scenario file"):

* ``power_tax`` adds ``usd_per_mwh`` [USD/MWh] to a site's energy price, cumulatively;
* ``outage`` takes a site offline for ``days`` days (no production, no energy drawn, not
  curtailment);
* ``price_shock`` multiplies the BTC close by ``1 + change_pct/100`` from its date on (the
  price model continues from the shocked level), cumulatively;
* ``hashrate_shock`` does the same to the network hashrate: the factor is taken by the network
  actor on the next day it runs (:meth:`EventState.take_hashrate_shock`);
* ``fee_spike`` sets fees to ``btc_per_block`` [BTC] for ``days`` days.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EventState:
    """The events applied so far; ``tax_usd_per_mwh`` and ``offline_until`` (a day) are per site."""

    site_names: list[str]
    tax_usd_per_mwh: np.ndarray = field(init=False)
    offline_until: np.ndarray = field(init=False)
    price_factor: float = 1.0
    hashrate_shock: float = 1.0
    fee_spike: tuple[float, int] = (0.0, -1)
    """(fees per block [BTC], first day without the spike)."""

    def __post_init__(self) -> None:
        self.tax_usd_per_mwh = np.zeros(len(self.site_names))
        self.offline_until = np.zeros(len(self.site_names))

    def apply(self, event, day: int) -> None:
        """Apply ``event`` (a scenario ``events`` item) dated ``day``."""
        if event.kind == "power_tax":
            self.tax_usd_per_mwh[self.site_names.index(event.site)] += event.usd_per_mwh
        elif event.kind == "outage":
            site = self.site_names.index(event.site)
            self.offline_until[site] = max(self.offline_until[site], day + event.days)
        elif event.kind == "price_shock":
            self.price_factor *= 1 + event.change_pct / 100
        elif event.kind == "hashrate_shock":
            self.hashrate_shock *= 1 + event.change_pct / 100
        elif event.kind == "fee_spike":
            self.fee_spike = (event.btc_per_block, day + event.days)

    def offline(self, site: int, days: np.ndarray) -> np.ndarray:
        """Whether site ``site`` is offline on each of ``days`` (bool, the shape of ``days``)."""
        return np.asarray(days) < self.offline_until[site]

    def price_usd(self, close_usd: np.ndarray) -> np.ndarray:
        """The day's BTC close [USD] after the price shocks so far."""
        return close_usd * self.price_factor

    def fees_btc_per_block(self, days: np.ndarray, fees_btc_per_block: np.ndarray) -> np.ndarray:
        """Fees per block [BTC] of ``days`` ``(n,)``: the model's ``(n, paths)``, or a spike's while it lasts."""
        spike_btc, spike_end = self.fee_spike
        spiking = np.asarray(days) < spike_end
        return np.where(spiking[:, None], spike_btc, fees_btc_per_block) if spiking.any() else fees_btc_per_block

    def take_hashrate_shock(self) -> float:
        """The hashrate shock factor applied since the last call (1 if none), reset to 1."""
        shock, self.hashrate_shock = self.hashrate_shock, 1.0
        return shock
