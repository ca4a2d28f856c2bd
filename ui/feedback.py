"""One way to run a user's action and tell them, in a sentence, what went wrong.

Every engine error meant for people is a `BackendError` (not found, conflict, invalid: see
`agent.errors`), or a ValueError from a setting that cannot work. Anything else is a bug and
should surface as one.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from agent.protocol import BackendError
from ui.safe_text import SENTENCE_CHARS, plain

# ValueError: a setting that cannot work (a provider chosen without its key), raised as it is.
USER_ERRORS = (BackendError, ValueError)
PROBLEM_KEY = "send_problem"


def attempt(action: Callable[[], object], unsent: str | None = None) -> None:
    """Run `action` for a click, then redraw; a problem is shown by `show_problem` after it.

    `unsent` is text the user typed for this action: if it fails, the text is shown back with the
    problem, so nothing typed is lost (the chat input has already cleared itself).
    """
    try:
        action()
    except USER_ERRORS as problem:
        st.session_state[PROBLEM_KEY] = (str(problem), unsent)
    st.rerun()


def show_problem() -> None:
    if found := st.session_state.pop(PROBLEM_KEY, None):
        problem, unsent = found
        st.error(plain(problem, SENTENCE_CHARS), icon=":material/error:")
        if unsent:
            st.caption("Your message was not sent; here it is to copy:")
            st.code(unsent, language=None, wrap_lines=True)
