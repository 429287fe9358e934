"""The sidebar: choose a scenario (a file from scenarios/ or an upload) and change any of its settings.

Every control edits one parameter path of the scenario (`actors.russia.positions.expansion`,
`protocol.max_rounds`, ...); the edits are kept in the session (see `state`) and applied with
`sim.scenario.apply_params`, so the scenario the pages show is always validated like a file would be.
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args, get_origin

import streamlit as st

from dashboard import state
from dashboard.common import OUTSIDE_OPTION_HELP, WALK_AWAY_HELP, scenario_yaml
from dashboard.text import md, sprintf_literal, unit_suffix
from sim import mechanisms
from sim.scenario import DEFAULT_EXPONENTS, Issue, Scenario, describe_path

STRATEGIES = {
    "boulware": "Boulware: holds out, concedes near the deadline",
    "linear": "Linear: concedes at a steady pace",
    "conceder": "Conceder: gives ground early",
    "tit_for_tat": "Tit-for-tat: returns the others' concessions",
    "hardliner": "Hardliner: barely moves",
}
MECHANISMS = {m.name: m.label for m in mechanisms.REGISTRY.values()}
LINKAGES = {"package": "Package: nothing is agreed until everything is", "issue_by_issue": "Issue by issue"}
ACTIVATIONS = {"simultaneous": "All at once", "sequential": "In turn (file order)", "random": "In random order"}
EXPONENT_RANGES = {"boulware": (0.05, 0.95, 0.05), "conceder": (1.1, 10.0, 0.1)}
SECTIONS = ("Issues", "Actors", "Rules")
SECTION = "negsim.section"
MAX_SEED = 2**53 - 1
"""Largest seed the browser's number input holds exactly (a file may hold larger ones; they run unchanged)."""
EDIT_ISSUE = "negsim.edit_issue"
EDIT_ACTOR = "negsim.edit_actor"


# ====================================================================== number formats
def nice_step(span: float, parts: int = 100) -> float:
    """A round step that cuts `span` into about `parts` pieces (1, 2 or 5 times a power of ten)."""
    raw = span / parts
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999)


def fmt_for(step: float, unit: str = "") -> str:
    """The sprintf-js format of a slider with this step: '%.1f %%' for a step of 0.1 and the unit '%' (the
    unit is literal text in the format: a lone '%' in it would be read as a placeholder and crash the slider)."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"%.{decimals}f" + sprintf_literal(unit_suffix(unit))


def poles(issue: Issue) -> str:
    """'0 = low pole ... 100 = high pole' for captions and tooltips."""
    s = issue.scale
    return f"{s.min:g} = {md(issue.low_label)}; {s.max:g} = {md(issue.high_label)}"


# ====================================================================== widgets bound to parameter paths
def _changed(path: str, key: str, base_value: Any) -> None:
    value = state.live_value(key)
    if not state.is_stale(value):
        state.set_edit(path, value, base_value)


def _value(path: str, base_value: Any) -> Any:
    return state.edits().get(path, base_value)


def slider(label: str, path: str, base_value: float | None, lo: float, hi: float, step: float, *,
           fmt: str | None = None, help: str | None = None, suffix: str = "", default: float | None = None) -> None:
    """A slider editing `path`; `base_value` is the file's value (None: not set there), `default` what the
    slider shows when neither the file nor an edit gives a value."""
    key = state.widget_key(path + suffix)
    number = int if isinstance(step, int) else float
    value = _value(path, base_value)
    if value is None:
        value = default
    if value is None:
        raise ValueError(f"slider {path}: no value to show (neither the file, an edit nor a default gives one)")
    value = number(min(max(value, lo), hi))
    st.slider(label, min_value=number(lo), max_value=number(hi), value=value, step=number(step), format=fmt,
              key=key, help=help, on_change=_changed, args=(path, key, base_value))


def choice(label: str, path: str, base_value: str, options: dict[str, str], *, radio: bool = False,
           help: str | None = None) -> None:
    key = state.widget_key(path)
    value = _value(path, base_value)
    index = list(options).index(value)
    if radio:
        st.radio(label, list(options), index=index, format_func=options.__getitem__, key=key, help=help,
                 on_change=_changed, args=(path, key, base_value))
    else:
        st.selectbox(label, list(options), index=index, format_func=options.__getitem__, key=key, help=help,
                     on_change=_changed, args=(path, key, base_value))


# ====================================================================== scenario source
def source_controls() -> None:
    upload = st.session_state.get(state.UPLOAD)
    linked = st.session_state.get(state.LINKED)
    st.selectbox("Scenario file", state.scenario_files(), key=state.FILE,
                 disabled=upload is not None or linked is not None,
                 help="Scenarios shipped in the scenarios/ folder. Remove an uploaded file (or close the scenario "
                      "a link opened) to pick one here.")
    if linked is not None and upload is None:
        st.caption(f"Showing **{md(linked[0])}**, which came with the link you opened.")
        st.button("Close the linked scenario", icon=":material/close:", on_click=state.close_link, width="stretch",
                  help="Back to the shipped scenarios.")
    st.file_uploader("…or upload your own (YAML, JSON or CSV)", type=["yaml", "yml", "json", "csv"],
                     key=state.UPLOAD, max_upload_size=state.UPLOAD_MB,
                     help="A scenario file as `negsim validate` accepts it, or a BDM/KTAB spatial-model CSV. "
                          "Problems are listed with the field they concern.")


def _reset() -> None:
    state.clear_edits()


def edit_controls(cur: state.Current) -> None:
    """Reset/download, then the settings of one section at a time (Issues, Actors, Rules)."""
    n = len(cur.edits)
    left, right = st.container(), st.container()  # one per line: side by side the labels were cut at 1280 px
    left.button("Undo my changes", icon=":material/restart_alt:", on_click=_reset, disabled=n == 0,
                width="stretch", help="Undo every change and go back to the values in the file.")
    scenario = cur.scenario
    right.download_button("Save YAML", icon=":material/download:",
                          data=lambda: scenario_yaml(scenario, cur.source_text, cur.edits),
                          file_name=f"{scenario.id}.yaml",
                          mime="application/x-yaml", width="stretch", on_click="ignore",
                          help="The scenario with your changes, as a file `negsim validate` accepts.")
    if n:
        with st.expander(f"You changed {n} setting{'s' if n != 1 else ''}"):
            st.markdown(changes_text(cur.base, cur.edits, state.base_values()))
            st.page_link("routes/sensitivity.py", label="Vary the last one over its range", icon=":material/tune:",
                         help="The Sensitivity page plays the current settings along the setting you moved last.")
    uncertain_inputs(cur)
    section = st.segmented_control("Change the settings", SECTIONS, default=SECTIONS[0], required=True,
                                   key=SECTION, width="stretch",
                                   help="Every change reruns the negotiation at once.")
    base = cur.base
    if section == "Actors":
        _actor_controls(base)
    elif section == "Rules":
        _rule_controls(base)
    else:
        _issue_controls(base)


def uncertain_inputs(cur: state.Current) -> None:
    """The checkbox that makes runs draw the scenario's uncertain inputs from their seed, and those inputs
    (path, range, reason) in an expander."""
    ranges = cur.scenario.uncertainty
    st.checkbox("Draw the uncertain inputs from the seed", value=state.drawing(), key=state.DRAW_BOX,
                on_change=state.set_drawing, disabled=not ranges,
                help="On: every run (the negotiation, the Monte Carlo, the comparisons, the sensitivity sweeps) "
                     "draws the inputs the scenario codes as assumptions from their ranges, using its seed, so "
                     "each seed plays its own version of them. Off: they are played as coded in the file.")
    if not ranges:
        return
    with st.expander(f"Uncertain inputs ({len(ranges)})"):
        st.caption("Inputs the scenario codes as assumptions, with the range each run draws from"
                   + (" (now: from the seed)." if state.drawing() else " (now: off, played as coded).")
                   + " A setting you change by hand is no longer drawn.")
        st.markdown(uncertain_text(cur.scenario))


def uncertain_text(scenario: Scenario) -> str:
    """The uncertain inputs as a Markdown list: the setting in words, its path, the range, the coded value, why."""
    lines = []
    for path, spec in scenario.uncertainty.items():
        words, _, unit = describe(scenario, path)
        coded = state.value_at(scenario, path)
        shown = "not set" if coded is None else _show(coded)
        how = "" if spec.distribution == "triangular" else f", {spec.distribution}"
        lines.append(f"- **{md(words)}** (`{path}`): {spec.low:g} … {spec.high:g}{md(unit_suffix(unit))} "
                     f"(coded {shown}{how})" + (f" - {md(spec.reason)}" if spec.reason else ""))
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


OPTIONS = {"protocol.mechanism": MECHANISMS, "protocol.linkage": LINKAGES, "protocol.activation": ACTIVATIONS}
"""Labels of the values of the choice settings (the strategy kinds: `STRATEGIES`)."""


def describe(scenario: Scenario, path: str) -> tuple[str, dict[str, str] | None, str]:
    """(words, option labels, unit) of a parameter path, for people: 'Russia - position on NATO eastward
    expansion' for `actors.russia.positions.expansion` (the words: `sim.scenario.paths.label`)."""
    info = describe_path(scenario, path)
    options = OPTIONS.get(path)
    if path.startswith("actors.") and path.endswith(".strategy.kind"):
        options = {k: v.split(":")[0] for k, v in STRATEGIES.items()}
    return info.label, options, info.unit


def changes_text(scenario: Scenario, changes: dict[str, Any], bases: dict[str, Any]) -> str:
    """The edits as a Markdown list a person can read: 'Russia: position on NATO eastward expansion: 100 → 60'."""
    lines = []
    for path, value in changes.items():
        words, options, unit = describe(scenario, path)

        def show(v: Any, options: dict[str, str] | None = options, unit: str = unit) -> str:
            if options and v in options:
                return options[v].split(":")[0]
            return md(_show(v) + (unit_suffix(unit) if v is not None else ""))

        lines.append(f"- {md(words)}: {show(bases.get(path))} → **{show(value)}**")
    return "\n".join(lines)


# ---------------------------------------------------------------------- issues: positions, saliences, red lines
def _toggle_red_line(path: str, key: str, base_value: float | None, default: float) -> None:
    on = state.live_value(key)
    if state.is_stale(on):
        return
    if on:
        state.set_edit(path, base_value if base_value is not None else default, base_value)
    else:
        state.set_edit(path, None, base_value)
    st.session_state.pop(state.widget_key(path), None)


def _issue_controls(base: Scenario) -> None:
    issues = {i.id: i for i in base.issues}
    issue_id = st.selectbox("Issue", list(issues), format_func=lambda i: issues[i].label, key=EDIT_ISSUE)
    issue = issues[issue_id]
    scale = issue.scale
    step = nice_step(scale.span)
    fmt = fmt_for(step, scale.unit)
    st.caption(f"◀ **{scale.min:g}**: {md(issue.low_label)}")
    st.caption(f"**{scale.max:g}**: {md(issue.high_label)} ▶", text_alignment="right")
    if issue.status_quo is not None:
        slider("Status quo (what holds without a deal)", f"issues.{issue.id}.status_quo", issue.status_quo,
               scale.min, scale.max, step, fmt=fmt,
               help=f"What holds on {md(issue.label)} if nothing is agreed ({poles(issue)}): the point every actor "
                    "compares a deal with.")
    st.markdown("**Where each actor stands** (its ideal outcome)")
    for actor in base.actors:
        slider(md(actor.name), f"actors.{actor.id}.positions.{issue.id}", actor.positions[issue.id], scale.min,
               scale.max, step, fmt=fmt,
               help=f"{md(actor.name)}'s ideal outcome on {md(issue.label)} ({poles(issue)}).")
    st.markdown("**How much the issue matters to each** (salience: 0 not at all, 1 above all)")
    for actor in base.actors:
        slider(md(actor.name), f"actors.{actor.id}.saliences.{issue.id}", actor.saliences[issue.id], 0.0, 1.0,
               0.05, fmt="%.2f", help=f"How much {md(issue.label)} matters to {md(actor.name)}, 0-1.")
    st.markdown("**Red lines** (the worst value an actor would ever accept)")
    for actor in base.actors:
        path = f"actors.{actor.id}.red_lines.{issue.id}"
        base_line = actor.red_lines.get(issue.id)
        line = _value(path, base_line)
        position = _value(f"actors.{actor.id}.positions.{issue.id}", actor.positions[issue.id])
        middle = (scale.min + scale.max) / 2
        default = position - 0.25 * scale.span if position >= middle else position + 0.25 * scale.span
        default = round(min(max(default, scale.min), scale.max) / step) * step
        toggle_key = state.widget_key(path + "#on")
        st.toggle(f"{md(actor.name)} has a red line", value=line is not None, key=toggle_key,
                  on_change=_toggle_red_line, args=(path, toggle_key, base_line, default),
                  help=f"{md(actor.name)} never accepts an agreement beyond this value on {md(issue.label)}.")
        if line is not None:
            slider(f"{md(actor.name)}'s red line", path, base_line, scale.min, scale.max, step, fmt=fmt,
                   default=default, help=f"{md(actor.name)} accepts no agreement on the far side of this "
                                                  f"value ({poles(issue)}).")


# ---------------------------------------------------------------------- actors: power, strategy, allies
def _kind_changed(actor_id: str, key: str, base_kind: str, base_exponent: float | None) -> None:
    kind = state.live_value(key)
    if state.is_stale(kind):
        return
    state.set_edit(f"actors.{actor_id}.strategy.kind", kind, base_kind)
    exponent_path = f"actors.{actor_id}.strategy.exponent"
    if kind in DEFAULT_EXPONENTS:
        exponent = base_exponent if kind == base_kind else DEFAULT_EXPONENTS[kind]
    else:
        exponent = base_exponent if kind == base_kind else None
    state.set_edit(exponent_path, exponent, base_exponent)


def _actor_controls(base: Scenario) -> None:
    actors = {a.id: a for a in base.actors}
    actor_id = st.selectbox("Actor", list(actors), format_func=lambda a: actors[a].name, key=EDIT_ACTOR)
    actor = actors[actor_id]
    prefix = f"actors.{actor.id}"
    top = max(a.capability for a in base.actors)
    cap_step = nice_step(2 * top)
    slider("Capability (power at the table)", f"{prefix}.capability", actor.capability, cap_step,
           cap_step * 100, cap_step, fmt=fmt_for(cap_step),
           help="Relative power to shape the outcome; only ratios between actors matter.")
    strategy = actor.strategy
    kind_key = state.widget_key(f"{prefix}.strategy.kind")
    kind = _value(f"{prefix}.strategy.kind", strategy.kind)
    # the box shows the strategy's name (the sidebar cut "Boulware: holds out, concedes near the d..."); what it
    # does is the caption under it, wrapped
    st.selectbox("Strategy", list(STRATEGIES), index=list(STRATEGIES).index(kind),
                 format_func=lambda k: STRATEGIES[k].split(": ")[0], key=kind_key, on_change=_kind_changed,
                 args=(actor.id, kind_key, strategy.kind, strategy.exponent),
                 help="How the actor concedes over the rounds (time-dependent strategies after Faratin et al. "
                      "1998: the share of its room conceded by round t is (t/T)^(1/e)).")
    st.caption(STRATEGIES[kind].split(": ")[1])
    if kind in EXPONENT_RANGES:
        lo, hi, step = EXPONENT_RANGES[kind]
        slider("Concession exponent e", f"{prefix}.strategy.exponent", strategy.exponent, lo, hi, step,
               fmt="%.2f", suffix=f"#{kind}", default=DEFAULT_EXPONENTS[kind],
               help="boulware: e < 1 (smaller holds out longer); conceder: e > 1 (larger gives ground sooner).")
    elif kind == "tit_for_tat":
        slider("Reciprocity", f"{prefix}.strategy.reciprocity", strategy.reciprocity, 0.0, 3.0, 0.1, fmt="%.1f",
               help="Multiple of the others' last concession that it returns.")
        slider("Opening concession", f"{prefix}.strategy.opening", strategy.opening, 0.0, 1.0, 0.01, fmt="%.2f",
               help="Share of its room it concedes in round 1, before anyone has moved.")
    elif kind == "hardliner":
        slider("Flexibility", f"{prefix}.strategy.flexibility", strategy.flexibility, 0.0, 1.0, 0.01,
               fmt="%.2f", help="Largest share of its room it will ever concede (reached at the deadline).")
    slider("Walk-away utility", f"{prefix}.reservation_utility", actor.reservation_utility, 0.0, 1.0, 0.01,
           fmt="%.2f", help=WALK_AWAY_HELP)
    if actor.outside_option is not None:
        option = actor.outside_option
        slider("Outside option (what leaving the table is worth)", f"{prefix}.outside_option.value", option.value,
               0.0, 1.0, 0.01, fmt="%.2f", help=OUTSIDE_OPTION_HELP)
        slider("Outside option trend per round", f"{prefix}.outside_option.trend", option.trend, -0.2, 0.2, 0.005,
               fmt="%.3f", help="Change of that value each round (> 0: walking away looks better as time passes).")
    slider("Risk attitude", f"{prefix}.risk_attitude", actor.risk_attitude, -1.0, 1.0, 0.1, fmt="%.1f",
           help="-1 risk-averse … 0 neutral … +1 risk-acceptant (the shape of its utility curve).")
    others = [a for a in base.actors if a.id != actor.id]
    if others:
        st.markdown(f"**How closely {md(actor.name)} follows its allies** (cohesion 0-1; together at most 1)")
        for other in others:
            slider(f"follows {md(other.name)}", f"{prefix}.allies.{other.id}", actor.allies.get(other.id, 0.0),
                   0.0, 1.0, 0.05, fmt="%.2f",
                   help=f"How far {md(actor.name)}'s offers move with {md(other.name)}'s each round.")


# ---------------------------------------------------------------------- rules of the talks
def _mechanism_parameter_controls(base: Scenario, chosen: mechanisms.Mechanism) -> None:
    """The chosen mechanism's own parameters, read from its pydantic model: a choice for each set of named
    options, a slider for each bounded number (the field's docstring as help)."""
    if chosen.parameters is None:
        return
    values = getattr(base.protocol, chosen.name)
    st.markdown(f"**{chosen.label}**")
    for name, field in chosen.parameters.model_fields.items():
        path, label = f"protocol.{chosen.name}.{name}", name.replace("_", " ").capitalize()
        options = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
        if options:
            choice(label, path, getattr(values, name), {o: o.replace("_", " ") for o in options},
                   help=field.description)
            continue
        bounds = {type(m).__name__: m for m in field.metadata}
        low = getattr(bounds.get("Ge"), "ge", 0.0)
        high = getattr(bounds.get("Le"), "le", 1.0)
        slider(label, path, getattr(values, name), low, high, (high - low) / 20, fmt="%.2f", help=field.description)


def _rule_controls(base: Scenario) -> None:
    p = base.protocol
    t = p.tension
    choice("Mechanism", "protocol.mechanism", p.mechanism, MECHANISMS, radio=True,
           help="How actors move. " + " ".join(f"**{m.label}**: {m.summary}" for m in mechanisms.REGISTRY.values()))
    choice("Linkage", "protocol.linkage", p.linkage, LINKAGES, radio=True,
           help="package: the issues are settled together; issue by issue: each closes on its own.")
    choice("Order of moves", "protocol.activation", p.activation, ACTIVATIONS)
    slider("Max rounds (the deadline)", "protocol.max_rounds", p.max_rounds, 1, max(100, p.max_rounds), 1,
           help="The talks end in stalemate after this many rounds.")
    slider("Agreement tolerance", "protocol.agreement_tolerance", p.agreement_tolerance, 0.01, 0.5, 0.01,
           fmt="%.2f", help="An offer this close to the proposal (as a share of the scale) counts as accepting it.")
    slider("Noise", "protocol.noise", p.noise, 0.0, 0.5, 0.01, fmt="%.2f",
           help="Random misreading of offers (standard deviation, share of the scale). 0 = none.")
    seed_key = state.widget_key("protocol.seed")
    seed = min(int(_value("protocol.seed", p.seed)), MAX_SEED)
    st.number_input("Random seed", min_value=0, max_value=MAX_SEED, value=seed, step=1, key=seed_key,
                    on_change=_changed, args=("protocol.seed", seed_key, p.seed),
                    help="The same settings and seed always give the same run.")
    st.markdown("**Tension** (derived: deadlock raises it, concessions lower it; 0 calm … 1 crisis)")
    st.caption("Tension slows concessions (hardening) but ends nothing by itself: the talks break down when an "
               "actor's outside option beats the best deal every actor, itself included, could still "
               "accept (Actors section).")
    slider("Initial tension", "protocol.tension.initial", t.initial, 0.0, 1.0, 0.01, fmt="%.2f")
    slider("Deadlock rate", "protocol.tension.deadlock_rate", t.deadlock_rate, 0.0, 1.0, 0.01, fmt="%.2f",
           help="Added in a round in which nobody moved.")
    slider("Hard-line rate", "protocol.tension.hardline_rate", t.hardline_rate, 0.0, 1.0, 0.01, fmt="%.2f",
           help="Added per round times the share of actors that held firm.")
    slider("Concession relief", "protocol.tension.concession_relief", t.concession_relief, 0.0,
           max(5.0, t.concession_relief), 0.1, fmt="%.1f", help="Subtracted per round times the mean concession.")
    slider("Agreement relief", "protocol.tension.agreement_relief", t.agreement_relief, 0.0, 1.0, 0.01, fmt="%.2f",
           help="Subtracted once when a de-escalating issue is agreed.")
    slider("Hardening", "protocol.tension.hardening", t.hardening, 0.0, 1.0, 0.01, fmt="%.2f",
           help="How much tension slows concessions: at full tension actors concede (1 - hardening) as much.")
    _mechanism_parameter_controls(base, mechanisms.get(_value("protocol.mechanism", p.mechanism)))
