"""The LangGraph calls Waypoint made, written back as short Python a learner can copy.

"What LangGraph did" under a run or a decision shows the call behind it: `graph.stream(...)` with
its input, config, stream modes and durability, `graph.update_state(config, values, as_node=...)`,
`Command(resume=...)`. The strings are built from the very objects the engine passed (agent.runs,
agent.backend), so they cannot drift from what ran. They are Python literals, with any
text a person or a model wrote cut to a preview and anything that looks like a key redacted; ids
stay whole, so a pasted call addresses the same checkpoint.

    print(stream_call("sync", {"messages": [HumanMessage("Hi")]}, "t1", None, ["updates"], "sync"))
    # # a new thread: no checkpoint yet
    # config = {"configurable": {"thread_id": "t1"}}
    # for mode, chunk in graph.stream(
    #     {"messages": [HumanMessage("Hi")]},
    #     ...
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, RemoveMessage, ToolMessage
from langgraph.types import Command

from agent.provider_errors import redact
from agent.text import preview

TEXT_CHARS = 60  # a person's or a model's text is shown up to this many characters
ID_CHARS = 64  # ids are shown whole up to this length (uuids, checkpoint ids)


def _quote(value: str) -> str:
    """A string literal in double quotes (a JSON string is a valid Python one)."""
    return json.dumps(value, ensure_ascii=False)


def _text(value: str) -> str:
    return _quote(preview(redact(value), TEXT_CHARS))


def literal(value: Any) -> str:
    """`value` as a Python literal: strings shortened and redacted, containers element-wise."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{literal(key)}: {literal(item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, BaseMessage):
        return message_literal(value)
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)
    return type(value).__name__ + "(...)"


def _id(value: Any) -> str:
    return _quote(str(value)[:ID_CHARS])


def message_literal(message: BaseMessage) -> str:
    """`HumanMessage('What is…', id='…')`, `ToolMessage('…', tool_call_id='…')`, …"""
    kind = type(message).__name__
    if isinstance(message, RemoveMessage):
        return f"RemoveMessage(id={_id(message.id)})"
    parts = [_text(message.text)]
    if isinstance(message, ToolMessage):
        parts.append(f"tool_call_id={_id(message.tool_call_id)}")
    if isinstance(message, AIMessage) and message.tool_calls:
        calls = [{"name": c["name"], "args": c["args"], "id": c["id"]} for c in message.tool_calls]
        parts.append(f"tool_calls={literal(calls)}")
    if message.id:
        parts.append(f"id={_id(message.id)}")
    return f"{kind}({', '.join(parts)})"


def config_literal(thread_id: str, checkpoint_id: str | None = None) -> str:
    configurable = f'"thread_id": {_id(thread_id)}'
    if checkpoint_id:
        configurable += f', "checkpoint_id": {_id(checkpoint_id)}'
    return '{"configurable": {' + configurable + "}}"


def input_literal(payload: Any) -> str:
    """A run's input: None (continue from the checkpoint), a `Command`, or new messages."""
    if isinstance(payload, Command):
        return f"Command(resume={literal(payload.resume)})"
    return literal(payload)


def stream_call(
    engine: str,
    payload: Any,
    thread_id: str,
    checkpoint_id: str | None,
    stream_mode: Sequence[str],
    durability: str,
    latest: str | None = None,
    breakpoints: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The run itself: `graph.stream(...)`, or `graph.astream(...)` on the async engine, with
    `breakpoints` (`interrupt_before` / `interrupt_after` and their nodes) where the run has any.

    Without a `checkpoint_id` LangGraph continues from the thread's latest checkpoint: `latest`
    names it in a comment (None: the thread has none yet).
    """
    method = "astream" if engine == "async" else "stream"
    loop = "async for" if engine == "async" else "for"
    if checkpoint_id:
        note = ""
    elif latest:
        note = f"# no checkpoint_id: it continues from the latest, {latest}\n"
    else:
        note = "# a new thread: no checkpoint yet\n"
    return (
        f"{note}config = {config_literal(thread_id, checkpoint_id)}\n"
        f"{loop} mode, chunk in graph.{method}(\n"
        f"    {input_literal(payload)},\n"
        "    config,\n"
        "    context=context,  # model and tools: never checkpointed\n"
        f"    stream_mode={literal(list(stream_mode))},\n"
        f"    durability={_quote(durability)},\n"
        + "".join(
            f"    {name}={literal(list(nodes))},\n"
            for name, nodes in (breakpoints or {}).items()
            if nodes
        )
        + "):\n"
        "    ..."
    )


def update_state_call(thread_id: str, checkpoint_id: str | None, values: Any, as_node: str) -> str:
    """A state edit: a new checkpoint after `checkpoint_id`, written as if `as_node` had run."""
    return (
        f"config = {config_literal(thread_id, checkpoint_id)}\n"
        f"graph.update_state(config, {literal(values)}, as_node={_quote(as_node)})"
    )


def checkpoint_calls(
    thread_id: str,
    checkpoint_id: str,
    parent_id: str | None,
    edited_as: str | None,
    edited: Sequence[BaseMessage],
) -> str:
    """The Inspector's "what LangGraph did" for one checkpoint: the calls that read it and the
    timeline and, for a checkpoint a state edit wrote (`edited_as`: the node it wrote as), first
    that `update_state` call, with the messages it put (`edited`: those added or changed)."""
    lines = [
        f"config = {config_literal(thread_id, checkpoint_id)}",
        "graph.get_state(config)  # the state at this checkpoint",
        f"graph.get_state_history({config_literal(thread_id)})  # the timeline, newest first",
    ]
    if edited_as is not None:
        lines = [
            "# this checkpoint was written by a state edit, not by a run:",
            update_state_call(thread_id, parent_id, {"messages": list(edited)}, edited_as),
            "",
            "# reading it back:",
            *lines,
        ]
    return "\n".join(lines)
