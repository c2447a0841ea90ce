"""Checks of the public-miner presets against their filings (issue 18; docs/presets.md).

Each preset's header carries three machine-readable comment lines, flow-style YAML:

    # validation: {from: …, to: …, reported_btc: … | reported_revenue_usd: …, source: URL}
    # balance_sheet: {as_of: …, total_assets_usd: …, btc_price_usd: …, source: URL}
    # market_cap: {as_of: 2025-12-31, share_price_usd: …, usd: …, source: URL}
    # diluted_shares: {period: …, basic_shares: …, shares: …, convertible_shares: …, share_price_usd: …, source: URL}

:func:`production_check` backtests the preset's fleet on real history over the validation window
and sets the simulated figure beside the reported one: BTC mined (net of pool fees) or mining
revenue in USD at each day's close, the basis on which the filers recognise revenue.
:func:`opening_check` rebuilds total assets (:func:`simulator.finance.opening.total_assets_usd`,
BTC at the filing date's price) beside the filing's. :func:`market_cap_check` sets the close ×
``shares_outstanding`` beside the published market capitalisation. :func:`diluted_check` sets the
model's diluted share count beside the filing's EPS denominator. A figure the preset does not
carry is ``null`` with a ``missing:`` reason; the check then returns ``None`` for it.
"""
from __future__ import annotations

import re
from pathlib import Path

from simulator.config import load_scenario
from simulator.finance.dilution import treasury_stock_shares
from simulator.finance.opening import total_assets_usd
from simulator.workflows.backtest import backtest
from simulator.yaml12 import parse


def header_line(path, key: str) -> dict | None:
    """The ``# key: {…}`` line of a preset's header, parsed (None if absent)."""
    match = re.search(rf"^# {key}: (\{{.*\}})\s*$", Path(path).read_text(), re.M)
    return parse(match.group(1), f"{path}: # {key}").data if match else None


def production_check(path) -> dict | None:
    """Reported vs simulated production over the validation window (``difference`` = sim / reported − 1),
    or None if the line carries no reported figure (only ``missing:``).

    A fleet paid by PPLNS or solo is simulated at its expected payout (``pool.payout=fpps``, the
    preset's fee kept): the reported figure holds the company's own block luck, and one simulated
    draw of it would add noise of its own (about ±4 % a quarter for MARA's ~700 blocks), so the
    check compares the fleet's expected production with it."""
    v = header_line(path, "validation")
    if v is None or (v.get("reported_btc") is None and v.get("reported_revenue_usd") is None):
        return None
    expected = () if load_scenario(str(path)).pool.payout == "fpps" else ("pool.payout=fpps",)
    res = backtest(str(path), date_from=v["from"], date_to=v["to"], overrides=expected)
    if v.get("reported_btc") is not None:
        measure, reported, simulated = "btc", float(v["reported_btc"]), float(res.daily.btc_mined.sum())
    else:
        measure, reported = "revenue_usd", float(v["reported_revenue_usd"])
        simulated = float(res.monthly.mining_revenue_usd.sum())
    return {"line": v, "measure": measure, "reported": reported, "simulated": simulated,
            "difference": simulated / reported - 1}


def opening_check(path) -> dict | None:
    """Opening balance-sheet lines of the preset beside the filing's total assets, or None if not carried."""
    b = header_line(path, "balance_sheet")
    if b is None or b.get("total_assets_usd") is None:
        return None
    lines = total_assets_usd(load_scenario(str(path)).company, float(b["btc_price_usd"]))
    lines["filing_total_assets_usd"] = float(b["total_assets_usd"])
    lines["difference"] = lines["total_assets_usd"] / lines["filing_total_assets_usd"] - 1
    return lines


def market_cap_check(path) -> dict | None:
    """Day 0's share price × the preset's basic shares beside the published 2025-12-31 market cap
    (``published_usd`` None where the preset carries none), or None without a day-0 anchor.

    The day-0 price is the market close the preset anchors on (``company.market``: the model opens
    at it): the header's 2025-12-31 close, or, where that was not found, the latest close the
    sources reach (``as_of`` says which)."""
    m = header_line(path, "market_cap")
    if m is None:
        return None
    company = load_scenario(str(path)).company
    if m.get("share_price_usd") is None and company.market is None:
        return None
    price, as_of = (float(m["share_price_usd"]), m["as_of"]) if m.get("share_price_usd") is not None \
        else (company.market.share_price_usd, company.market.as_of)
    ours = price * company.shares_outstanding
    published = None if m.get("usd") is None else float(m["usd"])
    return {"line": m, "close_times_shares_usd": ours, "close_as_of": as_of, "published_usd": published,
            "difference": None if published is None else ours / published - 1}


def diluted_check(path) -> dict | None:
    """The model's diluted share count beside the filing's diluted EPS denominator, or None if the
    preset's ``# diluted_shares:`` line carries no filing count (only ``missing:``).

    Model: ``N_basic + Σ_i count_i · max(0, 1 − K_i / P) + N_conv`` — the filing's weighted basic
    shares, the preset's options/RSUs/warrants (``company.dilutive``) by the treasury-stock method
    (simulator.finance.dilution) at the line's share price ``P``, and the if-converted shares of the
    convertibles the filing counts (``convertible_shares``, derived on the line from the notes' terms
    and the days they were outstanding). Filing: weighted diluted shares of the same period.
    ``difference`` = model / filing − 1 [shares / shares]."""
    d = header_line(path, "diluted_shares")
    if d is None or d.get("shares") is None:
        return None
    company = load_scenario(str(path)).company
    instruments = float(treasury_stock_shares(company.dilutive, float(d["share_price_usd"])))
    basic, filing = float(d["basic_shares"]), float(d["shares"])
    convertible = float(d.get("convertible_shares") or 0.0)
    model = basic + instruments + convertible
    return {"line": d, "instrument_shares": instruments, "filing_instrument_shares": filing - basic - convertible,
            "model_shares": model, "filing_shares": filing, "difference": model / filing - 1}
