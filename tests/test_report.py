"""`hashfleet report`: contents, numbers, bad input, atomic writes and `run --report`.

The browser check (headless Chromium: no console errors, charts rendered, a screenshot) is
in test_report_browser.py.
"""
from __future__ import annotations

import json
import os
import re

import pandas as pd
import pytest

from simulator.report import build_report, charts
from simulator.report.extra_sections import sweep_section
from simulator.report.html import Chart
from simulator.report.inputs import load_sweep, sweep_keys
from simulator.report.tables import cost_per_btc_steps, yearly_revenue_mix
from simulator.results import revenue_mix

import report_fixtures as fx

FANS = {"btc_price_usd", "difficulty", "hashprice_usd_per_ph_day", "fleet_hashrate_ehs", "btc_mined", "cash_usd",
        "treasury_btc", "debt_usd", "equity_value_usd"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    return {"run": fx.hedged_run(folder), "ops": fx.operations_run(folder), "sweep": fx.sweep_dir(folder),
            "sweep1": fx.sweep_dir(folder, keys=1), "sweep3": fx.sweep_dir(folder, keys=3),
            "compare": fx.compare_dir(folder), "folder": folder}


@pytest.fixture(scope="module")
def full(dirs):
    """The CLI's report of the hedged run with a sweep and a compare, and its PNG folder."""
    out, png = dirs["folder"] / "full.html", dirs["folder"] / "png"
    result = fx.cli(["report", dirs["run"], "--out", str(out), "--png", str(png), "--sweep", dirs["sweep"],
                     "--compare", dirs["compare"]])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"wrote {out} and PNG charts in {png}/"
    return out.read_text(), png


def _slugs(html: str) -> list[str]:
    return re.findall(r'data-chart="([^"]+)"', html)


def test_report_has_every_section_and_chart(full):
    html, png = full
    slugs = _slugs(html)
    assert {f"fan_{c}" for c in FANS} <= set(slugs)
    assert {"cost_per_btc_waterfall", "revenue_mix", "hedge_pnl", "compare_bars", "sweep_end_nav_per_share_usd",
            "sweep_prob_cash_shortfall", "sweep_all_in_cost_per_btc_usd"} <= set(slugs)
    for section in ("digest", "metrics", "fans", "costs", "revenue", "hedges", "sweep", "compare"):
        assert f'<section id="{section}">' in html
    # the PNG folder holds the same charts, as real PNGs
    assert sorted(os.listdir(png)) == sorted(f"{s}.png" for s in slugs)
    for name in os.listdir(png):
        data = (png / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name


def test_report_is_self_contained(full):
    html, _ = full
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert re.findall(r'src="([^"]{0,26})', html) and all(s.startswith("data:image/svg+xml;base64,")
                                                         for s in re.findall(r'src="([^"]{0,26})', html))
    assert not re.search(r"(href|src)=\"(?!#|data:)", html)  # links stay in the page
    assert "url(" not in html  # no fetched font or background


def test_digest_names_the_run(full, dirs):
    html, _ = full
    summary = json.loads(open(os.path.join(dirs["run"], "summary.json")).read())
    for text in (summary["scenario"], summary["scenario_sha256"], dirs["run"], "<dd>8</dd>", "<dd>7</dd>",
                 "2026-01-01 to 2027-12-31 (730 days)"):
        assert text in html, text


def test_metric_table_has_units_and_every_metric(full, dirs):
    html, _ = full
    summary = json.loads(open(os.path.join(dirs["run"], "summary.json")).read())
    for name in summary["metrics"]:
        assert f"<td>{name}</td>" in html
    assert "<td>all_in_cost_per_btc_usd</td><td>USD/BTC</td>" in html
    assert "<td>btc_per_ehs_day</td><td>BTC/(EH/s·day)</td>" in html


def test_waterfall_totals_are_the_registry_metrics(dirs):
    """Rebuilt from monthly lines, the running totals equal summary.json's cost-per-BTC means."""
    monthly = pd.read_parquet(os.path.join(dirs["run"], "monthly.parquet"))
    summary = json.loads(open(os.path.join(dirs["run"], "summary.json")).read())["metrics"]
    steps, mined_paths = cost_per_btc_steps(monthly)
    subtotals = {s.metric: s.usd_per_btc for s in steps if s.kind == "subtotal"}
    assert set(subtotals) == {"power_cost_per_btc_usd", "direct_cost_per_btc_usd", "cash_cost_per_btc_usd",
                              "all_in_cost_per_btc_usd"}
    for metric, value in subtotals.items():
        assert value == pytest.approx(summary[metric]["mean"], rel=1e-9), metric
    assert mined_paths == summary["all_in_cost_per_btc_usd"]["defined_paths"]
    components = [s for s in steps if s.kind == "component"]
    assert [s.label for s in components][:2] == ["Power (net of energy sold back)", "Site opex"]
    assert {"SG&A", "SBC", "Depreciation (mining)", "Interest (mining)"} <= {s.label for s in components}
    assert sum(s.usd_per_btc for s in components) == pytest.approx(subtotals["all_in_cost_per_btc_usd"], rel=1e-12)
    for a, b in zip(components, components[1:]):
        assert b.start == pytest.approx(a.end)


@pytest.fixture(scope="module")
def ops_copy(dirs):
    """A copy of the operations run's files, given a report by ``hashfleet report DIR`` (no --out)."""
    run = dirs["folder"] / "ops_copy"
    run.mkdir()
    for name in ("summary.json", "daily.parquet", "daily_quantiles.parquet", "monthly.parquet"):
        (run / name).write_bytes(open(os.path.join(dirs["ops"], name), "rb").read())
    result = fx.cli(["report", str(run)])
    return run, result


@pytest.fixture(scope="module")
def ops_report(dirs, ops_copy):
    """The operations run's report, built in-process from the original folder and named like the
    copy: one build serves the operations-only checks and the determinism check."""
    return build_report(dirs["ops"], label=str(ops_copy[0]))


def test_operations_only_run(dirs, ops_report):
    """Without a company: no finance fans, the waterfall stops at direct cost, no hedge section."""
    report = ops_report
    slugs = {c.slug for c in report.charts}
    assert "fan_btc_price_usd" in slugs and "fan_cash_usd" not in slugs and "hedge_pnl" not in slugs
    assert 'id="hedges"' not in report.html
    monthly = pd.read_parquet(os.path.join(dirs["ops"], "monthly.parquet"))
    steps, _ = cost_per_btc_steps(monthly)
    assert [s.metric for s in steps if s.kind == "subtotal"] == ["power_cost_per_btc_usd", "direct_cost_per_btc_usd"]
    summary = json.loads(open(os.path.join(dirs["ops"], "summary.json")).read())["metrics"]
    assert steps[-1].usd_per_btc == pytest.approx(summary["direct_cost_per_btc_usd"]["mean"], rel=1e-9)


def test_revenue_mix_by_year(dirs):
    monthly = pd.read_parquet(os.path.join(dirs["run"], "monthly.parquet"))
    mix = yearly_revenue_mix(monthly)
    assert list(mix.index) == [2026, 2027] and list(mix.months) == [12, 12]
    pd.testing.assert_frame_equal(mix.drop(columns="months"), revenue_mix(monthly))
    per_path_2027 = monthly[pd.to_datetime(monthly.month).dt.year == 2027].groupby("path").hpc_revenue_usd.sum()
    assert mix.at[2027, "hpc_revenue_usd"] == pytest.approx(per_path_2027.mean())


def test_hedge_section_shows_monthly_quantiles(full, dirs):
    html, _ = full
    monthly = pd.read_parquet(os.path.join(dirs["run"], "monthly.parquet"))
    assert monthly.hedge_pnl_usd.abs().sum() > 0  # the fixture's put and swap did settle
    total = monthly.groupby("path").hedge_pnl_usd.sum()
    assert "hedge_pnl_usd [USD]" in html and f"{total.mean():,.0f}" in html


def _charts(section):
    return {p.slug: p for p in section.parts if isinstance(p, Chart)}


def test_sweep_heatmaps_one_key_and_three_keys(dirs):
    heat = _charts(sweep_section(load_sweep(dirs["sweep"])))["sweep_end_nav_per_share_usd"]
    (ax, _colorbar) = heat.figure.axes
    assert ax.get_xlabel() == "market.btc_price.drift_annual" and ax.get_ylabel() == "network.hashrate.growth_annual"
    grid = ax.images[0].get_array()
    assert grid.shape == (len(fx.GROWTHS), len(fx.DRIFTS))
    assert grid[0, -1] == pytest.approx(2.0 + 10 * fx.DRIFTS[-1] - 4 * fx.GROWTHS[0])  # row = growth, col = drift
    line = _charts(sweep_section(load_sweep(dirs["sweep1"])))["sweep_end_nav_per_share_usd"]
    assert line.figure.axes[0].get_xlabel() == "market.btc_price.drift_annual"
    three = sweep_section(load_sweep(dirs["sweep3"]))
    assert any("at fleet[0].units = 6000" in p for p in three.parts if isinstance(p, str))
    grid3 = _charts(three)["sweep_end_nav_per_share_usd"].figure.axes[0].images[0].get_array()
    assert grid3.shape == grid.shape


def test_sweep_keys_are_the_non_metric_columns():
    table = pd.DataFrame(columns=["point", "market.btc_price.drift_annual", "fleet[0].units", "horizon_days",
                                  "btc_mined", "btc_mined_p5", "my_metric", "my_metric_p50", "status"])
    assert sweep_keys(table) == ("market.btc_price.drift_annual", "fleet[0].units", "horizon_days")


def test_compare_table_has_a_column_per_company(full):
    html, _ = full
    assert "<th class=\"num\">Efficient Co</th><th class=\"num\">Levered Co</th><th class=\"num\">HPC Co</th>" in html
    assert "<td>end_net_debt_usd</td><td>USD</td><td class=\"num\">100,000,000</td>" in html


def _bad(args, expected_prefix, folder):
    before = sorted(os.listdir(folder))
    result = fx.cli(["report", *args])
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected_prefix), result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir(folder)) == before  # nothing written, not even a temporary file


def test_bad_input_exits_2_with_one_line(dirs, tmp_path):
    _bad([str(tmp_path / "missing")], f"{tmp_path / 'missing'}:1:1: no such run directory", tmp_path)
    (tmp_path / "empty").mkdir()
    _bad([str(tmp_path / "empty")], f"{tmp_path / 'empty'}:1:1: not a run directory: summary.json,", tmp_path)
    (tmp_path / "afile").write_text("x")
    _bad([str(tmp_path / "afile")], f"{tmp_path / 'afile'}:1:1: not a directory", tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("summary.json", "daily.parquet", "daily_quantiles.parquet", "monthly.parquet"):
        (broken / name).write_bytes(open(os.path.join(dirs["run"], name), "rb").read())
    (broken / "summary.json").write_text('{\n  "metrics": {,}\n}\n')
    _bad([str(broken)], f"{broken / 'summary.json'}:2:15: invalid JSON", broken)
    (broken / "summary.json").write_bytes(open(os.path.join(dirs["run"], "summary.json"), "rb").read())
    (broken / "monthly.parquet").write_bytes(b"PAR1 truncated")
    _bad([str(broken)], f"{broken / 'monthly.parquet'}:1:1: cannot read this Parquet file", broken)
    _bad([dirs["run"], "--sweep", dirs["compare"]], f"{dirs['compare']}:1:1: not a sweep directory", broken)
    _bad([dirs["run"], "--compare", str(tmp_path / "nope")], f"{tmp_path / 'nope'}:1:1: no such compare", broken)
    _bad([dirs["run"], "--out", str(tmp_path)], f"{tmp_path}:1:1: is a directory", broken)
    assert not os.path.exists(os.path.join(dirs["run"], "report.html"))


def test_default_out_is_in_the_run_dir_and_deterministic(ops_copy, ops_report):
    run, result = ops_copy
    assert result.exit_code == 0, result.stderr
    assert (run / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert f"<dd>{run}</dd>" in ops_report.html  # the page names the copy, as the CLI's did
    assert sorted(os.listdir(run)) == ["daily.parquet", "daily_quantiles.parquet", "monthly.parquet",
                                       "report.html", "summary.json"]
    # deterministic: a second build, from the original folder's identical files, gives the same bytes
    assert ops_report.html == (run / "report.html").read_text()


def test_run_report_is_part_of_the_atomic_write(tmp_path, monkeypatch):
    out = tmp_path / "out"
    args = ["run", str(fx.SCENARIOS / "halving_crossing.yaml"), "--paths", "2", "--out", str(out), "--report"]
    result = fx.cli(args)
    assert result.exit_code == 0, result.stderr
    assert "report.html" in os.listdir(out) and "report.html)" in result.stdout
    assert f"<dd>{out}</dd>" in (out / "report.html").read_text()  # named by its final place, not the temporary one
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o777 & ~umask  # not the temporary directory's 0700

    def failing(fig):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(charts, "svg", failing)
    result = fx.cli(args[:-3] + ["--out", str(tmp_path / "second"), "--report"])
    assert result.exit_code != 0
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no second directory, whole or partial


# --------------------------------------------------------------------------- in a real browser
def _browser_or_skip() -> str:
    """Chromium's path; without one the test skips, except under CI (CI=true), where it fails."""
    import cdp

    path = cdp.find_chromium()
    if path:
        return path
    message = "no chromium on PATH (`make test` installs Debian's package: tools/ensure-chromium.sh)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(message + "; under CI the browser test must run")
    pytest.skip(message)


def test_report_renders_in_headless_chromium(full, dirs, tmp_path):
    """Open the report offline: no console errors or requests, every chart decoded and laid out, a screenshot."""
    import cdp
    from PIL import Image

    html, _ = full
    expected = _slugs(html)
    with cdp.Browser(_browser_or_skip(), width=1280, height=900) as browser:
        page = browser.open((dirs["folder"] / "full.html").resolve().as_uri())
        charts_in_page = browser.evaluate(page, """[...document.querySelectorAll('figure[data-chart] img')].map(img => {
            const r = img.getBoundingClientRect();
            return {slug: img.parentElement.dataset.chart, complete: img.complete, naturalWidth: img.naturalWidth,
                    naturalHeight: img.naturalHeight, width: r.width, height: r.height};
        })""")
        title = browser.evaluate(page, "document.title")
        shot = browser.screenshot_png(page)
        problems = browser.problems(page)
    assert problems == []
    assert title.startswith("hashfleet report — Contract example")
    assert [c["slug"] for c in charts_in_page] == expected
    for chart in charts_in_page:
        assert chart["complete"] and chart["naturalWidth"] > 100 and chart["naturalHeight"] > 100, chart
        assert chart["width"] > 300 and chart["height"] > 100, chart
    path = tmp_path / "report.png"
    path.write_bytes(shot)
    image = Image.open(path)
    assert image.width == 1280 and image.height > 3000
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # charts, not a blank page
