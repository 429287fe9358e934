"""The dashboard in a real browser: scripts/screenshot.py starts it headless, drives Debian's Chromium through
Playwright, clicks "Run to the end" and saves a full-page screenshot of every page (failing if a page shows an
exception). Skipped only where /usr/bin/chromium is not installed (`apt-get install chromium`)."""

from __future__ import annotations

import importlib.util
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_dashboard import fake_sweep

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.slow]     # conftest: skipped without Chromium, except in CI


def load_script():
    spec = importlib.util.spec_from_file_location("negsim_screenshot", ROOT / "scripts" / "screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def dashboard_page(width: int = 1280, height: int = 1000) -> Iterator[tuple[Any, str, Any]]:
    """(the screenshot script, the dashboard's address, a fresh page of headless Chromium at width x height): the
    dashboard served by scripts/screenshot.py for the length of the block, the browser closed after it."""
    from playwright.sync_api import sync_playwright

    screenshot = load_script()
    with screenshot.serve() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=screenshot.CHROMIUM_ARGS, headless=True)
        try:
            yield screenshot, url, browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_screenshots_of_every_page(tmp_path):
    screenshot = load_script()
    sweep = tmp_path / "sweep"
    fake_sweep(sweep)
    sizes: dict[str, list[dict]] = {}
    shots = screenshot.take_screenshots(tmp_path / "img", sweep=sweep, chromium=str(CHROMIUM), sizes=sizes)
    names = {p.name for p in shots}
    assert names == set(screenshot.SHOTS)
    # at 1280 px every chart draws at a readable size; the issue-by-issue Monte Carlo has two histograms
    # (missiles and CBMs settle in every run) beside the outcome shares (issue 14: they were hairlines)
    assert screenshot.WIDTH == 1280
    for name, drawn in sizes.items():
        assert drawn and all(c["drawn"] and c["width"] > 250 and c["height"] > 150 for c in drawn), (name, drawn)
    assert len(sizes["monte_carlo.png"]) == 3
    for shot in shots:
        width, height = png_size(shot)
        assert width == screenshot.WIDTH
        assert height > 900, f"{shot.name} is {height} px tall: the page did not render"
        assert shot.stat().st_size > 50_000, f"{shot.name} looks blank"


def _exception_text(page) -> str:
    errors = page.locator('[data-testid="stException"]')
    return errors.first.inner_text()[:2000] if errors.count() else ""


def test_upload_run_and_upload_again_keeps_the_app_alive(tmp_path):
    """Regression (issue 14): upload a valid YAML, move a slider, run, then upload another file. The sliders'
    callbacks of the first upload fired once more with the second upload and looked up widget keys that a
    change of scenario had deleted: the whole app was replaced by a KeyError."""

    scenarios = ROOT / "scenarios"
    with dashboard_page() as (screenshot, url, page):
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("button", name="Run to the end").wait_for(timeout=60_000)
        screenshot._settle(page)
        uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        uploader.set_input_files(str(scenarios / "feb2022_issue_by_issue.yaml"))
        page.get_by_text("issue by issue", exact=False).first.wait_for(timeout=60_000)
        screenshot._settle(page)
        thumb = page.locator('[data-testid="stSidebar"] [data-testid="stSlider"] input[type="range"]').first
        thumb.focus()
        thumb.press("ArrowLeft")
        screenshot._settle(page)
        page.get_by_role("button", name="Run to the end").click()
        screenshot._settle(page)
        assert not _exception_text(page)
        uploader.set_input_files(str(scenarios / "feb2022_hardline_russia.yaml"))
        screenshot._settle(page)
        assert not _exception_text(page), _exception_text(page)
        page.get_by_text("hardline Russia").first.wait_for(timeout=60_000)
        # the new file is shown from round 0 with its own values, and runs
        page.get_by_text("Round 0 of at most").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Run to the end").click()
        screenshot._settle(page)
        assert not _exception_text(page), _exception_text(page)
        assert "You changed" not in page.locator('[data-testid="stSidebar"]').inner_text()


def test_play_pause_and_a_shared_link_in_the_browser():
    """Play steps the rounds by itself and Pause stops it; the address follows the session and opening it in a
    fresh page shows the same run. Nothing is fetched from outside the machine (the favicon was a CDN font)."""

    from dashboard.common import OUTCOME_WORDS
    from sim import service

    run = service.run_scenario(ROOT / "scenarios" / "feb2022_issue_by_issue.yaml")   # drawn from its seed
    deadline = run.scenario.protocol.max_rounds
    with dashboard_page() as (screenshot, url, page):
        outside: list[str] = []
        page.context.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
            ("http://127.0.0.1", "data:", "blob:")) else None)
        page.goto(f"{url}/?file=feb2022_issue_by_issue.yaml", wait_until="domcontentloaded")
        page.get_by_role("button", name="Play").wait_for(timeout=60_000)
        screenshot._settle(page)
        favicon = page.evaluate("() => document.querySelector('link[rel*=icon]').href")
        assert favicon.startswith("data:image/svg+xml"), favicon[:80]
        page.get_by_role("button", name="Play").click()
        page.wait_for_function(f"() => /Round\\s+[2-9] \\/ {deadline}/.test(document.body.innerText)",
                               timeout=30_000)
        page.get_by_role("button", name="Pause").click()
        screenshot._settle(page)
        paused = page.locator('[data-testid="stMetric"]').nth(1).inner_text()
        page.wait_for_timeout(2500)
        assert page.locator('[data-testid="stMetric"]').nth(1).inner_text() == paused  # it stays paused
        page.get_by_role("button", name="Run to the end").click()
        page.wait_for_function("() => location.search.includes('round=end')", timeout=30_000)
        link = page.url
        assert "file=feb2022_issue_by_issue.yaml" in link
        other = page.context.browser.new_page(viewport={"width": 1280, "height": 1000})
        other.goto(link, wait_until="domcontentloaded")
        other.get_by_text(OUTCOME_WORDS[run.outcome]).first.wait_for(timeout=60_000)
        screenshot._settle(other)
        other.get_by_text(f"{run.rounds} / {deadline}").first.wait_for(timeout=30_000)
        rounds = other.locator('[data-testid="stMetric"]').filter(has_text="Round").first.inner_text()
        assert f"{run.rounds} / {deadline}" in rounds, rounds
        assert not _exception_text(page) and not _exception_text(other)
        assert outside == [], outside


def test_a_sweep_started_from_the_dashboard_lands_in_the_explorer(tmp_path, monkeypatch):
    """New sweep in a real browser: two factors picked in words, three seeds each, Start; the progress bar runs and
    the sweep explorer opens on the result. The command the page showed makes the same table from a terminal."""
    from typer.testing import CliRunner

    from sim.cli import app
    from sim.sweep import read_runs

    monkeypatch.setenv("NEGSIM_SWEEPS_DIR", str(tmp_path / "sweeps"))
    with dashboard_page() as (screenshot, url, page):
        page.goto(f"{url}/new_sweep", wait_until="domcontentloaded")
        page.get_by_role("heading", name="New sweep").wait_for(timeout=60_000)
        screenshot._settle(page)
        assert "no factor chosen" in page.locator('[data-testid="stAlert"]').first.inner_text()
        factors = page.locator('[data-testid="stMultiSelect"]').first.locator("input")
        for words in ("Russia - walk-away utility", "Rules - linkage"):
            factors.click()
            factors.fill(words)
            page.keyboard.press("Enter")
            screenshot._settle(page)
        page.keyboard.press("Escape")
        for label, value in (("Replicates (seeds per point)", "3"), ("Name of the sweep", "from-the-page")):
            box = page.get_by_label(label, exact=True).and_(page.locator("input"))
            box.fill(value)
            box.press("Enter")
            screenshot._settle(page)
        page.get_by_text("all cores").click()        # the process pool, started from a thread of the server
        screenshot._settle(page)
        assert not _exception_text(page), _exception_text(page)
        main = page.locator('[data-testid="stMain"]')
        assert "18" in main.locator('[data-testid="stMetric"]').first.inner_text()   # 3 x 2 points x 3 seeds
        command = main.locator('[data-testid="stCode"] code').first.inner_text()
        assert "--vary actors.russia.reservation_utility=0:1:3" in command and "--executor process" in command
        screenshot._full_page(page, tmp_path / "new_sweep.png")
        page.get_by_role("button", name="Start the sweep").click()
        page.get_by_role("heading", name="Sweep explorer").wait_for(timeout=120_000)
        screenshot._settle(page)
        assert not _exception_text(page), _exception_text(page)
        main = page.locator('[data-testid="stMain"]')
        assert main.locator('[data-testid="stMetric"]').first.inner_text().split() == ["Runs", "18"]
        assert "Russia - walk-away utility (actors.russia.reservation_utility)" in main.inner_text()
        main.locator(".vega-embed").nth(1).wait_for(timeout=60_000)     # the heatmap, the outcome shares
        screenshot._full_page(page, tmp_path / "explorer.png")
    out = tmp_path / "sweeps" / "from-the-page"
    runs = read_runs(out)
    assert len(runs) == 18 and runs["error"].isna().all()
    # the command the page showed, from a terminal (into another folder): the same table
    words = command.replace("\\\n", " ").split()
    words[words.index("--out") + 1] = str(tmp_path / "again")
    result = CliRunner().invoke(app, words[1:] + ["--quiet"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    pd.testing.assert_frame_equal(read_runs(tmp_path / "again"), runs)
