"""A long-lived process stays flat: what one run or one thread leaves behind is bounded.

`bench/soak.py` measures RSS and per-run time over 1,000 runs; these tests pin the causes it
found, counted with the garbage collector and weak references (never timed): the runs a process
remembers (their logs and each thread's latest run), the decoded histories its savers cache,
and the size of each event a run's log keeps.
"""

from __future__ import annotations

import gc
import weakref

import pytest
import zstandard
from langchain_core.messages import HumanMessage

from agent import runs
from agent.backend import LocalBackend
from agent.choices import AgentChoices, ApprovalPolicy, RunOptions
from agent.events import Token
from agent.graph import LLM
from agent.protocol import LOCAL_USER
from agent.settings import Settings
from agent.storage import HISTORY_THREADS
from tests.engine_fixtures import engine_run

QUESTION = "What's the weather in SF and LA?"  # the demo model searches twice, then answers
AUTO = AgentChoices(approval=ApprovalPolicy("never"))


@pytest.fixture
def backend(data_dir):
    backend = LocalBackend(Settings(db_path=data_dir / "waypoint.sqlite", demo_token_delay=0))
    yield backend
    backend.close()


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_a_process_remembers_a_bounded_number_of_runs(backend, engine, monkeypatch):
    monkeypatch.setattr(runs, "KEEP_FINISHED_RUNS", 3)
    threads, alive = [], []
    for _ in range(8):  # each on a new thread, as a server sees them
        thread = backend.create_thread(LOCAL_USER)
        run = engine_run(
            backend,
            backend.send_message(LOCAL_USER, thread.id, QUESTION, AUTO, RunOptions(engine=engine)),
        )
        assert run.log.wait_closed(30)
        threads.append(thread.id)
        alive.append(weakref.ref(run))
        del run
    gc.collect()
    assert sum(ref() is not None for ref in alive) == 3
    first, last = (
        backend.thread_view(LOCAL_USER, threads[0]),
        backend.thread_view(LOCAL_USER, threads[-1]),
    )
    # Forgotten by the process with its log; the run store (the database) still knows it.
    assert first.last_run_id is not None
    assert backend.run_status(LOCAL_USER, first.last_run_id) == "done"
    assert first.thread.status == "idle" and len(first.messages) == 5
    assert (
        last.last_run_id is not None and backend.run_status(LOCAL_USER, last.last_run_id) == "done"
    )


def _marker_alive(text: str) -> bool:
    gc.collect()
    return any(isinstance(o, HumanMessage) and o.content == text for o in gc.get_objects())


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_decoded_histories_are_kept_for_the_threads_used_last(backend, engine):
    graph = backend.graph if engine == "sync" else backend._get_async_graph()
    loop = backend.persistence.loop

    def write_and_read(thread_id: str, text: str) -> None:
        """Two checkpoints, so the newest one's history (its parent's write) holds `text`."""
        config = {"configurable": {"thread_id": thread_id}}
        for update in ({"messages": [HumanMessage(text)]}, {"messages": [HumanMessage("next")]}):
            if engine == "sync":
                graph.update_state(config, update, as_node=LLM)
            else:
                loop.run(graph.aupdate_state(config, update, as_node=LLM))
        if engine == "sync":
            messages = graph.get_state(config).values["messages"]
        else:
            messages = loop.run(graph.aget_state(config)).values["messages"]
        assert [m.content for m in messages] == [text, "next"]

    write_and_read("thread-0", "marker of thread 0")
    assert _marker_alive("marker of thread 0")  # cached: the next read of thread 0 is warm
    for number in range(1, HISTORY_THREADS + 1):
        write_and_read(f"thread-{number}", f"marker of thread {number}")
    assert not _marker_alive("marker of thread 0")
    assert _marker_alive(f"marker of thread {HISTORY_THREADS}")


def test_token_events_are_plain_and_small(backend):
    run = engine_run(
        backend,
        backend.send_message(LOCAL_USER, backend.create_thread(LOCAL_USER).id, QUESTION, AUTO),
    )
    assert run.log.wait_closed(30)
    tokens = [event for event in run.log.read(0) if isinstance(event, Token)]
    assert len(tokens) > 20
    # No per-event dict, and text as an exact str (not LangChain's TextAccessor subclass).
    assert not any(hasattr(token, "__dict__") for token in tokens)
    assert {type(token.text) for token in tokens} == {str}


def test_runs_reuse_the_compression_contexts(backend, monkeypatch):
    """Sync only: each sync run brings new threads; the async engine runs on one loop thread."""
    made, real = [], zstandard.ZstdCompressor

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(zstandard, "ZstdCompressor", counting)
    for _ in range(4):
        run = engine_run(
            backend,
            backend.send_message(LOCAL_USER, backend.create_thread(LOCAL_USER).id, QUESTION, AUTO),
        )
        assert run.log.wait_closed(30)
    assert len(made) <= 2  # one per thread compressing at the same moment, not per thread ever
