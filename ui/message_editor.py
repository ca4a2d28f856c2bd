"""Edit one message at a past checkpoint: the engine forks (a new checkpoint, message ids kept).

Checked like the approval panel: empty text, bad JSON or arguments that do not fit the tool get an
inline error and nothing is written. Each box has the engine's length limit (`agent.limits`): a
longer text says so as soon as it is typed, and a message already longer than an edit may be (an
imported one) opens with its start, saying so.
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import (
    MAX_MESSAGE_CHARS,
    MAX_TOOL_RESULT_CHARS,
    AgentChoices,
    Backend,
    CheckpointDetail,
    MessageView,
    too_long,
)
from ui.fork_button import save_as_fork
from ui.identity import current_user
from ui.safe_text import clip

EDIT_HELP = (
    "Editing the past does not overwrite it: LangGraph's `update_state` on this checkpoint writes "
    "a new one after it (a fork) holding the edited message under the same id. The original "
    "stays in the timeline; replay from the fork to see what the agent does next."
)


def _option(message: MessageView, number: int) -> str:
    preview = (message.text or ", ".join(c.name for c in message.tool_calls) or "").split("\n")[0]
    return f"{number} · {message.role} · {preview[:50]}"


def _box(label: str, text: str, limit: int, key: str) -> str:
    """A text area holding at most `limit` characters of `text`, saying so when it is over."""
    if len(text) > limit:
        st.caption(
            f"This is {len(text):,} characters long, more than the {limit:,} an edit can hold: "
            f"the box starts with its first {limit:,}. The original stays as it is."
        )
    value = st.text_area(
        label, clip(text, limit), key=f"edit_{key}", help=f"Up to {limit:,} characters."
    )
    if problem := too_long(value, limit, "This text"):
        st.error(problem, icon=":material/edit_off:")
    return value


def message_editor(backend: Backend, detail: CheckpointDetail, choices: AgentChoices) -> None:
    editable = [m for m in detail.messages if m.role in ("human", "ai", "tool")]
    if not editable:
        st.caption("No messages to edit at this checkpoint.")
        return
    st.caption(EDIT_HELP)
    numbers = {m.id: n for n, m in enumerate(detail.messages, start=1)}
    message = st.selectbox(
        "Message",
        editable,
        format_func=lambda m: _option(m, numbers[m.id]),
        key=f"edit_pick_{detail.checkpoint_id}",
    )
    key = f"{detail.checkpoint_id}_{message.id}"
    changes: dict = {}
    if message.role == "ai" and message.tool_calls:
        call = st.selectbox(
            "Tool call",
            message.tool_calls,
            key=f"edit_call_{key}",
            format_func=lambda c: f"{c.name} · {c.id}",
        )
        changes = {
            "tool_args": _box(
                "Arguments (JSON)", call.args_json, MAX_TOOL_RESULT_CHARS, f"args_{key}_{call.id}"
            ),
            "tool_call_id": call.id,
        }
    elif message.role == "tool":
        changes = {
            "tool_result": _box("Tool result", message.text, MAX_TOOL_RESULT_CHARS, f"result_{key}")
        }
    else:
        changes = {"text": _box("Text", message.text, MAX_MESSAGE_CHARS, f"text_{key}")}
    save_as_fork(
        f"edit_go_{key}",
        lambda: backend.edit_message(
            current_user(),
            detail.thread_id,
            detail.checkpoint_id,
            message.id,
            choices=choices,
            **changes,
        ),
        "Saved as a new checkpoint after this one (a fork); the original stays in the timeline. "
        "The chat now shows this fork: what you send there continues it, and Replay runs it on "
        "from here. To go back, pick the original and press Show in chat.",
    )
