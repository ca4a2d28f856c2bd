"""Whole threads on Waypoint's savers, both databases: copying a branch or a thread, deleting many.

Real threads (message deltas, an interrupt, a replay whose fork stores a delta snapshot) are
copied by `copy_branch` / `copy_thread` (sync and async savers), then the source is deleted: the
copy must rebuild every message from its own rows. `prune(strategy="delete")` removes many threads
in one call; "keep_latest" refuses Waypoint's threads, which it would empty. The visitor sweep
deletes expired threads in batches, with their index rows and stored runs, and leaves a running one.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import empty_checkpoint

from agent import visitors
from agent.checkpoint_store import make_snapshot
from agent.protocol import LOCAL_USER, User
from agent.timeline import config_at
from agent.visitor_tokens import new_token, visitor_owner
from agent.visitors import VisitorSweep
from tests.engine_fixtures import ON_BOTH_DATABASES, harness_for
from tests.scripted_model import TokenGate, reply

HOUR = 3600.0


@pytest.fixture(**ON_BOTH_DATABASES)
def h(request, data_dir):
    harness = harness_for(request, data_dir)
    yield harness
    harness.backend.close()


def rows_of(h, thread_id) -> list:
    return h.backend.store.skeleton_rows(thread_id)


def messages_at(h, thread_id, checkpoint_id=None) -> list[tuple[str, str]]:
    values = h.backend.graph.get_state(config_at(thread_id, checkpoint_id)).values
    return [(m.id, m.text) for m in values.get("messages", [])]


def halted_then_answered(h, question: str = "weather in SF?") -> str:
    """A thread with no delta snapshot anywhere: its messages are deltas back to the root."""
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Searching.", ("web_search", {"query": question.rstrip("?")}))]
    h.send(thread.id, question)
    call = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls[0]
    h.model.script = [reply("It depends [1].")]
    h.decide(thread.id, {call.id: {"action": "approve"}})
    return thread.id


def replayed_thread(h) -> tuple[str, str, str]:
    """Halt, approve, answer; then a replay from step 0 (LangGraph's fork there stores a delta
    snapshot) that halts again. Returns the thread, the old answer's and the new halt's ids."""
    thread_id = halted_then_answered(h, "weather in LA?")
    answer = h.backend.store.latest_id(thread_id)
    step0 = [r for r in rows_of(h, thread_id) if r.metadata.get("step") == 0][0]
    h.model.script = [reply("Again.", ("web_search", {"query": "LA again"}))]
    h.finish(
        h.backend.resume(
            LOCAL_USER, thread_id, h.choices, h.options, checkpoint_id=step0.checkpoint_id
        )
    )
    assert any(r.metadata.get("source") == "fork" for r in rows_of(h, thread_id))
    return thread_id, answer, h.backend.store.latest_id(thread_id)


def run_saver(h, method: str, *args: Any, **kwargs: Any) -> None:
    """A saver method: of the sync saver for the sync engine's harness, else its `a`-twin on the
    async saver (on its loop)."""
    if h.options.engine == "sync":
        getattr(h.backend.persistence.saver, method)(*args, **kwargs)
    else:
        saver = h.backend.persistence.async_saver
        h.backend.persistence.loop.run(getattr(saver, f"a{method}")(*args, **kwargs))


def drop_source(h, thread_id: str) -> None:
    """Delete the source, and forget every history the savers decoded (a copy gets the source's
    decoded histories): what is read next comes from the copy's rows."""
    h.backend.persistence.saver.prune([thread_id], strategy="delete")
    assert rows_of(h, thread_id) == []
    persistence = h.backend.persistence
    for saver in (persistence.saver, h.backend.graph.checkpointer, persistence.async_saver):
        saver._histories.__init__()  # in place: the graph's copy of a saver shares its cache


def test_a_copied_branch_rebuilds_its_messages_without_its_source(h):
    source, answer, replay_halt = replayed_thread(h)
    wanted = {at: messages_at(h, source, at) for at in (answer, replay_halt)}
    parents = {r.checkpoint_id: r.parent_id for r in rows_of(h, source)}
    copies = {}
    for at in (answer, replay_halt):
        copies[at] = f"copy-of-{at}"
        run_saver(h, "copy_branch", source, copies[at], at)
        assert messages_at(h, copies[at]) == wanted[at]  # read with the histories it was given
    drop_source(h, source)
    for at, target in copies.items():
        path, step = [], at
        while step is not None:
            path.append(step)
            step = parents[step]
        copied = rows_of(h, target)
        assert [r.checkpoint_id for r in copied] == sorted(path, reverse=True)
        assert {r.checkpoint_id: r.parent_id for r in copied} == {p: parents[p] for p in path}
        assert messages_at(h, target) == wanted[at] and len(wanted[at]) >= 2
        assert messages_at(h, target, path[-1]) == []  # the input checkpoint: nothing joined yet
    fork_point = h.backend.store.thread_writes(copies[replay_halt])
    assert (("", replay_halt)) not in fork_point, "the fork point's own writes stay behind"


def test_a_copied_thread_has_every_branch_and_write(h):
    source, answer, replay_halt = replayed_thread(h)
    before = {r.checkpoint_id: messages_at(h, source, r.checkpoint_id) for r in rows_of(h, source)}
    writes = h.backend.store.thread_writes(source)
    run_saver(h, "copy_thread", source, "whole-copy")
    with pytest.raises(ValueError, match="already has checkpoints"):
        run_saver(h, "copy_thread", source, "whole-copy")
    drop_source(h, source)
    after = {
        r.checkpoint_id: messages_at(h, "whole-copy", r.checkpoint_id)
        for r in rows_of(h, "whole-copy")
    }
    assert after == before and answer in after and replay_halt in after
    assert h.backend.store.thread_writes("whole-copy").keys() == writes.keys()


def test_a_copy_refuses_an_unknown_checkpoint_and_writes_nothing(h):
    source, _answer, _halt = replayed_thread(h)
    with pytest.raises(ValueError, match="has no checkpoint"):
        h.backend.persistence.saver.copy_branch(source, "target", "no-such-checkpoint")
    assert rows_of(h, "target") == []


def test_prune_deletes_many_threads_and_keep_latest_refuses_delta_threads(h):
    # One thread whose fork stores a snapshot (the stock check sees those), one without any.
    threads = [replayed_thread(h)[0], halted_then_answered(h), replayed_thread(h)[0]]
    kept = threads.pop()
    counts = {t: len(rows_of(h, t)) for t in threads}
    kept_messages = messages_at(h, kept)
    for named in ([*threads, "unknown"], threads[1:]):
        with pytest.raises(NotImplementedError, match="DeltaChannel"):
            run_saver(h, "prune", named, strategy="keep_latest")
    assert {t: len(rows_of(h, t)) for t in threads} == counts, "a refusal prunes nothing"
    with pytest.raises(TypeError):
        run_saver(h, "prune", kept, strategy="delete")
    with pytest.raises(ValueError, match="Unknown prune strategy"):
        run_saver(h, "prune", threads, strategy="everything")
    run_saver(h, "prune", threads, strategy="delete")
    assert all(rows_of(h, t) == [] and h.backend.store.thread_writes(t) == {} for t in threads)
    assert messages_at(h, kept) == kept_messages and rows_of(h, kept), "others are untouched"


def test_keep_latest_refuses_a_thread_whose_only_sign_of_a_delta_is_a_snapshot(h):
    """A delta channel snapshotted where it was last written: no write shows it, no counter (not
    stored by Waypoint's savers): only the stored snapshot does."""
    saver = h.backend.persistence.saver
    first = empty_checkpoint()
    first["channel_values"] = {"messages": make_snapshot([HumanMessage("hi", id="h1")])}
    first["channel_versions"] = {"messages": saver.get_next_version(None, None)}
    versions = first["channel_versions"]
    config = saver.put(config_at("snap", None), first, {"source": "loop", "step": 0}, versions)
    second = {**empty_checkpoint(), "channel_versions": versions}
    saver.put(config, second, {"source": "input", "step": 1}, {})
    with pytest.raises(NotImplementedError, match="snap"):
        saver.prune(["snap"], strategy="keep_latest")
    assert len(rows_of(h, "snap")) == 2
    assert messages_at(h, "snap") == [("h1", "hi")]  # read through the graph's channel


def visitor() -> User:
    return User(id=visitor_owner(new_token()), name="Visitor", kind="visitor")


def test_the_sweep_deletes_in_batches_with_index_and_runs_and_leaves_a_running_thread(
    h, monkeypatch
):
    people = [visitor() for _ in range(5)]
    expired = []
    for person in people:
        thread = h.backend.create_thread(person, "visitor thread")
        h.model.script = [reply("Hello.")]
        h.finish(h.backend.send_message(person, thread.id, "hi", h.choices, h.options))
        expired.append(thread.id)
    assert all(h.backend.persistence.runs.latest(t) is not None for t in expired)
    runner = visitor()
    running = h.backend.create_thread(runner, "still running")
    gate = TokenGate()
    h.model.gate = gate
    h.model.script = [reply("Slow answer.")]
    run = h.backend.send_message(runner, running.id, "hi", h.choices, h.options)
    assert gate.wait_held_after(0)
    now = max(h.backend.get_thread(runner, running.id).created_at, time_of(h, expired)) + 2 * HOUR

    batches: list[list[str]] = []
    prune = h.backend.persistence.saver.prune

    def recording_prune(thread_ids, *, strategy="keep_latest"):
        batches.append(list(thread_ids))
        assert strategy == "delete"
        prune(thread_ids, strategy=strategy)

    monkeypatch.setattr(visitors, "BATCH", 2)
    monkeypatch.setattr(h.backend.persistence.saver, "prune", recording_prune)
    assert VisitorSweep(hours=1, clock=lambda: now).run(h.backend) == 5
    assert sorted(map(len, batches)) == [1, 2, 2] and sorted(sum(batches, [])) == sorted(expired)
    for person, thread_id in zip(people, expired, strict=True):
        assert h.backend.find_thread(person, thread_id) is None
        assert rows_of(h, thread_id) == [] and h.backend.store.thread_writes(thread_id) == {}
        assert h.backend.persistence.runs.latest(thread_id) is None
    assert h.backend.find_thread(runner, running.id) is not None, "a running thread waits"
    gate.open_fully()
    h.finish(run)
    assert VisitorSweep(hours=1, clock=lambda: now).run(h.backend) == 1
    assert h.backend.find_thread(runner, running.id) is None and rows_of(h, running.id) == []


def time_of(h, thread_ids: list[str]) -> float:
    return max(h.backend.threads.get(t).created_at for t in thread_ids)
