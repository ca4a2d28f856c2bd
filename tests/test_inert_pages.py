"""The pages through AppTest: untrusted text is drawn inert, and a huge text is drawn bounded.

A thread is planted with payloads everywhere a page shows untrusted text (its title, your message,
the model's answer, a tool call's arguments, a search result's title, source and snippet, the
metadata the Inspector's labels read), then every element the Chat and Inspector pages send is
read back: no Markdown they carry holds an image or a Material icon. Another thread holds a 1 MB
tool result: what the pages send stays small, and the whole text is a download away.
"""

from __future__ import annotations

import json
import re

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from streamlit.testing.v1 import AppTest

from agent import timeline as tl
from agent.protocol import LOCAL_USER
from tests.page_helpers import backend
from tests.test_inspector_page import INSPECTOR
from tests.test_safe_text import LEAK, PAYLOADS
from ui.long_text import PAGE_CHARS

ICON = ":material/skull:"  # an icon the app never uses itself
TITLE = f"![title]({LEAK}/title.png) {ICON}"
# An image or the planted icon, in any Markdown the page sends (the app's own icons are others).
DANGER = re.compile(r"!\[|:material[/_]skull:|:streamlit:")
# Elements whose text Streamlit never reads as Markdown: a payload there is shown as typed.
NOT_MARKDOWN = {"text", "code", "json", "text_area", "text_input", "chat_input", "selectbox"}
PAGE_BYTES = 200_000
ANSWER = "\n\n".join(PAYLOADS)


def plant(backend, tool_text: str, answer: str, title: str = TITLE, leak: str = LEAK) -> str:
    """A thread holding `tool_text` as a web_search result and `answer` as the model's reply, with
    payloads pointing at `leak` in its question, tool call and checkpoint metadata."""
    thread = backend.create_thread(LOCAL_USER, title)
    call = {
        "id": "call-1",
        "name": "web_search",
        "args": {"query": f"` ![args]({leak}/args.png) `{ICON}"},
        "type": "tool_call",
    }
    messages = [
        HumanMessage(f"![mine]({leak}/human.png) {ICON} <img src={leak}/human-html.png>", id="h1"),
        AIMessage("", id="a1", tool_calls=[call]),
        ToolMessage(tool_text, tool_call_id="call-1", name="web_search", id="t1"),
        AIMessage(answer, id="a2"),
    ]
    metadata = {tl.OP: "fork_thread", tl.AS_NODE: "llm", tl.SOURCE_TITLE: title}
    config = {"configurable": {"thread_id": thread.id}, "metadata": metadata}
    backend.graph.update_state(config, {"messages": messages}, as_node="llm")
    backend.touch_shown(thread.id)
    return thread.id


def search_output(text: str) -> str:
    """A web_search result whose title, source and snippet all hold `text`."""
    result = {"title": text, "source": f"http://x.org/a) {text}", "snippet": f"{text} <b>b</b>"}
    return json.dumps({"query": "q", "results": [result]})


def nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def sent(at: AppTest) -> list:
    """Every element and block of the page as last run (what the browser would be sent)."""
    assert not at.exception, at.exception
    return [n for n in nodes(at._tree) if getattr(n, "proto", None) is not None]


def markdown_with_danger(at: AppTest) -> list[str]:
    return [
        str(n.proto)
        for n in sent(at)
        if getattr(n, "type", "") not in NOT_MARKDOWN and DANGER.search(str(n.proto))
    ]


def page_bytes(at: AppTest) -> int:
    return sum(n.proto.ByteSize() for n in sent(at))


def open_chat(at: AppTest, thread_id: str) -> AppTest:
    at.run()
    at.query_params["thread"] = thread_id
    return at.run()


def open_inspector(at: AppTest, thread_id: str) -> AppTest:
    open_chat(at, thread_id)
    return at.switch_page(INSPECTOR).run()


def test_the_chat_page_draws_every_payload_inert(app):
    thread_id = plant(backend(), search_output(f"![result]({LEAK}/result.png) {ICON}"), ANSWER)
    open_chat(app, thread_id)
    assert any("leak/inline.png" in m.value for m in app.markdown), "the answer is drawn"
    assert not markdown_with_danger(app)


def test_the_inspector_draws_every_payload_inert(app):
    thread_id = plant(backend(), search_output(f"![result]({LEAK}/result.png) {ICON}"), ANSWER)
    open_inspector(app, thread_id)
    labels = [b.label for b in app.button if b.key and b.key.startswith("cp_")]
    assert any("forked from" in label for label in labels), "the planted label is drawn"
    assert not markdown_with_danger(app)


def test_a_huge_tool_result_is_sent_bounded_and_downloadable(app):
    huge = "".join(f"line {n:07d} of a very long tool result\n" for n in range(30_000))
    assert len(huge) > 1_000_000
    thread_id = plant(backend(), huge, "A short answer.", title="Huge result")
    open_chat(app, thread_id)
    assert page_bytes(app) < PAGE_BYTES
    downloads = [n for n in sent(app) if getattr(n, "type", "") == "download_button"]
    assert downloads, "the whole result can be downloaded"
    shown = len(app.text[0].value)
    assert huge.startswith(app.text[0].value) and shown <= PAGE_CHARS
    next(b for b in app.button if b.label == "Show more").click().run()
    assert len(app.text[0].value) > shown and huge.startswith(app.text[0].value)
    open_inspector(app, thread_id)
    assert page_bytes(app) < PAGE_BYTES


def test_a_crafted_link_to_an_unknown_thread_is_told_inert(app):
    # The thread id in the URL is quoted by the "no such thread" sentence, on both pages.
    app.run()
    app.query_params["thread"] = f"![link]({LEAK}/url.png){ICON}"
    app.run()
    assert app.error and not markdown_with_danger(app)
    app.query_params["thread"] = f"![link]({LEAK}/url.png){ICON}"
    app.switch_page(INSPECTOR).run()
    assert app.error and not markdown_with_danger(app)
