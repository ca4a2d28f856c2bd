"""A thread's checkpoints on a LangGraph Agent Server: the Inspector's timeline and detail.

Read with `client.threads.get_history`, paged with `before` (every checkpoint, with its values:
the server has no cheaper listing), and built into Waypoint's rows with the same tree code the
engine here uses (`agent.server_views`, `agent.timeline.tree`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from langchain_core.messages import messages_to_dict
from langgraph_sdk.client import SyncThreadsClient
from langgraph_sdk.schema import Checkpoint

from agent.errors import InputError, UnknownCheckpoint
from agent.interrupts import interrupt_views
from agent.message_views import message_views

# First: it loads agent.timeline before agent.interrupts (see there).
from agent.server_views import (
    checkpoint_id_of,
    checkpoint_rows,
    interrupts_of,
    messages_of,
    other_values,
    pending_calls,
    skeleton,
    subgraph_namespace,
    subgraph_view,
)
from agent.timeline.diff import message_diff
from agent.views import CheckpointDetail, SubgraphView, TimelinePage

PAGE = 100  # checkpoints read per request


class ServerHistory:
    """The checkpoints of the server's threads; the caller has checked the thread's owner."""

    def __init__(self, threads: SyncThreadsClient, messages_key: str | None) -> None:
        self.threads = threads
        self.messages_key = messages_key

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        """Every checkpoint of the thread, newest first, paged with `before`."""
        found: list[dict[str, Any]] = []
        while True:
            before = checkpoint_id_of(found[-1]) if found else None
            page = self.threads.get_history(thread_id, limit=PAGE, before=before)
            found.extend(dict(state) for state in page)
            if len(page) < PAGE:
                return found

    def page(self, thread_id: str, limit: int, offset: int, written_by: str | None) -> TimelinePage:
        """One page of the timeline, newest first, with the total and the tree's branches."""
        history = self.history(thread_id)
        tree = skeleton(history)
        rows = checkpoint_rows(history, tree)
        if written_by is not None:
            rows = tuple(row for row in rows if written_by in row.written_by)
        return TimelinePage(
            thread_id=thread_id,
            rows=rows[offset : offset + limit],
            total=len(rows),
            offset=offset,
            limit=limit,
            head_id=tree.latest,
            latest_id=tree.latest,
            branches=len(tree.tips()),
            written_by=written_by,
        )

    def detail(self, thread_id: str, checkpoint_id: str) -> CheckpointDetail:
        """One checkpoint: its state, interrupts, changes from its parent and its subgraphs."""
        history = self.history(thread_id)
        tree = skeleton(history)
        rows = {row.checkpoint_id: row for row in checkpoint_rows(history, tree)}
        if checkpoint_id not in rows:
            raise InputError(str(UnknownCheckpoint(thread_id, checkpoint_id)))
        state = next(s for s in history if checkpoint_id_of(s) == checkpoint_id)
        values = state.get("values")
        messages = messages_of(values, self.messages_key)
        interrupts = interrupts_of(state)
        parent = rows[checkpoint_id].parent_id
        before = next((s for s in history if checkpoint_id_of(s) == parent), {})
        before_values = before.get("values")
        return CheckpointDetail(
            thread_id=thread_id,
            checkpoint_id=checkpoint_id,
            parent_id=parent,
            row=rows[checkpoint_id],
            messages=message_views(messages),
            raw_messages=tuple(messages_to_dict(messages)),
            values=other_values(values, self.messages_key),
            next_nodes=tuple(state.get("next") or ()),
            metadata=dict(state.get("metadata") or {}),
            pending_writes=(),
            interrupts=interrupt_views(interrupts),
            pending_calls=pending_calls(interrupts),
            diff=message_diff(
                messages_of(before_values, self.messages_key),
                messages,
                _changed(
                    other_values(before_values, self.messages_key),
                    other_values(values, self.messages_key),
                ),
            ),
            children=tuple(tree.children.get(checkpoint_id, ())),
            calls=f"client.threads.get_state({thread_id!r}, checkpoint_id={checkpoint_id!r})",
            subgraphs=self._subgraphs(thread_id, checkpoint_id) if state.get("tasks") else (),
        )

    def _subgraphs(self, thread_id: str, checkpoint_id: str) -> tuple[SubgraphView, ...]:
        """The subgraphs running inside the step after this checkpoint, with their checkpoints."""
        state = self.threads.get_state(thread_id, checkpoint_id=checkpoint_id, subgraphs=True)
        views = []
        for task in state.get("tasks") or ():
            namespace = subgraph_namespace(task)
            if namespace is None:
                continue
            # Only the namespace: the server refuses a null id or map (422).
            where = cast(Checkpoint, {"checkpoint_ns": namespace})
            own = self.threads.get_history(thread_id, limit=PAGE, checkpoint=where)
            views.append(subgraph_view(task, own))
        return tuple(views)


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """The channels whose value differs from the parent checkpoint's, sorted."""
    return tuple(sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)))
