"""A test hook for the app server: tell a browser test the instant a run starts and ends.

Browser tests that race the end of a run must act at that instant, not when the page shows it (the
page may show it hundreds of milliseconds later, which is the window such a test has to hit).
`tests/guarded_site/sitecustomize.py` installs this hook when WAYPOINT_RUN_SIGNAL_PORT is set: the
server's RunManager then sends one loopback UDP datagram, `start <run id>` once a run is reserved
and `end <run id>` once its Done event is in the log. `RunSignals` is the test's end of it.
"""

from __future__ import annotations

import os
import socket
import time

PORT_ENV = "WAYPOINT_RUN_SIGNAL_PORT"


def install() -> None:
    """Wrap RunManager.start and RunManager._finish so each sends its datagram."""
    from agent.runs import RunManager

    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.connect(("127.0.0.1", int(os.environ[PORT_ENV])))
    start, finish = RunManager.start, RunManager._finish

    def signalling_start(self, *args, **kwargs):
        run = start(self, *args, **kwargs)
        sender.send(f"start {run.id}".encode())
        return run

    def signalling_finish(self, run, status):
        was_active = run.active
        finish(self, run, status)
        if was_active:
            sender.send(f"end {run.id}".encode())

    RunManager.start = signalling_start
    RunManager._finish = signalling_finish


class RunSignals:
    """The test's end: a loopback UDP socket the app server's hook sends to."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]

    def next(self, kind: str, timeout: float) -> str | None:
        """Block until the next `kind` signal; its run id, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            self._socket.settimeout(remaining)
            try:
                got, run_id = self._socket.recv(200).decode().split()
            except TimeoutError:
                return None
            if got == kind:
                return run_id
        return None

    def close(self) -> None:
        self._socket.close()
