"""The negotiation, round by round: run controls, outcome banner, charts, status tables, move log, downloads."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dashboard import charts, common, report, state
from dashboard.editor import STRATEGIES, changes_text, describe, poles
from dashboard.text import md, unit_suffix
from sim import mechanisms, service
from sim.scenario import format_of

SPEEDS = {0.5: "½ round/s", 1.0: "1 round/s", 2.0: "2 rounds/s", 4.0: "4 rounds/s", 10.0: "10 rounds/s"}
SPEED = "negsim.play_speed"
PLAY = "negsim.play"
"""Key of the Play/Pause button: one widget whatever its label, so a click on Pause reaches the same callback."""

FEB2022_INTRO = (
    "In mid-February 2022, with Russian forces massed around Ukraine, Russia and the West were exchanging "
    "written answers on European security. Russia asked for a **legally binding guarantee that NATO would not "
    "expand further east**, **no strike weapons or intermediate-range missiles near its borders**, and insisted "
    "that everything be settled **as one package**. The United States, NATO and the EU answered that a "
    "country's right to choose its alliances is not negotiable, but offered talks on **missiles** and on "
    "**risk reduction and confidence-building measures**. Here the four parties negotiate again, round by "
    "round: each starts from the position the record shows, concedes according to its strategy (or does not), "
    "and tension rises when nobody moves. Move the sliders on the left and see whether a deal becomes possible."
)


def intro(scenario) -> None:
    st.title(":material/handshake: negsim · negotiation simulator")
    st.subheader(md(scenario.title))
    if scenario.id.startswith("feb2022"):
        st.markdown(FEB2022_INTRO)
        if scenario.id != "feb2022_baseline" and scenario.description:
            st.caption(f"This variant: {md(scenario.description)}")
    elif scenario.description:
        st.markdown(md(scenario.description))
    if format_of(scenario.source or "") == "csv" or (scenario.source or "").startswith("CSV import"):
        st.caption("Spatial-model data (capability, position and salience per actor) are made for Bueno de "
                   "Mesquita's expected-utility model: they run with that mechanism here. Switch it under "
                   "*Rules* in the sidebar.")


def controls(cur: state.Current, result) -> None:
    finished = result.outcome != "running"
    c1, c2, c3, c4, c5 = st.columns([1.2, 1.2, 1.0, 1.2, 1.2], vertical_alignment="bottom")
    c1.button("Run to the end", icon=":material/fast_forward:", type="primary", on_click=state.run_to_end,
              width="stretch", disabled=finished, help="Play every round until agreement, breakdown or the deadline.")
    c2.button("Step one round", icon=":material/skip_next:", on_click=state.step_one, disabled=finished,
              width="stretch", help="Play the next round only.")
    playing = state.playing() and not finished
    c3.button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
              on_click=state.toggle_play, disabled=finished and not playing, width="stretch", key=PLAY,
              help="Play the rounds one after another at the chosen speed; press again to pause.")
    c4.select_slider("Speed", list(SPEEDS), value=1.0, format_func=SPEEDS.__getitem__, key=SPEED,
                     label_visibility="collapsed", help="Rounds per second while playing.")
    c5.button("Back to round 0", icon=":material/replay:", on_click=state.reset_run, width="stretch",
              help="Back to the opening positions (your settings stay).")
    p = cur.scenario.protocol
    drawn = result.scenario.protocol.max_rounds
    deadline = f"{p.max_rounds} rounds at most" + (f" (this run drew {drawn})" if drawn != p.max_rounds else "")
    st.caption(f"Seed {p.seed} · {deadline} · "
               f"{'package deal' if p.linkage == 'package' else 'issue by issue'} · "
               f"{mechanisms.get(p.mechanism).label.lower()} mechanism"
               f" · source: {md(cur.source)}" + (f" (+{len(cur.edits)} changes)" if cur.edits else ""))


def metrics(result) -> None:
    s = result.scenario
    p = s.protocol
    agreed = sum(r.agreed for r in result.issues.values())
    c1, c2, c3, c4 = st.columns([1.4, 1, 1, 1])  # "Breakdown" in the metric's large type was cut at 1280 px
    c1.metric("Outcome", common.SHORT_WORDS[result.outcome], border=True,
              help="agreement: every issue settled; partial: some; stalemate: none by the deadline; "
                   "breakdown: an actor walked away (its outside option beat the best deal still on offer).")
    c2.metric("Round", f"{result.rounds} / {p.max_rounds}", border=True, help="Rounds played / the deadline.")
    c3.metric("Tension", f"{result.tension:.2f}", border=True,
              help="0 calm … 1 crisis; derived: deadlock raises it, concessions lower it. It slows "
                   "concessions but does not end the talks by itself.")
    c4.metric("Issues agreed", f"{agreed} / {len(result.issues)}", border=True)


def status_table(result) -> pd.DataFrame:
    s = result.scenario
    rows = []
    for issue_id, r in result.issues.items():
        issue = s.issue(issue_id)
        unit = issue.scale.unit
        row = {"Issue": issue.label,
               "Status": f"agreed in round {r.round}" if r.agreed else "open",
               "Why": common.issue_why(result, issue_id),
               "Agreed value": common.fmt(r.value, unit),
               "Proposal on the table": common.fmt(r.proposal, unit),
               "Forecast: weighted mean": common.fmt(r.weighted_mean, unit),
               "Forecast: weighted median": common.fmt(r.weighted_median, unit)}
        if r.prediction is not None:
            row["Expected-utility forecast"] = common.fmt(r.prediction, unit)
        row["Scale"] = f"{issue.scale.min:g} = {issue.low_label} … {issue.scale.max:g} = {issue.high_label}"
        rows.append(row)
    return pd.DataFrame(rows)


def walk_away_label(result) -> str:
    """The actors table's walk-away column: the run's values, drawn where the scenario gives them a range (the
    sidebar shows the coded ones: Russia's 0.45 coded was 0.43 in the table, unlabelled)."""
    drawn = any(path.endswith(".reservation_utility") for path in result.inputs)
    return "Walk-away utility (drawn)" if drawn else "Walk-away utility"


def actors_table(result) -> pd.DataFrame:
    s = result.scenario
    rows = []
    for actor in s.actors:
        r = result.actors[actor.id]
        row = {"Actor": actor.name, "Strategy": STRATEGIES[actor.strategy.kind].split(":")[0],
               "Utility of the outcome": round(r.utility, 3),
               "Walk-away utility": round(actor.reservation_utility, 3)}  # the run's: drawn where it has a range
        for issue in s.issues:
            row[issue.id] = round(r.final_positions[issue.id], 1)
        rows.append(row)
    return pd.DataFrame(rows)


def offer_columns(scenario) -> dict:
    """Column headers of the actors table: an issue's id, its label as the tooltip."""
    return {i.id: st.column_config.NumberColumn(f"Offer: {i.id}", help=f"Final offer on {md(i.label)} ({poles(i)})",
                                                format="%.1f")
            for i in scenario.issues}


def move_log(result) -> pd.DataFrame:
    s = result.scenario
    h = result.history
    h = h[h["round"] > 0]
    names = {a.id: a.name for a in s.actors}
    labels = {i.id: i.label for i in s.issues}
    dates = {"Date": h["date"].to_numpy()} if "date" in h else {}     # under a calendar (protocol.calendar)
    log = pd.DataFrame({"Round": h["round"].to_numpy(), **dates, "Actor": h["actor"].map(names).to_numpy(),
                        "Issue": h["issue"].map(labels).to_numpy(), "Offer": h["position"].round(1).to_numpy(),
                        "Move": moves(result)[h.index]})
    return log.iloc[::-1].reset_index(drop=True)


def moves(result) -> pd.Series:
    """Each row of the run's history as a move in words, with its numbers where the reason alone would mislead
    (`service.move_sentences`: "moved toward the proposal (34.2) from 15.7 to 18.1", not "met the proposal")."""
    h = result.history
    return pd.Series(service.move_sentences(h, result.scenario, lambda v, issue: common.fmt(v, issue.scale.unit)),
                     index=h.index)


INSPECT = "negsim.inspect_round"
"""The round the per-actor panel shows (the round scrubber's key)."""
INSPECT_SLIDER = "negsim.inspect_slider"
INSPECT_LAST = "negsim.inspect_last"
"""The newest round when the panel was last drawn: a scrubber left there follows the rounds being played."""
MOVE_WHY = {
    "moved toward the proposal": "its strategy conceded all the way to the proposal it answered, but its offer "
                                 "ended short of it (its allies pulled it back, or the table had moved by its turn)",
    "moved": "its strategy conceded all the way to the proposal it answered, but its offer ended elsewhere (its "
             "allies pulled it, or the table had moved by its turn)",
}
"""What the two move sentences that are not recorded reasons mean (`explain.move_sentence` says them where a
recorded "met the proposal" ended short of the proposal); every other sentence starts with its reason."""


def _slid() -> None:
    st.session_state[INSPECT] = int(st.session_state[INSPECT_SLIDER])


def _shift_round(delta: int, last: int) -> None:
    st.session_state[INSPECT] = min(max(int(st.session_state.get(INSPECT, last)) + delta, 0), last)


def round_rows(result, actor_id: str, k: int, words: pd.Series | None = None) -> pd.DataFrame:
    """One actor in round k, issue by issue: its offer before and after, its move and why, the proposal the
    round left on the table and how far the offer is from it."""
    s = result.scenario
    h = result.history
    words = moves(result) if words is None else words   # `moves(result)`, read once for every actor's tab
    now = h[(h["round"] == k) & (h["actor"] == actor_id)].assign(move=words).set_index("issue")
    before = h[(h["round"] == max(k - 1, 0)) & (h["actor"] == actor_id)].set_index("issue")
    why = mechanisms.get(result.mechanism).why     # what each reason the run's mechanism records means
    texts = {**why, **MOVE_WHY}
    keys = sorted(texts, key=len, reverse=True)     # the longest prefix of a sentence names its text
    rows = []
    for issue in s.issues:
        row, prev = now.loc[issue.id], before.loc[issue.id]
        unit = issue.scale.unit
        reason, move = str(row["reason"]), str(row["move"])
        text = next((texts[key] for key in keys if move.startswith(key)),
                    why.get(reason, reason))
        rows.append({"Issue": issue.label, "Offer before": common.fmt(float(prev["position"]), unit),
                     "Offer now": common.fmt(float(row["position"]), unit), "Move": move, "Why": text,
                     "Proposal after the round": common.fmt(float(row["proposal"]), unit),
                     "Gap to the proposal": common.fmt(abs(float(row["position"]) - float(row["proposal"])), unit),
                     "Agreed": "yes" if bool(row["agreed"]) else "no"})
    return pd.DataFrame(rows)


def inspect_round(result) -> None:
    """A round scrubber (any round played so far, both directions) and, for the chosen round, each actor's
    offers, move, why and utility, like Mesa's agent portrayal."""
    st.markdown("#### Inspect one round")
    last = int(result.rounds)
    following = st.session_state.get(INSPECT_LAST) == st.session_state.get(INSPECT)  # at the newest round
    if INSPECT not in st.session_state or int(st.session_state[INSPECT]) > last or following:
        st.session_state[INSPECT] = last
    st.session_state[INSPECT_LAST] = last
    left, middle, right = st.columns([1.6, 6.8, 1.6], vertical_alignment="bottom")  # labels whole at 1280 px
    left.button("Previous", icon=":material/chevron_left:", key="negsim.inspect_prev", on_click=_shift_round,
                args=(-1, last), disabled=int(st.session_state[INSPECT]) <= 0, width="stretch",
                help="The round before.")
    right.button("Next", icon=":material/chevron_right:", key="negsim.inspect_next", on_click=_shift_round,
                 args=(1, last), disabled=int(st.session_state[INSPECT]) >= last, width="stretch",
                 help="The round after.")
    if last > 0:
        # the slider's own state is set from INSPECT on every run: its maximum grows as rounds are played,
        # which makes it a new widget that would otherwise start again at 0
        st.session_state[INSPECT_SLIDER] = int(st.session_state[INSPECT])
        middle.slider("Round to inspect", 0, last, key=INSPECT_SLIDER, on_change=_slid,
                      help="Any round played so far, back and forth; play more rounds to inspect them.")
    else:
        middle.caption("Round 0: the opening positions. Play some rounds to inspect them one by one.")
    k = int(st.session_state[INSPECT])
    s = result.scenario
    h = result.history
    tension = float(h.loc[h["round"] == k, "tension"].iloc[0])
    st.caption(f"Round {k} of {last} played · tension after it {tension:.2f}")
    tabs = st.tabs([md(a.name) for a in s.actors])
    words = moves(result)    # the whole run's moves in words, once for every tab
    for tab, actor in zip(tabs, s.actors, strict=True):
        utility = float(h.loc[(h["round"] == k) & (h["actor"] == actor.id), "utility"].iloc[0])
        walk = actor.reservation_utility
        drawn = " (drawn for this run)" if f"actors.{actor.id}.reservation_utility" in result.inputs else ""
        with tab:
            st.markdown(f"**{md(actor.name)}** · utility of the proposal on the table after round {k}: "
                        f"**{utility:.3f}** ({'at or above' if utility >= walk else 'below'} its walk-away "
                        f"utility {walk:.2f}{drawn})")
            st.dataframe(round_rows(result, actor.id, k, words), hide_index=True, width="stretch",
                         column_config={"Issue": st.column_config.TextColumn("Issue", width="medium"),
                                        # the move in words, with its numbers: wide enough to read whole
                                        "Move": st.column_config.TextColumn("Move", width="large"),
                                        "Why": st.column_config.TextColumn("Why", width="large")})


def downloads(cur: state.Current, result, figures: list[charts.Figure]) -> None:
    st.markdown("##### Downloads")
    c1, c2, c3 = st.columns(3)
    stem = cur.scenario.id
    c1.download_button("Round history (CSV)", icon=":material/download:", data=lambda: common.history_csv(result),
                       file_name=f"{stem}_rounds.csv", mime="text/csv", on_click="ignore", width="stretch",
                       help="One row per round, actor and issue: offer, reason, utility, tension, proposal.")
    c2.download_button("Outcome (JSON)", icon=":material/download:", data=lambda: common.outcome_json(result),
                       file_name=f"{stem}_outcome.json", mime="application/json", on_click="ignore",
                       width="stretch", help="The result as `negsim run --json` prints it.")
    scenario = cur.scenario
    c3.download_button("Edited scenario (YAML)", icon=":material/download:",
                       data=lambda: common.scenario_yaml(scenario, cur.source_text, cur.edits),
                       file_name=f"{stem}.yaml",
                       mime="application/x-yaml", on_click="ignore", width="stretch",
                       help="Your settings as a scenario file for `negsim run` / `negsim validate`.")
    e12, e3 = st.columns([2, 1])
    report.chart_downloads(figures, stem, e12)
    tables = {"Where each issue stands": status_table(result), "The actors": actors_table(result)}
    changes = changes_text(cur.base, cur.edits, state.base_values())
    e3.download_button("Report (HTML)", icon=":material/description:", on_click="ignore", width="stretch",
                       data=lambda: report.html_report(result, figures, tables, cur.source, changes),
                       file_name=f"{stem}_report.html", mime="text/html",
                       help="One self-contained page: the outcome in words, the tables and the charts.")


def render() -> None:
    cur = state.get_current()
    intro(cur.scenario)
    common.show_problems(cur)
    result = state.shown_result(cur)
    controls(cur, result)
    common.banner(result)
    if note := common.values_note(result, "negotiation"):
        st.caption(note)
    metrics(result)
    drawn_inputs(cur, result)
    st.markdown("#### Offers round by round")
    st.caption("Each coloured line is one actor's offer; the dashed black line is the proposal on the table "
               "(the capability- and salience-weighted mean of the offers). Grey dotted lines: forecasts from the "
               "opening positions. A green diamond marks an agreement. Hover for each move's reason.")
    figures = [charts.positions_chart(result, issue.id) for issue in cur.scenario.issues]
    for figure in figures:
        charts.show(figure)
    left, right = st.columns(2)
    figures += [charts.tension_chart(result), charts.utilities_chart(result)]
    charts.show(figures[-2], left)
    charts.show(figures[-1], right)
    st.markdown("#### Where each issue stands")
    st.dataframe(status_table(result), hide_index=True, width="stretch",
                 column_config={"Why": st.column_config.TextColumn("Why", width="large",
                                                                   help="What settled or blocked the issue")})
    st.markdown("#### The actors")
    st.dataframe(actors_table(result), hide_index=True, width="stretch",
                 column_config={**offer_columns(cur.scenario),
                                "Walk-away utility": st.column_config.NumberColumn(
                                    walk_away_label(result), help=common.WALK_AWAY_HELP),
                                "Utility of the outcome": st.column_config.NumberColumn(
                                    help="Its utility of the outcome (0-1): agreed issues at their value, the "
                                         "others at its utility of their status quo (or its walk-away utility "
                                         "where an issue has none).")})
    with st.expander("Log of moves: who did what, and why", expanded=False):
        st.caption("Latest round first. *conceded*: moved towards the proposal as its strategy schedules; "
                   "*held*: did not move; *held red line*: stands at its red line; *at reservation*: at its "
                   "walk-away utility; *followed ally*: moved with an ally; *met the proposal (34)*: its offer "
                   "reached the proposal it answered; *moved toward the proposal (34) from 15 to 17*: its strategy "
                   "went all the way there but its offer ended short; *agreed*: the issue is closed.")
        st.dataframe(move_log(result), hide_index=True, width="stretch", height=320,
                     column_config={"Move": st.column_config.TextColumn("Move", width="large")})
    inspect_round(result)
    downloads(cur, result, figures)
    share(cur)
    if state.playing():
        keep_playing(result)


def drawn_inputs(cur: state.Current, result) -> None:
    """What this run drew for the scenario's uncertain inputs (or that it plays them as coded)."""
    ranges = cur.scenario.uncertainty
    if not ranges:
        return
    if not result.inputs:
        st.caption(f"The {len(ranges)} uncertain inputs are played as coded in the file (drawing is off in the "
                   "sidebar).")
        return
    # each uncertain input has its own random stream of the seed: the file's run with this seed drew the same
    # values for every input the edits leave uncertain (a paired what-if)
    file_draws = service.drawn_inputs(cur.base, result.seed) if cur.edits else {}
    same = [path for path, value in result.inputs.items() if file_draws.get(path) == value]
    title = f"This run drew its {len(result.inputs)} uncertain inputs from seed {result.seed}"
    if cur.edits:
        title += f": {len(same)} the same as the file's run"
    with st.expander(title):
        if cur.edits:
            fixed = [path for path in file_draws if path not in result.inputs]
            st.markdown(
                f"Each uncertain input has its own random stream of the seed, so your {len(cur.edits)} "
                f"change{'s' if len(cur.edits) != 1 else ''} leave{'' if len(cur.edits) != 1 else 's'} the other "
                f"draws alone: **{len(same)} of the {len(result.inputs)} inputs drawn here are the same on both "
                f"sides** (this run and the file's run with seed {result.seed})"
                + (f"; {len(fixed)} input{'s' if len(fixed) != 1 else ''} you set "
                   f"{'are' if len(fixed) != 1 else 'is'} no longer drawn" if fixed else "")
                + ". The difference between the two runs comes from your changes alone.")
        rows = ["| Setting | Drawn | Coded | Range |" + (" Same in the file's run |" if cur.edits else "") + " Path |",
                "|---|---:|---:|---|" + ("---|" if cur.edits else "") + "---|"]
        for path, value in result.inputs.items():
            words, _, unit = describe(cur.scenario, path)
            coded = state.value_at(cur.scenario, path)
            spec = ranges.get(path)
            span = "" if spec is None else f"{spec.low:g} … {spec.high:g}" + md(unit_suffix(unit))
            row = f"| {md(words)} | {value:.3g} | {'not set' if coded is None else f'{coded:g}'} | {span} |"
            if cur.edits:
                row += (" yes |" if path in same else f" no (drew {file_draws[path]:.3g}) |" if path in file_draws
                        else " not drawn there |")
            rows.append(row + f" `{path}` |")
        st.markdown("\n".join(rows))


def share(cur: state.Current) -> None:
    """The address bar holds the file, the edits and the round (see `state.share_to_url`): a copy reopens them."""
    with st.expander("Share this run", icon=":material/link:"):
        if state.is_upload():
            embedded = state.embed(state.source())
            if embedded is None:
                st.warning(f"This run comes from an uploaded file, **{md(cur.source)}**, too large to travel in a "
                           "link: whoever opens the link must upload that file again (share it with the link; "
                           "Save YAML gives it with your changes). The link carries only its name.",
                           icon=":material/upload_file:")
            else:
                st.info(f"The link carries the uploaded scenario itself ({md(cur.source)}, "
                        f"{len(embedded[1]):,} characters): whoever opens it sees this run without the file.",
                        icon=":material/upload_file:")
        link = state.share_link()
        st.markdown("The address in your browser's bar reopens this scenario with your settings, seed and round. "
                    "Copy it, or this link:")
        st.code(link, language=None, wrap_lines=True)


def keep_playing(result) -> None:
    """Playing: show this round for a moment, then ask for the next (a rerun of the page)."""
    if result.outcome != "running":
        state.stop_playing()
        return
    wait, next_round = state.next_play_round(float(st.session_state.get(SPEED, 1.0)))
    time.sleep(wait)
    st.session_state[state.TARGET] = next_round
    st.rerun()
