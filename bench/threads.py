"""How fast the sidebar's thread list is: list 10,000 threads (goal: at most 50 ms).

The thread index is its own table with an index on `updated_at`, so listing never reads checkpoint
blobs. For comparison, the stock way to find a user's threads is to scan the checkpointer
(`saver.list(None)` and keep distinct thread ids), which reads every checkpoint.
Run: python bench/threads.py [--threads N]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, MessagesState, StateGraph

import agent  # noqa: F401  (sets strict msgpack before LangGraph loads)
from agent.threads import ThreadIndex

GOAL_MS = 50.0


def _timed(fn, repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--stock-threads", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(
            Path(tmp) / "index.sqlite", check_same_thread=False, isolation_level=None
        )
        index = ThreadIndex(conn)
        conn.execute("PRAGMA synchronous=OFF")  # only to build the fixture quickly
        for n in range(args.threads):
            index.create(f"Conversation number {n} about something", owner="local")
        first_page = _timed(lambda: index.list(owner="local", limit=50))
        everything = _timed(lambda: index.list(owner="local", limit=args.threads))
        search = _timed(lambda: index.list(owner="local", search="number 99", limit=50))

        stock_conn = sqlite3.connect(Path(tmp) / "stock.sqlite", check_same_thread=False)
        saver = SqliteSaver(stock_conn)
        builder = StateGraph(MessagesState)
        builder.add_node("llm", lambda s: {"messages": [AIMessage("an answer of a few words")]})
        builder.add_edge(START, "llm")
        graph = builder.compile(checkpointer=saver)
        for n in range(args.stock_threads):
            graph.invoke(
                {"messages": [HumanMessage("hello")]}, {"configurable": {"thread_id": str(n)}}
            )
        stock = _timed(lambda: {c.config["configurable"]["thread_id"] for c in saver.list(None)}, 3)

    print(f"Thread index, {args.threads:,} threads (median of 7):")
    print(f"  first page of 50 ........ {first_page:8.2f} ms")
    print(f"  all {args.threads:,} threads ..... {everything:8.2f} ms   (goal <= {GOAL_MS:.0f} ms)")
    print(f"  title search, 50 ........ {search:8.2f} ms")
    print(
        f"Stock LangGraph: distinct threads from saver.list(None), {args.stock_threads:,} threads "
        f"of one turn: {stock:8.2f} ms"
    )
    verdict = "MET" if everything <= GOAL_MS else "NOT MET"
    print(f"Goal (list {args.threads:,} threads in <= {GOAL_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
