"""Dashboard latency through Streamlit's AppTest (server side, no browser).

After "Run to the end", move one position slider to a value not seen before (so nothing comes from the
cache) and time the rerun: the baseline run to its end plus the re-render of the Negotiation page (sidebar,
charts, tables). Prints the median and spread over the repeats; the budget is 150 ms.

    .venv/bin/python benchmarks/bench_dashboard.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
SLIDER = "w:actors.russia.positions.expansion"
BUDGET_MS = 150.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args(argv)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    next(b for b in at.button if b.label == "Run to the end").click().run()
    for _ in range(3):  # warm-up: imports, first chart conversions
        at.slider(key=SLIDER).set_value(99.0).run()
        at.slider(key=SLIDER).set_value(100.0).run()
    timings = []
    for k in range(args.repeats):
        value = 98.0 - k  # a value not run before: a cache miss, so the whole run is recomputed
        at.slider(key=SLIDER).set_value(value)
        start = time.perf_counter()
        at.run()
        timings.append((time.perf_counter() - start) * 1000)
        if at.exception:
            print(f"error: the app raised {at.exception[0].value}", file=sys.stderr)
            return 1
        outcome = next(m for m in at.metric if m.label == "Outcome").value
        assert outcome != "Under way", "the slider change did not run the talks to the end"
    median = statistics.median(timings)
    print(f"dashboard: slider change -> full baseline run + re-render: median {median:.0f} ms "
          f"(min {min(timings):.0f}, max {max(timings):.0f}, {len(timings)} repeats; budget {BUDGET_MS:.0f} ms)")
    sensitivity()
    return 0


def sensitivity(points: int = 11, seeds: int = 20, repeats: int = 5) -> None:
    """The Sensitivity page's sweep of the baseline along one slider, without the page: with the uncertain inputs
    drawn from each seed (the page's default: one model per seed) and played as coded (lockstep)."""
    sys.path.insert(0, str(ROOT))
    from sim.scenario import load_scenario
    from sim.service import vary_one

    baseline = load_scenario(ROOT / "scenarios" / "feb2022_baseline.yaml")
    values = [k * 100 / (points - 1) for k in range(points)]
    for how, scenario in (("drawn", baseline), ("as coded", baseline.as_coded())):
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            vary_one(scenario, "actors.russia.positions.expansion", values, seeds)
            timings.append((time.perf_counter() - start) * 1000)
        print(f"sensitivity ({how}): {points} values x {seeds} seeds of the baseline: median "
              f"{statistics.median(timings):.0f} ms (min {min(timings):.0f}, {repeats} repeats)")


if __name__ == "__main__":
    raise SystemExit(main())
