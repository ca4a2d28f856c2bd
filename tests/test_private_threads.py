"""Private threads at the engine: every LocalBackend path, tried by a second user.

Alice owns a thread halted on a tool call (so decisions, resume and replay have something to act
on) with a finished run. Bob tries each method that names a thread or a run: every one answers as
for a thread that does not exist (the same exception, the same sentence), and Alice's thread is
unchanged afterwards. Forks and imports belong to whoever made them.
"""

from __future__ import annotations

import pytest

from agent.protocol import LOCAL_USER, User
from agent.threads import UnknownThread
from agent.transfer import export_thread, import_thread
from tests.engine_fixtures import make_harness
from tests.scripted_model import reply

ALICE = User(id="oidc:https://id.example|alice", name="Alice", email="alice@example.test")
BOB = User(id="oidc:https://id.example|bob", name="Bob")
VISITOR = User(id="visitor:0123456789abcdef", name="Visitor", kind="visitor")


@pytest.fixture
def h(data_dir):
    harness = make_harness(data_dir, "sync")
    yield harness
    harness.backend.close()


@pytest.fixture
def alices(h):
    """Alice's thread, halted before a web search, and the run that got it there."""
    thread = h.backend.create_thread(ALICE, "alice private plans")
    h.model.script = [reply("Searching.", ("web_search", {"query": "alice secret"}))]
    run = h.backend.send_message(ALICE, thread.id, "alice question", h.choices, h.options)
    h.finish(run)
    view = h.backend.thread_view(ALICE, thread.id)
    assert view.pending_calls, "the scripted reply should halt before the tool"
    return thread.id, run.id, view


def thread_paths(h, view):
    """Every backend call that names a thread, as (name, call(user, thread_id))."""
    b, choices, options = h.backend, h.choices, h.options
    call_id = view.pending_calls[0].id
    message_id = view.messages[0].id
    ai_id = view.messages[-1].id
    cp = b.timeline(ALICE, view.thread.id).rows[0].checkpoint_id
    return [
        ("get_thread", lambda u, t: b.get_thread(u, t)),
        ("thread_view", lambda u, t: b.thread_view(u, t)),
        ("rename_thread", lambda u, t: b.rename_thread(u, t, "stolen")),
        ("delete_thread", lambda u, t: b.delete_thread(u, t)),
        ("send_message", lambda u, t: b.send_message(u, t, "hi", choices, options)),
        ("decide", lambda u, t: b.decide(u, t, {call_id: {"action": "approve"}}, choices, options)),
        ("resume", lambda u, t: b.resume(u, t, choices, options)),
        ("replay", lambda u, t: b.resume(u, t, choices, options, checkpoint_id=cp)),
        ("timeline", lambda u, t: b.timeline(u, t)),
        ("checkpoint_detail", lambda u, t: b.checkpoint_detail(u, t, cp)),
        ("edit_message", lambda u, t: b.edit_message(u, t, cp, message_id, text="edited")),
        ("fork_thread", lambda u, t: b.fork_thread(u, t, cp)),
        ("show_branch", lambda u, t: b.show_branch(u, t, cp)),
        ("message_versions", lambda u, t: b.message_versions(u, t)),
        ("switch_branch", lambda u, t: b.switch_branch(u, t, message_id, 0)),
        ("regenerate", lambda u, t: b.regenerate(u, t, ai_id, choices, options)),
        (
            "edit_and_resend",
            lambda u, t: b.edit_and_resend(u, t, message_id, "x", choices, options),
        ),
        ("export_thread", lambda u, t: list(export_thread(b, u, t))),
    ]


def test_every_thread_path_answers_a_foreign_thread_like_a_missing_one(h, alices):
    thread_id, _run_id, view = alices
    before = h.backend.timeline(ALICE, thread_id).rows
    paths = thread_paths(h, view)
    assert len(paths) >= 18
    for name, call in paths:
        for intruder in (BOB, VISITOR, LOCAL_USER):
            with pytest.raises(UnknownThread) as foreign:
                call(intruder, thread_id)
            with pytest.raises(UnknownThread) as missing:
                call(intruder, thread_id[::-1])
            assert str(foreign.value) == str(UnknownThread(thread_id)), name
            assert type(foreign.value) is type(missing.value), name
        assert h.backend.find_thread(BOB, thread_id) is None, name
    # Nothing Bob tried changed Alice's thread: same title, same checkpoints, still halted.
    after = h.backend.thread_view(ALICE, thread_id)
    assert after.thread.title == "alice private plans"
    assert [r.checkpoint_id for r in h.backend.timeline(ALICE, thread_id).rows] == [
        r.checkpoint_id for r in before
    ]
    assert after.pending_calls == view.pending_calls
    assert h.search.queries == []


def test_lists_search_and_counts_hold_only_the_users_own_threads(h, alices):
    thread_id, _run_id, _view = alices
    bobs = h.backend.create_thread(BOB, "bob plans")
    assert [t.id for t in h.backend.list_threads(ALICE)] == [thread_id]
    assert [t.id for t in h.backend.list_threads(BOB)] == [bobs.id]
    assert h.backend.list_threads(BOB, search="alice") == []
    assert h.backend.list_threads(BOB, search="plans") == [h.backend.get_thread(BOB, bobs.id)]
    assert h.backend.count_threads(BOB, search="alice") == 0
    assert h.backend.count_threads(ALICE) == 1 and h.backend.count_threads(VISITOR) == 0
    assert h.backend.list_threads(LOCAL_USER) == []


def test_another_users_run_is_an_unknown_run(h, alices):
    _thread_id, run_id, _view = alices
    assert h.backend.read_events(ALICE, run_id)
    assert h.backend.run_status(ALICE, run_id) is not None
    assert h.backend.read_events(BOB, run_id) == h.backend.read_events(BOB, "no-such-run") == []
    assert h.backend.run_status(BOB, run_id) is None
    assert h.backend.cancel_run(BOB, run_id) is False


def test_a_live_run_of_another_user_cannot_be_read_or_stopped(h):
    from tests.scripted_model import TokenGate

    thread = h.backend.create_thread(ALICE)
    gate = TokenGate()
    h.model.gate = gate
    h.model.script = [reply("a long private answer")]
    run = h.backend.send_message(ALICE, thread.id, "go", h.choices, h.options)
    assert gate.wait_held_after(0)
    assert h.backend.any_run_active(ALICE)
    assert not h.backend.any_run_active(BOB), "someone else's run is not Bob's news"
    assert h.backend.cancel_run(BOB, run.id) is False
    assert h.backend.read_events(BOB, run.id, timeout=0.1) == []
    assert h.backend.run_status(BOB, run.id) is None
    assert h.backend.run_status(ALICE, run.id) == "running"
    gate.open_fully()
    h.finish(run)
    assert h.backend.run_status(ALICE, run.id) == "done"


def test_forks_and_imports_belong_to_whoever_made_them(h, alices):
    thread_id, _run_id, _view = alices
    checkpoint = h.backend.timeline(ALICE, thread_id).rows[0].checkpoint_id
    fork = h.backend.fork_thread(ALICE, thread_id, checkpoint)
    assert fork.owner == ALICE.id
    assert h.backend.find_thread(BOB, fork.id) is None
    exported = "".join(export_thread(h.backend, ALICE, thread_id))
    imported = import_thread(h.backend, BOB, exported)  # Alice sent Bob the file
    assert imported.owner == BOB.id and imported.id != thread_id
    assert h.backend.find_thread(ALICE, imported.id) is None
    assert {t.id for t in h.backend.list_threads(BOB)} == {imported.id}
    h.backend.delete_thread(BOB, imported.id)
    assert h.backend.get_thread(ALICE, thread_id).title == "alice private plans"
