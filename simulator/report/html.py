"""HTML of the report: one self-contained page, inline CSS, charts as data-URI SVG images, no script.

Nothing in the page is fetched: no stylesheet, font, script or image from elsewhere, so it
opens offline and from an e-mail attachment alike.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html import escape

from simulator.report.fmt import number

CSS = """
:root { --ink: #1b1f24; --muted: #5b636d; --rule: #d8dde3; --band: #f3f6f9; --accent: #08519c; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1320px; padding: 24px 28px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 36px 0 8px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.lead, p.note, figcaption { color: var(--muted); } p.note { font-size: 12.5px; }
nav { margin: 12px 0 8px; font-size: 13px; } nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0 12px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.subtotal td { font-weight: 600; }
dl.digest { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13px; margin: 8px 0; }
dl.digest dt { color: var(--muted); } dl.digest dd { margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 12px; min-width: 180px; background: #fff; }
.card .label { color: var(--muted); font-size: 12px; } .card .value { font-size: 20px; font-weight: 600; }
.card .range { color: var(--muted); font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 14px; }
figure { margin: 0; border: 1px solid var(--rule); border-radius: 6px; padding: 8px; background: #fff; }
figure img { display: block; width: 100%; height: auto; }
figcaption { font-size: 12px; margin-top: 4px; }
.scroll { overflow-x: auto; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""


@dataclass
class Chart:
    """A chart of the report: ``slug`` names its PNG file, ``figure`` is a matplotlib Figure."""

    slug: str
    title: str
    caption: str
    figure: object
    svg: bytes = b""


@dataclass
class Section:
    """A titled part of the page: HTML fragments and charts, in order."""

    slug: str
    title: str
    parts: list = field(default_factory=list)


def table(columns: list[str], rows: list[list], *, numeric: list[bool] | None = None,
          row_classes: list[str] | None = None, titles: list[str] | None = None) -> str:
    """An HTML table; numeric cells are formatted with :func:`number` and right-aligned."""
    numeric = numeric or [False] * len(columns)
    head = "".join(f'<th class="num">{escape(c)}</th>' if n else f"<th>{escape(c)}</th>"
                   for c, n in zip(columns, numeric))
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        title = f' title="{escape(titles[i])}"' if titles and titles[i] else ""
        cells = "".join(f'<td class="num">{escape(number(v))}</td>' if n else f"<td>{escape(str(v))}</td>"
                        for v, n in zip(row, numeric))
        body.append(f"<tr{cls}{title}>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def digest(items: list[tuple[str, str]]) -> str:
    return '<dl class="digest">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items) + "</dl>"


def cards(items: list[tuple[str, str, str]]) -> str:
    """Headline figures: (label, value, range) each."""
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="label">{escape(a)}</div><div class="value">{escape(b)}</div>'
        f'<div class="range">{escape(c)}</div></div>' for a, b, c in items) + "</div>"


def paragraph(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{escape(text)}</p>'


def _figure(chart: Chart) -> str:
    data = base64.b64encode(chart.svg).decode("ascii")
    return (f'<figure id="chart-{escape(chart.slug)}" data-chart="{escape(chart.slug)}">'
            f'<img alt="{escape(chart.title)}" src="data:image/svg+xml;base64,{data}">'
            f"<figcaption>{escape(chart.caption)}</figcaption></figure>")


def _section(section: Section) -> str:
    out, run = [f'<section id="{escape(section.slug)}"><h2>{escape(section.title)}</h2>'], []
    for part in section.parts + [None]:
        if isinstance(part, Chart):
            run.append(_figure(part))
            continue
        if run:  # consecutive charts share a grid
            out.append('<div class="charts">' + "".join(run) + "</div>")
            run = []
        if part is not None:
            out.append(part)
    out.append("</section>")
    return "\n".join(out)


def page(title: str, subtitle: str, sections: list[Section], footer: str) -> str:
    """The whole document."""
    nav = "".join(f'<a href="#{escape(s.slug)}">{escape(s.title)}</a>' for s in sections)
    body = "\n".join(_section(s) for s in sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n<p class=\"lead\">{escape(subtitle)}</p>\n<nav>{nav}</nav>\n{body}\n"
            f"<footer>{escape(footer)}</footer>\n</body>\n</html>\n")
