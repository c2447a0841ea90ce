"""Generate hardware_profiles/<vendor>/<id>.yaml from the reference tables.

Not part of the package. Reads ../shared/reference/asic_specs.csv (beside the repository) (one row per model,
with its citation) and applies the model-specific figures of asic_notes.md listed in
OVERRIDES below (each with its citation); every other behaviour field takes its class
default and is listed in ``class_defaults``. Only rows with power and a release date are
written (the loader accepts a profile without release, but the library prefers dated ones).

    .venv/bin/python tools/gen_profiles.py [--csv PATH] [--out hardware_profiles]
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from simulator.hardware import HardwareProfile, class_default_values  # noqa: E402
from simulator.yaml12 import parse  # noqa: E402

NOTES = "asic_notes.md"

# csv model name -> (id, display name). ids are the kebab-case of the display name
# ("+" -> "plus", "Hyd" spelled "Hydro", bin/cooling parentheticals dropped unless needed).
NAMES = {
    "Antminer S9 (11.5TH)": "Antminer S9 11.5TH",
    "Antminer S9 (13.5TH)": "Antminer S9 13.5TH",
    "Antminer S17 Pro (53TH)": "Antminer S17 Pro",
    "Antminer S17 (56TH)": "Antminer S17",
    "Antminer S19j Pro (104TH)": "Antminer S19j Pro",
    "Antminer S21e XP Hyd 3U (U3S21EXPH)": "Antminer S21e XP Hydro 3U",
    "Antminer S21e Hyd": "Antminer S21e Hydro",
    "Antminer S21j XP Hyd": "Antminer S21j XP Hydro",
    "Antminer S23 Hydro 3U (U3S23H)": "Antminer S23 Hydro 3U",
    "Antminer S23 (air)": "Antminer S23",
    "AvalonMiner 1066": "Avalon 1066",
    "AvalonMiner 1166 Pro": "Avalon 1166 Pro",
    "AvalonMiner A1246": "Avalon A1246",
    "AvalonMiner A1346": "Avalon A1346",
    "AvalonMiner A1366": "Avalon A1366",
    "AvalonMiner A1466": "Avalon A1466",
    "AvalonMiner A1466I (immersion)": "Avalon A1466I",
    "Avalon A15 (200T)": "Avalon A15",
    "Avalon Q (home)": "Avalon Q",
    "SealMiner A2 Hyd": "SealMiner A2 Hydro",
    "SealMiner A2 Pro Hyd": "SealMiner A2 Pro Hydro",
    "Tardis": "Bitfury Tardis",
    "T3+ (67T)": "Innosilicon T3+",
    "STU-U8": "StrongU STU-U8",
    "T3": "Fluminer T3",
}


def display_name(model: str) -> str:
    if model in NAMES:
        return NAMES[model]
    return re.sub(r"\s*\((hydro|immersion)\)", "", model)


def kebab(name: str) -> str:
    s = name.lower().replace("+", " plus ")
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def vendor_folder(vendor: str) -> str:
    return kebab(vendor)


# Model-specific figures from asic_notes.md, by id: {field: (value, citation)}.
S21_TEMP = ("BTCWire/HackerNoon S21 review, 2024-03-11: throttles above 40 °C ambient (490 -> 440 MHz), "
            "shuts down above 47 °C, 'tolerable' 48 °C (asic_notes.md §0 and (c))")
MICROBT_MANUAL = ("github.com/auldsyababua/og-ai-inference-research data/miners/Whatsminer-Miner-Library.md "
                  "(summary of MicroBT product manual Oct 2024): operating ambient -5..35 °C (asic_notes.md §0)")
CATALOG_58 = "GitHub code file (search-index id 58112182777; catalog script, specs from ASICMinerValue)"
S17_FAILURE = ("Cointelegraph, Apr 2020, citing Samson Mow: Antminer S17/T17 failure rates 20-30 % versus a "
               "'normal' ~5 % (heat sinks falling off, PSU fans); midpoint 25 % used (asic_notes.md (b))")
OVERRIDES: dict[str, dict[str, tuple[object, str]]] = {
    "antminer-s21": {
        "inlet_limit_c": (40, S21_TEMP),
        "shutdown_c": (47, S21_TEMP),
        "launch_price_usd_per_th": (14.0, "https://theminermag.com/news/2023-10-11/bitcoin-miner-cleanspark-s21/ "
                                          "(CleanSpark 4.4 EH/s preorder, $61.6M, '$14/TH', ship Jan 2024; asic_notes.md §0)"),
    },
    "antminer-s21-plus": {
        "inlet_limit_c": (45, "https://btcminermarketplace.com/how-to-calculate-profitability-of-antminer-s21-3 "
                              "(S21+ operating temperature 0-45 °C; asic_notes.md §0)"),
    },
    "antminer-s21-xp": {
        "inlet_limit_c": (45, "https://btcminermarketplace.com/how-to-calculate-roi-for-bitcoin-miner-s21-xp "
                              "(-20..45 °C, rated at 25 °C; asic_notes.md §0)"),
    },
    "antminer-s21-plus-hydro": {
        "inlet_limit_c": (45, "https://top-crypto-mining-asics.com/?p=4692 (S21+ Hydro 10-45 °C, read as the "
                              "coolant range; asic_notes.md §0)"),
    },
    "antminer-s21e-hydro": {
        "inlet_limit_c": (45, CATALOG_58 + " (S21e Hyd 5-45 °C, read as the coolant range; asic_notes.md §0)"),
    },
    "antminer-s21e-xp-hydro-3u": {
        "inlet_limit_c": (35, "GitHub code file (search-index id 30549463882; Chinese miner DB seed - low confidence) "
                              "(S21e XP Hyd 3U 5-35 °C, read as the coolant range; asic_notes.md §0)"),
    },
    "sealminer-a2-pro-air": {
        "inlet_limit_c": (40, CATALOG_58 + " (SealMiner A2 Pro Air 5-40 °C; asic_notes.md §0)"),
    },
    "sealminer-a2-pro-hydro": {
        "inlet_limit_c": (40, CATALOG_58 + " (SealMiner A2 Pro Hyd 5-40 °C, read as the coolant range; asic_notes.md §0)"),
    },
    "whatsminer-m60s": {"inlet_limit_c": (35, MICROBT_MANUAL)},
    "whatsminer-m50s-plus-plus": {"inlet_limit_c": (35, MICROBT_MANUAL)},
    "antminer-s19-xp": {
        "failure_rate_annual": (0.10, "Compass Mining Texas-4 client Q&A, 2023-04-25: other hosts report S19 XP "
                                      "'typically around 10 % failure rates' (asic_notes.md (b))"),
        "launch_price_usd_per_th": (80.36, "https://www.sec.gov/Archives/edgar/data/1162896/000149315223019829/R10.htm "
                                           "(Dec 17 2021 Bitmain purchase agreement, reference price $11,250/unit; "
                                           "11,250 / 140 TH = 80.36 USD/TH; asic_notes.md §0 and (e))"),
    },
    "antminer-s17-pro": {"failure_rate_annual": (0.25, S17_FAILURE)},
    "antminer-s17": {"failure_rate_annual": (0.25, S17_FAILURE)},
    "antminer-t17": {"failure_rate_annual": (0.25, S17_FAILURE)},
    "antminer-s19j-pro": {
        "tuning.k_under": (1.6, "jrjr.meme 'hashprophet' S19j Pro 96T table: factory 96 TH / 2850 W, underclock "
                                "74.5 TH / 1905 W; P ∝ H^k fits k ≈ 1.6 (asic_notes.md (a))"),
    },
    "teraflux-ah3880": {
        "tuning.min_fraction": (0.5, "operator ops doc, search-index id 55617051463: AH3880 runs 300 TH 'eco' to "
                                     "600 TH 'turbo' under FluxOS (asic_notes.md §0)"),
        "tuning.max_fraction": (1.0, "operator ops doc, search-index id 55617051463: AH3880 runs 300 TH 'eco' to "
                                     "600 TH 'turbo' under FluxOS; nameplate 600 TH is the top (asic_notes.md §0)"),
    },
    "whatsminer-m56s-plus-plus": {
        "launch_price_usd_per_th": (21.4, "https://business-line.com/bitcoin-mining-firm-riot-secures-33000-new-rigs-for-162-million-decrypt "
                                          "(Riot $162.9M for 33,280 M56S+/M56S++ units, June 2023; ≈ $21.4/TH per "
                                          "asic_notes.md §0 and (e))"),
    },
    "whatsminer-m66s": {
        "launch_price_usd_per_th": (16.1, "https://quantico.investments/news/riot-platforms-buys-bitcoin-mining-rigs-btc-halving-ordinals-fees "
                                          "(Riot $290.5M for 66,560 M66S/M66/M56S++ units, 18 EH/s, Dec 2023; "
                                          "≈ $16.1/TH per asic_notes.md §0 and (e))"),
    },
}


SPEC_FIELDS = ("hashrate_ths", "power_w", "efficiency_jth", "cooling", "release")


def num(x: str) -> float | int:
    v = float(x)
    return int(v) if v.is_integer() else v


def q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def fmt(v: object) -> str:
    if isinstance(v, str):
        return q(v)
    if isinstance(v, float) and v.is_integer() and v >= 10:
        return str(int(v))
    return repr(v)


def build(row: dict) -> tuple[str, str, str] | None:
    if not row["power_w"] or not row["release"]:
        return None
    name = display_name(row["model"])
    pid = kebab(name)
    cooling = row["cooling"]
    over = OVERRIDES.get(pid, {})
    limit = over.get("inlet_limit_c", (None,))[0]
    defaults = class_default_values(cooling, limit)
    values: dict[str, object] = {}
    source: dict[str, str] = {}
    class_defaults: list[str] = []
    spec_cite = row["source"]
    for field in ("hashrate_ths", "power_w", "efficiency_jth"):
        values[field] = num(row[field])
        source[field] = spec_cite
    values["cooling"] = cooling
    source["cooling"] = spec_cite
    values["release"] = row["release"]
    source["release"] = spec_cite
    if "launch_price_usd_per_th" in over:
        values["launch_price_usd_per_th"], source["launch_price_usd_per_th"] = over["launch_price_usd_per_th"]
    elif row["launch_price_usd"]:
        raise SystemExit(f"{pid}: csv has a launch price but no USD/TH figure in OVERRIDES")
    for field in ("failure_rate_annual", "inlet_limit_c", "shutdown_c", "tuning.min_fraction",
                  "tuning.max_fraction", "tuning.k_under", "tuning.k_over"):
        if field in over:
            values[field], source[field] = over[field]
        else:
            values[field] = defaults[field]
            class_defaults.append(field)
    unused = set(over) - set(values)
    if unused:
        raise SystemExit(f"{pid}: unused overrides {unused}")

    lines = [
        f"# {name} ({row['vendor']}). Generated by tools/gen_profiles.py from asic_specs.csv and asic_notes.md.",
        f"id: {pid}",
        f"vendor: {q(row['vendor'])}",
        f"name: {q(name)}",
    ]
    for field in ("hashrate_ths", "power_w", "efficiency_jth", "cooling", "release", "launch_price_usd_per_th",
                  "failure_rate_annual", "inlet_limit_c", "shutdown_c"):
        if field in values:
            v = values[field]
            lines.append(f"{field}: {v if field == 'cooling' else fmt(v)}")
    lines.append("tuning:")
    for key in ("min_fraction", "max_fraction", "k_under", "k_over"):
        lines.append(f"  {key}: {fmt(values['tuning.' + key])}")
    lines.append("source:")
    first_spec = True
    for field, cite in source.items():
        if field in SPEC_FIELDS:  # one csv citation for all spec fields: an anchor, then aliases
            lines.append(f"  {field}: &spec {q(cite)}" if first_spec else f"  {field}: *spec")
            first_spec = False
        else:
            lines.append(f"  {field}: {q(cite)}")
    lines.append("class_defaults:")
    lines.extend(f"  - {f}" for f in class_defaults)
    text = "\n".join(lines) + "\n"
    return vendor_folder(row["vendor"]), pid, text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", default=str(REPO.parent / "shared" / "reference" / "asic_specs.csv"))
    ap.add_argument("--out", default=str(REPO / "hardware_profiles"))
    args = ap.parse_args()
    out = Path(args.out)
    written, skipped, ids = 0, [], set()
    with open(args.csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            built = build(row)
            if built is None:
                skipped.append(row["model"])
                continue
            folder, pid, text = built
            if pid in ids:
                raise SystemExit(f"duplicate id {pid}")
            ids.add(pid)
            HardwareProfile.model_validate(parse(text, f"{pid}.yaml").data)  # fail early, read as the library reads
            (out / folder).mkdir(parents=True, exist_ok=True)
            (out / folder / f"{pid}.yaml").write_text(text, encoding="utf-8")
            written += 1
    missing = set(OVERRIDES) - ids
    if missing:
        raise SystemExit(f"overrides for unknown ids: {missing}")
    print(f"wrote {written} profiles; skipped (no power or no release): {', '.join(skipped)}")


if __name__ == "__main__":
    main()
