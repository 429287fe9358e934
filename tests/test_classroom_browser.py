"""Two students in their own Chromium contexts against a real classroom server try what a class would try:
take a seated student's seat by typing her name, open the teacher's console (by the role switch, a guessed
passphrase, a key in the address), read another seat's confidential brief, and plant Markdown (a tracking
pixel) in a name. The test fails if any of it works. It also photographs the projector's presentation view
and a student's seat (NEGSIM_CLASSROOM_SHOTS=docs/img saves them for the docs).

Runs Debian's chromium through Playwright; the server listens on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.classroom import Classroom, ClassroomError, Client
from sim.classroom.security import normalise_code
from sim.scenario import baseline
from tests.test_dashboard_browser import load_script

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
PASS = "the teacher's own sentence"
PIXEL = "http://127.0.0.1:9/p.png"     # a tracking pixel (nothing listens there)
WAIT = 60_000

CHROMIUM_ARGS = load_script().CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]     # conftest: skipped without Chromium, except in CI


@contextlib.contextmanager
def classroom_server(db: Path, timeout: float = 90.0) -> Iterator[str]:
    """`streamlit run dashboard/classroom.py` on a free loopback port over `db` (the dashboard's browser tests'
    server, `scripts/screenshot.serve`); stopped (only it) afterwards."""
    env = {**os.environ, "NEGSIM_CLASSROOM_DB": str(db), "NEGSIM_CLASSROOM_RUNS": "10"}
    env.pop("NEGSIM_CLASSROOM_URL", None)
    with load_script().serve(timeout=timeout, app="dashboard/classroom.py", env=env) as url:
        yield url


def settle(page, timeout: float = 60.0) -> None:
    """Wait until the script run is over and every chart has drawn; fail on a page showing an exception."""
    load_script()._settle(page, timeout)
    assert not page.locator('[data-testid="stException"]').count(), page.locator(
        '[data-testid="stException"]').first.inner_text()


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")
    settle(page)


def seat_button(page, key: str):
    """The button of a keyed widget (Streamlit marks its container with the class st-key-<key>)."""
    return page.locator(f".st-key-{key}").get_by_role("button").filter(has_text=re.compile(r"\w"))


def body(page) -> str:
    return page.inner_text("body")


def shoot(page, path: Path, width: int = 1440) -> None:
    """Full page: Streamlit scrolls inside its main block, so grow the viewport to the content first."""
    height = page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        const side = document.querySelector('[data-testid="stSidebarContent"]');
        return Math.max(main ? main.scrollHeight : 0, side ? side.scrollHeight : 0, window.innerHeight);
    }""")
    page.set_viewport_size({"width": width, "height": int(min(height, 8000)) + 40})
    settle(page, timeout=20)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})


def test_students_can_neither_take_a_seat_nor_reach_the_console_nor_read_another_brief(tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("NEGSIM_CLASSROOM_SHOTS") or tmp_path)
    db = tmp_path / "classroom.sqlite3"
    cls = Classroom(db)
    state = cls.create_room(baseline(), human_seats=["russia", "us"], max_rounds=8, timer_seconds=180,
                            passphrase=PASS, title="Moscow, February 2022 - period 3")
    code, key = state.code, state.room.teacher_key
    spec = state.scenario
    russia_secret_text = spec.actor("russia").brief.confidential[:60]      # "Your instructions from the Kremlin..."
    us_secret_text = spec.actor("us").brief.confidential[:40]
    pixel_requests: list[str] = []

    with classroom_server(db) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            alice_ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
            mallory_ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
            for ctx in (alice_ctx, mallory_ctx):
                ctx.on("request", lambda r: pixel_requests.append(r.url) if "p.png" in r.url else None)

            # ---------------------------------------------------------------- Alice takes Russia
            alice = alice_ctx.new_page()
            alice.goto(url, wait_until="domcontentloaded")
            alice.get_by_label("Room code", exact=True).wait_for(timeout=WAIT)
            type_into(alice, "Room code", code)
            type_into(alice, "Your name", "Alice")
            seat_button(alice, "take_russia").click()
            alice.get_by_text("Your seat: Russia").wait_for(timeout=WAIT)
            settle(alice)
            assert russia_secret_text[:30] in body(alice)                 # her own brief, confidential part
            assert us_secret_text[:30] not in body(alice)                 # not the others'
            holder = Classroom(db).state(code).seat("russia")
            assert holder.player == "Alice"
            assert "token" not in alice.url                               # the secret is not in the address ...
            shown = alice.locator('[data-testid="stCode"]').first.inner_text().strip()
            alice_secret = normalise_code(shown)                          # ... but shown once as a rejoin code
            assert Classroom(db).seat_for(code, alice_secret).actor == "russia"
            assert alice_secret not in Classroom(db).store.path.read_text(errors="ignore")   # stored hashed

            # ---------------------------------------------------------------- Mallory: takeover by name
            mallory = mallory_ctx.new_page()
            mallory.goto(url, wait_until="domcontentloaded")
            mallory.get_by_label("Room code", exact=True).wait_for(timeout=WAIT)
            type_into(mallory, "Room code", code.lower())
            type_into(mallory, "Your name", "ALICE")
            assert seat_button(mallory, "take_russia").count() == 0   # no button hands the seat over
            assert "Alice" not in body(mallory)                           # nor does the page say who holds it
            seat_button(mallory, "ask_russia").click()          # nor may she ask for it as "ALICE" ...
            mallory.get_by_text("already used in this room").wait_for(timeout=WAIT)
            assert Classroom(db).seat_requests(code, key) == []
            type_into(mallory, "Your name", "Mallory")
            seat_button(mallory, "ask_russia").click()          # ... only as herself: the teacher decides
            mallory.get_by_text("Waiting for the teacher").wait_for(timeout=WAIT)
            settle(mallory)
            assert russia_secret_text[:30] not in body(mallory)
            after = Classroom(db).state(code).seat("russia")
            assert (after.player, after.token) == (holder.player, holder.token), "the seat changed hands"

            # ... a guessed seat secret in the address
            mallory.goto(f"{url}/?role=student&room={code}&seat=russia&token=AAAABBBBCCCC",
                         wait_until="domcontentloaded")
            mallory.get_by_text("no seat in room").wait_for(timeout=WAIT)
            settle(mallory)
            assert "Your seat: Russia" not in body(mallory) and russia_secret_text[:30] not in body(mallory)

            # ---------------------------------------------------------------- Mallory: the teacher's console
            # the real teacher key in the address (where older versions put it) opens nothing
            mallory.goto(f"{url}/?role=teacher&room={code}&key={key}", wait_until="domcontentloaded")
            mallory.get_by_text("Classroom - teacher").wait_for(timeout=WAIT)
            settle(mallory)
            text = body(mallory)
            assert "End the negotiation" not in text and "Start round 1" not in text
            assert russia_secret_text[:30] not in text and us_secret_text[:30] not in text
            mallory.get_by_role("tab", name="Your rooms").click()
            settle(mallory)
            assert "No rooms opened in this browser yet" in body(mallory)   # no list of every room
            # a guessed passphrase
            mallory.get_by_role("tab", name="Open a room").click()
            mallory.get_by_label("Teacher passphrase", exact=True).fill("password123")
            mallory.get_by_role("button", name="Open the console").click()
            mallory.get_by_text("wrong passphrase").wait_for(timeout=WAIT)
            settle(mallory)
            assert "End the negotiation" not in body(mallory)
            logged = Classroom(db).attempts(code, key)
            assert [a.kind for a in logged] == ["teacher passphrase", "seat secret"]

            # ---------------------------------------------------------------- Mallory sits at the US seat
            mallory.goto(url, wait_until="domcontentloaded")
            mallory.get_by_label("Room code", exact=True).wait_for(timeout=WAIT)
            type_into(mallory, "Room code", code)
            type_into(mallory, "Your name", f"![]({PIXEL})**bold**")        # 37 of the 40 characters allowed
            seat_button(mallory, "take_us").click()
            mallory.get_by_text("Your seat: United States").wait_for(timeout=WAIT)
            settle(mallory)
            text = body(mallory)
            assert us_secret_text[:30] in text                            # her own confidential brief ...
            assert russia_secret_text[:30] not in text                    # ... and no one else's
            for other in ("nato", "eu"):
                assert spec.actor(other).brief.confidential[:30] not in text
            # her name is text, not Markdown: no image, no bold
            assert mallory.locator(f'img[src="{PIXEL}"]').count() == 0
            assert mallory.locator("strong", has_text="bold").count() == 0
            assert "**bold**" in text
            assert mallory.locator('a[href*="127.0.0.1:9"]').count() == 0   # nor a link to the address in it

            # ---------------------------------------------------------------- the projector, a round in
            teacher = Classroom(db)
            teacher.start(code, key)
            teacher.submit_move(code, "russia", alice_secret, 1, offers={"expansion": 95, "missiles": 80})
            teacher.force_round(code, key)
            projector = alice_ctx.new_page()
            projector.goto(f"{url}/?view=present&room={code}", wait_until="domcontentloaded")
            projector.get_by_text("scan to join").wait_for(timeout=WAIT)
            settle(projector)
            text = body(projector)
            assert code in text and "Round 2 of 8" in text
            for secret in (key, PASS, shown, alice_secret, russia_secret_text[:30], us_secret_text[:30]):
                assert secret not in text
            assert projector.locator(f'img[src="{PIXEL}"]').count() == 0
            assert projector.locator("strong", has_text="bold").count() == 0
            shoot(projector, shots / "classroom_presentation.png")
            alice.reload(wait_until="domcontentloaded")                   # after a reload: the rejoin code
            alice.get_by_text("Back to my seat (I have my seat secret)").click()
            alice.get_by_label("Seat secret", exact=True).fill(shown.lower())
            alice.get_by_role("button", name="Back to my seat").click()
            alice.get_by_text("Your seat: Russia").wait_for(timeout=WAIT)
            assert "token" not in alice.url
            settle(alice)
            alice.screenshot(path=str(shots / "classroom_student.png"))

            # ---------------------------------------------------------------- the teacher, with the passphrase
            desk = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            desk.goto(f"{url}/?role=teacher&room={code}", wait_until="domcontentloaded")
            desk.get_by_role("tab", name="Open a room").click()
            desk.get_by_label("Teacher passphrase", exact=True).fill(PASS)
            desk.get_by_role("button", name="Open the console").click()
            desk.get_by_text("End the negotiation").wait_for(timeout=WAIT)
            # the seat requests are drawn after the controls: wait for them (on a busy machine they came later)
            desk.get_by_text("Mallory asks for the seat Russia", exact=False).first.wait_for(timeout=WAIT)
            settle(desk)
            text = body(desk)
            assert "Mallory asks for the seat Russia, now held by Alice" in text   # her request waits for her
            assert key not in text and key not in desk.url and PASS not in text and "key=" not in desk.url
            shoot(desk, shots / "classroom_console.png")
            # the seats, names in Markdown: Mallory's address is text, not a link the teacher could click
            desk.locator(".st-key-console_section").get_by_text("Seats", exact=True).click()
            desk.get_by_text("held by ![](", exact=False).first.wait_for(timeout=WAIT)
            settle(desk)
            assert desk.locator('a[href*="127.0.0.1:9"]').count() == 0
            assert desk.locator(f'img[src="{PIXEL}"]').count() == 0
            assert pixel_requests == [], pixel_requests

            # ---------------------------------------------------------------- students use up the passphrases
            for n in range(10):                                            # from ten addresses: the room's cap
                with contextlib.suppress(ClassroomError):
                    Classroom(db).open_console(code, f"guess {n}", Client(session=f"s{n}", address=f"10.1.0.{n}"))
            mallory.goto(f"{url}/?role=teacher&room={code}", wait_until="domcontentloaded")
            mallory.get_by_role("tab", name="Open a room").click()
            mallory.get_by_label("Teacher passphrase", exact=True).fill(PASS)
            mallory.get_by_role("button", name="Open the console").click()
            mallory.get_by_text("recovery code").first.wait_for(timeout=WAIT)    # another browser: refused
            # the teacher's own browser, reloaded (a new session): its own budget, the passphrase still opens it
            desk.reload(wait_until="domcontentloaded")
            desk.get_by_role("tab", name="Open a room").click()
            desk.get_by_label("Teacher passphrase", exact=True).fill(PASS)
            desk.get_by_role("button", name="Open the console").click()
            desk.get_by_text("End the negotiation").wait_for(timeout=WAIT)
        finally:
            browser.close()
