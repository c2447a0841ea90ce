"""A plain, non-editable install finds the hardware profiles and the shipped data.

Builds the wheel (as ``pip install .`` would), unpacks it into an empty folder and loads the
library from there in a fresh interpreter that cannot see the source tree.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_ships_profiles_and_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist")], check=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("hashfleet-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    profiles = [n for n in names if n.startswith("simulator/hardware_profiles/") and n.endswith(".yaml")]
    assert len(profiles) >= 40
    assert "simulator/hardware_profiles/bitmain/antminer-s21-xp.yaml" in names
    assert {"simulator/data/asic_prices.csv", "simulator/data/asic_prices_SOURCES.md"} <= set(names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import simulator.hardware as h; "
            "assert h.__file__.startswith(sys.argv[1]), h.__file__; "
            "print(len(h.load_library()))")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(site)], check=True, capture_output=True,
                         text=True, cwd=tmp_path)
    assert int(out.stdout) == len(profiles)
    # the hourly power profiles (issue 17) ship in the data folder and load from the wheel
    assert {"simulator/data/power_profiles/ercot_hub.yaml", "simulator/data/power_profiles/ercot_west.yaml"} <= set(names)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from simulator.market.power_profiles import load_power_profile; "
            "print(load_power_profile('ercot_west').parameters['mean_usd_per_mwh'])")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(site)], check=True, capture_output=True,
                         text=True, cwd=tmp_path)
    assert float(out.stdout) > 0


def test_every_package_folder_is_listed():
    # every folder that ships (code or data) is a listed package: an unlisted one is left out of a
    # plain install or, holding data, makes the build warn that it "would be ignored"
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])

    def folders(root, prefix):
        return {".".join((prefix, *d.relative_to(root).parts)) for d in [root, *root.rglob("*")]
                if d.is_dir() and d.name != "__pycache__"}

    assert folders(REPO / "simulator", "simulator") | folders(REPO / "hardware_profiles",
                                                               "simulator.hardware_profiles") == listed
