"""One way to run a user's action and tell them, in a sentence, what went wrong.

Every engine error meant for people is one of these: ValueError (InputError, DecisionError,
TransferError and bad settings are ValueErrors), ThreadBusy (a run is going), UnknownThread (the
thread was deleted, e.g. in another tab). Anything else is a bug and should surface as one.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from agent.runs import ThreadBusy
from agent.threads import UnknownThread

USER_ERRORS = (ValueError, ThreadBusy, UnknownThread)
PROBLEM_KEY = "send_problem"


def attempt(action: Callable[[], object]) -> None:
    """Run `action` for a click, then redraw; a problem is shown by `show_problem` after it."""
    try:
        action()
    except USER_ERRORS as problem:
        st.session_state[PROBLEM_KEY] = str(problem)
    st.rerun()


def show_problem() -> None:
    if problem := st.session_state.pop(PROBLEM_KEY, None):
        st.error(problem, icon=":material/error:")
