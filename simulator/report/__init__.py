"""The HTML report of a run (DESIGN.md layer 7): ``hashfleet report RUN_DIR``.

:func:`build_report` reads a run directory (and optionally a sweep and a compare directory)
and returns the page and its charts; :func:`write_report` writes them. The page is one
self-contained HTML file (charts as inline SVG images, inline CSS, no script, nothing
fetched), so it opens offline. Every input is read and every chart drawn before anything is
written, and each file is written atomically (a temporary file renamed into place), so bad
input or a failure leaves no partial file.

Example (from a notebook)::

    from simulator.report import write_report
    write_report("out/contract_example", png_dir="out/contract_example/png")
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from simulator import __version__, atomic
from simulator.errors import InputError
from simulator.report import charts, run_sections
from simulator.report.extra_sections import compare_section, sweep_section
from simulator.report.html import Chart, page
from simulator.report.inputs import load_compare, load_run, load_sweep

__all__ = ["Report", "build_report", "write_report"]


@dataclass(frozen=True)
class Report:
    """A rendered report: the HTML text and its charts (matplotlib figures and their SVG)."""

    html: str
    charts: tuple[Chart, ...]


def build_report(run_dir: str, *, sweep_dir: str | None = None, compare_dir: str | None = None,
                 label: str | None = None) -> Report:
    """Read the directories and render the page; raises :class:`InputError` on bad input.

    ``label`` is how the run directory is named in the page (default: ``run_dir``).
    """
    run = load_run(run_dir)
    sweep = load_sweep(sweep_dir) if sweep_dir else None
    compare = load_compare(compare_dir) if compare_dir else None
    label = label or run_dir
    sections = [run_sections.digest_section(run, label), run_sections.metrics_section(run),
                run_sections.fans_section(run), run_sections.costs_section(run),
                run_sections.revenue_section(run), run_sections.hedges_section(run),
                sweep_section(sweep) if sweep else None, compare_section(compare) if compare else None]
    sections = [s for s in sections if s is not None]
    chart_list = tuple(p for s in sections for p in s.parts if isinstance(p, Chart))
    for chart in chart_list:
        chart.svg = charts.svg(chart.figure)
    s = run.summary
    title = f"hashfleet report — {s.get('scenario', os.path.basename(os.path.normpath(run_dir)))}"
    subtitle = f"{s.get('paths', '?')} Monte Carlo paths, seed {s.get('seed', '?')}"
    footer = (f"Made by hashfleet {__version__} from {label}. Self-contained: opens without a network "
              "connection.")
    return Report(html=page(title, subtitle, sections, footer), charts=chart_list)


def write_report(run_dir: str, out: str | None = None, *, png_dir: str | None = None, sweep_dir: str | None = None,
                 compare_dir: str | None = None, label: str | None = None) -> str:
    """Write the report (default ``RUN_DIR/report.html``) and, with ``png_dir``, a PNG per chart.

    Returns the HTML file's path.
    """
    out = out or os.path.join(run_dir, "report.html")
    if os.path.isdir(out):
        raise InputError(out, 1, 1, "is a directory; give the report's file name, e.g. report.html")
    if png_dir and os.path.exists(png_dir) and not os.path.isdir(png_dir):
        raise InputError(png_dir, 1, 1, "exists and is not a directory; give a folder for the PNG files")
    report = build_report(run_dir, sweep_dir=sweep_dir, compare_dir=compare_dir, label=label)
    pngs = {f"{c.slug}.png": charts.png(c.figure) for c in report.charts} if png_dir else {}
    target = out
    try:
        if png_dir:
            target = png_dir
            _write_folder(png_dir, pngs)
        target = out
        _write_file(out, report.html.encode("utf-8"))
    except (PermissionError, NotADirectoryError, FileNotFoundError, IsADirectoryError) as exc:
        raise InputError(target, 1, 1, f"cannot write here: {exc.strerror or exc}") from None
    return out


def _write_file(path: str, data: bytes) -> None:
    """``path`` (its folder created if needed) written atomically by :mod:`simulator.atomic`."""
    atomic.make_dirs(os.path.dirname(os.path.abspath(path)))
    atomic.write_bytes(path, data)


def _write_folder(folder: str, files: dict[str, bytes]) -> None:
    """A new folder appears whole (written aside, renamed); into an existing one each file is atomic."""
    if os.path.isdir(folder):
        for name, data in files.items():
            atomic.write_bytes(os.path.join(folder, name), data)
        return
    with atomic.new_directory(folder) as tmp:
        for name, data in files.items():
            atomic.write_bytes(os.path.join(tmp, name), data, fsync=False)
