"""The repository deploys on Streamlit Community Cloud as it is, with only what the README says.

Community Cloud clones the repository, installs `requirements.txt` (never the Makefile), turns the
pasted secrets into `.streamlit/secrets.toml` and runs `streamlit run app.py` from the root, behind
its own proxy. This test does the same on this machine: a copy of exactly the files git tracks, a
secrets file holding only the README's "Deploy on Streamlit Community Cloud" settings (a Postgres
URL, here the throwaway server's, and visitor mode), an environment without any Waypoint or
LangGraph variable and a home folder of its own (no developer's ~/.streamlit), `streamlit run
app.py` with no launcher and no command-line options. It waits for the health check, chats once
in Chromium with the demo model, and finds the thread and its checkpoints in Postgres, and no
SQLite file (whose disk Community Cloud resets).

The server runs under the loopback-only network guard. Started this way Streamlit looks up the
machine's own LAN and public addresses to print them (Community Cloud does the same); here both
are refused, and any other attempt to leave the machine fails the test.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from agent.protocol import VISITOR_COOKIE, visitor_owner
from tests.app_server import GUARDED_SITE, ROOT, free_port
from tests.browser_helpers import LIVE_STOP, expect, main, send

GREETING_END = "fork the conversation from there"
# What the README's deployment section says to paste into the Secrets box, besides the URL.
README_SECRETS = 'WAYPOINT_VISITORS = "true"\n'
# Streamlit's own-address lookups at a start without server.address: refused, and expected.
OWN_ADDRESS_LOOKUPS = ("connect ('8.8.8.8', 1)", "resolve 'checkip.amazonaws.com'")
STRIPPED_PREFIXES = ("WAYPOINT_", "STREAMLIT_", "OPENAI_", "TAVILY_", "LANGGRAPH_", "LANGSMITH_")
STRIPPED = {"DATABASE_URL", "PYTHONPATH", "HOME"}
START_TIMEOUT = 90.0


def tracked_copy(destination: Path) -> Path:
    """The files a clone would hold: what git tracks (or is about to), nothing ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is not in the next commit
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def cloud_environment(home: Path, port: int, netlog: Path) -> dict[str, str]:
    """This machine's environment minus every setting a Cloud container would not have."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in STRIPPED and not name.startswith(STRIPPED_PREFIXES)
    }
    return {
        **env,
        "HOME": str(home),
        "PYTHONPATH": str(GUARDED_SITE),  # the network guard, nothing of the repository
        "WAYPOINT_NETGUARD_LOG": str(netlog),  # read by the guard only
        "STREAMLIT_SERVER_PORT": str(port),  # Cloud picks the port; here a free one
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",  # spare the 2-core machine
    }


def wait_healthy(process: subprocess.Popen, port: int, timeout: float) -> None:
    """Until /_stcore/health answers "ok"; fails at once if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/_stcore/health")
            response = connection.getresponse()
            if response.status == 200 and response.read() == b"ok":
                return
        except OSError:
            pass
        try:  # the pause between tries is a wait on the process: an exit ends it early
            process.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"streamlit run app.py exited with {process.returncode} before serving")
    pytest.fail(f"streamlit run app.py did not become healthy within {timeout:g} s")


@contextmanager
def cloud_app(tmp_path: Path, database_url: str) -> Iterator[tuple[str, Path]]:
    """`streamlit run app.py` in a clean copy; yields its URL and the copy, then stops it.

    The server's output is in `tmp_path / "streamlit.log"`, whole once this has returned.
    """
    repo = tracked_copy(tmp_path / "repo")
    assert not (repo / ".streamlit" / "secrets.toml").exists(), "secrets.toml must not be tracked"
    secrets = f'DATABASE_URL = "{database_url}"\n{README_SECRETS}'
    (repo / ".streamlit" / "secrets.toml").write_text(secrets)
    home = tmp_path / "home"
    home.mkdir()
    port, netlog = free_port(), tmp_path / "netguard.log"
    with (tmp_path / "streamlit.log").open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py"],
            cwd=repo,
            env=cloud_environment(home, port, netlog),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(process, port, START_TIMEOUT)
        yield f"http://127.0.0.1:{port}", repo
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    attempts = netlog.read_text().splitlines() if netlog.exists() else []
    unexpected = [a for a in attempts if a not in OWN_ADDRESS_LOOKUPS]
    assert not unexpected, f"the app tried to reach the network: {unexpected}"


def stored_threads(url: str) -> list[tuple[str, str, int, str]]:
    """(id, title, checkpoints, owner) of every thread in the database."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT t.id, t.title, (SELECT COUNT(*) FROM checkpoints c WHERE c.thread_id = t.id), "
            "t.owner FROM waypoint_threads t"
        ).fetchall()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def test_the_app_starts_as_community_cloud_runs_it_and_keeps_threads_in_postgres(
    tmp_path, postgres_db, open_page
):
    with cloud_app(tmp_path, postgres_db) as (url, repo):
        page = open_page(url)
        send(page, "hello")
        expect(main(page).get_by_text(GREETING_END)).to_be_visible()
        main(page).locator(LIVE_STOP).wait_for(state="detached")  # the run has ended
        threads = stored_threads(postgres_db)
        sqlite_files = sorted(p.name for p in repo.rglob("*.sqlite*"))
        cookies = [c for c in page.context.cookies() if c["name"] == VISITOR_COOKIE]
    assert len(threads) == 1, threads
    _, title, checkpoints, owner = threads[0]
    assert title == "hello" and checkpoints >= 2, threads
    # The bare `streamlit run app.py` serves Waypoint's web edge too: the visitor's space is the
    # HttpOnly cookie the server set (agent/web_edge.py), not one a script wrote.
    assert len(cookies) == 1 and cookies[0]["httpOnly"], cookies
    assert owner == visitor_owner(cookies[0]["value"])
    assert not sqlite_files, f"SQLite was used ({sqlite_files}): Cloud loses it at a restart"
    server_log = (tmp_path / "streamlit.log").read_text()
    assert "checkpoints and threads in Postgres at 127.0.0.1:" in server_log, server_log
    assert "run ended:" in server_log and "status done" in server_log, server_log
    assert "postgresql://" not in server_log, "the database URL (and its password) is not logged"
