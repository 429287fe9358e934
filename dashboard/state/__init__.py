"""Per-session state of the dashboard and the cached calls into `sim` it makes, one job per module:

- `keys`: the session state's keys;
- `sources`: where the scenario shown comes from (shipped file, upload, a link's scenario);
- `edits`: the user's edits and the widgets' keys;
- `current`: the scenario every page works on (source and edits resolved);
- `playback`: how far the run is played (target round, stepping, playing at a speed, drawing inputs);
- `share_links`: the session in the browser's address, and restored from it;
- `runs`: the run shown, cached;
- `analysis`: the analysis pages' cached computations (forecasts, bargaining space, Monte Carlo).

Everything a user changes lives in `st.session_state` (one browser session never sees another's): the
scenario source, the edits made with the sidebar controls (dotted parameter paths -> values, the same paths
`negsim params` lists) and how far the run has been played. Results are cached with `st.cache_data` on the
validated scenario's canonical JSON (which includes its seed), so a rerun recomputes only what changed;
`st.cache_data` hands every session its own copy. The pages use the names re-exported here (`state.current()`).
"""

from __future__ import annotations

from dashboard.state.analysis import FORECAST_RUNS, bargaining, model_forecasts, monte_carlo, monte_carlo_part
from dashboard.state.current import Current, current, get_current
from dashboard.state.edits import (
    apply_edits,
    base_values,
    clear_edits,
    edits,
    is_stale,
    live_value,
    set_edit,
    value_at,
    widget_key,
)
from dashboard.state.keys import (
    BASES,
    CURRENT,
    DRAW,
    DRAW_BOX,
    EDITS,
    END,
    FILE,
    GENERATION,
    LAST_GOOD,
    LAST_UPLOAD,
    LAST_VALID,
    LINKED,
    PLAY_CLOCK,
    PLAYING,
    RESTORED,
    SHOWN,
    SOURCE,
    TARGET,
    UPLOAD,
    UPLOAD_EDITS,
    WIDGET,
)
from dashboard.state.playback import (
    drawing,
    next_play_round,
    play_schedule,
    playing,
    reset_run,
    run_to_end,
    set_drawing,
    step_one,
    stop_playing,
    target,
    toggle_play,
)
from dashboard.state.runs import full_result, shown_result, simulate
from dashboard.state.share_links import (
    LINK_UPLOAD,
    MAX_LINK_SCENARIO,
    URL_DRAW,
    URL_EDITS,
    URL_FILE,
    URL_NAME,
    URL_ROUND,
    URL_SCENARIO,
    URL_UPLOAD,
    close_link,
    embed,
    is_upload,
    pack,
    restore_from_url,
    share_link,
    share_state,
    share_to_url,
    unpack,
)
from dashboard.state.sources import (
    DEFAULT_FILE,
    ROOT,
    SCENARIO_DIR,
    SUFFIXES,
    UPLOAD_MB,
    Source,
    file_yaml_text,
    load_file,
    load_upload,
    scenario_files,
    select_source,
    source,
    with_source_defaults,
    yaml_text,
)

__all__ = [
    "BASES", "CURRENT", "Current", "DEFAULT_FILE", "DRAW", "DRAW_BOX", "EDITS", "END", "FILE", "FORECAST_RUNS",
    "GENERATION", "LAST_GOOD", "LAST_UPLOAD", "LAST_VALID", "LINKED", "LINK_UPLOAD", "MAX_LINK_SCENARIO",
    "PLAYING", "PLAY_CLOCK", "RESTORED", "ROOT", "SCENARIO_DIR", "SHOWN", "SOURCE", "SUFFIXES", "Source",
    "TARGET", "UPLOAD", "UPLOAD_EDITS", "UPLOAD_MB", "URL_DRAW", "URL_EDITS", "URL_FILE", "URL_NAME", "URL_ROUND",
    "URL_SCENARIO", "URL_UPLOAD", "WIDGET", "apply_edits", "bargaining", "base_values", "clear_edits",
    "close_link", "current", "drawing", "edits", "embed", "file_yaml_text", "full_result", "get_current",
    "is_stale", "is_upload", "live_value", "load_file", "load_upload", "model_forecasts", "monte_carlo",
    "monte_carlo_part", "next_play_round", "pack", "play_schedule", "playing", "reset_run", "restore_from_url",
    "run_to_end", "scenario_files", "select_source", "set_drawing", "set_edit", "share_link", "share_state",
    "share_to_url", "shown_result", "simulate", "source", "step_one", "stop_playing", "target", "toggle_play",
    "unpack", "value_at", "widget_key", "with_source_defaults", "yaml_text",
]
