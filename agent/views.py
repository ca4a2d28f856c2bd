"""Plain-data views of conversation state, for pages that must not hold LangGraph objects.

The UI renders these; a future remote backend (LangGraph Agent Server) will build the same views
from the SDK's JSON, so nothing above `agent/` depends on how the engine stores messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.stream_events import message_text
from agent.threads import ThreadInfo

Role = Literal["human", "ai", "tool", "system"]


@dataclass(frozen=True)
class ToolCallView:
    id: str
    name: str
    args: dict[str, Any]

    @property
    def args_json(self) -> str:
        return json.dumps(self.args, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class MessageView:
    """One message as the transcript shows it."""

    id: str
    role: Role
    text: str
    tool_calls: tuple[ToolCallView, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False


@dataclass(frozen=True)
class Notice:
    """Why the thread's last run ended early, when it needs saying (see `agent.recovery`)."""

    kind: Literal["stopped", "server_stopped"]  # your Stop; a crash or restart of the server
    text: str


@dataclass(frozen=True)
class ThreadView:
    """Everything the chat page needs to draw one thread at its current checkpoint."""

    thread: ThreadInfo
    messages: tuple[MessageView, ...]
    checkpoint_id: str | None
    next_nodes: tuple[str, ...]
    pending_calls: tuple[ToolCallView, ...] = ()
    active_run_id: str | None = None
    last_run_id: str | None = None
    # What went wrong in the thread's last run (None when it ended well); the page offers Retry.
    last_error: str | None = None
    # A run cut short (by you, or by the server stopping); the page offers to continue it.
    notice: Notice | None = None
    # The active run's new message while no checkpoint shows it yet (durability "exit").
    live_input: tuple[MessageView, ...] = ()

    @property
    def waiting_for_approval(self) -> bool:
        return bool(self.pending_calls) and self.active_run_id is None


def _role(message: BaseMessage) -> Role:
    if isinstance(message, HumanMessage):
        return "human"
    if isinstance(message, AIMessage):
        return "ai"
    if isinstance(message, ToolMessage):
        return "tool"
    if isinstance(message, SystemMessage):
        return "system"
    return "ai"


def message_view(message: BaseMessage) -> MessageView:
    calls = tuple(
        ToolCallView(id=c["id"], name=c["name"], args=dict(c["args"]))
        for c in getattr(message, "tool_calls", None) or ()
    )
    return MessageView(
        id=message.id or "",
        role=_role(message),
        text=message_text(message),
        tool_calls=calls,
        tool_call_id=getattr(message, "tool_call_id", None),
        name=message.name,
        is_error=getattr(message, "status", "success") == "error",
    )


def message_views(messages: Sequence[BaseMessage]) -> tuple[MessageView, ...]:
    return tuple(message_view(m) for m in messages)


# --- time travel: the inspector's timeline, a checkpoint's detail, the chat's branch switcher -----


@dataclass(frozen=True)
class CheckpointRow:
    """One checkpoint as the inspector's timeline lists it: what happened there, in one line.

    `written_by` is the node (or nodes) whose step produced the checkpoint, derived as
    `agent.timeline` explains; `next_nodes` what a replay from here would run. The tree is in
    `parent_id`, `children` and `branch`: rows are newest first, each branch (one per checkpoint
    without children) has a number, 0 being the branch the chat shows, and `branch_tip` is that
    branch's newest checkpoint (what "Show this branch in chat" should pass to `show_branch`).
    """

    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str  # "input" | "loop" | "update" | "fork" ("" for LangGraph's own bookkeeping rows)
    written_by: tuple[str, ...]
    next_nodes: tuple[str, ...]
    created_at: float
    label: str
    run_id: str | None = None
    run_number: int | None = None  # 1 for the thread's first run, in order of first checkpoint
    children: int = 0
    branch: int = 0
    branch_tip: str = ""
    on_shown_branch: bool = False  # an ancestor of (or) the checkpoint the chat shows
    is_head: bool = False  # the checkpoint the chat shows
    is_latest: bool = False  # the newest checkpoint of the thread
    halted: bool = False  # the run stopped here to ask for approval
    stopped: bool = False  # you pressed Stop during the step after this checkpoint
    error: str | None = None  # a node failed in the step after this checkpoint

    @property
    def is_fork_point(self) -> bool:
        """History branches here: a replay, an edit or a new message started from this point."""
        return self.children > 1


@dataclass(frozen=True)
class TimelinePage:
    """One page of a thread's checkpoints, newest first, with what paging and the tree need."""

    thread_id: str
    rows: tuple[CheckpointRow, ...]
    total: int
    offset: int
    limit: int
    head_id: str | None  # the checkpoint the chat shows (the branch head, or the latest)
    latest_id: str | None
    branches: int  # checkpoints without children: 1 for a thread that never forked

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total


@dataclass(frozen=True)
class PendingWriteView:
    """A write saved on a checkpoint for the step after it (by a task that finished, or asked)."""

    task_id: str
    channel: str
    summary: str


@dataclass(frozen=True)
class InterruptView:
    """A question a node asked at this checkpoint (for Waypoint: the tool calls to approve)."""

    id: str
    value: Any  # JSON-able
    calls: tuple[ToolCallView, ...] = ()


@dataclass(frozen=True)
class MessageChange:
    before: MessageView
    after: MessageView


@dataclass(frozen=True)
class StateDiff:
    """What changed from the parent checkpoint: messages by id, and the other channels by name."""

    added: tuple[MessageView, ...] = ()
    changed: tuple[MessageChange, ...] = ()
    removed: tuple[MessageView, ...] = ()
    channels: tuple[str, ...] = ()  # channels other than `messages` whose version moved

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.channels)


@dataclass(frozen=True)
class CheckpointDetail:
    """Everything the inspector shows for one checkpoint."""

    thread_id: str
    checkpoint_id: str
    parent_id: str | None
    row: CheckpointRow
    messages: tuple[MessageView, ...]
    raw_messages: tuple[dict[str, Any], ...]  # JSON-able: {"type": ..., "data": {...}}
    values: dict[str, Any]  # the other state channels, JSON-able
    next_nodes: tuple[str, ...]
    metadata: dict[str, Any]
    pending_writes: tuple[PendingWriteView, ...]
    interrupts: tuple[InterruptView, ...]
    pending_calls: tuple[ToolCallView, ...]  # what a run from here would ask about
    diff: StateDiff
    children: tuple[str, ...]  # checkpoint ids, oldest first


@dataclass(frozen=True)
class MessageVersion:
    """One version of a message: pass `checkpoint_id` to `show_branch` to show it in the chat."""

    checkpoint_id: str
    message_id: str
    preview: str


@dataclass(frozen=True)
class MessageVersions:
    """The chat's `< 2 / 3 >` switcher for one shown message (see `agent.timeline` for the rule)."""

    message_id: str  # the message shown now
    position: int  # 0-based, in the shown conversation
    index: int  # 0-based, which of `versions` is shown
    versions: tuple[MessageVersion, ...]

    @property
    def count(self) -> int:
        return len(self.versions)

    @property
    def label(self) -> str:
        return f"{self.index + 1} / {self.count}"
