"""The lesson at the engine: a learner's marked scratch threads, their reset, and the restart.

On both engines and both databases: the restart reads a thread through a brand-new engine (what it
finds came from the database) while a run of the app's engine is in the middle of a tool, and that
run still ends well; marks and resets are each learner's own.
"""

from __future__ import annotations

import threading

import pytest

from agent.errors import InputError, UnknownThread
from agent.protocol import LOCAL_USER, AgentChoices, ApprovalPolicy, User
from tests.engine_fixtures import ON_BOTH_DATABASES, engine_run, harness_for
from tests.scripted_model import reply

ALICE = User(id="oidc:test|alice", name="Alice")
NEVER = AgentChoices(approval=ApprovalPolicy("never"))  # tools run unasked


@pytest.fixture(**ON_BOTH_DATABASES)
def h(request, data_dir):
    harness = harness_for(request, data_dir)
    yield harness
    harness.backend.close()


def answered(h, user=LOCAL_USER) -> str:
    thread = h.backend.create_thread(user, "Lesson: weather")
    h.model.script = [reply("", ("web_search", {"query": "LA"})), reply("Sunny.")]
    h.finish(h.backend.send_message(user, thread.id, "weather in LA?", NEVER, h.options))
    return thread.id


def test_a_new_engine_reads_the_thread_from_the_database_while_a_run_goes_on(h):
    thread_id = answered(h)
    before = h.backend.timeline(LOCAL_USER, thread_id)
    busy = h.backend.create_thread(LOCAL_USER)
    h.search.block = threading.Event()
    h.search.entered.clear()
    h.model.script = [reply("", ("web_search", {"query": "SF"})), reply("Foggy.")]
    run = h.backend.send_message(LOCAL_USER, busy.id, "weather in SF?", NEVER, h.options)
    assert h.search.entered.wait(20), "the run never reached its tool"

    restart = h.backend.restart_engine(LOCAL_USER, thread_id)

    assert restart.checkpoints == before.total == 5
    assert restart.messages == 4
    assert restart.latest_checkpoint_id == before.latest_id
    assert restart.database == ("Postgres" if h.backend.settings.database_url else "SQLite")
    saver = "WaypointPostgresSaver(" if h.backend.settings.database_url else "WaypointSqliteSaver("
    assert saver in restart.calls and f'"thread_id": "{thread_id}"' in restart.calls
    assert "# 4 messages" in restart.calls and "# 5 checkpoints" in restart.calls
    assert engine_run(h.backend, run).status == "running", "the restart cut a live run"
    h.search.block.set()
    assert h.finish(run)[-1].status == "done"
    assert h.backend.thread_view(LOCAL_USER, busy.id).messages[-1].text == "Foggy."


def test_marks_resets_and_restarts_are_each_learners_own(h):
    mine = answered(h)
    theirs = answered(h, ALICE)
    own = h.backend.create_thread(LOCAL_USER, "not a lesson thread")
    h.backend.mark_lesson_thread(LOCAL_USER, mine, "checkpoints", None)
    h.backend.mark_lesson_thread(LOCAL_USER, mine, "replay", None)  # two steps on one thread
    h.backend.mark_lesson_thread(ALICE, theirs, "checkpoints", None)
    with pytest.raises(UnknownThread):
        h.backend.mark_lesson_thread(ALICE, mine, "checkpoints", None)
    with pytest.raises(UnknownThread):
        h.backend.restart_engine(ALICE, mine)
    assert [(m.step, m.thread_id) for m in h.backend.lesson_threads(LOCAL_USER)] == [
        ("checkpoints", mine),
        ("replay", mine),
    ]

    assert h.backend.reset_lesson(LOCAL_USER) == 1  # threads, not marks
    assert h.backend.find_thread(LOCAL_USER, mine) is None
    assert h.backend.find_thread(LOCAL_USER, own.id) is not None
    assert h.backend.find_thread(ALICE, theirs) is not None
    assert h.backend.lesson_threads(LOCAL_USER) == ()
    assert [m.thread_id for m in h.backend.lesson_threads(ALICE)] == [theirs]


def test_a_deleted_scratch_thread_loses_its_mark_and_a_wrong_step_gets_a_sentence(h):
    thread_id = answered(h)
    h.backend.mark_lesson_thread(LOCAL_USER, thread_id, "checkpoints")
    with pytest.raises(InputError, match="There is no lesson step 'dance'; the steps are"):
        h.backend.mark_lesson_thread(LOCAL_USER, thread_id, "dance")
    with pytest.raises(InputError, match="Wrong input for step"):
        h.backend.mark_lesson_thread(LOCAL_USER, thread_id, 3)
    h.backend.delete_thread(LOCAL_USER, thread_id)
    assert h.backend.lesson_threads(LOCAL_USER) == ()
    assert h.backend.reset_lesson(LOCAL_USER) == 0
