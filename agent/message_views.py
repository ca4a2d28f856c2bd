"""LangChain messages -> the plain `MessageView`s pages draw (`agent.views`).

The one place that reads message classes for the UI, so `agent.views` stays free of LangChain: a
remote backend builds the same views from the SDK's JSON messages instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.approval import ANSWERED_BY_HUMAN, result_outcome
from agent.stream_events import message_text
from agent.tools import search_results
from agent.views import MessageView, Role, ToolCallView


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
    role = _role(message)
    text = message_text(message)
    by_human = role == "tool" and bool(message.response_metadata.get(ANSWERED_BY_HUMAN))
    return MessageView(
        id=message.id or "",
        role=role,
        text=text,
        tool_calls=calls,
        tool_call_id=getattr(message, "tool_call_id", None),
        name=message.name,
        is_error=getattr(message, "status", "success") == "error",
        search=search_results(text) if role == "tool" and not by_human else None,
        by_human=by_human,
        outcome=result_outcome(message) if isinstance(message, ToolMessage) else None,
    )


def message_views(messages: Sequence[BaseMessage]) -> tuple[MessageView, ...]:
    return tuple(message_view(m) for m in messages)
