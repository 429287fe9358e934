"""Backtesting forecasting models on data sets of past decisions (the DEU layout): read, forecast, score.

The layout (DEU III as distributed in tab-separated form; docs/forecasting.md): the first row names the columns, the
second row holds each actor's capability under its `p<actor>` column, then one row per issue with `isnr` (issue id),
`prnr` (proposal id; issues of one proposal are negotiated together), `p<actor>` positions and `s<actor>` saliences
on 0-100 (empty = no position; a position without salience gets 50), `rp` the reference point, `out` the outcome,
`counvte` the Council's voting rule, `proc` the procedure (COD: the Parliament, `ep`, must consent) and `intro`
the proposal's date (optional; it selects the Council's voting rules in force). The Commission, `com`, is the
proposer. Rows without an outcome in 0-100 or with fewer than two positions are skipped.

Pure functions over numpy plus a thin runner; the CLI (`negsim backtest`) only prints what `run_backtest` returns.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.forecasting import BASELINE, MODELS, Problem, intervals
from sim.forecasting.eu_council import parse_date, proposal_year

MISSING_SALIENCE = 50.0
"""Salience (0-100) of an actor with a position but no salience."""
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20061
"""Fixed seed of the paired bootstrap, so that the same file gives the same intervals."""
WITHIN = 10.0
"""The readable table's hit rate: share of forecasts within this many points of the outcome."""
PROPOSER, VETO_PLAYER = "com", "ep"
DATE_COLUMN = "intro"
"""The proposal's date (`dd-mm-yy`; see eu_council.parse_date): it selects the Council's voting rules in force."""
RULE_PREFIXES = (("unan", "unanimity"), ("qmv", "qmv"), ("qualified", "qmv"), ("sm", "majority"),
                 ("simple", "majority"), ("maj", "majority"))
"""`counvte` values by how they start (case-insensitive); an empty cell means QMV, the usual Council rule."""
SCALE = (0.0, 100.0)


class BacktestError(ValueError):
    """The data file cannot be read as the DEU layout; the message names what is wrong."""


@dataclass(frozen=True)
class Proposal:
    """One proposal: its issues as a forecasting problem, with ids, outcomes and the rows they came from."""

    id: str
    issue_ids: tuple[str, ...]
    problem: Problem
    outcomes: np.ndarray  # (M,)


@dataclass(frozen=True)
class Dataset:
    actors: tuple[str, ...]
    proposals: tuple[Proposal, ...]
    skipped: int  # issue rows skipped (no outcome in 0-100, or fewer than two positions)

    @property
    def n_issues(self) -> int:
        return sum(len(p.issue_ids) for p in self.proposals)


# ====================================================================== reading
def _number(text: str, where: str) -> float:
    shown = repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text):,} characters)"
    try:
        value = float(text)
    except ValueError:
        raise BacktestError(f"{where}: not a number: {shown}") from None
    if not math.isfinite(value):
        raise BacktestError(f"{where}: not a finite number: {shown}")
    return value


MAX_CAPABILITY = 1e15
"""Largest capability read (DEU capabilities are vote counts; beyond this, sums and products lose precision)."""
MAX_DATA_BYTES = 50_000_000
"""Largest data file read (the whole DEU III data set is well under 1 MB)."""


def read_deu(path: str | Path) -> Dataset:
    """Read a DEU-layout TSV file; BacktestError (one line naming the problem) if it is not one."""
    from sim.scenario.limits import InputError, allow_csv_fields, read_file

    path = Path(path)
    try:        # a regular file, read with a bound: no FIFO that hangs, no /dev/zero that fills the memory
        text = read_file(path, MAX_DATA_BYTES).decode("utf-8-sig")
    except InputError as error:
        raise BacktestError(f"{path}: {error.message}") from None
    except UnicodeDecodeError:
        raise BacktestError(f"{path}: not a text file (UTF-8 expected)") from None
    allow_csv_fields(MAX_DATA_BYTES)          # a field may be as long as the file may be
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
    except csv.Error as error:
        raise BacktestError(f"{path}: not a readable tab-separated file ({error})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise BacktestError(f"{path}: empty file (expected a header row of tab-separated column names)")
    header = [cell.strip() for cell in rows[0]]
    twice = sorted(name[:40] for name, n in Counter(header).items() if name and n > 1)
    if twice:
        raise BacktestError(f"{path}: duplicated column(s) {', '.join(twice[:10])} in the header (each column once)")
    for line, row in enumerate(rows[1:], start=2):     # a shifted row would put every value in the wrong column
        if len(row) != len(header) and any(cell.strip() for cell in row):
            raise BacktestError(f"{path}: row {line} has {len(row)} fields, the header has {len(header)}")
    if len(rows) < 2:
        raise BacktestError(f"{path}: no capability row (the second row must hold each actor's capability)")
    col = {name: k for k, name in enumerate(header)}
    missing = [name for name in ("isnr", "out") if name not in col]
    if missing:
        raise BacktestError(f"{path}: missing column(s) {', '.join(missing)} (tab-separated DEU layout expected)")
    actors = tuple(name[1:] for name in header if name.startswith("p") and len(name) > 1 and "s" + name[1:] in col)
    if len(actors) < 2:
        raise BacktestError(f"{path}: need at least two actors (pairs of p<actor> and s<actor> columns)")

    def cell(row: list[str], name: str) -> str:
        k = col.get(name)
        return row[k].strip() if k is not None and k < len(row) else ""

    capability = np.array([_number(cell(rows[1], "p" + a), f"{path}: row 2 (capabilities), column p{a}")
                           if cell(rows[1], "p" + a) else math.nan for a in actors])
    if np.any(capability < 0):
        raise BacktestError(f"{path}: row 2 (capabilities): capabilities must be non-negative")
    if np.any(capability > MAX_CAPABILITY):
        big = [a for a, c in zip(actors, capability, strict=True) if c > MAX_CAPABILITY]
        raise BacktestError(f"{path}: row 2 (capabilities): capability of {', '.join(big)} above "
                            f"{MAX_CAPABILITY:.0e} (a vote count or share is expected)")
    if not np.any(capability > 0):
        raise BacktestError(f"{path}: row 2 (capabilities): every capability is zero or missing (at least one "
                            f"actor needs some)")
    grouped: dict[str, list[tuple[str, np.ndarray, np.ndarray, float, str, str, float, str]]] = {}
    skipped = 0
    seen: dict[str, int] = {}                  # issue id -> the row it was first given on
    for line, row in enumerate(rows[2:], start=3):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}: row {line}"
        issue = cell(row, "isnr") or f"row{line}"
        if issue in seen:
            raise BacktestError(f"{where}: duplicated issue row: isnr {issue[:40]} is already on row {seen[issue]} "
                                f"(each issue once)")
        seen[issue] = line
        try:                                    # no outcome, or not a number (e.g. NA): a row to skip
            outcome = float(cell(row, "out"))
        except ValueError:
            outcome = math.nan
        x = np.full(len(actors), math.nan)
        s = np.full(len(actors), math.nan)
        for k, actor in enumerate(actors):
            p_text, s_text = cell(row, "p" + actor), cell(row, "s" + actor)
            if p_text:
                x[k] = _number(p_text, f"{where}, column p{actor}")
                if not SCALE[0] <= x[k] <= SCALE[1]:
                    raise BacktestError(f"{where}, column p{actor}: position {p_text} outside 0-100")
                s[k] = _number(s_text, f"{where}, column s{actor}") if s_text else MISSING_SALIENCE
                if not 0.0 <= s[k] <= 100.0:
                    raise BacktestError(f"{where}, column s{actor}: salience {s_text} outside 0-100")
        if not (SCALE[0] <= outcome <= SCALE[1]) or np.isfinite(x).sum() < 2:
            skipped += 1
            continue
        rp_text = cell(row, "rp")
        reference = _number(rp_text, f"{where}, column rp") if rp_text else math.nan
        if math.isfinite(reference) and not SCALE[0] <= reference <= SCALE[1]:
            raise BacktestError(f"{where}, column rp: reference point {rp_text} outside 0-100")
        rule_text = cell(row, "counvte")
        rule = "qmv" if not rule_text else next(
            (name for prefix, name in RULE_PREFIXES if rule_text.lower().startswith(prefix)), None)
        if rule is None:
            raise BacktestError(f"{where}, column counvte: unknown voting rule {rule_text[:40]!r} (QMV, Unan or SM)")
        absent = [a for a, has, c in zip(actors, np.isfinite(x), capability, strict=True) if has and math.isnan(c)]
        if absent:
            raise BacktestError(f"{path}: row 2 (capabilities): no capability for actor(s) {', '.join(absent)}, "
                                f"who take positions (row {line})")
        powerless = [a for a, has, c in zip(actors, np.isfinite(x), capability, strict=True) if has and c == 0]
        if powerless:
            raise BacktestError(f"{path}: row 2 (capabilities): capability 0 for actor(s) {', '.join(powerless)}, "
                                f"who take positions (row {line}); every actor at the table needs a positive one")
        grouped.setdefault(cell(row, "prnr") or issue, []).append(
            (issue, x, s / 100.0, reference, rule, cell(row, "proc").upper(), outcome, cell(row, DATE_COLUMN)))
    proposer = actors.index(PROPOSER) if PROPOSER in actors else None
    parliament = actors.index(VETO_PLAYER) if VETO_PLAYER in actors else None
    capability = np.nan_to_num(capability)     # actors without a capability never take a position (checked above)
    votes = capability.copy()
    for index in (proposer, parliament):
        if index is not None:
            votes[index] = 0.0
    proposals = []
    for pid, issues in grouped.items():
        dated = next((i[7] for i in issues if i[7]), "")
        problem = Problem(positions=np.array([i[1] for i in issues]), saliences=np.array([i[2] for i in issues]),
                          capabilities=capability, reference=np.array([i[3] for i in issues]),
                          rules=tuple(i[4] for i in issues), proposer=proposer,
                          veto_player=parliament if issues[0][5] == "COD" else None, vote_weights=votes,
                          scale_min=SCALE[0], scale_max=SCALE[1], actors=actors,
                          date=parse_date(dated, proposal_year(pid)) if dated else None)
        proposals.append(Proposal(pid, tuple(i[0] for i in issues), problem, np.array([i[6] for i in issues])))
    if not proposals:
        raise BacktestError(f"{path}: no usable issue rows (each needs an outcome in 0-100 and two positions)")
    return Dataset(actors, tuple(proposals), skipped)


# ====================================================================== forecasting and scoring
@dataclass(frozen=True)
class Backtest:
    models: tuple[str, ...]
    issue_ids: tuple[str, ...]
    proposal_ids: tuple[str, ...]  # (n,) the proposal of each issue
    outcomes: np.ndarray  # (n,)
    forecasts: np.ndarray  # (n, models)
    intervals: np.ndarray  # (n, models, 2) the 80 % interval of each forecast
    crps: np.ndarray  # (n, models) continuous ranked probability score of each forecast distribution

    def errors(self) -> np.ndarray:
        return np.abs(self.forecasts - self.outcomes[:, None])

    def inside(self) -> np.ndarray:
        """(n, models) whether the outcome lies in the forecast's 80 % interval."""
        y = self.outcomes[:, None]
        return (y >= self.intervals[..., 0] - 1e-9) & (y <= self.intervals[..., 1] + 1e-9)

    def to_dict(self) -> dict[str, Any]:
        """The `negsim backtest --json` contract."""
        mae = self.errors().mean(axis=0)
        coverage, crps = self.inside().mean(axis=0), self.crps.mean(axis=0)
        width = (self.intervals[..., 1] - self.intervals[..., 0]).mean(axis=0)
        n = len(self.outcomes)
        return {
            "models": {name: {"mae": float(mae[k]), "n": n, "coverage": float(coverage[k]), "width": float(width[k]),
                              "crps": float(crps[k])} for k, name in enumerate(self.models)},
            "issues": [{"id": issue, "outcome": float(self.outcomes[i]),
                        "forecasts": {name: float(self.forecasts[i, k]) for k, name in enumerate(self.models)},
                        "interval": {name: [float(v) for v in self.intervals[i, k]]
                                     for k, name in enumerate(self.models)}}
                       for i, issue in enumerate(self.issue_ids)],
        }


def model_names(spec: str | None) -> tuple[str, ...]:
    """`a,b,...` -> model names, the baseline always included and first; BacktestError for unknown names."""
    if spec is None:
        return calibrated(tuple(MODELS))
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise BacktestError(f"--models: unknown model(s) {', '.join(unknown) or '(none given)'} "
                            f"(known: {', '.join(MODELS)})")
    return calibrated(tuple(dict.fromkeys([BASELINE, *names])))


def calibrated(names: Sequence[str]) -> tuple[str, ...]:
    """The names, if every model declares its interval calibration; BacktestError naming one that does not."""
    for name in names:
        try:
            intervals.calibration(name)
        except intervals.Uncalibrated as error:
            raise BacktestError(str(error)) from None
    return tuple(names)


def run_backtest(data: Dataset, models: Sequence[str] = tuple(MODELS),
                 advance: Callable[[int], None] | None = None) -> Backtest:
    """Forecast every issue of `data` with every model, with its forecast distribution (sim.forecasting.intervals);
    `advance(k)` is told after each proposal (k issues); BacktestError for a model without interval calibration."""
    calibrated(models)
    forecasts: list[np.ndarray] = []
    bounds: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    outcomes: list[np.ndarray] = []
    issue_ids: list[str] = []
    proposal_ids: list[str] = []
    for proposal in data.proposals:
        block = np.column_stack([MODELS[name](proposal.problem) for name in models])
        if not np.isfinite(block).all():    # a model bug, not bad data: say where rather than print NaN
            i, k = np.argwhere(~np.isfinite(block))[0]
            raise RuntimeError(f"model {models[k]} gave no finite forecast for issue {proposal.issue_ids[i]}")
        spread = [intervals.distribution(proposal.problem, block[:, k], name) for k, name in enumerate(models)]
        forecasts.append(block)
        bounds.append(np.stack([d.interval for d in spread], axis=1))
        scores.append(np.column_stack([d.crps(proposal.outcomes) for d in spread]))
        issue_ids.extend(proposal.issue_ids)
        proposal_ids.extend([proposal.id] * len(proposal.issue_ids))
        outcomes.append(proposal.outcomes)
        if advance is not None:
            advance(len(proposal.issue_ids))
    return Backtest(tuple(models), tuple(issue_ids), tuple(proposal_ids), np.concatenate(outcomes),
                    np.vstack(forecasts), np.concatenate(bounds), np.vstack(scores))


@dataclass(frozen=True)
class Score:
    model: str
    mae: float
    rmse: float
    within: float  # share of forecasts within WITHIN points
    diff: float  # MAE minus the baseline's MAE
    diff_low: float  # paired bootstrap 95 % interval of diff
    diff_high: float
    coverage: float  # share of outcomes inside the 80 % interval
    width: float  # mean width of the 80 % interval
    crps: float  # mean continuous ranked probability score


def paired_bootstrap(errors: np.ndarray, baseline: np.ndarray, clusters: Iterable[str],
                     samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """(samples, models) bootstrap draws of MAE(model) - MAE(baseline), resampling whole proposals (issues of a
    proposal share actors and are not independent) with the same draw for every model (paired)."""
    labels, cluster = np.unique(np.asarray(list(clusters)), return_inverse=True)
    diff = errors - baseline[:, None]
    sums = np.zeros((len(labels), diff.shape[1]))
    np.add.at(sums, cluster, diff)
    counts = np.bincount(cluster, minlength=len(labels)).astype(float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(labels), size=(samples, len(labels)))
    weight = np.zeros((samples, len(labels)))
    np.add.at(weight, (np.repeat(np.arange(samples), len(labels)), picks.ravel()), 1.0)
    return (weight @ sums) / (weight @ counts)[:, None]


def score(result: Backtest, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> list[Score]:
    errors = result.errors()
    base = errors[:, result.models.index(BASELINE)]
    draws = paired_bootstrap(errors, base, result.proposal_ids, samples, seed)
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    mae = errors.mean(axis=0)
    coverage, crps = result.inside().mean(axis=0), result.crps.mean(axis=0)
    width = (result.intervals[..., 1] - result.intervals[..., 0]).mean(axis=0)
    return [Score(name, float(mae[k]), float(np.sqrt((errors[:, k] ** 2).mean())),
                  float((errors[:, k] <= WITHIN).mean()), float(mae[k] - base.mean()), float(low[k]), float(high[k]),
                  float(coverage[k]), float(width[k]), float(crps[k]))
            for k, name in enumerate(result.models)]


def plot(result: Backtest, path: str | Path) -> Path:
    """A PNG of predicted against actual outcome, one panel per model, with each panel's MAE (Altair, rendered
    offline by vl-convert)."""
    import altair as alt
    import pandas as pd
    import vl_convert

    path = Path(path)
    mae = result.errors().mean(axis=0)
    scale = alt.Scale(domain=list(SCALE))
    panels = []
    for n, name in enumerate(result.models):
        points = pd.DataFrame({"outcome": result.outcomes, "forecast": result.forecasts[:, n]})
        diagonal = alt.Chart(pd.DataFrame({"outcome": list(SCALE), "forecast": list(SCALE)})).mark_line(
            color="#b0b0b0").encode(x="outcome:Q", y="forecast:Q")
        dots = alt.Chart(points).mark_circle(size=14, opacity=0.6).encode(
            x=alt.X("outcome:Q", scale=scale), y=alt.Y("forecast:Q", scale=scale))
        panels.append((diagonal + dots).properties(width=240, height=240, title=f"{name} (MAE {mae[n]:.1f})"))
    rows = [alt.hconcat(*panels[k:k + 3]) for k in range(0, len(panels), 3)]
    chart = alt.vconcat(*rows).properties(title=f"Forecast vs outcome, {len(result.outcomes)} issues")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(vl_convert.vegalite_to_png(chart.to_dict(), scale=1.5))
    return path


# ====================================================================== the command's output
PROGRESS_FROM = 200
"""Issues from which `negsim backtest` shows a progress bar (on a terminal)."""


def run_with_progress(data: Dataset, models: Sequence[str], console: Any) -> Backtest:
    """run_backtest with a rich progress bar on long runs (a terminal and at least PROGRESS_FROM issues)."""
    from rich.progress import Progress

    show = data.n_issues >= PROGRESS_FROM and console.is_terminal
    with Progress(console=console, transient=True, disable=not show) as progress:
        task = progress.add_task(f"Forecasting with {len(models)} models", total=data.n_issues)
        return run_backtest(data, models, lambda k: progress.advance(task, k))


def print_report(result: Backtest, data: Dataset, console: Any) -> None:
    """The readable table: MAE, RMSE, share within WITHIN points, paired bootstrap CI of the MAE difference, the
    80 % intervals' coverage and mean width, and the CRPS."""
    from rich.table import Table

    n = len(result.outcomes)
    table = Table(title=f"{n} issues of {len(data.proposals)} proposals, {data.skipped} rows skipped. diff: MAE minus "
                        f"{BASELINE}'s, 95 % CI by paired bootstrap over proposals", title_justify="left")
    for column in ("model", "MAE", "RMSE", f"within {WITHIN:g}", "diff", "95 % CI"):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    spread = Table(title=f"Forecast distributions: share of outcomes inside the {intervals.LEVEL:.0%} intervals, "
                         "their mean width, and the continuous ranked probability score (CRPS)", title_justify="left")
    for column in ("model", "coverage", "width", "CRPS"):
        spread.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for s in score(result):
        ci = "-" if s.model == BASELINE else f"[{s.diff_low:+.2f}, {s.diff_high:+.2f}]"
        table.add_row(s.model, f"{s.mae:.2f}", f"{s.rmse:.2f}", f"{100 * s.within:.0f} %",
                      "-" if s.model == BASELINE else f"{s.diff:+.2f}", ci)
        spread.add_row(s.model, f"{100 * s.coverage:.0f} %", f"{s.width:.1f}", f"{s.crps:.2f}")
    console.print(table)
    console.print(spread)
