"""A list row you pick with a click, as the thread list and the Inspector's timeline draw them."""

from __future__ import annotations

import streamlit as st


def row_button(label: str, key: str, chosen: bool) -> bool:
    """A full-width row: the picked one boxed, the others a plain list, as in chat apps.

    True when clicked; the caller selects the row and reruns.
    """
    return st.button(label, key=key, width="stretch", type="secondary" if chosen else "tertiary")
