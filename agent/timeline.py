"""Time travel over a thread's checkpoints: the timeline, one checkpoint's detail, and branches.

Everything here reads what LangGraph 1.2 already stores; nothing needs a table of its own.

What a checkpoint tells (measured on LangGraph 1.2.24 with Waypoint's savers):

- metadata: `source` ("input" before a run applies its input, "loop" after each step, "update"
  after `update_state`, "fork" when a run starts from a past checkpoint or `as_node="__copy__"`),
  `step`, `parents`, and every scalar of the run config's `metadata`: so the `waypoint_run` that
  `agent.runs` puts there is on every checkpoint a run writes (not on `update_state` ones).
  LangGraph 1.x no longer stores `writes`, so metadata does not say which node wrote a checkpoint,
  nor what `as_node` an update used; Waypoint's own updates add `waypoint_*` keys (the constants
  below) for that.
  With durability "exit" a run also leaves a bookkeeping row with no `source` (step -2) that holds
  the run's writes.
- the checkpoint: `channel_versions`, `versions_seen` (per node, the trigger versions it last ran
  on), `updated_channels` (channels the step wrote; None on update and fork rows) and
  `channel_values`, which keep a `branch:to:<node>` (or `__start__`) entry while that node is
  triggered and not yet run.
- pending writes, saved on a checkpoint for the step after it: `messages` and `branch:to:*` from
  finished tasks, `__interrupt__` when `action` asked for approval, `__resume__` with the human's
  decisions, `__error__` when a node failed.

The rules derived from that:

- Next node(s): LangGraph's own trigger rule, read off the checkpoint: a node is next when one of
  its trigger channels has a value and a version newer than the one the node last saw. It gives
  `StateSnapshot.next` without building the state (tests/test_timeline.py checks it against
  `get_state_history` on every checkpoint of a forked thread).
- Node(s) that wrote a "loop" checkpoint: the nodes whose `versions_seen` moved since the parent
  checkpoint, i.e. the tasks of the step between them (`__start__` for the step that applies a
  run's input; several with durability "exit", where one checkpoint covers a whole run). That is
  better than "the parent's next node(s)", which is wrong when a row stands for several steps.
  "input" rows are written by the input (`__input__`); "update" rows by the `as_node` Waypoint
  recorded (unknown for foreign updates); "fork" rows are copies, written by no node.
- What a step wrote: the parent's pending writes (a checkpoint's writes belong to the step run from
  it; replays and edits never add writes to a checkpoint they fork from). So a label costs no state
  rebuild, and the timeline lists 1,000 checkpoints without `get_state_history`, which rebuilds
  every state (bench/history.py).

Sibling versions of a message (the chat's `< 2 / 3 >` switcher):

- Two versions of the conversation are siblings at position i when they hold the same messages
  before i (same ids and the same contents) and differ at i: another message there (a regenerated
  answer, a question sent from an earlier point), or the same id with other content (an edited
  message keeps its id). So "same id or same position" are both covered.
- The versions compared are the shown state (the branch head, or the latest checkpoint) and every
  branch tip (checkpoint without children) that does not descend from the shown checkpoint: what
  follows the shown checkpoint is its own future, not an alternative. A tip that only extends or
  repeats the shown conversation is no sibling either.
- Switching to a version shows its newest tip (like ChatGPT, the latest conversation on that
  branch); the shown version keeps the shown checkpoint.
- Versions are numbered by when they first appeared (the first checkpoint on their own path whose
  state holds them), so the numbers do not change with the branch you look from: the original is
  1, each edit or regeneration comes after. Two versions are ordered at their common ancestor: the
  one it already holds is older; if it holds neither, each one's first checkpoint after it is
  found by a short galloping search (once a version is in a path's state it stays there).
- Cost: the state of each branch tip is read (on a cold process, each branch's first read decodes
  the snapshot LangGraph wrote where it forked), plus a few reads per fork; the answer is cached
  until the tree or the branch head changes. A thread that never forked costs one stamp query.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cmp_to_key
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    ToolMessage,
    message_to_dict,
)
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.constants import START
from langgraph.types import StateSnapshot

from agent.approval import DECISION_ACTIONS
from agent.errors import UnknownCheckpoint
from agent.graph import ACTION, LLM, AgentGraph
from agent.message_views import message_view
from agent.stream_events import message_text
from agent.text import call_text, preview
from agent.views import (
    CheckpointDetail,
    CheckpointRow,
    InterruptView,
    MessageChange,
    MessageVersion,
    MessageVersions,
    MessageView,
    PendingWriteView,
    StateDiff,
    TimelinePage,
    ToolCallView,
)

INPUT = "__input__"
NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
RESUME, INTERRUPT, ERROR = "__resume__", "__interrupt__", "__error__"

# Checkpoint metadata Waypoint adds to its own `update_state` calls (scalars only: LangGraph copies
# only str / int / float / bool values of the config's metadata into the checkpoint's).
OP = "waypoint_op"  # edit | cancel_calls | continue | fork_thread | regenerate | resend | ...
SERVER_STOPPED = "server_stopped"  # the op of agent.recovery's checkpoint after a cut run
STOPPED = "stopped"  # the op of the checkpoint agent.recovery writes after your Stop
APPLIED = "waypoint_applied"  # the node whose saved results that checkpoint applied
AS_NODE = "waypoint_as_node"
MESSAGE = "waypoint_message"
POSITION = "waypoint_position"  # 1-based, as the UI numbers messages
PART = "waypoint_part"  # text | tool_args | tool_result
TOOL = "waypoint_tool"
COUNT = "waypoint_count"
SOURCE_THREAD = "waypoint_source_thread"
SOURCE_CHECKPOINT = "waypoint_source_checkpoint"
SOURCE_TITLE = "waypoint_source_title"
RUN = "waypoint_run"  # put there by agent.runs for every checkpoint of a run

# How the user's Stop shows in a stored `__error__` write: the sync engine raises RunCancelled, the
# async engine's task is cancelled (LangGraph stores the exception's repr).
STOP_ERRORS = ("RunCancelled(", "CancelledError(")


def is_stop(error: object) -> bool:
    """Whether a node's stored error is the user's Stop rather than a failure."""
    return str(error).startswith(STOP_ERRORS)


_SKELETON_SQL = (
    "SELECT checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id DESC"
)
_STAMP_SQL = (
    "SELECT COUNT(*), MAX(checkpoint_id) FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = ''"
)
_LATEST_SQL = (
    "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
    "ORDER BY checkpoint_id DESC LIMIT 1"
)
_EXISTS_SQL = (
    "SELECT 1 FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id = ?"
)
_NEWEST_OF_RUN_SQL = (
    "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
    "AND json_extract(CAST(metadata AS TEXT), '$.waypoint_run') = ? "
    "ORDER BY checkpoint_id DESC LIMIT 1"
)
_DECISION_VERBS = {
    "approve": "approved",
    "edit": "edited",
    "mock": "answered",
    "reject": "rejected",
}


# --- small text helpers ---------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def decisions_text(decisions: Mapping[str, Any]) -> str:
    """'you approved 2 calls', 'you approved 1, rejected 1 of 2 calls'."""
    counts = Counter(
        d.get("action") for d in decisions.values() if isinstance(d, Mapping) and d.get("action")
    )
    kinds = [kind for kind in DECISION_ACTIONS if counts.get(kind)]
    total = sum(counts[kind] for kind in kinds)
    if not kinds:
        return "you answered"
    if len(kinds) == 1:
        return f"you {_DECISION_VERBS[kinds[0]]} {_plural(total, 'call')}"
    parts = ", ".join(f"{_DECISION_VERBS[kind]} {counts[kind]}" for kind in kinds)
    return f"you {parts} of {total} calls"


def message_preview(message: BaseMessage) -> str:
    """A message in a few words, for version switchers and write summaries."""
    if isinstance(message, AIMessage) and message.tool_calls and not message_text(message).strip():
        return "asked " + ", ".join(call_text(c["name"], c["args"]) for c in message.tool_calls)
    return preview(message_text(message)) or "(empty)"


def _described(messages: Sequence[BaseMessage], nodes: Sequence[str]) -> list[str]:
    """What a step's messages say, by the node that writes each kind (all kinds when unknown)."""
    every = not nodes
    parts: list[str] = []
    humans = [m for m in messages if isinstance(m, HumanMessage)]
    if humans and (every or START in nodes or INPUT in nodes):
        parts.append(
            "your message was added" if len(humans) == 1 else f"{len(humans)} messages were added"
        )
    if every or LLM in nodes:
        for message in messages:
            if not isinstance(message, AIMessage):
                continue
            if message.tool_calls:
                calls = ", ".join(call_text(c["name"], c["args"]) for c in message.tool_calls)
                parts.append(f"llm asked {calls}")
            else:
                words = len(message_text(message).split())
                parts.append(f"llm answered ({_plural(words, 'word')})")
    results = [m for m in messages if isinstance(m, ToolMessage)]
    if results and (every or ACTION in nodes):
        failed = sum(1 for m in results if m.status == "error")
        text = f"action returned {_plural(len(results), 'result')}"
        parts.append(text + (f" ({failed} not run or failed)" if failed else ""))
    return parts


def _as_messages(value: Any) -> list[BaseMessage]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [item for item in items if isinstance(item, BaseMessage)]


def summarise_write(channel: str, value: Any) -> str:
    """A pending write in a few words."""
    if channel == "messages":
        messages = _as_messages(value)
        return "; ".join(f"{m.type}: {message_preview(m)}" for m in messages) or "no messages"
    if channel == INTERRUPT:
        calls = [
            call
            for interrupt in (value if isinstance(value, (list, tuple)) else [value])
            for call in (getattr(interrupt, "value", None) or {}).get("calls", [])
        ]
        if calls:
            asked = ", ".join(call_text(c["name"], c["args"]) for c in calls)
            return f"asked for approval of {asked}"
        return "asked: " + preview(repr(value), 100)
    if channel == RESUME:
        decisions = _decisions_in(value)
        return decisions_text(decisions) if decisions else "answer: " + preview(repr(value), 100)
    if channel == ERROR:
        return "failed: " + preview(str(value), 200)
    if channel.startswith("branch:to:"):
        return f"{channel.removeprefix('branch:to:')} runs next"
    return preview(repr(value), 100)


def _decisions_in(value: Any) -> dict[str, Any]:
    """The decisions of a `__resume__` write: a dict by call id (or a list holding one)."""
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    if isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values()):
        return dict(value)
    return {}


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data (messages as LangChain's message_to_dict writes them)."""
    if isinstance(value, BaseMessage):
        return jsonable(message_to_dict(value))
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump())
    return repr(value)


# --- message versions -----------------------------------------------------------------------------


def version_key(message: BaseMessage) -> str:
    """What makes two messages the same version: id and content (an edit keeps the id)."""
    calls = message.tool_calls if isinstance(message, AIMessage) else ()
    tool = (message.tool_call_id, message.status) if isinstance(message, ToolMessage) else None
    return json.dumps(
        [
            message.id,
            message.type,
            message.content,
            [[c.get("id"), c.get("name"), c.get("args")] for c in calls],
            tool,
        ],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )


def same_version(a: BaseMessage, b: BaseMessage) -> bool:
    """Same id and same content: what `version_key` compares, without building the keys."""
    if a is b:  # read-back messages are shared between reads of one branch
        return True
    if a.id != b.id or type(a) is not type(b) or a.content != b.content:
        return False
    if isinstance(a, AIMessage) and isinstance(b, AIMessage):
        return [(c.get("id"), c.get("name"), c.get("args")) for c in a.tool_calls] == [
            (c.get("id"), c.get("name"), c.get("args")) for c in b.tool_calls
        ]
    if isinstance(a, ToolMessage) and isinstance(b, ToolMessage):
        return (a.tool_call_id, a.status) == (b.tool_call_id, b.status)
    return True


def divergence(
    a: Sequence[BaseMessage], b: Sequence[BaseMessage], upto: int | None = None
) -> int | None:
    """The first position (below `upto`, if given) where the two conversations hold different
    versions, or None when one is the other's beginning."""
    if upto is not None:
        a, b = a[:upto], b[:upto]
    for position, (left, right) in enumerate(zip(a, b, strict=False)):
        if not same_version(left, right):
            return position
    return None


# --- which node an update is attributed to --------------------------------------------------------


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


# --- the checkpoint tree --------------------------------------------------------------------------


@dataclass
class Skeleton:
    """Every checkpoint of a thread as ids, parents and metadata: one indexed query, no blobs."""

    ids: list[str]  # newest first
    parents: dict[str, str | None]
    metadata: dict[str, dict[str, Any]]
    children: dict[str, list[str]] = field(default_factory=dict)  # oldest first

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str | None, Any]]) -> Skeleton:
        ids: list[str] = []
        parents: dict[str, str | None] = {}
        metadata: dict[str, dict[str, Any]] = {}
        for checkpoint_id, parent_id, raw in rows:
            ids.append(checkpoint_id)
            parents[checkpoint_id] = parent_id
            try:
                metadata[checkpoint_id] = json.loads(raw) if raw else {}
            except (TypeError, ValueError):
                metadata[checkpoint_id] = {}
        children: dict[str, list[str]] = {}
        for checkpoint_id in reversed(ids):
            parent_id = parents[checkpoint_id]
            if parent_id is not None and parent_id in parents:
                children.setdefault(parent_id, []).append(checkpoint_id)
        return cls(ids, parents, metadata, children)

    @property
    def latest(self) -> str | None:
        return self.ids[0] if self.ids else None

    def parent(self, checkpoint_id: str) -> str | None:
        parent_id = self.parents.get(checkpoint_id)
        return parent_id if parent_id in self.parents else None

    def tips(self) -> list[str]:
        """Checkpoints without children, newest first: one per branch."""
        return [c for c in self.ids if not self.children.get(c)]

    def forked(self) -> bool:
        return any(len(kids) > 1 for kids in self.children.values())

    def path(self, checkpoint_id: str) -> list[str]:
        """The root, ..., `checkpoint_id`."""
        path: list[str] = []
        seen: set[str] = set()
        current: str | None = checkpoint_id
        while current is not None and current not in seen:
            path.append(current)
            seen.add(current)
            current = self.parent(current)
        path.reverse()
        return path

    def common_ancestor(self, a: str, b: str) -> str | None:
        """The newest checkpoint on both paths from the root (None if they share none)."""
        on_a = set(self.path(a))
        current: str | None = b
        seen: set[str] = set()
        while current is not None and current not in seen:
            if current in on_a:
                return current
            seen.add(current)
            current = self.parent(current)
        return None

    def subtree(self, checkpoint_id: str) -> set[str]:
        found, stack = {checkpoint_id}, [checkpoint_id]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def branches(self, head: str | None) -> tuple[dict[str, int], list[str]]:
        """Each checkpoint's branch number, and each branch's tip.

        Branch 0 runs from the root to the newest tip at or after `head` (the branch the chat
        shows); the others follow, newest tip first, each taking the ancestors no earlier branch
        took, so a row's branch is the lane a tree drawing puts it in.
        """
        tips = self.tips()
        if head is not None and head in self.parents:
            ahead = self.subtree(head)
            shown = next((tip for tip in tips if tip in ahead), head)
            tips = [shown, *(tip for tip in tips if tip != shown)]
        lanes: dict[str, int] = {}
        for number, tip in enumerate(tips):
            current: str | None = tip
            while current is not None and current not in lanes:
                lanes[current] = number
                current = self.parent(current)
        return lanes, tips

    def run_numbers(self) -> dict[str, int]:
        numbers: dict[str, int] = {}
        for checkpoint_id in reversed(self.ids):
            run_id = self.metadata[checkpoint_id].get(RUN)
            if run_id and run_id not in numbers:
                numbers[run_id] = len(numbers) + 1
        return numbers


def bisect_path(path: Sequence[str], holds: Callable[[str], bool]) -> str | None:
    """The first checkpoint of `path` for which `holds` is true, given that once true it stays
    true to the end of the path (so the last one must hold); None when the last does not."""
    if not path or not holds(path[-1]):
        return None
    low, high = 0, len(path) - 1
    while low < high:
        middle = (low + high) // 2
        if holds(path[middle]):
            high = middle
        else:
            low = middle + 1
    return path[low]


# --- the timeline ---------------------------------------------------------------------------------


def config_at(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """The config that addresses a checkpoint (the thread's latest without an id)."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _timestamp(checkpoint: Mapping[str, Any]) -> float:
    try:
        return datetime.fromisoformat(checkpoint["ts"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return 0.0


def _newer(version: Any, seen: Any) -> bool:
    if version is None:
        return False
    if seen is None:
        return True
    try:
        return version > seen
    except TypeError:  # a thread that mixes string and integer versions
        return str(version) > str(seen)


class Timeline:
    """Reads a thread's history for the inspector and the chat's branch switcher.

    It reads through the sync saver (both engines write the same rows), and never rebuilds states
    it does not show: the page's rows come from `checkpointer.list` and their parents' pending
    writes; states are read only for a checkpoint's detail and for sibling versions.
    """

    MESSAGE_CACHE = 256
    SKELETON_CACHE = 32
    VIEW_CACHE = 5_000  # a long thread's messages, a few times over

    def __init__(
        self,
        graph: AgentGraph,
        saver: BaseCheckpointSaver,
        calls_of: Callable[[StateSnapshot], tuple[ToolCallView, ...]],
    ):
        self.graph = graph
        self.saver = saver
        self.calls_of = calls_of
        self.triggers = {name: tuple(node.triggers) for name, node in graph.nodes.items()}
        self.node_order = list(graph.nodes)
        self._lock = threading.Lock()
        self._messages: OrderedDict[tuple[str, str], list[BaseMessage]] = OrderedDict()
        self._versions: dict[str, tuple[tuple, tuple[MessageVersions, ...]]] = {}
        self._skeletons: dict[str, tuple[tuple, Skeleton]] = {}
        # Message object -> (the object, its view, its JSON): read-back messages are shared
        # between reads, so a checkpoint's detail converts only what it has not seen. Holding
        # the object keeps its id from being reused while the entry lives.
        self._views: OrderedDict[int, tuple[BaseMessage, MessageView, dict[str, Any]]] = (
            OrderedDict()
        )

    # --- reading ---------------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self.saver.cursor(transaction=False) as cur:  # type: ignore[attr-defined]
            return cur.execute(sql, params).fetchall()

    def skeleton(self, thread_id: str) -> Skeleton:
        """The thread's tree. Rows are never changed once written, only added (or the thread
        deleted), so a count and the newest id say whether the one read last is still whole."""
        stamp = tuple(self._query(_STAMP_SQL, (thread_id,))[0])
        with self._lock:
            cached = self._skeletons.get(thread_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        skeleton = Skeleton.from_rows(self._query(_SKELETON_SQL, (thread_id,)))
        with self._lock:
            self._skeletons[thread_id] = (stamp, skeleton)
            while len(self._skeletons) > self.SKELETON_CACHE:
                self._skeletons.pop(next(iter(self._skeletons)))
        return skeleton

    def latest_id(self, thread_id: str) -> str | None:
        rows = self._query(_LATEST_SQL, (thread_id,))
        return rows[0][0] if rows else None

    def exists(self, thread_id: str, checkpoint_id: str) -> bool:
        return bool(self._query(_EXISTS_SQL, (thread_id, checkpoint_id)))

    def newest_of_run(self, thread_id: str, run_id: str) -> str | None:
        """The newest checkpoint a run wrote (its config metadata is on each one), or None."""
        rows = self._query(_NEWEST_OF_RUN_SQL, (thread_id, run_id))
        return rows[0][0] if rows else None

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
        order = {name: index for index, name in enumerate(self.node_order)}
        return tuple(sorted(ran, key=lambda name: (order.get(name, len(order)), name)))

    # --- timeline rows ---------------------------------------------------------------------------

    def page(
        self, thread_id: str, head_id: str | None, limit: int = 50, offset: int = 0
    ) -> TimelinePage:
        """Newest first. One skeleton query for the count and the tree, one `list` for the page,
        and a `get_tuple` for each parent outside the page (usually one)."""
        limit, offset = max(1, limit), max(0, offset)
        skeleton = self.skeleton(thread_id)
        head = head_id if head_id in skeleton.parents else skeleton.latest
        ids = skeleton.ids[offset : offset + limit]
        tuples: dict[str, CheckpointTuple] = {}
        if ids:
            before = config_at(thread_id, skeleton.ids[offset - 1]) if offset else None
            for found in self.saver.list(config_at(thread_id), before=before, limit=len(ids)):
                tuples[found.config["configurable"]["checkpoint_id"]] = found
        rows = self._rows(thread_id, skeleton, head, ids, tuples)
        return TimelinePage(
            thread_id=thread_id,
            rows=rows,
            total=len(skeleton.ids),
            offset=offset,
            limit=limit,
            head_id=head,
            latest_id=skeleton.latest,
            branches=len(skeleton.tips()),
        )

    def _rows(
        self,
        thread_id: str,
        skeleton: Skeleton,
        head: str | None,
        ids: Sequence[str],
        tuples: dict[str, CheckpointTuple],
    ) -> tuple[CheckpointRow, ...]:
        lanes, tips = skeleton.branches(head)
        shown = set(skeleton.path(head)) if head else set()
        runs = skeleton.run_numbers()
        for checkpoint_id in ids:  # parents of loop rows: their writes say what the step did
            parent_id = skeleton.parent(checkpoint_id)
            loop = skeleton.metadata[checkpoint_id].get("source") == "loop"
            if loop and parent_id and parent_id not in tuples:
                tuples[parent_id] = self.tuple_of(thread_id, parent_id)
        rows = []
        for checkpoint_id in ids:
            found = tuples.get(checkpoint_id) or self.tuple_of(thread_id, checkpoint_id)
            parent_id = skeleton.parent(checkpoint_id)
            rows.append(
                self._row(
                    skeleton,
                    found,
                    tuples.get(parent_id) if parent_id else None,
                    lanes=lanes,
                    tips=tips,
                    shown=shown,
                    head=head,
                    runs=runs,
                )
            )
        return tuple(rows)

    def _row(
        self,
        skeleton: Skeleton,
        found: CheckpointTuple,
        parent: CheckpointTuple | None,
        *,
        lanes: dict[str, int],
        tips: list[str],
        shown: set[str],
        head: str | None,
        runs: dict[str, int],
    ) -> CheckpointRow:
        checkpoint_id = found.config["configurable"]["checkpoint_id"]
        metadata = found.metadata or {}
        source = str(metadata.get("source") or "")
        writes = found.pending_writes or []
        written_by, label = self._what_happened(skeleton, found, parent)
        errors = [value for _, channel, value in writes if channel == ERROR]
        stopped = bool(errors) and is_stop(errors[-1]) or metadata.get(OP) == STOPPED
        halted = any(channel == INTERRUPT for _, channel, _ in writes)
        if halted:
            label += " (asked for approval)"
        if stopped:
            label += " (you stopped the next step)"
            errors = []
        lane = lanes.get(checkpoint_id, 0)
        run = metadata.get(RUN)
        run_id = run if isinstance(run, str) else None
        return CheckpointRow(
            checkpoint_id=checkpoint_id,
            parent_id=skeleton.parent(checkpoint_id),
            step=int(metadata.get("step", 0)),
            source=source,
            written_by=written_by,
            next_nodes=self.next_nodes(found.checkpoint),
            created_at=_timestamp(found.checkpoint),
            label=label,
            run_id=run_id,
            run_number=runs.get(run_id) if run_id else None,
            children=len(skeleton.children.get(checkpoint_id, ())),
            branch=lane,
            branch_tip=tips[lane] if lane < len(tips) else checkpoint_id,
            on_shown_branch=checkpoint_id in shown,
            is_head=checkpoint_id == head,
            is_latest=checkpoint_id == skeleton.latest,
            halted=halted,
            stopped=stopped,
            error=preview(str(errors[-1]), 200) if errors else None,
        )

    def _what_happened(
        self, skeleton: Skeleton, found: CheckpointTuple, parent: CheckpointTuple | None
    ) -> tuple[tuple[str, ...], str]:
        """(node(s) that wrote the checkpoint, a short human label)."""
        metadata = found.metadata or {}
        source = metadata.get("source")
        checkpoint = found.checkpoint
        if source == "input":
            started = (checkpoint.get("channel_values") or {}).get(START) or {}
            given = started.get("messages", []) if isinstance(started, Mapping) else []
            messages = _as_messages(given)
            humans = [m for m in messages if isinstance(m, HumanMessage)]
            if len(humans) == 1:
                return (INPUT,), f"you asked “{preview(message_text(humans[0]))}”"
            return (INPUT,), f"new input ({_plural(len(messages), 'message')})"
        if source == "loop":
            nodes = self.ran_between(parent.checkpoint if parent else None, checkpoint)
            writes = (parent.pending_writes or []) if parent else []
            messages = [
                m
                for _, channel, value in writes
                if channel == "messages"
                for m in _as_messages(value)
            ]
            parts = _described(messages, nodes)
            if ACTION in nodes:
                answers = [(task, v) for task, channel, v in writes if channel == RESUME]
                # The run's answer is written for the null task (and again per task, in a list).
                resumes = [v for task, v in answers if task == NULL_TASK_ID]
                resumes = resumes or [v for _, v in answers]
                decisions = _decisions_in(resumes[0]) if resumes else {}
                if decisions:
                    parts.insert(0, decisions_text(decisions))
            if not parts:
                parts = [f"{' and '.join(nodes)} ran" if nodes else "a step ran"]
            return nodes, "; ".join(parts)
        if source == "update":
            return self._update_label(metadata)
        if source == "fork":
            parent_id = skeleton.parent(found.config["configurable"]["checkpoint_id"])
            if parent_id is None:
                return (), "copy of a checkpoint"
            return (), f"replay from step {skeleton.metadata[parent_id].get('step', '?')}"
        return (), "the run's steps, saved when it ended (durability exit)"

    @staticmethod
    def _update_label(metadata: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
        op = metadata.get(OP)
        as_node = metadata.get(AS_NODE)
        nodes = (str(as_node),) if as_node else ()
        position = metadata.get(POSITION, "?")
        tool = metadata.get(TOOL) or "the tool"
        count = int(metadata.get(COUNT) or 0)
        if op == "edit":
            part = metadata.get(PART)
            if part == "tool_args":
                return nodes, f"you changed the arguments of {tool} (message {position})"
            if part == "tool_result":
                return nodes, f"you rewrote the result of {tool} (message {position})"
            return nodes, f"you edited message {position}"
        if op == "resend":
            return nodes, f"you edited message {position} to send it again"
        if op == "regenerate":
            return nodes, f"you asked for a new answer (message {position} on removed)"
        if op == "cancel_calls":
            return nodes, f"you wrote instead of deciding: {_plural(count, 'call')} cancelled"
        if op == "continue":
            return nodes, "you continued from this point"
        if op == STOPPED:
            return nodes, "you stopped the run here"
        if op == SERVER_STOPPED:
            if metadata.get(TOOL):
                return nodes, f"the server stopped while {metadata[TOOL]} ran: it is asked again"
            if metadata.get(APPLIED):
                return nodes, f"the server stopped; the saved results of {metadata[APPLIED]} kept"
            return nodes, "the server stopped during a run"
        if op == "fork_thread":
            title = metadata.get(SOURCE_TITLE) or "another thread"
            return nodes, f"forked from “{preview(title, 50)}”"
        return nodes, f"state updated as {as_node}" if as_node else "state updated"

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
        versions = found.checkpoint.get("channel_versions", {})
        channels = tuple(
            sorted(
                name
                for name in set(versions) | set(parent_versions)
                if name != "messages" and versions.get(name) != parent_versions.get(name)
            )
        )
        converted = self._converted(messages)
        interrupts = tuple(
            InterruptView(
                id=interrupt.id,
                value=jsonable(interrupt.value),
                calls=tuple(
                    ToolCallView(id=c["id"], name=c["name"], args=dict(c["args"]))
                    for c in (interrupt.value or {}).get("calls", [])
                )
                if isinstance(interrupt.value, Mapping)
                else (),
            )
            for interrupt in snapshot.interrupts
        )
        return CheckpointDetail(
            thread_id=thread_id,
            checkpoint_id=checkpoint_id,
            parent_id=parent_id,
            row=row,
            messages=tuple(view for view, _ in converted),
            raw_messages=tuple(raw for _, raw in converted),
            values={k: jsonable(v) for k, v in snapshot.values.items() if k != "messages"},
            next_nodes=tuple(snapshot.next),
            metadata=jsonable(dict(found.metadata or {})),
            pending_writes=tuple(
                PendingWriteView(task_id=task, channel=channel, summary=summarise_write(channel, v))
                for task, channel, v in found.pending_writes or []
            ),
            interrupts=interrupts,
            pending_calls=self.calls_of(snapshot),
            diff=message_diff(before, messages, channels),
            children=tuple(skeleton.children.get(checkpoint_id, ())),
        )

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
        """The sibling versions of each shown message that has any (the rule: module docstring)."""
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
        result = self._compute_versions(thread_id, skeleton, head)
        with self._lock:
            self._versions[thread_id] = (stamp, result)
        return result

    def _compute_versions(
        self, thread_id: str, skeleton: Skeleton, head: str
    ) -> tuple[MessageVersions, ...]:
        shown = self.messages_at(thread_id, head, skeleton)
        future = skeleton.subtree(head)
        # position -> version key -> tips holding it, newest first
        found: dict[int, dict[str, list[str]]] = {}
        for tip in skeleton.tips():
            if tip in future:
                continue
            messages = self.messages_at(thread_id, tip, skeleton)
            position = divergence(shown, messages)
            if position is None or position >= len(shown) or position >= len(messages):
                continue
            holders = found.setdefault(position, {})
            holders.setdefault(version_key(messages[position]), []).append(tip)
        result = []
        for position in sorted(found):
            targets = {version_key(shown[position]): head}
            for key, tips_of in found[position].items():
                targets.setdefault(key, tips_of[0])
            births: dict[tuple[str, str], str] = {}

            def older(
                a: str, b: str, position: int = position, targets=targets, births=births
            ) -> int:
                return self._older(thread_id, skeleton, targets[a], targets[b], position, births)

            ordered = sorted(targets, key=cmp_to_key(older))
            versions = []
            for key in ordered:
                message = self.messages_at(thread_id, targets[key], skeleton)[position]
                versions.append(
                    MessageVersion(
                        checkpoint_id=targets[key],
                        message_id=message.id or "",
                        preview=message_preview(message),
                    )
                )
            result.append(
                MessageVersions(
                    message_id=shown[position].id or "",
                    position=position,
                    index=ordered.index(version_key(shown[position])),
                    versions=tuple(versions),
                )
            )
        return tuple(result)

    def _holds(
        self, thread_id: str, skeleton: Skeleton, checkpoint_id: str, wanted: Sequence[BaseMessage]
    ) -> bool:
        """Whether the state at a checkpoint begins with `wanted` (same versions)."""
        messages = self.messages_at(thread_id, checkpoint_id, skeleton)
        return len(messages) >= len(wanted) and divergence(messages, wanted, len(wanted)) is None

    def _older(
        self,
        thread_id: str,
        skeleton: Skeleton,
        a: str,
        b: str,
        position: int,
        births: dict[tuple[str, str], str],
    ) -> int:
        """-1 when the version at `position` that `a` holds appeared before the one `b` holds.

        Their common ancestor settles most pairs with one read: a version it already holds is the
        older one (the other appeared after the fork). Otherwise both appeared after it, and each
        one's first checkpoint is searched from there (usually a step or two).
        """
        fork = skeleton.common_ancestor(a, b)
        wanted_a = self.messages_at(thread_id, a, skeleton)[: position + 1]
        wanted_b = self.messages_at(thread_id, b, skeleton)[: position + 1]
        if fork is not None:
            if self._holds(thread_id, skeleton, fork, wanted_a):
                return -1
            if self._holds(thread_id, skeleton, fork, wanted_b):
                return 1
        first_a = self._first_after(thread_id, skeleton, a, fork, wanted_a, births)
        first_b = self._first_after(thread_id, skeleton, b, fork, wanted_b, births)
        return -1 if first_a < first_b else 1 if first_b < first_a else 0

    def _first_after(
        self,
        thread_id: str,
        skeleton: Skeleton,
        target: str,
        after: str | None,
        wanted: Sequence[BaseMessage],
        births: dict[tuple[str, str], str],
    ) -> str:
        """The first checkpoint after `after` on `target`'s path that holds `wanted`: a galloping
        search (1, 2, 4, ... steps) then bisection, since once held it stays held."""
        memo = (target, after or "")
        if memo in births:
            return births[memo]
        path = skeleton.path(target)
        segment = path[path.index(after) + 1 :] if after in path else path
        if not segment:
            return target
        low, probe, stride = -1, 0, 1

        def holds(checkpoint_id: str) -> bool:
            return self._holds(thread_id, skeleton, checkpoint_id, wanted)

        while probe < len(segment) - 1 and not holds(segment[probe]):
            low, probe, stride = probe, min(probe + stride, len(segment) - 1), stride * 2
        found = bisect_path(segment[low + 1 : probe + 1], holds) or target
        births[memo] = found
        return found


def message_diff(
    before: Sequence[BaseMessage], after: Sequence[BaseMessage], channels: tuple[str, ...] = ()
) -> StateDiff:
    """Messages added, changed and removed (by id) from `before` to `after`."""
    old = {m.id: m for m in before}
    new_ids = {m.id for m in after}
    added: list[MessageView] = []
    changed: list[MessageChange] = []
    for message in after:
        previous = old.get(message.id)
        if previous is None:
            added.append(message_view(message))
        elif not same_version(previous, message):
            changed.append(
                MessageChange(before=message_view(previous), after=message_view(message))
            )
    removed = tuple(message_view(m) for m in before if m.id not in new_ids)
    return StateDiff(added=tuple(added), changed=tuple(changed), removed=removed, channels=channels)
