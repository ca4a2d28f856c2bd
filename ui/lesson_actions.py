"""What each lesson step's one button does, through the Backend protocol only.

Every step drives the real engine as the Chat and Inspector do (send_message, decide, edit_message,
resume, fork_thread), on the learner's scratch threads, always with the offline demo model and
search. Runs start in the background; the page follows them (`ui.lesson_results`).
`LessonState` is what the steps need to know of the lesson so far, read from the backend's marks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import streamlit as st

from agent.protocol import (
    EDITED_QUERY,
    LESSON_CHOICES,
    LESSON_TITLE_PREFIX,
    MOCK_ANSWER,
    STEPS,
    AgentChoices,
    ApprovalPolicy,
    Backend,
    BackendError,
    CheckpointRow,
    LessonThread,
    RunOptions,
    ThreadView,
    User,
    lesson_step,
)

ASK = LESSON_CHOICES
NEVER_ASK = replace(ASK, approval=ApprovalPolicy(mode="never"))
STREAM = RunOptions()  # messages and updates, sync engine, sync durability: the app's defaults
RESTART_KEY = "lesson_restart"  # the restart step's result: a few counts, no conversation text


@dataclass(frozen=True)
class LessonState:
    """The learner's lesson so far: the marks of their scratch threads, newest last."""

    marks: tuple[LessonThread, ...]

    def newest(self, step: str, thread_id: str | None = None) -> LessonThread | None:
        found = [m for m in self.marks if m.step == step]
        if thread_id is not None:
            found = [m for m in found if m.thread_id == thread_id]
        return found[-1] if found else None

    def thread_of(self, step: str) -> str | None:
        """The thread `step` works on: the newest thread of the step it needs (or its own)."""
        owner = lesson_step(step).needs or step
        mark = self.newest(owner)
        return mark.thread_id if mark else None

    def done(self, step: str) -> bool:
        if step == "restart":
            return RESTART_KEY in st.session_state
        return self.newest(step) is not None


def lesson_state(backend: Backend, user: User) -> LessonState:
    return LessonState(backend.lesson_threads(user))


def number(step: str) -> int:
    return next(i for i, s in enumerate(STEPS, 1) if s.key == step)


def step_problem(backend: Backend, user: User, state: LessonState, step: str) -> str | None:
    """Why the step's button cannot work now (shown under it, the button disabled), or None."""
    needs = lesson_step(step).needs
    thread_id = state.thread_of(step)
    if needs is not None and thread_id is None:
        return f"Do step {number(needs)}, “{lesson_step(needs).title}”, first."
    if thread_id is None:
        return None
    view = backend.thread_view(user, thread_id)
    if view.active_run_id:
        return "A run is going on this step's thread: wait for it to finish."
    if step in ("edit", "mock") and not view.waiting_for_approval:
        again = f"run step {number('interrupt')} again for a new halt"
        if state.done(step):
            return f"Done: the approval thread has moved on. To try it again, {again}."
        return f"The approval thread is not waiting any more: {again}."
    if step == "edit" and view.pending_calls[0].args.get("query") == EDITED_QUERY:
        return "The first call already searches that: go on to the next step."
    return None


def _new_thread(
    backend: Backend,
    user: User,
    step: str,
    title: str,
    text: str,
    choices: AgentChoices,
    options: RunOptions = STREAM,
) -> None:
    """A new scratch thread, its first message sent and the thread marked as the step's."""
    thread = backend.create_thread(user, LESSON_TITLE_PREFIX + title)
    try:
        run = backend.send_message(user, thread.id, text, choices, options)
    except BackendError:
        if backend.find_thread(user, thread.id) is not None:
            backend.delete_thread(user, thread.id)  # nothing is left behind
        raise
    backend.mark_lesson_thread(user, thread.id, step, run.id)


def _send(
    backend: Backend,
    user: User,
    step: str,
    thread_id: str,
    text: str,
    options: RunOptions = STREAM,
) -> None:
    run = backend.send_message(user, thread_id, text, NEVER_ASK, options)
    backend.mark_lesson_thread(user, thread_id, step, run.id)


def oldest(rows: tuple[CheckpointRow, ...], keep: Callable[[CheckpointRow], bool]) -> str:
    """The oldest checkpoint among `rows` that `keep` accepts (InputError-like ValueError if none)."""
    found = sorted((r for r in rows if keep(r)), key=lambda r: (r.created_at, r.step))
    if not found:
        raise ValueError("This thread has no checkpoint for this step: run its step again.")
    return found[0].checkpoint_id


def after_search(row: CheckpointRow) -> bool:
    """The checkpoint `action` wrote, with the model next: the search done, the answer not."""
    return row.written_by == ("action",) and row.next_nodes == ("llm",)


def _waiting(backend: Backend, user: User, thread_id: str) -> ThreadView:
    view = backend.thread_view(user, thread_id)
    if not view.waiting_for_approval:
        raise ValueError("The approval thread is not waiting for a decision any more.")
    return view


def run_step(backend: Backend, user: User, state: LessonState, step: str) -> None:
    """Do the step's one thing (BackendError or ValueError with a sentence when it cannot)."""
    thread_id = state.thread_of(step) or ""
    if step == "checkpoints":
        _new_thread(backend, user, step, "weather in LA", "What's the weather in LA?", NEVER_ASK)
    elif step == "restart":
        st.session_state[RESTART_KEY] = (
            backend.timeline(user, thread_id, limit=1).total,
            backend.restart_engine(user, thread_id),
        )
    elif step == "threads":
        _send(backend, user, step, thread_id, "What about London?")
        _new_thread(backend, user, step, "a new thread", "What about London?", NEVER_ASK)
    elif step == "messages":
        _new_thread(backend, user, step, "streaming", "What's the weather in Paris?", NEVER_ASK)
    elif step == "updates":
        _send(backend, user, step, thread_id, "What about Tokyo?", RunOptions(stream_tokens=False))
    elif step == "async":
        _send(backend, user, step, thread_id, "What about Rome?", RunOptions(engine="async"))
    elif step == "interrupt":
        _new_thread(backend, user, step, "approval", "What's the weather in SF and LA?", ASK)
    elif step == "edit":
        view = _waiting(backend, user, thread_id)
        asking = next(m for m in reversed(view.messages) if m.tool_calls)
        backend.edit_message(
            user,
            thread_id,
            view.checkpoint_id or "",
            asking.id,
            tool_args={"query": EDITED_QUERY},
            tool_call_id=view.pending_calls[0].id,
            choices=ASK,
        )
        backend.mark_lesson_thread(user, thread_id, step)
    elif step == "mock":
        first, *others = _waiting(backend, user, thread_id).pending_calls
        decisions = {first.id: {"action": "approve"}}
        decisions |= {c.id: {"action": "mock", "content": MOCK_ANSWER} for c in others}
        run = backend.decide(user, thread_id, decisions, ASK)
        backend.mark_lesson_thread(user, thread_id, step, run.id)
    elif step == "replay":
        rows = backend.timeline(user, thread_id, limit=200).rows
        run = backend.resume(user, thread_id, NEVER_ASK, checkpoint_id=oldest(rows, after_search))
        backend.mark_lesson_thread(user, thread_id, step, run.id)
    elif step == "fork":
        rows = backend.timeline(user, thread_id, limit=200).rows
        halt = oldest(rows, lambda r: r.halted)
        copy = backend.fork_thread(user, thread_id, halt, LESSON_TITLE_PREFIX + "a fork")
        backend.mark_lesson_thread(user, copy.id, step)
