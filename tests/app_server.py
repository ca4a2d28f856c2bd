"""Run the real app (`python serve.py`, i.e. `streamlit run app.py`) on a free local port for
browser tests.

The server process loads the same loopback-only network guard as the tests (through
`tests/guarded_site/sitecustomize.py`); any attempt it makes to leave the machine is written to a
log that the fixture checks when the server stops.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GUARDED_SITE = Path(__file__).resolve().parent / "guarded_site"
CHROMIUM = os.environ.get("WAYPOINT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pump(stream, log_path: Path, lines: queue.Queue) -> None:
    """Copy the server's output to a log file and hand each line to the waiting test."""
    with log_path.open("w") as log:
        for line in iter(stream.readline, ""):
            log.write(line)
            log.flush()
            lines.put(line)
    lines.put(None)


def _wait_ready(lines: queue.Queue, timeout: float) -> None:
    """Block on the server's own output until it says where it is serving."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"streamlit did not start within {timeout} s")
        line = lines.get(timeout=remaining)
        if line is None:
            raise RuntimeError("streamlit exited before it started serving")
        if "URL:" in line:  # the banner's first address line: what it printed is in the log
            return


@dataclass
class AppServer:
    """A started `streamlit run` process: its URL, and the two ways to end it."""

    url: str
    process: subprocess.Popen
    pump: threading.Thread
    netlog: Path

    def stop(self) -> None:
        """End it as a service manager would (SIGTERM, then SIGKILL after 10 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._joined()

    def kill(self) -> None:
        """SIGKILL: the process dies on the spot, as in a crash or an out-of-memory kill."""
        self.process.kill()
        self.process.wait(timeout=10)
        self._joined()

    def _joined(self) -> None:
        self.pump.join(timeout=5)
        attempts = self.netlog.read_text() if self.netlog.exists() else ""
        assert not attempts, f"the app tried to reach the network: {attempts}"


def start_app(
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    port: int | None = None,
    secrets_file: Path | None = None,
) -> AppServer:
    """Start the app on a free port with the database in `data_dir`; return once it serves.

    `port` is for a test that must know it in advance (an OIDC redirect URI names it);
    `secrets_file` replaces the repository's `.streamlit/secrets.toml` (Streamlit's
    `secrets.files` option), so a test's `[auth]` never touches the user's own file.

    The caller ends it (`stop` or `kill`); `running_app` is the context manager for that. The
    address and host names come from serve.py's local defaults, headless mode and usage statistics
    from the repository's `.streamlit/config.toml`, as for `make run`, so every browser test runs
    what a user runs.
    """
    port = port or free_port()
    netlog = data_dir / "netguard.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(GUARDED_SITE), str(ROOT)]),
        "WAYPOINT_NETGUARD_LOG": str(netlog),
        "WAYPOINT_DB": str(data_dir / "app.sqlite"),
        "WAYPOINT_DEMO_TOKEN_DELAY": "0.01",
        "LANGGRAPH_STRICT_MSGPACK": "true",
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        str(ROOT / "serve.py"),  # `streamlit run app.py`, as `make run` starts it
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
    ]
    if secrets_file is not None:
        command += ["--secrets.files", str(secrets_file)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue = queue.Queue()
    pump = threading.Thread(
        target=_pump, args=(process.stdout, data_dir / "streamlit.log", lines), daemon=True
    )
    pump.start()
    server = AppServer(f"http://127.0.0.1:{port}", process, pump, netlog)
    try:
        _wait_ready(lines, timeout=60)
    except BaseException:
        server.kill()
        raise
    return server


@contextmanager
def running_app(
    data_dir: Path, extra_env: dict[str, str] | None = None, **start: Any
) -> Iterator[str]:
    """Start the app on a free port with its own database; yield its URL (`start_app`'s options)."""
    server = start_app(data_dir, extra_env, **start)
    try:
        yield server.url
    finally:
        server.stop()
