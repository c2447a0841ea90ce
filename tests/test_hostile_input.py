"""Hostile scenario files: whatever is fed in, `validate` exits 2 with `file:line:col:` lines
and no traceback, or accepts the file. Mutations of the contract example by hypothesis."""
from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from simulator.cli import main

from conftest import CONTRACT

TEXT = CONTRACT.read_text()
LINES = TEXT.splitlines()
KEYS = sorted({m.group(1) for m in re.finditer(r"([a-z_]+):", TEXT)})
JUNK = st.one_of(
    st.text(min_size=0, max_size=30),
    st.sampled_from(["-1", "0", "1.5", "1e400", "-.inf", ".nan", "yes", "~", "[]", "{}", "2026-02-30",
                     "'2026-01-01'", "!!python/object/apply:os.system ['echo']", "*alias", "&a [1]",
                     "99999999999999999999999999", "\t", "\x00", "é✓", "{model: gbx}", "[1, [2, [3]]]"]),
)


def _mutations():
    line = st.integers(0, len(LINES) - 1)
    return st.one_of(
        st.tuples(st.just("replace_value"), line, JUNK),
        st.tuples(st.just("delete_line"), line, st.just("")),
        st.tuples(st.just("rename_key"), line, st.sampled_from(KEYS + ["bogus", "Name", "paths2"])),
        st.tuples(st.just("insert_line"), line, JUNK),
        st.tuples(st.just("truncate"), st.integers(0, len(TEXT)), st.just("")),
        st.tuples(st.just("binary"), st.integers(0, len(TEXT)), st.binary(min_size=1, max_size=20)),
    )


def mutate(kind, where, payload) -> bytes:
    lines = list(LINES)
    if kind == "replace_value" and ":" in lines[where]:
        head = lines[where].rsplit(":", 1)[0]
        lines[where] = f"{head}: {payload}"
    elif kind == "delete_line":
        del lines[where]
    elif kind == "rename_key":
        lines[where] = re.sub(r"[a-z_]+:", f"{payload}:", lines[where], count=1)
    elif kind == "insert_line":
        lines.insert(where, str(payload))
    elif kind == "truncate":
        return TEXT[:where].encode()
    elif kind == "binary":
        data = TEXT.encode()
        return data[:where] + payload + data[where:]
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")


def check(runner, path):
    result = runner.invoke(main, ["validate", str(path)])
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert lines and all(re.match(rf"{re.escape(str(path))}:\d+:\d+: \S", ln) for ln in lines), result.stderr
    return result.exit_code


def fuzz_once(mutation, runner, tmp_path):
    path = tmp_path / "s.yaml"
    try:
        path.write_bytes(mutate(*mutation))
    except UnicodeEncodeError:
        return
    check(runner, path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations())
def test_mutated_contract_example_fails_cleanly(mutation, runner, tmp_path):
    fuzz_once(mutation, runner, tmp_path)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations())
def test_mutated_contract_example_fails_cleanly_full(mutation, runner, tmp_path):
    fuzz_once(mutation, runner, tmp_path)


@pytest.mark.parametrize("text", [
    "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
                                               for p, c in zip("abcdefgh", "bcdefghi")),  # billion laughs
    "[" * 10000,
    "name: " + "x" * 100000 + "\n",
    yaml.safe_dump({"name": "x", "nested": {"a" * 10: {"b": {"c": {"d": 1}}}}}),
    "- just\n- a\n- list\n",
    "%YAML 1.1\n---\nname: x\n",
    "name: x\n---\nname: y\n",
])
def test_pathological_documents(text, runner, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert check(runner, path) == 2


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.one_of(st.sampled_from(["paths", "fleet[0].units", "fleet[5].units", "sites[0].power.contract",
                                      "market.btc_price", "network.hashrate.model", "a..b", "[0]", "pool.fee",
                                      "sites[0].curtailment", "events[0].date", "company.debt[1].kind"]),
                     st.text(max_size=15)),
       value=JUNK)
def test_overrides_fail_cleanly(key, value, runner):
    result = runner.invoke(main, ["validate", str(CONTRACT), "--set", f"{key}={value}"])
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 2:
        for line in result.stderr.strip().splitlines():
            assert re.match(r"(--set .*|.*\.yaml):\d+:\d+: \S", line, re.S), line


@pytest.mark.parametrize("override,key,hint", [
    # the network in H/s typed into a field in EH/s (6e20 H/s is ~600 EH/s): 1e19 blocks a day
    ("network.hashrate={model: constant, initial_ehs: 6e20}", "network.hashrate.initial_ehs", "in EH/s"),
    # in PH/s (1,000 times too large): 144,000 blocks a day
    ("network.hashrate={model: constant, initial_ehs: 1073700}", "network.hashrate.initial_ehs", "at most 14,400"),
    ("events[0]={date: 2026-03-01, kind: hashrate_shock, change_pct: 1e25}", "events[0].change_pct", "<= 1000"),
])
def test_an_absurd_network_hashrate_is_bad_input_not_a_failed_run(override, key, hint, runner, tmp_path):
    """A hashrate that would mine 1,000 or 10¹⁸ times Bitcoin's blocks a day is refused by ``validate`` and
    ``run`` alike: exit 2 and a file:line:col line naming the key, before anything is simulated or
    written (the run would otherwise go on with absurd numbers, or stop with 'simulation failed')."""
    for args in (["validate", str(CONTRACT)], ["run", str(CONTRACT), "--paths", "2", "--out", str(tmp_path / "o")]):
        result = runner.invoke(main, [*args, "--set", override])
        assert result.exit_code == 2, (result.exit_code, result.stderr)
        assert re.match(rf"--set .*:\d+:\d+: {re.escape(key)}: .*{re.escape(hint)}", result.stderr.strip()), result.stderr
    assert not (tmp_path / "o").exists()


def test_a_csv_network_hashrate_in_the_wrong_unit_is_bad_input(runner, tmp_path):
    """A csv hashrate in TH/s (7e8 for ~700 EH/s) is refused before the run, at the file, exit 2: it would
    mine ~10⁸ blocks a day at the start's difficulty (a run would go on with an infinite difficulty)."""
    import datetime as dt

    csv = tmp_path / "network_ths.csv"
    csv.write_text("date,hashrate_ehs\n" + "".join(f"{dt.date(2026, 1, 1) + dt.timedelta(days=i)},7e8\n"
                                                    for i in range(800)))
    out = tmp_path / "o"
    result = runner.invoke(main, ["run", str(CONTRACT), "--paths", "2", "--out", str(out),
                                  "--set", f"network.hashrate={{model: csv, file: {csv}}}"])
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert re.match(rf"{re.escape(str(csv))}:1:1: hashrate_ehs on 2026-01-01: 7e\+08 EH/s .*in EH/s", result.stderr.strip())
    assert not out.exists()
