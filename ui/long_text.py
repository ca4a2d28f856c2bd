"""A text of any size shown in bounded pages: its start, "Show more", and the whole as a download.

Streamlit sends every element to the browser on each rerun, folded expanders and hidden tabs
included, so a 1 MB tool result (an imported thread can hold one) would make a 1 MB page wherever
it appears. Here a text shows at most `PAGE_CHARS` characters until the user asks for more, and
the whole text is always one click away as a file (built only when that click comes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from ui.safe_text import clip

PAGE_CHARS = 10_000
JSON_CHARS = 2_000  # of each string in a JSON view; the download has all of it
SHOWN_KEY = "long_text_shown"  # session state: how much of each long text the user opened


def long_text(text: str, key: str, render: Callable[[str], str] | None = None) -> None:
    """Show `text` bounded; `render` turns the shown part into safe Markdown (None: `st.text`).

    `key` must be unique on the page: it names the buttons and what the user opened.
    """
    opened = st.session_state.setdefault(SHOWN_KEY, {})
    part = clip(text, opened.get(key, PAGE_CHARS))
    if render is None:
        st.text(part)
    else:
        st.markdown(render(part))
    if len(part) == len(text):
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(f"Showing {len(part):,} of {len(text):,} characters.", width="content")
        if st.button(
            "Show more", key=f"more_{key}", type="tertiary", icon=":material/expand_more:"
        ):
            opened[key] = len(part) + PAGE_CHARS
            st.rerun()
        st.download_button(
            "Download all",
            data=lambda: text,
            file_name="text.txt",
            mime="text/plain",
            key=f"download_{key}",
            type="tertiary",
            icon=":material/download:",
            on_click="ignore",
        )


def clip_strings(value: Any, limit: int) -> tuple[Any, bool]:
    """`value` (JSON-able) with every string longer than `limit` cut; and whether any was."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value, False
        return f"{value[:limit]}… [{len(value) - limit:,} more characters]", True
    if isinstance(value, dict):
        pairs = [(clip_strings(k, limit), clip_strings(v, limit)) for k, v in value.items()]
        return {k: v for (k, _), (v, _) in pairs}, any(a or b for (_, a), (_, b) in pairs)
    if isinstance(value, (list, tuple)):
        items = [clip_strings(v, limit) for v in value]
        return [v for v, _ in items], any(cut for _, cut in items)
    return value, False


def json_view(value: Any, name: str, key: str, expanded: bool | int) -> None:
    """`value` as JSON with long strings cut; when any was, the whole is a download away."""
    shown, cut = clip_strings(value, JSON_CHARS)
    st.json(shown, expanded=expanded)
    if cut:
        st.download_button(
            f"Download the full {name} (JSON)",
            data=lambda: json.dumps(value, ensure_ascii=False, indent=2, default=str),
            file_name=f"{name.replace(' ', '-')}.json",
            mime="application/json",
            key=f"json_{key}",
            type="tertiary",
            icon=":material/download:",
            on_click="ignore",
        )
