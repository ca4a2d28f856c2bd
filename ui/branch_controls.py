"""Edit a past question, regenerate an answer, and switch between versions (`< 2 / 3 >`).

As in ChatGPT: editing a question or regenerating an answer forks the conversation (the old
version stays), and a message that has several versions shows arrows to switch between them. The
choice is stored as the thread's branch head, so it persists across reloads and browsers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from agent.protocol import (
    MAX_MESSAGE_CHARS,
    AgentChoices,
    Backend,
    MessageVersions,
    MessageView,
    RunOptions,
    ThreadView,
    too_long,
)
from ui.feedback import attempt
from ui.identity import current_user

BRANCH_HELP = (
    "Each version is a branch of the thread's history: LangGraph forked it from the checkpoint "
    "before this message. The Inspector shows the whole tree."
)


def _switcher(backend: Backend, thread_id: str, versions: MessageVersions) -> None:
    key = f"{thread_id}_{versions.message_id}"
    if st.button(
        "",
        icon=":material/chevron_left:",
        key=f"prev_{key}",
        type="tertiary",
        disabled=versions.index == 0,
        help="Previous version. " + BRANCH_HELP,
    ):
        attempt(
            lambda: backend.switch_branch(
                current_user(), thread_id, versions.message_id, versions.index - 1
            )
        )
    st.caption(versions.label, width="content")
    if st.button(
        "",
        icon=":material/chevron_right:",
        key=f"next_{key}",
        type="tertiary",
        disabled=versions.index + 1 >= versions.count,
        help="Next version. " + BRANCH_HELP,
    ):
        attempt(
            lambda: backend.switch_branch(
                current_user(), thread_id, versions.message_id, versions.index + 1
            )
        )


def _switchers(
    messages: Sequence[MessageView], found: Sequence[MessageVersions]
) -> dict[str, MessageVersions]:
    """The versions to draw under each drawn message, by its id.

    Tool results are not drawn as messages (they fold under the call that asked for them), so
    versions of a result (a Replay from a halt reruns the tool: the conversation forks at its
    result) are drawn under that call's message, unless it has versions of its own.
    """
    by_id = {v.message_id: v for v in found}
    caller = {c.id: m.id for m in messages for c in m.tool_calls}
    for message in messages:
        versions = by_id.get(message.id)
        owner = caller.get(message.tool_call_id or "")
        if message.role == "tool" and versions is not None and owner is not None:
            by_id.setdefault(owner, versions)
    return by_id


def message_controls(
    backend: Backend, view: ThreadView, choices: AgentChoices, options: RunOptions
) -> Callable[[MessageView], None]:
    """A function that draws the controls under one message of this thread's transcript."""
    by_id = _switchers(view.messages, backend.message_versions(current_user(), view.thread.id))
    idle = view.active_run_id is None

    def controls(message: MessageView) -> None:
        versions = by_id.get(message.id)
        is_answer = message.role == "ai" and message.text and not message.tool_calls
        if versions is None and not (idle and (message.role == "human" or is_answer)):
            return
        key = f"{view.thread.id}_{message.id}"
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            if versions is not None and versions.count > 1:
                _switcher(backend, view.thread.id, versions)
            if idle and message.role == "human":
                with st.popover("Edit", icon=":material/edit:", type="tertiary"):
                    text = st.text_area(
                        "Your message",
                        message.text,
                        key=f"edit_{key}",
                        help=f"Up to {MAX_MESSAGE_CHARS:,} characters.",
                    )
                    if problem := too_long(text, MAX_MESSAGE_CHARS):
                        st.error(problem, icon=":material/edit_off:")
                    st.caption(
                        "Sending forks the conversation here; the old version stays one click away."
                    )
                    if st.button("Send", type="primary", key=f"resend_{key}"):
                        attempt(
                            lambda: backend.edit_and_resend(
                                current_user(), view.thread.id, message.id, text, choices, options
                            )
                        )
            if (
                idle
                and is_answer
                and st.button(
                    "Regenerate",
                    icon=":material/refresh:",
                    key=f"regen_{key}",
                    type="tertiary",
                    help="Ask the model again from just before this answer; this answer stays as a "
                    "version you can switch back to.",
                )
            ):
                attempt(
                    lambda: backend.regenerate(
                        current_user(), view.thread.id, message.id, choices, options
                    )
                )

    return controls
