"""A Waypoint engine in its own process, to be killed with SIGKILL at a chosen moment.

    python -m tests.crash_child DATA_DIR ENGINE DURABILITY STAGE

It opens the database in DATA_DIR, asks a question whose answer calls `web_search`, and then,
by STAGE: `tool` approves the call and blocks inside the tool; `model` blocks the model's
second answer mid-stream (after the tool ran). Before blocking it writes `<stage>.started` (and
the thread id in `thread.txt`) into DATA_DIR, so the test knows when to kill it.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from langchain_core.tools import tool

from agent.approval import ApprovalPolicy
from agent.backend import LocalBackend
from agent.context import AgentChoices
from agent.graph import RunContext
from agent.runs import RunOptions
from agent.settings import Settings
from tests.scripted_model import ScriptedChatModel, TokenGate, reply

QUESTION = "weather in LA?"
QUERY = "LA weather"
PARTIAL = "Sunny and warm in Los Angeles today"


def main(data_dir: Path, engine: str, durability: str, stage: str) -> None:
    marker = data_dir / f"{stage}.started"
    forever = threading.Event()

    @tool
    def web_search(query: str) -> str:
        """Search the web."""
        if stage == "tool":
            marker.write_text(query)
            forever.wait()
        return json.dumps({"query": query, "results": [{"title": "LA", "snippet": "sunny"}]})

    gate = TokenGate()
    model = ScriptedChatModel(
        script=[reply("", ("web_search", {"query": QUERY})), reply(PARTIAL + " [1].")], gate=gate
    )
    gate.open_fully()

    def contexts(choices: AgentChoices, deciding: frozenset[str]) -> RunContext:
        return RunContext(
            model=model, tools=(web_search,), approval=choices.approval, deciding=deciding
        )

    settings = Settings(db_path=data_dir / "waypoint.sqlite", demo_token_delay=0)
    backend = LocalBackend(settings, contexts=contexts)
    options = RunOptions(engine=engine, durability=durability)
    choices = AgentChoices(approval=ApprovalPolicy("always"))
    thread = backend.create_thread()
    (data_dir / "thread.txt").write_text(thread.id)
    run = backend.send_message(thread.id, QUESTION, choices, options)
    assert run.log.wait_closed(30) and run.status == "halted", run.status
    call = backend.thread_view(thread.id).pending_calls[0]
    if stage == "model":
        gate.open = False  # hold the second answer after three words
        gate.release(3)
    backend.decide(thread.id, {call.id: {"action": "approve"}}, choices, options)
    if stage == "model":
        assert gate.wait_held_after(3, timeout=30)
        marker.write_text("held")
    forever.wait()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
