"""The lesson's engine side: which threads are a learner's scratch threads, and the restart.

A class shares one deployment, so each learner's scratch threads must be their own (owned by the
user, as every thread is) and marked as the lesson's, so that "reset the lesson" deletes exactly
those and nothing the learner made by hand. The mark is a row in the lesson's own table, next to
the thread index: a title could be renamed away, and the index's columns belong to the threads.
The table is created when missing rather than by a thread-index migration, so the lesson stays a
part that can be dropped whole (losing only these marks).

The restart opens a second engine over the same database, the way a restarted server starts, and
reads the thread through it: what it finds came from the database, since that engine never had the
thread in memory. The app's own engine is shared by every session, so it is never the one closed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from agent.call_text import config_literal
from agent.lesson_steps import EngineRestart, LessonThread, lesson_step
from agent.protocol import Backend, User
from agent.threads import ThreadDatabase

log = logging.getLogger(__name__)

_TABLE = """
CREATE TABLE IF NOT EXISTS waypoint_lesson_threads (
    thread_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    step TEXT NOT NULL,
    run_id TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (thread_id, step)
)
"""


class LessonLog:
    """The lesson's marks on scratch threads, per owner, over the thread index's database."""

    def __init__(self, db: ThreadDatabase):
        self.db = db
        db.change(_TABLE, ())

    def add(self, owner: str, step: str, thread_id: str, run_id: str | None) -> None:
        """Mark `thread_id` as used by `step` (several steps may use one thread; a step used on
        a thread again keeps its newest run)."""
        lesson_step(step)  # ValueError naming the steps there are
        self.db.change(
            "DELETE FROM waypoint_lesson_threads WHERE thread_id = ? AND step = ?",
            (thread_id, step),
        )
        self.db.change(
            "INSERT INTO waypoint_lesson_threads (thread_id, owner, step, run_id, created_at) "
            "VALUES (?,?,?,?,?)",
            (thread_id, owner, step, run_id, time.time()),
        )

    def threads(self, owner: str) -> list[LessonThread]:
        """The owner's marks, oldest first."""
        rows = self.db.rows(
            "SELECT step, thread_id, run_id, created_at FROM waypoint_lesson_threads "
            "WHERE owner = ? ORDER BY created_at, thread_id",
            (owner,),
        )
        return [LessonThread(*row) for row in rows]

    def forget(self, owner: str, thread_ids: list[str]) -> None:
        """Drop every mark of these threads (deleted, or reset)."""
        for thread_id in thread_ids:
            self.db.change(
                "DELETE FROM waypoint_lesson_threads WHERE owner = ? AND thread_id = ?",
                (owner, thread_id),
            )


def read_through_new_engine(
    open_engine: Callable[[], Backend], user: User, thread_id: str, database: str
) -> EngineRestart:
    """Open a new engine, read the thread's state and history through it, close it."""
    started = time.monotonic()
    engine = open_engine()
    try:
        view = engine.thread_view(user, thread_id)
        history = engine.timeline(user, thread_id, limit=1)
    finally:
        engine.close()
    seconds = time.monotonic() - started
    log.info("lesson restart: a new engine read thread %s in %.2f s", thread_id, seconds)
    return EngineRestart(
        thread_id=thread_id,
        title=view.thread.title,
        checkpoints=history.total,
        messages=len(view.messages),
        latest_checkpoint_id=history.latest_id,
        seconds=seconds,
        database=database,
        calls=restart_calls(thread_id, database, len(view.messages), history.total),
    )


def restart_calls(thread_id: str, database: str, messages: int, checkpoints: int) -> str:
    """What the new engine did, as the LangGraph calls a restarted server makes."""
    saver = (
        "WaypointPostgresSaver(ConnectionPool(database_url))"
        if database == "Postgres"
        else "WaypointSqliteSaver(sqlite3.connect(path))"
    )
    return (
        "# a new engine: its own connection, checkpointer and compiled graph\n"
        f"saver = {saver}\n"
        "graph = builder.compile(checkpointer=saver)\n"
        f"config = {config_literal(thread_id)}\n"
        f"graph.get_state(config)  # {messages} messages, read from the database\n"
        f"len(list(saver.list(config)))  # {checkpoints} checkpoints\n"
        "# then its connection is closed; the app's own engine was never touched"
    )
