"""The transcript: messages from the thread's checkpointed state, drawn as chat bubbles.

Tool calls show as compact cards with their results folded underneath. Model and tool text goes
through `ui.safe_text` (safe Markdown that fetches nothing), what a person typed shows as plain
text, and every body is bounded (`ui.long_text`): none of it is trusted as markup or for size.

A long thread draws only its latest messages, with a button for earlier ones: every element costs
the server time on each rerun (bench/chat_render.py), and nobody reads 500 messages at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import streamlit as st

from agent.protocol import MessageView, ThreadReport, ToolCallView
from ui.long_text import long_text
from ui.run_record import run_record, thread_totals
from ui.safe_text import SENTENCE_CHARS, code, link_target, markdown, plain, plain_block

AVATARS = {"human": "user", "ai": "assistant"}


# A tool result that is not the tool's output, by why (`MessageView.outcome`).
OUTCOME_STATUS = {
    "answered": ("answered by you", ":material/person:"),
    "denied": ("not run: denied by your settings", ":material/block:"),
    "rejected": ("not run: rejected by you", ":material/block:"),
    "cancelled": ("not run: cancelled, you sent a new message", ":material/block:"),
    "failed": ("failed", ":material/error:"),
}
WINDOW = 40  # messages drawn at first; each "Show earlier" adds as many again


def _result_body(result: MessageView, key: str) -> None:
    """The results as one Markdown element (one element per card keeps long threads fast)."""
    if result.by_human:
        st.caption("Your answer, given with Answer instead: the tool did not run.")
        long_text(result.text, key, plain_block)
        return
    found = result.search
    if found is None:
        long_text(result.text, key)
        return
    if not found.total:
        st.caption("No results.")
        return
    entries = []
    for number, hit in enumerate(found.hits, start=1):
        title = plain(hit.title or "untitled")
        heading = f"[{title}]({link_target(hit.source)})" if hit.is_link else title
        # The engine capped each field as the tool does; `plain` only makes it inert here.
        source, snippet = plain(hit.source, SENTENCE_CHARS), plain(hit.snippet, SENTENCE_CHARS)
        entries.append(f"**\\[{number}\\]** {heading}  \n:gray[{source}]  \n{snippet}")
    if found.omitted:
        entries.append(f"… and {found.omitted:,} more results, not shown.")
    st.markdown("\n\n".join(entries))


# A call with no result and a message of yours after it: its run stopped before running it (your
# Stop, or on an Agent Server the run your message interrupted), and nothing will run it now.
NOT_RUN = ("not run: its run stopped before it ran", ":material/block:")


def _status(result: MessageView | None, running: bool, left: bool = False) -> tuple[str, str]:
    if result is None and left:
        return NOT_RUN
    if result is None and running:
        return "running", ":material/progress_activity:"
    if result is None:
        return "waiting for approval", ":material/hourglass_empty:"
    return OUTCOME_STATUS.get(result.outcome or "", ("done", ":material/check_circle:"))


def tool_card(
    call: ToolCallView,
    result: MessageView | None,
    running: bool = False,
    key: str = "card",
    left: bool = False,
) -> None:
    """A compact card for one tool call; `running` when a live run is answering it right now,
    `left` when a later message of yours means nothing will (`NOT_RUN`).

    `key` names the place it is drawn (long results have buttons that must be unique there).
    """
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in call.args.items())
    state, icon = _status(result, running, left)
    with st.expander(f"{code(f'{call.name}({args})')} · {state}", icon=icon):
        if result is not None:
            _result_body(result, f"{key}_{call.id}")


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
    report: ThreadReport | None = None,
) -> None:
    """Draw the checkpointed messages; `running` marks unanswered tool calls as in progress.

    `key` names this transcript's "Show earlier" state (one per place it is drawn); `controls`,
    when given, draws under each message (the chat's edit, regenerate and version switcher);
    `report`, the run record, folded under each turn it covers, and the conversation's totals.
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
    last_human = max((i for i, m in enumerate(messages) if m.role == "human"), default=-1)
    for index, message in enumerate(messages[start:], start):
        if message.role == "tool" or message.role == "system":
            continue
        with st.chat_message(AVATARS[message.role]):
            if message.text:
                render = plain_block if message.role == "human" else markdown
                long_text(message.text, f"{key}_{message.id}", render)
            for call in message.tool_calls:
                tool_card(call, results.get(call.id), running, key, left=index < last_human)
            turn = report.turn_at(message.id) if report is not None else None
            if turn is not None:
                run_record(turn)
            if controls is not None:
                controls(message)
    thread_totals(report)
