"""The dashboard in a real browser: scripts/screenshot.py starts it headless, drives Debian's Chromium through
Playwright, clicks "Run to the end" and saves a full-page screenshot of every page (failing if a page shows an
exception). Skipped only where /usr/bin/chromium is not installed (`apt-get install chromium`)."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest

from tests.test_dashboard import fake_sweep

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")


def load_script():
    spec = importlib.util.spec_from_file_location("negsim_screenshot", ROOT / "scripts" / "screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_screenshots_of_every_page(tmp_path):
    screenshot = load_script()
    sweep = tmp_path / "sweep"
    fake_sweep(sweep)
    shots = screenshot.take_screenshots(tmp_path / "img", sweep=sweep, chromium=str(CHROMIUM))
    names = {p.name for p in shots}
    assert names == set(screenshot.SHOTS)
    for shot in shots:
        width, height = png_size(shot)
        assert width == screenshot.WIDTH
        assert height > 900, f"{shot.name} is {height} px tall: the page did not render"
        assert shot.stat().st_size > 50_000, f"{shot.name} looks blank"
