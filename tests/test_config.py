"""Scenario files: YAML 1.2 reading, schema, includes, overrides, cross-field checks, bad input."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from simulator.config import load_scenario
from simulator.config.loader import parse_override
from simulator.config.schema import Scenario
from simulator.yaml12 import parse
from simulator.errors import InputError, InputErrors
from simulator.cli import main

from conftest import CONTRACT


def errors_of(path, overrides=()):
    with pytest.raises(InputErrors) as info:
        load_scenario(path, overrides)
    return [str(e) for e in info.value.errors]


# --------------------------------------------------------------------------- YAML 1.2
def test_yaml12_scalars():
    doc = parse("a: 1.5e14\nb: yes\nc: off\nd: true\ne: 12\nf: '12'\ng: 2026-01-01\nh: ~\ni: 0x10\n", "x.yaml")
    assert doc.data == {"a": 1.5e14, "b": "yes", "c": "off", "d": True, "e": 12, "f": "12",
                        "g": dt.date(2026, 1, 1), "h": None, "i": "0x10"}


@pytest.mark.parametrize("text", ["a: .nan\n", "a: -.inf\n", "a: .Inf\n"])
def test_yaml_nonfinite_is_error(text):
    with pytest.raises(InputError, match=r"x.yaml:1:4: .*finite"):
        parse(text, "x.yaml")


def test_yaml_positions_are_one_based():
    doc = parse("top:\n  inner: [1, 2]\n", "x.yaml")
    assert doc.pos(("top", "inner", 1)) == ("x.yaml", 2, 14)
    assert doc.pos(("top", "inner"), key=True) == ("x.yaml", 2, 3)


def test_contract_example_validates():
    scenario = load_scenario(str(CONTRACT))
    assert isinstance(scenario, Scenario)
    assert scenario.network.initial_difficulty == 1.5e14
    assert scenario.fleet[0].id == "xp-2023"
    assert scenario.company.debt[1].ltv_margin_call == 0.75
    assert scenario.provenance.sha256 and len(scenario.provenance.sha256) == 64
    with pytest.raises(Exception):
        scenario.paths = 3  # frozen


def test_strict_types(write, contract_text):
    path = write(contract_text.replace("paths: 200", 'paths: "200"'))
    (err,) = errors_of(path)
    assert re.match(rf"{re.escape(path)}:4:8: paths: expected an integer, got '200' \(a string\)", err)


def test_quoted_dates_are_dates(write, contract_text):
    scenario = load_scenario(write(contract_text.replace("start: 2026-01-01", 'start: "2026-01-01"')))
    assert scenario.start == dt.date(2026, 1, 1)


def test_unknown_model_name_lists_registry(write, contract_text):
    path = write(contract_text.replace("model: gbm", "model: gbx"))
    (err,) = errors_of(path)
    assert ":8:" in err and "unknown model 'gbx'" in err and "'gbm'" in err and "'bootstrap'" in err


def test_every_error_is_reported(write, contract_text):
    text = contract_text.replace("paths: 200", "paths: -1").replace("fee: 0.02", "fee: 2")
    errs = errors_of(write(text))
    assert len(errs) == 2
    assert any("paths: must be > 0" in e for e in errs)
    assert any("pool.fee: must be <= 1 (a fraction in [0, 1])" in e for e in errs)


# --------------------------------------------------------------------------- include
def test_include_fragments_merge_over_file(write, contract_text, tmp_path):
    (tmp_path / "frag.yaml").write_text("network:\n  hashrate: {model: growth, growth_annual: 0.5}\npaths: 10\n")
    path = write("include: [frag.yaml]\n" + contract_text)
    s = load_scenario(path)
    assert s.paths == 10 and s.network.hashrate.growth_annual == 0.5
    assert s.network.initial_height == 930000  # deep merge keeps siblings


def test_include_error_cites_fragment(write, contract_text, tmp_path):
    frag = tmp_path / "frag.yaml"
    frag.write_text("pool: {payout: fpps, fee: 1.5}\n")
    errs = errors_of(write("include: [frag.yaml]\n" + contract_text))
    assert errs == [f"{frag}:1:27: pool.fee: must be <= 1 (a fraction in [0, 1]), got 1.5"]


def test_include_cycle(write, tmp_path):
    (tmp_path / "a.yaml").write_text("include: [b.yaml]\n")
    (tmp_path / "b.yaml").write_text("include: [a.yaml]\n")
    (err,) = errors_of(str(tmp_path / "a.yaml"))
    assert "include cycle" in err and "b.yaml:1:" in err


def test_include_does_not_change_hash_of_equal_documents(write, contract_text, tmp_path):
    (tmp_path / "frag.yaml").write_text("seed: 7\n")
    a = load_scenario(write(contract_text, "a.yaml"))
    b = load_scenario(write("include: [frag.yaml]\n" + contract_text, "b.yaml"))
    assert a.provenance.sha256 == b.provenance.sha256


# --------------------------------------------------------------------------- overrides
def test_parse_override():
    assert parse_override("fleet[0].units=5000") == (("fleet", 0, "units"), 5000, 16)
    assert parse_override("network.initial_difficulty=1.5e14")[1] == 1.5e14


def test_overrides_apply_and_validate():
    s = load_scenario(str(CONTRACT), ["fleet[0].units=5000", "market.btc_price.vol_annual=0.8",
                                      "sites[0].curtailment.policy=none", "network.blocks=expected"])
    assert s.fleet[0].units == 5000 and s.market.btc_price.vol_annual == 0.8
    assert s.provenance.overrides == ("fleet[0].units=5000", "market.btc_price.vol_annual=0.8",
                                      "sites[0].curtailment.policy=none", "network.blocks=expected")
    assert s.provenance.sha256 == load_scenario(str(CONTRACT)).provenance.sha256


def test_override_may_add_a_key_the_schema_allows():
    s = load_scenario(str(CONTRACT), ["network.hashrate.initial_ehs=900"])
    assert s.network.hashrate.initial_ehs == 900


@pytest.mark.parametrize("text, expected", [
    ("fleet[0].units=abc", "--set fleet[0].units=abc:1:16: fleet[0].units: expected an integer"),
    ("fleet[9].units=1", "--set fleet[9].units=1:1:1: fleet[9]: no item 9"),
    ("pool.fe=0.1", "--set pool.fe=0.1:1:1: pool.fe: unknown key 'fe'; did you mean 'fee'?"),
    ("nonsense", "--set nonsense:1:1: expected KEY=VALUE"),
])
def test_bad_overrides(text, expected):
    (err,) = errors_of(str(CONTRACT), [text])
    assert err.startswith(expected), err


# --------------------------------------------------------------------------- bad input via CLI
def _bad(contract_text, old, new):
    assert old in contract_text, old
    return contract_text.replace(old, new, 1)


BAD_CASES = {
    "malformed": (lambda t: t.replace("pool: {payout: fpps, fee: 0.02}", "pool: {payout: fpps, fee: 0.02"),
                  r":\d+:\d+: malformed YAML"),
    "tab": (lambda t: t.replace("  - name: texas-1", "\t- name: texas-1"), r":\d+:\d+: malformed YAML: a tab"),
    "duplicate key": (lambda t: t.replace("seed: 7", "seed: 7\nseed: 8"), r":6:1: duplicate key 'seed'"),
    "unknown key": (lambda t: t.replace("capacity_mw: 160", "capacity_mv: 160"),
                    r":\d+:5: sites\[0\]\.capacity_mv: unknown key 'capacity_mv'; did you mean 'capacity_mw'\?"),
    "wrong type": (lambda t: t.replace("horizon_days: 730", "horizon_days: two years"),
                   r":3:15: horizon_days: expected an integer, got 'two years'"),
    "impossible date": (lambda t: t.replace("start: 2026-01-01", "start: 2026-13-01"),
                        r":2:8: impossible date '2026-13-01'"),
    "unknown model": (lambda t: t.replace("model: antminer-s19-xp", "model: antminer-s19-xq"),
                      r":\d+:\d+: fleet\[0\]\.model: unknown hardware model 'antminer-s19-xq'; did you mean .*antminer-s19-xp"),
    "negative capacity": (lambda t: t.replace("capacity_mw: 160", "capacity_mw: -160"),
                          r":\d+:18: sites\[0\]\.capacity_mw: must be > 0, got -160"),
    "zero capacity": (lambda t: t.replace("capacity_mw: 100", "capacity_mw: 0"),
                      r":\d+:18: sites\[1\]\.capacity_mw: must be > 0, got 0"),
    "fraction 1.5": (lambda t: t.replace("sell_fraction: 0.5", "sell_fraction: 1.5"),
                     r":\d+:\d+: company\.treasury_policy\.sell_fraction: must be <= 1 \(a fraction in \[0, 1\]\), got 1.5"),
    "dates out of order": (lambda t: t.replace("deployed: 2023-03-01}", "deployed: 2023-03-01, retired: 2022-01-01}"),
                           r":\d+:\d+: fleet\[0\]\.retired: retired 2022-01-01 is not after 2023-03-01"),
    "delivery outside horizon": (lambda t: t.replace("delivery: 2026-06-01", "delivery: 2029-06-01"),
                                 r":\d+:\d+: purchases\[0\]\.delivery: 2029-06-01 is outside the horizon"),
    "fleet larger than site": (lambda t: t.replace("units: 20000, site: ercot-hub", "units: 40000, site: ercot-hub"),
                               r":\d+:\d+: fleet\[1\]: site 'ercot-hub' would draw .* capacity is 100 MW then"),
    "ltv order": (lambda t: t.replace("ltv_margin_call: 0.75", "ltv_margin_call: 0.95"),
                  r":\d+:\d+: company\.debt\[1\]: LTVs out of order"),
    "matured convertible": (lambda t: t.replace("maturity: 2030-03-01", "maturity: 2025-03-01"),
                            r":\d+:\d+: company\.debt\[0\]\.maturity: maturity 2025-03-01 is not after the start"),
    "swap on a fixed site": (lambda t: t.replace("  equity: {", "  hedges: [{kind: power_swap, site: texas-1, mw: 5, "
                                                 "fixed_usd_per_mwh: 40}]\n  equity: {"),
                             r":\d+:\d+: company\.hedges\[0\]\.site: site 'texas-1' buys power at a fixed price"),
    "swap on an unknown site": (lambda t: t.replace("  equity: {", "  hedges: [{kind: power_swap, site: ercot, mw: 5, "
                                                    "fixed_usd_per_mwh: 40}]\n  equity: {"),
                                r":\d+:\d+: company\.hedges\[0\]\.site: unknown site 'ercot'; did you mean 'ercot-hub'"),
    "unknown site": (lambda t: t.replace("site: ercot-hub, deployed", "site: ercot-hb, deployed"),
                     r":\d+:\d+: fleet\[1\]\.site: unknown site 'ercot-hb'; did you mean 'ercot-hub'\?"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_cli(case, contract_text, write, runner, tmp_path):
    mutate, pattern = BAD_CASES[case]
    text = mutate(contract_text)
    assert text != contract_text
    path = write(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(main, ["validate", path])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith(f"{path}:") for line in lines), result.stderr
    assert any(re.search(pattern, line) for line in lines), (pattern, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output files


def test_missing_empty_directory_and_huge_files(runner, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    huge = tmp_path / "huge.yaml"
    with open(huge, "w") as fh:
        fh.write("name: x\n" + "#" * (50 * 1024 * 1024) + "\n")
    cases = {str(tmp_path / "nope.yaml"): "no such file", str(empty): "empty file",
             str(tmp_path): "is a directory", str(huge): "limited to 5 MB"}
    for path, needle in cases.items():
        result = runner.invoke(main, ["validate", path])
        assert result.exit_code == 2
        assert result.stderr.strip() == result.stderr.strip().splitlines()[0]
        assert result.stderr.startswith(f"{path}:1:1: ") and needle in result.stderr, result.stderr


def test_binary_junk(runner, tmp_path):
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"name: x\n\xff\xfe\x00\x01")
    result = runner.invoke(main, ["validate", str(junk)])
    assert result.exit_code == 2 and result.stderr.startswith(f"{junk}:2:1: not UTF-8")


def test_debug_shows_traceback(runner, write, contract_text):
    path = write(contract_text.replace("paths: 200", "paths: -1"))
    result = runner.invoke(main, ["--debug", "validate", path])
    assert result.exit_code != 0 and result.exception is not None


def test_validate_ok_digest(runner):
    result = runner.invoke(main, ["validate", str(CONTRACT)])
    assert result.exit_code == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith(f"{CONTRACT}: OK")
    assert "200 paths × 730 days" in line and "network 1073.7 EH/s" in line
    assert "texas-1 peak" in line and "/160 MW" in line


def test_validate_several_files(runner, write, contract_text):
    bad = write(contract_text.replace("seed: 7", "seed: -7"))
    result = runner.invoke(main, ["validate", str(CONTRACT), bad])
    assert result.exit_code == 2
    assert ": OK" in result.stdout and f"{bad}:5:7: seed: must be >= 0" in result.stderr


def test_schema_is_json_with_docs(runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    props = schema["properties"]
    assert {"name", "start", "market", "network", "sites", "fleet", "company"} <= set(props)
    assert "Monte Carlo" in props["paths"]["description"]
    assert schema["additionalProperties"] is False


def test_scenario_hardware_dirs_add_models(write, contract_text, tmp_path):
    own = tmp_path / "profiles"
    own.mkdir()
    (own / "acme-x1.yaml").write_text(
        "id: acme-x1\nvendor: Acme\nname: Acme X1\nhashrate_ths: 200\npower_w: 3000\nefficiency_jth: 15\n"
        "cooling: air\nrelease: '2025'\nsource: {hashrate_ths: own test, power_w: own test, efficiency_jth: own test}\n")
    text = contract_text.replace("model: antminer-s19-xp", "model: acme-x1")
    errs = errors_of(write(text, "a.yaml"))
    assert any("unknown hardware model 'acme-x1'" in e for e in errs)
    scenario = load_scenario(write("hardware_dirs: [profiles]\n" + text, "b.yaml"))
    assert scenario.fleet[0].model == "acme-x1"
