"""Text from a scenario (labels, names, units, titles) made safe for the places it is shown in.

A scenario's author writes plain text: `unit: "%"`, `name: "*The* $ side"`, `label: "Tariffs {2022}"`. Each
place the dashboard shows it reads some characters as syntax: a slider's format is a sprintf-js format (a lone
`%` is a placeholder, and an unknown one crashes the slider), Streamlit's Markdown (every label, caption, help
text and message box) reads `*`, `_`, `[`, `$...$` (LaTeX), `:name:` (emoji and icons) ... Every label and unit
goes through one of these functions where it enters such a string; Vega-Lite titles, legends, tooltips and
data values are plain text and take it as it is.
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\`*_{}\[\]~|$&])|(:)(?=\S)")
"""Characters Markdown reads anywhere in a line: emphasis, code, links, entities, strikethrough, table cells,
LaTeX (`$`), and a colon that could open Streamlit's directives (`:red[...]`) or shortcodes (`:smile:`,
`:material/home:`). HTML needs no escape: Streamlit shows it as text."""
_LEADING = re.compile(r"^(\d+)([.)])(?=\s|$)|^([#>+\-=])")
"""What Markdown reads only at the start of a line: headings, quotes, list items."""


def md(text: object) -> str:
    """`text` as literal Markdown for Streamlit: every character Markdown, LaTeX or Streamlit's directives
    could read is backslash-escaped, and line breaks become spaces (a label is one line), so that a label,
    name or unit shows as written wherever it is dropped into a sentence, at its start or in the middle."""
    escaped = _INLINE.sub(lambda m: "\\" + m[0], " ".join(str(text).split()))
    return _LEADING.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", escaped)


def sprintf_literal(text: str) -> str:
    """`text` as literal text inside a sprintf-js format (a slider's `format`): `%` doubled."""
    return text.replace("%", "%%")


def unit_suffix(unit: str) -> str:
    """' unit' after a number in plain text (empty when the scale has no unit)."""
    return f" {unit}" if unit else ""
