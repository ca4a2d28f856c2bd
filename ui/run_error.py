"""The error that ended a thread's last run, as a callout with Retry.

Retry continues the thread from its latest checkpoint: the failed node runs again with the same
state, so the user's message is not sent twice.
"""

from __future__ import annotations

import streamlit as st

from agent.backend import LocalBackend
from agent.context import AgentChoices
from agent.runs import RunOptions
from agent.views import ThreadView
from ui.feedback import attempt
from ui.safe_text import SENTENCE_CHARS, plain

STOPPED_NOTE = (
    "You stopped the last run. What it was writing is not kept: the thread is as its last "
    "checkpoint left it."
)


def run_error(
    backend: LocalBackend, view: ThreadView, choices: AgentChoices, options: RunOptions
) -> None:
    """The end of the last run when it needs saying: its error with Retry, or that you stopped it."""
    if view.last_run_id and backend.run_status(view.last_run_id) == "cancelled":
        st.caption(STOPPED_NOTE)
    if not view.last_error:
        return
    st.error(plain(view.last_error, SENTENCE_CHARS), icon=":material/error:")
    if view.next_nodes and st.button("Retry", icon=":material/refresh:", key="retry_run"):
        attempt(lambda: backend.resume(view.thread.id, choices, options))
