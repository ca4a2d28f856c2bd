"""Long life: memory and per-run time over many runs, Waypoint's backend next to stock LangGraph.

A run is one short conversation turn on the offline demo model (token delay 0): a question that
makes two parallel web_search calls on the offline documents, the calls run (auto-approved, or
with --ask halted and approved through `decide`), and an answer citing the results. Waypoint's
runs go through `LocalBackend.send_message` (and `decide`) and wait for the run's `Done`, as the
chat page does. The stock runs do the same turns on a stock LangGraph graph (`add_messages`,
`ToolNode`, `SqliteSaver` / `AsyncSqliteSaver`, `stream` / `astream` with the same stream modes),
driven in the same way. By default every run is on a new thread (what a long-lived server sees,
so what grows is the process, not a conversation); --thread one keeps one growing thread.

Each system and engine runs in its own new process, so each RSS figure is its own. Figures per
window of 100 runs: RSS at its end, objects the collector tracks (containers, not strings; after
gc.collect, outside the timing), median wall ms per run and process CPU ms per run (all threads:
the runs are on workers). CPU is what the goal is judged on: on a shared machine wall time also
counts waiting for a core.
Run: .venv/bin/python bench/soak.py [--runs 1000] [--engines sync,async] [--thread new|one] [--ask]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("WAYPOINT_DEMO_TOKEN_DELAY", "0")

import agent  # noqa: F401  (sets strict msgpack before LangGraph loads)
from agent.protocol import LOCAL_USER

GOAL_RUNS = 1000
WINDOW = 100
RSS_GOAL_MB = 20.0
TIME_GOAL = 1.2
QUESTION = "What's the weather in SF and LA?"  # two parallel searches, then a cited answer
SYSTEMS = ("waypoint", "stock")

Mode = Literal["new", "one"]


@dataclass
class Soak:
    """One system on one engine: a row of figures per window of runs."""

    system: str
    engine: str
    runs: int
    start_rss_mb: float = 0.0  # after the first run (imports and first-use setup done)
    rss_mb: list[float] = field(default_factory=list)
    objects: list[int] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)  # median per run, per window
    cpu_ms: list[float] = field(default_factory=list)  # mean per run, per window

    @property
    def growth_mb(self) -> float:
        """RSS growth from the end of the first window to the end (what leaks, not warm-up)."""
        return self.rss_mb[-1] - self.rss_mb[0]

    @property
    def slowdown(self) -> float:
        return self.cpu_ms[-1] / self.cpu_ms[0]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status: this benchmark needs Linux")


def live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def soak(system: str, engine: str, runs: int, one_turn: Callable[[int], None]) -> Soak:
    """Time `runs` turns; sample RSS and live objects at each window's end, outside the timing."""
    result = Soak(system, engine, runs)
    one_turn(0)
    result.start_rss_mb = rss_mb()
    walls: list[float] = []
    cpu_started = time.process_time()
    for number in range(1, runs + 1):
        started = time.perf_counter()
        one_turn(number)
        walls.append((time.perf_counter() - started) * 1000)
        if number % WINDOW == 0 or number == runs:
            result.cpu_ms.append((time.process_time() - cpu_started) * 1000 / len(walls))
            result.wall_ms.append(statistics.median(walls))
            result.rss_mb.append(rss_mb())
            result.objects.append(live_objects())
            walls, cpu_started = [], time.process_time()
    return result


# --- Waypoint -------------------------------------------------------------------------------------


def waypoint_soak(engine: str, runs: int, mode: Mode, ask: bool, db: Path) -> Soak:
    from agent.backend import LocalBackend
    from agent.choices import AgentChoices, ApprovalPolicy, RunOptions
    from agent.settings import load_settings

    backend = LocalBackend(load_settings().with_overrides(db_path=db))
    choices = AgentChoices(approval=ApprovalPolicy("ask" if ask else "never"))
    options = RunOptions(engine=engine)  # type: ignore[arg-type]
    thread = backend.create_thread(LOCAL_USER, "Soak").id

    def wait(run: Any) -> None:
        if not run.log.wait_closed(60):
            raise RuntimeError(f"run {run.id} did not finish within 60 s")

    def one_turn(number: int) -> None:
        thread_id = backend.create_thread(LOCAL_USER, "Soak").id if mode == "new" else thread
        wait(backend.send_message(LOCAL_USER, thread_id, QUESTION, choices, options))
        if ask:
            pending = backend.thread_view(LOCAL_USER, thread_id).pending_calls
            decisions = {call.id: {"action": "approve"} for call in pending}
            wait(backend.decide(LOCAL_USER, thread_id, decisions, choices, options))

    try:
        return soak("waypoint", engine, runs, one_turn)
    finally:
        backend.close()


# --- stock LangGraph ------------------------------------------------------------------------------


def stock_graph(saver: Any, ask: bool) -> Any:
    """The same turn on stock parts: the demo model bound to the same tool, and a ToolNode."""
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    from agent.demo_model import DemoChatModel
    from agent.search import make_search_backend
    from agent.settings import load_settings
    from agent.tools import make_web_search_tool

    tool = make_web_search_tool(make_search_backend("offline", load_settings()))
    model = DemoChatModel(token_delay=0).bind_tools([tool])

    def llm(state: MessagesState) -> dict:
        return {"messages": [model.invoke(state["messages"])]}

    async def allm(state: MessagesState) -> dict:
        return {"messages": [await model.ainvoke(state["messages"])]}

    from langgraph._internal._runnable import RunnableCallable

    builder = StateGraph(MessagesState)
    builder.add_node("llm", RunnableCallable(llm, allm, name="llm"))
    builder.add_node("tools", ToolNode([tool]))
    builder.add_edge(START, "llm")
    builder.add_conditional_edges("llm", tools_condition)
    builder.add_edge("tools", "llm")
    return builder.compile(checkpointer=saver, interrupt_before=["tools"] if ask else None)


def stock_soak(engine: str, runs: int, mode: Mode, ask: bool, db: Path) -> Soak:
    from langchain_core.messages import HumanMessage

    modes = ["messages", "updates"]
    thread = str(uuid.uuid4())

    def payloads(number: int) -> tuple[dict, list[Any]]:
        config = {"configurable": {"thread_id": str(uuid.uuid4()) if mode == "new" else thread}}
        return config, [{"messages": [HumanMessage(QUESTION)]}, *([None] if ask else [])]

    if engine == "sync":
        from langgraph.checkpoint.sqlite import SqliteSaver

        from agent.persistence import open_connection

        conn = open_connection(db)
        graph = stock_graph(SqliteSaver(conn), ask)

        def one_turn(number: int) -> None:
            config, inputs = payloads(number)
            for payload in inputs:  # None continues past the halt before the tools: approved
                for _ in graph.stream(payload, config, stream_mode=modes):
                    pass

        try:
            return soak("stock", engine, runs, one_turn)
        finally:
            conn.close()

    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agent.loop import BackgroundLoop

    loop = BackgroundLoop()

    async def open_saver() -> AsyncSqliteSaver:  # it binds itself to the loop that creates it
        return AsyncSqliteSaver(await aiosqlite.connect(db, isolation_level=None))

    saver = loop.run(open_saver())
    graph = stock_graph(saver, ask)

    async def aturn(number: int) -> None:
        config, inputs = payloads(number)
        for payload in inputs:
            async for _ in graph.astream(payload, config, stream_mode=modes):
                pass

    try:
        return soak("stock", engine, runs, lambda number: loop.run(aturn(number), 60))
    finally:
        loop.run(saver.conn.close())
        loop.stop()


# --- report ---------------------------------------------------------------------------------------


def child(system: str, engine: str, runs: int, mode: Mode, ask: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = waypoint_soak if system == "waypoint" else stock_soak
        result = run(engine, runs, mode, ask, Path(tmp) / "soak.sqlite")
    print(json.dumps(asdict(result)))


def in_new_process(system: str, engine: str, args: argparse.Namespace) -> Soak:
    command = [sys.executable, __file__, "--child", system, "--engines", engine]
    command += ["--runs", str(args.runs), "--thread", args.thread, *(["--ask"] if args.ask else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{system}/{engine} failed:\n{done.stderr[-4000:]}")
    return Soak(**json.loads(done.stdout.strip().splitlines()[-1]))


def print_soak(result: Soak) -> None:
    print(
        f"\n{result.system}, {result.engine} engine: RSS {result.start_rss_mb:.1f} MB after "
        "the first run"
    )
    print(f"  {'runs':>11} {'RSS MB':>8} {'objects':>9} {'wall ms/run':>12} {'CPU ms/run':>11}")
    for index, rss in enumerate(result.rss_mb):
        end = min((index + 1) * WINDOW, result.runs)
        first = index * WINDOW + 1
        print(
            f"  {first:>5}-{end:<5} {rss:8.1f} {result.objects[index]:9,} "
            f"{result.wall_ms[index]:12.1f} {result.cpu_ms[index]:11.1f}"
        )
    print(
        f"  RSS growth after the first {WINDOW} runs: {result.growth_mb:+.1f} MB; "
        f"objects {result.objects[-1] - result.objects[0]:+,}; last window's CPU per run "
        f"{result.slowdown:.2f}x the first's"
    )


def print_goals(results: list[Soak], args: argparse.Namespace) -> bool:
    print(
        f"\nGoals (Waypoint, {args.runs} runs per engine"
        f"{'' if args.runs >= GOAL_RUNS else f'; the issue asks for {GOAL_RUNS}'}):"
    )
    met_all = args.runs >= GOAL_RUNS
    for result in results:
        if result.system != "waypoint":
            continue
        stock = next((r for r in results if (r.system, r.engine) == ("stock", result.engine)), None)
        than = f" (stock: {stock.growth_mb:+.1f} MB, {stock.slowdown:.2f}x)" if stock else ""
        goals = [
            (
                f"{result.engine}: RSS growth from run {WINDOW} to run {result.runs} within "
                f"{RSS_GOAL_MB:.0f} MB",
                result.growth_mb <= RSS_GOAL_MB,
                f"{result.growth_mb:+.1f} MB",
            ),
            (
                f"{result.engine}: last {WINDOW} runs within {TIME_GOAL}x of the first {WINDOW} "
                "(CPU per run)",
                result.slowdown <= TIME_GOAL,
                f"{result.slowdown:.2f}x",
            ),
        ]
        for name, met, figure in goals:
            met_all &= met
            print(f"  {'MET    ' if met else 'NOT MET'}  {name}: {figure}{than}")
    return met_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=GOAL_RUNS)
    parser.add_argument("--engines", default="sync,async", help="comma-separated: sync, async")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="waypoint, stock")
    parser.add_argument("--thread", choices=("new", "one"), default="new")
    parser.add_argument("--ask", action="store_true", help="halt before the tools and approve")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    if args.child:
        child(args.child, engines[0], args.runs, args.thread, args.ask)
        return
    print(__doc__.splitlines()[0])
    print(
        f"  {args.runs} runs per system and engine, "
        f"{'a new thread per run' if args.thread == 'new' else 'all on one thread'}, tools "
        f"{'halted and approved' if args.ask else 'auto-approved'}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    results = []
    for engine in engines:
        for system in [s.strip() for s in args.systems.split(",") if s.strip()]:
            started = time.perf_counter()
            result = in_new_process(system, engine, args)
            print_soak(result)
            print(f"  ({time.perf_counter() - started:.0f} s)")
            results.append(result)
    if print_goals(results, args):
        print("\nAll goals met.")
    elif args.runs < GOAL_RUNS:
        print(f"\nThe issue's goals are for {GOAL_RUNS} runs: run without --runs to check them.")
    else:
        print("\nNot every goal is met (see above).")


if __name__ == "__main__":
    main()
