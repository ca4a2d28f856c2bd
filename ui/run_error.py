"""How the last run ended, when it needs saying: its error with Retry, or a notice that it was cut.

Retry and Continue both continue the thread from the checkpoint the chat shows: the node that
failed or was cut runs again with the same state, so the user's message is not sent twice, and a
tool a crash cut is asked again rather than run (agent.recovery).
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import AgentChoices, Backend, Notice, RunOptions, ThreadView
from ui.feedback import attempt
from ui.identity import current_user
from ui.safe_text import SENTENCE_CHARS, plain

# The button that continues a cut run: after your Stop it goes on; after a crash it tries again.
CONTINUE_LABELS = {"stopped": "Continue", "server_stopped": "Retry"}


def run_notice(notice: Notice | None) -> None:
    """Say how the last run was cut (above the approval panel too, when a cut tool is asked)."""
    if notice is None:
        return
    if notice.kind == "stopped":
        st.caption(notice.text)
    else:
        st.warning(notice.text, icon=":material/power_off:")


def run_error(
    backend: Backend, view: ThreadView, choices: AgentChoices, options: RunOptions
) -> None:
    """The end of the last run when it needs saying, with the button that carries on from it."""
    run_notice(view.notice)
    if view.last_error:
        st.error(plain(view.last_error, SENTENCE_CHARS), icon=":material/error:")
        label = "Retry"
    elif view.notice is not None:
        label = CONTINUE_LABELS[view.notice.kind]
    elif view.next_nodes and view.own_graph and not view.questions:
        # Your own graph, stopped before a node with nothing to ask (a state edit, a static
        # breakpoint): it goes on when you say so.
        st.info(
            f"The graph stopped before {plain(', '.join(view.next_nodes), SENTENCE_CHARS)}; "
            "Continue runs it on from here.",
            icon=":material/pause_circle:",
        )
        label = "Continue"
    else:
        return
    if view.next_nodes and st.button(label, icon=":material/refresh:", key="retry_run"):
        attempt(lambda: backend.resume(current_user(), view.thread.id, choices, options))
