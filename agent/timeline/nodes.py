"""Which node(s) run next from a stored checkpoint, and which ran to write it, without the state.

What a checkpoint holds for that (measured on LangGraph 1.2.24 with Waypoint's savers):
`channel_versions`, `versions_seen` (per node, the trigger versions it last ran on),
`updated_channels` (channels the step wrote; None on update and fork rows) and `channel_values`,
which keep a `branch:to:<node>` (or `__start__`) entry while that node is triggered and not yet run.

- Next node(s): LangGraph's own trigger rule, read off the checkpoint: a node is next when one of
  its trigger channels has a value and a version newer than the one the node last saw. It gives
  `StateSnapshot.next` without building the state (tests/test_timeline.py checks it against
  `get_state_history` on every checkpoint of a forked thread).
- Node(s) that wrote a "loop" checkpoint: the nodes whose `versions_seen` moved since the parent
  checkpoint, i.e. the tasks of the step between them (`__start__` for the step that applies a
  run's input; several with durability "exit", where one checkpoint covers a whole run). That is
  better than "the parent's next node(s)", which is wrong when a row stands for several steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.constants import START
from langgraph.pregel import Pregel

from agent.graph import ACTION, LLM


def _newer(version: Any, seen: Any) -> bool:
    if version is None:
        return False
    if seen is None:
        return True
    try:
        return version > seen
    except TypeError:  # a thread that mixes string and integer versions
        return str(version) > str(seen)


@dataclass(frozen=True)
class GraphShape:
    """A compiled graph's nodes as plain data: each node's trigger channels, in the graph's order.

    >>> shape = GraphShape({"llm": ("branch:to:llm",)})
    >>> shape.next_nodes({"channel_values": {"branch:to:llm": None},
    ...                   "channel_versions": {"branch:to:llm": 2}, "versions_seen": {}})
    ('llm',)
    """

    triggers: Mapping[str, tuple[str, ...]]  # node -> its trigger channels, in the graph's order

    @classmethod
    def of(cls, graph: Pregel[Any, Any, Any, Any]) -> GraphShape:
        return cls({name: tuple(node.triggers) for name, node in graph.nodes.items()})

    def next_nodes(self, checkpoint: Mapping[str, Any]) -> tuple[str, ...]:
        """LangGraph's trigger rule on a stored checkpoint (see the module docstring)."""
        values = checkpoint.get("channel_values") or {}
        versions = checkpoint.get("channel_versions") or {}
        seen_by = checkpoint.get("versions_seen") or {}
        ready = []
        for name, triggers in self.triggers.items():
            seen = seen_by.get(name)
            if any(
                channel in values
                and (seen is None or _newer(versions.get(channel), seen.get(channel)))
                for channel in triggers
            ):
                ready.append(name)
        return tuple(ready)

    def ran_between(
        self, parent: Mapping[str, Any] | None, checkpoint: Mapping[str, Any]
    ) -> tuple[str, ...]:
        """The nodes whose `versions_seen` moved from `parent` to `checkpoint`: the step's tasks."""
        seen = checkpoint.get("versions_seen") or {}
        before = (parent or {}).get("versions_seen") or {}
        ran = {
            name
            for name, versions in seen.items()
            if (name == START or not name.startswith("__")) and versions != before.get(name)
        }
        order = {name: index for index, name in enumerate(self.triggers)}
        return tuple(sorted(ran, key=lambda name: (order.get(name, len(order)), name)))


def as_node_keeping_next(next_nodes: Sequence[str], messages: Sequence[BaseMessage]) -> str:
    """The `as_node` under which an update leaves a checkpoint's next node(s) as they were.

    `update_state` applies the update as if that node had run, then follows its edges: `llm`'s
    router sends open tool calls to `action` (so a halt stays a halt: approval is asked again) and
    ends after an answer; `__start__` and `action` lead to `llm`.
    """
    if ACTION in next_nodes:
        return LLM
    if LLM in next_nodes or START in next_nodes:
        return START if messages and isinstance(messages[-1], HumanMessage) else ACTION
    return LLM
