"""A Waypoint engine in its own process, to be killed with SIGKILL in the middle of runs.

    python -m tests.crash_child DATA_DIR ENGINE

It opens the database in DATA_DIR (or Postgres at DATABASE_URL, when set) and starts, on three threads at once, a question whose answer
calls `web_search`, approves the call, then blocks (one process start serves every scenario):

- `tool`: inside the tool (durability "sync");
- `model`: in the model's second answer, after three words (the tool has run; durability "sync");
- `exit`: like `model`, with durability "exit" (only the first run's halt was saved).

Before blocking, each writes `<scenario>.thread` (its thread id) and then `<scenario>.started`
into DATA_DIR, so the test knows when to kill it and which thread to look at. The test side is
`engine_child`: it starts this process, waits for every scenario and SIGKILLs it on leaving.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_core.tools import tool

from agent.backend import LocalBackend
from agent.choices import AgentChoices, ApprovalPolicy, RunOptions
from agent.graph import RunContext
from agent.protocol import LOCAL_USER
from agent.settings import Settings
from tests.app_server import GUARDED_SITE, ROOT
from tests.engine_fixtures import engine_run
from tests.scripted_model import ScriptedChatModel, TokenGate, reply

SCENARIOS = {"tool": "sync", "model": "sync", "exit": "exit"}  # name: durability
QUESTION = "weather in LA?"
QUERY = "LA weather"
PARTIAL = "Sunny and warm in Los Angeles today"
FOREVER = threading.Event()


def backend_for(data_dir: Path, scenario: str) -> tuple[LocalBackend, TokenGate]:
    """An engine whose tool blocks (scenario `tool`) or whose model can be held."""

    @tool
    def web_search(query: str) -> str:
        """Search the web."""
        if scenario == "tool":
            (data_dir / "tool.started").write_text(query)
            FOREVER.wait()
        return json.dumps({"query": query, "results": [{"title": "LA", "snippet": "sunny"}]})

    gate = TokenGate()
    gate.open_fully()
    model = ScriptedChatModel(
        script=[reply("", ("web_search", {"query": QUERY})), reply(PARTIAL + " [1].")], gate=gate
    )

    def contexts(choices: AgentChoices, deciding: frozenset[str]) -> RunContext:
        return RunContext(
            model=model, tools=(web_search,), approval=choices.approval, deciding=deciding
        )

    settings = Settings(
        db_path=data_dir / "waypoint.sqlite",
        database_url=os.environ.get("DATABASE_URL"),
        demo_token_delay=0,
    )
    return LocalBackend(settings, contexts=contexts), gate


def play(data_dir: Path, scenario: str, backend: LocalBackend, gate: TokenGate, engine: str):
    options = RunOptions(engine=engine, durability=SCENARIOS[scenario])
    choices = AgentChoices(approval=ApprovalPolicy("always"))
    thread = backend.create_thread(LOCAL_USER)
    (data_dir / f"{scenario}.thread").write_text(thread.id)
    run = engine_run(
        backend, backend.send_message(LOCAL_USER, thread.id, QUESTION, choices, options)
    )
    assert run.log.wait_closed(60) and run.status == "halted", run.status
    call = backend.thread_view(LOCAL_USER, thread.id).pending_calls[0]
    if scenario != "tool":
        gate.open = False  # hold the second answer after three words
        gate.release(3)
    backend.decide(LOCAL_USER, thread.id, {call.id: {"action": "approve"}}, choices, options)
    if scenario != "tool":
        assert gate.wait_held_after(3, timeout=60)
        (data_dir / f"{scenario}.started").write_text("held")


@contextmanager
def engine_child(
    data_dir: Path, engine: str, database_url: str | None = None
) -> Iterator[dict[str, str]]:
    """This module in a child process, every scenario blocked; yields their threads, then
    SIGKILLs the child (also when the block fails)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(GUARDED_SITE), str(ROOT)]),
        "WAYPOINT_NETGUARD_LOG": str(data_dir / "netguard.log"),
        "LANGGRAPH_STRICT_MSGPACK": "true",
        **({"DATABASE_URL": database_url} if database_url else {}),
    }
    command = [sys.executable, "-m", "tests.crash_child", str(data_dir), engine]
    child = subprocess.Popen(command, cwd=ROOT, env=env)
    markers = [data_dir / f"{name}.started" for name in SCENARIOS]
    deadline = time.monotonic() + 90
    try:
        while not all(m.exists() for m in markers):  # files the child writes: its only channel
            assert child.poll() is None, f"the child exited early ({child.returncode})"
            assert time.monotonic() < deadline, "the child never reached every scenario"
            time.sleep(0.05)
        yield {name: (data_dir / f"{name}.thread").read_text() for name in SCENARIOS}
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert not (data_dir / "netguard.log").exists()


def main(data_dir: Path, engine: str) -> None:
    engines = {name: backend_for(data_dir, name) for name in SCENARIOS}
    for name, (backend, gate) in engines.items():
        threading.Thread(target=play, args=(data_dir, name, backend, gate, engine)).start()
    FOREVER.wait()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
