"""The one interface pages talk to: threads, state, runs and human decisions, as plain data.

`LocalBackend` runs the engine inside this process. A later implementation will speak to a LangGraph
Agent Server through `langgraph-sdk` with the same methods, which is how Waypoint grows past one
machine; so no LangGraph object crosses this boundary, only events, views and thread rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from agent.approval import CANCELLED_TEXT, DecisionError, validate_decisions
from agent.context import AgentChoices, ContextFactory
from agent.events import Error, Event
from agent.graph import ACTION, RunContext, build_graph, open_tool_calls
from agent.persistence import Persistence
from agent.runs import Run, RunManager, RunOptions
from agent.settings import Settings
from agent.threads import ThreadInfo, ThreadStatus, UnknownThread, title_from_text
from agent.views import ThreadView, ToolCallView, message_views

MAX_MESSAGE_CHARS = 20_000


class InputError(ValueError):
    """The user's input cannot be used as it is; the message says how to fix it."""


def _last_error(info: ThreadInfo, latest: Run | None) -> str | None:
    """The error that ended the thread's last run, also after a restart (when its log is gone)."""
    if latest is not None:
        errors = [e.message for e in latest.log.read(0) if isinstance(e, Error)]
        if errors:
            return errors[-1]
    if info.status == "error":
        return "The last run on this thread ended with an error. Retry to run the model again."
    return None


def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def pending_calls(snapshot: StateSnapshot) -> tuple[ToolCallView, ...]:
    """Calls waiting for a human: the interrupt's, or every open call when `action` is next."""
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
    if pending_calls(snapshot):
        return "waiting"
    return "error" if run_status == "error" else "idle"


class LocalBackend:
    """The engine in this process: one database, two engines, background runs."""

    def __init__(
        self,
        settings: Settings,
        *,
        persistence: Persistence | None = None,
        contexts: Callable[[AgentChoices, frozenset[str]], RunContext] | None = None,
    ):
        self.settings = settings
        self.persistence = persistence or Persistence.open(settings.db_path)
        self.threads = self.persistence.threads
        self.contexts = contexts or ContextFactory(settings)
        self.graph = build_graph(self.persistence.saver)
        self._async_graph: CompiledStateGraph | None = None
        self._async_lock = threading.Lock()
        self.runs = RunManager(
            self.graph, self._get_async_graph, self.persistence.loop, on_finish=self._record_end
        )
        self._reconcile_interrupted_runs()

    def _get_async_graph(self) -> CompiledStateGraph:
        with self._async_lock:
            if self._async_graph is None:
                self._async_graph = build_graph(self.persistence.async_saver)
            return self._async_graph

    def _reconcile_interrupted_runs(self) -> None:
        """A thread still marked 'running' lost its run when the last process stopped."""
        for thread_id in self.threads.ids_with_status("running"):
            self.threads.set_status(thread_id, status_of(self._snapshot(thread_id)))

    def close(self) -> None:
        self.persistence.close()

    # --- threads ---------------------------------------------------------------------------------

    def create_thread(self, title: str = "New thread") -> ThreadInfo:
        return self.threads.create(title)

    def list_threads(self, search: str = "", limit: int = 50, offset: int = 0) -> list[ThreadInfo]:
        return self.threads.list(search=search, limit=limit, offset=offset)

    def count_threads(self, search: str = "") -> int:
        return self.threads.count(search=search)

    def get_thread(self, thread_id: str) -> ThreadInfo:
        return self.threads.get(thread_id)

    def find_thread(self, thread_id: str) -> ThreadInfo | None:
        return self.threads.find(thread_id)

    def rename_thread(self, thread_id: str, title: str) -> ThreadInfo:
        try:
            return self.threads.rename(thread_id, title)
        except ValueError as error:
            raise InputError(str(error)) from error

    def delete_thread(self, thread_id: str, timeout: float = 10) -> None:
        """Delete a thread and all its checkpoints, stopping its run first."""
        self.threads.get(thread_id)
        run = self.runs.active_run(thread_id)
        if run is not None:
            self.runs.cancel(run.id)
            run.log.wait_closed(timeout)
        self.persistence.saver.delete_thread(thread_id)
        self.threads.delete(thread_id)
        self.runs.forget_thread(thread_id)

    # --- state -----------------------------------------------------------------------------------

    def _snapshot(self, thread_id: str, checkpoint_id: str | None = None) -> StateSnapshot:
        return self.graph.get_state(_config(thread_id, checkpoint_id))

    def thread_view(self, thread_id: str) -> ThreadView:
        info = self.threads.get(thread_id)
        snapshot = self._snapshot(thread_id)
        active = self.runs.active_run(thread_id)
        latest = self.runs.latest_run(thread_id)
        return ThreadView(
            thread=info,
            messages=message_views(snapshot.values.get("messages", [])),
            checkpoint_id=(snapshot.config or {}).get("configurable", {}).get("checkpoint_id"),
            next_nodes=tuple(snapshot.next),
            pending_calls=() if active else pending_calls(snapshot),
            active_run_id=active.id if active else None,
            last_run_id=latest.id if latest else None,
            last_error=None if active else _last_error(info, latest),
        )

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
        before_start: Callable[[], None] | None = None,
        title: str | None = None,
    ) -> Run:
        context = self.contexts(choices, deciding)
        run = self.runs.start(
            thread_id,
            payload,
            context,
            options,
            checkpoint_id=checkpoint_id,
            before_start=before_start,
        )
        self.threads.touch(thread_id, status="running", title=title)
        return run

    def _record_end(self, run: Run) -> None:
        snapshot = self._snapshot(run.thread_id)
        if self.threads.find(run.thread_id) is None:
            return  # deleted while running
        self.threads.touch(
            run.thread_id,
            status=status_of(snapshot, run.status),
            message_count=len(snapshot.values.get("messages", [])),
        )

    def send_message(
        self, thread_id: str, text: str, choices: AgentChoices, options: RunOptions = RunOptions()
    ) -> Run:
        """Add a human message and run. Pending tool calls are closed first as cancelled."""
        text = text.strip()
        if not text:
            raise InputError("Type a message first.")
        if len(text) > MAX_MESSAGE_CHARS:
            raise InputError(
                f"That message is {len(text):,} characters long; the limit is "
                f"{MAX_MESSAGE_CHARS:,}. Shorten it or split it into several messages."
            )
        info = self.threads.get(thread_id)
        first = info.message_count == 0 and not self._snapshot(thread_id).values.get("messages")
        return self._start(
            thread_id,
            {"messages": [HumanMessage(text)]},
            choices,
            options,
            before_start=lambda: self._close_pending_calls(thread_id),
            title=text if first and info.title == "New thread" else None,
        )

    def _close_pending_calls(self, thread_id: str) -> None:
        """Answer open tool calls with "cancelled", so the history stays valid for any provider."""
        snapshot = self._snapshot(thread_id)
        if ACTION not in snapshot.next:
            return
        _, calls = open_tool_calls(snapshot.values.get("messages", []))
        if calls:
            closing = [
                ToolMessage(CANCELLED_TEXT, tool_call_id=c["id"], name=c["name"], status="error")
                for c in calls
            ]
            self.graph.update_state(snapshot.config, {"messages": closing}, as_node=ACTION)

    def decide(
        self,
        thread_id: str,
        decisions: Mapping[str, Mapping[str, Any]],
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
    ) -> Run:
        """Apply the human's decision on each pending call and continue the run.

        Invalid decisions raise DecisionError before anything is written.
        """
        snapshot = self._snapshot(thread_id)
        calls = [{"id": c.id, "name": c.name, "args": c.args} for c in pending_calls(snapshot)]
        if not calls:
            raise InputError("Nothing is waiting for approval on this thread.")
        tools = self.contexts(choices, frozenset()).tools
        clean = validate_decisions(decisions, calls, tools)
        return self._start(
            thread_id, Command(resume=clean), choices, options, deciding=frozenset(clean)
        )

    def decision_problem(
        self, call: ToolCallView, decision: Mapping[str, Any], choices: AgentChoices
    ) -> str | None:
        """What is wrong with one decision (for an inline error as the user types), or None."""
        tools = self.contexts(choices, frozenset()).tools
        try:
            validate_decisions({call.id: decision}, [{"id": call.id, "name": call.name}], tools)
        except DecisionError as problem:
            return str(problem)
        return None

    def resume(
        self,
        thread_id: str,
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
        checkpoint_id: str | None = None,
    ) -> Run:
        """Continue the thread (or replay from a past checkpoint). A tool never runs unasked."""
        self.threads.get(thread_id)
        return self._start(thread_id, None, choices, options, checkpoint_id=checkpoint_id)

    def any_run_active(self) -> bool:
        return self.runs.any_active()

    def cancel_run(self, run_id: str) -> bool:
        return self.runs.cancel(run_id)

    def read_events(self, run_id: str, offset: int = 0, timeout: float = 0.0) -> list[Event]:
        run = self.runs.get(run_id)
        if run is None:
            return []
        return run.log.read(offset, timeout)

    def run_status(self, run_id: str) -> str | None:
        run = self.runs.get(run_id)
        return run.status if run else None
