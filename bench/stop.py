"""How long Stop takes to end a run, on both engines, in the states where it used to wait.

From `cancel_run` to the run's `Done` in its log (the moment the page sees the run ended and the
thread free), for runs held in two states: the model held before a token (the scripted model of
the tests, stopped between tokens) and a provider that never answers (the real ChatOpenAI client
against the tests' fake OpenAI server hanging every request, with a 30 s read timeout and 2
retries, the case that used to keep a sync run busy for the whole timeout times attempts). The
promise is at most one second.

Run: .venv/bin/python bench/stop.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import agent  # noqa: F401  # strict msgpack before LangGraph loads
from agent.models import make_chat_model
from agent.protocol import LOCAL_USER
from agent.settings import Settings
from tests.engine_fixtures import Harness, engine_run, make_harness
from tests.fake_openai import FakeOpenAI, hang
from tests.scripted_model import TokenGate, reply


def stop_time(h: Harness, start: Callable[[str], object]) -> float:
    thread = h.backend.create_thread(LOCAL_USER)
    run = start(thread.id)
    started = time.monotonic()
    h.backend.cancel_run(LOCAL_USER, run.id)  # type: ignore[attr-defined]
    assert run.log.wait_closed(10), "the run did not end after Stop"  # type: ignore[attr-defined]
    return time.monotonic() - started


def held_model(engine: str, runs: int) -> list[float]:
    h = make_harness(Path(tempfile.mkdtemp()), engine)
    times = []
    try:
        for _ in range(runs):
            gate = TokenGate()
            h.model.gate = gate  # type: ignore[attr-defined]
            h.model.script = [reply("one two three")]  # type: ignore[attr-defined]

            def start(thread_id: str, gate: TokenGate = gate) -> object:
                run = engine_run(
                    h.backend,
                    h.backend.send_message(LOCAL_USER, thread_id, "go", h.choices, h.options),
                )
                gate.release(1)
                assert gate.wait_held_after(1)
                return run

            times.append(stop_time(h, start))
            gate.open_fully()
    finally:
        h.backend.close()
    return times


def hung_provider(engine: str, runs: int) -> list[float]:
    times = []
    with FakeOpenAI(default=hang(), max_wait=60) as server:
        model = make_chat_model(
            "openai", Settings(), api_key="sk-bench", base_url=server.url, timeout=30
        )
        h = make_harness(Path(tempfile.mkdtemp()), engine, model=model)
        try:
            for index in range(runs):

                def start(thread_id: str, index: int = index) -> object:
                    run = engine_run(
                        h.backend,
                        h.backend.send_message(
                            LOCAL_USER, thread_id, "hello?", h.choices, h.options
                        ),
                    )
                    assert server.wait_for_requests(index + 1)
                    return run

                times.append(stop_time(h, start))
        finally:
            h.backend.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    for engine in ("sync", "async"):
        for name, measure in (
            ("model held mid-stream", held_model),
            ("hung provider", hung_provider),
        ):
            times = measure(engine, runs)
            print(
                f"{engine:5}  {name:22}  median {statistics.median(times) * 1000:6.1f} ms  "
                f"max {max(times) * 1000:6.1f} ms  ({len(times)} stops)"
            )


if __name__ == "__main__":
    main()
