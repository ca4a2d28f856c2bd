"""The Inspector editors' "Save as a fork" button: write the edit, then open what it made.

An edit never changes a checkpoint: it writes a new one after it (a fork), which the Inspector then
selects, with a notice saying where the original went. A refused edit says why and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.feedback import USER_ERRORS
from ui.safe_text import SENTENCE_CHARS, plain
from ui.session import INSPECTOR_NOTICE, select_checkpoint


def save_as_fork(key: str, save: Callable[[], str | tuple[str, str]], notice: str) -> None:
    """The button; on a click, `save()` returns the new checkpoint's id, or (namespace, id) for
    one inside a subgraph, which is then opened."""
    if not st.button("Save as a fork", type="primary", icon=":material/call_split:", key=key):
        return
    try:
        new_id = save()
    except USER_ERRORS as problem:
        st.error(plain(problem, SENTENCE_CHARS), icon=":material/edit_off:")
        return
    if isinstance(new_id, tuple):
        select_checkpoint(new_id[1], new_id[0])
    else:
        select_checkpoint(new_id)
    st.session_state[INSPECTOR_NOTICE] = notice
    st.rerun()
