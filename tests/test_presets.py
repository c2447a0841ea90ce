"""Public-miner presets (scenarios/companies/): they validate, cite a source or an assumption for
every number of their company and fleet, share one market, and run side by side in ``compare``."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml

from simulator.config import load_scenario
from simulator.workflows import presets
from simulator.workflows.compare import compare

from conftest import SCENARIOS

COMPANIES = SCENARIOS / "companies"
PRESETS = sorted(COMPANIES.glob("*.yaml"))
#: Sections whose every numeric line must carry its source (a URL) or say it is an assumption.
SOURCED_SECTIONS = ("company", "fleet", "sites", "hpc")
#: The business models issue 9 asks for, each matched by a word of some preset's header.
MODELS = ("HODL", "power-credit", "hosting-heavy", "AI/HPC", "low-cost international", "treasury-company")


#: ``assumption: … because …`` (what is assumed, then why no public source gives it).
ASSUMPTION = re.compile(r"assumption:.*\bbecause\b", re.I)


def _in_sourced_section(text: str, number: int) -> bool:
    """True if line ``number`` lies inside one of SOURCED_SECTIONS."""
    return any(n == number for section in SOURCED_SECTIONS for n, _ in _section_lines(text, section))


def _split_comment(line: str) -> tuple[str, str]:
    """(value part, comment) of a YAML line; a ``#`` inside quotes does not start a comment."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i], line[i + 1:]
    return line, ""


def _section_lines(text: str, section: str):
    """(line number, line) of the lines inside a top-level ``section:`` block."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^[A-Za-z_]", line):  # a top-level key opens or closes a block
            inside = line.startswith(f"{section}:")
            continue
        if inside:
            yield number, line


def test_there_are_at_least_six_presets_covering_the_business_models():
    assert len(PRESETS) >= 6, PRESETS
    headers = " ".join(p.read_text().split("\nname:")[0] for p in PRESETS)
    missing = [m for m in MODELS if m.lower() not in headers.lower()]
    assert not missing, f"no preset header names the business model(s) {missing}"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_preset_validates_and_has_a_company(path):
    scenario = load_scenario(str(path))
    assert scenario.company is not None, f"{path.name} has no company section"
    assert scenario.fleet, f"{path.name} has no fleet"
    assert re.search(r"^# Data as of \d{4}-\d{2}-\d{2}", path.read_text(), re.M), \
        f"{path.name}: the header must state the date of its data ('# Data as of YYYY-MM-DD')"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_every_number_of_company_and_fleet_has_a_source_or_an_assumption(path):
    text = path.read_text()
    unsourced = []
    for section in SOURCED_SECTIONS:
        for number, line in _section_lines(text, section):
            value, comment = _split_comment(line)
            if not re.search(r"\d", value) or re.match(r"^\s*-?\s*name:", value):  # a name is no figure
                continue
            if "http" not in comment and not ASSUMPTION.search(comment):
                unsourced.append(f"{path.name}:{number}: {line.strip()}")
    assert not unsourced, ("numbers without a source URL or an 'assumption: … because …' comment:\n"
                           + "\n".join(unsourced))


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_every_assumption_gives_its_reason_and_nothing_is_a_plug(path):
    bad = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        _, comment = _split_comment(line)
        if re.search(r"\bplug", line, re.I):
            bad.append(f"{path.name}:{number}: a line marked plug: {line.strip()}")
        if re.search(r"\bassumption\b", comment, re.I) and not ASSUMPTION.search(comment) \
                and _in_sourced_section(path.read_text(), number):
            bad.append(f"{path.name}:{number}: an assumption without 'because': {line.strip()}")
    assert not bad, "\n".join(bad)


def test_presets_share_one_start_market_and_network():
    docs = {p.name: yaml.safe_load(p.read_text()) for p in PRESETS}
    first = next(iter(docs.values()))
    for name, doc in docs.items():
        for key in ("start", "horizon_days", "market", "network"):
            assert doc[key] == first[key], f"{name}: {key} differs from {PRESETS[0].name}"
    names = [doc["name"] for doc in docs.values()]
    assert len(set(names)) == len(names), "compare's rows are keyed by name: names must differ"


@pytest.mark.parametrize("horizon_days", [365, pytest.param(730, marks=pytest.mark.slow)])
def test_compare_runs_every_preset(horizon_days):
    # the fast suite runs the first of the presets' two years (everything asserted here holds in it);
    # the presets' own 730 days run in `make test-full` (and mara's and core_scientific's in test_valuation)
    rows, pairs = compare([str(p) for p in PRESETS], paths=2,
                          overrides=["failures.enabled=false", f"horizon_days={horizon_days}"])
    assert len(rows) == len(PRESETS)
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in PRESETS)
    for row in rows:
        assert row["btc_per_ehs_day"] is not None and row["btc_per_ehs_day"] > 0, row
    assert len(pairs) == len(PRESETS) * (len(PRESETS) - 1)
    by_file = {r["file"]: r for r in rows}
    assert by_file["core_scientific.yaml"]["hpc_share_of_revenue"] > 0.2  # the AI/HPC converter earns from leases


# --------------------------------------------------------------------------- issue 18: validation and day 0
#: Tolerance of the out-of-sample production check and of the opening balance sheet (issue 18).
TOLERANCE = 0.10
#: Checks a preset does not pass yet, with the measured figure and why; strict: once the data are
#: in the preset the check passes and the entry must go (docs/presets.md, "Known gaps").
KNOWN_GAPS = {
    ("mara.yaml", "production"): "energized 60.4 EH/s is expected to mine 2,332 BTC in Q4 2025 on history against 2,011 "
                                 "reported (+15.9 %; Q3: 2,712 vs 2,144, +26 %): the blocks MARA won are ~52 EH/s effective; MARA "
                                 "publishes energized, not average operating, hashrate and no curtailment figure (data31b: nor does "
                                 "the 10-Q transcription that gave its balance sheet; production updates stopped after September 2025; data34: the Q4 2025 loss coverage gives 66.4 EH/s and 53,822 BTC, no operating hashrate)",
    ("core_scientific.yaml", "production"): "16.3 EH/s self-mining earns $62.1M in Q4 2025 on history against $42.2M "
                                            "reported (+47 %; Q3: $82.8M vs $57.4M, +44 %): ~11 EH/s effective while sites "
                                            "convert to CoreWeave; no operating hashrate or availability figure is disclosed (data34: the Q4 2025 "
                                            "release reprints and earnings summaries give revenue and 'fewer bitcoin mined' only)",
    ("cipher.yaml", "production"): "Q4 2025 bitcoin-mining revenue (10-K less Q1-Q3) $59.6M against $83.5M on history "
                                   "(+40 %; ~+27 % like-for-like, revenue leaving out the JV sites' BTC the fleet carries); "
                                   "Q3 2025 689 BTC against 789 (+15 %): Cipher discloses no availability, curtailment or "
                                   "average operating hashrate for the reported 23.6 EH/s (docs/presets_B_notes.md; data31b searched "
                                   "the 10-K MD&A and Q4 coverage again: none; data34: the Q3 earnings summaries give the 23.6 EH/s "
                                   "end-of-period figure only)",
    ("terawulf.yaml", "production"): "Q4 2025 digital-asset revenue $26.1M against $32.8M on history (+26 %) with Q3's "
                                     "8.6 EH/s running all quarter: TeraWulf ran legacy mining 'opportunistically' in Q4 "
                                     "while handing Lake Mariner to HPC tenants, with no hashrate, curtailment or MW figure "
                                     "published (Q3 2025: 377 BTC against 381, +1 %; data31b: the 10-K MD&A excerpt stops at the "
                                     "overview, the Q4 release gives revenue only; data34: the Q4 release's reprints say legacy mining ran 'opportunistically', no EH/s)",
    ("american_bitcoin.yaml", "production"): "Q4 2025 mining revenue $95.7M on history against $78.3M reported (+22 %) "
                                             "with the 25.05 EH/s owned fleet running all quarter; ABTC discloses no "
                                             "availability figure (docs/presets_B_notes.md; data31b: the Q4 loss and March 2026 fleet "
                                             "releases give fleet counts and 16 J/TH, no operating hashrate; data34: FY2025 coverage gives revenue $185.2M and 6,000+ BTC held, no EH/s)",
    ("iren.yaml", "production"): "50 EH/s earns $187.4M of mining revenue in Q4 2025 on history against $167.4M "
                                 "reported (+12 %), Childress on the ercot_west profile fitted to ERCOT's 2023-2024 "
                                 "prices (it curtails only above its ~$110/MWh breakeven; the earlier estimated profile, "
                                 "mean $43, curtailed more and gave +7.9 %); Q3 2025 passes at +6.5 % ($248.0M vs $233.0M) "
                                 "with IREN's own operating hashrate 44-45 EH/s of 50 installed; the Q4 excess coincides with a "
                                 "$31.8M ASIC impairment for the ASIC-to-GPU transition, but no EH/s or date was published (data31b: "
                                 "the Q2 FY26 release and coverage give revenue and the impairment only; monthly updates end with August 2025, data34 found "
                                 "none later)",
    ("mara.yaml", "diluted"): "Q3 2025: model 490.29M against the 10-Q's 470.13M diluted (+4.3 %, inside the 5 % tolerance), but "
                              "the if-converted shares of the five convertibles weighted by their days in the quarter, 118.22M, "
                              "exceed the filing's whole incremental count, 470.13M - 372.07M basic = 98.05M, by 20.16M: the 10-Q "
                              "left at least that many out of the quarter as anti-dilutive, and its EPS note, which would say "
                              "which, was not reached (over nine months the same weighting gives 94.3M against the 10-Q's "
                              "91.28M, -3.2 %); MARA's time-based RSUs (count not reached) are not in the preset either "
                              "(data31c)",
    ("cleanspark.yaml", "opening"): "PP&E net and other current assets of the FY2025 10-K not reached: cash + BTC held and "
                                    "posted + miner deposits + goodwill and ROU = $1.77B of $3.18B total assets (-44.2 %); "
                                    "data31a also searched the 10-K's and the Q1 FY26 10-Q's statement and Details pages (SEC "
                                    "R pages carry the notes' text without tables), the fast-edgar, cloudfront, hstong and "
                                    "stocktitan copies (page starts only) and public repositories (docs/presets.md, data31a); data34: the Q2 FY26 10-Q's "
                                    "fast-edgar statement pages R2-R4 are not in the search tools (only notes: R25, R33, R56), and the "
                                    "aggregator's 'Other Assets, Current $413,033,000' is a stale fact (it is on the page's Q2 FY2024 "
                                    "snapshot too); the bitcoin lines match the 10-K's carrying values (test below)",
    ("core_scientific.yaml", "opening"): "the preset carries no opening PP&E (self-mining fleet, data centres, CoreWeave-funded "
                                         "construction) because the Q3 2025 10-Q balance sheet and PP&E note were not reached: "
                                         "cash + BTC = $0.69B of $2.30B total assets (-69.7 %; total derived from two aggregator "
                                         "pages, see the preset's balance_sheet line); data31a also searched the 10-Q's R "
                                         "pages, investor-site, pubt.io, stocktitan and cloudfront copies and public repositories "
                                         "(docs/presets.md, data31a); data34 also searched fast-edgar, portfoliosavvy (CIK 1839341: its "
                                         "line-item snapshot stops at the Q3 2024 10-Q, its 2026 page gives ratios), roic.ai, Stocks Telegraph, stock-data.online (no CORZ page) and a Q3 "
                                         "earnings summary: current assets $1,061M at Sep-25 (roic), no PP&E",
}


def _params(check: str):
    """PRESETS as parameters, those with a known gap in ``check`` marked strict xfail with the reason."""
    return [pytest.param(p, id=p.name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[(p.name, check)]))
            if (p.name, check) in KNOWN_GAPS else pytest.param(p, id=p.name) for p in PRESETS]


def header_line(path, key: str) -> dict:
    """The machine-readable ``# key: {…}`` header line (docs/presets.md), which must be there."""
    line = presets.header_line(path, key)
    assert line is not None, f"{path.name}: no '# {key}: {{...}}' header line (docs/presets.md)"
    return line


@pytest.mark.parametrize("path", _params("production"))
def test_fleet_reproduces_reported_production_out_of_sample(path):
    line = header_line(path, "validation")
    c = presets.production_check(path)
    if c is None:
        pytest.skip(f"{path.name}: no reported production in the preset ({line.get('missing')})")
    v = c["line"]
    assert "http" in str(v["source"]), f"{path.name}: the reported figure needs its source URL"
    assert v["from"] >= dt.date(2025, 7, 1), f"{path.name}: the window must be Q4 2025 (else Q3 2025)"
    assert abs(c["difference"]) <= TOLERANCE, (f"{path.name}: simulated {c['measure']} {c['simulated']:,.0f} over "
                                              f"{v['from']} … {v['to']} vs reported {c['reported']:,.0f}")


@pytest.mark.parametrize("path", _params("opening"))
def test_opening_balance_sheet_reproduces_the_filings_total_assets(path):
    b = header_line(path, "balance_sheet")
    lines = presets.opening_check(path)
    if lines is None:
        pytest.skip(f"{path.name}: filing total assets not in the preset ({b.get('missing')})")
    shown = ", ".join(f"{k} {v / 1e6:,.1f}M" for k, v in lines.items() if k.endswith("_usd"))
    assert abs(lines["difference"]) <= TOLERANCE, \
        f"{path.name}: opening total assets differ from the filing's by {lines['difference']:+.1%} ({shown})"


#: Presets whose header carries the filing's PP&E, net (``# ppe: {as_of, net_usd, split, source}``, docs/presets.md).
PPE_PRESETS = [p for p in PRESETS if presets.header_line(p, "ppe") is not None]


@pytest.mark.parametrize("path", PPE_PRESETS, ids=lambda p: p.name)
def test_opening_ppe_lines_add_up_to_the_filings_ppe(path):
    # The split of PP&E into machines, sites and construction may be an assumption (the note's table
    # unreached), but the three lines must carry the filing's PP&E, net, whole: machines written out
    # (not left to the model's depreciated cohort cost) and nothing scaled to hit another total.
    line = presets.header_line(path, "ppe")
    assert "http" in str(line["source"]) and line.get("split"), f"{path.name}: the ppe line needs its source and split"
    o = load_scenario(str(path)).company.opening
    assert o.fleet_book_value_usd is not None, f"{path.name}: the machines' share of PP&E must be written out"
    booked = o.fleet_book_value_usd + o.site_book_value_usd + o.construction_in_progress_usd
    assert booked == pytest.approx(float(line["net_usd"]), rel=1e-3), \
        f"{path.name}: machines + sites + construction {booked / 1e6:,.1f}M vs the filing's PP&E {line['net_usd'] / 1e6:,.1f}M"
    # the figure is the filing's as cited in the header (in $ thousands), and the split is the one stated
    assert f"{float(line['net_usd']) / 1e3:,.0f}k" in path.read_text(), f"{path.name}: net_usd is not the cited filing figure"
    assert o.fleet_book_value_usd > 0, f"{path.name}: a fleet in service has a book value"
    if "half sites, half construction" in line["split"]:
        assert o.site_book_value_usd == o.construction_in_progress_usd, f"{path.name}: the split says half and half"


def test_the_ppe_check_covers_iren():
    # IREN's opening PP&E (FY2025 10-K, data18c) is the reason the check exists; losing its line would skip it silently
    assert "iren.yaml" in [p.name for p in PPE_PRESETS]


def test_the_opening_checks_cover_mara():
    # MARA's Q3 2025 balance sheet (data31b): total assets, PP&E split and the named other assets; losing the
    # `balance_sheet` total or the `ppe` line would turn both checks into silent skips
    assert "mara.yaml" in [p.name for p in PPE_PRESETS]
    lines = presets.opening_check(COMPANIES / "mara.yaml")
    assert lines is not None and lines["filing_total_assets_usd"] == pytest.approx(9_153_377_000)
    # the check is not closed by construction: the filing's unitemised other assets are left out of the preset
    assert lines["total_assets_usd"] < lines["filing_total_assets_usd"]


def test_cleansparks_opening_gap_lies_outside_its_bitcoin_lines():
    """data34: CleanSpark's opening check (a known gap, −44 %) misses PP&E and other current assets, not bitcoin. Its
    13,011 BTC (10,428 held + 2,583 posted) at the ``balance_sheet`` line's price reproduce what the 10-K carries for them —
    bitcoin current $966,829k + noncurrent $222,614k (Note 6) and the $294,648k receivable from bitcoin collateral (Note 5)
    — so the shortfall is the filing's total less the named lines: $1,408.7M that only the unreached PP&E and other current
    assets can fill (the strict xfail's reason), not a mispriced or miscounted treasury (the check holds once PP&E is in)."""
    path = COMPANIES / "cleanspark.yaml"
    lines = presets.opening_check(path)
    filing_btc_usd = (966_829 + 222_614 + 294_648) * 1e3
    assert lines["btc_usd"] == pytest.approx(filing_btc_usd, rel=1e-3)
    assert "$966,829k" in path.read_text() and "$294,648k" in path.read_text(), "cite the carrying values on the line"


def test_opening_ppe_and_total_assets_lines_share_one_date():
    # Issue 18: one company on one date. A preset whose PP&E comes from one balance sheet and whose cash and notes
    # come from another opens with an equity that belongs to no date (IREN before data32: June PP&E against December
    # cash and notes, -$25.1M); the `ppe` and `balance_sheet` header lines must name the same date.
    for path in PPE_PRESETS:
        ppe, bs = presets.header_line(path, "ppe"), header_line(path, "balance_sheet")
        assert str(ppe["as_of"]) == str(bs["as_of"]), f"{path.name}: PP&E at {ppe['as_of']}, balance sheet at {bs['as_of']}"


def test_irens_opening_lines_are_all_of_2025_12_31():
    """data32: every opening line of IREN is December's, the October and December notes with the capex they funded
    (the Q2 FY26 10-Q's cash $3,260,589k and PP&E $3,170,451k as transcribed, the notes of Note 16 and the 8-Ks), so
    the book equity at the start is the company's, not about nil."""
    path = COMPANIES / "iren.yaml"
    company = load_scenario(str(path)).company
    assert str(presets.header_line(path, "ppe")["as_of"]) == "2025-12-31"
    assert company.cash_usd == pytest.approx(3_260_589_000)
    convertible = [d.principal_usd for d in company.debt if d.kind == "convertible"]
    # $445.7M of 2029 and 2030 notes left after the December repurchase (Note 16), the 2031 notes, the 2032 and 2033 notes
    assert sorted(convertible) == pytest.approx(sorted([233.4e6, 212.3e6, 1.0e9, 1.15e9, 1.15e9]))
    assert sum(convertible[:2]) == pytest.approx(445.7e6)
    from simulator.finance.opening import total_assets_usd
    assets = total_assets_usd(company, float(presets.header_line(path, "balance_sheet")["btc_price_usd"]))
    equity = assets["total_assets_usd"] - sum(d.principal_usd for d in company.debt) - company.opening.other_liabilities_usd
    assert equity > 2e9, f"iren.yaml: opening book equity {equity / 1e6:,.1f}M"


def test_maras_btc_backed_line_opens_at_its_year_end_collateral():
    """The engine pledges principal / (day-0 price × ltv_initial): MARA's line is written at the start price with the
    5,938 BTC it had pledged at 2025-12-31 (the 10-K), LTV 0.674, not at the 2025-09-30 price (0.605 pledged 6,610 BTC,
    more than MARA had; its 5,077 BTC of September at the start price would open at 0.788, a call MARA did not have)."""
    scenario = load_scenario(str(COMPANIES / "mara.yaml"))
    (line,) = [d for d in scenario.company.debt if d.kind == "btc_backed"]
    start_price = scenario.market.btc_price.initial_usd
    assert line.ltv_initial == pytest.approx(line.principal_usd / (5_938 * start_price), rel=1e-3)
    assert line.principal_usd / (line.ltv_initial * start_price) == pytest.approx(5_938, abs=5)
    assert line.ltv_initial < line.ltv_margin_call
    text = (COMPANIES / "mara.yaml").read_text()
    assert "5,938 BTC pledged at 2025-12-31" in text


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_btc_backed_lines_pledge_the_cited_count_at_the_start_price(path):
    # docs/presets.md (data32): the engine pledges principal / (day-0 price × ltv_initial), so each BTC-backed line's
    # ltv_initial must be its principal over the pledged count its comment cites × the start price; a ratio written at
    # the filing date's price (Riot's 0.532 and CleanSpark's 0.592 at September's $114k) pledges ~30 % more BTC
    lines = [ln for ln in path.read_text().splitlines() if re.match(r"\s*ltv_initial:", ln)]
    debts = [d for d in load_scenario(str(path)).company.debt if d.kind == "btc_backed"]
    assert len(lines) == len(debts)
    start_price = load_scenario(str(path)).market.btc_price.initial_usd
    for line, debt in zip(lines, debts):
        count = re.search(r"\(([\d,]+) BTC (?:pledged|posted)", line)
        assert count, f"{path.name}: the ltv_initial line does not cite the pledged BTC count: {line.strip()}"
        pledged_btc = float(count.group(1).replace(",", ""))
        assert "$87,517" in line and "2025-12-31" in line, f"{path.name}: ltv_initial not written at the start price"
        assert debt.principal_usd / (debt.ltv_initial * start_price) == pytest.approx(pledged_btc, rel=1e-3), path.name
        assert debt.ltv_initial < debt.ltv_margin_call, f"{path.name}: the line opens in a margin call"


def test_every_preset_opens_at_its_2025_12_31_close():
    # Issue 18 point 1: day 0 is the market close of 2025-12-31 in `company.market`, the close the `market_cap`
    # header line lists and sources (data31b closed the last four that anchored on an earlier December close)
    for path in PRESETS:
        m = header_line(path, "market_cap")
        market = load_scenario(str(path)).company.market
        assert market is not None and market.as_of == dt.date(2025, 12, 31), f"{path.name}: day 0 is not the 2025-12-31 close"
        assert m.get("share_price_usd") is not None and "http" in str(m["source"]), f"{path.name}: the header lacks the sourced close"
        assert float(m["share_price_usd"]) == pytest.approx(market.share_price_usd), f"{path.name}: header and company.market differ"


#: Presets whose header carries the filing's debt note (``# debt: {as_of, principal_usd, carrying_usd, instruments, source}``).
DEBT_PRESETS = [p for p in PRESETS if presets.header_line(p, "debt") is not None]


@pytest.mark.parametrize("path", DEBT_PRESETS, ids=lambda p: p.name)
def test_debt_instruments_are_the_filings_debt_note(path):
    # Every instrument of the filing's debt note, each at its principal (face, what is repaid or converted),
    # not the balance sheet's carrying value net of issuance costs, and none left out or added.
    line = presets.header_line(path, "debt")
    assert "http" in str(line["source"]), f"{path.name}: the debt line needs its source"
    debt = load_scenario(str(path)).company.debt
    assert len(debt) == int(line["instruments"]), f"{path.name}: {len(debt)} instruments vs the note's {line['instruments']}"
    principal = sum(d.principal_usd for d in debt)
    assert principal == pytest.approx(float(line["principal_usd"]), rel=1e-3), \
        f"{path.name}: debt principal {principal / 1e6:,.1f}M vs the note's {float(line['principal_usd']) / 1e6:,.1f}M"
    assert float(line["carrying_usd"]) <= principal, f"{path.name}: the carrying value is net of costs, at most the face"
    # the figure is the filing's as cited in the header (in $ thousands)
    assert f"{float(line['principal_usd']) / 1e3:,.0f}k" in path.read_text(), f"{path.name}: principal_usd is not the cited figure"


def test_the_debt_check_covers_riot():
    # Riot's five instruments of its Q3 2025 Note 12 (data31a) are the reason the check exists
    assert "riot.yaml" in [p.name for p in DEBT_PRESETS]


@pytest.mark.parametrize("path", _params("market_cap"))
def test_day0_market_cap_beside_the_published_one(path):
    m = header_line(path, "market_cap")
    c = presets.market_cap_check(path)
    if c is None:
        pytest.skip(f"{path.name}: no day-0 close in the preset ({m.get('missing')})")
    assert str(m["as_of"]) == "2025-12-31"
    market = getattr(load_scenario(str(path)).company, "market", None)
    if m.get("share_price_usd") is not None:
        assert "http" in str(m["source"])
        assert market is not None and market.share_price_usd == pytest.approx(float(m["share_price_usd"])), \
            f"{path.name}: company.market must carry the header's 2025-12-31 close (the day-0 share price)"
    else:  # anchored on the latest close the sources reach, in December 2025, with the reason written
        assert market.as_of.year == 2025 and market.as_of.month == 12 and m.get("missing")
        assert c["close_as_of"] == market.as_of
    if c["published_usd"] is not None:
        assert "http" in str(m["source"]), f"{path.name}: the published market cap needs its source URL"
    if c["published_usd"] is None:
        pytest.skip(f"{path.name}: published market cap not in the preset ({m.get('missing')})")
    # the published cap counts the shares of a later cover page or quote; 15 % covers Q4 issuance
    assert abs(c["difference"]) <= 0.15, (f"{path.name}: close × shares {c['close_times_shares_usd'] / 1e9:.2f}B "
                                          f"vs published {c['published_usd'] / 1e9:.2f}B")


#: Tolerance of the diluted share count against the filing's EPS denominator. The filing weights
#: the instruments over the period and, by the treasury-stock method of ASC 260, adds unrecognised
#: compensation to the assumed proceeds of unvested RSUs; the model counts the period-end instruments
#: whole (the sell-side "fully diluted" count), so a few per cent separate the two by construction.
DILUTED_TOLERANCE = 0.05


@pytest.mark.parametrize("path", _params("diluted"))
def test_diluted_count_beside_the_filings(path):
    d = presets.header_line(path, "diluted_shares")
    if d is None:  # the line is new (issue 18, filingsA); presets written before it carry none yet
        pytest.skip(f"{path.name}: no '# diluted_shares: {{...}}' header line (docs/presets.md)")
    c = presets.diluted_check(path)
    if c is None:
        pytest.skip(f"{path.name}: no filing diluted count in the preset ({d.get('missing')})")
    assert "http" in str(d["source"]), f"{path.name}: the filing's diluted count needs its source URL"
    # the line's if-converted shares are those the filing counts: they cannot exceed what it adds to basic in all
    # (0.5 % allows day-count rounding); more means the line counts convertibles the filing left out as anti-dilutive,
    # which the tolerance below would otherwise absorb
    assert c["filing_instrument_shares"] >= -0.005 * c["filing_shares"], (
        f"{path.name}: the line's convertible shares {float(d.get('convertible_shares') or 0) / 1e6:,.2f}M exceed the "
        f"filing's incremental shares {(c['filing_shares'] - float(d['basic_shares'])) / 1e6:,.2f}M over {d.get('period')}")
    assert abs(c["difference"]) <= DILUTED_TOLERANCE, (
        f"{path.name}: model diluted {c['model_shares'] / 1e6:,.1f}M (options/RSUs/warrants "
        f"{c['instrument_shares'] / 1e6:,.2f}M) vs filing {c['filing_shares'] / 1e6:,.1f}M "
        f"(instruments {c['filing_instrument_shares'] / 1e6:,.2f}M) over {d.get('period')}")


def test_the_diluted_checks_cover_mara_and_american_bitcoin():
    # data31c filled both lines from the Q3 2025 10-Qs' EPS figures; losing either would turn its check into a silent skip
    mara = presets.diluted_check(COMPANIES / "mara.yaml")
    assert mara is not None and mara["filing_shares"] == 470_126_290 and mara["line"]["basic_shares"] == 372_073_173
    abtc = presets.diluted_check(COMPANIES / "american_bitcoin.yaml")
    assert abtc is not None and abtc["filing_shares"] == 899_489_426 and abtc["line"]["basic_shares"] == 899_354_931
    assert abtc["line"]["convertible_shares"] == 0  # ABTC has no convertible notes


def test_maras_if_converted_shares_follow_its_convertible_lines():
    """The diluted line's ``convertible_shares`` is derived from the preset's own convertible lines, not set: each
    line's principal / conversion price, for the days of Q3 2025 it was outstanding (the 2032 notes: $950M for the
    67 of 92 days after the 2025-07-25 closing, the $75M option notes for the 55 days after 2025-08-06)."""
    debt = [d for d in load_scenario(str(COMPANIES / "mara.yaml")).company.debt if d.kind == "convertible"]
    assert len(debt) == 5
    shares = 0.0
    for d in debt:
        n = d.principal_usd / d.conversion_price_usd
        if d.maturity == dt.date(2032, 8, 1):  # issued in the quarter
            n = (950e6 * 67 / 92 + (d.principal_usd - 950e6) * 55 / 92) / d.conversion_price_usd
        shares += n
    # the conversion prices on the lines are rounded (e.g. $18.89 for 52.9451 shares per $1,000)
    assert presets.header_line(COMPANIES / "mara.yaml", "diluted_shares")["convertible_shares"] == pytest.approx(shares, rel=2e-4)


def test_diluted_check_counts_options_by_the_treasury_stock_method(tmp_path):
    """At twice the options' strike they add half their count (ASC 260-10-45-23); RSUs add all of theirs.
    Counts from CleanSpark's 2025-09-30 equity note (cleanspark.yaml [SBC]): 2,162,186 options at $15.66 and
    12,929,879 RSUs/PSUs; the diluted line's basic, diluted and convertible shares are changed to round numbers."""
    text = (COMPANIES / "cleanspark.yaml").read_text()
    line = re.search(r"^# diluted_shares: .*$", text, re.M).group(0)
    path = tmp_path / "cleanspark.yaml"
    path.write_text(text.replace(line, "# diluted_shares: {period: test, basic_shares: 100000000, shares: 120000000, "
                                       "convertible_shares: 5000000, share_price_usd: 31.32, source: https://example.org}"))
    c = presets.diluted_check(path)
    assert c["instrument_shares"] == pytest.approx(12_929_879 + 2_162_186 / 2)
    assert c["model_shares"] == pytest.approx(100_000_000 + 5_000_000 + 12_929_879 + 1_081_093)
    assert c["difference"] == pytest.approx(c["model_shares"] / 120_000_000 - 1)
    assert c["filing_instrument_shares"] == pytest.approx(15_000_000)


def test_production_check_of_a_solo_fleet_compares_its_expected_production(monkeypatch):
    """MARA mines solo: the reported BTC hold MARA's own block luck, so the check backtests the fleet at
    its expected (FPPS-equivalent) payout; two seeds, which would draw luck differing by several per cent a
    quarter, give the same figure but for machine failures (a few hundredths of a per cent)."""
    original, simulated = presets.backtest, []
    for seed in (1, 2):
        monkeypatch.setattr(presets, "backtest", lambda *a, seed=seed, **k: original(*a, **{**k, "seed": seed}))
        simulated.append(presets.production_check(COMPANIES / "mara.yaml")["simulated"])
    assert simulated[0] == pytest.approx(simulated[1], rel=1e-3)
