"""Published anchor (issue 6): a public miner's reported month against the engine.

What this validates, and what it does not (issue 20)
----------------------------------------------------
For a month a listed miner reported, the test builds a scenario from that miner's own
figures (average operating hashrate, fleet efficiency, power price) and from the month's
real network (difficulty, height, retarget epoch, daily network hashrate, fees per block,
BTC price) and runs the real engine (:func:`simulator.run`).

* **BTC mined is the independent check.** Nothing of the miner's production enters the
  scenario: the engine's network (difficulty, Bitcoin Core's retargets, subsidy, fees) turns
  the reported operating hashrate into BTC, compared with the BTC the miner reported within
  :data:`BTC_TOLERANCE` = 1 % (observed −0.25 % and +0.38 %; IREN's operating hashrate
  reproduces its BTC under FPPS within 1 % in every month Jan–Sep 2024, see "Pool" below).
* **Energy is a second, weaker check**: hashrate × nameplate efficiency × (1 + an assumed
  3 % overhead) against the MW IREN metered, within :data:`ENERGY_TOLERANCE` = 6 % (observed
  +5.2 % and −0.4 %; the Jan-24 gap is explained below).
* **Power cost per BTC is not an independent check.** The power price is *derived from the
  report being compared with* (IREN's net electricity bill ÷ its metered energy), so the
  simulated power cost per BTC is the reported one × (simulated ÷ metered energy) ×
  (reported ÷ simulated BTC): it can only restate the two checks above. It is kept as the
  like-for-like figure an analyst quotes, with the issue's 10 % tolerance, and labelled so.

Nothing below is a hard-coded result: every simulated number comes out of the engine.

Sources (IREN Limited, formerly Iris Energy, NASDAQ: IREN — monthly investor updates)
------------------------------------------------------------------------------------
[A] "Iris Energy Announces Monthly Investor Update for December 2023", GlobeNewswire,
    Sydney, 2024-01-05,
    https://markets.businessinsider.com/news/stocks/iris-energy-announces-monthly-investor-update-for-december-2023-1032945689
    — "Expansion from 5.6 EH/s to 10 EH/s: Delivered progressively from January 2024;
    Improves overall fleet efficiency from 29.5 J/TH to 24.8 J/TH".
[B] Iris Energy Limited, "March 2024 Monthly Investor Update", Form 6-K Exhibit 99.1
    (SEC accession 0001140361-24-017811, April 2024),
    https://www.sec.gov/Archives/edgar/data/1878848/000114036124017811/ef20026073_ex99-1.htm
    — column Jan-24: "Average operating hashrate (PH/s) 5,642 | Renewable energy usage
    (MW) 163 | Bitcoin mined 341 | Mining revenue (US$'000) 14,466 | Electricity costs
    (US$'000) 6,376 | Revenue per Bitcoin (US$) 42,436 | Electricity cost per Bitcoin
    (US$) 18,705".
[C] "August 2024 Monthly Investor Update", IREN, GlobeNewswire, September 2024,
    https://ih.advfn.com/stock-market/NASDAQ/iren-IREN/stock-news/94498217/august-2024-monthly-investor-update
    — "16 EH/s installed (18 J/TH) – on track for 30 EH/s; 20 EH/s in Sep 2024 (17 J/TH
    efficiency); 30 EH/s in 4Q 2024 (15 J/TH efficiency)".
[D] "September 2024 Monthly Investor Update", IREN, GlobeNewswire, October 2024,
    https://br.advfn.com/noticias/GLOBE/2024/artigo/94670330 (also
    https://stocktitan.net/news/IREN/september-2024-monthly-investor-b3pg5gidocfz.html)
    — column Sep-24: "Average operating hashrate (EH/s) 16.5 | Renewable energy usage (MW)
    290 | Bitcoin mined 347 | Mining revenue (US$m) 21.4 | Electricity costs (US$m) 8.2 |
    Revenue per Bitcoin (US$'000) 61.6 | Electricity cost per Bitcoin (US$'000) 23.6";
    highlights "21 EH/s installed (16 J/TH efficiency)"; note "Electricity costs are
    presented on a net basis and calculated as IFRS electricity charges net of realized
    gain/(loss) on financial assets (excluding one-off cost of $7.2m to close out August and
    September 2024 power hedges ...), ERS revenue ... and ERS fees ... exclude REC purchases."

Why IREN: its monthly updates give, for the same month, the operating hashrate, the
energy drawn, the net electricity bill and the electricity cost per BTC, and it states its
fleet's nameplate efficiency. The two months straddle the April 2024 halving and two
different fleets (S19j Pro at 29.5 J/TH; an S21-generation mix at ~17 J/TH).

Like with like
--------------
IREN's "electricity cost per Bitcoin" is its electricity bill divided by BTC mined
(6,376,000 / 341 = 18,698 ≈ 18,705; 8.2m / 347 ≈ 23.6k): power only, no SG&A, site opex
or depreciation, and net of demand-response and hedge results (the Sep-24 note [D]; the
Jan-24 row is the same line of the same table). The simulated side is ``power_cost_per_btc_usd`` of a fixed-price site with no
credits, whose price is IREN's *net* average price; so both are net power cost per BTC.

Model of each month (assumptions)
---------------------------------
* Power price: IREN states no fleet-wide c/kWh in these updates, so the price is its
  reported net electricity cost divided by its reported energy (MW × hours of the month):
  6,376,000 / (163 MW × 744 h) = 52.58 USD/MWh (Jan-24) and 8,200,000 / (290 MW × 720 h)
  = 39.27 USD/MWh (Sep-24); one ``fixed`` contract, no curtailment.
* Fleet: the reported average operating hashrate at the reported nameplate efficiency.
  Jan-24: a cohort of the library's ``antminer-s19j-pro`` (29.5 J/TH, IREN's stated fleet
  efficiency [A]; the T21s bought to lift it arrive "progressively from January") —
  54,250 units × 104 TH/s = 5.642 EH/s. Sep-24: a custom profile written to a
  ``hardware_dirs`` folder at 17 J/TH, the company's figure for the September fleet [C]
  (it was 18 J/TH at 16 EH/s early in the month and 16 J/TH at 21 EH/s at its end [D];
  either end moves the result by ∓6 %) — 165,000 units × 100 TH/s = 16.5 EH/s.
  The simulated energy therefore comes from hashrate × efficiency, not from IREN's MW.
* Cooling / facility overhead: 3 % of IT power (assumption: air-cooled halls whose fans are
  inside the miners; transformers, ventilation and lighting on top).
* Uptime: 100 % of the reported *operating* hashrate — the figure is already an average
  over what ran — so failures are off and nothing is curtailed.
* Pool: FPPS with fee 0. IREN's "average operating hashrate" reproduces its BTC mined
  under FPPS at fee 0 within 1 % in every month Jan–Sep 2024 (checked against Coin Metrics
  difficulty and fees), i.e. it is the hashrate the pool credits, net of any fee; charging
  a fee on top would count it twice.
* Network: ``blocks: expected``; tip height from Coin Metrics daily block counts pinned so
  that the first day paying the 3.125 BTC subsidy starts at block 840,000; difficulty and
  first-block time of the epoch in progress from the bitcoinj checkpoints (packaged,
  ``simulator/data/chain``); network hashrate ``csv`` = Coin Metrics' daily estimate;
  later retargets are the engine's own (Bitcoin Core's rule).
* Market: fees ``csv`` = Coin Metrics daily fees ÷ blocks (BTC per block); BTC price
  ``csv`` = Coin Metrics daily close (it does not enter power cost per BTC). Data: Coin
  Metrics Community Data, CC BY-NC 4.0, packaged in ``simulator/data/coinmetrics``.

Results when this test was written (simulated vs reported)
---------------------------------------------------------
    month    power cost per BTC [USD]     energy [MW]             BTC mined
    Jan-24   19,714 vs 18,705 (+5.4 %)    171.4 vs 163 (+5.2 %)   340.2 vs 341 (-0.3 %)
    Sep-24   23,453 vs 23,600 (-0.6 %)    288.9 vs 290 (-0.4 %)   348.3 vs 347 (+0.4 %)

The Jan-24 gap is the energy, not the model: IREN metered 163 MW for 5.642 EH/s, i.e.
28.9 J/TH at the facility, below the S19j Pro nameplate 29.5 J/TH it quotes before any
overhead; nameplate × 1.03 overhead is 5 % above the meter. Production agrees within
0.5 % in both months, and the simulated difficulty stays within 0.3 % of the real chain.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import simulator
from simulator import chain
from simulator.hardware import get_profile
from simulator.market.history import load_history

REPO = Path(__file__).resolve().parents[1]
BITCOINJ_CSV = REPO / "simulator" / "data" / "chain" / "difficulty_epochs_bitcoinj.csv"

TOLERANCE = 0.10  # the 10 %, for power cost per BTC (not independent: see the module docstring)
BTC_TOLERANCE = 0.01  # BTC mined, the independent check (observed −0.25 % / +0.38 %)
ENERGY_TOLERANCE = 0.06  # energy against the meter (observed +5.2 % / −0.4 %)
COOLING_OVERHEAD = 0.03  # assumption, see the module docstring
POOL_FEE = 0.0  # the reported hashrate is the pool-credited one, see the module docstring


@dataclass(frozen=True)
class Anchor:
    """One month as the miner reported it (quoted in the module docstring)."""

    name: str
    start: dt.date
    days: int
    hashrate_ehs: float  # average operating hashrate
    energy_mw: float  # average energy drawn
    net_electricity_usd: float  # the month's net electricity bill
    btc_mined: float
    reported_usd_per_btc: float  # "Electricity cost per Bitcoin"
    efficiency_jth: float  # nameplate fleet efficiency stated by the miner
    model: str  # library model, or the id of the custom profile below
    unit_ths: float
    custom_profile: bool = False

    @property
    def units(self) -> int:
        return int(round(self.hashrate_ehs * 1e6 / self.unit_ths))

    @property
    def price_usd_per_mwh(self) -> float:
        """The net price paid: reported net electricity cost ÷ reported energy."""
        return self.net_electricity_usd / (self.energy_mw * 24 * self.days)


ANCHORS = [
    Anchor(name="IREN Jan-2024", start=dt.date(2024, 1, 1), days=31, hashrate_ehs=5.642, energy_mw=163.0,
           net_electricity_usd=6_376_000.0, btc_mined=341.0, reported_usd_per_btc=18_705.0,
           efficiency_jth=29.5, model="antminer-s19j-pro", unit_ths=104.0),
    Anchor(name="IREN Sep-2024", start=dt.date(2024, 9, 1), days=30, hashrate_ehs=16.5, energy_mw=290.0,
           net_electricity_usd=8_200_000.0, btc_mined=347.0, reported_usd_per_btc=23_600.0,
           efficiency_jth=17.0, model="iren-fleet-2024-09", unit_ths=100.0, custom_profile=True),
]


# --------------------------------------------------------------------------- the month's network
def tip_heights(history: pd.DataFrame) -> pd.Series:
    """Height of the tip at the end of each day: Coin Metrics block counts, cumulated and
    pinned so that the first day paying the fourth halving's subsidy starts at its height."""
    blocks = history["blocks"]
    per_block = history["subsidy_btc"] / blocks
    first_day = per_block.index[(per_block.round(6) == 3.125).to_numpy()][0]
    cumulative = blocks.cumsum()
    before = cumulative.loc[:first_day - pd.Timedelta(days=1)].iloc[-1]
    return cumulative + (chain.halving_height(4) - 1 - before)


def network_at(start: dt.date, history: pd.DataFrame) -> dict:
    """Tip, difficulty and epoch start time at 00:00 UTC of ``start``."""
    tip = int(tip_heights(history).loc[pd.Timestamp(start) - pd.Timedelta(days=1)])
    epoch_first = tip - tip % chain.RETARGET_INTERVAL
    epochs = pd.read_csv(BITCOINJ_CSV).set_index("height")
    row = epochs.loc[epoch_first]
    # the bitcoinj header time of the epoch's first block must precede the start
    assert row.timestamp_unix <= dt.datetime.combine(start, dt.time(), dt.timezone.utc).timestamp()
    return {"initial_height": tip, "initial_difficulty": float(row.difficulty),
            "epoch_start_time": str(row.timestamp_utc), "blocks": "expected"}


def write_series(path: Path, column: str, values: pd.Series) -> str:
    frame = pd.DataFrame({"date": values.index.strftime("%Y-%m-%d"), column: values.to_numpy()})
    frame.to_csv(path, index=False, float_format="%.10g")
    return path.name


def scenario_file(anchor: Anchor, folder: Path) -> Path:
    """Write the anchor's scenario (and its data files) to ``folder``; return the YAML path."""
    history = load_history()
    end = pd.Timestamp(anchor.start) + pd.Timedelta(days=anchor.days - 1)
    month = history.loc[pd.Timestamp(anchor.start):end]
    assert len(month) == anchor.days
    hashrate = write_series(folder / "network_hashrate.csv", "hashrate_ehs", month["hashrate_ths"] / 1e6)
    fees = write_series(folder / "fees.csv", "fees_btc_per_block", month["fees_btc"] / month["blocks"])
    price = write_series(folder / "btc_price.csv", "price_usd", month["price_usd"])
    doc = {
        "name": f"published anchor: {anchor.name}",
        "start": anchor.start.isoformat(), "horizon_days": anchor.days, "paths": 1, "seed": 1,
        "market": {"btc_price": {"model": "csv", "file": price}, "fees": {"model": "csv", "file": fees}},
        "network": {**network_at(anchor.start, history), "hashrate": {"model": "csv", "file": hashrate}},
        "pool": {"payout": "fpps", "fee": POOL_FEE},
        "sites": [{"name": "fleet", "capacity_mw": 2 * anchor.energy_mw, "cooling_overhead": COOLING_OVERHEAD,
                   "power": {"contract": "fixed", "price_usd_per_mwh": round(anchor.price_usd_per_mwh, 4)},
                   "curtailment": {"policy": "none"}}],
        "fleet": [{"id": "reported-fleet", "model": anchor.model, "units": anchor.units, "site": "fleet",
                   "deployed": (anchor.start - dt.timedelta(days=30)).isoformat()}],
        "failures": {"enabled": False},
    }
    if not anchor.custom_profile:  # the library model is the efficiency the miner stated
        profile = get_profile(anchor.model)
        assert profile.hashrate_ths == anchor.unit_ths
        assert profile.power_w / profile.hashrate_ths == pytest.approx(anchor.efficiency_jth, rel=0.01)
    if anchor.custom_profile:
        profiles = folder / "profiles"
        profiles.mkdir()
        (profiles / f"{anchor.model}.yaml").write_text(yaml.safe_dump({
            "id": anchor.model, "vendor": "IREN (fleet average)", "name": f"{anchor.name} fleet",
            "hashrate_ths": anchor.unit_ths, "power_w": anchor.unit_ths * anchor.efficiency_jth,
            "efficiency_jth": anchor.efficiency_jth, "cooling": "air", "release": "2024",
            "source": {
                "efficiency_jth": "IREN August 2024 Monthly Investor Update: '20 EH/s in Sep 2024 (17 J/TH efficiency)'",
                "hashrate_ths": "a unit of 100 TH/s of the fleet average (test construction)",
                "power_w": "100 TH/s x 17 J/TH (the efficiency above)",
                "cooling": "assumption: IREN's halls are air-cooled",
                "release": "the S21/T21-generation fleet IREN ran in 2024",
            },
        }, sort_keys=False))
        doc["hardware_dirs"] = ["profiles"]
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Each anchor run once through the real engine: ``{name: (anchor, metrics of path 0)}``."""
    out = {}
    for anchor in ANCHORS:
        folder = tmp_path_factory.mktemp(anchor.name.replace(" ", "_"))
        res = simulator.run(scenario_file(anchor, folder))
        out[anchor.name] = (anchor, {k: float(v[0]) for k, v in res.path_metrics.items()}, res)
    return out


def _rel(simulated_value: float, reported: float) -> float:
    return simulated_value / reported - 1


# --------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", [a.name for a in ANCHORS])
def test_power_cost_per_btc_restates_the_published_figure(simulated, name):
    """Not a validation: the price is the report's bill ÷ its energy (see the module docstring).
    The like-for-like ratio is within 10 % because energy and BTC are (the tests below)."""
    anchor, m, _ = simulated[name]
    cost = m["power_cost_per_btc_usd"]
    assert np.isfinite(cost)
    assert abs(_rel(cost, anchor.reported_usd_per_btc)) <= TOLERANCE, (
        f"{name}: simulated power cost per BTC {cost:,.0f} USD vs reported {anchor.reported_usd_per_btc:,.0f} USD "
        f"({_rel(cost, anchor.reported_usd_per_btc):+.1%})")


@pytest.mark.parametrize("name", [a.name for a in ANCHORS])
def test_btc_mined_and_energy_match_the_report(simulated, name):
    """The validation: BTC from the engine's network (difficulty, retargets, subsidy, fees)
    against the BTC IREN mined, within 1 %; and energy from hashrate × nameplate efficiency ×
    (1 + overhead) against the MW IREN metered, within 6 %. Neither reads the figure it is
    compared with."""
    anchor, m, res = simulated[name]
    energy_mw = m["power_cost_usd"] / anchor.price_usd_per_mwh / (24 * anchor.days)
    assert abs(_rel(energy_mw, anchor.energy_mw)) <= ENERGY_TOLERANCE, (
        f"{name}: simulated energy {energy_mw:.1f} MW vs reported {anchor.energy_mw:.0f} MW")
    assert abs(_rel(m["btc_mined"], anchor.btc_mined)) <= BTC_TOLERANCE, (
        f"{name}: simulated {m['btc_mined']:.1f} BTC vs reported {anchor.btc_mined:.0f} BTC")
    # the fleet ran as reported: its hashrate over the whole month, no curtailment
    assert res.daily.fleet_hashrate_ehs.to_numpy() == pytest.approx(anchor.hashrate_ehs, rel=1e-9)
    assert m["curtailed_mwh"] == 0.0


def test_the_network_inputs_reproduce_the_real_chain(simulated):
    """The month's simulated difficulty path stays within 1 % of the real one (bitcoinj
    checkpoints), so production is compared under the network the miner actually faced."""
    history = load_history()
    heights = tip_heights(history)
    epochs = pd.read_csv(BITCOINJ_CSV)
    for anchor, _, res in simulated.values():
        dates = pd.to_datetime(res.daily.date)
        real_tip = heights.reindex(dates).to_numpy()
        index = np.searchsorted(epochs.height.to_numpy(), real_tip + 1, side="right") - 1
        real = epochs.difficulty.to_numpy()[index]  # difficulty of the next block at day end
        assert np.all(np.abs(res.daily.difficulty.to_numpy() / real - 1) < 0.01), anchor.name
