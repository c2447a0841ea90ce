"""Workflows before and after (issue 19): ``upgrade --rank`` and ``compare`` at a commit and now.

Run from the repository root::

    .venv/bin/python benchmarks/bench_workflows.py [--before c3b7aca] [--rank-paths 200] [--compare-paths 500]

Times, as subprocesses from launch to exit, on the current code and on the commit ``--before``
(checked out with ``git worktree add --detach`` into a temporary folder and run with
``PYTHONPATH`` set to it and this interpreter, so both use the same Python and libraries):

* ``hashfleet upgrade contract_example.yaml --replace xp-2023 --rank --paths N`` (every library
  model in place of the example's S19 XP cohort; ``--replace`` is required);
* ``hashfleet compare companies/*.yaml --paths N``.

Both sides read the SAME scenario files: those of the ``--before`` commit (at c3b7aca the
``companies`` folder held six presets; the current presets may need keys c3b7aca does not
know). Each command runs once per side, the ``--before`` side first; the figures are one JSON
line with the wall times and the ratios before / now.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

import figures

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The commit the issue's "at least 3 times faster" is measured against.
BEFORE = "c3b7aca"
#: How the ``--before`` side starts the CLI of the checked-out tree.
_CLI = ("import os, sys, simulator; sys.argv[0] = 'hashfleet'; "
        "assert os.path.realpath(simulator.__file__).startswith(os.path.realpath(os.environ['PYTHONPATH'])), "
        "simulator.__file__; from simulator.cli import main; main()")


def _time(cmd: list[str], env: dict | None = None, cwd: str = REPO) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode})")
    return wall


def commands(tree: str, rank_paths: int, compare_paths: int) -> dict[str, list[str]]:
    """The two workflows' arguments on the scenario files of the checked-out ``tree``."""
    companies = sorted(glob.glob(os.path.join(tree, "scenarios", "companies", "*.yaml")))
    return {"upgrade_rank": ["upgrade", os.path.join(tree, "scenarios", "contract_example.yaml"), "--replace",
                             "xp-2023", "--rank", "--paths", str(rank_paths)],
            "compare": ["compare", *companies, "--paths", str(compare_paths)]}


def run(before: str = BEFORE, rank_paths: int = 200, compare_paths: int = 500) -> dict:
    tmp = tempfile.mkdtemp(prefix="hashfleet-before-")
    tree = os.path.join(tmp, "tree")
    subprocess.run(["git", "worktree", "add", "--detach", tree, before], cwd=REPO, check=True, capture_output=True)
    try:
        cmds = commands(tree, rank_paths, compare_paths)
        old_env = {**os.environ, "PYTHONPATH": tree}
        exe = os.path.join(os.path.dirname(sys.executable), "hashfleet")
        out = {"before": before, "rank_paths": rank_paths, "compare_paths": compare_paths,
               "companies": [os.path.basename(f) for f in cmds["compare"][1:-2]]}
        for name, args in cmds.items():
            # run from the checked-out tree: ``python -c`` puts the working directory first on sys.path,
            # before PYTHONPATH, so from the repository it would import today's code
            old = _time([sys.executable, "-c", _CLI, *args], env=old_env, cwd=tree)
            new = _time([exe, *args])
            out[name] = {"before_s": old, "now_s": new, "speedup": old / new}
        return out
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=REPO, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default=BEFORE, help="the commit to compare with (default c3b7aca)")
    ap.add_argument("--rank-paths", type=int, default=200)
    ap.add_argument("--compare-paths", type=int, default=500)
    args = ap.parse_args(argv)
    figures.emit(run(args.before, args.rank_paths, args.compare_paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
