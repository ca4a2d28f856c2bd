"""A subgraph's own checkpoints: listed under the parent step that runs it, read one by one, and
the start of a replay (or an edit) from one of them.

A subgraph used as a node keeps its checkpoints in a namespace of its own, `node:<task id>`, and
the task id is derived from the parent checkpoint that runs it. LangGraph 1.2.x cannot replay from
such a checkpoint: `invoke(None, config)` with the subgraph checkpoint's config (what LangGraph
Studio's "Re-run from here" sends) first writes a fork of the parent checkpoint, which gives the
subgraph a new task id, hence a new, empty namespace, and the subgraph runs again from its start
(langgraph issue #8458). So Waypoint does what that replay should: it forks the parent checkpoint
itself (an empty `update_state`, as the node that wrote it, so the same step comes next), copies
the chosen subgraph checkpoint into the namespace the fork's task will use, and continues the
thread from its latest checkpoint, that fork: the subgraph loads its newest checkpoint there, the
copy, and goes on from it. Nothing of the original branch changes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.base.id import uuid6
from langgraph.pregel import Pregel
from langgraph.types import StateSnapshot

from agent.errors import InputError, UnknownCheckpoint
from agent.graph import AnyGraph
from agent.interrupts import interrupt_views
from agent.jsonable import jsonable, state_edit
from agent.timeline.keys import OP
from agent.timeline.nodes import GraphShape
from agent.timeline.text import pending_write_views
from agent.views import (
    CheckpointDetail,
    CheckpointRow,
    StateDiff,
    SubgraphCheckpoint,
    SubgraphView,
)

CHECKPOINTS = 50  # of each subgraph, newest first
COPIED_FROM = "waypoint_copied_from"  # on the copy: the subgraph checkpoint it was made from


def config_in(thread_id: str, namespace: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """The config that addresses a checkpoint of a namespace (its newest without an id)."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": namespace}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def node_of(namespace: str) -> str:
    """The parent's node that runs the subgraph: `research` of `research:<task id>`."""
    return namespace.split("|", 1)[0].split(":", 1)[0]


def subgraph_views(
    graph: AnyGraph, saver: BaseCheckpointSaver, snapshot: StateSnapshot
) -> tuple[SubgraphView, ...]:
    """The subgraphs the step after this parent checkpoint runs, as they stand, each with its
    own checkpoints (LangGraph points a subgraph task's `state` at its checkpoint namespace)."""
    found = []
    for task in snapshot.tasks:
        if not isinstance(task.state, Mapping):
            continue
        listed = list(saver.list(task.state, limit=CHECKPOINTS))
        if not listed:
            continue  # the step has not run it yet
        sub = graph.get_state(task.state)
        found.append(
            SubgraphView(
                node=task.name,
                namespace=str(task.state.get("configurable", {}).get("checkpoint_ns", "")),
                next_nodes=tuple(sub.next),
                values={k: jsonable(v) for k, v in (sub.values or {}).items()},
                interrupts=interrupt_views(sub.interrupts or task.interrupts),
                checkpoints=tuple(
                    SubgraphCheckpoint(
                        checkpoint_id=c.config["configurable"]["checkpoint_id"],
                        step=int((c.metadata or {}).get("step", 0)),
                        source=str((c.metadata or {}).get("source", "")),
                        next_nodes=GraphShape.of(_subgraph(graph, task.name)).next_nodes(
                            c.checkpoint
                        ),
                    )
                    for c in listed
                ),
            )
        )
    return tuple(found)


def _subgraph(graph: AnyGraph, namespace: str) -> AnyGraph:
    node = node_of(namespace)
    for name, sub in graph.get_subgraphs():
        if name == node and isinstance(sub, Pregel):
            return sub
    raise ValueError(f"The graph has no subgraph {node!r}.")


def _tuple(
    saver: BaseCheckpointSaver, thread_id: str, namespace: str, checkpoint_id: str
) -> CheckpointTuple:
    found = saver.get_tuple(config_in(thread_id, namespace, checkpoint_id))
    if found is None or not namespace:
        raise UnknownCheckpoint(thread_id, checkpoint_id)
    return found


def parent_of(
    saver: BaseCheckpointSaver, thread_id: str, namespace: str, checkpoint_id: str
) -> str:
    """The parent checkpoint whose step runs this subgraph checkpoint (LangGraph's `parents`)."""
    found = _tuple(saver, thread_id, namespace, checkpoint_id)
    parent = ((found.metadata or {}).get("parents") or {}).get("")
    if not isinstance(parent, str):
        raise UnknownCheckpoint(thread_id, checkpoint_id)
    return parent


def subgraph_detail(
    graph: AnyGraph, saver: BaseCheckpointSaver, thread_id: str, namespace: str, checkpoint_id: str
) -> CheckpointDetail:
    """One checkpoint inside a subgraph, shown as a parent's is: its state, what its step wrote,
    what runs next, its metadata and writes. Its messages, if it has any, are in `values`."""
    try:
        sub = _subgraph(graph, namespace)
    except ValueError:
        raise UnknownCheckpoint(thread_id, checkpoint_id) from None
    found = _tuple(saver, thread_id, namespace, checkpoint_id)
    snapshot = graph.get_state(config_in(thread_id, namespace, checkpoint_id))
    metadata = dict(found.metadata or {})
    parent = saver.get_tuple(found.parent_config) if found.parent_config else None
    shape = GraphShape.of(sub)
    ran = shape.ran_between(parent.checkpoint if parent else None, found.checkpoint)
    source = str(metadata.get("source") or "")
    node = node_of(namespace)
    label = f"inside the subgraph {node}: " + (
        f"{', '.join(ran)} ran" if ran and source == "loop" else source or "bookkeeping"
    )
    parent_id = parent.config["configurable"]["checkpoint_id"] if parent else None
    channels = tuple(
        sorted(
            name
            for name, version in found.checkpoint.get("channel_versions", {}).items()
            if not name.startswith("branch:")
            and version
            != (parent.checkpoint.get("channel_versions", {}) if parent else {}).get(name)
        )
    )
    row = CheckpointRow(
        checkpoint_id=checkpoint_id,
        parent_id=parent_id,
        step=step if isinstance(step := metadata.get("step"), int) else 0,
        source=source,
        written_by=ran if source == "loop" else (),
        next_nodes=tuple(snapshot.next),
        created_at=0.0,
        label=label,
        halted=bool(snapshot.interrupts),
    )
    return CheckpointDetail(
        thread_id=thread_id,
        checkpoint_id=checkpoint_id,
        parent_id=parent_id,
        row=row,
        messages=(),
        raw_messages=(),
        values={k: jsonable(v) for k, v in (snapshot.values or {}).items()},
        next_nodes=tuple(snapshot.next),
        metadata=jsonable(metadata),
        pending_writes=pending_write_views(found.pending_writes),
        interrupts=interrupt_views(snapshot.interrupts),
        pending_calls=(),
        diff=StateDiff(channels=channels),
        children=(),
        checkpoint_ns=namespace,
    )


@dataclass(frozen=True)
class SeededReplay:
    """Where a replay from a subgraph checkpoint starts: the parent's fork, and the copy of the
    subgraph checkpoint in the namespace the fork's step runs the subgraph in."""

    parent_fork_id: str
    namespace: str
    checkpoint_id: str


def seed_replay(
    graph: AnyGraph,
    saver: BaseCheckpointSaver,
    thread_id: str,
    namespace: str,
    checkpoint_id: str,
    parent_writer: str,
    metadata: Mapping[str, Any],
) -> SeededReplay:
    """Fork the parent checkpoint that runs the subgraph (written as `parent_writer`, the node
    that wrote it, so the same step comes next) and copy the subgraph checkpoint into the
    namespace of that step's task: the thread's latest checkpoint is then the fork, and running
    it on continues the subgraph from the copy (see the module docstring)."""
    found = _tuple(saver, thread_id, namespace, checkpoint_id)
    parent_id = parent_of(saver, thread_id, namespace, checkpoint_id)
    node = node_of(namespace)
    forked = graph.update_state(
        {**config_in(thread_id, "", parent_id), "metadata": dict(metadata)},
        None,
        as_node=parent_writer,
    )
    fork = graph.get_state(forked)
    task = next((t for t in fork.tasks if t.name == node), None)
    if task is None:
        raise ValueError(
            f"After the fork the parent's next step does not run {node}: this checkpoint "
            "cannot be replayed from."
        )
    fork_id = forked["configurable"]["checkpoint_id"]
    target = f"{node}:{task.id}"
    checkpoint = copy.deepcopy(found.checkpoint)
    checkpoint["id"] = str(uuid6())
    copied: dict[str, Any] = dict(found.metadata or {})
    copied.update(source="fork", parents={"": fork_id}, **{COPIED_FROM: checkpoint_id})
    copied[OP] = "subgraph_replay"
    written = saver.put(
        config_in(thread_id, target),
        checkpoint,
        cast(CheckpointMetadata, copied),
        dict(checkpoint.get("channel_versions", {})),
    )
    return SeededReplay(fork_id, target, written["configurable"]["checkpoint_id"])


def checked_values(graph: AnyGraph, namespace: str, text: str, as_node: str | None) -> dict:
    """A subgraph state edit typed as JSON, checked against the subgraph's own channels and
    nodes (InputError with one sentence otherwise)."""
    try:
        sub = _subgraph(graph, namespace)
    except ValueError as problem:
        raise InputError(str(problem)) from None
    values = state_edit(text, '{"notes": []}')
    channels = sorted(k for k in sub.channels if not k.startswith(("__", "branch:")))
    if unknown := sorted(set(values) - set(channels)):
        raise InputError(
            f"The subgraph's state has no {', '.join(unknown)}: its channels are "
            f"{', '.join(channels)}."
        )
    if as_node is not None and as_node not in sub.nodes:
        raise InputError(f"The subgraph has no node {as_node!r}: pick one of its nodes.")
    return dict(values)


def newest_in(saver: BaseCheckpointSaver, thread_id: str, namespace: str) -> str | None:
    found = saver.get_tuple(config_in(thread_id, namespace))
    return found.config["configurable"]["checkpoint_id"] if found else None
