"""Spatial-model CSV files (BDM replication and KTAB layouts) as scenario documents."""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from pathlib import Path
from typing import Any

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.limits import MAX_FILE_BYTES, MAX_MAGNITUDE, MAX_MAGNITUDE_TEXT, allow_csv_fields


def _slug(name: str, taken: set[str]) -> str:
    plain = unicodedata.normalize("NFKD", name.strip().lower())     # 'Österreich' -> 'osterreich'
    base = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in plain if not unicodedata.combining(ch))
    base = base.strip("_") or "actor"
    base = ("a_" + base) if not base[0].isalpha() else base
    base = base[:36]
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def csv_document(text: str, source: str = "", scale: tuple[float, float] | None = None) -> dict[str, Any]:
    """Turn a spatial-model CSV into a scenario document.

    Two published layouts are recognised by their header:
    BDM replication ``Actor,Capability,Position,Salience`` (one issue) and
    KTAB ``Actor,Description,Power,Pstn1,Sal1,Pstn2,Sal2,...``.
    Lines starting with '#' are comments. Saliences may be 0-1 or 0-100 (the whole file uses one).
    The issue scale is [min, max] of the positions unless ``scale`` is given.
    """
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    comments = [line.lstrip()[1:].strip() for line in text.splitlines() if line.lstrip().startswith("#")]
    allow_csv_fields(MAX_FILE_BYTES)           # a field may be as long as the file may be
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines))))
    except csv.Error as err:
        raise ScenarioError([Problem("", f"not a readable CSV file ({err})")], source) from None
    if not rows:
        raise ScenarioError([Problem("", "CSV has no header row")], source)
    header = [h.strip().lower() for h in rows[0]]
    body = rows[1:]
    problems: list[Problem] = []
    if header[:4] == ["actor", "capability", "position", "salience"] and len(header) == 4:
        layout, issue_cols = "bdm", [(2, 3)]
        name_col, power_col = 0, 1
    elif header[:3] == ["actor", "description", "power"] and len(header) >= 5 and (len(header) - 3) % 2 == 0:
        layout, name_col, power_col = "ktab", 0, 2
        issue_cols = [(3 + 2 * k, 4 + 2 * k) for k in range((len(header) - 3) // 2)]
        for k, (p, s) in enumerate(issue_cols, start=1):
            if header[p] != f"pstn{k}" or header[s] != f"sal{k}":
                problems.append(Problem("header", f"KTAB columns must alternate Pstn{k},Sal{k} "
                                                  f"(got {rows[0][p]},{rows[0][s]})"))
    else:
        raise ScenarioError([Problem("header", "unrecognised CSV layout: expected 'Actor,Capability,Position,"
                                               "Salience' (BDM) or 'Actor,Description,Power,Pstn1,Sal1,...' "
                                               f"(KTAB); got {','.join(rows[0])!r}")], source)
    if not body:
        problems.append(Problem("", "CSV has a header but no actor rows"))
    parsed: list[tuple[str, float, list[float], list[float]]] = []
    rows_of: dict[str, tuple[int, str]] = {}     # actor id -> (line, name) of the row that gave it
    for line_no, row in enumerate(body, start=2):
        if len(row) != len(header):
            problems.append(Problem(f"row {line_no}", f"expected {len(header)} columns, got {len(row)}"))
            continue
        values: dict[int, float] = {}
        for col in [power_col] + [c for pair in issue_cols for c in pair]:
            try:
                values[col] = float(row[col])
                if not math.isfinite(values[col]):
                    raise ValueError
            except ValueError:
                problems.append(Problem(f"row {line_no}.{rows[0][col].strip()}",
                                        f"must be a number (got {row[col][:40]!r})"))
            else:
                if abs(values[col]) > MAX_MAGNITUDE:
                    del values[col]
                    problems.append(Problem(f"row {line_no}.{rows[0][col].strip()}",
                                            f"must be within ±{MAX_MAGNITUDE_TEXT} (got {row[col].strip()[:40]})"))
        name = row[name_col].strip()
        actor_id = _slug(name, set())
        if actor_id in rows_of:     # two rows for one actor: an error, never a silent rename
            first_line, first_name = rows_of[actor_id]
            same = "the same name" if first_name == name else f"the same actor id '{actor_id}' as {first_name!r}"
            problems.append(Problem(f"row {line_no}.{rows[0][name_col].strip()}",
                                    f"{name!r} has {same} in row {first_line}; actor names must be unique"))
        rows_of.setdefault(actor_id, (line_no, name))
        if len(values) == 1 + 2 * len(issue_cols):
            parsed.append((name, values[power_col],
                           [values[p] for p, _ in issue_cols], [values[s] for _, s in issue_cols]))
    if problems:
        raise ScenarioError(problems, source)
    all_sal = [s for _, _, _, sal in parsed for s in sal]
    sal_factor = 100.0 if max(all_sal, default=0.0) > 1.0 else 1.0
    issues = []
    for k in range(len(issue_cols)):
        positions = [pos[k] for _, _, pos, _ in parsed]
        lo, hi = scale if scale is not None else (min(positions), max(positions))
        if hi <= lo:  # all actors agree: give the scale some width so it is valid
            lo, hi = lo - 1.0, hi + 1.0
        issue_id = "issue" if len(issue_cols) == 1 else f"issue{k + 1}"
        issues.append({"id": issue_id, "label": f"Issue {k + 1}" if len(issue_cols) > 1 else "Issue",
                       "scale": {"min": lo, "max": hi}, "low_label": f"{lo:g}", "high_label": f"{hi:g}"})
    taken: set[str] = set()
    actors = []
    for name, power, positions, saliences in parsed:
        actors.append({
            "id": _slug(name, taken), "name": name or "actor", "capability": power,
            "positions": {iss["id"]: p for iss, p in zip(issues, positions, strict=True)},
            "saliences": {iss["id"]: s / sal_factor for iss, s in zip(issues, saliences, strict=True)},
        })
    stem = Path(source).stem if source else "csv_import"
    return {"id": _slug(stem, set()), "title": stem.replace("_", " "),
            "description": " ".join(comments), "source": f"CSV import ({layout} layout) of {source}".strip(),
            "issues": issues, "actors": actors}
