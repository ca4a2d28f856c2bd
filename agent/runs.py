"""Background runs: a graph run lives outside the page that started it.

Streamlit stops and reruns the page script on every click, so a run streamed inside the script
would be cut mid-token. Here a run executes on a worker thread (sync engine, `graph.stream`) or as a
task on the one background event loop (async engine, `graph.astream`) and appends typed events to
its own log. Pages read the log from an offset; any number of readers may follow one run, and the
log outlives them, so a refreshed page re-attaches and continues where it was.

A thread has at most one active run. Cancel is cooperative: the sync worker stops at the next
streamed token or node boundary, the async task is cancelled at its next await. Either way the
thread keeps its last checkpoint, which is always a valid state.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.callbacks import BaseCallbackHandler
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph

from agent.events import Done, Error, Event, RunStatus
from agent.graph import RunContext
from agent.loop import BackgroundLoop
from agent.provider_errors import describe_error
from agent.stream_events import StreamTranslator

Engine = Literal["sync", "async"]
Durability = Literal["sync", "async", "exit"]

ENGINE_HELP: dict[str, str] = {
    "sync": "graph.stream() on a worker thread, with the sync SQLite checkpointer.",
    "async": "graph.astream() on one background event loop, with the async SQLite checkpointer.",
}
DURABILITY_HELP: dict[str, str] = {
    "sync": "Each checkpoint is written before the next step starts: safest, a little slower.",
    "async": "Checkpoints are written in the background while the next step runs: faster, and a "
    "crash may lose the last step.",
    "exit": "Only each run's last checkpoint is written, when it ends or halts: least storage, "
    "no time travel inside a run.",
}
RECURSION_LIMIT = 40
KEEP_FINISHED_RUNS = 200


class ThreadBusy(RuntimeError):
    """The thread already has an active run."""

    def __init__(self, thread_id: str):
        super().__init__(
            "This thread is busy: a run is still going. Wait for it to finish or press Stop."
        )
        self.thread_id = thread_id


class RunCancelled(Exception):
    """Raised inside a run, at the next token or tool start, after the user pressed Stop."""


class _StopWhenCancelled(BaseCallbackHandler):
    """Stops the model at its next token (and tools before they start) once a run is cancelled.

    Closing a sync stream does not stop a node already running on LangGraph's executor; raising
    from a callback does, so a cancelled request does not keep streaming (and billing) unseen.
    """

    raise_error = True

    def __init__(self, run: Run):
        self.run = run

    def _check(self) -> None:
        if self.run.cancel_requested:
            raise RunCancelled("cancelled by the user")

    def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        self._check()

    def on_tool_start(self, *args: Any, **kwargs: Any) -> None:
        self._check()


class EventLog:
    """Append-only list of a run's events with blocking, offset-based reads."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._changed = threading.Condition()
        self.closed = False

    def append(self, event: Event) -> None:
        with self._changed:
            if self.closed:
                return
            self._events.append(event)
            self.closed = isinstance(event, Done)
            self._changed.notify_all()

    def read(self, offset: int = 0, timeout: float = 0.0) -> list[Event]:
        """Events from `offset` on; waits up to `timeout` seconds for at least one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._events) <= offset and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._events[offset:]

    def wait_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def __len__(self) -> int:
        with self._changed:
            return len(self._events)


@dataclass(frozen=True)
class RunOptions:
    """How to run: engine, what to stream, how durably to checkpoint."""

    engine: Engine = "sync"
    stream_tokens: bool = True
    durability: Durability = "sync"

    @property
    def stream_modes(self) -> list[str]:
        return ["messages", "updates"] if self.stream_tokens else ["updates"]


@dataclass
class Run:
    """One execution of the graph on a thread, and its event log."""

    thread_id: str
    options: RunOptions
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    log: EventLog = field(default_factory=EventLog)
    started_at: float = field(default_factory=time.time)
    status: Literal["running"] | RunStatus = "running"
    seq: int = 0
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _task: Any = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.status == "running"

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()


FinishHook = Callable[[Run], None]


class RunManager:
    """Starts runs in the background, keeps their logs, enforces one active run per thread."""

    def __init__(
        self,
        sync_graph: CompiledStateGraph,
        async_graph: Callable[[], CompiledStateGraph],
        loop: BackgroundLoop,
        on_finish: FinishHook | None = None,
    ):
        self._sync_graph = sync_graph
        self._async_graph = async_graph
        self._loop = loop
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._active: dict[str, Run] = {}
        self._latest: dict[str, Run] = {}
        self._seq = itertools.count(1)

    def start(
        self,
        thread_id: str,
        payload: Any,
        context: RunContext,
        options: RunOptions = RunOptions(),
        *,
        checkpoint_id: str | None = None,
        before_start: Callable[[], None] | None = None,
    ) -> Run:
        """Start a run; raise ThreadBusy if the thread already has one.

        `before_start` runs while the thread is reserved but before the graph starts (e.g. closing
        pending tool calls), so no second run can slip in between.
        """
        run = Run(thread_id=thread_id, options=options)
        with self._lock:
            current = self._active.get(thread_id)
            if current is not None and current.active:
                raise ThreadBusy(thread_id)
            run.seq = next(self._seq)
            self._active[thread_id] = run
            self._latest[thread_id] = run
            self._runs[run.id] = run
            while len(self._runs) > KEEP_FINISHED_RUNS:
                oldest_id, oldest = next(iter(self._runs.items()))
                if oldest.active:
                    break
                del self._runs[oldest_id]
                # A thread's latest run goes with its log: kept forever, one per thread ever run,
                # they were the soak's leak (bench/soak.py). The index keeps the thread's status.
                if self._latest.get(oldest.thread_id) is oldest:
                    del self._latest[oldest.thread_id]
        try:
            if before_start is not None:
                before_start()
        except BaseException:
            with self._lock:
                self._active.pop(thread_id, None)
                self._runs.pop(run.id, None)
                self._latest.pop(thread_id, None)
            raise
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        config = {
            "configurable": configurable,
            "recursion_limit": RECURSION_LIMIT,
            "metadata": {"waypoint_run": run.id},
            "callbacks": [_StopWhenCancelled(run)],
        }
        if options.engine == "async":
            # Resolved here, not on the loop: the async saver is created by waiting on the loop.
            graph = self._async_graph()
            run._task = self._loop.submit(self._arun(run, graph, payload, config, context))
            # A task cancelled before its first step never enters _arun's handlers.
            run._task.add_done_callback(lambda f: f.cancelled() and self._finish(run, "cancelled"))
        else:
            worker = threading.Thread(
                target=self._run_sync,
                args=(run, payload, config, context),
                name=f"waypoint-run-{run.id[:8]}",
                daemon=True,
            )
            run._task = worker
            worker.start()
        return run

    # --- execution -------------------------------------------------------------------------------

    def _run_sync(self, run: Run, payload: Any, config: dict, context: RunContext) -> None:
        translator = StreamTranslator()
        status: RunStatus = "done"
        try:
            stream = self._sync_graph.stream(
                payload,
                config,
                context=context,
                stream_mode=run.options.stream_modes,
                durability=run.options.durability,
            )
            with closing(stream):  # a cancelled stream releases its resources at once
                for mode, chunk in stream:
                    for event in translator.feed(mode, chunk):
                        run.log.append(event)
                    if run.cancel_requested:
                        status = "cancelled"
                        break
            if status == "done" and translator.halted:
                status = "halted"
        except RunCancelled:
            status = "cancelled"
        except Exception as error:
            status = "error"
            run.log.append(_error_event(error))
        self._finish(run, status)

    async def _arun(
        self, run: Run, graph: CompiledStateGraph, payload: Any, config: dict, context: RunContext
    ) -> None:
        translator = StreamTranslator()
        status: RunStatus = "done"
        try:
            async for mode, chunk in graph.astream(
                payload,
                config,
                context=context,
                stream_mode=run.options.stream_modes,
                durability=run.options.durability,
            ):
                for event in translator.feed(mode, chunk):
                    run.log.append(event)
            if translator.halted:
                status = "halted"
        except (asyncio.CancelledError, RunCancelled):
            status = "cancelled"
        except Exception as error:
            status = "error"
            run.log.append(_error_event(error))
        self._finish(run, status)

    def _finish(self, run: Run, status: RunStatus) -> None:
        if not run.active:
            return
        run.status = status
        if self._on_finish is not None:
            try:
                self._on_finish(run)
            except Exception as error:
                run.log.append(_error_event(error))
        with self._lock:
            if self._active.get(run.thread_id) is run:
                del self._active[run.thread_id]
        run.log.append(Done(status=status))

    # --- queries and control ---------------------------------------------------------------------

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def active_run(self, thread_id: str) -> Run | None:
        with self._lock:
            run = self._active.get(thread_id)
        return run if run is not None and run.active else None

    def any_active(self) -> bool:
        """Whether some thread has a run in progress (the thread list then keeps its badges fresh)."""
        with self._lock:
            return any(run.active for run in self._active.values())

    def latest_run(self, thread_id: str) -> Run | None:
        with self._lock:
            return self._latest.get(thread_id)

    def forget_thread(self, thread_id: str) -> None:
        with self._lock:
            self._latest.pop(thread_id, None)

    def cancel(self, run_id: str) -> bool:
        """Ask a run to stop; returns False when it had already ended."""
        run = self.get(run_id)
        if run is None or not run.active:
            return False
        run._cancel.set()
        if run.options.engine == "async" and run._task is not None:
            run._task.cancel()
        return True


def _error_event(error: BaseException) -> Error:
    if isinstance(error, GraphRecursionError):
        return Error(
            message=f"The agent took more than {RECURSION_LIMIT} steps without finishing, so it "
            "was stopped. Ask a narrower question, or approve fewer tool calls at a time.",
            error_type="recursion_limit",
            retryable=False,
        )
    problem = describe_error(error)
    return Error(
        message=problem.message, error_type=problem.error_type, retryable=problem.retryable
    )
