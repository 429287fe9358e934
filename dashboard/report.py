"""Exports of a run: the page's charts as SVG or PNG files (in a zip) and a one-page HTML report.

Charts are rendered on the server by vl-convert (`charts.to_svg` / `charts.to_png`), so the report is one
self-contained file: inline SVG, no script, nothing fetched when it is opened (offline, or attached to a mail).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from dashboard import charts, common
from sim.service import RunResult

_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                         autoescape=select_autoescape(default=True), keep_trailing_newline=True)
"""The report's HTML template (as the classroom debrief's): every value escaped unless marked safe."""


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


def _table(frame: pd.DataFrame) -> Markup:
    return Markup(frame.to_html(index=False, border=0, escape=True, na_rep="–"))


def _markdown_bold(text: str) -> Markup:
    """The banner's **bold** as <strong> (the only Markdown it uses besides the backslash escapes of
    `text.md`, which are undone), the rest HTML-escaped."""
    parts = [escape(re.sub(r"\\(.)", r"\1", part)) for part in str(text).split("**")]
    return Markup("").join(Markup("<strong>%s</strong>") % p if k % 2 else p for k, p in enumerate(parts))


_TEMPLATES.filters["bold"] = _markdown_bold


def html_report(result: RunResult, figures: Sequence[charts.Figure], tables: dict[str, pd.DataFrame],
                source: str, changes: str = "") -> str:
    """One self-contained HTML page: the outcome in words, the settings, the tables and the charts (inline SVG),
    from the template `dashboard/templates/report.html.j2`."""
    s = result.scenario
    kind, sentence = common.outcome_sentence(result)
    svgs = [charts.to_svg(figure) for figure in figures]
    return _TEMPLATES.get_template("report.html.j2").render(
        title=s.title, source=source, seed=result.seed, linkage=s.protocol.linkage.replace("_", " "),
        mechanism=result.mechanism.replace("_", " "), rounds=result.rounds, max_rounds=s.protocol.max_rounds,
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), kind=kind, sentence=sentence,
        changes=[line[2:] for line in changes.splitlines() if line.startswith("- ")],
        tables=[(heading, _table(frame)) for heading, frame in tables.items()],
        svgs=[Markup(svg[svg.index("<svg"):]) for svg in svgs])


def chart_downloads(figures: list, stem: str, where: Any = None) -> None:
    """Two buttons: this page's charts as SVG or PNG files in a zip (rendered only when clicked)."""

    left, right = (where or st).columns(2)
    left.download_button("Charts (SVG, zip)", icon=":material/image:", on_click="ignore", width="stretch",
                         data=lambda: charts_zip(figures, "svg"), file_name=f"{stem}_charts_svg.zip",
                         mime="application/zip", help="Every chart of this page as an SVG file (vector: for print).")
    right.download_button("Charts (PNG, zip)", icon=":material/image:", on_click="ignore", width="stretch",
                          data=lambda: charts_zip(figures, "png"), file_name=f"{stem}_charts_png.zip",
                          mime="application/zip", help="Every chart of this page as a PNG file (for slides).")
