"""The real app in headless Chromium: `streamlit run app.py` on a free port, clicked like a user.

Once on the offline defaults (demo model, offline search) and once against the fake OpenAI server
through the real langchain-openai client. Every wait is on something visible, with a timeout.
"""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import (  # noqa: E402
    main,
    no_horizontal_overflow,
    send,
)
from tests.fake_openai import FakeOpenAI, text, tool_calls  # noqa: E402

# Records every text the last assistant bubble showed, so a test can prove tokens came in pieces.
RECORD_BUBBLE_TEXTS = """
window.__bubbleTexts = [];
new MutationObserver(() => {
  const bubbles = document.querySelectorAll('[data-testid="stChatMessage"]');
  if (!bubbles.length) return;
  const text = bubbles[bubbles.length - 1].innerText;
  const seen = window.__bubbleTexts;
  if (seen[seen.length - 1] !== text) seen.push(text);
}).observe(document.body, {subtree: true, childList: true, characterData: true});
"""


@pytest.mark.parametrize("width", [1280, 400])
def test_offline_defaults_search_ask_and_answer_with_sources(open_page, data_dir, width):
    with running_app(data_dir, {"WAYPOINT_DEMO_TOKEN_DELAY": "0.02"}) as url:
        page = open_page(url, width)
        page.get_by_text("Try one of these").wait_for()
        assert no_horizontal_overflow(page)
        main(page).get_by_role(
            "button", name="What's the weather in San Francisco and Tokyo?"
        ).click()
        main(page).get_by_text("waiting for approval").nth(1).wait_for()
        assert "thread=" in page.url
        page.evaluate(RECORD_BUBBLE_TEXTS)
        main(page).get_by_role("button", name="Continue").click()
        main(page).get_by_text("Sources").wait_for()
        main(page).get_by_role("button", name="Stop").wait_for(state="detached")
        final = page.get_by_test_id("stChatMessage").last.inner_text()
        assert "Tokyo" in final and "San Francisco" in final and "[1]" in final
        seen = page.evaluate("window.__bubbleTexts")
        opening = "Here is what came back"  # how the demo model starts an answer from two searches
        partial = [t for t in seen if opening in t and "Sources" not in t]
        assert opening in final and partial, "the answer appeared in one piece, not token by token"
        assert no_horizontal_overflow(page)
        page.screenshot(path=str(data_dir / f"answer-{width}.png"), full_page=True)


def test_fake_openai_server_through_the_real_client(open_page, data_dir):
    with FakeOpenAI() as server:
        server.script(
            tool_calls(("web_search", {"query": "weather in Tokyo"})),
            text("Tokyo is mild in spring and humid in summer [1].", delay=0.02),
        )
        env = {"OPENAI_BASE_URL": server.url, "WAYPOINT_MODEL": "fake-model"}
        with running_app(data_dir, env) as url:
            page = open_page(url)
            send(page, "What is the weather in Tokyo?")
            main(page).get_by_text("waiting for approval").wait_for()
            main(page).get_by_role("button", name="Continue").click()
            main(page).get_by_text("humid in summer").wait_for()
            last = server.chat_requests[-1]
            assert last.messages[-1]["role"] == "tool"
            assert "Tokyo" in last.messages[-1]["content"]
            assert last.messages[0]["role"] == "system"
