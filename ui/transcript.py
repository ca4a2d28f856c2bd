"""The transcript: messages from the thread's checkpointed state, drawn as chat bubbles.

Tool calls show as compact cards with their results folded underneath. Text is rendered as
Markdown without HTML: model, tool and user text is never trusted as markup.

A long thread draws only its latest messages, with a button for earlier ones: every element costs
the server time on each rerun (bench/chat_render.py), and nobody reads 500 messages at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import streamlit as st

from agent.tools import parse_search_output
from agent.views import MessageView, ToolCallView

AVATARS = {"human": "user", "ai": "assistant"}


WINDOW = 40  # messages drawn at first; each "Show earlier" adds as many again


def _result_body(result: MessageView) -> None:
    """The results as one Markdown element (one element per card keeps long threads fast)."""
    found = parse_search_output(result.text)
    if found is None:
        st.text(result.text)
        return
    if not found:
        st.caption("No results.")
        return
    entries = []
    for number, item in enumerate(found, start=1):
        title = item.title or "untitled"
        linked = item.source.startswith(("http://", "https://"))
        heading = f"[{title}]({item.source})" if linked else title
        entries.append(f"**[{number}]** {heading}  \n:gray[{item.source}]  \n{item.snippet}")
    st.markdown("\n\n".join(entries))


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


def _window_start(messages: Sequence[MessageView], shown: int) -> int:
    """Where the drawn part starts: `shown` messages back, moved to the human turn it is in."""
    start = max(0, len(messages) - shown)
    while start > 0 and messages[start].role != "human":
        start -= 1
    return start


def transcript(
    messages: Sequence[MessageView],
    running: bool = False,
    key: str = "chat",
    controls: Callable[[MessageView], None] | None = None,
) -> None:
    """Draw the checkpointed messages; `running` marks unanswered tool calls as in progress.

    `key` names this transcript's "Show earlier" state (one per place it is drawn); `controls`,
    when given, draws under each message (the chat's edit, regenerate and version switcher).
    """
    window_key = f"transcript_window_{key}"
    start = _window_start(messages, st.session_state.get(window_key, WINDOW))
    if start and st.button(
        f"Show earlier messages ({start:,} more)",
        icon=":material/expand_less:",
        key=f"earlier_{key}",
        type="tertiary",
    ):
        st.session_state[window_key] = len(messages) - start + WINDOW
        st.rerun()
    results = {m.tool_call_id: m for m in messages if m.role == "tool"}
    for message in messages[start:]:
        if message.role == "tool" or message.role == "system":
            continue
        with st.chat_message(AVATARS[message.role]):
            if message.text:
                st.markdown(message.text)
            for call in message.tool_calls:
                tool_card(call, results.get(call.id), running)
            if controls is not None:
                controls(message)
