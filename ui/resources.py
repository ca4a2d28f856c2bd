"""Process-wide objects, built once and shared by every session (Streamlit's cache_resource).

The backend owns the database, both checkpointers, the compiled graphs and the background runs:
rebuilding any of them on a rerun would lose live runs and waste start-up time. With several of
your own graphs (a langgraph.json), each has its backend, built when first picked.
"""

from __future__ import annotations

import streamlit as st

from agent import open_backend
from agent.protocol import Backend
from ui.session import selected_graph


def _close(backend: Backend) -> None:
    backend.close()


@st.cache_resource(show_spinner="Opening the database…", on_release=_close)
def _backend(graph: str | None) -> Backend:
    return open_backend(graph)


def default_backend() -> Backend:
    """The first graph's backend (the built-in agent's, without WAYPOINT_GRAPH)."""
    return _backend(None)


def clear() -> None:
    """Close every backend; the next page run opens them again (settings are read then)."""
    _backend.clear()


def backend() -> Backend:
    """The backend of the graph this session picked. A name that is not one of the graphs (or is
    the first) means the first one's backend, so no database is ever opened twice."""
    default = default_backend()
    wanted = selected_graph()
    if wanted is None or wanted not in default.info().graphs[1:]:
        return default
    return _backend(wanted)
