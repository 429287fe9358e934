"""What a sweep's manifest records (its format, versions, timestamps, the design's hashes), and the checks that
a directory's manifest belongs to the sweep asked for: the same draws, the same negsim version for an unfinished
sweep, the same design.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.core.streams import DRAWS
from sim.sweep.base import SweepError
from sim.version import __version__

if TYPE_CHECKING:
    from sim.scenario import Scenario

FORMAT = "negsim-sweep/1"


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "negsim": __version__}   # the running code's, as resume checks it
    for name in ("mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def scenario_hash(scenario: Scenario) -> str:
    text = json.dumps(scenario.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    labels = {"scenario_sha256": "the scenario", "vary": "--vary", "sampler": "--sampler", "samples": "--samples",
              "replicates": "--replicates", "root_seed": "--seed", "rounds": "--rounds"}
    out = []
    for key, label in labels.items():
        if old.get(key) != new.get(key):
            if key == "scenario_sha256":
                out.append("the scenario's content differs")
            else:
                out.append(f"{label} was {_show(old.get(key))}, now {_show(new.get(key))}")
    if not out and old != new:
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        out.append("the sampled points differ: the design was sampled by another version of negsim, numpy or "
                   "scipy (negsim's lhs sampler changed when sweeps dropped SALib)" if "points_sha256" in changed
                   else f"{', '.join(changed)} differ")
    return out


def refuse_other_draws(path: Path, manifest: dict[str, Any]) -> None:
    """A sweep whose runs drew their random numbers another way (`sim.core.streams.DRAWS`; before common random
    numbers, manifests have no "draws") cannot be resumed: its remaining runs would draw other numbers than its
    finished ones."""
    draws = manifest.get("draws")
    if draws != DRAWS:
        how = ("before common random numbers (each run drew its inputs, noise and order of moves in sequence from "
               "one generator)" if draws is None else f"with draws {draws!r}")
        raise SweepError(f"{path} was run {how}; this negsim draws each from its own stream ({DRAWS}), so the "
                         "same seeds now draw other numbers and its runs cannot be resumed or mixed with new "
                         "ones. Use --overwrite to start over, or choose another --out.")


def refuse_other_version(path: Path, manifest: dict[str, Any]) -> None:
    """An unfinished sweep started by another version of negsim (`versions.negsim` of its manifest) is not resumed:
    its remaining runs would be played by another model than its finished ones, and the tables would mix both
    silently. A manifest that records no version (written before versions were recorded) cannot be checked."""
    recorded = (manifest.get("versions") or {}).get("negsim")
    if recorded not in (None, "unknown") and str(recorded) != __version__:
        raise SweepError(f"{path} was started by negsim {recorded}, this is negsim {__version__}: resuming would mix "
                         "runs of two model versions. Use --overwrite to start over, or choose another --out.")


def _show(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(map(str, value)) or "(none)"
    return "(none)" if value is None else str(value)
