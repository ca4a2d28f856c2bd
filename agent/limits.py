"""How long a text a person writes into a thread may be, and the sentence that says so.

One place for the caps, so the chat, the approval panel, the Inspector's editor and the engine
refuse the same lengths in the same words: the pages show the sentence as soon as the text is too
long, and the engine refuses it again before anything is written (a client may not have checked).
A tool's own output is cut to the same size as a human's answer in its place, so whatever a
person writes as a tool result is no bigger than what a tool could have returned.
"""

from __future__ import annotations

MAX_MESSAGE_CHARS = 20_000  # a message typed in the chat, or a message's text edited
MAX_TOOL_RESULT_CHARS = 8_000  # a tool's result, an "Answer instead", a reason, edited arguments


def too_long(
    text: str, limit: int, what: str = "That message", fix: str = "Shorten it."
) -> str | None:
    """The sentence for a `text` over `limit` characters (`what` names it), or None if it fits."""
    if len(text) <= limit:
        return None
    return f"{what} is {len(text):,} characters long; the limit is {limit:,}. {fix}"
