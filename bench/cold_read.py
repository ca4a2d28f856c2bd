"""The latest state of a long thread, read by a new process: SQLite and Postgres, Waypoint and stock.

`bench/storage.py` times a "cold" read in its own process, where the imports, the first pydantic
validations and the garbage collector's first full pass have already happened. A Chat page opened
after a restart pays all of that: so here every sample is a new Python process that imports the
engine, opens the database, builds the saver and the graph, and reads the latest state once. Import
time, open time and the read are printed apart; the goal (50 ms) is for the read. Opening ends as
the app's does (`Persistence.open`): `freeze_startup_objects` takes what the imports and the open
left out of the garbage collector's walks, for both savers alike (it is the process's, not the
saver's). The read is also printed as CPU time, which a loaded machine inflates less than wall time.

The thread is `bench/storage.py`'s (question, tool call, ~2 KB result, ~1 KB answer per turn), on
`AgentState`, written once per saver: Waypoint's and the stock saver of the same database, on the
same state. Postgres is a throwaway server started like the tests' (`tests/pg_server.py`).
It also prints each database's bytes per raw message byte for the thread (goal: at most 3x).
Run: .venv/bin/python bench/cold_read.py [--turns 1000] [--samples 7] [--database sqlite postgres]
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()  # a child's import time is measured from here

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from storage import Prose, build_graph, raw_message_bytes  # noqa: E402  (bench/storage.py)

import agent  # noqa: E402, F401  (sets strict msgpack before LangGraph loads)
from agent.state import AgentState  # noqa: E402

GOAL_MS = 50.0
RATIO_GOAL = 3.0
THREAD = {"configurable": {"thread_id": str(uuid.UUID(int=7))}}
SAVERS = ("waypoint", "stock")


def open_saver(database: str, kind: str, target: str) -> tuple[Any, Callable[[], None]]:
    """A set-up saver on `target` (a file path or a URL) and a function that closes it."""
    if database == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        from agent.persistence import open_connection
        from agent.storage import WaypointSqliteSaver

        conn = open_connection(Path(target))
        saver: Any = (WaypointSqliteSaver if kind == "waypoint" else SqliteSaver)(conn)
        saver.setup()
        return saver, conn.close
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    from agent.storage_postgres import WaypointPostgresSaver

    pg = psycopg.connect(target, autocommit=True, row_factory=dict_row, prepare_threshold=0)
    saver = (WaypointPostgresSaver if kind == "waypoint" else PostgresSaver)(pg)
    saver.setup()
    return saver, pg.close


def write_thread(database: str, kind: str, target: str, turns: int) -> tuple[float, float]:
    """Run `turns` scripted turns on one thread: the seconds it took, and the database's bytes
    per raw message byte (`bench/storage.py`'s definitions; on Postgres, the checkpoint tables
    with their indexes and TOAST, after VACUUM)."""
    saver, close = open_saver(database, kind, target)
    graph = build_graph(AgentState, saver, Prose(seed=1))
    prose = Prose(seed=2)
    started = time.perf_counter()
    from langchain_core.messages import HumanMessage

    for _ in range(turns):
        graph.invoke({"messages": [HumanMessage(prose.text(200))]}, THREAD)
    seconds = time.perf_counter() - started
    raw = raw_message_bytes(graph.get_state(THREAD).values["messages"])
    close()
    return seconds, database_bytes(database, target) / raw


def database_bytes(database: str, target: str) -> int:
    if database == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        return Path(target).stat().st_size
    import psycopg

    with psycopg.connect(target, autocommit=True) as pg:
        pg.execute("VACUUM")
        row = pg.execute(
            "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = current_schema() "
            "AND c.relname IN ('checkpoints', 'checkpoint_blobs', 'checkpoint_writes')"
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def child(database: str, kind: str, target: str) -> None:
    """One sample, in this new process: print import, open and read times as JSON."""
    imported = time.perf_counter()
    from agent.persistence import freeze_startup_objects

    saver, close = open_saver(database, kind, target)
    graph = build_graph(AgentState, saver, Prose(seed=1, vocabulary=10))
    freeze_startup_objects()
    opened, cpu = time.perf_counter(), time.thread_time()
    messages = graph.get_state(THREAD).values["messages"]
    read, cpu = time.perf_counter(), time.thread_time() - cpu
    graph.get_state(THREAD)
    again = time.perf_counter()
    close()
    print(
        json.dumps(
            {
                "import": (imported - _STARTED) * 1000,
                "open": (opened - imported) * 1000,
                "read": (read - opened) * 1000,
                "read CPU": cpu * 1000,
                "again": (again - read) * 1000,
                "messages": len(messages),
            }
        )
    )


def samples(database: str, kind: str, target: str, count: int) -> list[dict[str, float]]:
    command = [sys.executable, __file__, "--child", database, kind, target]
    return [
        json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        for _ in range(count)
    ]


@contextmanager
def database_targets(database: str, root: Path) -> Iterator[dict[str, str]]:
    """Where each saver's thread lives: two SQLite files, or two databases on one new server."""
    if database == "sqlite":
        yield {kind: str(root / f"{kind}.sqlite") for kind in SAVERS}
        return
    from tests.pg_server import fresh_database, start_server

    server = start_server()
    try:
        with fresh_database(server.url()) as waypoint, fresh_database(server.url()) as stock:
            yield {"waypoint": waypoint, "stock": stock}
    finally:
        server.stop()


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} ({min(values):.0f}-{max(values):.0f})"


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(__doc__.splitlines()[0])
    print(f"  {args.turns} turns, {args.samples} new processes per saver; ms: median (min-max)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for database in args.database:
            with database_targets(database, Path(tmp)) as targets:
                for kind in SAVERS:
                    seconds, ratio = write_thread(database, kind, targets[kind], args.turns)
                    runs = samples(database, kind, targets[kind], args.samples)
                    rows.append((database, kind, seconds, ratio, runs))
    print(f"  load average while reading: {load_average()}\n")
    print(
        f"  {'':20}{'write':>8}{'DB/raw':>8}{'import':>18}{'open':>18}{'first read':>18}"
        f"{'(its CPU)':>18}{'read again':>18}"
    )
    for database, kind, seconds, ratio, runs in rows:
        figures = "".join(
            f"{_spread([run[name] for run in runs]):>18}"
            for name in ("import", "open", "read", "read CPU", "again")
        )
        print(f"  {database + ' ' + kind:20}{seconds:7.0f}s{ratio:7.2f}x{figures}")
    print(
        f"\nGoals (Waypoint): at most {RATIO_GOAL:.0f}x the raw message bytes; latest state, first "
        f"read in a new process, under {GOAL_MS:.0f} ms (median):"
    )
    for database, kind, _, ratio, runs in rows:
        if kind == "waypoint":
            median = statistics.median(run["read"] for run in runs)
            cpu = statistics.median(run["read CPU"] for run in runs)
            for met, figure in (
                (ratio <= RATIO_GOAL, f"{ratio:.2f}x raw"),
                (
                    median < GOAL_MS,
                    f"{median:.1f} ms, {cpu:.1f} ms CPU ({runs[0]['messages']} messages)",
                ),
            ):
                print(f"  {'MET    ' if met else 'NOT MET'}  {database}: {figure}")


if __name__ == "__main__":
    main()
