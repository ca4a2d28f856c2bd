"""`Timeline`: the pure algorithms of this package over one thread's stored checkpoints.

It reads through a saver's public API (`get_tuple`, `list`; both engines write the same rows),
the graph's `get_state`, and a `CheckpointStore` for what that API lacks (the tree's rows, cheap
existence checks). It never rebuilds states it does not show: a page's rows come from `list` and
their parents' pending writes; states are read only for a checkpoint's detail and for sibling
versions. What it reads is cached, keyed so that a new checkpoint is never missed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.constants import START
from langgraph.types import StateSnapshot

from agent.call_text import checkpoint_calls
from agent.checkpoint_store import CheckpointStore
from agent.errors import UnknownCheckpoint
from agent.graph import AnyGraph
from agent.interrupts import interrupt_views
from agent.jsonable import jsonable
from agent.message_views import message_view
from agent.timeline.diff import changed_channels, message_diff
from agent.timeline.keys import AS_NODE, INPUT, RUN
from agent.timeline.nodes import GraphShape
from agent.timeline.rows import checkpoint_row
from agent.timeline.subgraphs import subgraph_detail, subgraph_views
from agent.timeline.text import pending_write_views
from agent.timeline.tree import Skeleton, TreeLayout, bisect_path
from agent.timeline.versions import sibling_versions
from agent.views import (
    CheckpointDetail,
    CheckpointRow,
    MessageVersions,
    MessageView,
    SubgraphView,
    TimelinePage,
    ToolCallView,
)


def config_at(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """The config that addresses a checkpoint (the thread's latest without an id)."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


class Timeline:
    """Reads a thread's history for the inspector and the chat's branch switcher.

    >>> history = Timeline(graph, saver, SqliteCheckpointStore.for_graph(graph), pending_calls)
    >>> history.page("thread-1", head_id=None, limit=50).rows
    """

    FILTER_CHUNK = 200  # rows read at a time when the timeline is filtered by node
    MESSAGE_CACHE = 256
    SKELETON_CACHE = 32
    VIEW_CACHE = 5_000  # a long thread's messages, a few times over

    def __init__(
        self,
        graph: AnyGraph,
        saver: BaseCheckpointSaver,
        store: CheckpointStore,
        calls_of: Callable[[StateSnapshot], tuple[ToolCallView, ...]],
    ):
        self.graph = graph
        self.saver = saver
        self.store = store
        self.calls_of = calls_of
        self.shape = GraphShape.of(graph)
        self.subgraph_nodes = frozenset(name for name, _ in graph.get_subgraphs())
        self._lock = threading.Lock()
        self._messages: OrderedDict[tuple[str, str], list[BaseMessage]] = OrderedDict()
        self._versions: dict[str, tuple[tuple, tuple[MessageVersions, ...]]] = {}
        self._skeletons: dict[str, tuple[Hashable, Skeleton]] = {}
        self._writers: OrderedDict[str, dict[str, tuple[str, ...]]] = OrderedDict()
        # Message object -> (the object, its view, its JSON): read-back messages are shared
        # between reads, so a checkpoint's detail converts only what it has not seen. Holding
        # the object keeps its id from being reused while the entry lives.
        self._views: OrderedDict[int, tuple[BaseMessage, MessageView, dict[str, Any]]] = (
            OrderedDict()
        )

    # --- reading ---------------------------------------------------------------------------------

    def skeleton(self, thread_id: str) -> Skeleton:
        """The thread's tree, read again only when the store's `stamp` of the thread changed
        (rows are never changed once written, only added, or the thread deleted)."""
        stamp = self.store.stamp(thread_id)
        with self._lock:
            cached = self._skeletons.get(thread_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        skeleton = Skeleton.from_rows(self.store.skeleton_rows(thread_id))
        with self._lock:
            self._skeletons[thread_id] = (stamp, skeleton)
            while len(self._skeletons) > self.SKELETON_CACHE:
                self._skeletons.pop(next(iter(self._skeletons)))
        return skeleton

    def latest_id(self, thread_id: str) -> str | None:
        return self.store.latest_id(thread_id)

    def exists(self, thread_id: str, checkpoint_id: str) -> bool:
        return self.store.exists(thread_id, checkpoint_id)

    def newest_of_run(self, thread_id: str, run_id: str) -> str | None:
        """The newest checkpoint a run wrote (its config metadata is on each one), or None."""
        return self.store.newest_of_run(thread_id, run_id)

    def tuple_of(self, thread_id: str, checkpoint_id: str) -> CheckpointTuple:
        found = self.saver.get_tuple(config_at(thread_id, checkpoint_id))
        if found is None:
            raise UnknownCheckpoint(thread_id, checkpoint_id)
        return found

    def snapshot(self, thread_id: str, checkpoint_id: str) -> StateSnapshot:
        snapshot = self.graph.get_state(config_at(thread_id, checkpoint_id))
        if snapshot.metadata is None:
            raise UnknownCheckpoint(thread_id, checkpoint_id)
        return snapshot

    def messages_at(
        self, thread_id: str, checkpoint_id: str, skeleton: Skeleton | None = None
    ) -> list[BaseMessage]:
        """The messages at a checkpoint. Shared with other reads: never change them in place.

        With the skeleton, a "fork" a Waypoint run wrote (it carries `waypoint_run`) is read as
        its parent: LangGraph writes such a fork as a copy of the checkpoint the run started
        from, with the whole conversation in it, so this skips decoding that copy.
        """
        if skeleton is not None:
            metadata = skeleton.metadata.get(checkpoint_id) or {}
            parent = skeleton.parent(checkpoint_id)
            if metadata.get("source") == "fork" and metadata.get(RUN) and parent is not None:
                return self.messages_at(thread_id, parent, skeleton)
        key = (thread_id, checkpoint_id)
        with self._lock:
            if (cached := self._messages.get(key)) is not None:
                self._messages.move_to_end(key)
                return cached
        messages = list(self.snapshot(thread_id, checkpoint_id).values.get("messages", []))
        with self._lock:
            self._messages[key] = messages
            while len(self._messages) > self.MESSAGE_CACHE:
                self._messages.popitem(last=False)
        return messages

    def next_nodes(self, checkpoint: Mapping[str, Any]) -> tuple[str, ...]:
        """What runs next from a stored checkpoint (`GraphShape.next_nodes`)."""
        return self.shape.next_nodes(checkpoint)

    # --- timeline rows ---------------------------------------------------------------------------

    def page(
        self,
        thread_id: str,
        head_id: str | None,
        limit: int = 50,
        offset: int = 0,
        written_by: str | None = None,
    ) -> TimelinePage:
        """Newest first. One skeleton query for the count and the tree, one `list` for the page,
        and a `get_tuple` for each parent outside the page (usually one).

        With `written_by`, only the rows that node wrote (`written_by` of the row; `__start__`
        also takes the input rows, which the run's input wrote just before it): which node wrote
        a step is in the stored checkpoints, not in their metadata, so this reads the rows of
        the whole thread, a chunk at a time."""
        limit, offset = max(1, limit), max(0, offset)
        skeleton = self.skeleton(thread_id)
        head = head_id if head_id in skeleton.parents else skeleton.latest
        if written_by is None:
            rows = self._chunk(thread_id, skeleton, head, offset, limit)
            total = len(skeleton.ids)
        else:
            writers = {written_by, INPUT} if written_by == START else {written_by}
            known = self._writers_of(thread_id, skeleton, head)
            matching = [c for c in skeleton.ids if writers.intersection(known[c])]
            rows = self._rows(thread_id, skeleton, head, matching[offset : offset + limit], {})
            total = len(matching)
        return TimelinePage(
            thread_id=thread_id,
            rows=rows,
            total=total,
            offset=offset,
            limit=limit,
            head_id=head,
            latest_id=skeleton.latest,
            branches=len(skeleton.tips()),
            written_by=written_by,
            subgraphs=self._page_subgraphs(thread_id, rows),
        )

    def _writers_of(
        self, thread_id: str, skeleton: Skeleton, head: str | None
    ) -> dict[str, tuple[str, ...]]:
        """Which node(s) wrote each checkpoint of the thread. A checkpoint never changes once
        written, so what was read is kept (for the threads used last); only new ones are read,
        a chunk of rows at a time."""
        with self._lock:
            known = self._writers.setdefault(thread_id, {})
            self._writers.move_to_end(thread_id)
            while len(self._writers) > self.SKELETON_CACHE:
                self._writers.popitem(last=False)
        missing = [index for index, c in enumerate(skeleton.ids) if c not in known]
        start = 0
        for index in missing:
            if index < start:
                continue
            for row in self._chunk(thread_id, skeleton, head, index, self.FILTER_CHUNK):
                known[row.checkpoint_id] = row.written_by
            start = index + self.FILTER_CHUNK
        return known

    def _chunk(
        self, thread_id: str, skeleton: Skeleton, head: str | None, offset: int, limit: int
    ) -> tuple[CheckpointRow, ...]:
        """The rows `offset` to `offset + limit` of the thread, newest first: one `list` call."""
        ids = skeleton.ids[offset : offset + limit]
        tuples: dict[str, CheckpointTuple] = {}
        if ids:
            before = config_at(thread_id, skeleton.ids[offset - 1]) if offset else None
            for found in self.saver.list(config_at(thread_id), before=before, limit=len(ids)):
                tuples[found.config["configurable"]["checkpoint_id"]] = found
        return self._rows(thread_id, skeleton, head, ids, tuples)

    def _rows(
        self,
        thread_id: str,
        skeleton: Skeleton,
        head: str | None,
        ids: Sequence[str],
        tuples: dict[str, CheckpointTuple],
    ) -> tuple[CheckpointRow, ...]:
        layout = TreeLayout.of(skeleton, head)
        for checkpoint_id in ids:  # parents of loop rows: their writes say what the step did
            parent_id = skeleton.parent(checkpoint_id)
            loop = skeleton.metadata[checkpoint_id].get("source") == "loop"
            if loop and parent_id and parent_id not in tuples:
                tuples[parent_id] = self.tuple_of(thread_id, parent_id)
        rows = []
        for checkpoint_id in ids:
            found = tuples.get(checkpoint_id) or self.tuple_of(thread_id, checkpoint_id)
            parent_id = skeleton.parent(checkpoint_id)
            parent = tuples.get(parent_id) if parent_id else None
            rows.append(checkpoint_row(layout, self.shape, found, parent))
        return tuple(rows)

    # --- one checkpoint --------------------------------------------------------------------------

    def detail(self, thread_id: str, checkpoint_id: str, head_id: str | None) -> CheckpointDetail:
        skeleton = self.skeleton(thread_id)
        if checkpoint_id not in skeleton.parents:
            raise UnknownCheckpoint(thread_id, checkpoint_id)
        head = head_id if head_id in skeleton.parents else skeleton.latest
        found = self.tuple_of(thread_id, checkpoint_id)
        parent_id = skeleton.parent(checkpoint_id)
        tuples = {checkpoint_id: found}
        row = self._rows(thread_id, skeleton, head, [checkpoint_id], tuples)[0]
        snapshot = self.snapshot(thread_id, checkpoint_id)
        messages = list(snapshot.values.get("messages", []))
        before = self.messages_at(thread_id, parent_id) if parent_id else []
        parent_versions = (
            (tuples.get(parent_id) or self.tuple_of(thread_id, parent_id)).checkpoint.get(
                "channel_versions", {}
            )
            if parent_id
            else {}
        )
        channels = changed_channels(found.checkpoint.get("channel_versions", {}), parent_versions)
        converted = self._converted(messages)
        diff = message_diff(before, messages, channels)
        metadata = dict(found.metadata or {})
        as_node = metadata.get(AS_NODE)
        edited_ids = {m.id for m in diff.added} | {c.after.id for c in diff.changed}
        return CheckpointDetail(
            thread_id=thread_id,
            checkpoint_id=checkpoint_id,
            parent_id=parent_id,
            row=row,
            messages=tuple(view for view, _ in converted),
            raw_messages=tuple(raw for _, raw in converted),
            values={k: jsonable(v) for k, v in snapshot.values.items() if k != "messages"},
            next_nodes=tuple(snapshot.next),
            metadata=jsonable(metadata),
            pending_writes=pending_write_views(found.pending_writes),
            interrupts=interrupt_views(snapshot.interrupts),
            subgraphs=self._subgraphs(snapshot),
            pending_calls=self.calls_of(snapshot),
            diff=diff,
            children=tuple(skeleton.children.get(checkpoint_id, ())),
            calls=checkpoint_calls(
                thread_id,
                checkpoint_id,
                parent_id,
                as_node
                if metadata.get("source") == "update" and isinstance(as_node, str)
                else None,
                [m for m in messages if m.id in edited_ids],
            ),
        )

    def _subgraphs(self, snapshot: StateSnapshot) -> tuple[SubgraphView, ...]:
        return subgraph_views(self.graph, self.saver, snapshot)

    def _page_subgraphs(
        self, thread_id: str, rows: Sequence[CheckpointRow]
    ) -> dict[str, tuple[SubgraphView, ...]]:
        """The subgraphs each row's next step ran, for the rows whose next step runs one."""
        found = {}
        for row in rows:
            if not self.subgraph_nodes.intersection(row.next_nodes):
                continue
            if views := self._subgraphs(self.snapshot(thread_id, row.checkpoint_id)):
                found[row.checkpoint_id] = views
        return found

    def subgraph_detail(
        self, thread_id: str, namespace: str, checkpoint_id: str
    ) -> CheckpointDetail:
        return subgraph_detail(self.graph, self.saver, thread_id, namespace, checkpoint_id)

    def _converted(
        self, messages: Sequence[BaseMessage]
    ) -> list[tuple[MessageView, dict[str, Any]]]:
        """Each message's view and JSON form, converted once per message object."""
        out = []
        with self._lock:
            for message in messages:
                entry = self._views.get(id(message))
                if entry is None or entry[0] is not message:
                    raw = {"type": message.type, "data": message.model_dump(mode="json")}
                    entry = (message, message_view(message), raw)
                    self._views[id(message)] = entry
                else:
                    self._views.move_to_end(id(message))
                out.append(entry[1:])
            while len(self._views) > self.VIEW_CACHE:
                self._views.popitem(last=False)
        return out

    # --- branches --------------------------------------------------------------------------------

    def first_holding(
        self,
        thread_id: str,
        skeleton: Skeleton,
        head: str,
        holds: Callable[[list[BaseMessage]], bool],
    ) -> str | None:
        """The first checkpoint on the head's path whose messages satisfy `holds` (bisection)."""
        return bisect_path(
            skeleton.path(head), lambda c: holds(self.messages_at(thread_id, c, skeleton))
        )

    def versions(self, thread_id: str, head_id: str | None) -> tuple[MessageVersions, ...]:
        """The sibling versions of each shown message that has any (`agent.timeline.versions`)."""
        skeleton = self.skeleton(thread_id)
        if not skeleton.forked():
            return ()
        head = head_id if head_id in skeleton.parents else skeleton.latest
        assert head is not None
        stamp = (head, len(skeleton.ids), skeleton.latest)
        with self._lock:
            cached = self._versions.get(thread_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        result = sibling_versions(
            skeleton,
            head,
            lambda checkpoint_id: self.messages_at(thread_id, checkpoint_id, skeleton),
        )
        with self._lock:
            self._versions[thread_id] = (stamp, result)
        return result
