"""Plain-data views of threads and conversation state, for pages that must not hold engine objects.

The UI renders these; a future remote backend (LangGraph Agent Server) will build the same views
from the SDK's JSON, so nothing above `agent/` depends on how the engine stores messages. This
module imports nothing of LangChain, LangGraph or SQLite (tests/test_boundary.py holds it to that):
`agent.message_views` builds these from LangChain messages, `agent.threads` stores the rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["human", "ai", "tool", "system"]
ThreadStatus = Literal["idle", "running", "waiting", "error"]


@dataclass(frozen=True)
class ThreadInfo:
    """One row of the thread index, as plain data for the UI."""

    id: str
    title: str
    created_at: float
    updated_at: float
    message_count: int
    status: ThreadStatus
    branch_head: str | None = None
    owner: str = "local"
    forked_from: str | None = None
    forked_at_checkpoint: str | None = None
    # Tools the owner chose to "always allow in this thread" from an approval card.
    allowed_tools: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunHandle:
    """A run just started: read its events, its status or stop it by `id` (see `Backend`)."""

    id: str
    thread_id: str


@dataclass(frozen=True)
class ToolCallView:
    id: str
    name: str
    args: dict[str, Any]
    # The decisions this call allows (approve, edit, mock, reject): empty for all of them (the
    # built-in agent); a LangChain HITL request says per tool (`agent.interrupts`).
    allowed: tuple[str, ...] = ()
    # The interrupt that asks about it, for a HITL request (its decisions go back by that id).
    interrupt_id: str | None = None
    description: str = ""

    @property
    def args_json(self) -> str:
        return json.dumps(self.args, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class SearchHit:
    """One `web_search` result, each field on one line and capped as the tool caps it."""

    title: str
    source: str
    snippet: str

    @property
    def is_link(self) -> bool:
        return self.source.startswith(("http://", "https://"))


@dataclass(frozen=True)
class SearchResults:
    """A tool result read as `web_search` output: the first hits, and how many there were."""

    hits: tuple[SearchHit, ...]
    total: int

    @property
    def omitted(self) -> int:
        return self.total - len(self.hits)


@dataclass(frozen=True)
class MessageView:
    """One message as the transcript shows it; `search` is set on a tool result that is search
    output (the transcript lists it as links), None otherwise."""

    id: str
    role: Role
    text: str
    tool_calls: tuple[ToolCallView, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    search: SearchResults | None = None
    by_human: bool = False  # a tool result a person wrote ("Answer instead"): the tool never ran
    # Why a tool result is not the tool's output (`agent.approval.result_outcome`): "answered",
    # "denied", "rejected", "cancelled" or "failed"; None when the tool ran.
    outcome: str | None = None


@dataclass(frozen=True)
class Notice:
    """Why the thread's last run ended early, when it needs saying (see `agent.recovery`)."""

    # your Stop; a crash or restart of the server; a run your message stopped on an Agent Server
    # (its multitask strategy interrupt, or rollback: the run and its checkpoints deleted)
    kind: Literal["stopped", "server_stopped", "interrupted", "rolled_back"]
    text: str


@dataclass(frozen=True)
class ThreadView:
    """Everything the chat page needs to draw one thread at its current checkpoint."""

    thread: ThreadInfo
    messages: tuple[MessageView, ...]
    checkpoint_id: str | None
    next_nodes: tuple[str, ...]
    pending_calls: tuple[ToolCallView, ...] = ()
    active_run_id: str | None = None
    last_run_id: str | None = None
    # What went wrong in the thread's last run (None when it ended well); the page offers Retry.
    last_error: str | None = None
    # A run cut short (by you, or by the server stopping); the page offers to continue it.
    notice: Notice | None = None
    # The active run's new message while no checkpoint shows it yet (durability "exit").
    live_input: tuple[MessageView, ...] = ()
    # Messages sent while a run was going, each waiting for a run of its own (an Agent Server's
    # multitask strategy "enqueue"), oldest first.
    queued: tuple[MessageView, ...] = ()
    # What the last message did to the run that was going (strategy interrupt or rollback).
    superseded: Notice | None = None
    # What each run of the shown conversation did, by turn (`agent.run_record`).
    report: ThreadReport | None = None
    # Your own graph's questions that are not tool calls, answered with `Backend.answer`.
    questions: tuple[InterruptView, ...] = ()
    # Your own graph's state channels other than its messages, JSON-able.
    values: dict[str, Any] = field(default_factory=dict)
    own_graph: bool = False  # a graph of yours (WAYPOINT_GRAPH), not the built-in agent

    @property
    def waiting_for_approval(self) -> bool:
        return bool(self.pending_calls) and self.active_run_id is None


# --- time travel: the inspector's timeline, a checkpoint's detail, the chat's branch switcher -----


@dataclass(frozen=True)
class CheckpointRow:
    """One checkpoint as the inspector's timeline lists it: what happened there, in one line.

    `written_by` is the node (or nodes) whose step produced the checkpoint, derived as
    `agent.timeline` explains; `next_nodes` what a replay from here would run. The tree is in
    `parent_id`, `children` and `branch`: rows are newest first, each branch (one per checkpoint
    without children) has a number, 0 being the branch the chat shows, and `branch_tip` is that
    branch's newest checkpoint (what "Show this branch in chat" should pass to `show_branch`).
    """

    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str  # "input" | "loop" | "update" | "fork" ("" for LangGraph's own bookkeeping rows)
    written_by: tuple[str, ...]
    next_nodes: tuple[str, ...]
    created_at: float
    label: str
    run_id: str | None = None
    run_number: int | None = None  # 1 for the thread's first run, in order of first checkpoint
    children: int = 0
    branch: int = 0
    branch_tip: str = ""
    on_shown_branch: bool = False  # an ancestor of (or) the checkpoint the chat shows
    is_head: bool = False  # the checkpoint the chat shows
    is_latest: bool = False  # the newest checkpoint of the thread
    halted: bool = False  # the run stopped here to ask for approval
    stopped: bool = False  # you pressed Stop during the step after this checkpoint
    error: str | None = None  # a node failed in the step after this checkpoint

    @property
    def is_fork_point(self) -> bool:
        """History branches here: a replay, an edit or a new message started from this point."""
        return self.children > 1


@dataclass(frozen=True)
class TimelinePage:
    """One page of a thread's checkpoints, newest first, with what paging and the tree need."""

    thread_id: str
    rows: tuple[CheckpointRow, ...]
    total: int
    offset: int
    limit: int
    head_id: str | None  # the checkpoint the chat shows (the branch head, or the latest)
    latest_id: str | None
    branches: int  # checkpoints without children: 1 for a thread that never forked
    written_by: str | None = None  # only the rows this node wrote (`total` counts those)
    # parent checkpoint id -> the subgraphs its next step ran (or runs), with their checkpoints
    subgraphs: Mapping[str, tuple[SubgraphView, ...]] = field(default_factory=dict)

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total


@dataclass(frozen=True)
class PendingWriteView:
    """A write saved on a checkpoint for the step after it (by a task that finished, or asked)."""

    task_id: str
    channel: str
    summary: str


@dataclass(frozen=True)
class InterruptView:
    """A question a node asked at this checkpoint (for Waypoint: the tool calls to approve)."""

    id: str
    value: Any  # JSON-able
    calls: tuple[ToolCallView, ...] = ()
    # The JSON Schema of the answer it expects (LangGraph's `interrupt(..., response_schema=)`).
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class WordChange:
    """One run of a word diff: text both sides share ("same"), or only the old or the new has."""

    kind: Literal["same", "removed", "added"]
    text: str


@dataclass(frozen=True)
class FieldChange:
    """One part of a message that changed (its text, or one argument of one tool call), word by
    word. `cut`: the sides were longer than a diff compares; the Messages tab shows them whole."""

    label: str  # "text", "web_search · query", "web_search: call added"
    words: tuple[WordChange, ...]
    cut: bool = False


@dataclass(frozen=True)
class MessageChange:
    before: MessageView
    after: MessageView
    fields: tuple[FieldChange, ...] = ()  # what changed inside the message


@dataclass(frozen=True)
class StateDiff:
    """What changed from the parent checkpoint: messages by id, and the other channels by name."""

    added: tuple[MessageView, ...] = ()
    changed: tuple[MessageChange, ...] = ()
    removed: tuple[MessageView, ...] = ()
    channels: tuple[str, ...] = ()  # channels other than `messages` whose version moved

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.channels)


@dataclass(frozen=True)
class CheckpointDetail:
    """Everything the inspector shows for one checkpoint."""

    thread_id: str
    checkpoint_id: str
    parent_id: str | None
    row: CheckpointRow
    messages: tuple[MessageView, ...]
    raw_messages: tuple[dict[str, Any], ...]  # JSON-able: {"type": ..., "data": {...}}
    values: dict[str, Any]  # the other state channels, JSON-able
    next_nodes: tuple[str, ...]
    metadata: dict[str, Any]
    pending_writes: tuple[PendingWriteView, ...]
    interrupts: tuple[InterruptView, ...]
    pending_calls: tuple[ToolCallView, ...]  # what a run from here would ask about
    diff: StateDiff
    children: tuple[str, ...]  # checkpoint ids, oldest first
    # "What LangGraph did": the calls that read this checkpoint (and wrote it, for a state edit).
    calls: str = ""
    # The subgraphs running inside the step after this checkpoint, each with its own checkpoints.
    subgraphs: tuple[SubgraphView, ...] = ()
    # "" for the parent's; a subgraph's namespace (`node:<task id>`) for one of its checkpoints.
    checkpoint_ns: str = ""


@dataclass(frozen=True)
class SubgraphCheckpoint:
    checkpoint_id: str
    step: int
    source: str
    next_nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubgraphView:
    """A subgraph paused inside the parent's step: the node that runs it, its checkpoint
    namespace (`node:<task id>`), where it stands and its own checkpoints, newest first."""

    node: str
    namespace: str
    next_nodes: tuple[str, ...]
    values: dict[str, Any]  # JSON-able
    interrupts: tuple[InterruptView, ...]
    checkpoints: tuple[SubgraphCheckpoint, ...]


@dataclass(frozen=True)
class MessageVersion:
    """One version of a message: pass `checkpoint_id` to `show_branch` to show it in the chat."""

    checkpoint_id: str
    message_id: str
    preview: str


@dataclass(frozen=True)
class MessageVersions:
    """The chat's `< 2 / 3 >` switcher for one shown message (see `agent.timeline` for the rule)."""

    message_id: str  # the message shown now
    position: int  # 0-based, in the shown conversation
    index: int  # 0-based, which of `versions` is shown
    versions: tuple[MessageVersion, ...]

    @property
    def count(self) -> int:
        return len(self.versions)

    @property
    def label(self) -> str:
        return f"{self.index + 1} / {self.count}"


# --- what the backend offers: the graph's shape, the settings' defaults ----------------------------


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    conditional: bool = False


@dataclass(frozen=True)
class GraphView:
    """The compiled graph's nodes and edges (LangGraph's `get_graph()`, or an Agent Server's
    assistant graph), and the node that asks for approval before it runs."""

    nodes: tuple[str, ...]
    edges: tuple[GraphEdge, ...]
    approval_node: str
    # Breakpoints: the graph's own (compiled with interrupt_before / interrupt_after), or those
    # chosen for the next runs when a page adds them.
    pause_before: tuple[str, ...] = ()
    pause_after: tuple[str, ...] = ()
    static_breakpoints: bool = False  # the graph was compiled with some


@dataclass(frozen=True)
class BackendInfo:
    """What the settings panel offers and preselects. Keys are only said to exist, never given."""

    default_provider: str  # "demo" | "openai" | "compatible"
    default_search: str  # "offline" | "tavily"
    model_name: str | None  # WAYPOINT_MODEL
    openai_base_url: str | None
    has_openai_key: bool
    has_tavily_key: bool
    # The tools the settings give a rule: the built-in agent's; for your graph, those its HITL
    # middleware guards, `known_tools` as the graph says (the rest seen in its requests so far).
    tool_names: tuple[str, ...]
    visitors: bool = False  # visitor mode: each browser its own private, expiring space
    visitor_hours: float = 24.0
    # Your own graph (WAYPOINT_GRAPH); empty for the built-in research agent.
    graph_name: str = ""
    graph_description: str = ""
    graphs: tuple[str, ...] = ()  # every graph WAYPOINT_GRAPH names, for the selector
    chat_messages: bool = True  # False: the graph keeps no messages and takes JSON input
    input_example: str = ""
    # The graph runs on a LangGraph Agent Server: its multitask strategy is a setting, and the
    # engine choice is the server's own.
    agent_server: bool = False
    known_tools: tuple[str, ...] = ()


# --- the run record: what each run did, kept after it ends (see `agent.run_record`) -------------

Usage = Literal["reported", "estimated", "none"]


@dataclass(frozen=True)
class StepRecord:
    """One node of a finished run: how long it took and, for `llm`, the tokens in and out
    (None where the provider reported no usage)."""

    node: str
    seconds: float
    summary: str
    tokens_in: int | None = None
    tokens_out: int | None = None


@dataclass(frozen=True)
class DecisionRecord:
    """What a person decided in a run: "approved", "edited by you: query New York", "answered by
    you", "rejected: reason", "cancelled: you sent a new message", "stopped by you"."""

    action: str  # approve | edit | mock | reject | cancel | stop
    text: str
    tool: str = ""
    call_id: str = ""


@dataclass(frozen=True)
class RunReport:
    """One run as it is kept after its end: steps, decisions, timings, tokens, and the LangGraph
    calls it made as short Python (`calls`, user text shortened, no key), run from
    `from_checkpoint`. `message_ids` and `call_ids` are what it wrote and `sent` what it was
    started with: they place it in a turn (`agent.run_record.thread_report`)."""

    id: str
    engine: str
    status: str  # a RunStatus, or "lost": its process died (`agent.run_record.lost_report`)
    started_at: float
    seconds: float  # for a lost run, up to its last heartbeat
    first_token_seconds: float | None
    steps: tuple[StepRecord, ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    calls: tuple[str, ...] = ()
    from_checkpoint: str | None = None
    usage: Usage = "none"
    error: str | None = None
    sent: str | None = None  # the message it was started with, if any
    message_ids: tuple[str, ...] = ()
    call_ids: tuple[str, ...] = ()

    @property
    def tokens_in(self) -> int | None:
        return _total(s.tokens_in for s in self.steps)

    @property
    def tokens_out(self) -> int | None:
        return _total(s.tokens_out for s in self.steps)


def _total(counts: Any) -> int | None:
    known = [count for count in counts if count is not None]
    return sum(known) if known else None


@dataclass(frozen=True)
class TurnReport:
    """The runs of one turn (your message and what answered it), drawn under `message_id`."""

    message_id: str
    runs: tuple[RunReport, ...]

    @property
    def first_token_seconds(self) -> float | None:
        return next((r.first_token_seconds for r in self.runs if r.first_token_seconds), None)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    @property
    def tokens_in(self) -> int | None:
        return _total(r.tokens_in for r in self.runs)

    @property
    def tokens_out(self) -> int | None:
        return _total(r.tokens_out for r in self.runs)

    @property
    def usage(self) -> Usage:
        return _usage(self.runs)


def _usage(runs: tuple[RunReport, ...]) -> Usage:
    kinds = {r.usage for r in runs}
    return "estimated" if "estimated" in kinds else "reported" if "reported" in kinds else "none"


@dataclass(frozen=True)
class ThreadReport:
    """The run record of the conversation the chat shows: its turns, and the totals over them."""

    turns: tuple[TurnReport, ...] = ()

    @property
    def runs(self) -> tuple[RunReport, ...]:
        return tuple(run for turn in self.turns for run in turn.runs)

    def turn_at(self, message_id: str) -> TurnReport | None:
        return next((t for t in self.turns if t.message_id == message_id), None)

    @property
    def totals(self) -> TurnReport:
        """Time, tokens and usage over every run of the conversation shown."""
        return TurnReport("", self.runs)

    @property
    def first_token_seconds(self) -> tuple[float, ...]:
        """Each turn's time to first token (the UI shows their median)."""
        return tuple(t.first_token_seconds for t in self.turns if t.first_token_seconds)
