"""Background runs: a graph run lives outside the page that started it.

Streamlit stops and reruns the page script on every click, so a run streamed inside the script
would be cut mid-token. Here a run executes on a worker thread (sync engine, `graph.stream`) or as a
task on the one background event loop (async engine, `graph.astream`) and appends typed events to
its own log. Pages read the log from an offset; any number of readers may follow one run, and the
log outlives them, so a refreshed page re-attaches and continues where it was.

A thread has at most one active run: it stays reserved until the run's end is recorded (status,
branch head, message count) and `Done` is in the log, so a new run can never start in between.

Stop takes effect within a second in every state. Each run has a supervisor thread that waits for
the first of: the graph finished, Stop, or a model call silent for `stall_limit` seconds (its
attempts and retry waits included). On Stop or a stall it does not wait for the graph, which may
be blocked in a provider call or a tool: it closes the run's write gate (`agent.write_gate`: writes
under way finish, later ones are refused), cancels the async task (a sync worker is abandoned; it
ends on its own and can no longer write), records the end and appends `Done`. The thread keeps its
last checkpoint, which is always a valid state, and takes a new run at once. The end is recorded on
the supervisor thread, never on the event loop, so one run's bookkeeping never stalls another
run's tokens.

Every run is also in the run store (`agent.run_store`), so other app processes see it: its row is
written before the graph starts (one live run per thread holds across processes), its events as
they come, its end with `Done`. The supervisor wakes every `POLL_SECONDS` to beat the row's
heartbeat and to honour a Stop pressed in another process (`cancel_requested`).

Each run leaves a report (`agent.run_record`): its steps, time to first token, total time, tokens,
decisions, and the LangGraph calls it made as Python text (`agent.call_text`). It is written with
the run's end, so every process sees it once `Done` is there.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.constants import CONFIG_KEY_CHECKPOINTER
from langgraph.errors import GraphRecursionError
from langgraph.types import StreamMode

from agent.call_text import stream_call
from agent.choices import RunOptions
from agent.errors import ThreadBusy
from agent.events import Done, Error, Event, RunStatus, Token
from agent.graph import AnyGraph, RunContext
from agent.loop import BackgroundLoop
from agent.models import STALL_LIMIT
from agent.provider_errors import CleanError, describe_error
from agent.run_record import Prelude, build_report, encode_report
from agent.run_store import HEARTBEAT_SECONDS, RunAlreadyLive, RunStore, Starter
from agent.stream_events import StreamTranslator
from agent.write_gate import WriteGate, WriteRefused, gated

logger = logging.getLogger(__name__)

RECURSION_LIMIT = 40
KEEP_FINISHED_RUNS = 200
# How long an ended run waits for its checkpoint writes already under way (one SQLite write, which
# gives up after the database's 10 s busy timeout); later writes are refused.
WRITES_UNDER_WAY_TIMEOUT = 15.0
SHUTDOWN_TIMEOUT = 5.0
# How often a run's supervisor looks for a Stop pressed in another process.
POLL_SECONDS = 0.25


class EngineClosed(RuntimeError):
    """The engine was shut down (`RunManager.shutdown`); no run can start any more."""

    def __init__(self) -> None:
        super().__init__("Waypoint's engine has shut down, so no run can start. Reload the page.")


class RunCancelled(CleanError):
    """Raised inside a run, at the next token or tool start, after the user pressed Stop.

    A CleanError, so the llm node lets it through as it is rather than as a provider failure.
    """


class _RunWatch(BaseCallbackHandler):
    """Sees a run's model calls and tools: stops them once the run ended, times the model's silence.

    Closing a sync stream does not stop a node already running on LangGraph's executor; raising
    from a callback does, so a stopped request does not keep streaming (and billing) unseen. Each
    model call's last sign of life (its start, then each token) lets the supervisor end a call that
    went silent, however many attempts the client makes inside it.
    """

    raise_error = True

    def __init__(self, run: Run):
        self.run = run

    def _check(self) -> None:
        if self.run.cancel_requested:
            raise RunCancelled("cancelled by the user")

    def on_chat_model_start(self, *args: Any, run_id: Any, **kwargs: Any) -> None:
        self._check()
        self.run._model_alive(run_id)

    def on_llm_start(self, *args: Any, run_id: Any, **kwargs: Any) -> None:
        self._check()
        self.run._model_alive(run_id)

    def on_llm_new_token(self, *args: Any, run_id: Any, **kwargs: Any) -> None:
        self.run._model_alive(run_id)
        self._check()

    def on_llm_end(self, *args: Any, run_id: Any, **kwargs: Any) -> None:
        self.run._model_done(run_id)

    def on_llm_error(self, *args: Any, run_id: Any, **kwargs: Any) -> None:
        self.run._model_done(run_id)

    def on_tool_start(self, *args: Any, **kwargs: Any) -> None:
        self._check()


EventSink = Callable[[int, Event], None]


class EventLog:
    """Append-only list of a run's events with blocking, offset-based reads.

    `sink` sees each event with its offset, in order (the run store queues it for other processes).
    """

    def __init__(self, sink: EventSink | None = None) -> None:
        self._events: list[Event] = []
        self._changed = threading.Condition()
        self._sink = sink
        self.closed = False

    def append(self, event: Event) -> None:
        with self._changed:
            if self.closed:
                return
            if self._sink is not None:
                self._sink(len(self._events), event)
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


def _breakpoints(options: RunOptions) -> dict[str, list[str]]:
    """The run's breakpoints, for its "what LangGraph did" (none given leaves the graph's own:
    `stream` gets None for each then)."""
    chosen = {"interrupt_before": options.pause_before, "interrupt_after": options.pause_after}
    return {name: list(nodes) for name, nodes in chosen.items() if nodes}


def _stream_modes(options: RunOptions) -> list[StreamMode]:
    return ["messages", "updates"] if options.stream_tokens else ["updates"]


Ending = Literal["finished", "cancelled", "stalled"]


@dataclass
class Run:
    """One execution of the graph on a thread, and its event log.

    `driver` is what executes the graph: a worker thread (sync engine) or a future (async). A sync
    driver may outlive its run when Stop abandoned it, but `gate` is closed by then, so it cannot
    write.
    """

    thread_id: str
    options: RunOptions
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    log: EventLog = field(default_factory=EventLog)
    started_at: float = field(default_factory=time.time)
    status: Literal["running"] | RunStatus = "running"
    seq: int = 0
    gate: WriteGate = field(default_factory=WriteGate, repr=False)
    driver: Any = field(default=None, repr=False)
    # For the run record: what the backend did first, the calls as text, the graph's start and
    # its first token (time.monotonic()).
    prelude: Prelude = field(default_factory=Prelude, repr=False)
    calls: tuple[str, ...] = field(default=(), repr=False)
    began: float = field(default_factory=time.monotonic, repr=False)
    first_token: float | None = field(default=None, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _outcome: RunStatus | None = field(default=None, repr=False)
    _model_calls: dict[Any, float] = field(default_factory=dict, repr=False)

    @property
    def active(self) -> bool:
        return self.status == "running"

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def emit(self, event: Event) -> None:
        """Append an event to the log, noting when the first token came."""
        if self.first_token is None and isinstance(event, Token):
            self.first_token = time.monotonic()
        self.log.append(event)

    def _request_cancel(self) -> None:
        with self._changed:
            self._cancel.set()
            self._changed.notify_all()

    def _driver_ended(self, status: RunStatus) -> None:
        with self._changed:
            if self._outcome is None:
                self._outcome = status
            self._changed.notify_all()

    def _model_alive(self, call_id: Any) -> None:
        with self._changed:
            new = call_id not in self._model_calls
            self._model_calls[call_id] = time.monotonic()
            if new:  # the supervisor may be waiting without a deadline
                self._changed.notify_all()

    def _model_done(self, call_id: Any) -> None:
        with self._changed:
            self._model_calls.pop(call_id, None)

    def _wait_for_end(
        self, stall_limit: float, poll: Callable[[], bool]
    ) -> tuple[RunStatus, Ending]:
        """Block until the graph ends, Stop is pressed, or a model call is silent too long.

        `poll` runs at least every POLL_SECONDS, outside the lock; True means Stop was pressed
        elsewhere (another process).
        """
        while True:
            with self._changed:
                if self._outcome is not None:
                    return self._outcome, "finished"
                if self._cancel.is_set():
                    return "cancelled", "cancelled"
                timeout = POLL_SECONDS
                if self._model_calls:
                    silent_since = min(self._model_calls.values())
                    timeout = min(timeout, silent_since + stall_limit - time.monotonic())
                    if timeout <= 0:
                        return "error", "stalled"
                self._changed.wait(timeout)
            if poll():
                self._cancel.set()


FinishHook = Callable[[Run, RunStatus], None]


class RunManager:
    """Starts runs in the background, keeps their logs, enforces one active run per thread."""

    def __init__(
        self,
        sync_graph: AnyGraph,
        async_graph: Callable[[], AnyGraph],
        loop: BackgroundLoop,
        store: RunStore,
        on_finish: FinishHook | None = None,
        stall_limit: float = STALL_LIMIT,
    ):
        self._sync_graph = sync_graph
        self.store = store
        self._async_graph = async_graph
        self._loop = loop
        self._on_finish = on_finish
        self.stall_limit = stall_limit
        self._closed = False
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._active: dict[str, Run] = {}
        self._latest: dict[str, Run] = {}
        self._seq = itertools.count(1)

    def start(
        self,
        thread_id: str,
        payload: Any,
        context: RunContext | None,
        options: RunOptions = RunOptions(),
        *,
        checkpoint_id: str | None = None,
        before_start: Callable[[], Prelude | None] | None = None,
        starter: Starter | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Run:
        """Start a run; raise ThreadBusy if the thread already has one, RunLimitReached if the
        starter has no run left this hour (`agent.run_limit`). The starter's message is stored
        with the run for every process's live view.

        `before_start` runs while the thread is reserved but before the graph starts (e.g. closing
        pending tool calls, marking the thread running), so no second run can slip in between and
        the run's end is always recorded after it. What it returns goes into the run's report.
        `metadata` goes into every checkpoint the run writes (scalars: what LangGraph copies).
        """
        run_id = uuid.uuid4().hex
        run = Run(thread_id, options, run_id, EventLog(sink=partial(self.store.append, run_id)))
        with self._lock:
            if self._closed:
                raise EngineClosed()
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
        stored = False
        try:
            # Resolved here, not on the loop: the async saver is created by waiting on the loop.
            graph = self._async_graph() if options.engine == "async" else self._sync_graph
            saver = graph.checkpointer
            if not isinstance(saver, BaseCheckpointSaver):
                raise TypeError("Runs need a graph compiled with a checkpoint saver.")
            try:
                # Another process may run this thread, or have used the user's last slot.
                self.store.begin(run.id, thread_id, starter)
            except RunAlreadyLive:
                raise ThreadBusy(thread_id) from None
            stored = True
            if before_start is not None:
                run.prelude = before_start() or Prelude()
        except BaseException:
            with self._lock:
                self._active.pop(thread_id, None)
                self._runs.pop(run.id, None)
                self._latest.pop(thread_id, None)
            if stored:
                self.store.discard(run.id)
            raise
        configurable: dict[str, Any] = {
            "thread_id": thread_id,
            # The run writes through its own gated clone of the saver (see agent.write_gate).
            CONFIG_KEY_CHECKPOINTER: gated(saver, run.gate),
        }
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        run.calls = (
            *run.prelude.calls,
            stream_call(
                options.engine,
                payload,
                thread_id,
                checkpoint_id,
                _stream_modes(options),
                options.durability,
                run.prelude.from_checkpoint,
                _breakpoints(options),
            ),
        )
        config: RunnableConfig = {
            "configurable": configurable,
            "recursion_limit": RECURSION_LIMIT,
            "metadata": {**(metadata or {}), "waypoint_run": run.id},
            "callbacks": [_RunWatch(run)],
        }
        run.began = time.monotonic()
        if options.engine == "async":
            run.driver = self._loop.submit(self._arun(run, graph, payload, config, context))
            # A task cancelled before its first step never enters _arun's handlers.
            run.driver.add_done_callback(
                lambda f: run._driver_ended("cancelled") if f.cancelled() else None
            )
        else:
            run.driver = threading.Thread(
                target=self._run_sync,
                args=(run, payload, config, context),
                name=f"waypoint-graph-{run.id[:8]}",
                daemon=True,
            )
            run.driver.start()
        threading.Thread(
            target=self._supervise, args=(run,), name=f"waypoint-run-{run.id[:8]}", daemon=True
        ).start()
        logger.info("run started: thread %s, run %s, engine %s", thread_id, run.id, options.engine)
        return run

    # --- execution -------------------------------------------------------------------------------

    def _run_sync(
        self, run: Run, payload: Any, config: RunnableConfig, context: RunContext | None
    ) -> None:
        translator = StreamTranslator()
        status: RunStatus = "done"
        try:
            stream = self._sync_graph.stream(
                payload,
                config,
                context=context,
                stream_mode=_stream_modes(run.options),
                durability=run.options.durability,
                interrupt_before=list(run.options.pause_before) or None,
                interrupt_after=list(run.options.pause_after) or None,
            )
            with closing(stream):  # type: ignore[type-var]  # stream() is a generator: it has close()
                for mode, chunk in stream:
                    if run.cancel_requested:
                        status = "cancelled"
                        break
                    for event in translator.feed(mode, chunk):
                        run.emit(event)
            if status == "done" and translator.halted:
                status = "halted"
        except (RunCancelled, WriteRefused):
            status = "cancelled"
        except Exception as error:
            status = "error"
            if not run.cancel_requested:  # an abandoned run's failure is nobody's news
                run.log.append(_error_event(error))
        run._driver_ended(status)

    async def _arun(
        self,
        run: Run,
        graph: AnyGraph,
        payload: Any,
        config: RunnableConfig,
        context: RunContext | None,
    ) -> None:
        translator = StreamTranslator()
        status: RunStatus = "done"
        try:
            async for mode, chunk in graph.astream(
                payload,
                config,
                context=context,
                stream_mode=_stream_modes(run.options),
                durability=run.options.durability,
                interrupt_before=list(run.options.pause_before) or None,
                interrupt_after=list(run.options.pause_after) or None,
            ):
                for event in translator.feed(mode, chunk):
                    run.emit(event)
            if translator.halted:
                status = "halted"
        except (asyncio.CancelledError, RunCancelled, WriteRefused):
            status = "cancelled"
        except Exception as error:
            status = "error"
            if not run.cancel_requested:
                run.log.append(_error_event(error))
        run._driver_ended(status)

    def _supervise(self, run: Run) -> None:
        """The run's own thread: waits for its end, settles it, records it, appends Done."""
        status, ending = run._wait_for_end(self.stall_limit, self._poller(run))
        if ending != "finished":
            run._cancel.set()  # the model stops at its next token, tools do not start
        if not run.gate.close(WRITES_UNDER_WAY_TIMEOUT):
            logger.warning("Run %s: a checkpoint write was still under way as it ended.", run.id)
        if ending != "finished" and run.options.engine == "async":
            run.driver.cancel()  # after the gate: a cancelled write could land late
        if ending == "stalled":
            run.log.append(_stall_error(self.stall_limit))
        self._finish(run, status)

    def _poller(self, run: Run) -> Callable[[], bool]:
        """The supervisor's regular look at the store: beat the heartbeat, read a remote Stop."""
        beaten = time.monotonic()

        def poll() -> bool:
            nonlocal beaten
            if time.monotonic() - beaten >= HEARTBEAT_SECONDS:
                beaten = time.monotonic()
                self.store.beat(run.id)
            try:
                return self.store.cancel_requested(run.id)
            except self.store.errors:  # busy beyond the timeout: look again at the next poll
                logger.warning("Run %s: could not read a Stop from the run store.", run.id)
                return False

        return poll

    def _finish(self, run: Run, status: RunStatus) -> None:
        """Record the end while the thread is still reserved, then release it and append Done.

        The store records the end (with `Done`) before the thread is released here, so a new run
        on the thread never meets the old one's row still live. A run another process took for
        dead (this one's heartbeat was late) was settled there, checkpoint and index included:
        this process records nothing over it.
        """
        if self._on_finish is not None and not self._taken_for_dead(run):
            try:
                self._on_finish(run, status)
            except Exception as error:
                logger.exception("Recording the end of run %s failed.", run.id)
                run.log.append(_error_event(error))
        try:
            self.store.end(run.id, status, _report(run, status))
        except self.store.errors:
            logger.exception("Storing the end of run %s failed.", run.id)
        with self._lock:
            run.status = status
            if self._active.get(run.thread_id) is run:
                del self._active[run.thread_id]
        run.log.append(Done(status=status))
        logger.info(
            "run ended: thread %s, run %s, engine %s, status %s, %.2f s",
            run.thread_id,
            run.id,
            run.options.engine,
            status,
            time.time() - run.started_at,
        )

    def _taken_for_dead(self, run: Run) -> bool:
        try:
            record = self.store.get(run.id)
        except self.store.errors:
            return False
        return record is not None and record.status == "lost"

    # --- queries and control ---------------------------------------------------------------------

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def active_run(self, thread_id: str) -> Run | None:
        with self._lock:
            run = self._active.get(thread_id)
        return run if run is not None and run.active else None

    def latest_run(self, thread_id: str) -> Run | None:
        with self._lock:
            return self._latest.get(thread_id)

    def forget_thread(self, thread_id: str) -> None:
        with self._lock:
            self._latest.pop(thread_id, None)

    def cancel(self, run_id: str) -> bool:
        """Stop a run (its `Done` follows within a second); False when it had already ended."""
        run = self.get(run_id)
        if run is None or not run.active:
            return False
        run._request_cancel()
        return True

    def shutdown(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Stop every run and wait until their ends are recorded; no run starts afterwards.

        Called before the database closes, so no run is left to fail on a closed connection.
        """
        with self._lock:
            self._closed = True
            running = list(self._active.values())
        for run in running:
            run._request_cancel()
        deadline = time.monotonic() + timeout
        for run in running:
            if not run.log.wait_closed(max(0.0, deadline - time.monotonic())):
                logger.warning("Run %s did not end within %s s of shutdown.", run.id, timeout)


def _report(run: Run, status: RunStatus) -> dict[str, Any] | None:
    """The run's report (`agent.run_record`), from its log and what it was started with.

    None, logged, if it cannot be made: the run's end is recorded all the same.
    """
    try:
        report = build_report(
            run_id=run.id,
            engine=run.options.engine,
            status=status,
            started_at=run.started_at,
            seconds=time.monotonic() - run.began,
            first_token_seconds=None if run.first_token is None else run.first_token - run.began,
            events=run.log.read(0),
            calls=run.calls,
            prelude=run.prelude,
        )
    except (TypeError, ValueError, KeyError):
        logger.exception("The report of run %s could not be made.", run.id)
        return None
    return encode_report(report)


def _stall_error(limit: float) -> Error:
    return Error(
        message=f"The model sent nothing for {limit:g} seconds, so the run was stopped. The server "
        "may be overloaded, still loading the model, or hung: try again, or pick another model.",
        error_type="timeout",
        retryable=True,
    )


def _error_event(error: BaseException) -> Error:
    if isinstance(error, GraphRecursionError):
        return Error(
            message=f"The agent took more than {RECURSION_LIMIT} steps without finishing, so it "
            "was stopped. Ask a narrower question, or approve fewer tool calls at a time.",
            error_type="recursion_limit",
            retryable=False,
        )
    problem = describe_error(error)
    # The description is redacted (agent.provider_errors); the exception itself is never logged.
    logger.warning("run failed (%s): %s", problem.error_type, problem.message)
    return Error(
        message=problem.message, error_type=problem.error_type, retryable=problem.retryable
    )
