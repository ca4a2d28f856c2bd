"""Runs cut short: by a crash or a server restart, or by the user's Stop. Nothing runs twice.

A process killed mid-run leaves its thread marked "running" in the index and its newest
checkpoint as the last step left it. Continuing from there as LangGraph would is not safe:

- A halt answered before the crash keeps the human's answer as a `__resume__` pending write, so
  running `action` again replays the old approval and the tool starts a second time unasked.
- With durability "sync" a finished node's writes and the next checkpoint are saved by separate
  background writes (langgraph #8039): a crash between them leaves the node's results as pending
  writes on the checkpoint before it, where they look like a step still to run.

So on the next start (`LocalBackend._reconcile_interrupted_runs`) each cut run gets one
"server stopped" checkpoint written over its newest one (`mark`): a finished node's saved results
are applied (they are not run again), and otherwise the state is kept as it was, without the
pending writes, so an old approval is never replayed. When `action` is next there, its calls are
asked again (`calls_to_ask`), whatever the approval policy: the tool may have run partly or fully,
and only the user can say whether to run it again. The checkpoint's metadata keeps what was cut,
which is what the chat says about it (`notice`), also after later restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.constants import START
from langgraph.types import StateSnapshot

from agent.graph import ACTION, open_tool_calls
from agent.text import preview
from agent.timeline import (
    APPLIED,
    AS_NODE,
    COUNT,
    OP,
    SERVER_STOPPED,
    STOPPED,
    TOOL,
    as_node_keeping_next,
)

log = logging.getLogger(__name__)


def _finished_task(snapshot: StateSnapshot) -> Any:
    """The one next task whose results were saved before the crash (#8039), or None."""
    done = [t for t in snapshot.tasks if t.result is not None and not t.error]
    return done[0] if len(done) == 1 and len(snapshot.tasks) == 1 else None


def mark(graph: Any, snapshot: StateSnapshot) -> str | None:
    """Write the "server stopped" checkpoint over a cut run's newest one; return its id.

    Returns None (and writes nothing) when the snapshot holds no state to write over.
    """
    messages = list(snapshot.values.get("messages", []))
    if snapshot.config is None or not messages:
        return None
    metadata: dict[str, Any] = {OP: SERVER_STOPPED}
    finished = _finished_task(snapshot)
    if finished is not None:
        values, as_node = finished.result, finished.name
        metadata[APPLIED] = finished.name
    else:
        values, as_node = None, as_node_keeping_next(snapshot.next, messages)
        calls = open_tool_calls(messages)[1] if ACTION in snapshot.next else []
        if calls:
            metadata[COUNT] = len(calls)
            metadata[TOOL] = ", ".join(sorted({c["name"] for c in calls}))
    metadata[AS_NODE] = as_node
    config = graph.update_state({**snapshot.config, "metadata": metadata}, values, as_node=as_node)
    log.info("a run was cut by a stop of the server; marked %s", metadata)
    return config["configurable"]["checkpoint_id"]


def mark_stopped(
    graph: Any, snapshot: StateSnapshot, thread_id: str, unsaved: BaseMessage | None = None
) -> str | None:
    """Write the "you stopped" checkpoint over the newest state a stopped run left; return its id.

    Stop abandons the run at once and its late writes are refused (`agent.write_gate`), so
    without this a stop would leave no trace: the timeline could not say "stopped by you" and
    the chat could not offer Continue after a restart. Like `mark`, it keeps the state and what
    runs next and drops the pending writes (an approval given for a tool that was stopped is
    asked again, never replayed). `unsaved` is the run's own new message when no checkpoint
    holds it yet (durability "exit"): it is kept, so Continue answers it and nothing typed is lost.
    """
    messages = list(snapshot.values.get("messages", []))
    config = snapshot.config or {"configurable": {"thread_id": thread_id}}
    metadata: dict[str, Any] = {OP: STOPPED}
    if unsaved is not None and all(m.id != unsaved.id for m in messages):
        values: Any = {"messages": [unsaved]}
        as_node = START
    elif messages:
        values, as_node = None, as_node_keeping_next(snapshot.next, messages)
    else:
        return None
    metadata[AS_NODE] = as_node
    written = graph.update_state({**config, "metadata": metadata}, values, as_node=as_node)
    return written["configurable"]["checkpoint_id"]


def was_stopped(metadata: Mapping[str, Any] | None) -> bool:
    return metadata is not None and metadata.get(OP) == STOPPED


def was_cut(metadata: Mapping[str, Any] | None) -> bool:
    return metadata is not None and metadata.get(OP) == SERVER_STOPPED


def calls_to_ask(snapshot: StateSnapshot) -> frozenset[str]:
    """At a "server stopped" checkpoint with `action` next: the calls to ask about again."""
    if not was_cut(snapshot.metadata) or ACTION not in snapshot.next:
        return frozenset()
    return frozenset(c["id"] for c in open_tool_calls(snapshot.values.get("messages", []))[1])


def notice(metadata: Mapping[str, Any], next_nodes: Sequence[str]) -> str:
    """What the chat says under a run the server's stop cut, and what the user can do (Markdown)."""
    if metadata.get(TOOL):
        # Tool names come from the model: shown as code (never as Markdown), and capped.
        names = str(metadata[TOOL]).replace("`", "").split(", ")
        tools = ", ".join(f"`{preview(name, 40)}`" for name in names[:4])
        return (
            f"The server stopped while {tools} was running, so it may have run partly or fully. "
            "Nothing runs again unless you approve it below."
        )
    if metadata.get(APPLIED):
        return (
            "The server stopped during this answer, after its last step was saved. "
            "Retry to let the model continue from there."
        )
    if next_nodes:
        return (
            "The server stopped during this answer: what it was writing is lost. "
            "Retry to ask the model again."
        )
    return (
        "The server stopped during the last run, before any of it was saved (with durability "
        '"exit" a run is saved only when it ends). Send your message again.'
    )
