"""How fast the sidebar's thread list is: list 10,000 threads (goal: at most 50 ms), SQLite and Postgres.

The thread index is its own table with an index on `updated_at`, so listing never reads checkpoint
blobs. For comparison, the stock way to find a user's threads is to scan the checkpointer
(`saver.list(None)` and keep distinct thread ids), which reads every checkpoint. The same work runs
on each database: the index on SQLite (`ThreadIndex` on a file) and on Postgres (`ThreadIndex` on
`PostgresThreadDatabase`, a pool on a throwaway server started as the tests start theirs), and the
stock scan on the stock saver of the same database. As in the app, what the process holds once the
index is open is frozen out of the garbage collector's walks (`freeze_startup_objects`).
Run: python bench/threads.py [--threads N] [--stock-threads N] [--database sqlite postgres]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cold_read import database_targets
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

import agent  # noqa: F401  (sets strict msgpack before LangGraph loads)
from agent.persistence import freeze_startup_objects
from agent.threads import ThreadIndex

GOAL_MS = 50.0


def _timed(fn: Callable[[], Any], repeat: int = 7) -> float:
    """Median wall ms of `repeat` calls."""
    return _medians(fn, repeat)[0]


def _medians(fn: Callable[[], Any], repeat: int = 7) -> tuple[float, float]:
    """Median wall and CPU ms of `repeat` calls (a loaded machine inflates CPU time less)."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - used) * 1000)
    return statistics.median(wall), statistics.median(cpu)


@contextmanager
def open_index(database: str, target: str) -> Iterator[ThreadIndex]:
    if database == "sqlite":
        conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        index = ThreadIndex(conn)
        conn.execute("PRAGMA synchronous=OFF")  # only to build the fixture quickly
        yield index
        index.close()
        return
    from agent.persistence import open_postgres_pool
    from agent.threads_postgres import PostgresThreadDatabase

    pool = open_postgres_pool(target, 1, 2)
    try:
        yield ThreadIndex(PostgresThreadDatabase(pool))
    finally:
        pool.close()


@contextmanager
def open_stock_saver(database: str, target: str) -> Iterator[Any]:
    if database == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = sqlite3.connect(target, check_same_thread=False)
        yield SqliteSaver(conn)
        conn.close()
        return
    from langgraph.checkpoint.postgres import PostgresSaver

    from agent.persistence import open_postgres_pool

    pool = open_postgres_pool(target, 1, 2)
    try:
        saver = PostgresSaver(pool)
        saver.setup()
        yield saver
    finally:
        pool.close()


def measure(database: str, targets: dict[str, str], threads: int, stock_threads: int) -> dict:
    with open_index(database, targets["waypoint"]) as index:
        freeze_startup_objects()  # as the app's engine does once it is open
        for n in range(threads):
            index.create(f"Conversation number {n} about something", owner="local")
        figures = {
            "first page of 50": _timed(lambda: index.list(owner="local", limit=50)),
            f"all {threads:,} threads": _timed(lambda: index.list(owner="local", limit=threads)),
            "the same, CPU": _medians(lambda: index.list(owner="local", limit=threads))[1],
            "title search, 50": _timed(
                lambda: index.list(owner="local", search="number 99", limit=50)
            ),
        }
    with open_stock_saver(database, targets["stock"]) as saver:
        builder = StateGraph(MessagesState)
        builder.add_node("llm", lambda s: {"messages": [AIMessage("an answer of a few words")]})
        builder.add_edge(START, "llm")
        graph = builder.compile(checkpointer=saver)
        for n in range(stock_threads):
            graph.invoke(
                {"messages": [HumanMessage("hello")]}, {"configurable": {"thread_id": str(n)}}
            )
        figures["stock"] = _timed(
            lambda: {c.config["configurable"]["thread_id"] for c in saver.list(None)}, 3
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--stock-threads", type=int, default=2_000)
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for database in args.database:
            with database_targets(database, Path(tmp)) as targets:
                results[database] = measure(database, targets, args.threads, args.stock_threads)
    print(
        f"Thread index, {args.threads:,} threads (median of 7, ms); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:"
    )
    names = [name for name in next(iter(results.values())) if name != "stock"]
    print(f"  {'':28}" + "".join(f"{database:>12}" for database in results))
    for name in names:
        print(f"  {name:28}" + "".join(f"{got[name]:12.2f}" for got in results.values()))
    print(
        f"Stock LangGraph: distinct threads from saver.list(None), {args.stock_threads:,} threads "
        "of one turn:"
    )
    print(f"  {'':28}" + "".join(f"{got['stock']:12.2f}" for got in results.values()))
    everything = f"all {args.threads:,} threads"
    print(f"Goal (list {args.threads:,} threads in <= {GOAL_MS:.0f} ms):")
    for database, got in results.items():
        verdict = "MET    " if got[everything] <= GOAL_MS else "NOT MET"
        print(f"  {verdict}  {database}: {got[everything]:.1f} ms")


if __name__ == "__main__":
    main()
