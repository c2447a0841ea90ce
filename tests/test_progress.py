"""Progress on the terminal: a bar on a TTY, lines with --progress elsewhere, silent otherwise."""
from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from simulator.cli import main
from simulator.config import load_scenario
from simulator.engine import simulate
from simulator.progress import ProgressBar

from conftest import SCENARIOS

SHORT = ["run", str(SCENARIOS / "halving_crossing.yaml"), "--paths", "3", "--format", "csv"]


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_bar_redraws_in_place_and_throttles():
    out, clock = io.StringIO(), Clock()
    bar = ProgressBar("path-days", stream=out, tty=True, clock=clock)
    bar(10, 100)
    clock.t = 0.05
    bar(20, 100)  # too soon after the last draw: skipped
    clock.t = 1.0
    bar(50, 100)
    bar(100, 100)  # the end is always drawn
    bar.close()
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert len(frames) == 3 and text.endswith("\n")
    assert "[##" in frames[0] and " 10%" in frames[0] and "10/100 path-days" in frames[0]
    assert " 50%" in frames[1] and "~0:01 left" in frames[1]  # 1 s for half the work
    assert "100%" in frames[2] and "[" + "#" * 28 + "]" in frames[2] and "left" not in frames[2]


def test_engine_reports_path_days():
    calls = []
    scenario = load_scenario(str(SCENARIOS / "halving_crossing.yaml"), ["horizon_days=20"])
    simulate(scenario, paths=3, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3 * (d + 1), 60) for d in range(20)]


def test_cli_lines_when_forced_and_silence_otherwise(runner):
    forced = runner.invoke(main, SHORT + ["--progress"])
    assert forced.exit_code == 0, forced.stderr
    lines = [ln for ln in forced.stderr.splitlines() if "path-days" in ln]
    assert lines[0].startswith("hashfleet: 0% (") and lines[-1].startswith("hashfleet: 100% (")
    assert len(lines) == 11 and "\r" not in forced.stderr
    for extra in ([], ["--progress", "--quiet"]):
        quiet = runner.invoke(main, SHORT + extra)
        assert quiet.exit_code == 0 and "path-days" not in quiet.stderr and "%" not in quiet.stderr


def test_bar_on_a_real_terminal():
    """stderr a pseudo-terminal: the bar is drawn with carriage returns and ends its line; stdout stays clean."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", *SHORT], stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    stdout = proc.communicate()[0]
    os.close(leader)
    assert proc.returncode == 0
    assert b"\rsimulating [" in seen and b"100%" in seen and seen.endswith(b"\r\n")
    assert b"path-days" not in stdout and stdout.startswith(b"metric,unit,mean")


def test_sweep_draws_a_bar_of_points_on_a_terminal(tmp_path):
    """A sweep under a pseudo-terminal redraws a bar of points; --quiet draws nothing, and wins over
    --progress as in every verb (no progress lines either)."""
    import os
    import pty
    import subprocess
    import sys

    from conftest import SCENARIOS

    outputs = {}
    for flag in ([], ["--progress", "--quiet"]):
        leader, follower = pty.openpty()
        out = tmp_path / f"sweep{len(flag)}"
        proc = subprocess.run([sys.executable, "-m", "simulator.cli", "sweep", str(SCENARIOS / "halving_crossing.yaml"),
                               "--grid", "pool.fee=0,0.02", "--paths", "2", "--workers", "1", "--out", str(out),
                               "--set", "horizon_days=10", *flag],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, timeout=300)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        assert proc.returncode == 0
        outputs[bool(flag)] = b"".join(chunks).decode(errors="replace")
    assert "sweeping [" in outputs[False] and "100%  2/2 points" in outputs[False]
    assert "sweeping" not in outputs[True] and "hashfleet: point " not in outputs[True]
