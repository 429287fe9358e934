"""The dashboard's layout and a first custom scenario in a real browser: no title or button cut off on any page;
the two-actor skeleton of docs/scenarios.md, whose issue has the unit "%", uploads, shows its sliders and runs; a
broken upload after it keeps it. Chromium through Playwright (scripts/screenshot.py starts the dashboard);
skipped where /usr/bin/chromium is missing."""

from __future__ import annotations

import re

import pytest

from tests.test_dashboard_browser import CHROMIUM, ROOT, dashboard_page, load_script

pytestmark = [pytest.mark.browser, pytest.mark.slow]     # conftest: skipped without Chromium, except in CI


def skeleton() -> str:
    """The skeleton of docs/scenarios.md, as a user copies it."""
    text = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    found = re.search(r"## Skeleton\n\n```yaml\n(.*?)```", text, re.DOTALL)
    assert found, "docs/scenarios.md has no skeleton"
    return found.group(1)


PERCENT_THUMBS = """() => [...document.querySelectorAll(
    '[data-testid="stSidebar"] [data-testid="stSliderThumbValue"]')].some(e => e.innerText.endsWith(' %'))"""


FIVE_SLIDERS = """() => document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stSlider"]').length
    === 5"""
"""The skeleton's sliders in the Issues section: two positions, two saliences and the US red line."""


def errors_on(page) -> str:
    """Every exception and every error box's text on the page ('' if none)."""
    return "\n".join(page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
                     .all_inner_texts())


def test_the_percent_skeleton_uploads_shows_sliders_runs_and_a_broken_upload_keeps_it(tmp_path):

    assert 'unit: "%"' in skeleton()
    good = tmp_path / "my_case.yaml"
    good.write_text(skeleton(), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\ntitle: [unclosed\n", encoding="utf-8")
    with dashboard_page() as (screenshot, url, page):
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("button", name="Run to the end").wait_for(timeout=60_000)
        screenshot._settle(page)
        uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        uploader.set_input_files(str(good))
        page.get_by_text("A readable title").first.wait_for(timeout=60_000)
        page.wait_for_function(PERCENT_THUMBS, timeout=60_000)
        screenshot._settle(page)
        assert not errors_on(page), errors_on(page)
        sidebar = page.locator('[data-testid="stSidebar"]')
        page.wait_for_function(FIVE_SLIDERS, timeout=60_000)  # stale sliders of the baseline are gone
        page.screenshot(path=str(tmp_path / "skeleton.png"), full_page=True)
        shown = sidebar.inner_text()
        assert "sprintf" not in shown and "SyntaxError" not in shown
        values = sidebar.locator('[data-testid="stSliderThumbValue"]').all_inner_texts()
        assert {"25.0 %", "0.0 %", "10.0 %"} <= set(values), values
        page.get_by_role("button", name="Run to the end").click()
        screenshot._settle(page)
        assert not errors_on(page), errors_on(page)
        assert page.locator('[data-testid="stMetric"]').filter(has_text="Outcome").count() == 1
        assert page.locator(".vega-embed").count() >= 3
        # a broken upload: the good one stays, with its sliders, and the page says so
        uploader.set_input_files(str(broken))
        page.get_by_text("Could not use the uploaded file").first.wait_for(timeout=60_000)
        screenshot._settle(page)
        assert not page.locator('[data-testid="stException"]').count()
        message = page.locator('[data-testid="stAlertContentError"]').first.inner_text()
        assert "keeps showing my_case.yaml (your last good upload)" in message, message
        assert "broken.yaml" in message
        page.get_by_text("A readable title").first.wait_for(timeout=10_000)
        page.wait_for_function(PERCENT_THUMBS, timeout=60_000)
        page.wait_for_function("() => location.search.includes('name=my_case.yaml')", timeout=30_000)
        assert "file=" not in page.url  # the link carries the good upload, not the shipped file
        page.wait_for_function(FIVE_SLIDERS, timeout=30_000)
        page.screenshot(path=str(tmp_path / "broken_after_good.png"))


TRUNCATED = """() => {
    // Text the page cuts off: an element narrower than its text (scrollWidth > clientWidth) among titles,
    // headings, buttons, labels, metrics, tabs and expander headers, or any of their descendants; and the
    // value a select box shows (its text is an input's value, which scrolls inside the box when too long).
    const roots = document.querySelectorAll(
        'h1, h2, h3, h4, h5, h6, button, [role="tab"], summary, [data-testid="stWidgetLabel"], '
        + '[data-testid="stMetricLabel"], [data-testid="stMetricValue"], [data-testid="stCaptionContainer"], '
        + '[data-testid="stSidebarNav"] a, [data-testid="stPageLink"] a');
    const out = [];
    for (const root of roots) {
        if (!root.offsetParent) continue;                       // hidden
        for (const el of [root, ...root.querySelectorAll('*')]) {
            if (!el.offsetParent || !el.innerText || !el.innerText.trim()) continue;
            if (el.clientWidth <= 1) continue;              // text for screen readers only ("add icon"), not shown
            if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
                out.push(el.innerText.trim().slice(0, 80) + ` (${el.clientWidth} < ${el.scrollWidth} px)`);
                break;
            }
        }
    }
    // Vega cuts a chart's title, subtitle, axis title or legend text that is wider than its limit with an ellipsis
    // ("...; thin dotted: its w…"): the charts are SVG, so their texts are read too
    for (const text of document.querySelectorAll(
            '.vega-embed svg :is(.role-title-text, .role-title-subtitle, .role-axis-title, .role-legend-title, '
            + '.role-legend-label) text')) {
        for (const line of text.querySelectorAll('tspan').length ? text.querySelectorAll('tspan') : [text]) {
            if (line.textContent.endsWith('…')) out.push(line.textContent.slice(0, 80) + ' (chart text cut by Vega)');
        }
    }
    for (const box of document.querySelectorAll('input[role="combobox"]')) {
        if (box.offsetParent && box.value && box.scrollWidth > box.clientWidth + 1) {
            out.push(box.value.slice(0, 80) + ` (select box ${box.clientWidth} < ${box.scrollWidth} px)`);
        }
    }
    return [...new Set(out)];
}"""

RUN = {"Monte Carlo": ("Run the batch", "runs done"),
       "Compare": ("Run both batches", "Each side's shares with their 95 % (Wilson) intervals"),
       "Sensitivity": ("Run the sensitivity sweep", "This sensitivity table (CSV)")}
"""The pages with a button that computes their results: pressed, so that the results are checked too."""
PAGES = ("Negotiation", "Analysis", "Monte Carlo", "Compare", "Sensitivity", "New sweep", "Sweep explorer")
VIEWPORTS = [(1280, 800), (1920, 1080)]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_no_title_or_button_is_cut_off_on_any_page(tmp_path, width, height):
    """Every page of the dashboard at 1280 x 800 and 1920 x 1080, with its results (a run to the end, a batch, a
    comparison, a sensitivity sweep, a sweep loaded in the explorer), then the Negotiation page of an uploaded
    scenario: no title, heading, button, label, metric, tab or caption narrower than its text, and no chart title,
    axis title or legend text cut by Vega (issue 25: "Submit my off...", the Utilities subtitle cut at 1280 px).
    The classroom's pages: tests/test_classroom_present_browser.py."""

    from tests.test_dashboard import fake_sweep

    sweep = tmp_path / "sweep"
    fake_sweep(sweep)
    good = tmp_path / "my_case.yaml"
    good.write_text(skeleton(), encoding="utf-8")
    screenshot = load_script()
    cut: dict[str, list[str]] = {}

    def check(page, where: str) -> None:
        screenshot._settle(page)
        assert not page.locator('[data-testid="stException"]').count(), where
        found = page.evaluate(TRUNCATED)
        if found:
            cut[where] = found

    with dashboard_page(width, height) as (_, url, page):   # `check` settles through the script loaded above
        page.goto(f"{url}/?file=feb2022_issue_by_issue.yaml&round=end", wait_until="domcontentloaded")
        page.get_by_role("button", name="Run to the end").wait_for(timeout=60_000)
        for title in PAGES:
            if title != "Negotiation":
                page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
            screenshot._settle(page)
            if title in RUN:
                button, done = RUN[title]
                page.get_by_role("button", name=button).click()
                page.get_by_text(done).first.wait_for(timeout=180_000)
            if title == "Sweep explorer":
                box = page.get_by_label("…or type the path of a sweep directory")
                box.fill(str(sweep))
                box.press("Enter")
                page.get_by_text("How the outcome depends on the parameters").wait_for(timeout=60_000)
            for section in ("Issues", "Actors", "Rules") if title == "Negotiation" else ("Issues",):
                if section != "Issues":
                    page.locator('[data-testid="stSidebar"] button').filter(
                        has_text=re.compile(f"^{section}$")).first.click()
                check(page, f"{title}/{section}")
            page.screenshot(path=str(tmp_path / f"{title.replace(' ', '_').lower()}_{width}.png"))
        # an uploaded scenario (the skeleton of docs/scenarios.md, unit "%"), run to the end
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Negotiation").first.click()
        screenshot._settle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(good))
        page.get_by_text("A readable title").first.wait_for(timeout=60_000)
        page.wait_for_function(FIVE_SLIDERS, timeout=60_000)
        page.get_by_role("button", name="Run to the end").click()
        check(page, "Negotiation/uploaded skeleton")
        page.screenshot(path=str(tmp_path / f"skeleton_{width}.png"))
    assert not cut, "\n".join(f"{where}: {found}" for where, found in cut.items())


def test_the_cut_off_check_finds_a_cut_off_button():
    from playwright.sync_api import sync_playwright

    screenshot = load_script()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=screenshot.CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_content('<button style="width:60px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis">'
                             '<p style="overflow:hidden;text-overflow:ellipsis">Submit my offers</p></button>'
                             '<button>Accept</button><h2>A title</h2>'
                             '<div class="vega-embed"><svg><g class="mark-text role-title-subtitle"><text>How good '
                             'the proposal is; thin dotted: its w…</text></g><g class="mark-text role-title-text">'
                             '<text>Utilities</text></g></svg></div>')
            found = page.evaluate(TRUNCATED)
            assert len(found) == 2 and found[0].startswith("Submit my offers"), found
            assert found[1].startswith("How good the proposal is; thin dotted: its w…"), found
        finally:
            browser.close()
