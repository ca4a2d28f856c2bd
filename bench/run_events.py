"""What storing a run's events costs, against the in-memory log alone, and how late another
process sees them.

A run appends each token to its `EventLog`; with the run store the log also queues it for the
writer thread, which writes each burst in one transaction (`agent.run_store`). Figures, for runs
of `--tokens` token events at the demo model's pace (`--pace` seconds apart, 0 for a burst):

- append: time on the run's own thread per event (what the stream pays), memory vs store;
- CPU: process CPU per run (the writer's included), memory vs store;
- end: `store.end` (flush, then `Done` and the status), which the run's end waits for;
- lag: from an append to the moment a second store on the same file (another process) reads it;
- remote Stop: from `cancel_run` on a second engine to the run's `Done` in its owner's log (the
  owner's supervisor polls every 0.25 s).

Run: .venv/bin/python bench/run_events.py [--runs 20] [--tokens 400] [--pace 0.005]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import agent  # noqa: F401  # strict msgpack before LangGraph loads
from agent.events import Token
from agent.persistence import open_connection
from agent.protocol import LOCAL_USER
from agent.run_store import SqliteRunStore
from agent.runs import EventLog
from agent.threads import ThreadIndex
from tests.engine_fixtures import make_harness
from tests.scripted_model import TokenGate, reply


def one_run(store: SqliteRunStore | None, n: int, tokens: int, pace: float) -> tuple[float, ...]:
    run_id = f"run{n}"
    log = EventLog() if store is None else EventLog(sink=lambda s, e: store.append(run_id, s, e))
    if store is not None:
        store.begin(run_id, f"thread{n}")
    spent, cpu = 0.0, time.process_time()
    for i in range(tokens):
        token = Token("m1", "llm", f"word{i} ")
        started = time.perf_counter()
        log.append(token)
        spent += time.perf_counter() - started
        if pace:
            time.sleep(pace)  # the model's pace between tokens, not a synchronisation
    ended = time.perf_counter()
    if store is not None:
        store.end(run_id, "done")
    end = time.perf_counter() - ended
    return spent / tokens, time.process_time() - cpu, end


def lag(writer: SqliteRunStore, reader: SqliteRunStore, samples: int) -> list[float]:
    """Seconds from an append to its row being readable from the other store."""
    writer.begin("lag", "lag-thread")
    lags = []
    for seq in range(samples):
        appended = time.perf_counter()
        writer.append("lag", seq, Token("m1", "llm", "x"))
        while len(reader.events("lag", seq)) == 0:
            threading.Event().wait(0.001)
        lags.append(time.perf_counter() - appended)
    writer.end("lag", "done")
    return lags


def remote_stops(runs: int) -> list[float]:
    """Seconds from Stop on engine B to Done in engine A's log, A's model held mid-answer."""
    data_dir = Path(tempfile.mkdtemp())
    a, b = make_harness(data_dir, "sync"), make_harness(data_dir, "sync")
    times = []
    try:
        for _ in range(runs):
            gate = TokenGate()
            a.model.gate = gate  # type: ignore[attr-defined]
            a.model.script = [reply("one two three")]  # type: ignore[attr-defined]
            thread = a.backend.create_thread(LOCAL_USER)
            run = a.backend.send_message(LOCAL_USER, thread.id, "go", a.choices, a.options)
            gate.release(1)
            assert gate.wait_held_after(1)
            started = time.monotonic()
            assert b.backend.cancel_run(LOCAL_USER, run.id)
            assert run.log.wait_closed(10), "the run did not end after Stop"
            times.append(time.monotonic() - started)
            gate.open_fully()
    finally:
        b.backend.close()
        a.backend.close()
    return times


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.3f} ms, max {max(values) * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--pace", type=float, default=0.005)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "waypoint.sqlite"
    ThreadIndex(open_connection(path)).close()
    store, other = SqliteRunStore(open_connection(path)), SqliteRunStore(open_connection(path))
    memory = [one_run(None, n, args.tokens, args.pace) for n in range(args.runs)]
    stored = [one_run(store, n, args.tokens, args.pace) for n in range(args.runs)]
    print(f"{args.runs} runs of {args.tokens} tokens, {args.pace * 1000:g} ms apart")
    for name, rows in (("memory", memory), ("store", stored)):
        append = [r[0] for r in rows]
        cpu = [r[1] for r in rows]
        print(f"  {name:6} append per event: {ms(append)}; CPU per run: {ms(cpu)}")
    print(f"  store  end (flush + Done + status): {ms([r[2] for r in stored])}")
    print(f"  another process reads an event after: {ms(lag(store, other, 200))}")
    print(f"  Stop from another engine to Done: {ms(remote_stops(args.runs))}")
    for s in (store, other):
        s.close()
        s.conn.close()


if __name__ == "__main__":
    main()
