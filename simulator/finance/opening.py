"""The opening balance sheet of a company section, as the filing presents it.

Total assets on the filing date, with BTC at fair value (ASU 2023-08, the basis every US
filer in the presets uses since 2025):

    A = cash + (treasury_btc + btc_receivable) · P_BTC + machines + sites + CIP + other assets

where machines, sites and CIP are the ``company.opening`` book values and ``P_BTC`` is the
BTC price on the filing date [USD/BTC]. HPC project books are left out: projects that start
after the filing are not on its balance sheet. Units: USD. Used by the presets' day-0 check
(tests/test_presets.py) to compare a preset with its filing's total assets.
"""
from __future__ import annotations


def total_assets_usd(company, btc_price_usd: float) -> dict[str, float]:
    """The opening balance-sheet lines of ``company`` (a ``schema.Company``) and their total [USD].

    ``fleet_book_value_usd`` left at its default (None: depreciated cohort cost) counts as 0 here.

    Examples
    --------
    >>> from simulator.config.schema import Company
    >>> c = Company(shares_outstanding=1.0, cash_usd=10.0, treasury_btc=1.0,
    ...             opening={"btc_receivable": 1.0, "site_book_value_usd": 5.0})
    >>> total_assets_usd(c, 100.0)["total_assets_usd"]
    215.0
    """
    o = company.opening
    lines = {"cash_usd": float(company.cash_usd),
             "btc_usd": float(company.treasury_btc + o.btc_receivable) * float(btc_price_usd),
             "machines_usd": float(o.fleet_book_value_usd or 0.0),
             "sites_usd": float(o.site_book_value_usd),
             "construction_in_progress_usd": float(o.construction_in_progress_usd),
             "other_assets_usd": float(o.other_assets_usd)}
    lines["total_assets_usd"] = sum(lines.values())
    return lines
