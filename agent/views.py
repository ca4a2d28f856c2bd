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
