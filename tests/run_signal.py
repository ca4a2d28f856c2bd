"""A test hook for the app server: tell a browser test the instant a run starts and ends.

Browser tests that race the end of a run must act at that instant, not when the page shows it:
the page learns of it only when the live fragment next looks, up to 0.15 s later, and that gap is
the window such a test has to hit. `tests/guarded_site/sitecustomize.py` installs this hook when
WAYPOINT_RUN_SIGNAL_PORT is set; the server then sends one loopback UDP datagram, `start` once a
run is reserved and `end` when its Done event is about to be written (the run has already left
the thread free). With WAYPOINT_RUN_SIGNAL_HOLD (seconds) the Done event is then held back until
the next run starts, or that long: the page keeps showing the finished run, as it would on a
late fragment tick, until the test's message has been handled, so the message lands in the gap
every time, not only when the test happens to be quicker than the page. The hold blocks the
run's own worker thread: use the sync engine (the default). `RunSignals` is the test's end.
"""

from __future__ import annotations

import os
import socket
import threading
import time

PORT_ENV = "WAYPOINT_RUN_SIGNAL_PORT"
HOLD_ENV = "WAYPOINT_RUN_SIGNAL_HOLD"


def install() -> None:
    """Wrap RunManager.start and EventLog.append so each run's start and end send a datagram."""
    from agent.events import Done
    from agent.runs import EventLog, RunManager

    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.connect(("127.0.0.1", int(os.environ[PORT_ENV])))
    hold = float(os.environ.get(HOLD_ENV) or 0)
    started = threading.Event()
    start, append = RunManager.start, EventLog.append

    def signalling_start(self, *args, **kwargs):
        run = start(self, *args, **kwargs)
        started.set()
        sender.send(b"start")
        return run

    def signalling_append(self, event):
        if isinstance(event, Done):
            started.clear()
            sender.send(b"end")
            started.wait(hold)
        append(self, event)

    RunManager.start = signalling_start
    EventLog.append = signalling_append


class RunSignals:
    """The test's end: a loopback UDP socket the app server's hook sends to."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]

    def wait(self, kind: str, timeout: float) -> bool:
        """Block until the next `kind` signal (True), or `timeout` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            self._socket.settimeout(remaining)
            try:
                if self._socket.recv(16).decode() == kind:
                    return True
            except TimeoutError:
                return False
        return False

    def close(self) -> None:
        self._socket.close()
