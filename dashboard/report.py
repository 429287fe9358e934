"""Exports of a run: the page's charts as SVG or PNG files (in a zip) and a one-page HTML report.

Charts are rendered on the server by vl-convert (`charts.to_svg` / `charts.to_png`), so the report is one
self-contained file: inline SVG, no script, nothing fetched when it is opened (offline, or attached to a mail).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, common
from sim.service import RunResult

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 860px; margin: 2em auto;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
.meta { color: #666; font-size: 0.9em; }
.banner { padding: 0.8em 1em; border-radius: 6px; margin: 1em 0; }
.success { background: #e7f5e9; } .warning { background: #fff6dd; } .error { background: #fde8e8; }
.info { background: #e8f1fb; }
table { border-collapse: collapse; font-size: 0.88em; width: 100%; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
figure { margin: 1.2em 0; } figure svg { max-width: 100%; height: auto; }
"""


def figure_name(figure: charts.Figure, k: int) -> str:
    meta = figure.layout.get("usermeta") or {}
    if not meta and not isinstance(figure.chart, list):
        meta = figure.chart.to_dict(validate=False).get("usermeta", {})
    parts = [str(meta.get("negsim", "chart"))] + [str(meta[key]) for key in ("issue",) if key in meta]
    return f"{k + 1:02d}_" + "_".join(parts)


def charts_zip(figures: Sequence[charts.Figure], kind: str) -> bytes:
    """Every figure as `kind` ('svg' or 'png') in a zip file, named in page order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for k, figure in enumerate(figures):
            name = figure_name(figure, k)
            if kind == "svg":
                archive.writestr(f"{name}.svg", charts.to_svg(figure))
            else:
                archive.writestr(f"{name}.png", charts.to_png(figure))
    return buffer.getvalue()


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, escape=True, na_rep="–")


def _markdown_bold(text: str) -> str:
    """The banner's **bold** as <strong> (the only Markdown it uses besides the backslash escapes of
    `text.md`, which are undone), the rest HTML-escaped."""
    parts = [html.escape(re.sub(r"\\(.)", r"\1", part)) for part in text.split("**")]
    return "".join(f"<strong>{p}</strong>" if k % 2 else p for k, p in enumerate(parts))


def html_report(result: RunResult, figures: Sequence[charts.Figure], tables: dict[str, pd.DataFrame],
                source: str, changes: str = "") -> str:
    """One self-contained HTML page: the outcome in words, the settings, the tables and the charts (inline SVG)."""
    s = result.scenario
    p = s.protocol
    kind, sentence = common.outcome_sentence(result)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>negsim report: {html.escape(s.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(s.title)}</h1>",
        f'<p class="meta">negsim run of <code>{html.escape(source)}</code> · seed {result.seed} · '
        f"{html.escape(p.linkage.replace('_', ' '))} · {html.escape(result.mechanism.replace('_', ' '))} "
        f"mechanism · {result.rounds} of at most {p.max_rounds} rounds · made {when}</p>",
        f'<div class="banner {kind}">{_markdown_bold(sentence)}</div>',
    ]
    if changes:
        items = "".join(f"<li>{_markdown_bold(line[2:])}</li>" for line in changes.splitlines()
                        if line.startswith("- "))
        parts.append(f"<h2>Settings changed from the file</h2><ul>{items}</ul>")
    for title, frame in tables.items():
        parts.append(f"<h2>{html.escape(title)}</h2>{_table(frame)}")
    parts.append("<h2>Charts</h2>")
    for figure in figures:
        svg = charts.to_svg(figure)
        parts.append(f"<figure>{svg[svg.index('<svg'):]}</figure>")
    parts.append('<p class="meta">Made with the negsim dashboard. The same run: <code>negsim run</code> on the '
                 "saved scenario with the same seed.</p></body></html>")
    return "\n".join(parts)


def chart_downloads(figures: list, stem: str, where: Any = None) -> None:
    """Two buttons: this page's charts as SVG or PNG files in a zip (rendered only when clicked)."""

    left, right = (where or st).columns(2)
    left.download_button("Charts (SVG, zip)", icon=":material/image:", on_click="ignore", width="stretch",
                         data=lambda: charts_zip(figures, "svg"), file_name=f"{stem}_charts_svg.zip",
                         mime="application/zip", help="Every chart of this page as an SVG file (vector: for print).")
    right.download_button("Charts (PNG, zip)", icon=":material/image:", on_click="ignore", width="stretch",
                          data=lambda: charts_zip(figures, "png"), file_name=f"{stem}_charts_png.zip",
                          mime="application/zip", help="Every chart of this page as a PNG file (for slides).")
