"""The thread index: migrations, listing, search, rename, delete, lineage, on SQLite and Postgres."""

from __future__ import annotations

import sqlite3
import threading
import uuid

import pytest
from psycopg_pool import ConnectionPool

from agent.errors import UnknownThread
from agent.persistence import POSTGRES_CONNECTION
from agent.threads import MIGRATIONS, ThreadIndex, migrate, title_from_text
from agent.threads_postgres import PostgresThreadDatabase, migrate_postgres


@pytest.fixture
def pg_pool(postgres_db):
    with ConnectionPool(postgres_db, kwargs=POSTGRES_CONNECTION, min_size=1, max_size=2) as pool:
        yield pool


@pytest.fixture(params=["sqlite", "postgres"])
def index(request, data_dir):
    if request.param == "postgres":
        yield ThreadIndex(PostgresThreadDatabase(request.getfixturevalue("pg_pool")))
        return
    conn = sqlite3.connect(data_dir / "t.sqlite", check_same_thread=False, isolation_level=None)
    yield ThreadIndex(conn)
    conn.close()


def test_migrations_run_once_and_in_order(data_dir):
    conn = sqlite3.connect(data_dir / "m.sqlite", isolation_level=None)
    assert migrate(conn) == len(MIGRATIONS)
    assert migrate(conn) == len(MIGRATIONS)
    versions = [row[0] for row in conn.execute("SELECT version FROM waypoint_schema")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    columns = {row[1] for row in conn.execute("PRAGMA table_info(waypoint_threads)")}
    assert {"forked_from", "forked_at_checkpoint", "branch_head", "owner"} <= columns


def _schema(conn: sqlite3.Connection) -> tuple[list, int]:
    tables = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    columns = conn.execute("PRAGMA table_info(waypoint_threads)").fetchall()
    version = conn.execute("SELECT MAX(version) FROM waypoint_schema").fetchone()[0]
    return [tables, columns], version


@pytest.mark.parametrize("isolation_level", [None, ""], ids=["autocommit", "legacy"])
def test_a_migration_that_fails_half_way_changes_nothing(data_dir, monkeypatch, isolation_level):
    """Each migration is atomic: a failure after its first statement keeps neither statement,
    the version stays, and the next start (with the migration fixed) applies it."""
    conn = sqlite3.connect(data_dir / "m.sqlite", isolation_level=isolation_level)
    ThreadIndex(conn).create("kept", owner="local")
    before = _schema(conn)
    assert before[1] == len(MIGRATIONS)
    first = "ALTER TABLE waypoint_threads ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0"
    monkeypatch.setattr(
        "agent.threads.MIGRATIONS", (*MIGRATIONS, f"{first}; ALTER TABLE no_such_table ADD x")
    )
    with pytest.raises(RuntimeError, match=rf"schema version {len(MIGRATIONS) + 1}.*no_such_table"):
        migrate(conn)
    assert not conn.in_transaction
    assert _schema(conn) == before
    monkeypatch.setattr("agent.threads.MIGRATIONS", (*MIGRATIONS, first))
    index = ThreadIndex(conn)  # the next start
    assert _schema(conn)[1] == len(MIGRATIONS) + 1
    assert [t.title for t in index.list(owner="local")] == ["kept"]
    assert "pinned" in {row[1] for row in conn.execute("PRAGMA table_info(waypoint_threads)")}
    conn.close()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_migration_5_deletes_only_never_used_empty_threads(
    request, data_dir, monkeypatch, database
):
    """The old "New thread" button stored a row per click; a row nobody wrote to goes, every
    other stays (one with messages, a renamed one, one with a run, a fork, one waiting)."""

    def open_index() -> ThreadIndex:
        if database == "postgres":
            return ThreadIndex(PostgresThreadDatabase(request.getfixturevalue("pg_pool")))
        conn = sqlite3.connect(data_dir / "old.sqlite", check_same_thread=False)
        conn.isolation_level = None
        return ThreadIndex(conn)

    def old_row(title="New thread", messages=0, status="idle", forked_from=None) -> str:
        """A row as the schema of migration 4 stored it (today's `create` knows later columns)."""
        thread_id = uuid.uuid4().hex
        index.db.change(
            "INSERT INTO waypoint_threads (id, title, created_at, updated_at, message_count, "
            "status, owner, forked_from) VALUES (?, ?, 1.0, 1.0, ?, ?, 'local', ?)",
            (thread_id, title, messages, status, forked_from),
        )
        return thread_id

    with monkeypatch.context() as old:
        old.setattr("agent.threads.MIGRATIONS", MIGRATIONS[:4])
        index = open_index()
        empty = [old_row() for _ in range(3)]
        kept = {
            "with messages": old_row(messages=2),
            "renamed": old_row("Notes"),
            "with a run": old_row(),
            "a fork": old_row(forked_from=empty[0]),
            "waiting": old_row(status="waiting"),
        }
        index.db.change(
            "INSERT INTO waypoint_runs (id, thread_id, owner, status, started_at, heartbeat)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ("r1", kept["with a run"], "local", "error", 1.0, 1.0),
        )
    index = open_index()  # the next start applies migration 5
    remaining = {t.id for t in index.list(owner="local", limit=100)}
    assert remaining == set(kept.values()), [k for k, v in kept.items() if v not in remaining]


def _pg_schema(pool) -> tuple[list, int]:
    with pool.connection() as conn:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'waypoint_threads' ORDER BY ordinal_position"
        ).fetchall()
        version = conn.execute("SELECT MAX(version) AS v FROM waypoint_schema").fetchone()["v"]
    return columns, version


def test_postgres_migrations_run_once_in_order_even_when_two_start_at_once(pg_pool):
    start = threading.Barrier(2)
    results: list[int] = []

    def starting() -> None:
        start.wait(timeout=10)
        results.append(migrate_postgres(pg_pool))

    workers = [threading.Thread(target=starting) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert results == [len(MIGRATIONS)] * 2
    assert migrate_postgres(pg_pool) == len(MIGRATIONS)
    with pg_pool.connection() as conn:
        versions = [r["version"] for r in conn.execute("SELECT version FROM waypoint_schema")]
    assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
    columns = {c["column_name"] for c in _pg_schema(pg_pool)[0]}
    assert {"forked_from", "forked_at_checkpoint", "branch_head", "owner"} <= columns


def test_a_postgres_migration_that_fails_half_way_changes_nothing(pg_pool, monkeypatch):
    ThreadIndex(PostgresThreadDatabase(pg_pool)).create("kept", owner="local")
    before = _pg_schema(pg_pool)
    assert before[1] == len(MIGRATIONS)
    first = "ALTER TABLE waypoint_threads ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0"
    monkeypatch.setattr(
        "agent.threads.MIGRATIONS",
        (*MIGRATIONS, f"{first}; ALTER TABLE no_such_table ADD x INTEGER"),
    )
    number = len(MIGRATIONS) + 1
    with pytest.raises(RuntimeError, match=rf"schema version {number}.*no_such_table"):
        migrate_postgres(pg_pool)
    assert _pg_schema(pg_pool) == before
    monkeypatch.setattr("agent.threads.MIGRATIONS", (*MIGRATIONS, first))
    index = ThreadIndex(PostgresThreadDatabase(pg_pool))  # the next start
    assert _pg_schema(pg_pool)[1] == number
    assert [t.title for t in index.list(owner="local")] == ["kept"]
    assert "pinned" in {c["column_name"] for c in _pg_schema(pg_pool)[0]}


def test_newest_first_with_paging(index):
    created = [index.create(f"thread {n}", owner="local") for n in range(5)]
    index.touch(created[1].id)
    listed = [t.id for t in index.list(owner="local", limit=3)]
    assert listed[0] == created[1].id and len(listed) == 3
    rest = [t.id for t in index.list(owner="local", limit=3, offset=3)]
    assert len(rest) == 2 and not set(listed) & set(rest)
    assert index.count(owner="local") == 5


def test_search_is_plain_text_case_insensitive(index):
    index.create("Weather in LA", owner="local")
    index.create("100% sure_thing", owner="local")
    index.create("other", owner="local")
    assert [t.title for t in index.list(owner="local", search="weather")] == ["Weather in LA"]
    assert [t.title for t in index.list(owner="local", search="100%")] == ["100% sure_thing"]
    assert [t.title for t in index.list(owner="local", search="_")] == ["100% sure_thing"]
    assert index.count(owner="local", search="%") == 1


def test_rename_validates_and_unknown_ids_say_so(index):
    thread = index.create("old", owner="local")
    assert index.rename(thread.id, "  new   name ").title == "new name"
    with pytest.raises(ValueError, match="title"):
        index.rename(thread.id, "   ")
    with pytest.raises(UnknownThread, match="deleted"):
        index.rename("missing", "x")
    index.delete(thread.id)
    assert index.find(thread.id) is None
    with pytest.raises(UnknownThread):
        index.get(thread.id)


def test_ids_are_uuid4_and_fork_lineage_is_kept(index):
    parent = index.create("parent", owner="local")
    child = index.create(
        "fork of parent", owner="local", forked_from=parent.id, forked_at_checkpoint="cp-1"
    )
    assert len(parent.id) == 36 and parent.id[14] == "4"
    stored = index.get(child.id)
    assert (stored.forked_from, stored.forked_at_checkpoint) == (parent.id, "cp-1")


def test_titles_come_from_the_first_message():
    assert title_from_text("  what is\nthe weather? ") == "what is the weather?"
    long = title_from_text("word " * 40)
    assert len(long) <= 80 and long.endswith("…")
    assert title_from_text("   ") == "New thread"


def test_created_before_finds_old_threads_of_an_owner_prefix_only(index):
    old = index.create("old", owner="visitor:aaa")
    other = index.create("account", owner="oidc:x|visitor:aaa")  # the prefix is a prefix only
    index.create("local", owner="local")
    cutoff = index.get(other.id).created_at + 1
    young = index.create("young", owner="visitor:bbb")
    index._update(young.id, created_at=cutoff + 10)
    assert index.created_before("visitor:", cutoff) == [("visitor:aaa", old.id)]
    assert index.created_before("visitor:", cutoff + 20) == [
        ("visitor:aaa", old.id),
        ("visitor:bbb", young.id),
    ]
