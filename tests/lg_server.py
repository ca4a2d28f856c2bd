"""A real LangGraph Agent Server (`langgraph dev`, the in-memory runtime) for the tests.

Tests that need it ask for the session-scoped `lg_server` fixture; nothing starts unless one
does. It serves the graphs of `examples/langgraph.json` (copied with absolute paths) on a free
loopback port, plus `slow_chat` (tests/gated_graph.py: a run that waits at a gate the test opens),
from a temporary directory (it writes `.langgraph_api/` there), with tracing and analytics off and the loopback-only network guard loaded (`tests/guarded_site`, as for the app
server of the browser tests): an attempt to leave the machine fails the session's end. A server
that cannot start fails the tests that need it, with its log; it never skips them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.app_server import GUARDED_SITE, ROOT, free_port
from tests.gated_graph import GATES_ENV

START_TIMEOUT = 90.0  # seconds; importing the API and three graphs takes a few on a busy machine
POLL = 0.2  # seconds between looks at GET /ok (the wait is the process's own, so an exit shows)
LANGGRAPH = Path(sys.executable).with_name("langgraph")


@dataclass
class LangGraphServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    netlog: Path
    gates: Path  # where `tests.gated_graph.open_gate` lets a slow_chat run go on

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def server_config(directory: Path) -> Path:
    """`examples/langgraph.json` with absolute paths, written into `directory`."""
    examples = ROOT / "examples"
    config = json.loads((examples / "langgraph.json").read_text())
    config["dependencies"] = [str((examples / d).resolve()) for d in config["dependencies"]]
    for name, spec in config["graphs"].items():
        path = spec["path"] if isinstance(spec, dict) else spec
        absolute = str((examples / path).resolve())  # `file.py:attr` resolves as a path
        if isinstance(spec, dict):
            spec["path"] = absolute
        else:
            config["graphs"][name] = absolute
    config["graphs"]["slow_chat"] = {
        "path": f"{ROOT / 'tests' / 'gated_graph.py'}:graph",
        "description": "A test graph whose run waits at a gate the test opens",
    }
    target = directory / "langgraph.json"
    target.write_text(json.dumps(config, indent=2))
    return target


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def start_server(directory: Path) -> LangGraphServer:
    port = free_port()
    netlog = directory / "netguard.log"
    gates = directory / "gates"
    gates.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(GUARDED_SITE)]),
        "WAYPOINT_NETGUARD_LOG": str(netlog),
        GATES_ENV: str(gates),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",  # it would ask pypi.org for a newer release
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
    }
    command = [
        str(LANGGRAPH),
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--config",
        str(server_config(directory)),
    ]
    log_path = directory / "langgraph-dev.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = LangGraphServer(f"http://127.0.0.1:{port}", process, log_path, netlog, gates)
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(server.url):
        try:
            code = process.wait(timeout=POLL)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None or time.monotonic() > deadline:
            server.stop()
            why = f"exited with {code}" if code is not None else f"not up in {START_TIMEOUT:g} s"
            pytest.fail(f"langgraph dev {why}:\n{server.log_tail()}", pytrace=False)
    return server


@pytest.fixture(scope="session")
def lg_server(tmp_path_factory) -> Iterator[LangGraphServer]:
    """One `langgraph dev` for the session, serving the example graphs and `slow_chat`."""
    server = start_server(tmp_path_factory.mktemp("langgraph-dev"))
    try:
        yield server
    finally:
        server.stop()
        attempts = server.netlog.read_text() if server.netlog.exists() else ""
        assert not attempts, f"langgraph dev tried to reach the network: {attempts}"
