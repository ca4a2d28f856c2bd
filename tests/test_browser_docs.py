"""The README's screenshots, taken by a browser walk through the app as a newcomer meets it.

In the suite the pictures go to the test's data dir and the walk checks that each view is there;
`make screenshots` runs this module with WAYPOINT_DOCS_SHOTS=docs, which writes them into
`docs/` for the README. Same app, same offline demo model and search, so the pictures show what
`make run` shows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import LIVE_STOP, WAIT_MS, expect, main  # noqa: E402
from tests.test_browser_chat import decide, halt  # noqa: E402

QUESTION = "How does LangGraph persistence work?"  # the welcome page's first suggestion
DOCS_WIDTH = 1280
DOCS_HEIGHT = 860
TALL_HEIGHT = 1700


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("docs")) as url:
        yield url


@pytest.fixture
def shots(data_dir) -> Path:
    """Where the pictures go: `docs/` under `make screenshots`, else the test's data dir."""
    folder = Path(os.environ.get("WAYPOINT_DOCS_SHOTS") or data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def picture(page, folder: Path, name: str, ready) -> Path:
    """A screenshot of the window once `ready` (a locator) is visible, kept as `name`.png."""
    ready.wait_for()
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000, f"{name}.png looks empty"
    return path


def test_the_readme_pictures_show_chat_approval_record_inspector_and_lesson(
    browser, app_url, shots
):
    page = browser.new_page(viewport={"width": DOCS_WIDTH, "height": DOCS_HEIGHT})
    try:
        page.goto(app_url)
        main(page).get_by_text("Try one of these").wait_for()

        halt(page, QUESTION)
        decide(page, "Edit")
        picture(page, shots, "approval", main(page).get_by_role("button", name="Continue"))

        decide(page, "Approve")
        main(page).get_by_role("button", name="Continue").click()
        main(page).get_by_text("Here is what I found for").first.wait_for()
        main(page).locator(LIVE_STOP).wait_for(state="detached")
        record = main(page).get_by_test_id("stExpander").filter(has_text="Run record:").last
        expect(record).to_contain_text("llm", timeout=WAIT_MS)
        record.get_by_text("Run record:").click()
        expect(record).to_contain_text("What LangGraph did")
        page.set_viewport_size({"width": DOCS_WIDTH, "height": TALL_HEIGHT})  # the whole record
        picture(page, shots, "run-record", record)
        page.set_viewport_size({"width": DOCS_WIDTH, "height": DOCS_HEIGHT})

        page.get_by_role("link", name="Inspector").click()
        main(page).get_by_text("Timeline").first.wait_for()
        picture(page, shots, "inspector", main(page).get_by_text("Graph").first)

        page.get_by_role("link", name="Lesson").click()
        lesson = main(page).get_by_role("heading", name="Lesson")
        picture(page, shots, "lesson", lesson)
    finally:
        page.close()


def test_the_readme_picture_of_your_own_graph_asking_with_a_form(browser, tmp_path_factory, shots):
    """The "Your own agent" section's picture: the essay writer's question, as a form."""
    graph = str(Path(__file__).resolve().parent.parent / "examples" / "essay_writer.py") + ":graph"
    with running_app(tmp_path_factory.mktemp("docs_own"), {"WAYPOINT_GRAPH": graph}) as url:
        page = browser.new_page(viewport={"width": DOCS_WIDTH, "height": TALL_HEIGHT})
        try:
            page.goto(url)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill('{"task": "checkpoints"}')
            box.press("Enter")
            main(page).get_by_text("The graph asks a question").wait_for()
            main(page).get_by_role("textbox", name="Note").fill("one example per part")
            main(page).get_by_role("textbox", name="Note").press("Tab")
            picture(
                page, shots, "own-graph", main(page).get_by_role("button", name="Send the answer")
            )
        finally:
            page.close()
