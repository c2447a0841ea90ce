"""The ``hashfleet`` command line: parse, call the library, print. Nothing else lives here.

Exit codes (DESIGN.md, "CLI verbs"): 0 ok, 1 simulation failure, 2 bad input. Bad input
prints ``file:line:col: message`` lines on stderr and no traceback unless ``--debug``.
"""
from __future__ import annotations

import atexit
import contextlib
import csv
import functools
import gc
import io
import json
import math
import sys
import warnings

import click

from simulator import __version__


class BadInput(click.ClickException):
    """Bad input already formatted as ``file:line:col: message`` lines; exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def _handle_errors(fn):
    """Turn InputError(s) into exit code 2 with one line per error (a traceback only with --debug),
    and print each scenario deprecation once on stderr as ``hashfleet: warning: FILE:LINE:COL: …``."""
    from simulator.errors import InputError, InputErrors

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.showwarning = _show_deprecation(warnings.showwarning)
            try:
                return fn(*args, **kwargs)
            except (InputError, InputErrors) as exc:
                if click.get_current_context().find_root().params.get("debug"):
                    raise
                raise BadInput(str(exc)) from None

    return wrapper


def _show_deprecation(show):
    """A ``warnings.showwarning`` printing each distinct scenario deprecation once, others as ``show`` does.
    The scenario's modules are imported by the command, not here (``run`` imports them with its others:
    :func:`_imported_heap_frozen`)."""
    seen: set[str] = set()

    def showwarning(message, category, filename, lineno, file=None, line=None):
        from simulator.config.deprecations import ScenarioDeprecationWarning

        if not issubclass(category, ScenarioDeprecationWarning):
            return show(message, category, filename, lineno, file, line)
        if str(message) not in seen:  # a sweep loads the file once per point
            seen.add(str(message))
            click.echo(f"hashfleet: warning: {message}", err=True)

    return showwarning


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
            if abs(v) >= 1e4:
                return f"{v:,.0f}"
            if 0 < abs(v) < 1e-3 and math.isfinite(v):  # e.g. BTC per share: 0.0000217049, not 2.17049e-05
                return f"{v:.{5 - math.floor(math.log10(abs(v)))}f}"
            return floatfmt.format(v)
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
def output_options(fn):
    """``--progress`` and ``--quiet``: the one set of output options of every verb that shows progress
    (run, backtest, compare, upgrade, sweep)."""
    fn = click.option("--quiet", "-q", is_flag=True, help="No progress on stderr (no bar, no progress lines).")(fn)
    return click.option("--progress", is_flag=True,
                        help="Show progress even when stderr is not a terminal (as lines).")(fn)


def run_output_options(fn):
    """The output options plus ``--report``, of the verbs that simulate one scenario (run, backtest)."""
    fn = output_options(fn)
    return click.option("--report", "with_report", is_flag=True,
                        help="Also write report.html into the --out directory.")(fn)


class MemorySize(click.ParamType):
    """A memory size: bytes, or a number with K, M, G or T (binary multiples: 8G = 8 × 2**30 bytes)."""

    name = "size"
    _UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        number, unit = (text[:-1], text[-1]) if text[-1:] in self._UNITS else (text, "")
        try:
            size = float(number) * self._UNITS[unit]
        except ValueError:
            self.fail(f"{value!r} is not a size; write e.g. 8G, 512M or a number of bytes", param, ctx)
        if not size > 0:
            self.fail(f"{value!r}: the size must be positive", param, ctx)
        return int(size)


def simulation_options(fn):
    """``--workers`` and ``--max-memory``: how every verb that runs the engine (run, backtest,
    compare, upgrade) runs it."""
    fn = click.option("--max-memory", "max_memory", type=MemorySize(), default=None, metavar="SIZE",
                      help="Refuse a run whose memory estimate exceeds SIZE, e.g. 8G (default: the machine's "
                           "total memory; the answer does not depend on how busy the machine is).")(fn)
    return click.option("--workers", type=click.IntRange(min=1), default=None,
                        help="Processes a run may use (default: one per CPU, at least 100 paths each, never fewer than "
                             "2); compare and upgrade share them among their runs, splitting the last. "
                             "Results are identical whatever the number.")(fn)

set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="Override a scenario key, e.g. --set fleet[0].units=5000 (repeatable).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hashfleet")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def main(debug: bool) -> None:
    """hashfleet: fleet-level Bitcoin mining operations simulator."""
    _take_ctrl_c()


def _take_ctrl_c() -> None:
    """Let Ctrl-C (SIGINT) interrupt every command, even one started with SIGINT ignored.

    Python keeps an ignored SIGINT ignored, and a non-interactive shell starts its background
    jobs (``hashfleet sweep ... &`` in a script) with SIGINT ignored: such a sweep ran all its
    points and exited 0 after a Ctrl-C or ``kill -INT``. A run or sweep stops cleanly (whole
    files, exit 130, a re-run resumes), so it takes the signal. A handler someone installed
    (a notebook's, an embedding program's) is left alone; so is everything outside the main thread.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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
@simulation_options
@run_output_options
@set_option
@format_option
@_handle_errors
def run(scenario_file, out_dir, overwrite, paths, seed, keep_paths, workers, max_memory, with_report, progress, quiet,
        overrides, fmt) -> None:
    """Simulate SCENARIO_FILE and print the headline metrics.

    A progress bar (paths × days) is drawn on stderr when it is a terminal, unless --quiet.
    """
    with _imported_heap_frozen():
        from simulator.config import load_scenario
        from simulator.engine import simulate

    scenario = load_scenario(scenario_file, overrides)
    _simulate_and_report(lambda bar: simulate(scenario, paths=paths, seed=seed, keep_paths=keep_paths,
                                              progress=bar or False, workers=workers, max_memory_bytes=max_memory),
                         out_dir, overwrite, fmt, with_report=with_report, progress=progress, quiet=quiet)


@contextlib.contextmanager
def _imported_heap_frozen():
    """Import the block's modules with the cycle collector paused, then keep every object alive (the imported
    modules': numpy, pandas, scipy, pydantic's schemas, the engine; ~90 thousand that live as long as the process)
    out of the collector's sight until the command ends (``gc.freeze``), and again from the interpreter's exit on.

    A one-path run spent ~0.15–0.2 s of its ~1.4 s CPU (a loaded 2-core VM) walking that heap: ~240 young
    collections, full ones during the imports and the simulation, and the interpreter's final collection at exit
    over every object. Frozen, the collections walk the command's own objects only (which it still reclaims); after
    the command the objects are collectable again (a library caller's, e.g. a test's CliRunner, gets its collector
    back as it was), and the exit freezes them once more (``atexit``), since the memory goes back to the system
    anyway. A run in worker processes unfreezes the heap after its forks (:func:`simulator.workers.frozen_heap`).
    Nothing a run computes depends on when memory is reclaimed. ``run``, ``backtest``, ``compare`` and ``upgrade``
    import their workflow (and so the engine) in it: 0.2–0.35 s of a ten-preset ``compare``'s ~2.3 s, an ``upgrade``'s
    ~1.6 s and a backtest's ~1.1 s (session 40, medians of six runs alternated with the unfrozen imports);
    ``sweep`` runs its points in dask's worker processes and is left as it was (not measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
    click.get_current_context().call_on_close(gc.unfreeze)
    atexit.unregister(gc.freeze)  # one registration however many commands a process runs
    atexit.register(gc.freeze)


def _simulate_and_report(simulation, out_dir, overwrite: bool, fmt: str, *, with_report: bool = False,
                         progress: bool = False, quiet: bool = False) -> None:
    """Refuse an existing --out, run ``simulation(progress_bar)`` (a failure exits 1), write and print the metrics."""
    import os

    from simulator.errors import InputError, InputErrors

    if out_dir and os.path.exists(out_dir) and not overwrite:
        raise InputError(out_dir, 1, 1, "output directory exists; choose another --out or pass --overwrite")
    if with_report and not out_dir:
        raise InputError("--report", 1, 1, "needs --out DIR: the report is written into the run directory")
    bar = _progress_bar(progress, quiet)
    try:
        results = simulation(bar)
    except (KeyboardInterrupt, InputError, InputErrors):
        raise
    except Exception as exc:  # a simulation failure, not bad input: exit 1
        if click.get_current_context().find_root().params.get("debug"):
            raise
        raise click.ClickException(f"simulation failed: {type(exc).__name__}: {exc}") from None
    finally:
        if bar:
            bar.close()
    for note in results.notes:
        click.echo(f"hashfleet: {note}", err=True)
    if out_dir:
        results.write(out_dir, overwrite=overwrite, extra_writers=[_report_writer(out_dir)] if with_report else [])
    rows = [{k: row.get(k) for k in ("metric", "unit", "mean", "p5", "p50", "p95", "pooled")}
            for row in results.summary_rows()]
    if fmt == "table":  # the header says what pooled is
        click.echo("(pooled Σ/Σ: a ratio metric's Σ numerator ÷ Σ denominator over the paths defining it)")
        rows = [{("pooled Σ/Σ" if k == "pooled" else k): v for k, v in row.items()} for row in rows]
    emit(rows, fmt)
    if "hpc_power_mw_p50" in results.daily_quantiles and fmt == "table":  # the run had HPC projects
        click.echo("\nRevenue mix by year (mean over paths):")
        mix = results.revenue_mix().reset_index()
        emit([{k: (int(v) if k == "year" else float(v)) for k, v in row.items()} for row in mix.to_dict("records")],
             fmt)
    if out_dir and fmt == "table":
        files = "summary.json, daily.parquet, daily_quantiles.parquet, monthly.parquet" \
            + (", report.html" if with_report else "")
        click.echo(f"wrote {out_dir}/ ({files})")


@contextlib.contextmanager
def _progress(force: bool, quiet: bool):
    """:func:`_progress_bar` for the length of the block, its line ended after."""
    bar = _progress_bar(force, quiet)
    try:
        yield bar
    finally:
        if bar:
            bar.close()


def _progress_bar(force: bool, quiet: bool):
    """The engine's progress callback: a bar on a terminal, lines with --progress elsewhere, None if silent."""
    from simulator.progress import ProgressBar

    if quiet or not (force or sys.stderr.isatty()):
        return None
    return ProgressBar("path-days", stream=sys.stderr)


def _report_writer(out_dir: str):
    """Writes report.html into the run's temporary directory, naming the run by its final ``out_dir``."""
    import os

    from simulator.report import write_report

    return lambda tmp: write_report(tmp, os.path.join(tmp, "report.html"), label=out_dir)


# --------------------------------------------------------------------------- report
@main.command()
@click.argument("run_dir", type=click.Path())
@click.option("--out", "out_file", type=click.Path(), default=None, metavar="FILE.html",
              help="HTML file to write (default: RUN_DIR/report.html).")
@click.option("--png", "png_dir", type=click.Path(), default=None, metavar="DIR",
              help="Also write each chart as PNG into DIR.")
@click.option("--sweep", "sweep_dir", type=click.Path(), default=None, metavar="DIR",
              help="Add heatmaps from a `hashfleet sweep` output directory.")
@click.option("--compare", "compare_dir", type=click.Path(), default=None, metavar="DIR",
              help="Add tables from a `hashfleet compare` output directory.")
@_handle_errors
def report(run_dir, out_file, png_dir, sweep_dir, compare_dir) -> None:
    """Write a self-contained HTML report of RUN_DIR (the --out directory of `hashfleet run`)."""
    from simulator.report import write_report

    try:
        path = write_report(run_dir, out_file, png_dir=png_dir, sweep_dir=sweep_dir, compare_dir=compare_dir)
    except OSError as exc:  # not bad input (a full disk): exit 1
        raise click.ClickException(f"cannot write the report: {exc}") from None
    click.echo(f"wrote {path}" + (f" and PNG charts in {png_dir}/" if png_dir else ""))


# --------------------------------------------------------------------------- backtest
@main.command()
@click.argument("scenario_file", type=click.Path())
@click.option("--from", "date_from", required=True, metavar="DATE", help="First replayed day (ISO date).")
@click.option("--to", "date_to", required=True, metavar="DATE", help="Last replayed day (ISO date, inclusive).")
@click.option("--history", "history_file", type=click.Path(), default=None,
              help="Daily history CSV (default: the shipped Coin Metrics data, CC BY-NC 4.0).")
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Write summary.json and the Parquet files into this new directory.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out directory.")
@click.option("--paths", type=click.IntRange(min=1), default=1, show_default=True,
              help="Paths (the market is history's; more paths vary only power prices, failures and luck).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed (default: the scenario's).")
@simulation_options
@run_output_options
@set_option
@format_option
@_handle_errors
def backtest(scenario_file, date_from, date_to, history_file, out_dir, overwrite, paths, seed, workers, max_memory,
             with_report, progress, quiet, overrides, fmt) -> None:
    """Replay SCENARIO_FILE's fleet on real history (price, fees, blocks, difficulty) and print the metrics."""
    with _imported_heap_frozen():
        from simulator.workflows.backtest import backtest as run_backtest

    _simulate_and_report(lambda bar: run_backtest(scenario_file, date_from=date_from, date_to=date_to,
                                                  history=history_file, overrides=overrides, paths=paths, seed=seed,
                                                  progress=bar or False, workers=workers,
                                                  max_memory_bytes=max_memory),
                         out_dir, overwrite, fmt, with_report=with_report, progress=progress, quiet=quiet)


# --------------------------------------------------------------------------- compare
@main.command()
@click.argument("scenario_files", nargs=-1, required=True, type=click.Path())
@click.option("--paths", type=click.IntRange(min=1), default=None, help="Monte Carlo paths (default: the market's).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed (default: the market's).")
@click.option("--market-from", type=click.Path(), default=None,
              help="Take market, network, horizon, paths and seed from this file (default: the first).")
@click.option("--rank-by", default="end_nav_per_share_usd", show_default=True, help="Metric column to rank by.")
@click.option("--ascending", is_flag=True, help="Rank the smallest first (e.g. for a cost per BTC).")
@click.option("--out", "out_dir", type=click.Path(), default=None, help="Write compare.parquet and pairs.parquet here.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out directory.")
@simulation_options
@output_options
@set_option
@format_option
@_handle_errors
def compare(scenario_files, paths, seed, market_from, rank_by, ascending, out_dir, overwrite, workers, max_memory,
            progress, quiet, overrides, fmt) -> None:
    """Run several companies on the same market and network paths, side by side.

    A progress bar (paths × days of all the runs) is drawn on stderr when it is a terminal, unless --quiet.
    """
    with _imported_heap_frozen():
        from simulator.workflows import compare as workflow

    with _progress(progress, quiet) as bar:
        rows, pairs = workflow.compare(scenario_files, paths=paths, seed=seed, market_from=market_from,
                                       rank_by=rank_by, ascending=ascending, overrides=overrides, workers=workers,
                                       progress=bar or False, max_memory_bytes=max_memory)
    if out_dir:
        workflow.write(rows, pairs, out_dir, overwrite=overwrite)
    if fmt == "table":  # ratio columns hold the pooled value (Σ numerator ÷ Σ denominator over paths): say so
        emit([{(f"{k} (pooled)" if k in workflow.RATIO_COLUMNS else k): v for k, v in row.items()} for row in rows],
             fmt)
    else:
        emit(rows, fmt)
    if fmt == "table" and pairs:
        click.echo("\nLong/short pair return over the horizon, % of one leg (long return − short return):")
        emit(pairs, fmt)


# --------------------------------------------------------------------------- upgrade
@main.command()
@click.argument("scenario_file", type=click.Path())
@click.option("--replace", "replace", required=True, metavar="COHORT_ID_OR_MODEL",
              help="A fleet item's id, or a model (all its cohorts).")
@click.option("--with", "with_model", metavar="MODEL", default=None, help="The new model (not needed with --rank).")
@click.option("--units", type=click.IntRange(min=1), default=None, help="Old units replaced (default all).")
@click.option("--units-new", type=click.IntRange(min=0), default=None, help="New units (default one for one).")
@click.option("--price-usd-per-th", type=click.FloatRange(min=0), default=None,
              help="Price of the new machines (default launch price, else the ASIC price index).")
@click.option("--resale-usd-per-th", type=click.FloatRange(min=0), default=None,
              help="Resale price of the old machines (default the ASIC price index).")
@click.option("--date", "date", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Swap date (default the start).")
@click.option("--downtime-days", type=click.IntRange(min=0), default=0, show_default=True,
              help="Days between removing the old machines and energising the new ones.")
@click.option("--financing", type=click.Choice(["cash", "atm", "loan"]), default="cash", show_default=True,
              help="How the company pays: cash, the ATM, or a 3-year amortising loan of the price.")
@click.option("--discount-rate", type=click.FloatRange(min=0), default=None,
              help="Annual discount rate (default the company's valuation.discount_rate, else 0.10).")
@click.option("--rank", "rank_models", is_flag=True, help="Rank every library model (or --models) as the new one.")
@click.option("--models", default=None, help="Comma-separated models for --rank (default the whole library).")
@click.option("--paths", type=click.IntRange(min=1), default=None, help="Monte Carlo paths (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed (default: the scenario's).")
@simulation_options
@output_options
@set_option
@format_option
@_handle_errors
def upgrade(scenario_file, replace, with_model, units, units_new, price_usd_per_th, resale_usd_per_th, date,
            downtime_days, financing, discount_rate, rank_models, models, paths, seed, workers, max_memory, progress,
            quiet, overrides, fmt) -> None:
    """Value replacing machines (NPV, IRR, payback, breakevens) on the same paths as the baseline.

    A progress bar (paths × days of all the runs) is drawn on stderr when it is a terminal, unless --quiet.
    """
    from simulator.errors import InputError

    with _imported_heap_frozen():
        from simulator.workflows import upgrade as workflow

    options = dict(units=units, units_new=units_new, resale_usd_per_th=resale_usd_per_th,
                   date=date.date() if date else None, downtime_days=downtime_days, financing=financing)
    if not rank_models and with_model is None:
        raise InputError("--with", 1, 1, "name the new model (see `hashfleet hardware list`) or pass --rank")
    run = dict(overrides=overrides, paths=paths, seed=seed, discount_rate=discount_rate, workers=workers,
               max_memory_bytes=max_memory)
    with _progress(progress, quiet) as bar:
        if rank_models:
            rows = workflow.rank(scenario_file, models.split(",") if models else None, replace=replace,
                                 price_usd_per_th=price_usd_per_th, progress=bar or False, **run, **options)
        else:
            spec = workflow.UpgradeSpec(replace=replace, with_model=with_model, price_usd_per_th=price_usd_per_th,
                                        **options)
            rows = workflow.upgrade(scenario_file, spec, progress=bar or False, **run)
    emit(rows, fmt)


# --------------------------------------------------------------------------- calibrate
@main.command()
@click.option("--history", "history_file", type=click.Path(), default=None,
              help="Daily history CSV (date,price_usd,hashrate_ths,fees_btc,subsidy_btc,blocks); "
                   "default: the shipped Coin Metrics data (CC BY-NC 4.0).")
@click.option("--from", "from_date", metavar="DATE", default=None,
              help="First day of the window (default: 4 × 365 days before --to).")
@click.option("--to", "to_date", metavar="DATE", default=None,
              help="Last day of the window (default: the history's last complete day).")
@click.option("--holdout-days", type=click.IntRange(min=0), default=180, show_default=True,
              help="Days at the window's end kept out of a first network fit to score its forecast (0: none).")
@click.option("--price-model", type=click.Choice(["best", "gbm", "jump", "regime"]), default="best",
              show_default=True, help="Price model written to the fragment (best: lowest BIC; all are fitted).")
@click.option("--max-lag-days", type=click.IntRange(1, 365), default=120, show_default=True,
              help="Longest hashprice-to-hashrate lag searched.")
@click.option("--regime-min-days", type=click.FloatRange(min=1.5), default=None,
              help="Smallest mean regime duration allowed (e.g. 90 for bull/bear phases; default: free).")
@click.option("--power", "power_file", type=click.Path(), default=None,
              help="Instead: fit the hourly index power model to this hourly price CSV (datetime,price_usd_per_mwh), "
                   "print its statistics beside the data's and write the fitted power profile to --out.")
@click.option("--out", "out_file", type=click.Path(), required=True, help="The YAML fragment to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
@format_option
@_handle_errors
def calibrate(history_file, from_date, to_date, holdout_days, price_model, max_lag_days, regime_min_days,
              power_file, out_file, overwrite, fmt) -> None:
    """Fit the price, fee and network models to history and write them as a scenario fragment."""
    from simulator.errors import InputError
    from simulator.market.history import load_history
    from simulator.workflows.calibrate import ROW_COLUMNS, calibrate as fit, check_output

    check_output(out_file, overwrite=overwrite)
    if power_file is not None:
        from simulator.workflows.calibrate import power

        result = power.calibrate_power(power_file)
        result.write(out_file)
        emit(result.rows(), fmt, columns=list(power.ROW_COLUMNS))
        if fmt == "table":
            click.echo(f"wrote {out_file} (use it in a site's power with `profile: {out_file}`)")
        return
    history = load_history(history_file)
    try:
        result = fit(history, from_date, to_date, holdout_days=holdout_days, price_model=price_model,
                     max_lag_days=max_lag_days, regime_min_duration_days=regime_min_days)
    except (KeyboardInterrupt, InputError):
        raise
    except Exception as exc:  # a failed fit, not bad input: exit 1
        if click.get_current_context().find_root().params.get("debug"):
            raise
        raise click.ClickException(f"calibration failed: {type(exc).__name__}: {exc}") from None
    result.write(out_file, overwrite=overwrite)
    emit(result.rows(), fmt, columns=list(ROW_COLUMNS))
    if fmt == "table":
        click.echo(f"wrote {out_file} (include it in a scenario with `include: [{out_file}]`)")


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
@output_options
@set_option
@format_option
@_handle_errors
def sweep(scenario_file, grid, out_dir, scheduler, workers, paths, seed, retries, overwrite, progress, quiet,
          overrides, fmt) -> None:
    """Run SCENARIO_FILE over a grid of overrides on dask, every point on the same random paths.

    A progress bar of sweep points is drawn on stderr when it is a terminal, a line per finished
    point otherwise (or with --progress); --quiet prints neither.
    """
    import os

    from simulator.progress import ProgressBar
    from simulator.workflows.sweep import prepare, run_sweep

    bar = None

    def report(done, total, point, status):
        if bar is not None:
            bar(done, total)
        elif not quiet:
            click.echo(f"hashfleet: point {done}/{total} {status}: {point.label()}", err=True)

    try:  # a Ctrl-C while the points load (seconds for a large grid) exits 130 too, not click's "Aborted!" 1
        plan = prepare(scenario_file, grid, overrides=overrides, paths=paths, seed=seed)
        bar = None if quiet or progress or not sys.stderr.isatty() else ProgressBar("points", label="sweeping")
        result = run_sweep(plan, out_dir, workers=workers, scheduler=scheduler, overwrite=overwrite, retries=retries,
                           on_point=report if (progress or bar is not None) else None)
    except KeyboardInterrupt:
        kept = (f"finished points are kept in {out_dir}/points, re-run the same command to resume"
                if os.path.isdir(os.path.join(out_dir, "points")) else "no point had finished")
        click.echo(f"hashfleet: interrupted; {kept}", err=True)
        sys.exit(130)
    finally:
        if bar is not None:
            bar.close()
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
              help="Hashprice for the breakeven power price (default: 30, 45 and 60) and the ASIC price "
                   "index (default: the shipped history's last 30-day mean).")
@hardware_dir_option
@format_option
@_handle_errors
def hardware_show(model_id: str, hashprice_usd_per_ph_day, hardware_dirs, fmt: str) -> None:
    """Show one profile: spec, sources, tuning curve and breakeven power price."""
    from simulator.hardware import get_profile, profile_breakeven_power_usd_per_mwh, tuned_power_w
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
                  "breakeven_usd_per_mwh": float(profile_breakeven_power_usd_per_mwh(p, h))}
                 for h in hashprices]
    spec = p.model_dump(mode="json")
    from simulator.market.asic_market import price_rows

    prices = price_rows(p.power_w / p.hashrate_ths, hashprice_usd_per_ph_day)
    if fmt == "json":
        click.echo(json.dumps({"profile": spec, "tuning": tuning, "breakeven": breakeven, "asic_price": prices},
                              indent=2))
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
    click.echo("ASIC price index beside the latest dated market price of its efficiency tier (USD/TH):")
    emit(prices, fmt, floatfmt="{:,.2f}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
