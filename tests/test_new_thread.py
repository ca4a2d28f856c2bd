"""A thread exists from its first message: `start_thread` creates it with its run, and a message
refused before the run begins leaves no thread behind (the old "New thread" button stored an
empty row per click). On both engines and both databases."""

from __future__ import annotations

import pytest

from agent import run_limit
from agent.errors import InputError
from agent.protocol import LOCAL_USER, MAX_MESSAGE_CHARS, RunLimitReached, User
from tests.engine_fixtures import ON_BOTH_DATABASES, harness_for
from tests.scripted_model import reply

ALICE = User(id="alice", name="Alice")


@pytest.fixture(**ON_BOTH_DATABASES)
def h(request, data_dir):
    harness = harness_for(request, data_dir)
    yield harness
    harness.backend.close()


def test_the_first_message_creates_the_thread_and_answers_it(h):
    assert h.backend.count_threads(ALICE) == 0
    h.model.script = [reply("Hello, Alice.")]
    handle = h.backend.start_thread(ALICE, "  hello   there ", h.choices, h.options)
    h.finish(handle)
    (thread,) = h.backend.list_threads(ALICE)
    assert (thread.id, thread.title, thread.owner) == (handle.thread_id, "hello there", "alice")
    view = h.backend.thread_view(ALICE, thread.id)
    assert [m.text for m in view.messages] == ["hello   there", "Hello, Alice."]
    assert h.backend.count_threads(LOCAL_USER) == 0  # owned by the one who sent it
    h.model.script = [reply("Again.")]
    h.finish(h.backend.send_message(ALICE, thread.id, "and again", h.choices, h.options))
    assert h.backend.count_threads(ALICE) == 1  # the next message continues it


def _missing_key(h, monkeypatch):
    def no_key(choices, deciding):
        raise ValueError("OpenAI needs OPENAI_API_KEY: set it, or choose the demo model.")

    monkeypatch.setattr(h.backend, "shared_contexts", no_key)


def _run_limit(h, monkeypatch):
    """The limit is counted in the run store's transaction (`agent.run_limit.take`)."""

    def spent(conn, user_id, per_hour, run_id, now):
        raise RunLimitReached(1, 600)

    monkeypatch.setattr(run_limit, "take", spent)


def _store_fails(h, monkeypatch):
    def begin(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(h.backend.persistence.runs, "begin", begin)


def _marking_fails(h, monkeypatch):
    """A failure inside the run's preparation, after the thread is reserved."""

    def touch(thread_id, **fields):
        raise RuntimeError("disk full")

    monkeypatch.setattr(h.backend.threads, "touch", touch)


@pytest.mark.parametrize(
    ("text", "refuse", "error"),
    [
        ("   ", None, InputError),
        ("x" * (MAX_MESSAGE_CHARS + 1), None, InputError),
        (42, None, InputError),
        ("hi", _missing_key, ValueError),
        ("hi", _run_limit, RunLimitReached),
        ("hi", _store_fails, RuntimeError),
        ("hi", _marking_fails, RuntimeError),
    ],
    ids=["empty", "too-long", "not-text", "missing-key", "run-limit", "store-fails", "mark-fails"],
)
def test_a_message_refused_before_its_run_leaves_no_thread(h, monkeypatch, text, refuse, error):
    if refuse is not None:
        refuse(h, monkeypatch)
    with pytest.raises(error):
        h.backend.start_thread(ALICE, text, h.choices, h.options)
    monkeypatch.undo()
    assert h.backend.list_threads(ALICE) == [], "a refused first message left a thread"
    assert not h.backend.any_run_active(ALICE)
    assert h.backend.persistence.runs.running() == []
    h.model.script = [reply("Fine.")]  # and the next message starts a thread as usual
    h.finish(h.backend.start_thread(ALICE, "hi", h.choices, h.options))
    assert [t.title for t in h.backend.list_threads(ALICE)] == ["hi"]
