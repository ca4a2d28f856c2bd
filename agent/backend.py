"""The one interface pages talk to: threads, state, runs and human decisions, as plain data.

`LocalBackend` runs the engine inside this process. A later implementation will speak to a LangGraph
Agent Server through `langgraph-sdk` with the same methods, which is how Waypoint grows past one
machine; so no LangGraph object crosses this boundary, only events, views and thread rows.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.constants import START
from langgraph.errors import InvalidUpdateError
from langgraph.types import Command, StateSnapshot

from agent import recovery, transfer
from agent import timeline as tl
from agent.approval import CANCELLED_TEXT, always_allowed, not_run, validate_decisions
from agent.call_text import update_state_call
from agent.choices import AgentChoices, ApprovalPolicy, RunOptions
from agent.context import ContextFactory
from agent.errors import (
    DecisionError,
    InputError,
    Invalid,
    ModelListError,
    ThreadBusy,
    UnknownCheckpoint,
)
from agent.events import Error, Event, RunStatus
from agent.exposure import exposure_problem
from agent.graph import ACTION, LLM, RunContext, open_tool_calls
from agent.graph_kit import BUILTIN, GraphKit
from agent.hitl_policy import Verdict, all_decided, policy_label, verdicts
from agent.interrupts import hitl_calls, hitl_resume, is_hitl_request, parse_answer, questions
from agent.jsonable import jsonable
from agent.key_policy import settings_for
from agent.lesson import LessonLog, read_through_new_engine
from agent.lesson_steps import EngineRestart, LessonThread
from agent.limits import MAX_MESSAGE_CHARS, MAX_TOOL_RESULT_CHARS, too_long
from agent.message_views import message_views
from agent.models import list_models
from agent.own_graph import graph_choices
from agent.persistence import Persistence
from agent.protocol import LOCAL_USER, User
from agent.run_record import (
    Prelude,
    cancelled_records,
    decision_records,
    decode_report,
    thread_report,
)
from agent.run_store import RunRecord, SentMessage, Starter, is_live
from agent.runs import Run, RunManager
from agent.settings import Settings
from agent.stream_events import message_text
from agent.timeline import Timeline, as_node_keeping_next, divergence
from agent.timeline import subgraphs as sg
from agent.timeline.subgraphs import SeededReplay
from agent.tools import TOOL_NAME
from agent.views import (
    BackendInfo,
    CheckpointDetail,
    DecisionRecord,
    GraphEdge,
    GraphView,
    MessageVersions,
    MessageView,
    Notice,
    RunHandle,
    RunReport,
    ThreadInfo,
    ThreadReport,
    ThreadStatus,
    ThreadView,
    TimelinePage,
    ToolCallView,
)
from agent.visitors import VisitorSweep

log = logging.getLogger(__name__)

# How long an automatic approval waits for the run that asked to let its thread go.
AUTO_APPROVE_WAIT = 30.0
# How often a page following another process's run looks for its new events in the store.
STORE_POLL_SECONDS = 0.05
STOPPED_TEXT = (
    "You stopped the last run. What it was writing is not kept: the thread is as its last "
    "checkpoint left it."
)


# What each public method's parameters must be, and what to give instead: pages pass what widgets
# returned and a remote API will pass what clients sent, so a number where text belongs must get
# a sentence, not a TypeError from deep inside the engine (or, worse, a half-done write).
_TEXT = (str,)
_WHOLE = (int,)
_EXPECTED: dict[str, tuple[tuple[type, ...], str]] = {
    "user": ((User,), "the user asking (agent.protocol.User)"),
    "thread_id": (_TEXT, "a thread id (text)"),
    "checkpoint_id": (_TEXT, "a checkpoint id (text)"),
    "checkpoint_ns": (_TEXT, "a subgraph's checkpoint namespace (text)"),
    "message_id": (_TEXT, "a message id (text)"),
    "human_message_id": (_TEXT, "the id of one of your messages (text)"),
    "ai_message_id": (_TEXT, "the id of one of the model's answers (text)"),
    "tool_call_id": (_TEXT, "a tool call id (text)"),
    "run_id": (_TEXT, "a run id (text)"),
    "title": (_TEXT, "the title as text"),
    "search": (_TEXT, "the words to search for as text"),
    "text": (_TEXT, "the message as text"),
    "tool_result": (_TEXT, "the tool's answer as text"),
    "limit": (_WHOLE, "a whole number"),
    "offset": (_WHOLE, "a whole number"),
    "index": (_WHOLE, "a whole number"),
    "written_by": (_TEXT, "a node name (text)"),
    "timeout": ((int, float), "a number of seconds"),
    "choices": ((AgentChoices,), "the sidebar's choices (AgentChoices)"),
    "options": ((RunOptions,), "run options (RunOptions)"),
    "call": ((ToolCallView,), "a pending tool call (ToolCallView)"),
    "step": (_TEXT, "a lesson step's key (text)"),
    "tool": (_TEXT, "a tool name (text)"),
    "allowed": ((bool,), "True or False"),
}


def _check_input(optional: tuple[str, ...] = (), **values: Any) -> None:
    """InputError for the first value of the wrong type (None only where `optional` allows it).

    Booleans are refused where a number is expected, although Python counts them as integers.
    """
    for name, value in values.items():
        if value is None and name in optional:
            continue
        types, expected = _EXPECTED[name]
        if isinstance(value, types) and (bool in types or not isinstance(value, bool)):
            continue
        got = "None" if value is None else type(value).__name__
        log.debug("refused input: %s was %s", name, got)
        raise InputError(f"Wrong input for {name}: got {got}; give {expected}.")


@dataclass(frozen=True)
class _LastRun:
    """A thread's last run, from this process's runs or from the run store (another process's)."""

    id: str
    status: str
    events: Callable[[], list[Event]]


def _last_error(info: ThreadInfo, latest: _LastRun | None) -> str | None:
    """The error that ended the thread's last run, also after a restart (when its log is gone)."""
    if latest is not None and latest.status == "error":
        error = next((e for e in reversed(latest.events()) if isinstance(e, Error)), None)
        if error is not None:
            return error.message
    if info.status == "error":
        return "The last run on this thread ended with an error. Retry to run the model again."
    return None


def _notice(snapshot: StateSnapshot, latest: _LastRun | None) -> Notice | None:
    """Why the shown state's run ended early, when it needs saying: a stop, the server's stop."""
    if recovery.was_cut(snapshot.metadata):
        return Notice("server_stopped", recovery.notice(snapshot.metadata or {}, snapshot.next))
    stopped = recovery.was_stopped(snapshot.metadata) or any(
        t.error is not None and tl.is_stop(t.error) for t in snapshot.tasks
    )
    if stopped or (latest is not None and latest.status == "cancelled"):
        return Notice("stopped", STOPPED_TEXT)
    return None


def pending_calls(snapshot: StateSnapshot) -> tuple[ToolCallView, ...]:
    """Calls waiting for a human: the interrupt's, or every open call when `action` is next.

    A LangChain HITL request's actions count too (your own graph's: `agent.interrupts`).
    """
    hitl = [
        call
        for interrupt in snapshot.interrupts
        if is_hitl_request(interrupt.value)
        for call in hitl_calls(interrupt)
    ]
    if hitl:
        return tuple(hitl)
    asked = [
        call
        for interrupt in snapshot.interrupts
        if isinstance(interrupt.value, Mapping)
        for call in interrupt.value.get("calls", [])
    ]
    if not asked and ACTION in snapshot.next:
        asked = open_tool_calls(snapshot.values.get("messages", []))[1]
    return tuple(ToolCallView(id=c["id"], name=c["name"], args=dict(c["args"])) for c in asked)


def status_of(snapshot: StateSnapshot, run_status: str | None = None) -> ThreadStatus:
    if snapshot.interrupts or pending_calls(snapshot):
        return "waiting"
    return "error" if run_status == "error" else "idle"


def _node_list(nodes: Any) -> tuple[str, ...]:
    """A compiled graph's breakpoint nodes: a list, or "*" for every node."""
    return ("*",) if nodes == "*" else tuple(str(n) for n in nodes or ())


class LocalBackend:
    """The engine in this process: one database, two engines, background runs."""

    def __init__(
        self,
        settings: Settings,
        *,
        persistence: Persistence | None = None,
        contexts: Callable[[AgentChoices, frozenset[str]], RunContext] | None = None,
        kit: GraphKit = BUILTIN,
    ):
        self.settings = settings
        self.kit = kit
        # Every graph WAYPOINT_GRAPH names (a langgraph.json may name several), for the selector.
        self._graph_names = () if kit.builtin else tuple(s.name for s in graph_choices(settings))
        self.persistence = persistence or Persistence.open(
            settings.db_path,
            database_url=settings.database_url,
            pool_min=settings.db_pool_min,
            pool_max=settings.db_pool_max,
        )
        self.threads = self.persistence.threads
        self.contexts = contexts or ContextFactory(settings)
        # Runs of a shared deployment's users: its own keys only where the owner allows it.
        self.shared_contexts = contexts or ContextFactory(settings_for(settings, shared=True))
        self._visitor_sweep = VisitorSweep(settings.visitor_hours)
        self.graph = kit.compile(self.persistence.saver)
        self._async_graph: Any = None
        self._async_lock = threading.Lock()
        self.runs = RunManager(
            self.graph,
            self._get_async_graph,
            self.persistence.loop,
            self.persistence.runs,
            on_finish=self._record_end,
        )
        self.store = self.persistence.store_for(self.graph)
        self.history = Timeline(self.graph, self.persistence.saver, self.store, pending_calls)
        # Per thread, the run last started with a new message and that message, kept as sent
        # for a Stop (`_record_end`); other processes read it from the run store (`_live_input`).
        self._inputs: dict[str, tuple[str, HumanMessage]] = {}
        self.lesson = LessonLog(self.threads.db)
        # Your graph: per thread, the approval rules of its last run (answering its HITL request
        # when it halts: `_answer_by_rules`), and the HITL tools its requests named so far.
        self._rules: dict[str, ApprovalPolicy] = {}
        self._seen_tools: dict[str, None] = dict.fromkeys(kit.hitl_tools)
        self._reconcile_interrupted_runs()

    def _get_async_graph(self) -> Any:
        with self._async_lock:
            if self._async_graph is None:
                self._async_graph = self.kit.compile(self.persistence.async_saver)
            return self._async_graph

    def _reconcile_interrupted_runs(self) -> None:
        """A thread still marked 'running' lost its run when the process running it stopped.

        Unless that run is live in another process (another app server, the CLI): the run store
        says which process owns it and whether it still beats (`agent.run_store`). A thread
        without a live run is marked cut (`_mark_cut`).
        """
        store = self.persistence.runs
        for thread_id in self.threads.ids_with_status("running"):
            record = store.latest(thread_id)
            if (
                record is not None
                and record.status == "running"
                and (is_live(store, record) or not store.claim_lost(record.id))
            ):
                continue  # live elsewhere, or another process is settling it
            self._mark_cut(thread_id)

    def _mark_cut(self, thread_id: str) -> None:
        """Give the cut run's newest checkpoint a "server stopped" successor (`agent.recovery`),
        so nothing the run had started runs again unasked and the chat can say what happened."""
        cut = self._cut_run_checkpoint(thread_id)
        if cut is not None:
            try:
                recovery.mark(self.graph, self._snapshot(thread_id, cut))
            except Exception:  # one odd thread must not keep the app from starting
                log.exception("could not mark the cut run of thread %s", thread_id)
            else:
                self.threads.set_branch_head(thread_id, None)
        self.threads.set_status(thread_id, status_of(self._shown_snapshot(thread_id)))

    def _live_elsewhere(self, thread_id: str) -> RunRecord | None:
        """The thread's run live in another process, if any. A run whose process died is
        settled here (ended as lost, its thread marked cut), so no page shows it running."""
        if self.runs.active_run(thread_id) is not None:
            return None
        record = self.persistence.runs.latest(thread_id)
        if record is None or record.status != "running":
            return None
        if is_live(self.persistence.runs, record):
            return None if record.owner == self.persistence.runs.owner else record
        self._settle_lost(record)
        return None

    def _settle_lost(self, record: RunRecord) -> bool:
        """End a dead process's run as lost and mark its thread cut (once, whoever sees it)."""
        if not self.persistence.runs.claim_lost(record.id):
            return False
        log.info("run %s died with its process %s", record.id, record.owner)
        self._mark_cut(record.thread_id)
        return True

    def _settle_dead_runs(self) -> bool:
        """Settle every run whose process died; True if there was one."""
        store = self.persistence.runs
        return any([self._settle_lost(r) for r in store.running() if not is_live(store, r)])

    def _stored_events(self, record: RunRecord, offset: int, timeout: float) -> list[Event]:
        """Another process's run's events from the store, waiting up to `timeout` for one."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.persistence.runs.events(record.id, offset)
            if events or time.monotonic() >= deadline:
                return events
            if self._live_elsewhere(record.thread_id) is None:  # ended, or its process died
                return self.persistence.runs.events(record.id, offset)
            time.sleep(STORE_POLL_SECONDS)  # SQLite has no notifications: look again shortly

    def _cut_run_checkpoint(self, thread_id: str) -> str | None:
        """Where the cut run stopped: the newest checkpoint, if it continues what the chat
        showed (a run writes children of the shown checkpoint), else the shown one (it wrote
        nothing, as with durability "exit")."""
        info = self.threads.get(thread_id)
        skeleton = self.history.skeleton(thread_id)
        latest = skeleton.latest
        head = self._branch_head(info)
        if latest is None or head is None or head in skeleton.path(latest):
            return latest
        return head

    def close(self) -> None:
        """Stop every run and record its end, then close the database (Streamlit's cache release).

        Runs are stopped first, so none is left to fail on a closed connection.
        """
        self.runs.shutdown()
        self.persistence.close()

    # --- threads ---------------------------------------------------------------------------------

    def create_thread(self, user: User, title: str = "New thread") -> ThreadInfo:
        """An empty thread, for callers that fill it themselves. The chat does not use it: a
        conversation starts with `start_thread`, so no thread exists before its first message."""
        _check_input(user=user, title=title)
        return self.threads.create(title, owner=user.id)

    def start_thread(
        self, user: User, text: str, choices: AgentChoices, options: RunOptions = RunOptions()
    ) -> RunHandle:
        """A new conversation: a thread titled from its first message, and the run answering it.

        The thread exists from that message on. Whatever refuses the message before the run
        begins (empty or too long text, the run limit, a missing key, a busy engine) raises as
        `send_message` would and leaves no thread behind, so the list never fills with empty
        "New thread" rows. The handle's `thread_id` is the new thread.
        """
        _check_input(user=user)
        info = self.threads.create(owner=user.id)
        try:
            return self.send_message(user, info.id, text, choices, options)
        except BaseException:
            self.persistence.saver.delete_thread(info.id)  # nothing is written before a run; sure
            self.threads.delete(info.id)
            raise

    def list_threads(
        self, user: User, search: str = "", limit: int = 50, offset: int = 0
    ) -> list[ThreadInfo]:
        _check_input(user=user, search=search, limit=limit, offset=offset)
        threads = self.threads.list(owner=user.id, search=search, limit=limit, offset=offset)
        # A run whose process died must not show as running (its process cannot say so).
        if any(t.status == "running" for t in threads) and self._settle_dead_runs():
            threads = self.threads.list(owner=user.id, search=search, limit=limit, offset=offset)
        return threads

    def count_threads(self, user: User, search: str = "") -> int:
        _check_input(user=user, search=search)
        return self.threads.count(owner=user.id, search=search)

    def _owned(self, user: User, thread_id: str) -> ThreadInfo:
        """The thread if `user` owns it; UnknownThread (as for a missing one) otherwise.

        Every public method that touches a thread starts here, before it reads or writes.
        """
        _check_input(user=user, thread_id=thread_id)
        return self.threads.owned(thread_id, user.id)

    def get_thread(self, user: User, thread_id: str) -> ThreadInfo:
        return self._owned(user, thread_id)

    def find_thread(self, user: User, thread_id: str) -> ThreadInfo | None:
        _check_input(user=user, thread_id=thread_id)
        return self.threads.find_owned(thread_id, user.id)

    def rename_thread(self, user: User, thread_id: str, title: str) -> ThreadInfo:
        _check_input(title=title)
        self._owned(user, thread_id)
        try:
            return self.threads.rename(thread_id, title)
        except ValueError as error:
            raise InputError(str(error)) from error

    def allow_tool(self, user: User, thread_id: str, tool: str, allowed: bool) -> ThreadInfo:
        """Always allow `tool` in this thread from now on, or ask about it again (allowed=False).

        Granted from an approval card, the permission is recorded with that decision (see
        `decide`); this is the way back, and the plain-data way for a remote client: a change
        here writes a timeline row saying so. Refused while a run goes (it runs with the
        permission it started with).
        """
        _check_input(tool=tool, allowed=allowed)
        info = self._owned(user, thread_id)
        tools = (TOOL_NAME,) if self.kit.builtin else tuple(self._seen_tools)
        if allowed and tool not in tools:
            raise InputError(
                f"There is no tool named {tool[:80]!r} to allow; there is "
                f"{', '.join(tools) or 'none the graph has asked about yet'}."
            )
        names = set(info.allowed_tools)
        changed = names | {tool} if allowed else names - {tool}
        if changed == names:
            return info
        self._refuse_while_running(thread_id)
        self.threads.set_allowed_tools(thread_id, changed)
        self._note_permission(thread_id, tool, allowed)
        return self.threads.get(thread_id)

    def _note_permission(self, thread_id: str, tool: str, allowed: bool) -> None:
        """A timeline row for a permission given or taken back outside a decision ("Ask again"):
        an update that changes no message and keeps the next node(s), like a fork's own row."""
        snapshot = self._shown_snapshot(thread_id)
        if snapshot.metadata is None:  # no checkpoint yet to write after
            return
        as_node = self._keeping_next(thread_id, snapshot)
        metadata = {tl.OP: "allow_tool" if allowed else "ask_again", tl.AS_NODE: as_node}
        self._update({**snapshot.config, "metadata": metadata | {tl.TOOL: tool}}, None, as_node)
        self._settle(thread_id)

    def delete_thread(self, user: User, thread_id: str, timeout: float = 10) -> None:
        """Delete a thread and all its checkpoints, stopping its run first."""
        _check_input(timeout=timeout)
        self._owned(user, thread_id)
        run = self.runs.active_run(thread_id)
        if run is not None:
            self.runs.cancel(run.id)
            run.log.wait_closed(timeout)
        elif (elsewhere := self._live_elsewhere(thread_id)) is not None:
            self.persistence.runs.request_cancel(elsewhere.id)
            deadline = time.monotonic() + timeout
            while self._live_elsewhere(thread_id) is not None and time.monotonic() < deadline:
                time.sleep(STORE_POLL_SECONDS)
        self.purge_threads([thread_id])

    def purge_threads(self, thread_ids: Sequence[str]) -> None:
        """Delete these threads: checkpoints first, in one transaction (the saver's `prune`,
        "delete"), then their index rows and stored runs, each in one statement.

        The engine's side of a deletion, with no owner check and no stopping of runs: for
        `delete_thread` after both, and for the visitor sweep (`agent.visitors`), which leaves
        running threads for later. Checkpoints go first, so a failure half-way leaves index rows
        of empty threads, shown and deletable again, rather than checkpoints no list reaches.
        """
        ids = list(thread_ids)
        self.persistence.saver.prune(ids, strategy="delete")
        self.threads.delete_many(ids)
        self.persistence.runs.forget_threads(ids)
        for thread_id in ids:
            self.runs.forget_thread(thread_id)
            self._inputs.pop(thread_id, None)

    def is_running(self, thread_id: str) -> bool:
        """Whether a run of the thread is going, here or in another process."""
        return (
            self.runs.active_run(thread_id) is not None
            or self._live_elsewhere(thread_id) is not None
        )

    # --- state -----------------------------------------------------------------------------------

    def _snapshot(self, thread_id: str, checkpoint_id: str | None = None) -> StateSnapshot:
        return self.graph.get_state(tl.config_at(thread_id, checkpoint_id))

    def _shown_snapshot(self, thread_id: str, info: ThreadInfo | None = None) -> StateSnapshot:
        """The state the chat shows: at the branch head when one is set, else the latest."""
        info = info or self.threads.get(thread_id)
        if info.branch_head:
            snapshot = self._snapshot(thread_id, info.branch_head)
            if snapshot.metadata is not None:
                return snapshot
        return self._snapshot(thread_id)

    def _branch_head(self, info: ThreadInfo) -> str | None:
        """The thread's branch head, if it still names one of its checkpoints."""
        if info.branch_head and self.history.exists(info.id, info.branch_head):
            return info.branch_head
        return None

    def _shown_id(self, info: ThreadInfo) -> str | None:
        return self._branch_head(info) or self.history.latest_id(info.id)

    def thread_view(self, user: User, thread_id: str) -> ThreadView:
        """The chat's thread: at its branch head when one is set (`show_branch`), else latest."""
        info = self._owned(user, thread_id)
        active = self.runs.active_run(thread_id)
        elsewhere = None if active else self._live_elsewhere(thread_id)
        running_id = active.id if active else elsewhere.id if elsewhere else None
        running = running_id is not None
        if info.status == "running" and not running:
            info = self.threads.get(thread_id)  # a run whose process died was settled just now
        snapshot = self._shown_snapshot(thread_id, info)
        latest = self._last_run(thread_id)
        messages = self._messages(snapshot)
        pending = () if running else pending_calls(snapshot)
        self._seen_tools.update(dict.fromkeys(c.name for c in pending if c.interrupt_id))
        views = message_views(messages)
        return ThreadView(
            thread=info,
            messages=views,
            checkpoint_id=(snapshot.config or {}).get("configurable", {}).get("checkpoint_id"),
            next_nodes=tuple(snapshot.next),
            pending_calls=pending,
            active_run_id=running_id,
            last_run_id=latest.id if latest else None,
            last_error=None if running else _last_error(info, latest),
            notice=None if running else _notice(snapshot, latest),
            live_input=self._live_input(running_id, messages),
            report=self._thread_report(thread_id, views),
            questions=() if running else questions(snapshot.interrupts),
            values={} if self.kit.builtin else self._other_values(snapshot),
            own_graph=not self.kit.builtin,
        )

    def _messages(self, snapshot: StateSnapshot) -> list[BaseMessage]:
        key = self.kit.messages_key
        found = snapshot.values.get(key, []) if key and isinstance(snapshot.values, Mapping) else []
        return list(found) if isinstance(found, Sequence) else []

    def _other_values(self, snapshot: StateSnapshot) -> dict[str, Any]:
        """Your own graph's state channels other than its messages, as JSON-able values."""
        values = snapshot.values if isinstance(snapshot.values, Mapping) else {}
        return {
            str(key): jsonable(value)
            for key, value in values.items()
            if key != self.kit.messages_key
        }

    def _thread_report(self, thread_id: str, views: tuple[MessageView, ...]) -> ThreadReport:
        """The run record of the shown conversation, from the reports in the run store."""
        return thread_report(views, self.stored_reports(thread_id))

    def stored_reports(self, thread_id: str) -> list[RunReport]:
        """The reports of the thread's runs, oldest first (no owner check: the engine's side)."""
        reports = []
        for data in self.persistence.runs.reports(thread_id):
            try:
                reports.append(decode_report(data))
            except (TypeError, ValueError, KeyError):  # not a report this version wrote
                log.warning("thread %s: a run report could not be read", thread_id)
        return reports

    def run_report(self, user: User, run_id: str) -> RunReport | None:
        """One ended run's report, on whichever branch it wrote (None while it runs, or for a
        run that is not the user's)."""
        run = self._owned_run(user, run_id)
        found = self.stored_reports(run.thread_id) if run is not None else []
        return next((report for report in found if report.id == run_id), None)

    def _last_run(self, thread_id: str) -> _LastRun | None:
        run = self.runs.latest_run(thread_id)
        if run is not None:
            return _LastRun(run.id, run.status, lambda: run.log.read(0))
        record = self.persistence.runs.latest(thread_id)
        if record is None:
            return None
        return _LastRun(record.id, record.status, lambda: self.persistence.runs.events(record.id))

    def _live_input(self, run_id: str | None, shown: list[BaseMessage]) -> tuple[MessageView, ...]:
        """The active run's new message while no checkpoint shows it yet (durability "exit").

        Read from the run store, whichever process runs it, so every app server shows it.
        """
        sent = self.persistence.runs.sent(run_id) if run_id is not None else None
        if sent is None or any(m.id == sent.id for m in shown):
            return ()
        return message_views([HumanMessage(sent.text, id=sent.id)])

    # --- runs ------------------------------------------------------------------------------------

    def _start(
        self,
        thread_id: str,
        payload: Any,
        choices: AgentChoices,
        options: RunOptions,
        *,
        deciding: frozenset[str] = frozenset(),
        checkpoint_id: str | None = None,
        before_start: Callable[[], Prelude | None] | None = None,
        title: str | None = None,
        decisions: tuple[DecisionRecord, ...] = (),
        allow: frozenset[str] = frozenset(),
        metadata: Mapping[str, str] | None = None,
    ) -> RunHandle:
        """Start a run on the thread; `allow` adds tools to those it always allows, from now on;
        `metadata` goes into the checkpoints it writes."""
        unknown = sorted(
            (set(options.pause_before) | set(options.pause_after)) - set(self.graph.nodes)
        )
        if unknown:
            raise InputError(
                f"The graph has no node {', '.join(unknown)} to pause at: pick among its nodes."
            )
        info = self.threads.get(thread_id)
        owner = info.owner
        contexts = self.contexts if owner == LOCAL_USER.id else self.shared_contexts
        allowed = allow | frozenset(info.allowed_tools)
        context: RunContext | None = None  # your own graph takes no context of Waypoint's
        if self.kit.builtin:
            context = contexts(choices, deciding)
            if allowed:  # the thread's "always allow" choices hold whatever the settings say
                context = replace(context, approval=context.approval.allowing(allowed))
        self._live_elsewhere(thread_id)  # a run whose process died no longer holds the thread
        sent = payload.get(self.kit.messages_key) if isinstance(payload, Mapping) else None

        def prepare() -> Prelude:
            # Before the graph starts: a run that ends at once must not be marked running after.
            if allow - set(info.allowed_tools):
                self.threads.set_allowed_tools(thread_id, allowed)
            if not self.kit.builtin:
                self._rules[thread_id] = choices.approval
            done = (before_start() if before_start is not None else None) or Prelude()
            self.threads.touch(thread_id, status="running", title=title)
            return Prelude(
                calls=done.calls,
                decisions=decisions + done.decisions,
                from_checkpoint=checkpoint_id or self.history.latest_id(thread_id),
                sent=sent[-1].id if sent else None,
            )

        run = self.runs.start(  # after the context: a missing key costs no run
            thread_id,
            payload,
            context,
            options,
            checkpoint_id=checkpoint_id,
            before_start=prepare,
            starter=Starter(
                owner,
                self.settings.runs_per_hour,
                SentMessage(str(sent[-1].id), message_text(sent[-1])) if sent else None,
            ),
            metadata=metadata,
        )
        if sent:
            self._inputs[thread_id] = (run.id, sent[-1])
        return RunHandle(id=run.id, thread_id=thread_id)

    def _record_end(self, run: Run, status: RunStatus) -> None:
        """Bookkeeping when a run ends: the branch head follows the run, then status and count.

        It runs on the run's supervisor thread (never the async engine's event loop) while the
        thread is still reserved, so no new run can start until it is done.

        A run started on a branch head continues that branch, so the head moves to the newest
        checkpoint the run wrote, and is cleared when that is the thread's latest (the usual case:
        the run's checkpoints are the newest). A run that wrote nothing leaves the head alone.
        """
        sent = self._inputs.pop(run.thread_id, None)  # a checkpoint holds the message from now on
        info = self.threads.find(run.thread_id)
        if info is None:
            return  # deleted while running
        if info.branch_head is not None:
            newest = self.history.newest_of_run(run.thread_id, run.id)
            if newest is not None:
                self._follow(run.thread_id, newest)
        if status == "cancelled" and self.kit.builtin:  # your graph's Stop: the run's notice
            unsaved = sent[1] if sent is not None and sent[0] == run.id else None
            shown = self._shown_snapshot(run.thread_id)
            if recovery.mark_stopped(self.graph, shown, run.thread_id, unsaved) is not None:
                self.threads.set_branch_head(run.thread_id, None)
        self.touch_shown(run.thread_id, status)
        if status == "halted" and not self.kit.builtin:
            self._answer_by_rules(run)

    def send_message(
        self,
        user: User,
        thread_id: str,
        text: str,
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
    ) -> RunHandle:
        """Add a human message and run. Pending tool calls are closed first as cancelled."""
        _check_input(text=text, choices=choices, options=options)
        info = self._owned(user, thread_id)
        if not text.strip():
            raise InputError("Type a message first.")
        text = self._clean_text(text)
        first = info.message_count == 0 and not self._messages(self._snapshot(thread_id))
        head = self._branch_head(info)
        if not self.kit.builtin and self._snapshot(thread_id, head).interrupts:
            # The built-in agent closes its pending calls; your graph's are its own: a new
            # input now would leave its question (or its tool calls) unanswered for good.
            raise InputError(
                f"{self.kit.label} is waiting for your answer above (an interrupt): answer it "
                "first, then send this."
            )
        start_at = head
        if head is not None and self._calls_to_close(self._snapshot(thread_id, head)):
            start_at = None  # closing them writes a child of the head: the latest, run from it
        return self._start(
            thread_id,
            # An id of its own, so the live view knows when a checkpoint shows it (`_live_input`).
            self.kit.input_for(text, str(uuid.uuid4())),
            choices,
            options,
            checkpoint_id=start_at,
            before_start=lambda: self._close_pending_calls(thread_id, head),
            title=self.kit.title_for(text) if first and info.title == "New thread" else None,
        )

    def _calls_to_close(self, snapshot: StateSnapshot) -> list[dict]:
        """The built-in agent's open tool calls (your own graph's are its own business)."""
        if not self.kit.builtin or ACTION not in snapshot.next:
            return []
        return open_tool_calls(snapshot.values.get("messages", []))[1]

    def _update(self, config: RunnableConfig, values: Any, as_node: str) -> str:
        """`graph.update_state`, and the call as text for the run record (`agent.call_text`)."""
        written_from = config.get("configurable", {})
        self.graph.update_state(config, values, as_node=as_node)
        return update_state_call(
            written_from["thread_id"], written_from.get("checkpoint_id"), values, as_node
        )

    def _close_pending_calls(
        self, thread_id: str, checkpoint_id: str | None = None
    ) -> Prelude | None:
        """Answer open tool calls with "cancelled", so the history stays valid for any provider.

        On a branch head the closing update is a child of the head, hence the thread's latest
        checkpoint, so the head is cleared and the run continues from that update.
        """
        snapshot = self._snapshot(thread_id, checkpoint_id)
        calls = self._calls_to_close(snapshot)
        if calls:
            closing = [not_run(c, CANCELLED_TEXT, "cancelled") for c in calls]
            config: RunnableConfig = {
                **snapshot.config,
                "metadata": {tl.OP: "cancel_calls", tl.AS_NODE: ACTION, tl.COUNT: len(calls)},
            }
            call = self._update(config, {"messages": closing}, ACTION)
            if checkpoint_id is not None:
                self.threads.set_branch_head(thread_id, None)
            return Prelude(calls=(call,), decisions=cancelled_records(calls))
        return None

    def decide(
        self,
        user: User,
        thread_id: str,
        decisions: Mapping[str, Mapping[str, Any]],
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
    ) -> RunHandle:
        """Apply the human's decision on each pending call and continue the run.

        An approval with "always allow" also allows that tool in this thread from now on: the
        thread records it as the run starts, and the run's resume value says so (the timeline's
        label of that step). Invalid decisions raise DecisionError before anything is written.
        """
        _check_input(choices=choices, options=options)
        info = self._owned(user, thread_id)
        head = self._branch_head(info)
        snapshot = self._snapshot(thread_id, head)
        pending = pending_calls(snapshot)
        if pending and pending[0].interrupt_id is not None:  # a LangChain HITL request
            rules = verdicts(pending, choices.approval.allowing(info.allowed_tools))
            return self._answer_hitl(thread_id, pending, decisions, rules, choices, options, head)
        calls = [{"id": c.id, "name": c.name, "args": c.args} for c in pending]
        if not calls:
            raise InputError("Nothing is waiting for approval on this thread.")
        clean = validate_decisions(decisions, calls, self._tools(choices))
        return self._start(
            thread_id,
            Command(resume=clean),
            choices,
            options,
            deciding=frozenset(clean),
            before_start=None if head is None else lambda: self._continue_from(thread_id, head),
            decisions=decision_records(calls, clean),
            allow=always_allowed(clean),
        )

    def answer(
        self,
        user: User,
        thread_id: str,
        answers: Mapping[str, str],
        options: RunOptions = RunOptions(),
    ) -> RunHandle:
        """Answer your own graph's questions (by interrupt id) and continue, in one
        `Command(resume={id: value, ...})`. Each answer is JSON, or else plain text."""
        _check_input(options=options)
        info = self._owned(user, thread_id)
        head = self._branch_head(info)
        asked = {view.id for view in questions(self._snapshot(thread_id, head).interrupts)}
        if not asked:
            raise InputError("Nothing is waiting for an answer on this thread.")
        unknown = set(answers) - asked
        if unknown or not answers:
            raise DecisionError(
                "Answer the questions this thread waits on: "
                + ("none was answered." if not answers else "some answers are for no question.")
            )
        resume = {}
        for interrupt_id, text in answers.items():
            _check_input(text=text)
            resume[interrupt_id] = parse_answer(text)
        return self._resume_with(thread_id, resume, options, head)

    def _resume_with(
        self,
        thread_id: str,
        resume: dict[str, Any],
        options: RunOptions,
        head: str | None,
        records: tuple[DecisionRecord, ...] = (),
        *,
        choices: AgentChoices | None = None,
        allow: frozenset[str] = frozenset(),
        metadata: Mapping[str, str] | None = None,
    ) -> RunHandle:
        """Continue your own graph with `Command(resume={interrupt id: value})`; `records` say
        what the run record shows of the decisions. The run keeps the thread's approval rules
        unless `choices` gives new ones (an answer to a question comes without any)."""
        # From a branch head the asking node runs again after `_continue_from`, under a new
        # interrupt id: a single answer then goes as the value itself, which the next interrupt
        # takes whatever its id.
        value: Any = resume
        if head is not None and len(resume) == 1:
            value = next(iter(resume.values()))
        if choices is None:
            choices = AgentChoices(approval=self._rules.get(thread_id, ApprovalPolicy()))
        return self._start(
            thread_id,
            Command(resume=value),
            choices,
            options,
            before_start=None if head is None else lambda: self._continue_from(thread_id, head),
            decisions=records,
            allow=allow,
            metadata=metadata,
        )

    def _answer_hitl(
        self,
        thread_id: str,
        pending: Sequence[ToolCallView],
        decisions: Mapping[str, Mapping[str, Any]],
        rules: Sequence[Verdict],
        choices: AgentChoices | None,
        options: RunOptions,
        head: str | None,
    ) -> RunHandle:
        """Answer your graph's HITL request in one `Command(resume=...)`: your decisions, and
        the rules' for the calls you did not decide (`agent.hitl_policy`). DecisionError, with
        nothing written, when a call is left undecided or a decision is not one it allows.

        When the rules decided any call, the run's checkpoints carry every decision in a few
        words, so the timeline row of the step that applied them says who decided what."""
        by_rule = {
            v.call.id: v for v in rules if v.decision is not None and v.call.id not in decisions
        }
        merged = {**{call_id: v.decision or {} for call_id, v in by_rule.items()}, **decisions}
        responses, checked = hitl_resume(pending, merged)
        yours = [c for c in pending if c.id not in by_rule]
        records = decision_records(
            [{"id": c.id, "name": c.name, "args": c.args} for c in yours],
            {c.id: checked[c.id] for c in yours},
        )
        records += tuple(
            DecisionRecord(v.decision["action"], v.text, v.call.name, v.call.id)
            for v in by_rule.values()
            if v.decision is not None
        )
        metadata = None
        if by_rule:
            said = [tl.decisions_text({c.id: checked[c.id] for c in yours})] if yours else []
            metadata = {tl.DECIDED: "; ".join([*said, policy_label(list(by_rule.values()))])}
        return self._resume_with(
            thread_id,
            responses,
            options,
            head,
            records,
            choices=choices,
            allow=always_allowed(checked),
            metadata=metadata,
        )

    def _answer_by_rules(self, run: Run) -> None:
        """Your graph asked (a HITL request) only about calls your rules decide (auto-approve,
        deny, or a tool always allowed in this thread): answer them as soon as the run that
        asked has let the thread go, as the built-in agent runs such tools unasked. A request
        with a call to ask about waits for you; the rules' decisions then go with yours."""
        info = self.threads.find(run.thread_id)
        if info is None:
            return
        head = self._branch_head(info)
        pending = pending_calls(self._snapshot(run.thread_id, head))
        self._seen_tools.update(dict.fromkeys(c.name for c in pending if c.interrupt_id))
        rules = self._rules.get(run.thread_id, ApprovalPolicy()).allowing(info.allowed_tools)
        found = verdicts(pending, rules)
        if not all_decided(found):
            return

        def answer() -> None:
            if not run.log.wait_closed(AUTO_APPROVE_WAIT):
                return
            try:
                now = pending_calls(self._snapshot(run.thread_id, head))
                if [c.id for c in now] != [c.id for c in pending]:
                    return  # the person was quicker
                self._answer_hitl(run.thread_id, pending, {}, found, None, run.options, head)
            except (ThreadBusy, Invalid) as problem:  # the person was quicker, or it went
                log.info("thread %s: calls not answered by rules (%s)", run.thread_id, problem)

        threading.Thread(target=answer, name=f"waypoint-rules-{run.id[:8]}", daemon=True).start()

    def _continue_from(self, thread_id: str, checkpoint_id: str) -> Prelude:
        """Make a past checkpoint the thread's latest, by an empty update on it.

        Needed to answer a halt on a branch head: in LangGraph 1.2.24, `Command(resume=...)` sent
        with the `checkpoint_id` of a past halt that was answered before reuses that old answer
        (the tools run as first decided, not as decided now). Resuming the latest checkpoint
        applies the new answer, and the update (a child of the head) is the latest.
        """
        snapshot = self._snapshot(thread_id, checkpoint_id)
        as_node = self._keeping_next(thread_id, snapshot)
        config: RunnableConfig = {
            **snapshot.config,
            "metadata": {tl.OP: "continue", tl.AS_NODE: as_node},
        }
        call = self._update(config, None, as_node)
        self.threads.set_branch_head(thread_id, None)
        return Prelude(calls=(call,))

    def _keeping_next(self, thread_id: str, snapshot: StateSnapshot) -> str:
        """The `as_node` under which an empty update of `snapshot` keeps its next node(s)."""
        if self.kit.builtin:
            return as_node_keeping_next(snapshot.next, snapshot.values.get("messages", []))
        # your graph: as the node that wrote the checkpoint, so the same nodes run next
        checkpoint_id = snapshot.config["configurable"]["checkpoint_id"]
        written_by = self.history.detail(thread_id, checkpoint_id, None).row.written_by
        return written_by[0] if written_by else START

    def decision_problem(
        self, call: ToolCallView, decision: Mapping[str, Any], choices: AgentChoices
    ) -> str | None:
        """What is wrong with one decision (for an inline error as the user types), or None.

        A setting that cannot build the tools (a Tavily choice without a key) is the problem too.
        """
        _check_input(call=call, choices=choices)
        if call.interrupt_id is not None:  # a LangChain HITL request: its own rules
            try:
                hitl_resume([call], {call.id: decision})
            except DecisionError as problem:
                return str(problem)
            return None
        try:
            tools = self._tools(choices)
            validate_decisions({call.id: decision}, [{"id": call.id, "name": call.name}], tools)
        except ValueError as problem:  # DecisionError included
            return str(problem)
        return None

    def _tools(self, choices: AgentChoices) -> tuple[BaseTool, ...]:
        """The tools a run with these choices would have (ValueError when a choice cannot work)."""
        return tuple(self.contexts(choices, frozenset()).tools)

    def resume(
        self,
        user: User,
        thread_id: str,
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
        checkpoint_id: str | None = None,
        checkpoint_ns: str = "",
    ) -> RunHandle:
        """Continue the thread (or replay from a past checkpoint, a subgraph's with
        `checkpoint_ns`: the subgraph goes on from there). A tool never runs unasked.

        Without `checkpoint_id` it continues what the chat shows (the branch head, if set). A
        replay from a past checkpoint makes it the branch head for the run, so the chat shows the
        replay's starting state while it runs; the run's end then moves the head on.
        """
        _check_input(
            ("checkpoint_id", "checkpoint_ns"),
            choices=choices,
            options=options,
            checkpoint_id=checkpoint_id,
            checkpoint_ns=checkpoint_ns,
        )
        info = self._owned(user, thread_id)
        if checkpoint_ns:
            if checkpoint_id is None:
                raise InputError("Pick the subgraph checkpoint to replay from.")
            return self._resume_subgraph(thread_id, checkpoint_ns, checkpoint_id, choices, options)
        start_at = checkpoint_id or self._branch_head(info)
        return self._start(
            thread_id,
            None,
            choices,
            options,
            # Calls a crash cut are asked again, whatever the policy (agent.recovery).
            deciding=recovery.calls_to_ask(self._snapshot(thread_id, start_at)),
            checkpoint_id=start_at,
            before_start=None if start_at is None else lambda: self._follow(thread_id, start_at),
        )

    def _follow(self, thread_id: str, checkpoint_id: str) -> None:
        """Show `checkpoint_id` in the chat (the branch head), or the latest when it is that."""
        latest = self.history.latest_id(thread_id)
        self.threads.set_branch_head(thread_id, None if checkpoint_id == latest else checkpoint_id)

    def any_run_active(self, user: User) -> bool:
        """Whether one of `user`'s threads has a run in progress, here or in another process.

        Only theirs: other people's runs would make their thread list poll, and tell them that
        someone is running. Every run of this process is in the run store too.
        """
        _check_input(user=user)
        store = self.persistence.runs
        return any(is_live(store, r) for r in store.running(owner=user.id))

    def _owned_run(self, user: User, run_id: str) -> Run | RunRecord | None:
        """The run if `user` owns its thread; None (as for an unknown run) otherwise.

        A run of this process is its `Run`; another process's is its row in the run store.
        """
        _check_input(user=user, run_id=run_id)
        run = self.runs.get(run_id) or self.persistence.runs.get(run_id)
        if run is None or self.threads.find_owned(run.thread_id, user.id) is None:
            return None
        return run

    def _settled(self, record: RunRecord) -> RunRecord:
        """The record once a dead owner's run is settled (ended as lost)."""
        if record.status == "running" and not is_live(self.persistence.runs, record):
            self._settle_lost(record)
            return self.persistence.runs.get(record.id) or record
        return record

    def cancel_run(self, user: User, run_id: str) -> bool:
        """Stop a run; one of another process is asked through the store (its owner polls)."""
        run = self._owned_run(user, run_id)
        if run is None or isinstance(run, Run):
            return run is not None and self.runs.cancel(run.id)
        return self._settled(run).status == "running" and self.persistence.runs.request_cancel(
            run.id
        )

    def read_events(
        self, user: User, run_id: str, offset: int = 0, timeout: float = 0.0
    ) -> list[Event]:
        _check_input(offset=offset, timeout=timeout)
        run = self._owned_run(user, run_id)
        if run is None or isinstance(run, Run):
            return [] if run is None else run.log.read(offset, timeout)
        return self._stored_events(run, offset, timeout)

    def run_status(self, user: User, run_id: str) -> str | None:
        """ "running" or how the run ended; a run whose process died ended with an error."""
        run = self._owned_run(user, run_id)
        if run is None or isinstance(run, Run):
            return run.status if run else None
        status = self._settled(run).status
        return "error" if status == "lost" else status

    # --- export and import ----------------------------------------------------------------------

    def export_thread(self, user: User, thread_id: str) -> bytes:
        """The whole thread (every checkpoint and branch) as JSON lines (`agent.transfer`)."""
        return "".join(transfer.export_thread(self, user, thread_id)).encode()

    def import_thread(self, user: User, data: bytes) -> ThreadInfo:
        """A new thread of `user`'s from an export; TransferError (nothing written) if it is bad."""
        return transfer.import_thread(self, user, data)

    # --- what this backend is ----------------------------------------------------------------------

    def graph_view(self) -> GraphView:
        """The compiled graph's shape, from LangGraph's own drawing of it (so it always matches);
        your own graph's subgraphs drawn inside it (`xray`: their nodes as `parent:node`)."""
        drawing = self.graph.get_graph(xray=not self.kit.builtin)
        return GraphView(
            nodes=tuple(drawing.nodes),
            edges=tuple(GraphEdge(e.source, e.target, bool(e.conditional)) for e in drawing.edges),
            approval_node=ACTION if self.kit.builtin else "",
            pause_before=_node_list(self.graph.interrupt_before_nodes),
            pause_after=_node_list(self.graph.interrupt_after_nodes),
            static_breakpoints=bool(
                self.graph.interrupt_before_nodes or self.graph.interrupt_after_nodes
            ),
        )

    def info(self, user: User = LOCAL_USER) -> BackendInfo:
        """The settings' defaults for the settings panel; whether keys are set, never the keys.

        On a shared deployment the keys are the owner's: a logged-in user or a visitor is told
        they exist only where the owner shares them (`agent.key_policy`).
        """
        _check_input(user=user)
        settings = settings_for(self.settings, shared=user.kind != LOCAL_USER.kind)
        return BackendInfo(
            default_provider=settings.default_provider,
            default_search=settings.default_search,
            model_name=settings.model_name,
            openai_base_url=settings.openai_base_url,
            has_openai_key=settings.openai_api_key is not None,
            has_tavily_key=settings.tavily_api_key is not None,
            tool_names=(TOOL_NAME,) if self.kit.builtin else tuple(self._seen_tools),
            known_tools=(TOOL_NAME,) if self.kit.builtin else self.kit.hitl_tools,
            visitors=settings.visitors,
            visitor_hours=settings.visitor_hours,
            graph_name=self.kit.name,
            graph_description=self.kit.description,
            graphs=self._graph_names,
            chat_messages=self.kit.messages_key is not None,
            input_example=self.kit.input_example(),
        )

    def exposure_problem(self, address: str | None, auth_configured: bool) -> str | None:
        """The sentence refusing to serve this address as set up, or None (`agent.exposure`)."""
        return exposure_problem(address, auth_configured, self.settings)

    def sweep_visitors(self) -> int:
        """Delete expired visitor threads, at most every few minutes however often asked."""
        return self._visitor_sweep.maybe_run(self)

    def list_models(self, base_url: str, api_key: str | None = None) -> tuple[str, ...]:
        """The models an OpenAI-compatible server lists; without `api_key`, with the settings' key.

        ModelListError (a sentence naming the fix) when the server cannot be asked.
        """
        if not isinstance(base_url, str) or not base_url.strip():
            raise ModelListError("Give the server's base URL, e.g. http://localhost:11434/v1.")
        return list_models(base_url.strip(), api_key or self.settings.openai_api_key)

    # --- the lesson (agent.lesson) -------------------------------------------------------------

    def mark_lesson_thread(
        self, user: User, thread_id: str, step: str, run_id: str | None = None
    ) -> None:
        """Mark one of the user's threads as the lesson's scratch thread for `step`."""
        _check_input(("run_id",), step=step, run_id=run_id)
        self._owned(user, thread_id)
        try:
            self.lesson.add(user.id, step, thread_id, run_id)
        except ValueError as problem:
            raise InputError(str(problem)) from problem

    def lesson_threads(self, user: User) -> tuple[LessonThread, ...]:
        """The user's scratch threads that still exist, oldest first (marks of deleted ones go)."""
        _check_input(user=user)
        marks = self.lesson.threads(user.id)
        gone = [m.thread_id for m in marks if self.threads.find_owned(m.thread_id, user.id) is None]
        self.lesson.forget(user.id, gone)
        return tuple(m for m in marks if m.thread_id not in gone)

    def reset_lesson(self, user: User) -> int:
        """Delete the user's scratch threads (stopping their runs); return how many there were."""
        scratch = list(dict.fromkeys(m.thread_id for m in self.lesson_threads(user)))
        for thread_id in scratch:
            self.delete_thread(user, thread_id)
        self.lesson.forget(user.id, scratch)
        return len(scratch)

    def restart_engine(self, user: User, thread_id: str) -> EngineRestart:
        """Read the thread through a brand-new engine over the same database, then close it.

        A real restart of what persistence depends on (connections, checkpointers, the compiled
        graph, the run bookkeeping a starting server does) that is safe on a shared deployment:
        this engine, and every run on it, keeps going (`agent.lesson`).
        """
        self._owned(user, thread_id)
        database = "Postgres" if self.settings.database_url else "SQLite"
        return read_through_new_engine(
            lambda: LocalBackend(self.settings), user, thread_id, database
        )

    # --- time travel -----------------------------------------------------------------------------
    #
    # Every edit is a fork: `update_state` on a checkpoint writes a new child of it, and the
    # original checkpoints never change. The new checkpoint is the thread's newest, so the chat
    # shows it (any branch head is cleared). `as_node` picks what runs next on a replay:
    #
    #   edited                       as_node                       next
    #   human message                __start__                     llm: the model answers the edit
    #     (tool calls open there)    llm                           action: approval first, since
    #                                                              the model must not run over
    #                                                              unanswered calls
    #   AI text or tool-call args,   the node that keeps the       unchanged: at a halt `llm`, so
    #   tool result                  checkpoint's next             `action` stays next and the
    #                                (as_node_keeping_next)        edited call is asked again; after
    #                                                              `action` the model reads the
    #                                                              edited result; finished stays
    #                                                              finished

    def _refuse_while_running(self, thread_id: str) -> None:
        if self.is_running(thread_id):
            raise ThreadBusy(thread_id)

    def _checkpoint_snapshot(self, thread_id: str, checkpoint_id: str) -> StateSnapshot:
        try:
            return self.history.snapshot(thread_id, checkpoint_id)
        except UnknownCheckpoint as error:
            raise InputError(str(error)) from error

    def _settle(self, thread_id: str) -> ThreadInfo:
        """After a write outside a run: the newest checkpoint is what the chat shows."""
        self.threads.set_branch_head(thread_id, None)
        return self.touch_shown(thread_id)

    def touch_shown(self, thread_id: str, run_status: str | None = None) -> ThreadInfo:
        """Record the status and message count of what the chat shows (the branch head's state)."""
        snapshot = self._shown_snapshot(thread_id)
        return self.threads.touch(
            thread_id,
            status=status_of(snapshot, run_status),
            message_count=len(snapshot.values.get("messages", [])),
        )

    def timeline(
        self,
        user: User,
        thread_id: str,
        limit: int = 50,
        offset: int = 0,
        written_by: str | None = None,
    ) -> TimelinePage:
        """The thread's checkpoints, newest first, one page at a time, with the total and the tree;
        with `written_by` (a node's name), only the checkpoints that node wrote.

        Built from `checkpointer.list` and one query over checkpoint ids (never from
        `get_state_history`, which rebuilds every state): see `agent.timeline`.
        """
        _check_input(("written_by",), limit=limit, offset=offset, written_by=written_by)
        info = self._owned(user, thread_id)
        return self.history.page(thread_id, self._branch_head(info), limit, offset, written_by)

    def checkpoint_detail(
        self, user: User, thread_id: str, checkpoint_id: str, checkpoint_ns: str = ""
    ) -> CheckpointDetail:
        """One checkpoint: its state, next node(s), metadata, pending writes and interrupts, and
        what changed from its parent; with `checkpoint_ns`, one of a subgraph's own."""
        _check_input(("checkpoint_ns",), checkpoint_id=checkpoint_id, checkpoint_ns=checkpoint_ns)
        info = self._owned(user, thread_id)
        try:
            if checkpoint_ns:
                return self.history.subgraph_detail(thread_id, checkpoint_ns, checkpoint_id)
            return self.history.detail(thread_id, checkpoint_id, self._branch_head(info))
        except UnknownCheckpoint as error:
            raise InputError(str(error)) from error

    def _from_subgraph(
        self, thread_id: str, namespace: str, checkpoint_id: str, op: str
    ) -> SeededReplay:
        """Where a run from a subgraph checkpoint goes on (`agent.timeline.subgraphs`): the thread
        itself when it stands there already (its latest checkpoint runs that subgraph, and this is
        the subgraph's newest checkpoint), else a fork of the parent with a copy of it."""
        saver = self.history.saver
        try:
            parent_id = sg.parent_of(saver, thread_id, namespace, checkpoint_id)
        except UnknownCheckpoint as error:
            raise InputError(str(error)) from error
        latest = self.history.latest_id(thread_id)
        if parent_id == latest and sg.newest_in(saver, thread_id, namespace) == checkpoint_id:
            return SeededReplay(parent_id, namespace, checkpoint_id)
        written_by = self.history.detail(thread_id, parent_id, None).row.written_by
        try:
            seeded = sg.seed_replay(
                self.graph,
                saver,
                thread_id,
                namespace,
                checkpoint_id,
                written_by[0] if written_by else START,
                {tl.OP: op, tl.AS_NODE: written_by[0] if written_by else START},
            )
        except ValueError as problem:
            raise InputError(str(problem)) from None
        self.threads.set_branch_head(thread_id, None)  # the fork is the latest checkpoint
        return seeded

    def _resume_subgraph(
        self,
        thread_id: str,
        namespace: str,
        checkpoint_id: str,
        choices: AgentChoices,
        options: RunOptions,
    ) -> RunHandle:
        """Replay from inside a subgraph: the run continues the thread's latest checkpoint, which
        `_from_subgraph` makes a fork that resumes the subgraph at `checkpoint_id` (a run sent
        that checkpoint's config would rerun the whole subgraph, langgraph #8458)."""

        def seed() -> Prelude:
            seeded = self._from_subgraph(thread_id, namespace, checkpoint_id, "subgraph_replay")
            return Prelude(
                calls=(
                    f"# from {namespace}, checkpoint {checkpoint_id}: the parent forked at "
                    f"{seeded.parent_fork_id}, the subgraph checkpoint copied to "
                    f"{seeded.namespace}, checkpoint {seeded.checkpoint_id}",
                )
            )

        return self._start(thread_id, None, choices, options, before_start=seed)

    def edit_subgraph_state(
        self,
        user: User,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        values: str,
        as_node: str | None = None,
    ) -> tuple[str, str]:
        """Edit a subgraph's own state at one of its checkpoints: `update_state` on it, in the
        namespace where a run goes on from it (`_from_subgraph`), written as the subgraph's node
        `as_node` (None: as LangGraph infers). Returns that namespace and the new checkpoint's id;
        Replay from it continues the subgraph with the edit."""
        _check_input(
            ("checkpoint_ns", "written_by"),
            checkpoint_id=checkpoint_id,
            checkpoint_ns=checkpoint_ns,
            text=values,
            written_by=as_node,
        )
        self._owned(user, thread_id)
        self._refuse_while_running(thread_id)
        if not checkpoint_ns:
            raise InputError("This checkpoint is the parent's: edit it with the state editor.")
        try:
            detail = self.history.subgraph_detail(thread_id, checkpoint_ns, checkpoint_id)
        except UnknownCheckpoint as error:
            raise InputError(str(error)) from error
        changes = sg.checked_values(self.graph, checkpoint_ns, values, as_node)
        seeded = self._from_subgraph(thread_id, checkpoint_ns, checkpoint_id, "edit_state")
        config = sg.config_in(thread_id, seeded.namespace, seeded.checkpoint_id)
        new_id = self._write_state(config, changes, as_node)
        log.info("thread %s: subgraph state edited at %s", thread_id, detail.checkpoint_id)
        return seeded.namespace, new_id

    def edit_state(
        self,
        user: User,
        thread_id: str,
        checkpoint_id: str,
        values: str,
        as_node: str | None = None,
    ) -> str:
        """Fork your own graph from `checkpoint_id` with some of its state channels changed
        (`values`: a JSON object), written as `as_node` (None: as LangGraph infers); return the
        new checkpoint's id, which the chat then shows. Checked against the state schema where
        the graph has one; nothing is written when a value does not fit."""
        _check_input(("written_by",), checkpoint_id=checkpoint_id, text=values, written_by=as_node)
        self._owned(user, thread_id)
        self._refuse_while_running(thread_id)
        if self.kit.builtin:
            raise InputError("The built-in agent's state is its messages: edit a message instead.")
        snapshot = self._checkpoint_snapshot(thread_id, checkpoint_id)
        changes = self.kit.checked_values(values)
        if as_node is not None and as_node not in self.graph.nodes:
            raise InputError(f"The graph has no node {as_node!r}: pick one of its nodes.")
        new_id = self._write_state(snapshot.config, changes, as_node)
        self._follow(thread_id, new_id)
        self.touch_shown(thread_id)
        return new_id

    def _write_state(
        self, config: RunnableConfig, changes: dict[str, Any], as_node: str | None
    ) -> str:
        """`update_state` at `config` labelled as a state edit for the timeline; the new
        checkpoint's id. A node LangGraph cannot infer is a sentence, and nothing is written."""
        labelled: RunnableConfig = {
            **config,
            "metadata": {tl.OP: "edit_state", tl.AS_NODE: as_node or "", tl.COUNT: len(changes)},
        }
        try:
            written = self.graph.update_state(labelled, changes, as_node=as_node)
        except InvalidUpdateError as problem:
            raise InputError(
                f"LangGraph cannot tell which node this update is from ({problem}): pick the "
                "node to write it as."
            ) from None
        return written["configurable"]["checkpoint_id"]

    def edit_message(
        self,
        user: User,
        thread_id: str,
        checkpoint_id: str,
        message_id: str,
        *,
        text: str | None = None,
        tool_args: Mapping[str, Any] | str | None = None,
        tool_call_id: str | None = None,
        tool_result: str | None = None,
        choices: AgentChoices | None = None,
    ) -> str:
        """Fork from `checkpoint_id` with one message changed; return the new checkpoint's id.

        Give exactly one of `text` (a human or AI message), `tool_args` (one call of an AI
        message: `tool_call_id`, optional when it has one call; a dict or JSON text, checked
        against the tool's schema as the approval panel checks an edit) or `tool_result` (a tool
        message). The message keeps its id, so the edit replaces it. Invalid input raises
        InputError or DecisionError before anything is written. The table above says what runs
        next on a replay (`resume` with the returned id, or from the chat: it shows this fork).
        """
        _check_input(  # tool_args of any type get a DecisionError from validate_args
            ("text", "tool_call_id", "tool_result", "choices"),
            checkpoint_id=checkpoint_id,
            message_id=message_id,
            text=text,
            tool_call_id=tool_call_id,
            tool_result=tool_result,
            choices=choices,
        )
        self._owned(user, thread_id)
        self._refuse_while_running(thread_id)
        snapshot = self._checkpoint_snapshot(thread_id, checkpoint_id)
        if START in snapshot.next:
            raise InputError(
                "At this checkpoint a new message has arrived but has not joined the conversation "
                "yet. Edit at the checkpoint after it."
            )
        messages = list(snapshot.values.get("messages", []))
        position = next((i for i, m in enumerate(messages) if m.id == message_id), None)
        if position is None:
            raise InputError(
                f"There is no message {message_id!r} at this checkpoint. Pick a message shown "
                "in its state."
            )
        message = messages[position]
        replacement, part, tool = self._edited(
            message,
            text=text,
            tool_args=tool_args,
            tool_call_id=tool_call_id,
            tool_result=tool_result,
            choices=choices,
        )
        if isinstance(message, HumanMessage) and not open_tool_calls(messages)[1]:
            as_node = START
        else:
            as_node = as_node_keeping_next(snapshot.next, messages)
        metadata = {
            tl.OP: "edit",
            tl.AS_NODE: as_node,
            tl.MESSAGE: message_id,
            tl.POSITION: position + 1,
            tl.PART: part,
        }
        if tool:
            metadata[tl.TOOL] = tool
        config = self.graph.update_state(
            {**snapshot.config, "metadata": metadata}, {"messages": [replacement]}, as_node=as_node
        )
        self._settle(thread_id)
        return config["configurable"]["checkpoint_id"]

    def _edited(
        self,
        message: BaseMessage,
        *,
        text: str | None,
        tool_args: Mapping[str, Any] | str | None,
        tool_call_id: str | None,
        tool_result: str | None,
        choices: AgentChoices | None,
    ) -> tuple[BaseMessage, str, str | None]:
        """The replacement message, which part changed, and the tool concerned (if any)."""
        given = [
            name
            for name, value in (
                ("text", text),
                ("tool_args", tool_args),
                ("tool_result", tool_result),
            )
            if value is not None
        ]
        if not given:
            raise InputError("Nothing to change: give the new text, arguments or tool result.")
        if len(given) > 1:
            raise InputError(
                "Change one thing at a time: the text, one call's arguments, or a tool result."
            )
        if text is not None:
            if isinstance(message, ToolMessage):
                raise InputError("This is a tool result: change it as the result, not as text.")
            clean = self._clean_text(text)
            if clean == message_text(message):
                raise InputError("That is what the message already says.")
            return message.model_copy(update={"content": clean}), "text", None
        if tool_args is not None:
            if not isinstance(message, AIMessage) or not message.tool_calls:
                raise InputError("Only a message that calls tools has arguments to change.")
            calls = list(message.tool_calls)
            if tool_call_id is None and len(calls) > 1:
                raise InputError(f"This message makes {len(calls)} calls: say which one to change.")
            call = (
                calls[0]
                if tool_call_id is None
                else next((c for c in calls if c["id"] == tool_call_id), None)
            )
            if call is None:
                raise InputError(f"This message has no tool call {tool_call_id!r}.")
            chosen = choices or AgentChoices.defaults(self.settings)
            call_id = str(call["id"])
            args = validate_decisions(
                {call_id: {"action": "edit", "args": tool_args}}, [dict(call)], self._tools(chosen)
            )[call_id]["args"]
            if args == call["args"]:
                raise InputError("Those are the arguments the call already has.")
            changed = [{**c, "args": args} if c["id"] == call["id"] else c for c in calls]
            return message.model_copy(update={"tool_calls": changed}), "tool_args", call["name"]
        if not isinstance(message, ToolMessage):
            raise InputError("Only a tool result can be changed as a result.")
        content = str(tool_result).strip()
        if not content:
            raise DecisionError("Write the answer the tool should give.")
        if problem := too_long(content, MAX_TOOL_RESULT_CHARS, "That result"):
            raise InputError(problem)
        if content == message_text(message) and message.status != "error":
            raise InputError("That is what the result already says.")
        return (
            message.model_copy(update={"content": content, "status": "success"}),
            "tool_result",
            message.name,
        )

    @staticmethod
    def _clean_text(text: str) -> str:
        clean = text.strip()
        if not clean:
            raise InputError("A message cannot be empty: type the new text.")
        if problem := too_long(
            clean, MAX_MESSAGE_CHARS, fix="Shorten it or split it into several messages."
        ):
            raise InputError(problem)
        return clean

    def fork_thread(
        self, user: User, thread_id: str, checkpoint_id: str, title: str | None = None
    ) -> ThreadInfo:
        """A new thread ("Fork of ...") whose past is the path to a checkpoint; the original stays.

        The new thread gets the checkpoint and its ancestors with their writes, ids kept
        (`CheckpointStore.copy_branch`): its timeline shows the steps that led there, not later
        checkpoints nor other branches. On top comes one "forked from" checkpoint with the same
        messages and next node(s), so a fork of a halt asks for approval again (the approval
        given in the original, which lives in the fork point's writes, is not copied). A fork of
        an input checkpoint adds the message that was arriving there, with the model next, as
        in the original. The index remembers the origin (`forked_from`, `forked_at_checkpoint`).
        """
        _check_input(("title",), checkpoint_id=checkpoint_id, title=title)
        source = self._owned(user, thread_id)
        snapshot = self._checkpoint_snapshot(thread_id, checkpoint_id)
        values, as_node = self._fork_write(thread_id, checkpoint_id, snapshot)
        name = " ".join((title or "").split()) or f"Fork of {source.title}"
        info = self.threads.create(
            name, owner=user.id, forked_from=thread_id, forked_at_checkpoint=checkpoint_id
        )
        try:
            self.store.copy_branch(thread_id, info.id, checkpoint_id)
            metadata = {
                tl.OP: "fork_thread",
                tl.AS_NODE: as_node,
                tl.SOURCE_THREAD: thread_id,
                tl.SOURCE_CHECKPOINT: checkpoint_id,
                tl.SOURCE_TITLE: source.title,
            }
            self.graph.update_state(
                {**tl.config_at(info.id, checkpoint_id), "metadata": metadata},
                values,
                as_node=as_node,
            )
        except BaseException:
            self.purge_threads([info.id])
            raise
        return self._settle(info.id)

    def _fork_write(
        self, thread_id: str, checkpoint_id: str, snapshot: StateSnapshot
    ) -> tuple[Any, str]:
        """The update on top of a fork (values, as_node) that keeps the fork point's next
        node(s), and the input that was arriving there (an input checkpoint's), if any.

        Your graph's next node then runs afresh in the fork: an `interrupt()` in it (a question,
        a HITL request) is asked again, since the answer, in the fork point's writes, stays
        behind."""
        arriving: Any = None
        if START in snapshot.next:
            stored = self.history.tuple_of(thread_id, checkpoint_id).checkpoint
            arriving = stored.get("channel_values", {}).get(START) or {}
        if not self.kit.builtin:
            if START in snapshot.next:
                return (dict(arriving) if isinstance(arriving, Mapping) else None), START
            return None, self._keeping_next(thread_id, snapshot)
        messages = list(snapshot.values.get("messages", []))
        found = arriving.get("messages", []) if isinstance(arriving, Mapping) else []
        added = [m.model_copy() for m in found if isinstance(m, BaseMessage)]
        next_nodes = (LLM,) if START in snapshot.next else tuple(snapshot.next)
        return {"messages": added}, as_node_keeping_next(next_nodes, messages + added)

    def show_branch(self, user: User, thread_id: str, checkpoint_id: str | None) -> ThreadInfo:
        """Show the state at `checkpoint_id` in the chat ("Show this branch in chat").

        It becomes the thread's branch head: `thread_view` shows it, and the next run started from
        the chat (send_message, decide, resume) continues from it. None, or the latest checkpoint,
        clears the head. A timeline row's `branch_tip` shows the newest state of its branch.
        """
        _check_input(("checkpoint_id",), checkpoint_id=checkpoint_id)
        self._owned(user, thread_id)
        self._refuse_while_running(thread_id)
        if checkpoint_id is not None and not self.history.exists(thread_id, checkpoint_id):
            raise InputError(str(UnknownCheckpoint(thread_id, checkpoint_id)))
        if checkpoint_id is None:
            self.threads.set_branch_head(thread_id, None)
        else:
            self._follow(thread_id, checkpoint_id)
        return self.touch_shown(thread_id)

    def message_versions(self, user: User, thread_id: str) -> tuple[MessageVersions, ...]:
        """For the chat's `< 2 / 3 >` switcher: each shown message that has sibling versions.

        The rule (what counts as a sibling, which checkpoint each version shows, their order) is
        in `agent.timeline`'s docstring. Cached until the thread's tree or branch head changes.
        """
        info = self._owned(user, thread_id)
        return self.history.versions(thread_id, self._branch_head(info))

    def switch_branch(self, user: User, thread_id: str, message_id: str, index: int) -> ThreadInfo:
        """Show version `index` (0-based) of a shown message: `show_branch` on its checkpoint."""
        _check_input(message_id=message_id, index=index)
        for versions in self.message_versions(user, thread_id):
            if versions.message_id == message_id:
                if not 0 <= index < versions.count:
                    raise InputError(
                        f"This message has {versions.count} versions; pick 1 to {versions.count}."
                    )
                return self.show_branch(user, thread_id, versions.versions[index].checkpoint_id)
        raise InputError("This message has no other versions to switch to.")

    def regenerate(
        self,
        user: User,
        thread_id: str,
        ai_message_id: str,
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
    ) -> RunHandle:
        """Run the model again for one of its answers in the shown conversation.

        It replays from the checkpoint just before the answer was written (time travel: LangGraph
        forks there and runs `llm`), so the new answer is a sibling version of the old one. When
        that checkpoint's conversation differs from the shown one before the answer (an earlier
        message was edited in place since), it forks from the shown checkpoint instead, with the
        answer and what follows it removed. Tools it asks for are asked for approval as usual.
        """
        _check_input(ai_message_id=ai_message_id, choices=choices, options=options)
        info = self._owned(user, thread_id)
        shown_id = self._shown_id(info)
        shown = self.history.messages_at(thread_id, shown_id) if shown_id else []
        position = next((i for i, m in enumerate(shown) if m.id == ai_message_id), None)
        if shown_id is None or position is None or not isinstance(shown[position], AIMessage):
            raise InputError("Pick one of the model's answers in the conversation to regenerate.")
        if position == 0:
            raise InputError("There is no message before this answer to answer again.")
        skeleton = self.history.skeleton(thread_id)
        first = self.history.first_holding(
            thread_id, skeleton, shown_id, lambda ms: any(m.id == ai_message_id for m in ms)
        )
        before = skeleton.parent(first) if first else None
        if before is not None:
            earlier = self.history.messages_at(thread_id, before)
            stored = self.history.tuple_of(thread_id, before).checkpoint
            next_nodes = self.history.next_nodes(stored)
            if (
                next_nodes == (LLM,)
                and len(earlier) == position
                and divergence(earlier, shown[:position]) is None
            ):
                return self._start(
                    thread_id,
                    None,
                    choices,
                    options,
                    checkpoint_id=before,
                    before_start=lambda: self._follow(thread_id, before),
                )
        kept = shown[:position]
        removing = [RemoveMessage(id=str(m.id)) for m in shown[position:]]
        as_node = as_node_keeping_next((LLM,), kept)
        metadata = {
            tl.OP: "regenerate",
            tl.AS_NODE: as_node,
            tl.MESSAGE: ai_message_id,
            tl.POSITION: position + 1,
            tl.COUNT: len(removing),
        }
        return self._start(
            thread_id,
            None,
            choices,
            options,
            before_start=lambda: self._fork_update(thread_id, shown_id, metadata, removing),
        )

    def _fork_update(
        self, thread_id: str, checkpoint_id: str, metadata: dict[str, Any], messages: list
    ) -> Prelude:
        config: RunnableConfig = {**tl.config_at(thread_id, checkpoint_id), "metadata": metadata}
        call = self._update(config, {"messages": messages}, metadata[tl.AS_NODE])
        self.threads.set_branch_head(thread_id, None)
        return Prelude(calls=(call,))

    def edit_and_resend(
        self,
        user: User,
        thread_id: str,
        human_message_id: str,
        text: str,
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
    ) -> RunHandle:
        """Edit one of your past messages in the shown conversation and run from there.

        It forks at the checkpoint where that message had just joined the conversation (its last
        message, `llm` next), with the new text under the same id, and runs: the answer that
        follows is a sibling version of the old one, and so is the edited message. If the
        conversation before it has changed since (edited in place), it forks from the shown
        checkpoint instead, with the later messages removed. The same text sends it again.
        """
        _check_input(human_message_id=human_message_id, text=text, choices=choices, options=options)
        info = self._owned(user, thread_id)
        clean = self._clean_text(text)
        shown_id = self._shown_id(info)
        shown = self.history.messages_at(thread_id, shown_id) if shown_id else []
        position = next((i for i, m in enumerate(shown) if m.id == human_message_id), None)
        if shown_id is None or position is None or not isinstance(shown[position], HumanMessage):
            raise InputError("Pick one of your messages in the conversation to edit.")
        replacement = shown[position].model_copy(update={"content": clean})
        skeleton = self.history.skeleton(thread_id)
        first = self.history.first_holding(
            thread_id, skeleton, shown_id, lambda ms: any(m.id == human_message_id for m in ms)
        )
        later = [RemoveMessage(id=str(m.id)) for m in shown[position + 1 :]]
        target, values = shown_id, [replacement, *later]
        if first is not None and skeleton.metadata[first].get("source") != "input":
            there = self.history.messages_at(thread_id, first, skeleton)
            if len(there) == position + 1 and divergence(there, shown, position) is None:
                target, values = first, [replacement]
        metadata = {
            tl.OP: "resend",
            tl.AS_NODE: START,
            tl.MESSAGE: human_message_id,
            tl.POSITION: position + 1,
        }
        return self._start(
            thread_id,
            None,
            choices,
            options,
            before_start=lambda: self._fork_update(thread_id, target, metadata, values),
        )
