"""A message sent while a run is going, against a real `langgraph dev`: each multitask strategy
(reject, enqueue, interrupt, rollback) as the server does it and as the chat reads it back, and the
run options sent with a run (stream modes, durability, breakpoints).

The first run is on `slow_chat` (tests/gated_graph.py): it waits at its thread's gate, after a
tool call and before its result, until the test opens the gate; so the second message certainly
finds it going, at a known step, with no sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from agent.choices import RunOptions
from agent.errors import ThreadBusy
from agent.events import Done, Event, Step, Token
from agent.server_backend import ServerBackend
from agent.views import RunHandle
from tests import test_server_backend as base
from tests.gated_graph import open_gate
from tests.test_server_backend import CHOICES, RUN_TIMEOUT, events_until_done, finished

server, user = base.server, base.user  # its fixtures: a backend factory on the server, a user


def events_until(
    backend: ServerBackend, user, run_id: str, seen: Callable[[list[Event]], bool]
) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while not seen(events):
        assert time.monotonic() < deadline, f"not seen in time: {events[-3:]}"
        events += backend.read_events(user, run_id, len(events), timeout=1.0)
    return events


def waiting_at_gate(server, user) -> tuple[ServerBackend, RunHandle]:
    """A slow_chat run that has made its tool call and waits at the gate."""
    backend = server("slow_chat")
    handle = backend.start_thread(user, "first", CHOICES)
    events_until(
        backend,
        user,
        handle.id,
        lambda es: any(isinstance(e, Step) and e.node == "think" for e in es),
    )
    return backend, handle


def texts(backend: ServerBackend, user, thread_id: str) -> list[tuple[str, str]]:
    view = backend.thread_view(user, thread_id)
    return [(m.role, m.text or ",".join(c.name for c in m.tool_calls)) for m in view.messages]


def with_strategy(strategy) -> RunOptions:
    return replace(RunOptions(), multitask=strategy)


def test_reject_refuses_the_message_and_the_run_goes_on(server, user, lg_server):
    backend, first = waiting_at_gate(server, user)
    with pytest.raises(ThreadBusy):
        backend.send_message(user, first.thread_id, "second", CHOICES, with_strategy("reject"))
    open_gate(lg_server.gates, first.thread_id)
    assert finished(backend, user, first) == "done"
    assert texts(backend, user, first.thread_id)[-1] == ("ai", "Answered: first")


def test_enqueue_shows_the_message_queued_until_its_run_starts_after_the_first(
    server, user, lg_server
):
    backend, first = waiting_at_gate(server, user)
    second = backend.send_message(
        user, first.thread_id, "second", CHOICES, with_strategy("enqueue")
    )
    view = backend.thread_view(user, first.thread_id)
    assert view.active_run_id == first.id, "the live view still follows the first run"
    assert [m.text for m in view.queued] == ["second"] and view.live_input == ()
    assert view.superseded is None
    assert [m.text for m in view.messages] == ["first"], "its call: the live view's to show"
    open_gate(lg_server.gates, first.thread_id)
    assert finished(backend, user, first) == "done"
    assert finished(backend, user, second) == "done"
    view = backend.thread_view(user, first.thread_id)
    assert view.queued == () and view.active_run_id is None and view.last_run_id == second.id
    assert texts(backend, user, first.thread_id) == [
        ("human", "first"),
        ("ai", "wait_for_gate"),
        ("tool", "The gate opened."),
        ("ai", "Answered: first"),
        ("human", "second"),
        ("ai", "wait_for_gate"),
        ("tool", "The gate opened."),
        ("ai", "Answered: second"),
    ]


def test_interrupt_stops_the_first_run_where_it_is_and_keeps_its_unrun_call(
    server, user, lg_server
):
    backend, first = waiting_at_gate(server, user)
    second = backend.send_message(
        user, first.thread_id, "second", CHOICES, with_strategy("interrupt")
    )
    assert finished(backend, user, first) == "cancelled"
    view = backend.thread_view(user, first.thread_id)
    assert view.active_run_id == second.id, "the live view follows the new run"
    assert view.superseded is not None and view.superseded.kind == "interrupted"
    open_gate(lg_server.gates, first.thread_id)
    assert finished(backend, user, second) == "done"
    assert texts(backend, user, first.thread_id) == [
        ("human", "first"),
        ("ai", "wait_for_gate"),  # the interrupted run's call: no result, ever
        ("human", "second"),
        ("ai", "wait_for_gate"),
        ("tool", "The gate opened."),
        ("ai", "Answered: second"),
    ]
    view = backend.thread_view(user, first.thread_id)
    assert view.superseded is not None and "interrupted the run" in view.superseded.text
    assert view.notice is None and view.last_error is None


def test_rollback_deletes_the_first_runs_work_and_answers_the_new_message(server, user, lg_server):
    backend, first = waiting_at_gate(server, user)
    second = backend.send_message(
        user, first.thread_id, "second", CHOICES, with_strategy("rollback")
    )
    assert finished(backend, user, first) == "cancelled", "not a lost connection"
    open_gate(lg_server.gates, first.thread_id)
    assert finished(backend, user, second) == "done"
    assert texts(backend, user, first.thread_id) == [
        ("human", "second"),
        ("ai", "wait_for_gate"),
        ("tool", "The gate opened."),
        ("ai", "Answered: second"),
    ]
    view = backend.thread_view(user, first.thread_id)
    assert view.superseded is not None and view.superseded.kind == "rolled_back"
    assert backend.timeline(user, first.thread_id).total == 5, "the first run's checkpoints went"


def test_interrupt_on_an_idle_thread_says_nothing_was_interrupted(server, user, lg_server):
    backend = server("slow_chat")
    info = backend.create_thread(user, "idle")
    open_gate(lg_server.gates, info.id)
    handle = backend.send_message(user, info.id, "only", CHOICES, with_strategy("interrupt"))
    assert finished(backend, user, handle) == "done"
    assert backend.thread_view(user, info.id).superseded is None


def test_the_stream_setting_and_durability_are_sent_with_the_run(server, user, lg_server):
    backend = server("hitl_agent")
    steps_only = replace(RunOptions(), stream_tokens=False)
    handle = backend.start_thread(user, "What is the weather in London?", CHOICES, steps_only)
    events = events_until_done(backend, user, handle.id)
    assert not any(isinstance(e, Token) for e in events), "steps only: no tokens streamed"
    assert [e.node for e in events if isinstance(e, Step)] == ["model"]
    assert events[-1] == Done("halted")
    slow = server("slow_chat")
    totals = {}
    for durability in ("sync", "exit"):
        info = slow.create_thread(user, durability)
        open_gate(lg_server.gates, info.id)
        options = replace(RunOptions(), durability=durability)
        assert finished(slow, user, slow.send_message(user, info.id, "x", CHOICES, options))
        totals[durability] = slow.timeline(user, info.id).total
    assert totals == {"sync": 5, "exit": 1}, "exit: only the run's last checkpoint is written"


def test_breakpoints_are_sent_with_the_run(server, user):
    backend = server("hitl_agent")
    options = replace(RunOptions(), pause_after=("model",))
    handle = backend.start_thread(user, "What is the weather in Paris?", CHOICES, options)
    assert finished(backend, user, handle) in ("done", "halted")
    view = backend.thread_view(user, handle.thread_id)
    assert view.next_nodes == ("review",) and not view.pending_calls
