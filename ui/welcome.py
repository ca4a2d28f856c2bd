"""The empty-thread welcome: what Waypoint shows, and three prompts that show it offline.

Each example names the LangGraph idea it demonstrates, so a first click teaches something.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "How does LangGraph persistence work?",
        "One search, halted for your approval, then an answer that cites its sources.",
    ),
    (
        "What's the weather in San Francisco and Tokyo?",
        "Two tool calls in parallel: approve, edit or reject each one.",
    ),
    (
        "How do I fork a conversation from a past checkpoint?",
        "Try Edit or Answer instead on the search before it runs.",
    ),
)


def welcome(send: Callable[[str], None]) -> None:
    st.title("Waypoint")
    st.markdown(
        "Chat with a LangGraph agent and watch it work: tokens stream in, every step is saved as "
        "a checkpoint, and the agent asks before it runs a tool. Try one of these; they work "
        "offline, with no API key."
    )
    for column, (prompt, shows) in zip(st.columns(len(EXAMPLES)), EXAMPLES, strict=True):
        with column.container(border=True):
            if st.button(prompt, key=f"example_{prompt}", type="tertiary"):
                send(prompt)
            st.caption(shows)
