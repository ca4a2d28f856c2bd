"""How fast the Chat page draws a long thread, and how soon the browser shows a streamed answer.

1. Server-side time of one Chat page rerun on a thread of 500 messages (goal: at most 150 ms).
   The thread is real: the offline demo model (no token delay, approval "never") answers 125
   research questions, each a question, a web_search call, its JSON result (~2 KB, from the offline
   corpus) and a ~0.8 KB Markdown answer with sources. The page is the real `app.py`, rerun with
   Streamlit's AppTest at `?thread=<id>`; the figure is the script run (SCRIPT_STARTED to
   SCRIPT_STOPPED), which is what a server spends before it sends the page; AppTest's own parsing
   of the result is shown apart, and so is the full gc.collect the real server runs after every
   script run (AppTest skips it). A breakdown times the parts of the page on instrumented reruns.
   For comparison: reading the same 500 messages with stock LangGraph (SqliteSaver, add_messages).
2. Last-token latency: how long after a 2,000 tokens/s model sent its last token the browser shows
   it (goal: at most 500 ms). The real app (`streamlit run`) talks to the fake OpenAI-compatible
   server of the tests; an answer of 2,000 tokens streams for about a second; a MutationObserver
   notes (Date.now()) when the answer's last word first appears; the fake server notes
   (time.time()) when it sent the stream's last event. Same machine, same clock. For the breakdown
   a start-up hook in the app's process (a sitecustomize in a temporary folder; no app file
   changes) notes when each token reaches the run's event log, when the page reads that log and
   what each Streamlit script run costs; the same answers also run through the engine in this
   process, without a page; and a few run again with Streamlit's post-script GC switched off.
Run: .venv/bin/python bench/chat_render.py [--messages 500] [--reruns 20] [--answers 5]
     [--no-page] [--no-browser]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The page reads its settings from the environment: offline defaults, a private database (set
# in main), no token delay for building the thread.
for _key in (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "TAVILY_API_KEY",
    "WAYPOINT_MODEL",
    "WAYPOINT_DOCS",
):
    os.environ.pop(_key, None)
os.environ["LANGSMITH_TRACING"] = "false"
os.environ["LANGCHAIN_TRACING_V2"] = "false"

from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: E402
from langgraph.graph import START, MessagesState, StateGraph  # noqa: E402
from streamlit.runtime.scriptrunner import ScriptRunnerEvent  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from streamlit.testing.v1.local_script_runner import LocalScriptRunner  # noqa: E402

import agent  # noqa: E402,F401  (sets strict msgpack before LangGraph loads)
from agent.backend import LocalBackend  # noqa: E402
from agent.choices import AgentChoices, ApprovalPolicy  # noqa: E402
from agent.events import Done, Token  # noqa: E402
from agent.message_views import message_views  # noqa: E402
from agent.protocol import LOCAL_USER  # noqa: E402
from agent.settings import Settings, load_settings  # noqa: E402

RERUN_GOAL_MS = 150.0
LATENCY_GOAL_MS = 500.0
TOKENS_PER_SECOND = 2_000
ANSWER_TOKENS = 2_000

# Each makes the demo model search once: four messages per turn.
QUESTIONS = (
    "How does LangGraph persistence work?",
    "What is the weather in Tokyo?",
    "How do reducers work in LangGraph state?",
    "Explain the durability modes of LangGraph",
    "How does streaming work in LangGraph?",
    "What is time travel in LangGraph?",
    "How does tool calling work?",
    "What is human in the loop in LangGraph?",
    "What is the weather like in London?",
    "How do threads work in LangGraph?",
    "What are large language models?",
    "How does a Streamlit app rerun?",
)


def _ms(seconds: float) -> float:
    return seconds * 1000


def _p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10, method="inclusive")[-1]


def _row(label: str, value: str) -> None:
    print(f"   {label + ' ':.<70} {value}")


# --- part 1: a Chat page rerun ----------------------------------------------------------------


def build_thread(backend: LocalBackend, turns: int, title: str) -> str:
    thread = backend.create_thread(LOCAL_USER, title)
    choices = AgentChoices(approval=ApprovalPolicy("never"))
    for turn in range(turns):
        run = backend.runs.get(
            backend.send_message(
                LOCAL_USER, thread.id, QUESTIONS[turn % len(QUESTIONS)], choices
            ).id
        )
        if not run.log.wait_closed(60):
            raise RuntimeError("a demo run did not finish within 60 s")
    return thread.id


class ScriptClock:
    """Times each AppTest script run from its SCRIPT_STARTED to its SCRIPT_STOPPED event."""

    def __init__(self) -> None:
        self.started = self.stopped = 0.0
        self.runner: LocalScriptRunner | None = None
        self._original = LocalScriptRunner.__init__

    def install(self) -> None:
        clock, original = self, self._original

        def init(runner: LocalScriptRunner, *args: Any, **kwargs: Any) -> None:
            original(runner, *args, **kwargs)
            clock.runner = runner

            def on_event(sender: Any, event: ScriptRunnerEvent, **_: Any) -> None:
                if event == ScriptRunnerEvent.SCRIPT_STARTED:
                    clock.started = time.perf_counter()
                elif event.name.startswith("SCRIPT_STOPPED"):
                    clock.stopped = time.perf_counter()

            runner.on_event.connect(on_event, weak=False)

        LocalScriptRunner.__init__ = init  # type: ignore[method-assign]

    def uninstall(self) -> None:
        LocalScriptRunner.__init__ = self._original  # type: ignore[method-assign]

    @property
    def script_ms(self) -> float:
        return _ms(self.stopped - self.started)


class PartTimers:
    """Wraps functions the page calls, adding up their time per rerun (inclusive of callees)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.totals[label] += time.perf_counter() - started
                self.calls[label] += 1

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def reset(self) -> None:
        self.totals.clear()
        self.calls.clear()

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()


def rerun(at: AppTest) -> None:
    """Rerun the whole app, as the browser's rerun of the Chat page does.

    After its first run AppTest asks for the page the run ended on (the Chat page's hash); with a
    `pages/` folder next to `app.py` Streamlit 1.67 then runs `pages/chat.py` alone, without
    `app.py` (no sidebar; `choices` left over in session state). The real server always runs the
    `st.navigation` entry point first. Asking for no page keeps AppTest on that path.
    """
    at._finished_page_script_hash = ""
    at.run()
    if at.exception:
        raise RuntimeError(f"the page raised: {at.exception[0].value}")
    if not at.sidebar:
        raise RuntimeError("the rerun skipped app.py (no sidebar): AppTest changed its paging")


def time_reruns(at: AppTest, clock: ScriptClock, reruns: int) -> tuple[list[float], list[float]]:
    """Script ms and AppTest.run ms of `reruns` reruns, after two warm-up reruns."""
    script, wall = [], []
    for n in range(reruns + 2):
        started = time.perf_counter()
        rerun(at)
        elapsed = _ms(time.perf_counter() - started)
        if n >= 2:
            script.append(clock.script_ms)
            wall.append(elapsed)
    return script, wall


def serialise_ms(clock: ScriptClock) -> tuple[float, int, int]:
    """Time to serialise the last rerun's ForwardMsgs as the server would; (ms, messages, bytes)."""
    messages = clock.runner.forward_msgs() if clock.runner else []
    samples, size = [], 0
    for _ in range(5):
        started = time.perf_counter()
        size = sum(len(m.SerializeToString()) for m in messages)
        samples.append(_ms(time.perf_counter() - started))
    return statistics.median(samples), len(messages), size


def post_script_gc_ms() -> float:
    """The full collection the real server runs after every script run (`runner.postScriptGC`,
    on by default; AppTest's runner skips it), on this process's heap: the same modules, backend
    and thread as the app's, plus AppTest."""
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        gc.collect(2)
        samples.append(_ms(time.perf_counter() - started))
    return statistics.median(samples)


def warm_read_ms(read: Callable[[], Any], repeat: int = 9) -> float:
    read()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        samples.append(_ms(time.perf_counter() - started))
    return statistics.median(samples)


def stock_read_ms(messages: list, path: Path) -> float:
    """Stock LangGraph (add_messages, SqliteSaver), the same messages: latest state, warm."""
    conn = sqlite3.connect(path, check_same_thread=False)
    builder = StateGraph(MessagesState)
    builder.add_node("llm", lambda state: {})
    builder.add_edge(START, "llm")
    graph = builder.compile(checkpointer=SqliteSaver(conn))
    config = {"configurable": {"thread_id": "stock"}}
    graph.update_state(
        config, {"messages": [m.model_copy(deep=True) for m in messages]}, as_node="llm"
    )
    result = warm_read_ms(lambda: graph.get_state(config))
    conn.close()
    return result


def page_rerun(tmp: Path, message_goal: int, reruns: int) -> bool:
    db = tmp / "page.sqlite"
    os.environ["WAYPOINT_DB"] = str(db)
    os.environ["WAYPOINT_DEMO_TOKEN_DELAY"] = "0"
    turns = max(1, message_goal // 4)
    started = time.perf_counter()
    builder = LocalBackend(load_settings())
    long_id = build_thread(builder, turns, "A long research thread")
    short_id = build_thread(builder, 1, "A short thread")
    build_seconds = time.perf_counter() - started
    view = builder.thread_view(LOCAL_USER, long_id)
    count = len(view.messages)
    result_bytes = [len(m.text.encode()) for m in view.messages if m.role == "tool"]
    answer_bytes = [
        len(m.text.encode()) for m in view.messages if m.role == "ai" and not m.tool_calls
    ]
    config = {"configurable": {"thread_id": long_id}}
    get_state = warm_read_ms(lambda: builder.graph.get_state(config))
    snapshot_messages = builder.graph.get_state(config).values["messages"]
    views = warm_read_ms(lambda: message_views(snapshot_messages))
    whole_view = warm_read_ms(lambda: builder.thread_view(LOCAL_USER, long_id))
    stock = stock_read_ms(snapshot_messages, tmp / "stock.sqlite")
    builder.close()

    from ui import resources

    resources.backend.clear()
    resources.settings.clear()
    clock = ScriptClock()
    clock.install()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params["thread"] = long_id
        script, wall = time_reruns(at, clock, reruns)
        serial_ms, forward_count, forward_bytes = serialise_ms(clock)
        collect_ms = post_script_gc_ms()
        markdown, expanders = len(at.markdown), len(at.expander)

        short = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        short.query_params["thread"] = short_id
        short_script, _ = time_reruns(short, clock, 5)

        timers = PartTimers()
        import ui.settings_panel
        import ui.thread_list
        import ui.transcript

        timers.wrap(ui.thread_list, "thread_list", "sidebar: thread list")
        timers.wrap(ui.settings_panel, "settings_panel", "sidebar: settings")
        timers.wrap(LocalBackend, "thread_view", "backend.thread_view()")
        timers.wrap(ui.transcript, "transcript", "transcript()")
        timers.wrap(ui.transcript, "tool_card", "tool cards")
        timers.wrap(ui.transcript, "_result_body", "result bodies")
        parts: dict[str, list[float]] = defaultdict(list)
        calls: dict[str, int] = {}
        instrumented = []
        try:
            for n in range(max(5, reruns // 3) + 1):
                timers.reset()
                rerun(at)
                if n == 0:
                    continue  # a warm-up
                instrumented.append(clock.script_ms)
                for label, seconds in timers.totals.items():
                    parts[label].append(_ms(seconds))
                calls = dict(timers.calls)
        finally:
            timers.restore()
    finally:
        clock.uninstall()
        resources.backend.clear()  # closes the backend (on_release)
        resources.settings.clear()

    median = statistics.median(script)
    part = {label: statistics.median(samples) for label, samples in parts.items()}
    print(
        f"1. Chat page rerun: one thread of {count} messages ({turns} turns of question, "
        "web_search call, result, answer)"
    )
    print(
        f"   built with the demo model in {build_seconds:.1f} s; results "
        f"{statistics.mean(result_bytes) / 1000:.1f} KB of JSON, answers "
        f"{statistics.mean(answer_bytes) / 1000:.1f} KB of Markdown on average"
    )
    print(
        f"   a rerun draws {markdown} Markdown elements and {expanders} expanders "
        f"({calls.get('tool cards', 0)} tool cards): {forward_count:,} ForwardMsgs, "
        f"{forward_bytes / 1000:,.0f} KB"
    )
    _row(
        f"script run, server side: median / p90 of {len(script)} reruns",
        f"{median:7.1f} / {_p90(script):.1f} ms   (goal <= {RERUN_GOAL_MS:.0f} ms)",
    )
    _row(
        "AppTest.run() wall time (adds parsing the element tree)",
        f"{statistics.median(wall):7.1f} / {_p90(wall):.1f} ms",
    )
    _row("the same page on a thread of 4 messages", f"{statistics.median(short_script):7.1f} ms")
    _row(
        f"serialising the {forward_count:,} ForwardMsgs (not in the script run)",
        f"{serial_ms:7.1f} ms",
    )
    _row(
        "then Streamlit's gc.collect(2) after each run (GIL held; not in AppTest)",
        f"{collect_ms:7.1f} ms   (runner.postScriptGC, on by default)",
    )
    print("   Reads alone, warm (median of 9):")
    _row("  backend.thread_view()", f"{whole_view:7.1f} ms")
    _row("    graph.get_state() (Waypoint's storage)", f"{get_state:7.1f} ms")
    _row("    message_views()", f"{views:7.1f} ms")
    _row(f"  stock LangGraph get_state(), same {count} messages (SqliteSaver)", f"{stock:7.1f} ms")

    covered = sum(
        part.get(k, 0.0)
        for k in (
            "sidebar: thread list",
            "sidebar: settings",
            "backend.thread_view()",
            "transcript()",
        )
    )
    cards, bodies = part.get("tool cards", 0.0), part.get("result bodies", 0.0)
    rows = [
        ("sidebar: thread list", part.get("sidebar: thread list", 0.0)),
        ("sidebar: settings", part.get("sidebar: settings", 0.0)),
        ("backend.thread_view()", part.get("backend.thread_view()", 0.0)),
        ("transcript()", part.get("transcript()", 0.0)),
        (f"  tool cards ({calls.get('tool cards', 0)} st.expander)", cards),
        ("    result bodies (JSON; st.markdown + st.caption per result)", bodies),
        ("    card labels and expanders", cards - bodies),
        ("  chat bubbles and message Markdown (the rest)", part.get("transcript()", 0.0) - cards),
        (
            "everything else (Streamlit, navigation, chat input)",
            statistics.median(instrumented) - covered,
        ),
    ]
    per_element = statistics.median(instrumented) / max(1, forward_count)
    print(
        f"   Where the script time goes (median of {len(instrumented)} instrumented reruns, "
        f"{statistics.median(instrumented):.1f} ms each):"
    )
    for label, value in rows:
        _row(f"  {label}", f"{value:7.1f} ms")
    print(
        f"   About {per_element * 1000:.0f} µs of script per element sent; "
        f"{RERUN_GOAL_MS:.0f} ms allows about {RERUN_GOAL_MS / per_element:,.0f} elements, "
        f"this page sends {forward_count:,}."
    )
    met = median <= RERUN_GOAL_MS
    print(
        f"   Goal (a {count}-message Chat rerun in <= {RERUN_GOAL_MS:.0f} ms server time): "
        f"{'MET' if met else 'NOT MET'}"
    )
    return met


# --- part 2: last-token latency ---------------------------------------------------------------


def answer(number: int, tokens: int = ANSWER_TOKENS) -> tuple[str, str]:
    """A Markdown answer of `tokens` words ending in a word that appears nowhere else."""
    rng = random.Random(number)
    vocabulary = [
        "the",
        "graph",
        "saves",
        "a",
        "checkpoint",
        "after",
        "every",
        "node",
        "so",
        "that",
        "a",
        "thread",
        "can",
        "resume",
        "later",
        "from",
        "any",
        "step",
        "and",
        "the",
        "page",
        "reads",
        "the",
        "latest",
        "state",
        "to",
        "draw",
        "each",
        "message",
        "while",
        "tokens",
        "stream",
        "in",
        "from",
        "the",
        "model",
    ]
    marker = f"Finis{number}x{rng.randrange(10**6)}"
    words = [rng.choice(vocabulary) for _ in range(tokens - 1)]
    paragraphs = [" ".join(words[i : i + 80]) for i in range(0, len(words), 80)]
    return ".\n\n".join(p.capitalize() for p in paragraphs) + f" {marker}.", marker


@dataclass
class EngineRun:
    lag_ms: float  # last token in the run's event log, after the server sent it
    stream_s: float  # first to last token in the event log
    cpu_s: float  # CPU time of this process meanwhile (the engine and the fake server)
    paced: bool = True  # False: the server sent as fast as it could (the engine's capacity)

    @property
    def tokens_per_s(self) -> float:
        return ANSWER_TOKENS / self.stream_s


def engine_runs(answers: int) -> list[EngineRun]:
    """The same answers through the engine in this process, without a page (after a warm-up)."""
    from tests.fake_openai import FakeOpenAI, text

    runs = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as server:
        settings = Settings(
            db_path=Path(tmp) / "engine.sqlite", openai_base_url=server.url, model_name="fake"
        )
        backend = LocalBackend(settings)
        try:
            choices = AgentChoices.defaults(settings)
            for n in range(answers + 2):
                paced = n <= answers  # a last answer with no pause: what the engine can take
                content, marker = answer(1_000 + n)
                server.script(text(content, delay=1 / TOKENS_PER_SECOND if paced else 0))
                thread = backend.create_thread(LOCAL_USER)
                run = backend.runs.get(
                    backend.send_message(
                        LOCAL_USER, thread.id, "Tell me about checkpoints", choices
                    ).id
                )
                first = last = None
                cpu = 0.0
                offset = 0
                while True:
                    events = backend.read_events(LOCAL_USER, run.id, offset, timeout=5)
                    offset += len(events)
                    for event in events:
                        if isinstance(event, Token):
                            if first is None:
                                first, cpu = time.time(), time.process_time()
                            if last is None and marker in event.text:
                                last, cpu = time.time(), time.process_time() - cpu
                    if not events or any(isinstance(e, Done) for e in events):
                        break
                if first is None or last is None or not server.wait_for_stream_ends(n + 1):
                    raise RuntimeError("the engine never got the answer's last token")
                if n:  # the first run builds the client: a warm-up
                    runs.append(
                        EngineRun(_ms(last - server.stream_ends[n]), last - first, cpu, paced)
                    )
        finally:
            backend.close()
    return runs


# Installed before sending: notes when the answer's last word is first in the page (shownAt), when
# the run's Stop button is gone after that (settledAt: the page redrew the thread from its
# checkpoints), and each change of the number of words in the last chat bubble (the timeline).
OBSERVE = """
(marker) => {
  window.__shownAt = null;
  window.__settledAt = null;
  window.__timeline = [];
  let words = -1;
  const check = () => {
    const now = Date.now();
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (!main) return;
    const bubbles = main.querySelectorAll('[data-testid="stChatMessage"]');
    if (bubbles.length) {
      const count = (bubbles[bubbles.length - 1].textContent.match(/\\S+/g) || []).length;
      if (count !== words) { window.__timeline.push([now, count]); words = count; }
    }
    if (window.__shownAt === null && main.textContent.includes(marker)) window.__shownAt = now;
    if (window.__shownAt !== null && window.__settledAt === null
        && !Array.from(main.querySelectorAll('button')).some(b => b.textContent.includes('Stop')))
      window.__settledAt = now;
  };
  new MutationObserver(check).observe(document.body,
                                      {subtree: true, childList: true, characterData: true});
}
"""


# Loaded by the app's Python at start-up, from a temporary folder put first on its PYTHONPATH: runs
# the tests' network guard (as tests/guarded_site does), then times the engine and the page inside
# the app process without changing any of its files. Each run's log notes its first and last Token
# and its Done; each `read_events` call (what the live-run fragment does on every refresh) notes
# when it started and whether it returned the Done that makes the page redraw; each script run
# (the page or a fragment) notes its start, end and CPU time, the post-script GC included.
TRACE_SITE = """
import os, runpy, time
runpy.run_path(os.environ["WAYPOINT_BENCH_GUARD"])
TRACE = os.environ["WAYPOINT_BENCH_TRACE"]

def _note(line):
    with open(TRACE, "a") as trace:
        trace.write(line + "\\n")

try:
    import agent.backend, agent.runs
    from agent.events import Done, Token

    _append = agent.runs.EventLog.append

    def append(self, event):
        _append(self, event)
        now = time.time()
        if isinstance(event, Token):
            cpu = time.process_time()
            if getattr(self, "_bench_first", None) is None:
                self._bench_first, self._bench_cpu_first = now, cpu
            self._bench_last, self._bench_cpu_last = now, cpu
            self._bench_tokens = getattr(self, "_bench_tokens", 0) + 1
        elif isinstance(event, Done) and getattr(self, "_bench_first", None) is not None:
            _note(f"done {now} {self._bench_first} {self._bench_last} {self._bench_tokens} "
                  f"{self._bench_cpu_last - self._bench_cpu_first}")

    _read = agent.backend.LocalBackend.read_events

    def read_events(self, run_id, offset=0, timeout=0.0):
        started = time.time()
        events = _read(self, run_id, offset, timeout)
        _note(f"read {started} {int(any(isinstance(e, Done) for e in events))}")
        return events

    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    _run_script = ScriptRunner._run_script

    def run_script(self, rerun_data):
        started, cpu = time.time(), time.thread_time()
        try:
            return _run_script(self, rerun_data)
        finally:
            fragment = int(bool(getattr(rerun_data, "fragment_id_queue", None)))
            _note(f"script {started} {time.time()} {time.thread_time() - cpu} {fragment}")

    agent.runs.EventLog.append = append
    agent.backend.LocalBackend.read_events = read_events
    ScriptRunner._run_script = run_script
except Exception as problem:
    _note(f"error {problem!r}")
"""


@dataclass
class BrowserRun:
    shown_ms: float  # the last word first in the page, after the server sent it
    settled_ms: float  # the page redrawn from checkpoints (Stop gone), after the server's end
    live_updates: int  # changes of the answer's text in the page before the last word showed
    update_gap_ms: float  # median time between those changes
    shown_at_end: float  # share of the answer's words in the page when the server finished
    by_live_run: bool  # the last word showed in the live-run fragment, before the final redraw
    app_lag_ms: float  # last token in the app's event log, after the server sent it
    poll_ms: float  # from there to the next read of the log by the page
    draw_ms: float  # from that read to the browser showing the word
    read_gap_ms: float  # median time between the page's reads of the log while streaming
    tokens_per_s: float  # as the app's engine received them
    app_cpu: float  # the app process's CPU time while tokens came in, per second of wall time
    server_pace: float  # tokens/s from the app's first token to the server's last event (at least)
    script_runs: int  # Streamlit script runs (mostly the live-run fragment) while tokens came in
    script_ms: float  # their median wall time
    script_cpu: float  # their CPU time, per second of wall time


Trace = tuple[
    list[tuple[float, float, float, int, float]],  # runs: done, first token, last token, tokens,
    # process CPU seconds between the two tokens
    list[tuple[float, bool]],  # reads of a run's log: start, returned its Done
    list[tuple[float, float, float]],  # script runs (page or fragment): start, end, CPU seconds
]


def _trace(path: Path) -> Trace:
    """What the hook in the app process noted."""
    runs, reads, scripts = [], [], []
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, *fields = line.split()
        if kind == "error":
            raise RuntimeError(f"the trace in the app failed: {line}")
        if kind == "done":
            runs.append(
                (
                    float(fields[0]),
                    float(fields[1]),
                    float(fields[2]),
                    int(fields[3]),
                    float(fields[4]),
                )
            )
        elif kind == "read":
            reads.append((float(fields[0]), fields[1] == "1"))
        elif kind == "script":
            scripts.append((float(fields[0]), float(fields[1]), float(fields[2])))
    return runs, reads, scripts


def _browser_run(
    shown: float,
    settled: float,
    end: float,
    timeline: list,
    run: tuple[float, float, float, int, float],
    reads: list[tuple[float, bool]],
    scripts: list[tuple[float, float, float]],
) -> BrowserRun:
    """One answer's figures; times in seconds (`time.time()`), except browser ones in ms."""
    live = [(t, words) for t, words in timeline if t < shown]
    gaps = [b[0] - a[0] for a, b in zip(live, live[1:], strict=False)]
    at_end = max((words for t, words in timeline if t <= end * 1000), default=0)
    _, first, last, tokens, cpu = run
    during = [t for t, _ in reads if first <= t <= last]
    read_gaps = [_ms(b - a) for a, b in zip(during, during[1:], strict=False)]
    after = min((t for t, _ in reads if t >= last), default=last)
    streaming = [(end_ - start, cpu_) for start, end_, cpu_ in scripts if first <= start <= last]
    return BrowserRun(
        shown_ms=shown - end * 1000,
        settled_ms=settled - end * 1000,
        live_updates=len(live),
        update_gap_ms=statistics.median(gaps) if gaps else float("nan"),
        shown_at_end=min(1.0, at_end / ANSWER_TOKENS),
        by_live_run=settled > shown,
        app_lag_ms=_ms(last - end),
        poll_ms=_ms(after - last),
        draw_ms=shown - after * 1000,
        read_gap_ms=statistics.median(read_gaps) if read_gaps else float("nan"),
        tokens_per_s=tokens / (last - first) if last > first else float("nan"),
        app_cpu=cpu / (last - first) if last > first else float("nan"),
        server_pace=ANSWER_TOKENS / (end - first) if end > first else float("nan"),
        script_runs=len(streaming),
        script_ms=_ms(statistics.median(w for w, _ in streaming)) if streaming else float("nan"),
        script_cpu=sum(c for _, c in streaming) / (last - first) if last > first else float("nan"),
    )


def browser_runs(
    answers: int, streamlit_env: dict[str, str] | None = None
) -> list[BrowserRun] | str:
    """One BrowserRun per answer (after a warm-up); or why it could not be measured."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright is not installed (make test installs it)"
    from tests.app_server import CHROMIUM, CHROMIUM_ARGS, GUARDED_SITE, running_app
    from tests.fake_openai import FakeOpenAI, text

    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (set WAYPOINT_CHROMIUM)"
    runs = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as server:
        site, trace = Path(tmp) / "trace_site", Path(tmp) / "trace.txt"
        site.mkdir()
        (site / "sitecustomize.py").write_text(TRACE_SITE)
        env = {
            "OPENAI_BASE_URL": server.url,
            "WAYPOINT_MODEL": "fake",
            "PYTHONPATH": os.pathsep.join([str(site), str(GUARDED_SITE), str(ROOT)]),
            "WAYPOINT_BENCH_GUARD": str(GUARDED_SITE / "sitecustomize.py"),
            "WAYPOINT_BENCH_TRACE": str(trace),
            **(streamlit_env or {}),
        }
        with running_app(Path(tmp), env) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            try:
                for n in range(answers + 1):
                    content, marker = answer(n)
                    server.script(text(content, delay=1 / TOKENS_PER_SECOND))
                    page.goto(url)  # no ?thread=: the welcome page; sending starts a new thread
                    box = page.get_by_test_id("stChatInputTextArea")
                    box.wait_for()
                    page.evaluate(OBSERVE, marker)
                    box.fill("Tell me about checkpoints")
                    box.press("Enter")
                    page.wait_for_function("window.__settledAt !== null", timeout=30_000)
                    if not server.wait_for_stream_ends(n + 1):
                        raise RuntimeError("the fake server never finished the stream")
                    shown, settled, timeline = page.evaluate(
                        "[window.__shownAt, window.__settledAt, window.__timeline]"
                    )
                    app_runs, reads, scripts = _trace(trace)
                    if len(app_runs) != n + 1:
                        raise RuntimeError(f"the app's trace has {len(app_runs)} runs, not {n + 1}")
                    if n:  # the first answer builds the client and warms the app: a warm-up
                        runs.append(
                            _browser_run(
                                shown,
                                settled,
                                server.stream_ends[n],
                                timeline,
                                app_runs[n],
                                reads,
                                scripts,
                            )
                        )
            finally:
                browser.close()
    return runs


def _median(values: Any) -> float:
    return statistics.median(list(values))


def last_token_latency(answers: int) -> bool | None:
    print(
        f"\n2. Last-token latency: answers of {ANSWER_TOKENS:,} tokens at "
        f"{TOKENS_PER_SECOND:,} tokens/s from the fake OpenAI-compatible server"
    )
    print(f"   ({answers} answers, each on a new thread, after one warm-up answer)")
    measured = browser_runs(answers)
    if isinstance(measured, str):
        print(f"   browser: not measured, {measured}")
        return None
    no_gc = browser_runs(max(2, answers // 2), {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "false"})
    everything = engine_runs(min(answers, 2))
    engine = [r for r in everything if r.paced]
    fastest = [r for r in everything if not r.paced]
    shown = [r.shown_ms for r in measured]
    settled = [r.settled_ms for r in measured]
    live = sum(r.by_live_run for r in measured)
    _row(
        "browser shows the last word, after the server sent it",
        f"median {_median(shown):5.0f} ms, max {max(shown):5.0f} ms   "
        f"(goal <= {LATENCY_GOAL_MS:.0f} ms)",
    )
    print(
        f"     each: {', '.join(f'{v:.0f}' for v in shown)} ms; shown by the live-run fragment "
        f"{live} of {len(measured)} times, else first by the redraw at the run's end"
    )
    _row(
        "page redrawn from checkpoints at the run's end (Stop gone)",
        f"median {_median(settled):5.0f} ms, max {max(settled):5.0f} ms",
    )
    print("   Where the time goes, server's last token -> browser (medians):")
    _row(
        "  the app's engine has the last token in the run's event log",
        f"{_median(r.app_lag_ms for r in measured):+6.0f} ms",
    )
    _row(
        "  the page's next read of the log (the live-run fragment)",
        f"{_median(r.poll_ms for r in measured):+6.0f} ms",
    )
    _row(
        "  from that read to the browser showing it (script, send, draw)",
        f"{_median(r.draw_ms for r in measured):+6.0f} ms",
    )
    _row(
        "  tokens/s the server sent (at least; first token in the app to its end)",
        f"{_median(r.server_pace for r in measured):6,.0f}",
    )
    _row(
        "  tokens/s reaching the app's engine", f"{_median(r.tokens_per_s for r in measured):6,.0f}"
    )
    _row("  the app process's CPU use meanwhile", f"{_median(r.app_cpu for r in measured):6.0%}")
    _row(
        "    of which Streamlit script runs (the live-run fragment, sidebar)",
        f"{_median(r.script_cpu for r in measured):6.0%} "
        f"({_median(r.script_runs for r in measured):.0f} runs, "
        f"{_median(r.script_ms for r in measured):.0f} ms each)",
    )
    _row(
        "  share of the answer in the browser when the server finished",
        f"{_median(r.shown_at_end for r in measured):6.0%}",
    )
    _row(
        "  the page read the log every (fragment run_every=0.25 s)",
        f"{_median(r.read_gap_ms for r in measured):6.0f} ms",
    )
    _row(
        "  the answer's text changed in the browser every",
        f"{_median(r.update_gap_ms for r in measured):6.0f} ms "
        f"({_median(r.live_updates for r in measured):.0f} times)",
    )
    print(
        "   The engine alone in this process, no Streamlit, no browser (the fake server runs "
        "here too,\n   sharing the process's CPU and so pacing itself to the engine):"
    )
    _row(
        "  last token in the event log, after the server sent it",
        f"{_median(r.lag_ms for r in engine):+6.0f} ms (max {max(r.lag_ms for r in engine):+.0f})",
    )
    _row(
        "  the server's pace (it pauses 0.5 ms between events)",
        f"{_median(r.tokens_per_s for r in engine):6,.0f} tokens/s",
    )
    _row(
        "  the most it takes (server not pausing)",
        f"{_median(r.tokens_per_s for r in fastest):6,.0f} tokens/s, "
        f"{_median(r.cpu_s / ANSWER_TOKENS * 1e6 for r in fastest):,.0f} µs CPU per token "
        "(engine + fake server)",
    )
    if not isinstance(no_gc, str):
        print(
            "   The same with Streamlit's post-script GC off (STREAMLIT_RUNNER_POST_SCRIPT_GC="
            "false; every\n   script run, fragment runs included, otherwise ends with a full "
            "gc.collect holding the GIL):"
        )
        _row(
            f"  browser shows the last word ({len(no_gc)} answers)",
            f"median {_median(r.shown_ms for r in no_gc):5.0f} ms, "
            f"max {max(r.shown_ms for r in no_gc):5.0f} ms",
        )
        _row(
            "  the app's engine has the last token in the run's event log",
            f"{_median(r.app_lag_ms for r in no_gc):+6.0f} ms",
        )
        _row(
            "  tokens/s reaching the app's engine",
            f"{_median(r.tokens_per_s for r in no_gc):6,.0f}",
        )
        _row(
            "  Streamlit script runs' CPU while streaming",
            f"{_median(r.script_cpu for r in no_gc):6.0%} "
            f"({_median(r.script_ms for r in no_gc):.0f} ms each)",
        )
    met = max(shown) <= LATENCY_GOAL_MS
    print(
        f"   Goal (the browser shows the last token <= {LATENCY_GOAL_MS:.0f} ms after the "
        f"model sent it, every time): {'MET' if met else 'NOT MET'}"
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--answers", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true", help="skip part 2")
    parser.add_argument("--no-page", action="store_true", help="skip part 1")
    args = parser.parse_args()
    print(__doc__.splitlines()[0])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"   machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start "
        "(other work on the machine slows both figures)"
    )
    verdicts: list[bool | None] = []
    if not args.no_page:
        with tempfile.TemporaryDirectory() as tmp:
            verdicts.append(page_rerun(Path(tmp), args.messages, args.reruns))
    if not args.no_browser:
        verdicts.append(last_token_latency(args.answers))
    verdicts = [v for v in verdicts if v is not None]
    print("\nAll goals met." if all(verdicts) else "\nNot every goal is met (see above).")


if __name__ == "__main__":
    main()
