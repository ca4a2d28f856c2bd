"""The run store on its own: two stores on one database stand for two app processes, on SQLite
(one file) and on Postgres."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from psycopg_pool import ConnectionPool

from agent import run_limit
from agent.events import Done, Error, Halted, Step, Token, ToolCall, ToolResult
from agent.limits import MAX_MESSAGE_CHARS
from agent.persistence import POSTGRES_CONNECTION, open_connection
from agent.run_limit import WINDOW_SECONDS, RunLimitReached
from agent.run_store import (
    HOST,
    RunAlreadyLive,
    SentMessage,
    SqliteRunStore,
    Starter,
    is_live,
    owner_gone,
)
from agent.run_store_postgres import PostgresRunStore
from agent.threads import ThreadIndex
from agent.threads_postgres import migrate_postgres


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request, data_dir):
    """Two run stores (two "processes") on one migrated database."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_db")
        with ConnectionPool(url, kwargs=POSTGRES_CONNECTION, min_size=1, max_size=4) as pool:
            migrate_postgres(pool)
            made: list = [PostgresRunStore(pool) for _ in range(2)]
            yield made
            for store in made:
                store.close()
        return
    path = data_dir / "waypoint.sqlite"
    ThreadIndex(open_connection(path)).close()
    made = [SqliteRunStore(open_connection(path)) for _ in range(2)]
    yield made
    for store in made:
        store.close()
        store.conn.close()


def age_heartbeats(store, seconds: float = 60) -> None:
    with store._transaction() as tx:
        tx.execute("UPDATE waypoint_runs SET heartbeat = heartbeat - ?", (seconds,))


def test_every_kind_of_event_comes_back_as_it_went_in_from_the_other_process(stores):
    a, b = stores
    events = [
        Token("m1", "llm", "Hello "),
        Step("llm", "asked web_search", 0.25),
        ToolCall("c1", "web_search", {"query": "LA", "nested": [1, {"x": "y"}]}),
        ToolResult("c1", "web_search", "sunny", is_error=False),
        Halted(calls=(ToolCall("c2", "web_search", {"query": "NY"}),)),
    ]
    a.begin("r1", "t1")
    for seq, event in enumerate(events):
        a.append("r1", seq, event)
    a.end("r1", "halted")
    assert b.events("r1") == [*events, Done("halted")]
    assert b.events("r1", 3) == [*events[3:], Done("halted")]
    assert b.get("r1").status == "halted"


def test_stored_events_never_hold_a_key(stores, data_dir):
    a, _ = stores
    key = "sk-proj-" + "A1b2C3d4" * 4
    a.begin("r1", "t1")
    a.append("r1", 0, Token("m1", "llm", f"the key is {key}"))
    a.append("r1", 1, Error(f"401 for Bearer {key}", "auth", False))
    a.end("r1", "error")
    stored = a.events("r1")
    assert key not in repr(stored) and "[redacted]" in stored[0].text
    assert key not in repr(a._rows("SELECT * FROM waypoint_run_events", ()))
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("waypoint"))
    assert key.encode() not in raw  # the SQLite file and its WAL


def test_a_thread_has_one_live_run_across_processes(stores):
    a, b = stores
    a.begin("r1", "t1")
    with pytest.raises(RunAlreadyLive):
        b.begin("r2", "t1")
    b.begin("r3", "t2")  # another thread is free
    a.end("r1", "done")
    b.begin("r2", "t1")  # and t1 once its run ended
    assert {r.id for r in a.running()} == {"r2", "r3"}


def test_a_stop_from_another_process_is_seen_by_the_owner_and_only_while_running(stores):
    a, b = stores
    a.begin("r1", "t1")
    assert not a.cancel_requested("r1")
    assert b.request_cancel("r1")
    assert a.cancel_requested("r1")
    a.end("r1", "cancelled")
    assert not b.request_cancel("r1")


def test_a_run_of_a_silent_owner_is_dead_and_claimed_once(stores):
    a, b = stores
    a.begin("r1", "t1")
    a.append("r1", 0, Token("m1", "llm", "Hi"))
    a._flush()
    age_heartbeats(a)  # the owner goes silent: its heartbeat ages past the limit
    record = b.get("r1")
    assert is_live(a, record), "its own engine knows it is running"
    assert not is_live(b, record)
    b.beat("r1")  # a beat brings it back: it is the age that counts
    b._flush()
    assert is_live(b, b.get("r1"))
    age_heartbeats(a)
    assert b.claim_lost("r1") and not a.claim_lost("r1")
    events = a.events("r1")
    assert events[0] == Token("m1", "llm", "Hi")
    assert isinstance(events[1], Error) and events[1].error_type == "server_stopped"
    assert events[2:] == [Done("error")]
    assert b.get("r1").status == "lost"


def test_a_dead_run_gets_a_report_saying_so_with_the_steps_it_stored(stores):
    a, b = stores
    a.begin("r1", "t1", Starter("me", sent=SentMessage("h1", "hello")))
    a.append("r1", 0, Step("llm", "asked web_search", 0.5, message_ids=("m1",)))
    a._flush()
    age_heartbeats(a, 60)
    assert b.claim_lost("r1")
    (report,) = b.reports("t1")
    assert report["status"] == "lost" and report["id"] == "r1"
    assert [s["node"] for s in report["steps"]] == ["llm"] and report["calls"] == []
    assert report["sent"] == "h1" and report["message_ids"] == ["m1"]
    assert report["error"].startswith("The server running this answer stopped")
    a.end("r1", "done", {"id": "r1"})  # the owner waking up later writes no second report
    assert len(b.reports("t1")) == 1


def test_an_owner_process_that_exited_on_this_host_is_gone_at_once():
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    exited = child.stdout.strip()
    assert owner_gone(f"{HOST}:{exited}:abc")
    assert not owner_gone(f"{HOST}:{os.getpid()}:abc")
    assert not owner_gone(f"another-host:{exited}:abc"), "only its heartbeat can tell"


def test_ended_runs_are_dropped_after_a_while_so_the_tables_stay_small(stores, monkeypatch):
    a, b = stores
    for n in range(3):
        a.begin(f"old{n}", f"t{n}")
        a.append(f"old{n}", 0, Token("m1", "llm", "Hi"))
        a.end(f"old{n}", "done")
    a.begin("live", "t9")
    monkeypatch.setattr("agent.run_store.KEEP_ENDED_SECONDS", -1.0)  # every ended run is old
    b.begin("new", "t0")
    assert [r for r in (a.get(f"old{n}") for n in range(3)) if r is not None] == []
    assert a.events("old0") == []
    assert {r.id for r in a.running()} == {"live", "new"}


# --- what every process must know: the run limit, the sent message, whose runs are running ------


def age_starts(store, seconds: float = WINDOW_SECONDS) -> None:
    with store._transaction() as tx:
        tx.execute("UPDATE waypoint_run_starts SET started_at = started_at - ?", (seconds,))


def test_the_run_limit_counts_every_processs_starts_per_user_for_an_hour(stores):
    a, b = stores
    alice, bob = Starter("alice", 2), Starter("bob", 2)
    a.begin("r1", "t1", alice)
    b.begin("r2", "t2", alice)  # the other process's start counts too
    b.begin("r3", "t3", bob)  # another user has their own count
    for store, run_id in ((a, "r4"), (b, "r5")):
        with pytest.raises(RunLimitReached, match="2 runs in the last hour") as refused:
            store.begin(run_id, "t4", alice)
        assert "try again in about 60 minutes" in str(refused.value)
        assert store.get(run_id) is None and store.latest("t4") is None, "a refusal stores nothing"
    b.begin("r6", "t4", Starter("alice", 3))  # a higher limit (as after a restart with one) lets it
    age_starts(a, WINDOW_SECONDS / 2)
    with pytest.raises(RunLimitReached, match="3 runs") as refused:
        a.begin("r7", "t5", Starter("alice", 3))
    assert "in about 30 minutes" in str(refused.value), "when the oldest of the three leaves"
    age_starts(a, WINDOW_SECONDS / 2)  # an hour on: all three left the window
    a.begin("r7", "t5", Starter("alice", 3))
    with pytest.raises(RunLimitReached, match="1 run in the last hour"):
        a.begin("r8", "t6", Starter("alice", 1))


def test_a_slot_comes_back_only_for_a_run_that_never_started(stores):
    a, b = stores
    a.begin("r1", "t1", Starter("alice", 1))
    with pytest.raises(RunAlreadyLive):
        b.begin("r2", "t1", Starter("alice", 2))  # a busy thread takes no slot
    a.discard("r1")  # its preparation failed: the run never started
    b.begin("r3", "t2", Starter("alice", 1))
    b.end("r3", "done")
    b.forget_threads(["t2"])  # the thread is deleted: its run still counts
    with pytest.raises(RunLimitReached):
        a.begin("r4", "t3", Starter("alice", 1))
    a.begin("r5", "t3", Starter("alice", None))  # no limit: counted all the same
    with pytest.raises(RunLimitReached, match="2 runs"):
        a.begin("r6", "t4", Starter("alice", 2))


def test_two_processes_taking_the_last_slot_at_once_let_one_through(stores, monkeypatch):
    """A's start has counted and holds its transaction open; B's start meanwhile must wait for it
    (SQLite's write lock, Postgres's advisory lock on the user), then count A's row and be refused.
    Were B's count not held back, B would count before A's insert commits and both would pass."""
    a, b = stores
    real_take = run_limit.take
    first_counted, second_counted = threading.Event(), threading.Event()

    def take(conn, user_id, per_hour, run_id, now):
        real_take(conn, user_id, per_hour, run_id, now)
        if run_id == "first":
            first_counted.set()
            second_counted.wait(1.0)  # B is held back: it cannot count while this is open
        else:
            second_counted.set()

    monkeypatch.setattr(run_limit, "take", take)
    outcome: dict[str, BaseException | None] = {}

    def start(store, run_id: str, thread_id: str) -> None:
        try:
            store.begin(run_id, thread_id, Starter("alice", 1))
            outcome[run_id] = None
        except RunLimitReached as refused:
            outcome[run_id] = refused

    first = threading.Thread(target=start, args=(a, "first", "t1"))
    first.start()
    assert first_counted.wait(10)
    second = threading.Thread(target=start, args=(b, "second", "t2"))
    second.start()
    first.join(20)
    second.join(20)
    assert outcome["first"] is None
    assert isinstance(outcome["second"], RunLimitReached), "both took the last slot"
    assert not second_counted.is_set()
    assert [r.id for r in a.running()] == ["first"]


def test_the_sent_message_is_kept_for_every_process_capped_redacted_and_dropped_with_the_run(
    stores, monkeypatch
):
    a, b = stores
    key = "sk-proj-" + "A1b2C3d4" * 4
    a.begin("r1", "t1", Starter("alice", sent=SentMessage("m1", "What is the weather in Tokyo?")))
    assert b.sent("r1") == SentMessage("m1", "What is the weather in Tokyo?")
    a.begin("r2", "t2", Starter("alice", sent=SentMessage("m2", f"my key {key} " + "x" * 30_000)))
    sent = b.sent("r2")
    assert sent is not None and key not in sent.text and "[redacted]" in sent.text
    assert len(sent.text) <= MAX_MESSAGE_CHARS + len("[redacted]")
    a.begin("r3", "t3", Starter("alice"))  # a decision or a resume sends no message
    assert b.sent("r3") is None and b.sent("no such run") is None
    for run_id in ("r1", "r2", "r3"):
        a.end(run_id, "done")
    b.forget_threads(["t2"])
    assert a.sent("r2") is None
    monkeypatch.setattr("agent.run_store.KEEP_ENDED_SECONDS", -1.0)  # every ended run is old
    b.begin("r4", "t4", Starter("bob"))
    assert a.sent("r1") is None and a.events("r1") == []


def add_thread(store, thread_id: str, owner: str) -> None:
    with store._transaction() as tx:
        tx.execute(
            "INSERT INTO waypoint_threads (id, title, created_at, updated_at, owner) "
            "VALUES (?, 'a thread', 0, 0, ?)",
            (thread_id, owner),
        )


def test_running_for_an_owner_lists_the_runs_on_their_threads_only(stores):
    a, b = stores
    add_thread(a, "alice-1", "alice")
    add_thread(a, "alice-2", "alice")
    add_thread(a, "bob-1", "bob")
    a.begin("ra", "alice-1")
    b.begin("rb", "bob-1")
    b.begin("ra2", "alice-2")
    b.end("ra2", "done")
    assert [r.id for r in b.running(owner="alice")] == ["ra"]
    assert [r.id for r in a.running(owner="bob")] == ["rb"]
    assert a.running(owner="carol") == []
    assert {r.id for r in a.running()} == {"ra", "rb"}
