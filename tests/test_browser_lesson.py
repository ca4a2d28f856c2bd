"""The whole lesson in headless Chromium, offline, at 1280 and 400 px: the real app under
`streamlit run`, each step's one button pressed, its result waited for, Next to the following one.

Each step's "What LangGraph did" is opened: once its button ran it shows the calls made.
The streaming step is watched live (the page shows its events while the run goes), and the last
step's link opens the fork in the Chat, where the approval panel asks again. A screenshot of every
step is copied to /tmp/e2e-shots (lesson-<width>-<n>-<step>.png) for a human to look at.
"""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from agent.protocol import STEPS  # noqa: E402
from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import expect, main, no_horizontal_overflow  # noqa: E402
from tests.test_browser_chat import SHOTS  # noqa: E402

# What the page says once each step's run has ended (the result, read back from the engine).
SEEN = {
    "checkpoints": "One question, 5 checkpoints",
    "restart": "A new engine opened over the same SQLite database",
    "threads": "Same words, different memory",
    "messages": "word by word, between its steps",
    "updates": "0 token events: the answer arrived whole",
    "async": "Same kinds, same order",
    "interrupt": "The run stopped before action",
    "edit": "A new checkpoint holds the edited call",
    "mock": "the tool never ran",
    "replay": "The history forked there: 2 branches",
    "fork": "it waits for approval again",
}


# True once every open expander has finished opening: its height no longer clips its content.
EXPANDERS_OPEN = """() => [...document.querySelectorAll('details[open]')].every(
    d => d.getBoundingClientRect().height + 1 >= d.scrollHeight)"""


def shoot(page, name: str) -> None:
    """The whole page (grown to its content's height for the picture) into SHOTS."""
    page.wait_for_function(EXPANDERS_OPEN)
    size = page.viewport_size
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 300), 6000)})
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size(size)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    # Slow enough tokens that the streaming step can be watched while it runs.
    env = {"WAYPOINT_DEMO_TOKEN_DELAY": "0.03"}
    with running_app(tmp_path_factory.mktemp("lesson"), env) as url:
        yield url


@pytest.mark.parametrize("width", [1280, 400])
def test_the_whole_lesson_offline(open_page, app_url, width):
    page = open_page(f"{app_url}/lesson?step=checkpoints", width=width)
    content = main(page)
    reset = content.get_by_role("button", name="Reset the lesson")
    expect(reset).to_be_visible()
    if reset.is_enabled():  # the other width's walk, on the same local user
        reset.click()
        expect(
            content.get_by_role("button", name="Reset the lesson (no scratch threads)")
        ).to_be_visible()
    for number, step in enumerate(STEPS, 1):
        title = step.title.replace("`", "")  # Markdown code in a heading shows without its marks
        expect(content.get_by_role("heading", name=f"{number}. {title}")).to_be_visible()
        content.get_by_role("button", name=step.button).click()
        if step.key == "messages":
            expect(content.get_by_text("Running now")).to_be_visible()
        seen = content.get_by_text(SEEN[step.key])
        expect(seen).to_be_visible()
        content.get_by_text("What LangGraph did").click()  # the calls it really made
        expect(content.get_by_text("The calls this step made")).to_be_visible()
        shoot(page, f"lesson-{width}-{number:02d}-{step.key}")
        assert no_horizontal_overflow(page), f"step {step.key} overflows at {width} px"
        assert not content.get_by_test_id("stException").count()
        if number < len(STEPS):
            content.get_by_role("button", name="Next step").click()
    content.get_by_role("link", name="Approve the fork in the Chat").click()
    expect(page.get_by_role("heading", name="Lesson: a fork")).to_be_visible()
    expect(main(page).get_by_role("button", name="Continue")).to_be_visible()
