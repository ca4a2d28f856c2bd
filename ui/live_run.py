"""Follow a background run: live tokens, the step strip, and Stop.

A fragment re-reads the run's event log every fraction of a second. The log lives in the backend,
not in the session, so after any rerun, page switch or browser refresh the page re-attaches and
shows every token so far. When the run ends the whole page reruns and draws the thread from its
checkpoints again (a message sent just before that rerun is safe: app_pages/chat.py says why).
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import (
    Backend,
    Done,
    Error,
    MessageView,
    Step,
    ToolCall,
    ToolCallView,
    ToolResult,
    Transcript,
)
from ui.identity import current_user
from ui.long_text import long_text
from ui.run_record import strip_label
from ui.safe_text import SENTENCE_CHARS, markdown, plain
from ui.transcript import tool_card, transcript

REFRESH_SECONDS = 0.15


def step_strip(steps: list[Step], running: bool) -> None:
    """The live strip; once the run ends the same line heads its record (`ui.run_record`)."""
    parts = [strip_label(steps)] if steps else []
    if running:
        parts.append("…")
    st.caption("Steps: " + " → ".join(parts) if parts else "Starting…")


def live_run(backend: Backend, run_id: str, sent: tuple[MessageView, ...] = ()) -> None:
    """Follow the run; `sent` is its new message while no checkpoint holds it yet."""
    transcript(sent, running=True, key="live_input")

    @st.fragment(run_every=REFRESH_SECONDS)
    def follow() -> None:
        events = backend.read_events(current_user(), run_id)
        if any(isinstance(e, Done) for e in events):
            st.rerun(scope="app")
        texts = Transcript()
        calls: dict[str, ToolCall] = {}
        results: dict[str, ToolResult] = {}
        for event in events:
            texts.feed(event)
            if isinstance(event, ToolCall):
                calls[event.call_id] = event
            elif isinstance(event, ToolResult):
                results[event.call_id] = event
        with st.chat_message("assistant"):
            step_strip([e for e in events if isinstance(e, Step)], running=True)
            for message_id, text in texts.texts.items():
                long_text(text, f"live_{run_id}_{message_id}", markdown)
            for call in calls.values():
                result = results.get(call.call_id)
                tool_card(
                    ToolCallView(call.call_id, call.name, call.args),
                    None
                    if result is None
                    else MessageView(
                        id="",
                        role="tool",
                        text=result.content,
                        is_error=result.is_error,
                        search=result.search,
                        by_human=result.by_human,
                        outcome=result.outcome,
                    ),
                    running=True,
                    key=f"live_{run_id}",
                )
            for error in (e for e in events if isinstance(e, Error)):
                st.error(plain(error.message, SENTENCE_CHARS))
        if st.button("Stop", icon=":material/stop_circle:", key=f"stop_{run_id}"):
            backend.cancel_run(current_user(), run_id)

    follow()
