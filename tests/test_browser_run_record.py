"""The run record in the browser: after the run ends the step strip stays, folded under the
turn; it opens on the steps, your decision and "What LangGraph did"; it is still there after a
reload and in a new browser session, because it is read from the database, not from the page.
Screenshots at 1280 and 400 px go to the test's data dir and to /work/tmp/shots/runrecord."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import LIVE_STOP, WAIT_MS, expect, main, send  # noqa: E402

SHOTS = Path("/work/tmp/shots/runrecord")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app"), {"WAYPOINT_DEMO_TOKEN_DELAY": "0.01"}) as url:
        yield url


def record(page):
    return main(page).get_by_test_id("stExpander").filter(has_text="Run record:")


def shoot(page, data_dir: Path, name: str) -> None:
    path = data_dir / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def answer_instead_and_continue(page) -> None:
    panel = main(page)
    panel.get_by_role("button", name="Continue").wait_for()
    group = panel.get_by_test_id("stRadioGroup").first
    group.get_by_text("Answer instead", exact=True).click()
    panel.get_by_role("textbox", name="The tool's answer").fill("Drizzle all day, 12 C")
    panel.get_by_role("button", name="Continue").click()
    # The answer from your result, then the run's end: before it, the live run may not have begun.
    panel.get_by_text("says: “Drizzle all day, 12 C”").first.wait_for()
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    panel.get_by_role("button", name="Continue").wait_for(state="detached")


@pytest.mark.parametrize("width", [1280, 400])
def test_the_record_stays_after_the_run_and_after_a_reload(open_page, app_url, data_dir, width):
    page = open_page(app_url, width=width)
    page.get_by_text("Try one of these").wait_for()
    send(page, f"What is the weather in Paris at {width} px?")
    page.wait_for_url(re.compile(r"[?&]thread="), timeout=WAIT_MS)
    answer_instead_and_continue(page)
    strip = record(page)
    expect(strip).to_have_count(1)
    expect(strip).to_contain_text(re.compile(r"llm [\d.]+ s → action [\d.]+ s → llm [\d.]+ s"))
    expect(strip.get_by_text("What LangGraph did").first).to_be_hidden()  # folded
    expanders = main(page).get_by_test_id("stExpander")
    card = expanders.filter(has_text="answered by you").filter(has_not_text="Run record:")
    expect(card).to_have_count(1)
    strip.locator("summary").click()
    expect(strip).to_contain_text("answered by you")
    expect(strip).to_contain_text("Run 2 of 2")
    expect(strip.get_by_text("What LangGraph did").first).to_be_visible()
    expect(strip.get_by_test_id("stCode").first).to_contain_text("graph.stream(")
    expect(strip.get_by_test_id("stCode").nth(1)).to_contain_text("Command(resume=")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, data_dir, f"record_open_{width}")
    url = page.url
    page.reload()
    expect(record(page)).to_have_count(1)
    expect(record(page)).to_contain_text("→ action")
    fresh = open_page(url, width=width)  # another browser session: nothing of the first one
    expect(record(fresh)).to_have_count(1)
    expect(main(fresh)).to_contain_text("This conversation: 2 runs")
    shoot(fresh, data_dir, f"record_folded_{width}")
