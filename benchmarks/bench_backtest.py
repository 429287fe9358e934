"""Benchmark of `negsim backtest`: every forecasting model over 353 issues (the size of DEU III's usable issues).

Run from the repository root:  .venv/bin/python benchmarks/bench_backtest.py [FILE]
Without FILE it writes a synthetic DEU-layout file (30 actors, 353 issues in proposals of 1-5 issues, 30 % of
positions missing, a reference point on 70 % of the issues); with FILE it tiles that file's issue rows to 353.
Prints the seconds per model (median of repeats) and the command end to end (a fresh process, --json).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.forecasting import MODELS  # noqa: E402
from sim.forecasting import backtest as bt  # noqa: E402

N_ISSUES = 353


def synthetic(path: Path, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    actors = ["com", "ep"] + [f"m{k:02d}" for k in range(28)]
    header = ["prnr", "isnr", "counvte", "proc"] + [f"p{a}" for a in actors] + [f"s{a}" for a in actors] + ["rp", "out"]
    rows = [header, ["", "", "", ""] + [f"{c:.2f}" for c in rng.uniform(0.02, 4.1, len(actors))]
            + [""] * (len(actors) + 2)]
    issue = proposal = 0
    while issue < N_ISSUES:
        proposal += 1
        size = min(int(rng.integers(1, 6)), N_ISSUES - issue)
        rule, proc = rng.choice(["QMV", "Unan"], p=[0.8, 0.2]), rng.choice(["COD", "CNS"])
        for _ in range(size):
            x = rng.choice([0, 25, 50, 75, 100], size=len(actors)).astype(float)
            s = rng.integers(0, 11, size=len(actors)) * 10.0
            missing = rng.random(len(actors)) < 0.3
            missing[:2] = False
            cells = ["" if m else f"{v:g}" for v, m in zip(x, missing, strict=True)]
            sal = ["" if m else f"{v:g}" for v, m in zip(s, missing, strict=True)]
            rp = f"{rng.choice([0, 100, 50]):g}" if rng.random() < 0.7 else ""
            rows.append([f"p{proposal}", f"i{issue}", rule, proc, *cells, *sal, rp, f"{rng.integers(0, 101)}"])
            issue += 1
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n")


def tiled(source: Path, path: Path) -> None:
    lines = source.read_text().splitlines()
    usable = {issue for p in bt.read_deu(source).proposals for issue in p.issue_ids}
    header, capability = lines[0], lines[1]
    isnr = header.split("\t").index("isnr")
    body = [line for line in lines[2:] if line.strip() and line.split("\t")[isnr] in usable]
    cols = header.split("\t")
    out, copy = [header, capability], 0
    while len(out) - 2 < N_ISSUES:
        for line in body:
            cells = line.split("\t")
            for name in ("prnr", "isnr"):
                cells[cols.index(name)] += f"_{copy}"
            out.append("\t".join(cells))
            if len(out) - 2 == N_ISSUES:
                break
        copy += 1
    path.write_text("\n".join(out) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "issues.tsv"
        tiled(args.file, path) if args.file else synthetic(path)
        data = bt.read_deu(path)
        origin = f"tiled {args.file}" if args.file else "synthetic"
        print(f"{data.n_issues} issues, {len(data.proposals)} proposals ({origin})")
        total = 0.0
        for name in MODELS:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                bt.run_backtest(data, (name,))
                times.append(time.perf_counter() - start)
            total += statistics.median(times)
            print(f"  {name:<17} {statistics.median(times):6.2f} s")
        print(f"  all models        {total:6.2f} s (sum of medians; the first concession run also imports Mesa)")
        start = time.perf_counter()
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "negsim"), "backtest", str(path), "--json"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        print(f"  negsim backtest --json, end to end: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
