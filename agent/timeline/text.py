"""Checkpoints, calls, decisions and writes in a few words, for labels, switchers and summaries.

Plain functions of messages and plain values; the UI shows their output as plain text.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent.approval import ALWAYS, DECISION_ACTIONS
from agent.jsonable import jsonable
from agent.stream_events import message_text
from agent.text import call_text, preview
from agent.timeline.keys import ERROR, INTERRUPT, RESUME
from agent.views import PendingWriteView

_DECISION_VERBS = {
    "approve": "approved",
    "edit": "edited",
    "mock": "answered",
    "reject": "rejected",
}


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def decisions_text(decisions: Mapping[str, Any]) -> str:
    """'you approved 2 calls', 'you approved 1, rejected 1 of 2 calls'."""
    counts = Counter(
        d.get("action") for d in decisions.values() if isinstance(d, Mapping) and d.get("action")
    )
    kinds = [kind for kind in DECISION_ACTIONS if counts.get(kind)]
    total = sum(counts[kind] for kind in kinds)
    if not kinds:
        return "you answered"
    allowed = sorted(
        {str(d[ALWAYS]) for d in decisions.values() if isinstance(d, Mapping) and d.get(ALWAYS)}
    )
    also = f"; always allow {', '.join(allowed)} in this thread" if allowed else ""
    if len(kinds) == 1:
        return f"you {_DECISION_VERBS[kinds[0]]} {plural(total, 'call')}{also}"
    parts = ", ".join(f"{_DECISION_VERBS[kind]} {counts[kind]}" for kind in kinds)
    return f"you {parts} of {total} calls{also}"


def message_preview(message: BaseMessage) -> str:
    """A message in a few words, for version switchers and write summaries."""
    if isinstance(message, AIMessage) and message.tool_calls and not message_text(message).strip():
        return "asked " + ", ".join(call_text(c["name"], c["args"]) for c in message.tool_calls)
    return preview(message_text(message)) or "(empty)"


def as_messages(value: Any) -> list[BaseMessage]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [item for item in items if isinstance(item, BaseMessage)]


def pending_write_views(
    writes: Iterable[tuple[str, str, Any]] | None,
) -> tuple[PendingWriteView, ...]:
    """A checkpoint's pending writes (task id, channel, value), each in a few words."""
    return tuple(
        PendingWriteView(task_id=task, channel=channel, summary=summarise_write(channel, value))
        for task, channel, value in writes or []
    )


def summarise_write(channel: str, value: Any) -> str:
    """A pending write in a few words."""
    if channel == "messages":
        messages = as_messages(value)
        return "; ".join(f"{m.type}: {message_preview(m)}" for m in messages) or "no messages"
    if channel == INTERRUPT:
        calls = [
            call
            for interrupt in (value if isinstance(value, (list, tuple)) else [value])
            for call in (getattr(interrupt, "value", None) or {}).get("calls", [])
        ]
        if calls:
            asked = ", ".join(call_text(c["name"], c["args"]) for c in calls)
            return f"asked for approval of {asked}"
        return "asked: " + preview(repr(value), 100)
    if channel == RESUME:
        decisions = decisions_in(value)
        return decisions_text(decisions) if decisions else "answer: " + preview(repr(value), 100)
    if channel == ERROR:
        return "failed: " + preview(str(value), 200)
    if channel.startswith("branch:to:"):
        return f"{channel.removeprefix('branch:to:')} runs next"
    return preview(repr(value), 100)


def decisions_in(value: Any) -> dict[str, Any]:
    """The decisions of a `__resume__` write: a dict by call id (or a list holding one)."""
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    if isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values()):
        return dict(value)
    return {}


def answer_text(value: Any) -> str:
    """Your answer to your own graph's interrupt, in a few words: a HITL response as its
    decisions ("you approved 1 call"), anything else quoted."""
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    if isinstance(value, Mapping) and isinstance(value.get("decisions"), list):
        return decisions_text(
            {
                str(number): {"action": decision.get("type")}
                for number, decision in enumerate(value["decisions"])
                if isinstance(decision, Mapping)
            }
        )
    shown = json.dumps(jsonable(value), ensure_ascii=False)
    return f"you answered {preview(shown, 80)}"
