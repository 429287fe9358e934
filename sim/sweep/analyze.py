"""Summaries of a finished sweep: agreement probability by parameter value (table + PNG) and Sobol indices.

- `agreement_table`: for each varied parameter, the share of runs at each of its values (binned for a
  continuous sampler) that ended in each outcome, and the share that agreed each issue. Failed runs are
  counted, not averaged. Each share has its 95 % Wilson interval.
- `sobol_indices`: first- and total-order Sobol indices (SALib) of chosen outputs
  over the varied parameters, from a sweep run with ``sampler="sobol"`` (the Saltelli design). Each point's
  output is the mean over its replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.intervals import wilson
from sim.core.table_rules import OUTCOMES
from sim.sweep.base import SweepError
from sim.sweep.design import Factor
from sim.sweep.directory import SweepDir
from sim.sweep.results import read_runs
from sim.sweep.samplers import SAMPLERS


def load(path: str | Path) -> tuple[dict[str, Any], list[Factor], pd.DataFrame]:
    """Manifest, factors and run table of a finished sweep directory."""
    manifest = SweepDir(path).read_manifest()
    if manifest is None:
        raise SweepError(f"{path}: not a sweep directory (no manifest.json)")
    try:
        design = manifest["design"]
        factors = [Factor.from_json(doc) for doc in design["factors"]]
        missing = [key for key in ("sampler", "n_points", "root_seed") if key not in design]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise SweepError(f"{path}: the manifest is damaged ({type(error).__name__}: {error})") from None
    if missing:
        raise SweepError(f"{path}: the manifest is damaged (no design.{', design.'.join(missing)})")
    return manifest, factors, read_runs(path)


def names(manifest: dict[str, Any], paths: Sequence[str]) -> dict[str, str]:
    """Path -> readable name (`sim.scenario.label`) of the parameters and drawn inputs of a sweep, from the
    scenario its manifest holds; a path it cannot name (an old or damaged manifest) is named by itself."""
    from sim.scenario import ScenarioError, label, parse_scenario

    try:
        scenario = parse_scenario(manifest["scenario"], "manifest.json")
    except (KeyError, TypeError, ScenarioError):
        return {path: path for path in paths}
    return {path: label(scenario, path) for path in paths}


def _issues(runs: pd.DataFrame) -> list[str]:
    return [c.split(".", 1)[1] for c in runs.columns if c.startswith("agreed.")]


def _shares(group: pd.DataFrame, issues: Sequence[str]) -> dict[str, float | str | None]:
    """Runs, failed, each outcome's share and each issue's agreement rate among the successful runs, each share
    with its 95 % Wilson interval (low.<share>, high.<share>)."""
    ok = group[group["error"].isna()]
    n = len(ok)
    row: dict[str, float | str | None] = {"runs": len(group), "failed": len(group) - n}
    counts = {outcome: int((ok["outcome"] == outcome).sum()) for outcome in OUTCOMES}
    counts.update({f"agreed.{issue}": int(ok[f"agreed.{issue}"].astype(float).sum()) for issue in issues})
    for name, hits in counts.items():
        interval = wilson(hits, n)
        row[name], row[f"low.{name}"], row[f"high.{name}"] = interval.share, interval.low, interval.high
    if "date" in group:     # a scenario with a calendar: when the talks ended, as a date (the lower median)
        dates = np.sort(ok["date"].dropna().to_numpy(dtype="datetime64[D]"))
        row["median_end_date"] = str(dates[(len(dates) - 1) // 2]) if len(dates) else None
    return row


def agreement_table(runs: pd.DataFrame, factors: Sequence[Factor], sampler: str = "grid",
                    bins: int = 10) -> pd.DataFrame:
    """One row per (parameter, value): runs, failed, outcome shares, per-issue agreement rates, each share with
    its 95 % Wilson interval (low.<column>, high.<column>) and, under a calendar, the median date on which the talks
    ended (`median_end_date`).

    Values are exact for a grid or a value list; a range sampled continuously is cut into `bins` equal bins
    (`value` is the bin's midpoint, `bin` its interval)."""
    issues = _issues(runs)
    rows: list[dict[str, Any]] = []
    if not factors:
        rows.append({"parameter": "(all runs)", "value": "", "bin": "", **_shares(runs, issues)})
    for factor in factors:
        column = runs[factor.path]
        if factor.kind == "range" and SAMPLERS.get(sampler).sized and factor.span[1] > factor.span[0]:
            edges = np.linspace(*factor.span, bins + 1)
            codes = np.clip(np.searchsorted(edges, column.to_numpy(dtype=float), side="right") - 1, 0, bins - 1)
            for code in np.unique(codes):
                lo, hi = edges[code], edges[code + 1]
                rows.append({"parameter": factor.path, "value": (lo + hi) / 2, "bin": f"[{lo:.4g}, {hi:.4g}]",
                             **_shares(runs[codes == code], issues)})
        else:
            order = list(factor.values) if factor.kind == "values" else sorted(column.unique())
            for value in order:
                subset = runs[column == value]
                if len(subset):
                    rows.append({"parameter": factor.path, "value": value, "bin": "", **_shares(subset, issues)})
    table = pd.DataFrame(rows)
    table["runs"] = table["runs"].astype(int)
    table["failed"] = table["failed"].astype(int)
    return table


def plot_agreement(table: pd.DataFrame, path: str | Path, title: str = "",
                   names: dict[str, str] | None = None) -> Path:
    """One panel per parameter: P(agreement on everything) and P(issue agreed) against its value, as a PNG
    (Altair, rendered offline by vl-convert: the dashboard's chart stack); each x axis is titled by `names` (path
    -> readable name) and the path."""
    import altair as alt
    import vl_convert

    issues = [c.split(".", 1)[1] for c in table.columns if c.startswith("agreed.")]
    lines = {"agreement": "agreement (all issues)", **{f"agreed.{issue}": f"{issue} agreed" for issue in issues}}
    panels = []
    for param in dict.fromkeys(table["parameter"]):
        part = table[table["parameter"] == param]
        values = list(part["value"])
        numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                      for v in values) and param != "(all runs)"
        long = pd.DataFrame([{"x": float(v) if numeric else str(v), "line": label, "probability": float(p)}
                             for column, label in lines.items()
                             for v, p in zip(values, part[column], strict=True)])
        named = (names or {}).get(param)
        x = alt.X("x:Q" if numeric else "x:N", title=[named, f"({param})"] if named and named != param else str(param),
                  sort=None,
                  axis=alt.Axis(labelAngle=0 if numeric or len(values) <= 3 else -20))
        y = alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), title="probability")
        legend = alt.Legend(orient="bottom", columns=5, symbolStrokeWidth=3)
        color = alt.Color("line:N", sort=list(lines.values()), title=None, legend=legend,
                          scale=alt.Scale(domain=list(lines.values()),
                                          range=["#000000", "#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#0072b2"]))
        # the all-issues line wide and beneath, each issue's thin and dashed on top: equal lines stay visible
        under = alt.Chart(long[long["line"] == lines["agreement"]]).mark_line(strokeWidth=5, opacity=0.45)
        over = alt.Chart(long[long["line"] != lines["agreement"]]).mark_line(strokeWidth=1.8, strokeDash=[6, 3],
                                                                             point=len(values) < 30)
        layers = [layer.encode(x=x, y=y, color=color) for layer in (under, over)]
        if "low.agreement" in part:     # the all-issues line's 95 % (Wilson) interval, a grey band beneath
            band = pd.DataFrame({"x": [float(v) if numeric else str(v) for v in values],
                                 "low": part["low.agreement"].to_numpy(dtype=float),
                                 "high": part["high.agreement"].to_numpy(dtype=float)})
            layers.insert(0, alt.Chart(band).mark_area(color="#000000", opacity=0.12).encode(
                x=x, y=alt.Y("low:Q", scale=alt.Scale(domain=[0, 1]), title="probability"), y2="high:Q"))
        panels.append(alt.layer(*layers).properties(width=300, height=200))
    rows = [alt.hconcat(*panels[k:k + 3]) for k in range(0, len(panels), 3)]
    chart = alt.vconcat(*rows) if rows else alt.Chart(pd.DataFrame()).mark_point()
    if title:
        chart = chart.properties(title=alt.Title(title[:200], anchor="start"))   # plain text: Vega renders no markup
    out = Path(path)
    out.write_bytes(vl_convert.vegalite_to_png(chart.to_dict(), scale=1.5))
    return out


# ====================================================================== drawn inputs
INPUT_PREFIX = "input."


INFLUENCE_COLUMNS = ["output", "input", "spearman", "draws", "runs",
                     "share_low_third", "low_low_third", "high_low_third", "runs_low_third",
                     "share_high_third", "low_high_third", "high_high_third", "runs_high_third"]


def assumption_influence(runs: pd.DataFrame, outputs: Sequence[str] = ("agreement", "breakdown")) -> pd.DataFrame:
    """Which drawn assumptions go with which outcomes, from runs that drew their uncertain inputs (the
    `input.PATH` columns of a Monte Carlo or sweep over seeds): per input and output, Spearman's rank correlation
    between the drawn value and the output (an outcome's indicator), and the output's share among the runs that
    drew the input's lowest and highest third, each with its 95 % Wilson interval and its number of runs
    (low_/high_/runs_ + low_third or high_third). Sorted by the strength of the correlation. A screening measure
    over one sample, not a variance decomposition: for Sobol indices run `negsim sweep --assumptions --sampler
    sobol`.

    The replicates of a sweep share their seeds from point to point, and so their draws: rho is computed over the
    distinct draws (one row per seed and drawn value, its output the mean over the runs that drew it), and
    `draws` says how many there were (a sweep of 10 points x 4 replicates has 4 draws of each input, not 40).
    The thirds are cut at the terciles of the distinct draws; their shares count runs (`runs_*`)."""
    ok = runs[runs["error"].isna()] if "error" in runs else runs
    inputs = [c for c in ok.columns if c.startswith(INPUT_PREFIX)]
    rows = []
    for name in outputs:
        y = output_values(ok, name)
        if y.nunique() < 2:     # an outcome that never (or always) happens says nothing about the inputs
            continue
        for column in inputs:
            x = pd.to_numeric(ok[column], errors="coerce")
            valid = x.notna() & y.notna()
            if valid.sum() < 3:
                continue
            xs, ys = x[valid], y[valid]
            keys = [ok.loc[valid, "seed"], xs] if "seed" in ok else [xs]
            per_draw = pd.DataFrame({"x": xs, "y": ys}).groupby(keys, sort=False).agg(x=("x", "first"),
                                                                                       y=("y", "mean"))
            dx, dy = per_draw["x"], per_draw["y"]
            rho = (np.nan if len(per_draw) < 3 or dx.nunique() < 2 or dy.nunique() < 2
                   else float(dx.corr(dy, method="spearman")))
            low, high = dx.quantile(1 / 3), dx.quantile(2 / 3)
            row: dict[str, Any] = {"output": name, "input": column[len(INPUT_PREFIX):], "spearman": rho,
                                   "draws": len(per_draw), "runs": int(len(xs))}
            for third, mask in (("low_third", xs <= low), ("high_third", xs >= high)):
                interval = wilson(int(ys[mask].sum()), int(mask.sum()))
                row.update({f"share_{third}": interval.share, f"low_{third}": interval.low,
                            f"high_{third}": interval.high, f"runs_{third}": interval.n})
            rows.append(row)
    table = pd.DataFrame(rows, columns=INFLUENCE_COLUMNS)
    order = table["spearman"].abs().fillna(-1.0)
    return table.assign(_order=order).sort_values(["output", "_order"], ascending=[True, False]) \
        .drop(columns="_order").reset_index(drop=True)


# ====================================================================== Sobol indices
OUTPUT_PREFIXES = ("agreed.", "value.", "prediction.", "utility.")


def output_names(runs: pd.DataFrame) -> list[str]:
    """What `sobol_indices` can analyse: outcome indicators, rounds, tension and the per-issue/actor columns."""
    return list(OUTCOMES) + [c for c in runs.columns if c in ("rounds", "tension") or c.startswith(OUTPUT_PREFIXES)]


def default_outputs(runs: pd.DataFrame) -> list[str]:
    return ["agreement"] + [c for c in runs.columns if c.startswith("agreed.") or c.startswith("utility.")]


def output_values(runs: pd.DataFrame, name: str) -> pd.Series:
    if name in OUTCOMES:
        return (runs["outcome"] == name).astype(float)
    if name not in output_names(runs):
        raise SweepError(f"unknown output '{name}'; choose from: {', '.join(output_names(runs))}")
    return pd.to_numeric(runs[name].astype(object).where(runs[name].notna()), errors="coerce").astype(float)


def sobol_indices(runs: pd.DataFrame, factors: Sequence[Factor], outputs: Sequence[str] | None = None,
                  n_points: int | None = None, seed: int = 0, num_resamples: int = 200,
                  conf_level: float = 0.95) -> pd.DataFrame:
    """First- (S1) and total-order (ST) Sobol indices with bootstrap confidence half-widths.

    `runs` must come from a Saltelli design (`sampler="sobol"`): point p's row in the design is p, and the
    analysed value is the mean of the output over the point's successful replicates."""
    try:
        from SALib.analyze import sobol
    except ImportError:
        raise SweepError("Sobol indices need SALib, a dependency of negsim: reinstall with `make .venv/.ready`") \
            from None
    d = len(factors)
    if d == 0:
        raise SweepError("Sobol indices need varied parameters (--vary)")
    n_points = int(runs["point"].max()) + 1 if n_points is None else n_points
    if n_points % (d + 2):
        raise SweepError(f"{n_points} points is not a Saltelli design for {d} parameters "
                         f"(a multiple of {d + 2}); run the sweep with --sampler sobol")
    outputs = list(outputs) if outputs else default_outputs(runs)
    ok = runs[runs["error"].isna()] if "error" in runs else runs
    problem = {"num_vars": d, "names": [f.path for f in factors], "bounds": [[0.0, 1.0]] * d}
    rows = []
    for name in outputs:
        values = output_values(ok, name)
        y = values.groupby(ok["point"]).mean().reindex(range(n_points)).to_numpy(dtype=float)
        missing = int(np.isnan(y).sum())
        if missing:
            raise SweepError(f"output '{name}' is undefined at {missing} of {n_points} points (failed runs or "
                             "NaN values, e.g. value.* of an issue not agreed); Sobol indices need every point")
        if np.ptp(y) == 0:
            for f in factors:
                rows.append({"output": name, "parameter": f.path, "S1": np.nan, "S1_conf": np.nan,
                             "ST": np.nan, "ST_conf": np.nan, "note": "output is constant"})
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            si = sobol.analyze(problem, y, calc_second_order=False, num_resamples=num_resamples,
                               conf_level=conf_level, seed=seed % (2**32), print_to_console=False)
        for k, f in enumerate(factors):
            rows.append({"output": name, "parameter": f.path, "S1": float(si["S1"][k]),
                         "S1_conf": float(si["S1_conf"][k]), "ST": float(si["ST"][k]),
                         "ST_conf": float(si["ST_conf"][k]), "note": ""})
    return pd.DataFrame(rows)
