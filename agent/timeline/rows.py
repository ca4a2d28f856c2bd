"""A checkpoint as the timeline lists it, from its stored tuple and its parent's: no state rebuilt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from langgraph.checkpoint.base import CheckpointTuple

from agent.timeline.keys import ERROR, INTERRUPT, OP, RUN, STOPPED, is_stop
from agent.timeline.labels import what_happened
from agent.timeline.nodes import GraphShape
from agent.timeline.text import preview
from agent.timeline.tree import TreeLayout
from agent.views import CheckpointRow


def _timestamp(checkpoint: Mapping[str, Any]) -> float:
    try:
        return datetime.fromisoformat(checkpoint["ts"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return 0.0


def checkpoint_row(
    layout: TreeLayout, shape: GraphShape, found: CheckpointTuple, parent: CheckpointTuple | None
) -> CheckpointRow:
    """The row of `found`; `parent` is its parent's tuple (whose writes say what the step did),
    needed for "loop" rows and None at the root."""
    skeleton = layout.skeleton
    checkpoint_id = found.config["configurable"]["checkpoint_id"]
    metadata = found.metadata or {}
    source = str(metadata.get("source") or "")
    writes = found.pending_writes or []
    parent_id = skeleton.parent(checkpoint_id)
    written_by, label = what_happened(
        metadata,
        found.checkpoint,
        ran=shape.ran_between(parent.checkpoint if parent else None, found.checkpoint),
        parent_writes=(parent.pending_writes or []) if parent else [],
        parent_metadata=skeleton.metadata[parent_id] if parent_id else None,
    )
    errors = [value for _, channel, value in writes if channel == ERROR]
    stopped = bool(errors) and is_stop(errors[-1]) or metadata.get(OP) == STOPPED
    asked = [value for _, channel, value in writes if channel == INTERRUPT]
    halted = bool(asked)
    if halted:
        label += " (asked for approval)" if _about_calls(asked) else "; the next step asks you"
    if stopped:
        label += " (you stopped the next step)"
        errors = []
    lane = layout.lanes.get(checkpoint_id, 0)
    run = metadata.get(RUN)
    run_id = run if isinstance(run, str) else None
    return CheckpointRow(
        checkpoint_id=checkpoint_id,
        parent_id=parent_id,
        step=int(metadata.get("step", 0)),
        source=source,
        written_by=written_by,
        next_nodes=shape.next_nodes(found.checkpoint),
        created_at=_timestamp(found.checkpoint),
        label=label,
        run_id=run_id,
        run_number=layout.runs.get(run_id) if run_id else None,
        children=len(skeleton.children.get(checkpoint_id, ())),
        branch=lane,
        branch_tip=layout.tips[lane] if lane < len(layout.tips) else checkpoint_id,
        on_shown_branch=checkpoint_id in layout.shown,
        is_head=checkpoint_id == layout.head,
        is_latest=checkpoint_id == skeleton.latest,
        halted=halted,
        stopped=stopped,
        error=preview(str(errors[-1]), 200) if errors else None,
    )


def _about_calls(asked: Sequence[Any]) -> bool:
    """Whether the interrupts written are about tool calls (Waypoint's own or a LangChain HITL
    request), not a question of the graph's own."""
    for write in asked:
        for interrupt in write if isinstance(write, list | tuple) else [write]:
            value = getattr(interrupt, "value", None)
            if isinstance(value, Mapping) and ("calls" in value or "action_requests" in value):
                return True
    return False
