"""Print the README tables of the public-miner presets (issue 18) as Markdown.

    .venv/bin/python tools/preset_tables.py [scenarios/companies/*.yaml]

Tables: out-of-sample production (reported, simulated, difference), day 0 (close × shares beside
the published market cap; opening total assets beside the filing's), and every line marked
``assumption: … because …`` per preset. The figures come from simulator.workflows.presets.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from simulator.workflows import presets

ROOT = Path(__file__).resolve().parents[1]


def _money(x: float) -> str:
    return f"${x / 1e9:,.2f}B" if abs(x) >= 1e9 else f"${x / 1e6:,.1f}M"


def production_table(paths) -> list[str]:
    rows = ["| preset | window | measure | reported | simulated | difference | source |", "|---|---|---|---|---|---|---|"]
    for p in paths:
        c = presets.production_check(p)
        if c is None:
            rows.append(f"| `{p.name}` | — | — | not in the preset | — | — | — |")
            continue
        v, usd = c["line"], c["measure"] == "revenue_usd"
        shown = (lambda x: _money(x)) if usd else (lambda x: f"{x:,.0f} BTC")
        rows.append(f"| `{p.name}` | {v['from']} … {v['to']} | {'mining revenue' if usd else 'BTC mined'} | "
                    f"{shown(c['reported'])} | {shown(c['simulated'])} | {c['difference']:+.1%} | [link]({v['source']}) |")
    return rows


def day0_table(paths) -> list[str]:
    rows = ["| preset | day-0 close × shares | published market cap 2025-12-31 | opening total assets (ours) | filing total assets | difference |",
            "|---|---|---|---|---|---|"]
    for p in paths:
        m, o = presets.market_cap_check(p), presets.opening_check(p)
        mline, bline = presets.header_line(p, "market_cap") or {}, presets.header_line(p, "balance_sheet") or {}
        anchor = "" if not m or str(m["close_as_of"]) == "2025-12-31" else f" at the {str(m['close_as_of'])[5:]} close"
        cap = ((f"{_money(m['close_times_shares_usd'])}{anchor}" + (f" ({m['difference']:+.1%})" if m["difference"] is not None else ""),
                _money(m["published_usd"]) if m["published_usd"] is not None else f"not in the preset: {mline.get('missing')}")
               if m else
               ("—", f"not in the preset: {mline.get('missing', 'no header line')}"))
        assets = (_money(o["total_assets_usd"]), _money(o["filing_total_assets_usd"]), f"{o['difference']:+.1%}") if o else \
            ("—", f"not in the preset: {bline.get('missing', 'no header line')}", "—")
        rows.append(f"| `{p.name}` | {cap[0]} | {cap[1]} | {assets[0]} | {assets[1]} | {assets[2]} |")
    return rows


def assumptions(paths) -> list[str]:
    out = []
    for p in paths:
        items = []
        for line in p.read_text().splitlines():
            m = re.search(r"#.*?assumption:\s*(.*)$", line)
            if m and not line.lstrip().startswith("#"):
                key = line.split(":")[0].strip(" -{")
                items.append(f"  - `{key}`: {m.group(1).split(' https://')[0].strip()}")
        out.append(f"- **{p.name}** ({len(items)} assumptions)")
        out.extend(items)
    return out


def main(argv) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "scenarios" / "companies").glob("*.yaml"))
    for title, lines in (("Out-of-sample production", production_table(paths)), ("Day 0", day0_table(paths)),
                         ("Assumptions", assumptions(paths))):
        print(f"### {title}\n")
        print("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
