"""The only things a browser session remembers: UI choices, never conversation content.

The selected thread lives in the URL (`?thread=…`) so that a refresh or a shared link reopens it.
"""

from __future__ import annotations

import streamlit as st

THREAD_PARAM = "thread"


def selected_thread() -> str | None:
    return st.query_params.get(THREAD_PARAM) or None


def select_thread(thread_id: str | None) -> None:
    if thread_id:
        st.query_params[THREAD_PARAM] = thread_id
    else:
        st.query_params.pop(THREAD_PARAM, None)
