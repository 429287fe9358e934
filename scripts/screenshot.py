"""Full-page screenshots of every dashboard page, for the docs and as a browser check.

Starts `streamlit run dashboard/app.py` headless on a free port of 127.0.0.1, drives Debian's Chromium through
Playwright (no browser download: `apt-get install chromium`), opens a scenario in which every chart draws (the
issue-by-issue variant: two issues settle, so the Monte Carlo has agreed values to show), clicks "Run to the end"
and saves one PNG per page at 1280 px, then stops the server:

    .venv/bin/python scripts/screenshot.py [OUT_DIR] [--sweep DIR]

OUT_DIR defaults to docs/img/. The Negotiation page is saved as dashboard.png (the README's picture), the others
as analysis.png, monte_carlo.png, compare.png, sensitivity.png and sweeps.png.
Without --sweep a small demo sweep is made with `negsim sweep` in a temporary directory for the sweep explorer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WIDTH, HEIGHT = 1280, 1000
SHOTS = ("dashboard.png", "analysis.png", "monte_carlo.png", "compare.png", "sensitivity.png", "sweeps.png")
SCENARIO = "feb2022_issue_by_issue.yaml"
DEMO_SWEEP = ["--vary", "protocol.linkage=package,issue_by_issue",
              "--vary", "actors.russia.outside_option.value=0.2:0.5:7", "--replicates", "8"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(port: int | None = None, timeout: float = 60.0, app: str = "dashboard/app.py",
          env: dict[str, str] | None = None) -> Iterator[str]:
    """Run a Streamlit app of negsim headless (the dashboard by default; the browser tests also serve the
    classroom, with `env`); yield its URL; stop it (and only it) afterwards."""
    port = port or free_port()
    command = [sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the server stops
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"streamlit exited with code {server.returncode}:\n{log.read().decode()[-3000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def make_demo_sweep(directory: Path) -> Path | None:
    """A small sweep of the baseline with `negsim sweep` (None if that fails, e.g. sweeps not installed)."""
    out = directory / "demo"
    command = [sys.executable, "-m", "sim", "sweep", "scenarios/feb2022_baseline.yaml", "--out", str(out),
               *DEMO_SWEEP, "--quiet"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not (out / "runs.parquet").exists():
        print(f"note: could not make a demo sweep ({done.stderr.strip()[-300:]})", file=sys.stderr)
        return None
    return out


def _settle(page, timeout: float = 60.0) -> None:
    """Wait until the script has finished running and every chart has drawn."""
    page.wait_for_timeout(400)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').filter(has_text="Running").count()
        pending = page.evaluate("""() => [...document.querySelectorAll('.vega-embed')]
            .filter(e => !e.querySelector('canvas, svg')).length""")
        if not running and not pending:
            break
        page.wait_for_timeout(200)
    page.wait_for_timeout(600)


def _check(page, name: str) -> None:
    """A page that shows a Python exception is a failure, not a picture."""
    errors = page.locator('[data-testid="stException"]')
    if errors.count():
        raise RuntimeError(f"the {name} page shows an exception: {errors.first.inner_text()[:2000]}")


def _full_page(page, path: Path, sizes: dict[str, list[dict]] | None = None) -> Path:
    """Streamlit scrolls inside its main block: grow the viewport to the content, then screenshot."""
    height = page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        const side = document.querySelector('[data-testid="stSidebarContent"]');
        return Math.max(main ? main.scrollHeight : 0, side ? side.scrollHeight : 0, window.innerHeight);
    }""")
    page.set_viewport_size({"width": WIDTH, "height": int(min(height, 12000)) + 40})
    _settle(page, timeout=20)
    _check(page, path.stem)
    page.screenshot(path=str(path), full_page=True)
    if sizes is not None:
        sizes[path.name] = drawn_charts(page)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    return path


def _open_page(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    _settle(page)


def drawn_charts(page) -> list[dict]:
    """Size of every chart drawn on the page (its canvas or SVG), to check that none shrank to a hairline."""
    return page.evaluate("""() => [...document.querySelectorAll('.vega-embed')].map(e => {
        const g = e.querySelector('canvas, svg'); const r = (g || e).getBoundingClientRect();
        return {width: r.width, height: r.height, drawn: !!g}; })""")


def take_screenshots(out_dir: Path, sweep: Path | None = None, chromium: str = CHROMIUM,
                     scenario: str = SCENARIO, sizes: dict[str, list[dict]] | None = None) -> list[Path]:
    """Screenshots of every page into out_dir (see SHOTS); `sizes`, if given, receives the size of every chart
    drawn on each page (by file name)."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with serve() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.goto(f"{url}/?file={scenario}", wait_until="domcontentloaded")
            page.get_by_role("button", name="Run to the end").wait_for(timeout=60_000)
            _settle(page)
            page.get_by_role("button", name="Run to the end").click()
            page.wait_for_function("""() => !document.body.innerText.includes('Round 0 of at most')""",
                                   timeout=60_000)
            _settle(page)
            shots.append(_full_page(page, sizes=sizes, path=out_dir / "dashboard.png"))

            _open_page(page, "Analysis")
            page.get_by_text("Where could they meet?").wait_for(timeout=60_000)
            _settle(page)
            shots.append(_full_page(page, sizes=sizes, path=out_dir / "analysis.png"))

            _open_page(page, "Monte Carlo")
            page.get_by_role("button", name="Run the batch").click()
            page.get_by_text("runs done").wait_for(timeout=120_000)
            _settle(page)
            shots.append(_full_page(page, sizes=sizes, path=out_dir / "monte_carlo.png"))

            _open_page(page, "Compare")
            page.get_by_text("Offers round by round").wait_for(timeout=60_000)
            page.get_by_role("button", name="Run both batches").click()
            page.locator('[data-testid="stDataFrame"]').nth(2).wait_for(timeout=120_000)
            _settle(page)
            shots.append(_full_page(page, sizes=sizes, path=out_dir / "compare.png"))

            _open_page(page, "Sensitivity")
            page.get_by_role("button", name="Run the sensitivity sweep").click()
            page.get_by_text("This sensitivity table (CSV)").wait_for(timeout=120_000)
            _settle(page)
            shots.append(_full_page(page, sizes=sizes, path=out_dir / "sensitivity.png"))

            _open_page(page, "Sweep explorer")
            if sweep is not None:
                box = page.get_by_label("…or type the path of a sweep directory")
                box.fill(str(sweep))
                box.press("Enter")
                page.get_by_text("How the outcome depends on the parameters").wait_for(timeout=60_000)
                _settle(page)
            shots.append(_full_page(page, sizes=sizes, path=out_dir / "sweeps.png"))
        finally:
            browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", default=str(ROOT / "docs" / "img"), help="where to write the PNGs")
    parser.add_argument("--sweep", help="a sweep directory for the sweep explorer (default: make a small demo)")
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium executable")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"error: {args.chromium} not found (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="negsim-shots-") as tmp:
        sweep = Path(args.sweep) if args.sweep else make_demo_sweep(Path(tmp))
        for shot in take_screenshots(Path(args.out_dir), sweep, args.chromium):
            print(shot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
