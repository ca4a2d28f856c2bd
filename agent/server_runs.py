"""Following a run on a LangGraph Agent Server: its stream, read into a Waypoint `EventLog`.

The run executes on the server (a background run, created with `stream_resumable=True`); this
process only watches it. A daemon thread joins the run's stream (`client.runs.join_stream`),
translates each part into Waypoint events (`agent.stream_events`) and appends them to an EventLog,
ending with `Done(status)`. Joined from event "0", the server replays the run from its start, so a
process that did not start the run (a refreshed page, another app server) follows it all the
same; a dropped connection joins again after the last event id it saw.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import LangGraphError, NotFoundError

from agent.events import Done, Error, RunStatus
from agent.runs import EventLog
from agent.server_views import RUN_STATUS, stream_pairs
from agent.stream_events import StreamTranslator

log = logging.getLogger(__name__)

RECONNECTS = 5  # joins in a row that fail before the run is given up on
RECONNECT_WAIT = 0.5  # seconds between them
FROM_START = "0"  # the event id that replays a resumable run's stream from its beginning
ServerError = (httpx.HTTPError, LangGraphError)


class FollowedRun:
    """One server run as this process follows it; `log` is what `read_events` reads."""

    def __init__(
        self, client: SyncLangGraphClient, thread_id: str, run_id: str, owner: str
    ) -> None:
        self.client = client
        self.thread_id = thread_id
        self.run_id = run_id
        self.owner = owner  # the user whose thread it runs on, checked before it was followed
        self.log = EventLog()
        self.status: str = "running"
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._follow, name=f"waypoint-server-run-{run_id[:8]}", daemon=True
        )

    def start(self) -> FollowedRun:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop following (the run goes on on the server)."""
        self._stop.set()

    def _follow(self) -> None:
        translator = StreamTranslator()
        last, failures = FROM_START, 0
        while not self._stop.is_set():
            try:
                parts = self.client.runs.join_stream(
                    self.thread_id, self.run_id, last_event_id=last
                )
                for part in parts:
                    failures = 0
                    last = part.id or last
                    self._feed(translator, part.event, part.data)
                break
            except ServerError as error:
                if self._stop.is_set():  # closed: nobody reads this log any more
                    return
                failures += 1
                log.warning("run %s: its stream broke (%s)", self.run_id, type(error).__name__)
                if failures >= RECONNECTS or self._stop.wait(RECONNECT_WAIT):
                    self.log.append(_lost())
                    self._end("error")
                    return
        self._end(self._final_status(translator.halted))

    def _feed(self, translator: StreamTranslator, event: str, data: Any) -> None:
        if event == "error":
            message = data.get("message") if isinstance(data, dict) else data
            self.log.append(
                Error(
                    message=f"The graph failed on the Agent Server: {str(message)[:500]}",
                    error_type="server_error",
                )
            )
            return
        for mode, chunk in stream_pairs(event, data):
            for item in translator.feed(mode, chunk):
                self.log.append(item)

    def _final_status(self, halted: bool) -> RunStatus:
        """How the run ended, as the server records it (waiting for it if it has not yet); a
        run the server no longer has was rolled back (a message sent with the rollback strategy
        deleted it): "cancelled", as a Stop, and the chat says why (`agent.server_multitask`)."""
        try:
            run = self.client.runs.get(self.thread_id, self.run_id)
            if RUN_STATUS.get(run["status"]) == "running":
                self.client.runs.join(self.thread_id, self.run_id)
                run = self.client.runs.get(self.thread_id, self.run_id)
        except NotFoundError:
            return "cancelled"
        except ServerError:
            self.log.append(_lost())
            return "error"
        status = RUN_STATUS.get(run["status"], "error")
        if status == "done" and halted:
            return "halted"
        return status  # type: ignore[return-value]  # RUN_STATUS's values are RunStatuses here

    def _end(self, status: RunStatus) -> None:
        self.status = status
        self.log.append(Done(status=status))
        log.info("run ended: thread %s, run %s, status %s", self.thread_id, self.run_id, status)


def _lost() -> Error:
    return Error(
        message="Waypoint lost its connection to the Agent Server during this run. Reload the "
        "thread: the run may have finished on the server.",
        error_type="connection",
    )
