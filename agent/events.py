"""The typed events a run emits: the whole contract between the engine and any UI.

A page never touches LangGraph objects while a run is live; it reads these from a run's event log
(from an offset, so a refreshed page re-attaches without losing or doubling anything). They are
plain, frozen data so that a remote backend can send the same events over the wire later. They
have slots: a process keeps the logs of its recent runs, a few hundred token events each.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agent.views import SearchResults

RunStatus = Literal["done", "halted", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of text the model just produced, for the live token pane."""

    message_id: str
    node: str
    text: str
    kind: Literal["token"] = "token"


@dataclass(frozen=True, slots=True)
class Step:
    """A node finished: its checkpoint is written (with durability sync).

    For `llm`, the tokens in and out when the provider reported usage (`estimated` when the demo
    model counted them itself); `message_ids` are the AI messages it wrote (the run record places
    the run in its turn by them).
    """

    node: str
    summary: str
    seconds: float
    tokens_in: int | None = None
    tokens_out: int | None = None
    estimated: bool = False
    message_ids: tuple[str, ...] = ()
    kind: Literal["step"] = "step"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asked for a tool."""

    call_id: str
    name: str
    args: dict[str, Any]
    kind: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool answered (or failed, or a human answered in its place)."""

    call_id: str
    name: str
    content: str
    is_error: bool = False
    search: SearchResults | None = None  # `content` read as web_search output, for the UI
    by_human: bool = False  # a person wrote it ("Answer instead"): the tool never ran
    outcome: str | None = None  # why it is not the tool's output (`agent.approval.result_outcome`)
    kind: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True, slots=True)
class Halted:
    """The run stopped before `action` and waits for a human decision on these calls."""

    calls: tuple[ToolCall, ...]
    kind: Literal["halted"] = "halted"


@dataclass(frozen=True, slots=True)
class Error:
    """Something went wrong; `message` says what happened and what to do about it."""

    message: str
    error_type: str = "error"
    retryable: bool = True
    kind: Literal["error"] = "error"


@dataclass(frozen=True, slots=True)
class Done:
    """The run ended; always the last event of a log."""

    status: RunStatus
    kind: Literal["done"] = "done"


Event = Token | Step | ToolCall | ToolResult | Halted | Error | Done


def to_dict(event: Event) -> dict[str, Any]:
    """Plain JSON-able form of an event (for logs, tests, the run store and a wire format)."""
    return asdict(event)


_KINDS: dict[str, type] = {
    "token": Token,
    "step": Step,
    "tool_call": ToolCall,
    "tool_result": ToolResult,
    "error": Error,
    "done": Done,
}


def from_dict(data: dict[str, Any]) -> Event:
    """The event `to_dict` gave (a `Halted` gets its calls back as `ToolCall`s)."""
    fields = dict(data)
    kind = fields.get("kind")
    if kind == "halted":
        return Halted(calls=tuple(ToolCall(**call) for call in fields["calls"]))
    if kind == "step":
        fields["message_ids"] = tuple(fields.get("message_ids", ()))
    if kind not in _KINDS:
        raise ValueError(f"Unknown event kind {kind!r}: this event was not written by Waypoint.")
    return _KINDS[kind](**fields)


@dataclass
class Transcript:
    """Text assembled from token events, keyed by message id (what a live pane shows)."""

    texts: dict[str, str] = field(default_factory=dict)

    def feed(self, event: Event) -> None:
        if isinstance(event, Token):
            self.texts[event.message_id] = self.texts.get(event.message_id, "") + event.text
