"""The ``hashfleet`` command line: parse, call the library, print. Nothing else lives here.

Exit codes (DESIGN.md, "CLI verbs"): 0 ok, 1 simulation failure, 2 bad input. Bad input
prints ``file:line:col: message`` lines on stderr and no traceback unless ``--debug``.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import sys

import click

from simulator import __version__


class BadInput(click.ClickException):
    """Bad input already formatted as ``file:line:col: message`` lines; exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def _handle_errors(fn):
    """Turn InputError(s) into exit code 2 with one line per error (a traceback only with --debug)."""
    from simulator.errors import InputError, InputErrors

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, InputErrors) as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            raise BadInput(str(exc)) from None

    return wrapper


def emit(rows: list[dict], fmt: str, columns: list[str] | None = None, floatfmt: str = "{:,.6g}") -> None:
    """Print rows as an aligned table, CSV, or JSON (a list of row objects keyed by column)."""
    columns = columns or (list(rows[0]) if rows else [])
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
        return

    def cell(v):
        if v is None:
            return "—"
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 1e4 else floatfmt.format(v)
        return str(v)

    table = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in table]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows) for c in columns]
    just = lambda s, i: s.rjust(widths[i]) if numeric[i] else s.ljust(widths[i])  # noqa: E731
    click.echo("  ".join(just(c, i) for i, c in enumerate(columns)).rstrip())
    for row in table:
        click.echo("  ".join(just(v, i) for i, v in enumerate(row)).rstrip())


format_option = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                             show_default=True, help="Output format.")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="Override a scenario key, e.g. --set fleet[0].units=5000 (repeatable).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hashfleet")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def main(debug: bool) -> None:
    """hashfleet: fleet-level Bitcoin mining operations simulator."""


# --------------------------------------------------------------------------- validate / schema
@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@set_option
@_handle_errors
def validate(files, overrides) -> None:
    """Check scenario FILES: OK with a digest, or every error with its file:line:col."""
    from simulator.config import checks, load_scenario
    from simulator.config.digest import digest
    from simulator.errors import InputErrors

    failed = []
    for path in files:
        try:
            scenario = load_scenario(path, overrides)
        except InputErrors as exc:
            failed.append(str(exc))
            continue
        click.echo(f"{path}: OK  {digest(scenario)}")
        for loc, msg in checks.warnings(scenario, checks.library_for(scenario)):
            click.echo(f"{path}: warning: {msg}", err=True)
    if failed:
        raise BadInput("\n".join(failed))


@main.command()
def schema() -> None:
    """Print the scenario file's JSON Schema (for editor completion)."""
    from simulator.config.schema import Scenario

    click.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


# --------------------------------------------------------------------------- run
@main.command()
@click.argument("scenario_file", type=click.Path())
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Write summary.json and the Parquet files into this new directory.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out directory.")
@click.option("--paths", type=click.IntRange(min=1), default=None, help="Monte Carlo paths (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed (default: the scenario's).")
@click.option("--keep-paths", type=click.IntRange(min=0), default=20, show_default=True,
              help="Paths whose daily rows are written.")
@click.option("--progress", is_flag=True, help="Print progress on stderr.")
@set_option
@format_option
@_handle_errors
def run(scenario_file, out_dir, overwrite, paths, seed, keep_paths, progress, overrides, fmt) -> None:
    """Simulate SCENARIO_FILE and print the headline metrics."""
    import os

    from simulator.config import load_scenario
    from simulator.engine import simulate
    from simulator.errors import InputError

    scenario = load_scenario(scenario_file, overrides)
    if out_dir and os.path.exists(out_dir) and not overwrite:
        raise InputError(out_dir, 1, 1, "output directory exists; choose another --out or pass --overwrite")
    try:
        results = simulate(scenario, paths=paths, seed=seed, keep_paths=keep_paths, progress=progress)
    except (KeyboardInterrupt, InputError):
        raise
    except Exception as exc:  # a simulation failure, not bad input: exit 1
        if click.get_current_context().find_root().params.get("debug"):
            raise
        raise click.ClickException(f"simulation failed: {type(exc).__name__}: {exc}") from None
    for note in results.notes:
        click.echo(f"hashfleet: {note}", err=True)
    if out_dir:
        results.write(out_dir, overwrite=overwrite)
    rows = [{"metric": name, "unit": stats["unit"], "mean": stats["mean"], "p5": stats["p5"],
             "p50": stats["p50"], "p95": stats["p95"]}
            for name, stats in results.summary_frame().to_dict("index").items()]
    emit(rows, fmt)
    if scenario.hpc and fmt == "table":
        click.echo("\nRevenue mix by year (mean over paths):")
        mix = results.revenue_mix().reset_index()
        emit([{k: (int(v) if k == "year" else float(v)) for k, v in row.items()} for row in mix.to_dict("records")],
             fmt)
    if out_dir and fmt == "table":
        click.echo(f"wrote {out_dir}/ (summary.json, daily.parquet, daily_quantiles.parquet, monthly.parquet)")


# --------------------------------------------------------------------------- sweep
@main.command()
@click.argument("scenario_file", type=click.Path())
@click.option("--grid", "grid", multiple=True, required=True, metavar="KEY=V1,V2,...",
              help="A swept key and its values (repeatable; the points are the Cartesian product), "
                   "e.g. --grid market.btc_price.drift_annual=-0.2,0,0.2.")
@click.option("--out", "out_dir", type=click.Path(), required=True,
              help="Sweep directory; re-running the same command on it resumes.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A running dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local cluster (default: the usable cores).")
@click.option("--paths", type=click.IntRange(min=1), default=None, help="Monte Carlo paths per point (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of every point (default: the scenario's).")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Further attempts of a point that fails or whose worker dies.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out directory instead of resuming it.")
@click.option("--progress", is_flag=True, help="Print a line per finished point on stderr.")
@set_option
@format_option
@_handle_errors
def sweep(scenario_file, grid, out_dir, scheduler, workers, paths, seed, retries, overwrite, progress, overrides,
          fmt) -> None:
    """Run SCENARIO_FILE over a grid of overrides on dask, every point on the same random paths."""
    from simulator.workflows.sweep import prepare, run_sweep

    plan = prepare(scenario_file, grid, overrides=overrides, paths=paths, seed=seed)

    def report(done, total, point, status):
        click.echo(f"hashfleet: point {done}/{total} {status}: {point.label()}", err=True)

    try:
        result = run_sweep(plan, out_dir, workers=workers, scheduler=scheduler, overwrite=overwrite, retries=retries,
                           on_point=report if progress else None)
    except KeyboardInterrupt:
        click.echo(f"hashfleet: interrupted; finished points are kept in {out_dir}/points, re-run the same command "
                   "to resume", err=True)
        sys.exit(130)
    emit(result.rows(), fmt)
    click.echo(f"hashfleet: {len(plan.points)} points: {len(result.ran)} run, {len(result.resumed)} resumed, "
               f"{len(result.failed)} failed", err=True)
    for failure in result.failed:
        click.echo(f"hashfleet: point failed after {retries + 1} attempts: {', '.join(failure['overrides'])}: "
                   f"{failure['error']}", err=True)
    if result.failed:
        click.echo(f"hashfleet: listed in {out_dir}/failed.json; re-run the same command to retry them", err=True)
        sys.exit(1)
    if fmt == "table":
        click.echo(f"wrote {out_dir}/ (manifest.json, points/, sweep.parquet, summary.json)")


# --------------------------------------------------------------------------- hardware
@main.group()
def hardware() -> None:
    """The ASIC hardware library."""


hardware_dir_option = click.option("--hardware-dir", "hardware_dirs", multiple=True, type=click.Path(),
                                   help="Extra folder of hardware profile YAML files (repeatable).")


@hardware.command("list")
@click.option("--sort", type=click.Choice(["efficiency", "hashrate", "release", "id"]), default="efficiency",
              show_default=True)
@hardware_dir_option
@format_option
@_handle_errors
def hardware_list(sort: str, hardware_dirs, fmt: str) -> None:
    """List the hardware profiles."""
    from simulator.hardware import load_library

    library = load_library(extra_dirs=tuple(hardware_dirs))
    key = {"efficiency": lambda p: (p.efficiency_jth, p.id),
           "hashrate": lambda p: (-p.hashrate_ths, p.id),
           "release": lambda p: (str(p.release_date or "9999"), p.id),
           "id": lambda p: p.id}[sort]
    rows = [{"id": p.id, "vendor": p.vendor, "name": p.name, "hashrate_ths": p.hashrate_ths,
             "power_w": p.power_w, "efficiency_jth": p.efficiency_jth, "cooling": p.cooling,
             "release": str(p.release_date) if p.release_date else None,
             "launch_price_usd_per_th": p.launch_price_usd_per_th}
            for p in sorted(library.values(), key=key)]
    emit(rows, fmt)


@hardware.command("show")
@click.argument("model_id")
@click.option("--hashprice-usd-per-ph-day", type=float, default=None,
              help="Hashprice for the breakeven power price (default: 30, 45 and 60).")
@hardware_dir_option
@format_option
@_handle_errors
def hardware_show(model_id: str, hashprice_usd_per_ph_day, hardware_dirs, fmt: str) -> None:
    """Show one profile: spec, sources, tuning curve and breakeven power price."""
    from simulator.hardware import breakeven_power_usd_per_mwh, get_profile, tuned_power_w
    from simulator.errors import InputError

    try:
        p = get_profile(model_id, extra_dirs=tuple(hardware_dirs))
    except KeyError as exc:
        raise InputError(model_id, 1, 1, exc.args[0] if exc.args else str(exc)) from None
    hashprices = [hashprice_usd_per_ph_day] if hashprice_usd_per_ph_day is not None else [30.0, 45.0, 60.0]
    fractions = sorted({p.tuning.min_fraction, 0.8, 0.9, 1.0, p.tuning.max_fraction})
    tuning = [{"hashrate_fraction": f, "hashrate_ths": p.hashrate_ths * f,
               "power_w": float(tuned_power_w(p, f)),
               "efficiency_jth": float(tuned_power_w(p, f)) / (p.hashrate_ths * f)} for f in fractions]
    breakeven = [{"hashprice_usd_per_ph_day": h,
                  "breakeven_usd_per_mwh": float(breakeven_power_usd_per_mwh(h, p.efficiency_jth))}
                 for h in hashprices]
    spec = p.model_dump(mode="json")
    if fmt == "json":
        click.echo(json.dumps({"profile": spec, "tuning": tuning, "breakeven": breakeven}, indent=2))
        return
    sources = spec.pop("source", {}) or {}
    defaults = set(spec.pop("class_defaults", []) or [])
    click.echo(f"{p.name} ({p.id}) — {p.vendor}, {p.cooling} cooling")
    for key, value in spec.items():
        if key in ("id", "name", "vendor", "cooling"):
            continue
        note = " [class default]" if key in defaults else ""
        click.echo(f"  {key}: {value}{note}")
    click.echo("Sources:")
    for key, src in sources.items():
        click.echo(f"  {key}: {src}")
    click.echo("Tuning curve (P = P0·f^k):")
    emit(tuning, fmt)
    click.echo("Breakeven power price (gross, before pool fee and cooling):")
    emit(breakeven, fmt)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
