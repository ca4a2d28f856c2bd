"""The throwaway Postgres of `tests.pg_server`: reachable, loopback only, isolated, cleaned up."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests import pg_server


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port`, read from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, _remote, state = line.split()[1:4]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def _recorded_mkdtemp(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(prefix: str) -> str:
        path = real_mkdtemp(prefix=prefix)
        made.append(Path(path))
        return path

    monkeypatch.setattr(pg_server.tempfile, "mkdtemp", mkdtemp)
    return made


def test_a_test_database_is_empty_and_its_own(postgres_db, postgres_url):
    with psycopg.connect(postgres_db) as conn:
        row = conn.execute(
            "SELECT current_database(), current_user, "
            "(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')"
        ).fetchone()
    assert row is not None
    name, user, tables = row
    assert name != pg_server.DB_NAME and name.startswith("test_")
    assert (user, tables) == (pg_server.DB_SUPERUSER, 0)
    assert postgres_url.endswith(f"/{pg_server.DB_NAME}")


def test_the_test_database_is_dropped_afterwards(postgres_url):
    with pg_server.fresh_database(postgres_url) as url:
        name = url.rsplit("/", 1)[1]
        user_of_it = psycopg.connect(url, autocommit=True)  # still connected at the drop
        user_of_it.execute("CREATE TABLE t (x int)")
    try:
        with psycopg.connect(postgres_url) as conn:
            left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            assert left.fetchone() == (0,)
    finally:
        user_of_it.close()


def test_the_server_listens_on_loopback_only(postgres_server):
    assert _listening_addresses(postgres_server.port) == {"0100007F"}  # 127.0.0.1
    with psycopg.connect(postgres_server.url()) as conn:
        settings = [
            conn.execute(f"SHOW {setting}").fetchone()
            for setting in ("listen_addresses", "unix_socket_directories", "fsync")
        ]
    assert settings == [("127.0.0.1",), (str(postgres_server.root),), ("off",)]


def test_stopping_a_server_removes_its_folder_and_frees_its_port():
    server = pg_server.start_server()
    try:
        assert (server.data_dir / "PG_VERSION").is_file()
        assert server.process.poll() is None
    finally:
        server.stop()
    assert not server.root.exists()
    assert server.process.poll() is not None
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url(), connect_timeout=2)


def test_a_port_taken_before_postgres_binds_it_is_replaced(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        ports = iter([taken_port])
        real_free_port = pg_server.free_loopback_port
        monkeypatch.setattr(pg_server, "free_loopback_port", lambda: next(ports, real_free_port()))
        server = pg_server.start_server()
    try:
        assert server.port != taken_port
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()


def test_a_server_that_cannot_start_says_why_and_leaves_nothing(monkeypatch):
    made = _recorded_mkdtemp(monkeypatch)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(pg_server, "free_loopback_port", lambda: taken.getsockname()[1])
        with pytest.raises(pg_server.PostgresUnavailable) as failure:
            pg_server.start_server()
    assert "every port tried (3) was taken" in str(failure.value)
    assert "Address already in use" in str(failure.value)  # the server's own log line
    assert len(made) == 1 and not made[0].exists()


def test_missing_binaries_name_the_fix(monkeypatch):
    monkeypatch.setattr(pg_server.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg_server.shutil, "which", lambda name: None)
    with pytest.raises(pg_server.PostgresUnavailable, match="make postgres"):
        pg_server.find_bindir()


def test_the_newest_installed_version_is_chosen(monkeypatch):
    installed = [f"/usr/lib/postgresql/{v}/bin/initdb" for v in ("9.6", "15", "10")]
    monkeypatch.setattr(pg_server.glob, "glob", lambda pattern: installed)
    assert pg_server.find_bindir() == Path("/usr/lib/postgresql/15/bin")
