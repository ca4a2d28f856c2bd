"""The transcript: messages from the thread's checkpointed state, drawn as chat bubbles.

Tool calls show as compact cards with their results folded underneath. Text is rendered as
Markdown without HTML: model, tool and user text is never trusted as markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import streamlit as st

from agent.tools import parse_search_output
from agent.views import MessageView, ToolCallView

AVATARS = {"human": "user", "ai": "assistant"}


def _result_body(result: MessageView) -> None:
    found = parse_search_output(result.text)
    if found is None:
        st.text(result.text)
        return
    if not found:
        st.caption("No results.")
    for number, item in enumerate(found, start=1):
        title = item.title or "untitled"
        linked = item.source.startswith(("http://", "https://"))
        st.markdown(f"**[{number}]** " + (f"[{title}]({item.source})" if linked else title)
                    + f"  \n:gray[{item.source}]")
        st.caption(item.snippet)


def _status(result: MessageView | None, running: bool) -> tuple[str, str]:
    if result is None and running:
        return "running", ":material/progress_activity:"
    if result is None:
        return "waiting for approval", ":material/hourglass_empty:"
    if result.text.startswith(("Rejected by the user", "Cancelled by the user")):
        return "not run", ":material/block:"
    if result.is_error:
        return "failed", ":material/error:"
    return "done", ":material/check_circle:"


def tool_card(call: ToolCallView, result: MessageView | None, running: bool = False) -> None:
    """A compact card for one tool call; `running` when a live run is answering it right now."""
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in call.args.items())
    state, icon = _status(result, running)
    with st.expander(f"`{call.name}({args})` · {state}", icon=icon):
        if result is not None:
            _result_body(result)


def transcript(messages: Sequence[MessageView], running: bool = False) -> None:
    """Draw the checkpointed messages; `running` marks unanswered tool calls as in progress."""
    results = {m.tool_call_id: m for m in messages if m.role == "tool"}
    for message in messages:
        if message.role == "tool" or message.role == "system":
            continue
        with st.chat_message(AVATARS[message.role]):
            if message.text:
                st.markdown(message.text)
            for call in message.tool_calls:
                tool_card(call, results.get(call.id), running)
