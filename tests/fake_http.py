"""The plumbing shared by the fake HTTP servers in tests (`fake_openai`, `fake_tavily`).

A fake is a `FakeServer` subclass naming its request handler (a `RecordingHandler` subclass) and
its state (a `ServerState` subclass holding whatever else the fake needs). This module gives it a
free port on 127.0.0.1, a scripted-reply queue, the requests as received, waits bounded by
`max_wait` that end when the server closes, and a `close()` that shuts down open connections, so
nothing here can hang a test. The handler's `read_and_record()` reads the body (JSON when it
parses, else text) and records the request before the fake decides how to answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it (header names in lower case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(kw_only=True)
class ServerState:
    """What the server threads and the test share; every access holds `changed`."""

    max_wait: float
    script: deque[Any] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stopping: threading.Event = field(default_factory=threading.Event)
    connections: set[socket.socket] = field(default_factory=set)


def shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


class RecordingServer(ThreadingHTTPServer):
    """A threading HTTP server that keeps its open connections in `state`, for `close()`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, state: ServerState):
        super().__init__(address, handler)
        self.state = state

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self.state.changed:
            self.state.connections.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (timeouts, closed keep-alive connections) is normal here."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        super().shutdown_request(request)
        with self.state.changed:
            self.state.connections.discard(request)
            self.state.changed.notify_all()


class RecordingHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, quiet, reads time out after `max_wait`; `record_class` is what gets recorded."""

    protocol_version = "HTTP/1.1"
    record_class: type[RecordedRequest] = RecordedRequest
    server: RecordingServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.state.max_wait)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: failures show up as assertions in the tests, not as server logs."""

    def read_and_record(self) -> Any:
        """Read the body, record the request, wake waiting tests; the body (JSON, or text)."""
        state = self.server.state
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with state.changed:
            state.requests.append(
                self.record_class(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            state.changed.notify_all()
        return body


RequestT = TypeVar("RequestT", bound=RecordedRequest)


class FakeServer(Generic[RequestT]):
    """A fake on a free port: `with Fake(...) as server`, point clients at `server.url`.

    Subclasses pass their state and handler class, and set `url_path` (appended to the base URL).
    """

    url_path = ""

    def __init__(self, state: ServerState, handler: type[RecordingHandler]):
        self._state = state
        self._handler = handler
        self._server: RecordingServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> Self:
        self._server = RecordingServer(("127.0.0.1", 0), self._handler, self._state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        state = self._state
        state.stopping.set()
        with state.changed:
            state.changed.notify_all()
        self._server.shutdown()
        with state.changed:
            for connection in list(state.connections):
                shut(connection)
            state.changed.wait_for(lambda: not state.connections, timeout=5)
        self._server.server_close()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- what tests use ---

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first (use it as a context manager)"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL for clients."""
        return f"http://127.0.0.1:{self.port}{self.url_path}"

    def script(self, *replies: Any) -> None:
        """Queue replies; each accepted request consumes the next one."""
        with self._state.changed:
            self._state.script.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not used yet."""
        with self._state.changed:
            return len(self._state.script)

    @property
    def requests(self) -> list[RequestT]:
        with self._state.changed:
            return list(self._state.requests)  # type: ignore[arg-type]  # all of record_class

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least `count` requests arrived (False if `timeout` passed first)."""
        with self._state.changed:
            return self._state.changed.wait_for(lambda: len(self._state.requests) >= count, timeout)
