"""Turn LangGraph stream parts into Waypoint events.

A run streams with `stream_mode=["messages", "updates"]`: "messages" carries the model's tokens as
they are produced, "updates" carries each node's output when the node finishes (and the interrupt
when the run halts). This module is the only place that knows those shapes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage

from agent.approval import ANSWERED_BY_HUMAN, result_outcome, results_text
from agent.demo_model import USAGE_ESTIMATED
from agent.events import Event, Halted, Step, Token, ToolCall, ToolResult
from agent.graph import LLM
from agent.tools import search_results


def message_text(message: BaseMessage) -> str:
    """The visible text of a message, whatever shape its content has, as a plain `str`.

    `message.text` is a `str` subclass, which CPython stores in two blocks at about three times
    a plain string's size; every token event of the finished runs a process keeps holds one.
    """
    text = message.text
    return str(text) if isinstance(text, str) else str(text())


def _short_args(args: dict[str, Any]) -> str:
    if len(args) == 1:
        return json.dumps(next(iter(args.values())), ensure_ascii=False)[:60]
    return json.dumps(args, ensure_ascii=False)[:60]


def summarise_update(node: str, messages: list[BaseMessage]) -> str:
    """A short human label for what a node just did ("asked web_search("weather in LA")")."""
    calls = [call for m in messages if isinstance(m, AIMessage) for call in m.tool_calls]
    results = [m for m in messages if isinstance(m, ToolMessage)]
    if results:
        return results_text(results)
    if calls:
        return "asked " + ", ".join(f"{c['name']}({_short_args(c['args'])})" for c in calls)
    words = sum(len(message_text(m).split()) for m in messages)
    return f"answered ({words} words)" if words else f"{node} finished"


def _usage(node: str, messages: list[BaseMessage]) -> dict[str, Any]:
    """The Step fields for the tokens the node's AI messages report (`usage_metadata`).

    Only `llm` counts: `action` may write an edited copy of a call, which keeps its usage.
    """
    replies = [m for m in messages if isinstance(m, AIMessage)]
    usage = [m.usage_metadata for m in replies if m.usage_metadata]
    if not usage or node != LLM:
        return {"message_ids": tuple(m.id for m in replies if m.id)}
    return {
        "tokens_in": sum(u.get("input_tokens", 0) for u in usage),
        "tokens_out": sum(u.get("output_tokens", 0) for u in usage),
        "estimated": any(m.response_metadata.get(USAGE_ESTIMATED) for m in replies),
        "message_ids": tuple(m.id for m in replies if m.id),
    }


class StreamTranslator:
    """Stateful translation of one run's stream parts (it times the steps)."""

    def __init__(self) -> None:
        self._step_started = time.monotonic()
        self.halted = False

    def feed(self, mode: str, chunk: Any) -> Iterator[Event]:
        if mode == "messages":
            yield from self._tokens(*chunk)
        elif mode == "updates":
            yield from self._updates(chunk)

    def _tokens(self, message: BaseMessage, metadata: dict[str, Any]) -> Iterator[Event]:
        if isinstance(message, (AIMessageChunk, AIMessage)) and message.id:
            text = message_text(message)
            if text:
                yield Token(
                    message_id=message.id, node=metadata.get("langgraph_node", ""), text=text
                )

    def _updates(self, chunk: dict[str, Any]) -> Iterator[Event]:
        for node, update in chunk.items():
            if node == "__interrupt__":
                self.halted = True
                calls = tuple(
                    ToolCall(call_id=c["id"], name=c["name"], args=dict(c["args"]))
                    for interrupt in update
                    for c in (interrupt.value or {}).get("calls", [])
                )
                yield Halted(calls=calls)
                continue
            messages = list((update or {}).get("messages", []))
            now = time.monotonic()
            seconds, self._step_started = now - self._step_started, now
            for message in messages:
                if isinstance(message, AIMessage):
                    for call in message.tool_calls:
                        yield ToolCall(
                            call_id=call["id"] or "", name=call["name"], args=dict(call["args"])
                        )
                elif isinstance(message, ToolMessage):
                    content = message_text(message)
                    by_human = bool(message.response_metadata.get(ANSWERED_BY_HUMAN))
                    yield ToolResult(
                        call_id=message.tool_call_id,
                        name=message.name or "",
                        content=content,
                        is_error=message.status == "error",
                        search=None if by_human else search_results(content),
                        by_human=by_human,
                        outcome=result_outcome(message),
                    )
            yield Step(
                node=node,
                summary=summarise_update(node, messages),
                seconds=seconds,
                **_usage(node, messages),
            )
