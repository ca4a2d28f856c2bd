"""The run store on its own: two stores on one database stand for two app processes, on SQLite
(one file) and on Postgres."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from psycopg_pool import ConnectionPool

from agent.events import Done, Error, Halted, Step, Token, ToolCall, ToolResult
from agent.persistence import POSTGRES_CONNECTION, open_connection
from agent.run_store import HOST, RunAlreadyLive, SqliteRunStore, is_live, owner_gone
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
