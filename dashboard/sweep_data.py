"""Reading a `negsim sweep` output directory for the sweep explorer (pandas/pyarrow only) and summarising it
for display: a metric averaged over the runs at each value of one or two varied parameters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.state.sources import ROOT
from sim import service
from sim.sweep.analyze import names

RESULT_COLUMNS = {"run_id", "point", "replicate", "seed", "outcome", "rounds", "date", "tension", "error"}
RESULT_PREFIXES = ("agreed.", "value.", "utility.", "prediction.")
MAX_LEVELS = 12
"""A parameter with more distinct values than this (a continuous sampler) is cut into bins."""
BINS = 8


class SweepLoadError(Exception):
    """The directory is not a readable sweep: a message for the user."""


@dataclass(frozen=True)
class Sweep:
    path: str
    manifest: dict[str, Any]
    runs: pd.DataFrame          # successful and failed runs
    parameters: list[str]       # varied parameter paths
    failed: int
    names: dict[str, str] = field(default_factory=dict)    # parameter path -> readable name

    def name(self, path: str) -> str:
        """A varied parameter as the scenario names it ("Russia - walk-away utility"); its path if unknown."""
        return self.names.get(path, path)

    @property
    def issues(self) -> list[str]:
        return [c.split(".", 1)[1] for c in self.runs.columns if c.startswith("agreed.")]

    @property
    def ok(self) -> pd.DataFrame:
        """Runs that finished (no error)."""
        if "error" not in self.runs:
            return self.runs
        return self.runs[self.runs["error"].isna()]


def discover(bases: tuple[str, ...] = ("sweeps", "out")) -> list[str]:
    """Sweep directories (with a runs.parquet) under the repo's sweeps/ and out/ folders, two levels deep."""
    found = []
    for base in bases:
        root = ROOT / base
        if root.is_dir():
            for runs in sorted([*root.glob("runs.parquet"), *root.glob("*/runs.parquet"),
                                *root.glob("*/*/runs.parquet")]):
                found.append(str(runs.parent.relative_to(ROOT)))
    return found


def _parameters(manifest: dict[str, Any], runs: pd.DataFrame) -> list[str]:
    design = manifest.get("design")
    if not isinstance(design, dict):
        design = {}
    paths: list[str | None] = [f.get("path") for f in design.get("factors", []) if isinstance(f, dict)]
    if not paths:
        paths = [str(v).split("=", 1)[0] for v in design.get("vary", [])]
    if not paths:  # no design in the manifest: every column that is neither an id nor a result
        paths = [c for c in runs.columns if c not in RESULT_COLUMNS and not c.startswith(RESULT_PREFIXES)]
    return [p for p in paths if p is not None and p in runs.columns]


def read_sweep(path: str | Path) -> Sweep:
    """The manifest and run table of a sweep directory; SweepLoadError with a plain message otherwise."""
    directory = Path(path).expanduser()
    if not directory.is_absolute():
        directory = ROOT / directory
    if not directory.is_dir():
        raise SweepLoadError(f"{path}: no such directory")
    runs_file = directory / "runs.parquet"
    if not runs_file.exists():
        hint = " (the sweep has not finished: run the same `negsim sweep` command again to complete it)" if (
            directory / "parts").is_dir() else ""
        raise SweepLoadError(f"{path}: no runs.parquet here - not the output directory of `negsim sweep`{hint}")
    manifest: dict[str, Any] = {}
    manifest_file = directory / "manifest.json"
    if manifest_file.exists():
        try:
            manifest = json.loads(manifest_file.read_text())
        except (OSError, ValueError) as error:
            raise SweepLoadError(f"{manifest_file}: cannot read the manifest ({error})") from None
        if not isinstance(manifest, dict):
            raise SweepLoadError(f"{manifest_file}: not a sweep manifest")
    try:
        runs = pd.read_parquet(runs_file)
    except Exception as error:  # noqa: BLE001 - any unreadable file is a message, not a traceback
        raise SweepLoadError(f"{runs_file}: cannot read it ({type(error).__name__}: {error})") from None
    if "outcome" not in runs:
        raise SweepLoadError(f"{runs_file}: no 'outcome' column - not a negsim run table")
    failed = int(runs["error"].notna().sum()) if "error" in runs else 0
    parameters = _parameters(manifest, runs)
    return Sweep(str(directory), manifest, runs, parameters, failed, names(manifest, parameters))


@st.cache_data(show_spinner=False, max_entries=8)
def load_sweep(path: str, stamp: float) -> Sweep:
    """`read_sweep`, cached until runs.parquet changes (`stamp` is its modification time)."""
    return read_sweep(path)


def stamp(path: str) -> float:
    directory = Path(path).expanduser()
    directory = directory if directory.is_absolute() else ROOT / directory
    runs = directory / "runs.parquet"
    return runs.stat().st_mtime if runs.exists() else 0.0


# ---------------------------------------------------------------------- metrics
BAD_WHEN_HIGH = frozenset({"breakdown", "tension"})
"""Metrics where a higher value is worse: their colour scale runs green (low) to red (high)."""
NEUTRAL = frozenset({"rounds"})
"""Neither good nor bad when high (a long negotiation may end in a deal or in a stalemate): no green or red."""


def higher_is_better(metric: str) -> bool | None:
    """True for agreement-like metrics, False for breakdown and tension, None for neutral ones."""
    return None if metric in NEUTRAL else metric not in BAD_WHEN_HIGH


def is_numeric(column: pd.Series) -> bool:
    """A parameter with numbers for values (drawn along a line); others (linkage, mechanism) are categories."""
    return column.dtype.kind in "iuf"


def metrics(sweep: Sweep) -> dict[str, str]:
    """Metric id -> label, for the selector."""
    out = {"agreement": "Probability of full agreement", "any": "Probability of some agreement (full or partial)",
           "breakdown": "Probability of breakdown", "rounds": "Mean rounds", "tension": "Mean final tension"}
    for issue in sweep.issues:
        out[f"agreed.{issue}"] = f"Probability that {issue} is agreed"
    return out


def metric_values(runs: pd.DataFrame, metric: str) -> pd.Series:
    if metric == "agreement":
        return (runs["outcome"] == "agreement").astype(float)
    if metric == "any":
        return runs["outcome"].isin(["agreement", "partial"]).astype(float)
    if metric == "breakdown":
        return (runs["outcome"] == "breakdown").astype(float)
    return runs[metric].astype(float)


def levels(column: pd.Series) -> tuple[pd.Series, list[str]]:
    """Display labels for a parameter column and their order: the values themselves when there are few,
    otherwise equal-width bins over the observed range."""
    values = column.dropna()
    distinct = np.sort(values.unique()) if values.dtype.kind in "iufb" else list(dict.fromkeys(values))
    if len(distinct) <= MAX_LEVELS or values.dtype.kind not in "iuf":
        labels = column.map(lambda v: f"{v:g}" if isinstance(v, (int, float, np.number)) and not isinstance(
            v, bool) else str(v))
        order = [f"{v:g}" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else str(v)
                 for v in distinct]
        return labels, order
    edges = np.linspace(float(values.min()), float(values.max()), BINS + 1)
    codes = np.clip(np.searchsorted(edges, column.to_numpy(dtype=float), side="right") - 1, 0, BINS - 1)
    names = [f"{edges[k]:.3g}–{edges[k + 1]:.3g}" for k in range(BINS)]
    return pd.Series([names[c] for c in codes], index=column.index), names


def summarise(sweep: Sweep, metric: str, x: str, y: str | None = None) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Mean of `metric` over the finished runs at each level of x (and y): columns x_label, [y_label,] value,
    runs, and for a probability its 95 % Wilson interval (low, high); with the x and y level orders."""
    runs = sweep.ok
    x_labels, x_order = levels(runs[x])
    frame = pd.DataFrame({"x_label": x_labels, "value": metric_values(runs, metric)})
    keys = ["x_label"]
    y_order: list[str] = []
    if y is not None:
        y_labels, y_order = levels(runs[y])
        frame["y_label"] = y_labels
        keys.append("y_label")
    table = frame.groupby(keys, sort=False).agg(value=("value", "mean"), runs=("value", "size")).reset_index()
    table["x_label"] = pd.Categorical(table["x_label"], categories=x_order, ordered=True)
    if y is not None:
        table["y_label"] = pd.Categorical(table["y_label"], categories=y_order, ordered=True)
    table = table.sort_values(keys).reset_index(drop=True)
    if metric in ("agreement", "any", "breakdown") or metric.startswith("agreed."):   # a share: its interval
        bounds = [service.wilson(round(value * runs), int(runs)) for value, runs in zip(table["value"], table["runs"],
                                                                                         strict=True)]
        table["low"] = [interval.low for interval in bounds]
        table["high"] = [interval.high for interval in bounds]
    for key in keys:
        table[key] = table[key].astype(str)
    return table, x_order, y_order
