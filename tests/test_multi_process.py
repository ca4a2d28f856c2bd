"""Two engines on one database (a SQLite file, or Postgres), as two app servers (or the CLI next
to the app) would be.

Engine A runs; engine B, a second LocalBackend on the same file, sees the run, follows its events
from the run store, stops it, and learns when A's process died: the run is then reported cut by a
server stop, never shown as running forever. B's start-up never cuts A's live run.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from agent.events import Done, Error, Token
from agent.protocol import LOCAL_USER, RunLimitReached, User
from agent.runs import ThreadBusy
from tests.crash_child import engine_child
from tests.engine_fixtures import ON_BOTH_DATABASES, engine_run, make_harness
from tests.scripted_model import TokenGate, reply
from tests.test_engine import state_messages
from tests.test_run_store import age_starts

ME = LOCAL_USER


def events_until(backend, run_id: str, done, timeout: float = 10.0) -> list:
    """Read a run's events through `backend` (offset by offset) until `done(events)` holds."""
    events: list = []
    deadline = time.monotonic() + timeout
    while not done(events) and time.monotonic() < deadline:
        events += backend.read_events(ME, run_id, len(events), timeout=0.5)
    return events


@pytest.fixture(**ON_BOTH_DATABASES)
def engines(request, data_dir):
    engine, database = request.param
    url = request.getfixturevalue("postgres_db") if database == "postgres" else None
    a = make_harness(data_dir, engine, database_url=url)
    b = make_harness(data_dir, engine, database_url=url)
    yield a, b
    b.backend.close()
    a.backend.close()


def held_run(h, text: str, answer: str, tokens: int):
    """A new thread on `h` and a run on it whose model is held after `tokens` tokens."""
    gate = TokenGate()
    h.model.gate = gate
    h.model.script = [reply(answer)]
    thread = h.backend.create_thread(ME)
    run = engine_run(h.backend, h.backend.send_message(ME, thread.id, text, h.choices, h.options))
    gate.release(tokens)
    assert gate.wait_held_after(tokens)
    return thread, run, gate


def test_a_run_started_on_one_engine_is_followed_and_stopped_from_the_other(engines):
    a, b = engines
    thread, run, gate = held_run(a, "go", "alpha beta gamma delta", 2)

    view = b.backend.thread_view(ME, thread.id)
    assert view.active_run_id == run.id and view.pending_calls == ()
    assert b.backend.get_thread(ME, thread.id).status == "running"
    assert b.backend.any_run_active(ME)
    assert b.backend.run_status(ME, run.id) == "running"
    seen = events_until(b.backend, run.id, lambda es: len(es) >= 2)
    assert [e.text for e in seen if isinstance(e, Token)] == ["alpha ", "beta "]

    assert b.backend.cancel_run(ME, run.id)
    assert run.log.wait_closed(5), "A did not honour the Stop pressed on B"
    assert run.status == "cancelled"
    rest = events_until(b.backend, run.id, lambda es: any(isinstance(e, Done) for e in es))
    assert rest[-1] == Done("cancelled")
    gate.open_fully()

    view = b.backend.thread_view(ME, thread.id)
    assert view.active_run_id is None and view.last_run_id == run.id
    assert view.notice is not None and view.notice.kind == "stopped"
    assert not b.backend.cancel_run(ME, run.id), "an ended run cannot be stopped again"
    assert b.backend.get_thread(ME, thread.id).status == "idle"
    assert [m.content for m in state_messages(b, thread.id)] == ["go"]


def test_a_second_engine_refuses_a_second_run_on_a_thread_the_first_runs(engines):
    a, b = engines
    thread, run, gate = held_run(a, "first", "one two", 0)
    with pytest.raises(ThreadBusy):
        b.backend.send_message(ME, thread.id, "second", b.choices, b.options)
    gate.open_fully()
    a.finish(run)
    b.model.script = [reply("answered on B")]
    b.send(thread.id, "second")  # free once A's run ended
    assert [m.content for m in state_messages(b, thread.id)] == [
        "first",
        "one two",
        "second",
        "answered on B",
    ]


def test_a_run_whose_heartbeat_stops_is_ended_by_the_other_engine_and_its_owner_obeys(
    engines, monkeypatch
):
    a, b = engines
    thread, run, gate = held_run(a, "go", "alpha beta gamma", 1)
    monkeypatch.setattr(a.backend.persistence.runs, "beat", lambda run_id: None)
    b.backend.persistence.runs.stale_after = 0.5  # as if A's host stopped answering
    deadline = time.monotonic() + 10
    while b.backend.thread_view(ME, thread.id).active_run_id and time.monotonic() < deadline:
        b.backend.read_events(ME, run.id, 0, timeout=0.2)
    view = b.backend.thread_view(ME, thread.id)
    assert view.active_run_id is None
    assert view.notice is not None and view.notice.kind == "server_stopped"
    assert run.log.wait_closed(5), "A kept running a run B had ended"
    gate.open_fully()
    events = b.backend.read_events(ME, run.id)
    assert [e for e in events if isinstance(e, Done)] == [Done("error")]
    assert b.backend.run_status(ME, run.id) == "error"
    again = b.backend.thread_view(ME, thread.id)
    assert again.notice == view.notice, "A wrote nothing over B's settling"
    assert b.backend.get_thread(ME, thread.id).status == "idle"
    record = b.backend.run_report(ME, run.id)  # the run record says it died, for both engines
    assert record is not None and record.status == "lost" and record.calls == ()
    assert a.backend.run_report(ME, run.id) == record
    assert again.report is not None and again.report.runs == (record,)


@pytest.mark.parametrize(
    ("engine", "database"), ON_BOTH_DATABASES["params"], ids=ON_BOTH_DATABASES["ids"]
)
def test_a_killed_engines_runs_are_live_until_it_dies_then_reported_cut(
    request, data_dir, engine, database
):
    url = request.getfixturevalue("postgres_db") if database == "postgres" else None
    with engine_child(data_dir, engine, url) as threads:
        # B starts while the child's runs are live (like the CLI next to the app): none is cut.
        b = make_harness(data_dir, engine, database_url=url)
        try:
            for thread_id in threads.values():
                view = b.backend.thread_view(ME, thread_id)
                assert view.active_run_id is not None, "a live run of another process"
                assert view.notice is None
                assert b.backend.get_thread(ME, thread_id).status == "running"
            run_id = b.backend.thread_view(ME, threads["model"]).active_run_id
            assert b.backend.run_status(ME, run_id) == "running"
        except BaseException:
            b.backend.close()
            raise
    try:  # the child is SIGKILLed: B reports each run cut at once, without a restart
        for name, thread_id in threads.items():
            view = b.backend.thread_view(ME, thread_id)
            assert view.active_run_id is None, name
            assert view.notice is not None and view.notice.kind == "server_stopped", name
            assert b.backend.get_thread(ME, thread_id).status != "running", name
        assert [c.name for c in b.backend.thread_view(ME, threads["tool"]).pending_calls] == [
            "web_search"
        ]
        events = b.backend.read_events(ME, run_id)
        assert isinstance(events[-2], Error) and events[-1] == Done("error")
        assert b.backend.run_status(ME, run_id) == "error"
        assert not b.backend.any_run_active(ME)
    finally:
        b.backend.close()


def test_with_durability_exit_the_other_engine_shows_the_question_while_it_runs(engines):
    a, b = engines
    a.options = replace(a.options, durability="exit")
    thread, run, gate = held_run(a, "my own question", "alpha beta", 1)
    for h in (a, b):  # no checkpoint holds it yet: the run store has it for both
        view = h.backend.thread_view(ME, thread.id)
        assert view.messages == () and view.active_run_id == run.id
        assert [(m.role, m.text) for m in view.live_input] == [("human", "my own question")]
    gate.open_fully()
    a.finish(run)
    view = b.backend.thread_view(ME, thread.id)
    assert view.live_input == ()
    assert [m.text for m in view.messages] == ["my own question", "alpha beta"]


def test_any_run_active_answers_for_the_askers_own_threads_on_either_engine(engines):
    a, b = engines
    alice, bob = User("alice", "Alice"), User("bob", "Bob")
    gate = TokenGate()
    a.model.gate = gate
    a.model.script = [reply("alpha beta")]
    thread = a.backend.create_thread(alice)
    handle = a.backend.send_message(alice, thread.id, "go", a.choices, a.options)
    run = engine_run(a.backend, handle)
    assert gate.wait_held_after(0)
    b.backend.create_thread(bob)
    for h in (a, b):
        assert h.backend.any_run_active(alice)
        assert not h.backend.any_run_active(bob), "another user's run is none of bob's business"
        assert not h.backend.any_run_active(ME)
    gate.open_fully()
    a.finish(run)
    assert not b.backend.any_run_active(alice) and not a.backend.any_run_active(alice)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_run_limit_holds_across_two_engines_and_a_restart(request, data_dir, database):
    url = request.getfixturevalue("postgres_db") if database == "postgres" else None
    opened: list = []

    def engine():
        h = make_harness(data_dir, "sync", database_url=url)
        h.backend.settings = h.backend.settings.with_overrides(runs_per_hour=2)
        opened.append(h)
        return h

    try:
        a, b = engine(), engine()
        for h, text in ((a, "one"), (b, "two")):
            h.model.script = [reply("answered")]
            h.send(h.backend.create_thread(ME).id, text)
        thread = a.backend.create_thread(ME)
        for h in (a, b):  # two servers, one budget
            with pytest.raises(RunLimitReached, match="2 runs in the last hour") as refused:
                h.backend.send_message(ME, thread.id, "three", h.choices, h.options)
            assert "try again in about 60 minutes" in str(refused.value)
        assert a.backend.thread_view(ME, thread.id).messages == (), "a refused run writes nothing"
        assert b.backend.get_thread(ME, thread.id).status == "idle"
        for h in (a, b):
            opened.remove(h)
            h.backend.close()
        c = engine()  # a restart gives nothing back
        with pytest.raises(RunLimitReached):
            c.backend.send_message(ME, thread.id, "three", c.choices, c.options)
        age_starts(c.backend.persistence.runs)  # an hour later
        c.model.script = [reply("answered at last")]
        c.send(thread.id, "three")
        assert [m.content for m in state_messages(c, thread.id)] == ["three", "answered at last"]
    finally:
        for h in opened:
            h.backend.close()
