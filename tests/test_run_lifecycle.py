"""A run's life on both engines: reserved until its end is recorded, stopped within a second in any
state, ended when the model goes silent, stopped before the database closes, and never writing
after it ended.

Windows that would otherwise be races (a run's end being recorded, a tool running, a model held
mid-token, a server that never answers) are held open with events, never with sleeps.
"""

from __future__ import annotations

import threading
import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.backend import LocalBackend
from agent.choices import ApprovalPolicy
from agent.errors import ThreadBusy
from agent.events import Done, Error
from agent.models import make_chat_model
from agent.protocol import LOCAL_USER
from agent.runs import EngineClosed, Run
from agent.settings import Settings
from tests.engine_fixtures import engine_run, make_harness
from tests.fake_openai import FakeOpenAI, hang, text
from tests.scripted_model import TokenGate, reply

STOP_WITHIN = 1.0  # seconds, the promise


@pytest.fixture(params=["sync", "async"])
def h(request, data_dir):
    harness = make_harness(data_dir, request.param)
    yield harness
    harness.backend.close()


def config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def messages(h, thread_id: str) -> list:
    return h.backend.graph.get_state(config(thread_id)).values.get("messages", [])


def checkpoint_count(h, thread_id: str) -> int:
    return len(list(h.backend.persistence.saver.list(config(thread_id))))


def stop_and_time(h, run: Run) -> float:
    """Press Stop; return how long the run took to end (its Done in the log)."""
    started = time.monotonic()
    assert h.backend.cancel_run(LOCAL_USER, run.id)
    assert run.log.wait_closed(10), "the run never ended after Stop"
    elapsed = time.monotonic() - started
    assert run.log.read(0)[-1] == Done("cancelled")
    return elapsed


def wait_abandoned_work(run: Run) -> None:
    """Wait until a stopped sync run's worker has really ended (an async task is cancelled)."""
    if isinstance(run.driver, threading.Thread):
        run.driver.join(20)
        assert not run.driver.is_alive(), "the stopped run's worker is still running"


def hold_end_recording(h, monkeypatch, thread_id: str) -> tuple[threading.Event, threading.Event]:
    """Make recording the end of runs on `thread_id` wait; returns (recording, release)."""
    recording, release = threading.Event(), threading.Event()
    record_end = h.backend.runs._on_finish

    def held(run, *args):
        if run.thread_id == thread_id:
            recording.set()
            assert release.wait(20)
        record_end(run, *args)

    monkeypatch.setattr(h.backend.runs, "_on_finish", held)
    return recording, release


# --- the end of a run --------------------------------------------------------------------------


def test_a_thread_stays_busy_until_the_end_of_its_run_is_recorded(h, monkeypatch):
    thread = h.backend.create_thread(LOCAL_USER)
    recording, release = hold_end_recording(h, monkeypatch, thread.id)
    h.model.script = [reply("First answer.")]
    first = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "first", h.choices, h.options)
    )
    assert recording.wait(10)
    assert h.backend.runs.active_run(thread.id) is first and first.status == "running"
    with pytest.raises(ThreadBusy):
        h.backend.send_message(LOCAL_USER, thread.id, "second", h.choices, h.options)
    release.set()
    assert h.finish(first)[-1] == Done("done")
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "idle"
    gate = TokenGate()
    h.model.gate = gate
    h.model.script = [reply("Second answer.")]
    second = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "second", h.choices, h.options)
    )
    assert gate.wait_held_after(0)
    assert (
        h.backend.get_thread(LOCAL_USER, thread.id).status == "running"
    )  # not "idle" while it streams
    gate.open_fully()
    h.finish(second)
    info = h.backend.get_thread(LOCAL_USER, thread.id)
    assert (info.status, info.message_count) == ("idle", 4)


def test_a_run_that_ends_at_once_is_not_left_marked_running(h, monkeypatch):
    thread = h.backend.create_thread(LOCAL_USER)
    touch = h.backend.threads.touch

    def slow_script_thread(thread_id, **changes):
        """The page's thread is slower than the run: a run already going ends first."""
        run = h.backend.runs.latest_run(thread_id)
        if changes.get("status") == "running" and run is not None and run.driver is not None:
            assert run.log.wait_closed(10)
        return touch(thread_id, **changes)

    monkeypatch.setattr(h.backend.threads, "touch", slow_script_thread)
    h.model.script = [RuntimeError("the model failed at once")]
    assert h.send(thread.id, "hi")[-1] == Done("error")
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "error"


def test_recording_an_async_runs_end_never_blocks_the_event_loop(data_dir, monkeypatch):
    h = make_harness(data_dir, "async")
    try:
        slow, other = h.backend.create_thread(LOCAL_USER), h.backend.create_thread(LOCAL_USER)
        seen_on: list[threading.Thread] = []
        recording, release = hold_end_recording(h, monkeypatch, slow.id)
        held = h.backend.runs._on_finish

        def noting_thread(run, *args):
            seen_on.append(threading.current_thread())
            held(run, *args)

        monkeypatch.setattr(h.backend.runs, "_on_finish", noting_thread)
        h.model.script = [reply("Slow to record."), reply("Quick one.")]
        first = engine_run(
            h.backend, h.backend.send_message(LOCAL_USER, slow.id, "one", h.choices, h.options)
        )
        assert recording.wait(10)
        second = engine_run(
            h.backend, h.backend.send_message(LOCAL_USER, other.id, "two", h.choices, h.options)
        )
        try:
            assert second.log.wait_closed(5), "one run's end recording stalled another run"
        finally:
            release.set()
        assert h.finish(second)[-1] == Done("done") and h.finish(first)[-1] == Done("done")
        assert h.backend.persistence.loop._thread not in seen_on
    finally:
        h.backend.close()


def test_close_stops_live_runs_before_the_database_closes(h, data_dir):
    thread = h.backend.create_thread(LOCAL_USER)
    gate = TokenGate()
    h.model.gate = gate
    h.model.script = [reply("alpha beta gamma")]
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "go", h.choices, h.options)
    )
    gate.release(1)
    assert gate.wait_held_after(1)
    h.backend.close()
    assert run.log.closed, "close() returned with a run still going"
    events = run.log.read(0)
    assert events[-1] == Done("cancelled") and not [e for e in events if isinstance(e, Error)]
    gate.open_fully()
    wait_abandoned_work(run)
    reopened = LocalBackend(Settings(db_path=data_dir / "waypoint.sqlite", demo_token_delay=0))
    try:
        info = reopened.get_thread(LOCAL_USER, thread.id)
        assert (info.status, info.message_count) == ("idle", 1)
    finally:
        reopened.close()


def test_no_run_starts_once_shutdown_began(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.backend.runs.shutdown()
    with pytest.raises(EngineClosed, match="shut down"):
        h.backend.send_message(LOCAL_USER, thread.id, "too late", h.choices, h.options)
    assert (
        messages(h, thread.id) == []
        and h.backend.get_thread(LOCAL_USER, thread.id).status == "idle"
    )


# --- Stop within a second, in every state -----------------------------------------------------


def test_stop_while_the_model_is_held_mid_stream_ends_the_run_at_once(h):
    thread = h.backend.create_thread(LOCAL_USER)
    gate = TokenGate()
    h.model.gate = gate
    h.model.script = [reply("alpha beta gamma delta")]
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "go", h.choices, h.options)
    )
    gate.release(2)
    assert gate.wait_held_after(2)
    assert stop_and_time(h, run) < STOP_WITHIN  # the model is still held at its third token
    h.model.gate = None
    h.model.script = [reply("Fresh answer.")]
    assert h.send(thread.id, "again")[-1] == Done("done")
    written = checkpoint_count(h, thread.id)
    gate.open_fully()
    wait_abandoned_work(run)
    assert [m.content for m in messages(h, thread.id)] == ["go", "again", "Fresh answer."]
    assert checkpoint_count(h, thread.id) == written, "the stopped run wrote after it ended"


def test_stop_while_a_slow_tool_runs_ends_the_run_and_its_result_is_never_written(h):
    h.choices = h.choices.__class__(approval=ApprovalPolicy("never"))
    h.search.block = threading.Event()
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": "slow"}))]
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "look it up", h.choices, h.options)
    )
    try:
        assert h.search.entered.wait(10)
        assert stop_and_time(h, run) < STOP_WITHIN
        h.model.script = [reply("Something else, then.")]
        assert h.send(thread.id, "never mind")[-1] == Done("done")  # the tool is still running
        written = checkpoint_count(h, thread.id)
    finally:
        h.search.block.set()
    wait_abandoned_work(run)
    shown = messages(h, thread.id)
    assert [type(m) for m in shown] == [
        HumanMessage,
        AIMessage,
        ToolMessage,
        HumanMessage,
        AIMessage,
    ]
    assert "Cancelled by the user" in shown[2].content  # closed by the new message, not the tool
    assert checkpoint_count(h, thread.id) == written, "the stopped run wrote after it ended"
    assert h.search.queries == ["slow"]


# --- a provider that never answers -------------------------------------------------------------


@pytest.fixture
def hung_server():
    """A server on which every unscripted request hangs until it closes."""
    with FakeOpenAI(default=hang(), max_wait=30) as server:
        yield server


@pytest.fixture(params=["sync", "async"])
def provider(request, data_dir, hung_server):
    """An engine with the real ChatOpenAI client, a long read timeout and retries."""
    model = make_chat_model(
        "openai", Settings(), api_key="sk-test", base_url=hung_server.url, timeout=10, max_retries=2
    )
    harness = make_harness(data_dir, request.param, model=model)
    yield harness
    harness.backend.close()


def test_stop_while_the_provider_has_not_answered_ends_the_run_at_once(provider, hung_server):
    h = provider
    thread = h.backend.create_thread(LOCAL_USER)
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "hello?", h.choices, h.options)
    )
    assert hung_server.wait_for_requests(1)
    assert stop_and_time(h, run) < STOP_WITHIN
    hung_server.script(text("Here now."))
    assert h.send(thread.id, "again")[-1] == Done("done")
    assert [m.content for m in messages(h, thread.id)] == ["hello?", "again", "Here now."]
    written = checkpoint_count(h, thread.id)
    hung_server.close()  # the abandoned request fails now; its run must not write
    wait_abandoned_work(run)
    assert checkpoint_count(h, thread.id) == written


def test_a_provider_silent_for_the_stall_limit_ends_the_run_with_a_timeout(provider, hung_server):
    h = provider
    h.backend.runs.stall_limit = 0.5
    thread = h.backend.create_thread(LOCAL_USER)
    started = time.monotonic()
    events = h.finish(
        h.backend.send_message(LOCAL_USER, thread.id, "hello?", h.choices, h.options), 5
    )
    assert time.monotonic() - started < 3, "it waited for the client's 10 s read timeout"
    errors = [e for e in events if isinstance(e, Error)]
    assert events[-1] == Done("error") and [e.error_type for e in errors] == ["timeout"]
    assert "0.5 seconds" in errors[0].message
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "error"
    hung_server.script(text("Back again."))
    assert h.send(thread.id, "retry")[-1] == Done("done")
    assert messages(h, thread.id)[-1].content == "Back again."
