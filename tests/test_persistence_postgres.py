"""DATABASE_URL puts the whole engine on Postgres; a wrong one is one clear sentence.

The engine's own scenarios run on Postgres in tests/test_engine.py; here: what the setting selects,
that threads outlive the process that wrote them, that closing gives the connections back, and the
messages for a URL that cannot work (never with its password).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import psycopg
import pytest

from agent.backend import LocalBackend
from agent.persistence import Persistence
from agent.protocol import LOCAL_USER
from agent.settings import Settings, load_settings
from agent.storage_postgres import AsyncWaypointPostgresSaver, WaypointPostgresSaver
from tests.engine_fixtures import make_harness
from tests.scripted_model import reply

PASSWORD = "s3cret-pw"


def connections_to(url: str) -> int:
    """Sessions open on `url`'s database, other than the one asking."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return row[0]


def settles_at(url: str, count: int, timeout: float = 5.0) -> bool:
    """Whether the database's session count reaches `count`: a closed connection's server
    process ends just after the client lets go."""
    deadline = time.monotonic() + timeout
    while connections_to(url) != count:
        if time.monotonic() > deadline:
            return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_url_selects_postgres_and_threads_outlive_the_process(data_dir, postgres_db):
    settings = load_settings({"DATABASE_URL": postgres_db}, secrets_file=data_dir / "none.toml")
    assert settings.database_url == postgres_db and postgres_db not in repr(settings)
    for engine in ("sync", "async"):
        h = make_harness(data_dir, engine, database_url=settings.database_url)
        try:
            thread = h.backend.create_thread(LOCAL_USER)
            h.model.script = [reply(f"Hello from {engine}.")]
            h.send(thread.id, f"hi {engine}")
            assert isinstance(h.backend.persistence.saver, WaypointPostgresSaver)
            if engine == "async":
                assert isinstance(h.backend.persistence.async_saver, AsyncWaypointPostgresSaver)
        finally:
            h.backend.close()
    assert not (data_dir / "waypoint.sqlite").exists()
    assert settles_at(postgres_db, 0)  # closing gave every pooled connection back

    later = LocalBackend(Settings(db_path=data_dir / "unused.sqlite", database_url=postgres_db))
    try:
        titles = [t.title for t in later.list_threads(LOCAL_USER)]
        assert titles == ["hi async", "hi sync"]
        thread = later.list_threads(LOCAL_USER)[0]
        assert [m.text for m in later.thread_view(LOCAL_USER, thread.id).messages] == [
            "hi async",
            "Hello from async.",
        ]
    finally:
        later.close()


def test_pool_sizes_come_from_the_settings(data_dir, postgres_db):
    settings = load_settings(
        {"DATABASE_URL": postgres_db, "WAYPOINT_DB_POOL_MIN": "2", "WAYPOINT_DB_POOL_MAX": "3"},
        secrets_file=data_dir / "none.toml",
    )
    assert (settings.db_pool_min, settings.db_pool_max) == (2, 3)
    persistence = Persistence.open(
        data_dir / "unused.sqlite", database_url=postgres_db, pool_min=2, pool_max=3
    )
    try:
        pool = persistence.saver.conn  # type: ignore[attr-defined]
        assert (pool.min_size, pool.max_size) == (2, 3)
        assert settles_at(postgres_db, 2)
    finally:
        persistence.close()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DATABASE_URL": "mysql://u:p@localhost/db"}, "must start with postgresql://"),
        ({"WAYPOINT_DB_POOL_MAX": "many"}, "WAYPOINT_DB_POOL_MAX must be a whole number"),
        ({"WAYPOINT_DB_POOL_MIN": "0"}, "WAYPOINT_DB_POOL_MIN must be a whole number"),
        ({"WAYPOINT_DB_POOL_MIN": "5", "WAYPOINT_DB_POOL_MAX": "2"}, "is below"),
    ],
)
def test_settings_that_cannot_work_say_how_to_fix_them(data_dir, environ, message):
    with pytest.raises(ValueError, match=message):
        load_settings(environ, secrets_file=data_dir / "none.toml")


def _refused(data_dir: Path, url: str) -> str:
    with pytest.raises(RuntimeError) as refused:
        Persistence.open(data_dir / "unused.sqlite", database_url=url)
    text = str(refused.value)
    assert PASSWORD not in text and "\n" not in text
    return text


def test_an_unreachable_server_is_named_without_the_password(data_dir):
    port = free_port()
    text = _refused(data_dir, f"postgresql://waypoint:{PASSWORD}@127.0.0.1:{port}/app")
    assert text.startswith(f"Cannot connect to the Postgres database at 127.0.0.1:{port}/app")
    assert "refused" in text and "Check DATABASE_URL" in text


def test_a_wrong_user_or_database_says_what_the_server_said(data_dir, postgres_db):
    parts = psycopg.conninfo.conninfo_to_dict(postgres_db)
    wrong = f"postgresql://nobody:{PASSWORD}@{parts['host']}:{parts['port']}/{parts['dbname']}"
    assert 'role "nobody" does not exist' in _refused(data_dir, wrong)
    assert 'database "no_such_db" does not exist' in _refused(
        data_dir, postgres_db.rsplit("/", 1)[0] + "/no_such_db"
    )


def test_an_unreadable_url_is_refused_without_quoting_it(data_dir):
    text = _refused(data_dir, f"postgresql://waypoint:{PASSWORD}@[::1/app?sslmode=nonsense")
    assert text.startswith("DATABASE_URL is not a valid Postgres URL")
