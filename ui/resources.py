"""Process-wide objects, built once and shared by every session (Streamlit's cache_resource).

The backend owns the database, both checkpointers, the compiled graphs and the background runs:
rebuilding any of them on a rerun would lose live runs and waste start-up time.
"""

from __future__ import annotations

import streamlit as st

from agent import open_backend
from agent.protocol import Backend


def _close(backend: Backend) -> None:
    backend.close()


@st.cache_resource(show_spinner="Opening the database…", on_release=_close)
def backend() -> Backend:
    return open_backend()
