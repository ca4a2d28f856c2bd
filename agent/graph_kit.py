"""What the engine needs to know of the graph it drives: Waypoint's research agent, or yours.

The built-in agent is the graph the whole engine was written for: it takes runtime context (the
model, tools and approval policy) and asks about tool calls in its own interrupt format. A graph
loaded with `agent.graph_source` is driven through what every LangGraph graph has: its channels,
`stream`, `get_state`, `update_state` and `Command(resume=...)`. The kit says which of the two
this is, how to compile it over a checkpointer, where its chat messages live (if anywhere), and
what a typed message becomes as the graph's input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.message import add_messages
from langgraph.pregel import Pregel
from pydantic import TypeAdapter, ValidationError

from agent.errors import InputError
from agent.graph import AnyGraph, build_graph
from agent.graph_source import LoadedGraph
from agent.jsonable import state_edit
from agent.message_log import merge_message_writes

BUILTIN_LABEL = "Waypoint's research agent"


@dataclass(frozen=True)
class GraphKit:
    """One graph as the engine sees it. `name` is empty for the built-in agent."""

    name: str
    label: str
    compile: Callable[[BaseCheckpointSaver | None], AnyGraph]
    messages_key: str | None = "messages"
    input_keys: tuple[str, ...] = ()
    description: str = ""
    # What is wrong with a value for a state key (None: it fits), from the state schema.
    check_value: Callable[[str, Any], str | None] | None = None
    # The tools a human-in-the-loop middleware in the graph guards, where the graph says so.
    hitl_tools: tuple[str, ...] = ()

    @property
    def builtin(self) -> bool:
        return not self.name

    def input_for(self, text: str, message_id: str) -> dict[str, Any]:
        """A typed message as the graph's input: a human message where the graph keeps
        messages; else the text must be a JSON object of the graph's input keys."""
        if self.messages_key is not None:
            return {self.messages_key: [HumanMessage(text, id=message_id)]}
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            values = None
        if not isinstance(values, Mapping):
            raise InputError(
                f"{self.label} keeps no chat messages: send its input as a JSON object of "
                f"its state, like {self.input_example()}."
            )
        unknown = sorted(set(values) - set(self.input_keys)) if self.input_keys else []
        if unknown:
            raise InputError(
                f"{self.label} has no input {', '.join(unknown)}: its state has "
                f"{', '.join(self.input_keys)}."
            )
        return dict(values)

    def title_for(self, text: str) -> str:
        """A new thread's title: the message, or for JSON input its first text value."""
        if self.messages_key is not None:
            return text
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            return text
        strings = values.values() if isinstance(values, Mapping) else ()
        return next((v for v in strings if isinstance(v, str) and v.strip()), text)

    def checked_values(self, text: str) -> dict[str, Any]:
        """A state edit typed as JSON, checked against the state's keys and, where the schema
        says, their types (InputError with a sentence otherwise); the messages are edited one by
        one in the message editor, not here."""
        values = state_edit(text, '{"plan": []}')
        if self.messages_key in values:
            raise InputError(
                f"Edit {self.messages_key} one message at a time, in the message editor."
            )
        unknown = sorted(set(values) - set(self.input_keys))
        if unknown:
            raise InputError(
                f"The state has no {', '.join(unknown)}: its channels are "
                f"{', '.join(self.input_keys)}."
            )
        for key, value in values.items():
            problem = self.check_value(key, value) if self.check_value else None
            if problem:
                raise InputError(f"{key} does not fit the state schema: {problem}.")
        return dict(values)

    def input_example(self) -> str:
        return json.dumps({key: "..." for key in self.input_keys[:1]} or {"key": "value"})


BUILTIN = GraphKit(name="", label=BUILTIN_LABEL, compile=build_graph)


def kit_for(loaded: LoadedGraph) -> GraphKit:
    """The kit of a user's graph; compiling it once here finds its channels (and any problem)."""
    probe = loaded.compile(None)
    return GraphKit(
        name=loaded.source.name,
        label=loaded.source.name,
        compile=loaded.compile,
        messages_key=messages_key_of(probe),
        input_keys=_state_keys(probe),
        description=loaded.source.description,
        check_value=_schema_checker(probe),
        hitl_tools=hitl_tools_of(probe),
    )


def hitl_tools_of(graph: Pregel) -> tuple[str, ...]:
    """The tools LangChain's human-in-the-loop middleware guards in this graph (subgraphs too):
    its node runs the middleware's bound `after_model`, whose `interrupt_on` names them. () when
    no node says so; the tools are then learnt from the requests the graph asks."""
    found: list[str] = []
    for node in graph.nodes.values():
        bound = node.bound
        if isinstance(bound, Pregel):
            found += hitl_tools_of(bound)
            continue
        owner = getattr(getattr(bound, "func", None), "__self__", None)
        guarded = getattr(owner, "interrupt_on", None)
        if isinstance(guarded, Mapping):
            found += [str(name) for name in guarded]
    return tuple(dict.fromkeys(found))


def messages_key_of(graph: Pregel) -> str | None:
    """The channel reduced with `add_messages` (Waypoint's own message log counts too)."""
    for name, channel in graph.channels.items():
        reducer = getattr(channel, "operator", None) or getattr(channel, "reducer", None)
        if reducer is add_messages or reducer is merge_message_writes:
            return name
    return None


def _state_keys(graph: Pregel) -> tuple[str, ...]:
    channels = graph.input_channels
    names = [channels] if isinstance(channels, str) else list(channels)
    if names == ["__start__"]:
        names = [name for name in graph.channels if not _internal(name)]
    return tuple(name for name in names if not _internal(name))


def _internal(name: str) -> bool:
    return name.startswith(("__", "branch:"))


def _schema_checker(graph: Pregel) -> Callable[[str, Any], str | None] | None:
    """Each state key's type from the state schema, as a pydantic check; None without one."""
    builder = getattr(graph, "builder", None)
    schema = getattr(builder, "state_schema", None)
    try:
        hints = get_type_hints(schema, include_extras=True) if schema is not None else {}
    except Exception:  # a schema whose hints cannot be resolved: checked by LangGraph alone
        return None
    adapters = {}
    for key, hint in hints.items():
        try:
            adapters[key] = TypeAdapter(hint)
        except Exception:  # a type pydantic cannot check (a reducer channel, a class of its own)
            continue

    def check(key: str, value: Any) -> str | None:
        adapter = adapters.get(key)
        if adapter is None:
            return None
        try:
            adapter.validate_python(value)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return f"{first['msg']}" + (f" (at {where})" if where else "")
        return None

    return check if adapters else None
