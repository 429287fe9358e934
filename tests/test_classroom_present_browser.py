"""The projector's presentation view at 1920 x 1080 (issue 25): every issue's chart is on the screen without
scrolling (it showed only the first issue's). Chromium through Playwright against a real classroom server on
127.0.0.1; skipped where /usr/bin/chromium is missing."""

from __future__ import annotations

import pytest

from sim.classroom import Classroom
from sim.scenario import baseline
from tests.test_classroom_browser import CHROMIUM, CHROMIUM_ARGS, WAIT, classroom_server, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]     # conftest: skipped without Chromium, except in CI


def test_the_presentation_view_fits_every_issue_at_1920_by_1080(tmp_path):
    from playwright.sync_api import sync_playwright

    db = tmp_path / "classroom.sqlite3"
    teacher = Classroom(db)
    state = teacher.create_room(baseline(), human_seats=["russia", "us"], max_rounds=8, timer_seconds=0,
                                passphrase="the teacher's own sentence")
    code, key = state.code, state.room.teacher_key
    token = teacher.join(code, "russia", "Ana")
    teacher.start(code, key)
    teacher.submit_move(code, "russia", token, 1, offers={"expansion": 95, "missiles": 80})
    teacher.force_round(code, key)
    with classroom_server(db) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"{url}/?view=present&room={code}", wait_until="domcontentloaded")
            page.get_by_text("scan to join").wait_for(timeout=WAIT)
            page.wait_for_function("() => document.querySelectorAll('.vega-embed').length >= 3", timeout=WAIT)
            settle(page)
            boxes = page.evaluate("""() => [...document.querySelectorAll('.vega-embed')].map(e => {
                const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; })""")
            page.screenshot(path=str(tmp_path / "present_1920.png"))
            assert len(boxes) == len(state.scenario.issues)
            assert all(b["top"] >= 0 and b["bottom"] <= 1080 for b in boxes), boxes
        finally:
            browser.close()


@pytest.mark.parametrize("width", [1280, 1920])
def test_no_title_or_button_is_cut_off_on_a_students_seat(tmp_path, width):
    """A student's seat during a round at 1280 and 1920 px: no title, button ("Submit my off...", "Accept the
    pro...") or label narrower than its text (the same check as the dashboard's pages)."""
    from playwright.sync_api import sync_playwright

    from tests.test_classroom_browser import seat_button, type_into
    from tests.test_dashboard_upload_layout_browser import TRUNCATED

    db = tmp_path / "classroom.sqlite3"
    teacher = Classroom(db)
    state = teacher.create_room(baseline(), human_seats=["russia", "us"], max_rounds=8, timer_seconds=0,
                                passphrase="the teacher's own sentence")
    code, key = state.code, state.room.teacher_key
    with classroom_server(db) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 1000})
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_label("Room code", exact=True).wait_for(timeout=WAIT)
            type_into(page, "Room code", code)
            type_into(page, "Your name", "Ana")
            seat_button(page, "take_russia").click()
            page.get_by_text("Your seat: Russia").wait_for(timeout=WAIT)
            Classroom(db).start(code, key)
            page.get_by_role("button", name="Submit my offers").wait_for(timeout=WAIT)  # the seat page polls
            settle(page)
            page.screenshot(path=str(tmp_path / f"seat_{width}.png"), full_page=True)
            found = page.evaluate(TRUNCATED)
            assert not found, found
        finally:
            browser.close()
