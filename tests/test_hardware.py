"""Tests of simulator.hardware: the profile library, its loader and the behaviour models.

Pinned numbers come from ../shared/reference/asic_notes.md (the S19j Pro underclock
table in section (a), the S21 thermal behaviour in (c)) and from DESIGN.md "Economics".
"""
from __future__ import annotations

import datetime as dt
import doctest
import json
import re
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import simulator.hardware as hardware
from simulator.errors import InputError
from simulator.hardware import (
    PROVENANCE_FIELDS,
    HardwareProfile,
    ProfileError,
    UnknownModelError,
    breakeven_hashprice_usd_per_ph_day,
    breakeven_power_usd_per_mwh,
    class_default_values,
    daily_failure_probability,
    get_profile,
    load_library,
    load_profile,
    temperature_derate_fraction,
    tuned_power_w,
)

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def library():
    return load_library()


def profile_yaml(model_id="test-miner", **overrides) -> str:
    """A minimal valid user profile (class defaults filled by the loader)."""
    fields = {
        "id": model_id,
        "vendor": '"Test"',
        "name": f'"{model_id}"',
        "hashrate_ths": "200",
        "power_w": "3500",
        "efficiency_jth": "17.5",
        "cooling": "air",
        "release": '"2024-Q2"',
    }
    fields.update(overrides)
    return "".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# The packaged library
# --------------------------------------------------------------------------------------
def test_library_size_and_coverage(library):
    assert len(library) >= 45
    with_release = [p for p in library.values() if p.release is not None]
    assert len(with_release) >= 40
    vendors = {p.vendor for p in library.values()}
    assert {"Bitmain", "MicroBT", "Canaan", "Bitdeer", "Auradine"} <= vendors
    assert {p.cooling for p in library.values()} == {"air", "hydro", "immersion"}


def test_required_ids_exist(library):
    for model_id in ("antminer-s19-xp", "antminer-s21-pro", "antminer-s21-xp"):
        assert library[model_id].id == model_id
    # the figures the contract example relies on (asic_specs.csv)
    assert (library["antminer-s19-xp"].hashrate_ths, library["antminer-s19-xp"].power_w) == (140, 3010)
    assert library["antminer-s21-pro"].efficiency_jth == 15
    assert library["antminer-s21-xp"].efficiency_jth == 13.5


def test_mapping_is_sorted_read_only_and_cached(library):
    assert list(library) == sorted(library)
    with pytest.raises(TypeError):
        library["x"] = library["antminer-s21"]  # type: ignore[index]
    assert load_library()["antminer-s21"] is library["antminer-s21"]


def test_efficiency_matches_power_over_hashrate(library):
    for p in library.values():
        implied = p.power_w / p.hashrate_ths
        assert abs(p.efficiency_jth - implied) <= 0.06 * implied, p.id


def test_ids_unique_kebab_and_match_names(library):
    ids = [p.id for p in library.values()]
    assert len(ids) == len(set(ids))
    for p in library.values():
        assert KEBAB.match(p.id), p.id
        expected = re.sub(r"[^a-z0-9]+", "-", p.name.lower().replace("+", " plus ")).strip("-")
        assert p.id == expected, (p.id, p.name)


def test_provenance_complete(library):
    for p in library.values():
        present = {f for f in PROVENANCE_FIELDS if p._field_value(f) is not None}
        cited, defaults = set(p.source), set(p.class_defaults)
        assert not cited & defaults, p.id
        assert present == cited | defaults, (p.id, present ^ (cited | defaults))
        # spec figures are always model-specific, with a non-empty citation
        for field in ("hashrate_ths", "power_w", "efficiency_jth", "cooling", "release"):
            assert p.source[field].strip(), (p.id, field)
        if p.launch_price_usd_per_th is not None:
            assert "launch_price_usd_per_th" in p.source
        expected = class_default_values(p.cooling, p.inlet_limit_c)
        for field in p.class_defaults:
            assert p._field_value(field) == pytest.approx(expected[field]), (p.id, field)


def test_model_specific_figures_from_notes(library):
    s21 = library["antminer-s21"]
    assert (s21.inlet_limit_c, s21.shutdown_c) == (40, 47)
    assert "shutdown_c" in s21.source and "47" in s21.source["shutdown_c"]
    xp = library["antminer-s21-xp"]
    assert xp.inlet_limit_c == 45 and "inlet_limit_c" in xp.source
    s19xp = library["antminer-s19-xp"]
    assert s19xp.failure_rate_annual == 0.10 and "10 %" in s19xp.source["failure_rate_annual"]
    assert s19xp.launch_price_usd_per_th == pytest.approx(11250 / 140, rel=1e-3)
    assert library["antminer-s21"].launch_price_usd_per_th == 14
    # class defaults (DESIGN.md): an air machine and a liquid one without specific figures
    s19 = library["antminer-s19"]
    assert (s19.failure_rate_annual, s19.inlet_limit_c, s19.shutdown_c) == (0.05, 40, 47)
    assert (s19.tuning.min_fraction, s19.tuning.max_fraction, s19.tuning.k_under, s19.tuning.k_over) == (0.7, 1.1, 1.6, 2.0)
    hyd = library["antminer-s21-hydro"]
    assert (hyd.failure_rate_annual, hyd.inlet_limit_c, hyd.shutdown_c) == (0.03, 45, 50)
    assert {"failure_rate_annual", "inlet_limit_c", "shutdown_c"} <= set(hyd.class_defaults)


def test_release_dates(library):
    assert library["antminer-s19-xp"].release_date == dt.date(2022, 7, 1)  # "2022-Q3"
    assert library["antminer-s21-pro"].release_date == dt.date(2024, 1, 1)  # "2024"
    assert library["whatsminer-m70s"].release_date == dt.date(2025, 10, 1)  # "2025-Q4"
    p = HardwareProfile.model_validate(
        {**load_library()["antminer-s21"].model_dump(), "release": "2023-09-25"})
    assert p.release_date == dt.date(2023, 9, 25)
    for bad in ("2023-Q5", "Sept 2023", "2023-02-30"):
        with pytest.raises(ValueError):
            HardwareProfile.model_validate({**p.model_dump(), "release": bad})


# --------------------------------------------------------------------------------------
# Tuning curve
# --------------------------------------------------------------------------------------
def test_tuning_pinned_to_s19j_pro_underclock(library):
    # asic_notes.md (a), hashprophet table: S19j Pro 96T factory 96 TH / 2850 W,
    # underclock 74.5 TH / 1905 W. P = 2850 * (74.5/96)^1.6 = 1899.6 W.
    f = 74.5 / 96
    assert_allclose(tuned_power_w({"power_w": 2850.0}, f), 1905.0, rtol=0.03)
    assert_allclose(tuned_power_w({"power_w": 2850.0}, f), 2850.0 * f ** 1.6, rtol=1e-12)
    # the library's S19j Pro (104 TH bin) scales the same way
    s19jpro = library["antminer-s19j-pro"]
    assert_allclose(tuned_power_w(s19jpro, f) / s19jpro.power_w, 1905.0 / 2850.0, rtol=0.03)


def test_tuning_monotone_continuous_and_clipped(library):
    p = library["antminer-s21-xp"]
    f = np.linspace(0.5, 1.5, 1001)
    power = tuned_power_w(p, f)
    assert np.all(np.diff(power) >= 0)
    eps = 1e-9
    assert_allclose(tuned_power_w(p, [1 - eps, 1.0, 1 + eps]), p.power_w, rtol=1e-8)
    # clipped at the tuning range
    assert tuned_power_w(p, 0.2) == tuned_power_w(p, 0.7) == pytest.approx(p.power_w * 0.7 ** 1.6)
    assert tuned_power_w(p, 3.0) == tuned_power_w(p, 1.1) == pytest.approx(p.power_w * 1.1 ** 2.0)


def test_tuning_broadcasts_over_cohorts_and_paths():
    params = {"power_w": np.array([[3010.0], [3645.0]]), "k_under": np.array([[1.6], [1.5]])}
    f = np.array([0.8, 1.0, 1.05])
    out = tuned_power_w(params, f)
    assert out.shape == (2, 3)
    assert_allclose(out[1, 0], 3645.0 * 0.8 ** 1.5)
    assert_allclose(out[:, 1], [3010.0, 3645.0])
    assert isinstance(tuned_power_w({"power_w": 1.0}, 0.9), np.floating)


@settings(max_examples=200, deadline=None)
@given(
    f1=st.floats(0.0, 3.0), f2=st.floats(0.0, 3.0),
    k_under=st.floats(0.5, 4.0), k_over=st.floats(0.5, 4.0),
    lo=st.floats(0.05, 1.0), hi=st.floats(1.0, 2.5), power=st.floats(1.0, 20_000.0),
)
def test_tuned_power_monotone_property(f1, f2, k_under, k_over, lo, hi, power):
    params = {"power_w": power, "min_fraction": lo, "max_fraction": hi, "k_under": k_under, "k_over": k_over}
    a, b = sorted((f1, f2))
    pa, pb = tuned_power_w(params, a), tuned_power_w(params, b)
    assert pa <= pb * (1 + 1e-12)
    assert power * lo ** k_under * (1 - 1e-12) <= pa <= power * hi ** k_over * (1 + 1e-12)


# --------------------------------------------------------------------------------------
# Temperature derating
# --------------------------------------------------------------------------------------
def test_temperature_derate_thresholds(library):
    s21 = library["antminer-s21"]  # asic_notes.md (c): -10 % above 40 °C, shutdown at 47 °C
    t = [-10.0, 39.9, 40.0, 40.01, 46.99, 47.0, 60.0]
    assert_allclose(temperature_derate_fraction(t, s21.inlet_limit_c, s21.shutdown_c),
                    [1, 1, 1, 0.9, 0.9, 0, 0])
    assert temperature_derate_fraction(44.0, 40.0, 47.0, derate=0.25) == 0.75
    # broadcast: hours x paths against per-cohort limits
    hours = np.full((24, 3), 42.0)
    assert temperature_derate_fraction(hours, 45.0, 50.0).shape == (24, 3)
    assert np.all(temperature_derate_fraction(hours, 45.0, 50.0) == 1.0)


# --------------------------------------------------------------------------------------
# Failures and economics
# --------------------------------------------------------------------------------------
def test_daily_failure_probability_round_trip():
    r = np.array([0.0, 0.03, 0.05, 0.10, 0.25, 0.999])
    p = daily_failure_probability(r)
    assert_allclose(1 - (1 - p) ** 365, r, rtol=1e-12, atol=1e-15)
    assert_allclose(daily_failure_probability(0.05), 1 - 0.95 ** (1 / 365), rtol=1e-12)
    assert daily_failure_probability(1.0) == 1.0
    with pytest.raises(ValueError):
        daily_failure_probability(1.5)
    with pytest.raises(ValueError):
        daily_failure_probability(-0.1)


def test_breakeven_power_hand_calculation():
    # DESIGN.md "Economics": 50 USD/PH/day at 21.5 J/TH -> 50/1000 * 1e6 / (24 * 21.5)
    assert_allclose(breakeven_power_usd_per_mwh(50.0, 21.5), 96.899224806, rtol=1e-9)
    # net of a 2 % pool fee, 6 % cooling overhead and a 5 USD/MWh tax
    expected = 0.05 * 0.98 * 1e6 / (24 * 21.5 * 1.06) - 5.0
    assert_allclose(breakeven_power_usd_per_mwh(50.0, 21.5, 0.02, 0.06, 5.0), expected, rtol=1e-12)
    assert_allclose(expected, 84.586, atol=1e-3)  # 49000 / 546.96 - 5
    grid = breakeven_power_usd_per_mwh(np.array([[30.0], [45.0], [60.0]]), np.array([21.5, 13.5]))
    assert grid.shape == (3, 2)
    assert_allclose(breakeven_hashprice_usd_per_ph_day(96.899224806, 21.5), 50.0, rtol=1e-9)


# --------------------------------------------------------------------------------------
# User folders and errors
# --------------------------------------------------------------------------------------
def test_extra_dirs_override_and_add(tmp_path):
    write(tmp_path / "mine" / "acme" / "acme-x1.yaml", profile_yaml("acme-x1"))
    write(tmp_path / "mine" / "antminer-s21-xp.yaml",
          profile_yaml("antminer-s21-xp", vendor='"Bitmain"', name='"Antminer S21 XP"',
                       hashrate_ths="250", power_w="3500", efficiency_jth="14", release='"2024"'))
    lib = load_library([tmp_path / "mine"])
    assert lib["acme-x1"].vendor == "Test"
    assert lib["antminer-s21-xp"].hashrate_ths == 250
    assert list(lib) == sorted(lib)
    # class defaults were filled and recorded
    x1 = lib["acme-x1"]
    assert (x1.failure_rate_annual, x1.inlet_limit_c, x1.shutdown_c) == (0.05, 40, 47)
    assert set(x1.class_defaults) == set(hardware.DEFAULTABLE_FIELDS)
    # the packaged library is untouched
    assert load_library()["antminer-s21-xp"].hashrate_ths == 270
    assert "acme-x1" not in load_library()
    assert get_profile("acme-x1", extra_dirs=[tmp_path / "mine"]).id == "acme-x1"
    assert load_library(str(tmp_path / "mine" / "acme" / "acme-x1.yaml"))["acme-x1"].id == "acme-x1"


def test_user_profile_liquid_defaults_and_specific_limit(tmp_path):
    path = write(tmp_path / "h" / "acme-h1.yaml",
                 profile_yaml("acme-h1", cooling="hydro", inlet_limit_c="40",
                              source="{inlet_limit_c: 'data sheet'}"))
    p = load_profile(path)
    assert (p.failure_rate_annual, p.inlet_limit_c, p.shutdown_c) == (0.03, 40, 45)
    assert "inlet_limit_c" not in p.class_defaults and "shutdown_c" in p.class_defaults


def _error(tmp_path, text, name="acme-x1.yaml"):
    path = write(tmp_path / "bad" / name, text)
    with pytest.raises(ProfileError) as info:
        load_library([tmp_path / "bad"])
    err = info.value
    assert err.file == str(path) and err.path == str(path)
    assert str(err).startswith(f"{path}:{err.line}:{err.col}: ")
    assert isinstance(err, InputError) and isinstance(err, ValueError)
    return err


def test_error_bad_yaml(tmp_path):
    err = _error(tmp_path, profile_yaml("acme-x1") + "tuning: {k_under: 1.5\n")
    assert err.line >= 9 and "malformed YAML" in err.message


def test_error_unknown_key(tmp_path):
    err = _error(tmp_path, profile_yaml("acme-x1") + "hashrate: 12\n")
    assert (err.line, err.col) == (9, 1)
    assert "unknown key 'hashrate'" in err.message


def test_error_unknown_nested_key(tmp_path):
    err = _error(tmp_path, profile_yaml("acme-x1") + "tuning:\n  k_under: 1.5\n  k_ovr: 2\n")
    assert (err.line, err.col) == (11, 3) and "k_ovr" in err.message


def test_error_efficiency_mismatch(tmp_path):
    err = _error(tmp_path, profile_yaml("acme-x1", efficiency_jth="15.0"))
    assert err.line == 6 and "efficiency_jth" in err.message and "17.50" in err.message


def test_error_wrong_type(tmp_path):
    err = _error(tmp_path, profile_yaml("acme-x1", power_w='"3500"'))
    assert err.line == 5 and "power_w" in err.message
    err = _error(tmp_path, profile_yaml("acme-x1", cooling="water"))
    assert err.line == 7 and "cooling" in err.message
    err = _error(tmp_path, profile_yaml("acme-x1", hashrate_ths=".inf"))
    assert err.line == 4


def test_error_duplicate_id(tmp_path):
    write(tmp_path / "bad" / "a" / "acme-x1.yaml", profile_yaml("acme-x1"))
    path = write(tmp_path / "bad" / "b" / "acme-x1.yaml", profile_yaml("acme-x1"))
    with pytest.raises(ProfileError) as info:
        load_library([tmp_path / "bad"])
    err = info.value
    assert err.file == str(path) and err.line == 1 and "duplicate id 'acme-x1'" in err.message
    # separate sources: the later folder overrides without error
    lib = load_library([tmp_path / "bad" / "a", tmp_path / "bad" / "b"])
    assert "acme-x1" in lib


def test_error_duplicate_key_and_id_file_mismatch(tmp_path):
    err = _error(tmp_path, profile_yaml("acme-x1") + "power_w: 3400\n")
    assert err.line == 9 and "duplicate key 'power_w'" in err.message
    err = _error(tmp_path, profile_yaml("acme-x2"))
    assert err.line == 1 and "file name" in err.message


def test_error_class_default_mislabelled(tmp_path):
    err = _error(tmp_path, profile_yaml("acme-x1", failure_rate_annual="0.2",
                                        class_defaults="[failure_rate_annual]"))
    assert err.line == 9 and "class default" in err.message


def test_error_missing_folder(tmp_path):
    with pytest.raises(ProfileError) as info:
        load_library([tmp_path / "nope"])
    assert (info.value.line, info.value.col) == (1, 1)


def test_unknown_model_suggests_close_ids():
    with pytest.raises(UnknownModelError) as info:
        get_profile("antminer-s21xp")
    assert isinstance(info.value, KeyError)
    assert "antminer-s21-xp" in info.value.suggestions
    assert "did you mean" in str(info.value) and "antminer-s21-xp" in str(info.value)
    with pytest.raises(KeyError):
        get_profile("whatsminer-m6os")


def test_doctests():
    from simulator.hardware import behaviour, economics, library, profile

    results = [doctest.testmod(m, optionflags=doctest.ELLIPSIS) for m in (hardware, profile, library, behaviour, economics)]
    assert sum(r.attempted for r in results) > 10
    assert sum(r.failed for r in results) == 0


def test_profiles_read_with_the_scenario_yaml_rules(tmp_path):
    """One YAML reader (simulator.yaml12): the scenario loader's non-finite, date, alias-bomb and depth rules."""
    err = _error(tmp_path, profile_yaml("acme-x1", hashrate_ths=".nan"))
    assert (err.line, err.col) == (4, 15) and "must be finite" in err.message
    path = write(tmp_path / "ok" / "acme-x1.yaml", profile_yaml("acme-x1", release="2024-4-1"))
    assert load_library([path])["acme-x1"].release_date == dt.date(2024, 4, 1)  # as a scenario's 2024-4-1
    err = _error(tmp_path, profile_yaml("acme-x1", release="2024-02-30"))
    assert err.line == 8 and "impossible date" in err.message
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcd", "bcde"))
    err = _error(tmp_path, profile_yaml("acme-x1") + bomb)
    assert "alias bomb" in err.message
    err = _error(tmp_path, profile_yaml("acme-x1") + "tuning: " + "[" * 80 + "]" * 80 + "\n")
    assert "nesting is too deep" in err.message


def test_show_breakeven_uses_power_over_hashrate(library):
    """`hardware show` prices a machine at power_w / hashrate_ths, as the engine's cohorts do.

    StrongU STU-U8: data sheet 46 J/TH, 2100 W / 46 TH/s = 45.65 J/TH: at 50 USD/PH/day the
    breakeven is 50e3 / (24 × 45.652) = 45.63 USD/MWh, not 45.29 from the rounded figure.
    """
    from click.testing import CliRunner

    from simulator.cli import main

    p = library["strongu-stu-u8"]
    assert p.efficiency_jth == 46.0 and p.power_w / p.hashrate_ths == pytest.approx(45.652, abs=1e-3)
    out = CliRunner().invoke(main, ["hardware", "show", "strongu-stu-u8", "--hashprice-usd-per-ph-day", "50",
                                    "--format", "json"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)["breakeven"][0]
    assert row["breakeven_usd_per_mwh"] == pytest.approx(50.0 * 1e3 / (24 * 2100 / 46), rel=1e-12)
    assert row["breakeven_usd_per_mwh"] == pytest.approx(45.63, abs=0.005)


def test_hardware_list_json_keys(library):
    """The hardware package split keeps `hardware list --format json`: one row per profile, these keys."""
    from click.testing import CliRunner

    from simulator.cli import main

    out = CliRunner().invoke(main, ["hardware", "list", "--format", "json", "--sort", "id"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["id"] for r in rows] == sorted(library)
    assert all(list(r) == ["id", "vendor", "name", "hashrate_ths", "power_w", "efficiency_jth", "cooling", "release",
                           "launch_price_usd_per_th"] for r in rows)
    xp = next(r for r in rows if r["id"] == "antminer-s21-xp")
    assert (xp["hashrate_ths"], xp["power_w"], xp["efficiency_jth"], xp["cooling"]) == (270.0, 3645.0, 13.5, "air")
