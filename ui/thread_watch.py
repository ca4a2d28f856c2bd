"""Keep an idle page in step with its thread when something else changes it.

Another tab may send a message, approve a call or rename the thread. The thread index row changes
(`updated_at`) whenever that happens, so a light fragment compares it every few seconds and redraws
the page when it moved; it reads one index row, never checkpoints.
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import Backend, ThreadView
from ui.identity import current_user

WATCH_SECONDS = 2.0


def watch_thread(backend: Backend, view: ThreadView) -> None:
    shown_at = view.thread.updated_at

    @st.fragment(run_every=WATCH_SECONDS)
    def watch() -> None:
        now = backend.find_thread(current_user(), view.thread.id)
        if now is None or now.updated_at != shown_at:
            st.rerun(scope="app")

    watch()
