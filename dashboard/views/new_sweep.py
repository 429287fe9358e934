"""New sweep: a parameter sweep built in the browser (what BehaviorSpace gives NetLogo users).

Pick factors (the scenario's parameter paths, shown in words) with a range or values, a sampler from the
registry, replicates and a seed; the page shows the number of runs and the `negsim sweep` command that makes the
same table (`sim.sweep.command.SweepPlan`), runs the sweep in a background thread through `sim.sweep.run_sweep`
with a progress bar, and opens the result in the sweep explorer.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import common, editor, state, text
from dashboard.views import sweeps as explorer
from sim.scenario import Scenario, ScenarioError, describe_path, dump_yaml, params
from sim.sweep import EXECUTORS, SAMPLERS, SweepError, SweepInterrupted, SweepPlan
from sim.sweep.command import MAX_PAGE_RUNS, range_spec, values_spec

FACTORS = "negsim.ns_factors"
SAMPLER = "negsim.ns_sampler"
SAMPLES = "negsim.ns_samples"
REPLICATES = "negsim.ns_replicates"
SEED = "negsim.ns_seed"
NAME = "negsim.ns_name"
EXECUTOR = "negsim.ns_executor"
JOB = "negsim.ns_job"
SWEEPS_DIR = "NEGSIM_SWEEPS_DIR"
"""Environment variable: where the page writes its sweeps (default: sweeps/ in the negsim folder)."""
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


def sweeps_dir() -> Path:
    return Path(os.environ.get(SWEEPS_DIR) or state.ROOT / "sweeps")


def shown_path(path: Path) -> str:
    """A path as the command line names it: relative to the negsim folder when inside it."""
    try:
        return str(path.resolve().relative_to(state.ROOT))
    except ValueError:
        return str(path)


# ====================================================================== the background job
@dataclass
class Job:
    """One sweep running in a thread of the server; the page polls it."""

    plan: SweepPlan
    scenario_file: Path
    out: Path
    total: int
    done: int = 0
    failed: int = 0
    error: str | None = None
    finished: bool = False
    stop: bool = False
    started: float = field(default_factory=time.monotonic)

    def progress(self, done: int, total: int, failed: int) -> None:
        self.done, self.total, self.failed = done, total, failed
        if self.stop:       # the runner stops as on Ctrl-C: the finished batches stay on disk
            raise KeyboardInterrupt

    def run(self) -> None:
        from sim.sweep import run_sweep

        try:
            run_sweep(self.scenario_file, list(self.plan.vary), out=self.out, progress=self.progress,
                      **self.plan.options())
        except (SweepInterrupted, KeyboardInterrupt):
            self.error = (f"stopped after {self.done:,} of {self.total:,} runs. The finished runs are kept in "
                          f"{self.plan.out}; the command below finishes the others.")
        except ScenarioError as error:
            self.error = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in error.problems)
        except SweepError as error:
            self.error = str(error)
        except Exception as error:  # noqa: BLE001 - a message in the page, never a traceback
            self.error = f"the sweep stopped: {type(error).__name__}: {error}"
        finally:
            self.finished = True


JOBS: dict[str, Job] = {}
"""Jobs of this server by id (a session keeps the id of its own)."""


def start(plan: SweepPlan, scenario_file: Path, yaml_text: str | None, out: Path, total: int) -> None:
    if yaml_text is not None:
        scenario_file.parent.mkdir(parents=True, exist_ok=True)
        scenario_file.write_text(yaml_text, encoding="utf-8")
    job = Job(plan, scenario_file, out, total)
    key = uuid.uuid4().hex
    JOBS[key] = job
    st.session_state[JOB] = key
    threading.Thread(target=job.run, name=f"negsim-sweep-{key[:8]}", daemon=True).start()


# ====================================================================== the form
def _default_range(info: Any, value: float) -> tuple[float, float]:
    """The schema's bounds where both are finite and not huge, else around the current value."""
    if info.low is not None and info.high is not None and info.high - info.low <= 1000:
        return info.low, info.high
    if value > 0:
        return value / 2, value * 2
    return (value - 1, value + 1) if info.low is None else (info.low, info.low + 1)


def factor_spec(scenario: Scenario, path: str, value: Any, grid: bool) -> str | None:
    """The controls of one factor; its ``--vary`` spec (None: no values picked)."""
    info = describe_path(scenario, path)
    st.markdown(f"**{text.md(info.label)}**", help=info.hover)
    if info.options:
        shown = [v for v in info.options if v is not None]
        words = editor.describe(scenario, path)[1] or {}       # the sidebar's names of the values
        picked = st.multiselect("Values", shown, default=shown, key=f"negsim.ns_values:{path}",
                                format_func=lambda v: str(v).lower() if isinstance(v, bool) else
                                words.get(v, str(v)).split(":")[0],
                                label_visibility="collapsed")
        return values_spec(path, picked) if picked else None
    whole = isinstance(value, int) and not isinstance(value, bool)
    low, high = _default_range(info, float(value))
    a, b, c = st.columns(3)
    kind = int if whole else float
    step = 1 if whole else None
    lo = a.number_input("Low", value=kind(low), step=step, key=f"negsim.ns_low:{path}",
                        format=None if whole else "%g")
    hi = b.number_input("High", value=kind(high), step=step, key=f"negsim.ns_high:{path}",
                        format=None if whole else "%g")
    levels = c.number_input("Levels", min_value=1, max_value=1000, value=3, step=1, key=f"negsim.ns_levels:{path}",
                            disabled=not grid, help="Evenly spaced values from Low to High (the grid sampler); "
                                                    "the other samplers draw from the whole range.")
    unit = f" ({info.unit})" if info.unit else ""
    st.caption(f"`{path}`{unit}")
    return range_spec(path, lo, hi, int(levels) if grid else None, value)


def _problem_box(headline: str, lines: list[str]) -> None:
    st.error(headline + "\n\n" + "\n".join(f"- {line}" for line in lines), icon=":material/error:")


def render() -> None:
    cur = state.get_current()
    s = cur.scenario
    st.title(":material/science: New sweep")
    st.caption(text.md(s.title))
    common.show_problems(cur)
    if _follow_job():
        return
    st.markdown("Vary some settings of the current scenario over ranges or values, run every combination (or a "
                "sample of them) many seeds each, and explore the result. The page shows the `negsim sweep` "
                "command that makes the same table, to rerun it from a terminal or a script.")
    known = params(s)
    factors = st.multiselect("Factors: the settings to vary", list(known), key=FACTORS,
                             format_func=lambda p: describe_path(s, p).label,
                             placeholder="Choose one or more settings",
                             help="Every numeric or choice setting of the scenario (what `negsim params` lists), "
                                  "named as the scenario names it.")
    c1, c2, c3, c4 = st.columns(4)
    # the box shows the name alone (a quarter of the page cut "grid (full factorial of the l..." at 1280 px); what
    # the chosen sampler does is the caption under it, wrapped
    sampler = c1.selectbox("Sampler", list(SAMPLERS), key=SAMPLER,
                           help="; ".join(f"{n}: {SAMPLERS.get(n).summary}" for n in SAMPLERS))
    c1.caption(text.md(SAMPLERS.get(sampler).summary))
    sized = SAMPLERS.get(sampler).sized
    samples = c2.number_input("Samples", min_value=1, max_value=100_000, value=64, step=1, key=SAMPLES,
                              disabled=not sized,
                              help="Points for lhs and random; base rows for sobol (points = samples x (factors "
                                   "+ 2)). The grid's size comes from the levels.")
    replicates = c3.number_input("Replicates (seeds per point)", min_value=1, max_value=10_000, value=10, step=1,
                                 key=REPLICATES, help="Replicate r has the same seed at every point.")
    seed = c4.number_input("Seed", min_value=0, max_value=2**53 - 1, value=int(min(s.protocol.seed, 2**53 - 1)),
                           step=1, key=SEED, help="The root seed: the design's sample and every run's seed.")
    specs: list[str] = []
    problems: list[str] = []
    for path in factors:
        with st.container(border=True):
            spec = factor_spec(s, path, known[path], grid=not sized)
        if spec is None:
            problems.append(f"{describe_path(s, path).label}: pick at least one value")
        else:
            specs.append(spec)
    d1, d2 = st.columns(2)
    name = d1.text_input("Name of the sweep", value=f"{s.id}-{time.strftime('%Y%m%d-%H%M%S')}", key=NAME,
                         help=f"Its folder under {shown_path(sweeps_dir())}/ (letters, digits, . _ -).").strip()
    offered = [n for n, e in EXECUTORS.items() if e.on_page]    # the page offers what needs no cluster
    executor = d2.radio("Run on", offered, key=EXECUTOR, horizontal=True,
                        format_func=lambda n: EXECUTORS.get(n).label or n,
                        help="; ".join(f"{n}: {EXECUTORS.get(n).summary}" for n in offered)
                             + ". The results are the same on either.")
    if not factors:
        problems.append("no factor chosen: pick at least one setting to vary")
    if not SAFE_NAME.match(name):
        problems.append("the name may hold letters, digits, '.', '_' and '-' only (and start with a letter or digit)")
    out = sweeps_dir() / name
    if SAFE_NAME.match(name) and (out.exists() or yaml_beside(out).exists()):
        problems.append(f"{shown_path(out)} exists already: choose another name")
    scenario_file, yaml_text = _scenario_file(cur, out)
    plan = SweepPlan(shown_path(scenario_file), shown_path(out), tuple(specs), sampler,
                     int(samples) if sized else None, int(replicates), int(seed), executor)
    design = None
    if specs:
        try:
            design = plan.design(s if yaml_text is None else _as_run(cur))
        except ScenarioError as error:
            problems += [f"`{p.path}`: {p.message}" if p.path else p.message for p in error.problems]
    if design is not None and design.n_runs > MAX_PAGE_RUNS:
        problems.append(f"{design.n_runs:,} runs is more than the {MAX_PAGE_RUNS:,} a sweep from the dashboard may "
                        "have: fewer levels, samples or replicates, or run the command below in a terminal")
    if design is not None:
        m1, m2, m3 = st.columns(3)
        m1.metric("Runs", f"{design.n_runs:,}", border=True)
        m2.metric("Points", f"{design.n_points:,}", border=True)
        m3.metric("Replicates per point", f"{design.replicates:,}", border=True)
    if problems:
        _problem_box("This sweep cannot start yet:", problems)
    st.markdown("##### The same sweep from a terminal")
    st.caption("Run in the negsim folder: it writes the same table, run for run."
               + (f" The scenario with your settings is saved as `{plan.scenario}` when the sweep starts."
                  if yaml_text is not None else ""))
    st.code(plan.command(), language="bash", wrap_lines=True)
    if st.button("Start the sweep", type="primary", icon=":material/play_arrow:", disabled=bool(problems),
                 key="negsim.ns_start"):
        assert design is not None
        start(plan, scenario_file, yaml_text, out, design.n_runs)
        st.rerun()


def _as_run(cur: state.Current) -> Scenario:
    """The scenario the sweep runs: the current one, its uncertain inputs as coded when drawing is off."""
    return cur.scenario if state.drawing() else cur.scenario.as_coded()


def _scenario_file(cur: state.Current, out: Path) -> tuple[Path, str | None]:
    """The file the command names: the scenario's own file when the sweep runs it unchanged, else a YAML of
    the current settings beside the output folder (its text, written when the sweep starts)."""
    own = state.SCENARIO_DIR / cur.source
    unchanged = not cur.edits and cur.edit_error is None and not state.is_upload() and own.is_file() and (
        state.drawing() or not cur.scenario.uncertainty)
    if unchanged and state.load_file(str(own), own.stat().st_mtime_ns) == cur.scenario:     # as the CLI reads it
        return own, None
    scenario = _as_run(cur)
    yaml_text = common.scenario_yaml(scenario, cur.source_text, cur.edits) if state.drawing() else dump_yaml(scenario)
    return yaml_beside(out), yaml_text


def yaml_beside(out: Path) -> Path:
    return out.parent / f"{out.name}.yaml"


# ====================================================================== progress, then the explorer
def _follow_job() -> bool:
    """A sweep of this session running or just finished: its progress (True), or off to the explorer."""
    key = st.session_state.get(JOB)
    job = JOBS.get(key) if key else None
    if not key or job is None:
        return False
    if job.finished:
        st.session_state.pop(JOB, None)
        JOBS.pop(key, None)
        if job.error is None:
            st.session_state[explorer.OPEN] = str(job.out)
            st.switch_page("routes/sweeps.py")
        _problem_box("The sweep did not finish:", [job.error])
        if job.done:
            st.code(job.plan.command(), language="bash", wrap_lines=True)
        return False
    _keep_form()
    st.markdown(f"Running `{job.plan.out}`…")
    _progress(key)
    st.button("Stop", icon=":material/stop:", key="negsim.ns_stop", on_click=_stop, args=(key,),
              help="Stop after the batches running now; the finished runs stay in the sweep's folder.")
    return True


FORM_KEYS = (FACTORS, SAMPLER, SAMPLES, REPLICATES, SEED, NAME, EXECUTOR)
FACTOR_KEYS = ("negsim.ns_values:", "negsim.ns_low:", "negsim.ns_high:", "negsim.ns_levels:")


def _keep_form() -> None:
    """While a sweep runs the form is not drawn, and Streamlit forgets the values of widgets a run does not draw:
    kept as the session's own values, the form comes back as the user left it when the sweep stops or fails."""
    for name in list(st.session_state):
        if name in FORM_KEYS or str(name).startswith(FACTOR_KEYS):
            st.session_state[name] = st.session_state[name]


def _stop(key: str) -> None:
    job = JOBS.get(key)
    if job is not None:
        job.stop = True


@st.fragment(run_every=0.5)
def _progress(key: str) -> None:
    job = JOBS.get(key)
    if job is None or job.finished:
        st.rerun(scope="app")
        return
    share = job.done / job.total if job.total else 0.0
    seconds = time.monotonic() - job.started
    failed = f", {job.failed:,} failed" if job.failed else ""
    words = f"{job.done:,} of {job.total:,} runs{failed}" if job.done else \
        f"Starting: timing a few runs of the scenario to size the batches (0 of {job.total:,} runs)"
    st.progress(min(share, 1.0), text=f"{words} · {seconds:.0f} s")
    st.code(job.plan.command(), language="bash", wrap_lines=True)
