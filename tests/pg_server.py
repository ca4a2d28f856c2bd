"""A throwaway Postgres for the tests: Debian's binaries, a temporary folder, a loopback port.

Tests that need Postgres ask for a fixture; nothing starts unless one does:

    def test_saver(postgres_db):          # a fresh, empty database for this test only
        with psycopg.connect(postgres_db, autocommit=True) as conn:
            ...

    def test_two_apps(postgres_url):      # the session's shared database
        ...

`postgres_url` (session scope) finds the newest `/usr/lib/postgresql/*/bin` (or `pg_config
--bindir`), runs `initdb` in a temporary folder, starts `postgres` listening on 127.0.0.1 only, on
a free port, with its unix socket inside that folder and durability turned off for speed (fsync,
synchronous_commit, full_page_writes), waits until a connection succeeds, creates the `waypoint`
database and yields `postgresql://waypoint@127.0.0.1:<port>/waypoint`. At the end of the session it
stops the server (`pg_ctl stop -m fast`) and removes the folder. `postgres_db` (function scope)
creates a database from `template0` for one test and drops it afterwards, so tests never see each
other's tables.

Postgres refuses to run as root, and CI runs as root: then the server runs as the system user
`waypoint-pg`, created with `useradd --system` when missing. A non-root user runs it as itself.
Authentication is `trust`, which is safe only because the server listens on loopback and lives for
one test session.

A test that needs Postgres must not pass without it: when the binaries are missing or the server
does not come up, the fixture fails with the reason and the server's log, never skips. `make
postgres` installs Debian's `postgresql` package.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

SERVICE_USER = "waypoint-pg"
DB_SUPERUSER = "waypoint"
DB_NAME = "waypoint"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
PORT_ATTEMPTS = 3
_PORT_IN_USE = "Address already in use"
_SPEED_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PostgresUnavailable(RuntimeError):
    """Postgres could not be started; the message says why and how to fix it."""


class _PortTaken(PostgresUnavailable):
    """The server exited because another process took its port first (worth another port)."""


def _version_key(version: str) -> tuple[int, ...]:
    """'15' -> (15,), '9.6' -> (9, 6): numeric order, so 10 is newer than 9.6."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_bindir() -> Path:
    """The folder holding `initdb`, `postgres` and `pg_ctl`: Debian's newest, else pg_config's."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if candidates:
        newest = max(candidates, key=lambda path: _version_key(Path(path).parent.parent.name))
        return Path(newest).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=30
        )
        bindir = Path(result.stdout.strip())
        if result.returncode == 0 and (bindir / "initdb").is_file():
            return bindir
    raise PostgresUnavailable(
        "Postgres is not installed (no initdb under /usr/lib/postgresql/*/bin nor in "
        "`pg_config --bindir`); install it with `make postgres` or `apt-get install postgresql`."
    )


def service_account() -> pwd.struct_passwd:
    """The account the server runs as: this user, or `waypoint-pg` (created) when running as root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    # Another test process may have created it meanwhile (exit code 9: already exists).
    if result.returncode not in (0, 9):
        raise PostgresUnavailable(
            f"Could not create the system user {SERVICE_USER!r} that Postgres runs as "
            f"(useradd said: {result.stderr.strip()}); create it by hand or run as a non-root user."
        )
    return pwd.getpwnam(SERVICE_USER)


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """One running server: where it lives, how to reach it, and its process."""

    root: Path
    port: int
    account: pwd.struct_passwd
    bindir: Path
    process: subprocess.Popen[bytes]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = DB_NAME) -> str:
        return f"postgresql://{DB_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended) and remove its folder."""
        try:
            if self.process.poll() is None:
                _run_as(
                    self.account,
                    [
                        str(self.bindir / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        str(int(STOP_TIMEOUT)),
                    ],
                    cwd=self.root,
                )
                self.process.wait(timeout=STOP_TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass(frozen=True)
class _Identity:
    """Who a subprocess runs as: all None when that is this process's own user."""

    user: int | None = None
    group: int | None = None
    extra_groups: list[int] | None = None


def _identity(account: pwd.struct_passwd) -> _Identity:
    if account.pw_uid == os.geteuid():
        return _Identity()
    return _Identity(user=account.pw_uid, group=account.pw_gid, extra_groups=[])


def _environment(account: pwd.struct_passwd) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": account.pw_dir,
        "USER": account.pw_name,
        "LC_ALL": "C",
        "LANG": "C",
    }


def _run_as(account: pwd.struct_passwd, command: list[str], cwd: Path) -> None:
    who = _identity(account)
    result = subprocess.run(
        command,
        cwd=cwd,
        env=_environment(account),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        user=who.user,
        group=who.group,
        extra_groups=who.extra_groups,
    )
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"`{Path(command[0]).name} {command[1] if len(command) > 1 else ''}` failed "
            f"(exit {result.returncode}): {(result.stderr or result.stdout).strip()}"
        )


def _init_cluster(root: Path, account: pwd.struct_passwd, bindir: Path) -> None:
    """Create the cluster and write the settings: loopback only, socket in `root`, no fsync."""
    os.chown(root, account.pw_uid, account.pw_gid)
    _run_as(
        account,
        [
            str(bindir / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            DB_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        ],
        cwd=root,
    )


def _postgres_command(root: Path, bindir: Path, port: int) -> list[str]:
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(root),
        **_SPEED_SETTINGS,
    }
    command = [str(bindir / "postgres"), "-D", str(root / "data")]
    for name, value in settings.items():
        command += ["-c", f"{name}={value}"]
    return command


def _wait_until_ready(server: PostgresServer) -> None:
    """Poll a connection until one succeeds, the server exits, or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    last_error = "no attempt"
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(server.url("postgres"), connect_timeout=2):
                return
        except psycopg.OperationalError as error:
            last_error = str(error).strip()
        # Waiting on the process is the pause between attempts and notices an early exit.
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = server.process.wait(timeout=0.1)
            log = server.log_tail()
            failure = _PortTaken if _PORT_IN_USE in log else PostgresUnavailable
            raise failure(f"postgres exited with code {code} while starting; its log:\n{log}")
    raise PostgresUnavailable(
        f"postgres did not accept connections within {START_TIMEOUT:.0f} s "
        f"(last error: {last_error}); its log:\n{server.log_tail()}"
    )


def _launch(root: Path, account: pwd.struct_passwd, bindir: Path) -> PostgresServer:
    """Start `postgres` on the cluster in `root`, on a port free a moment ago (not yet ready)."""
    port = free_loopback_port()
    who = _identity(account)
    with open(root / "server.log", "wb") as log:
        process = subprocess.Popen(
            _postgres_command(root, bindir, port),
            cwd=root,
            env=_environment(account),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            user=who.user,
            group=who.group,
            extra_groups=who.extra_groups,
        )
    return PostgresServer(root=root, port=port, account=account, bindir=bindir, process=process)


def start_server() -> PostgresServer:
    """Start a fresh server in a new temporary folder; the caller must `stop()` it.

    Another process may take the free port before `postgres` binds it (tests run in parallel on
    shared machines), so a server that exits because its port is in use is started again on
    another one, up to PORT_ATTEMPTS times.
    """
    bindir = find_bindir()
    account = service_account()
    root = Path(tempfile.mkdtemp(prefix="waypoint-pg-"))
    try:
        _init_cluster(root, account, bindir)
        for _attempt in range(PORT_ATTEMPTS):
            server = _launch(root, account, bindir)
            try:
                _wait_until_ready(server)
            except _PortTaken as taken:
                port_error = taken
                continue
            except BaseException:
                server.stop()
                raise
            break
        else:
            raise PostgresUnavailable(
                f"every port tried ({PORT_ATTEMPTS}) was taken before postgres could bind it: "
                f"{port_error}"
            )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """An empty database on the server of `server_url`, dropped (even if in use) on exit."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's throwaway server, started the first time a test asks for Postgres."""
    try:
        server = start_server()
    except PostgresUnavailable as error:
        pytest.fail(f"The tests need a throwaway Postgres and could not start one: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of the session's shared `waypoint` database."""
    return postgres_server.url()


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database for this test alone, dropped after it."""
    with fresh_database(postgres_url) as url:
        yield url
