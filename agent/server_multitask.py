"""A message sent while a run is going, on an Agent Server: what its multitask strategy did.

The server decides, at `runs.create(multitask_strategy=...)` (checked against `langgraph dev`):
reject refuses the new run (409, `ThreadBusy`); enqueue keeps it "pending" until the runs before
it end; interrupt stops the running run where it is (status "interrupted", its checkpoints kept:
a tool call it had made but not run stays without a result) and starts the new one; rollback
stops it and deletes it, its checkpoints with it, then starts the new one.

What the chat needs back is read from the thread's runs: which run the live view follows (the
running one, else the oldest pending one), the messages still queued, and what the last message
did to the run it found going. That last one is told by the new run's metadata (`SUPERSEDES`:
the ids of the runs that were going when it was sent) and the server's answer for them now: gone
after a rollback, "interrupted" after an interrupt, and nothing to say if it had ended by itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph_sdk.client import SyncRunsClient
from langgraph_sdk.errors import NotFoundError

from agent.message_views import message_views
from agent.server_views import messages_of
from agent.views import MessageView, Notice

SUPERSEDES = "waypoint_supersedes"  # run metadata: the runs going when this run's message was sent
INTERRUPTED_TEXT = (
    "Your message interrupted the run that was going: it stopped where it was, what it had done "
    "is kept above (a tool call it had not run yet shows as not run), and a new run answers you."
)
ROLLED_BACK_TEXT = (
    "Your message rolled back the run that was going: it was stopped and deleted with its "
    "checkpoints, the message it was answering too, and a new run answers you."
)


def live_and_queued(
    active: Sequence[Mapping[str, Any]],
) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
    """The run the live view follows, and the pending runs after it, oldest first."""
    running = [run for run in active if run["status"] == "running"]
    pending = sorted(
        (run for run in active if run["status"] == "pending"), key=lambda r: str(r["created_at"])
    )
    if running:
        return running[0], pending
    return (pending[0], pending[1:]) if pending else (None, [])


def run_input(run: Mapping[str, Any], messages_key: str | None) -> tuple[MessageView, ...]:
    """The message a run was started with (none for a resume), as the chat draws it; a graph
    without messages shows its JSON input."""
    given = (run.get("kwargs") or {}).get("input")
    if not isinstance(given, Mapping):
        return ()
    if messages_key is not None:
        return message_views(messages_of(given, messages_key))
    text = json.dumps(given, ensure_ascii=False)
    return (MessageView(id=f"input-{run['run_id']}", role="human", text=text),)


def superseded(runs: SyncRunsClient, latest: Mapping[str, Any]) -> Notice | None:
    """What the thread's latest run did to the runs that were going when it was sent."""
    strategy = latest.get("multitask_strategy")
    earlier = (latest.get("metadata") or {}).get(SUPERSEDES) or []
    if strategy not in ("interrupt", "rollback") or not isinstance(earlier, list):
        return None
    for run_id in earlier:
        try:
            run = runs.get(str(latest["thread_id"]), str(run_id))
        except NotFoundError:
            if strategy == "rollback":
                return Notice("rolled_back", ROLLED_BACK_TEXT)
            continue
        if run["status"] == "interrupted":
            return Notice("interrupted", INTERRUPTED_TEXT)
    return None
