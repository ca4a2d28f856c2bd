"""Process-wide objects, built once and shared by every session (Streamlit's cache_resource).

The backend owns the database, both checkpointers, the compiled graphs and the background runs:
rebuilding any of them on a rerun would lose live runs and waste start-up time.
"""

from __future__ import annotations

import streamlit as st

from agent.backend import LocalBackend
from agent.settings import Settings, load_settings
from agent.visitors import VisitorSweep


@st.cache_resource(show_spinner="Opening the database…", on_release=LocalBackend.close)
def backend() -> LocalBackend:
    return LocalBackend(settings())


@st.cache_resource
def settings() -> Settings:
    return load_settings()


@st.cache_resource
def visitor_sweep() -> VisitorSweep:
    """One sweep of expired visitor spaces per process, however many sessions ask."""
    return VisitorSweep(settings().visitor_hours)
