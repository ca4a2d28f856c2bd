"""Pure text helpers that the engine and the pages share: one line, capped, nothing hidden.

They live apart from the tools and the timeline so that `agent.protocol` (and so the UI) can use
them without importing LangChain: the same cleaning for a search result and a page label, the
same one-line summary of a tool call in the timeline and in the Inspector.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# C0/C1 control characters, and the invisible format characters that can hide or reorder text
# (zero-width spaces, bidirectional overrides and isolates, the byte-order mark).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean(text: str, limit: int) -> str:
    """`text` on one line without control characters, cut at a word to at most `limit` chars."""
    text = " ".join(_CONTROL.sub(" ", str(text)).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut + "…"


def preview(text: str, limit: int = 60) -> str:
    """One line of at most `limit` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def call_text(name: str, args: Mapping[str, Any]) -> str:
    """`web_search('weather in LA')`: one argument shown by value, several as JSON."""
    if len(args) == 1:
        value = next(iter(args.values()))
        shown = (
            f"'{preview(value, 40)}'" if isinstance(value, str) else preview(json.dumps(value), 40)
        )
    else:
        shown = preview(json.dumps(dict(args), ensure_ascii=False, default=str), 40)
    return f"{name}({shown})"
