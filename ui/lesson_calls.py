"""The Lesson page's "What LangGraph did": the calls each step's action really made.

Before a step is done its box shows the call in outline (`LessonStep.code`); once done, the very
calls the engine made, with the step's thread and checkpoint ids, as the engine recorded them: a
run's report (`Backend.run_report`, kept after the run's events are dropped), a state edit's or a
fork's checkpoint (`CheckpointDetail.calls`), the restart's new engine (`EngineRestart.calls`).
Nothing here is written by the page, so the box cannot say something the engine did not do.
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import Backend, CheckpointRow, User, lesson_step
from ui.lesson_actions import RESTART_KEY, LessonState

LIMIT = 200  # checkpoints read to find the one a step wrote: a lesson thread has a few dozen


def _run_calls(backend: Backend, user: User, run_id: str | None) -> str | None:
    report = backend.run_report(user, run_id) if run_id else None
    return "\n\n".join(report.calls) if report and report.calls else None


def _written_by_edit(backend: Backend, user: User, thread_id: str, newest: bool) -> str | None:
    """The calls of the thread's newest (or oldest) checkpoint a state edit wrote."""
    rows: list[CheckpointRow] = [
        r for r in backend.timeline(user, thread_id, limit=LIMIT).rows if r.source == "update"
    ]
    if not rows:
        return None
    row = rows[0] if newest else rows[-1]  # rows come newest first
    return backend.checkpoint_detail(user, thread_id, row.checkpoint_id).calls or None


def step_calls(backend: Backend, user: User, state: LessonState, step: str) -> str | None:
    """What LangGraph did for `step`, as short Python; None before the step was done (or when
    the engine kept no record of it)."""
    if step == "restart":
        found = st.session_state.get(RESTART_KEY)
        return (found[1].calls or None) if found else None
    mark = state.newest(step)
    if mark is None:
        return None
    if step == "threads":
        first = state.thread_of("checkpoints")
        new = next(
            (m for m in reversed(state.marks) if m.step == step and m.thread_id != first), None
        )
        asked = [
            (
                "# the first thread: its checkpoints hold the conversation so far",
                state.newest(step, first),
            ),
            ("# a new thread: no checkpoint, so the model gets only the question", new),
        ]
        return "\n\n".join(
            f"{note}\n{_run_calls(backend, user, m.run_id) or '# (no record of this run)'}"
            for note, m in asked
            if m is not None
        )
    if step == "edit":
        return _written_by_edit(backend, user, mark.thread_id, newest=True)
    if step == "fork":
        calls = _written_by_edit(backend, user, mark.thread_id, newest=False)
        return (
            "# the approval thread's checkpoints up to its halt were copied into a new thread\n"
            "# (ids kept), then one checkpoint on top says where it came from:\n" + calls
            if calls
            else None
        )
    ran = _run_calls(backend, user, mark.run_id)
    if ran and step == "checkpoints":
        read = backend.checkpoint_detail(
            user, mark.thread_id, backend.timeline(user, mark.thread_id, limit=1).latest_id or ""
        ).calls
        return f"{ran}\n\n# and reading the checkpoints back:\n{read}"
    return ran


def what_langgraph_did(backend: Backend, user: User, state: LessonState, step: str) -> None:
    """The step's calls: the real ones once it was done, the outline before."""
    calls = step_calls(backend, user, state, step)
    title = "What LangGraph did" if calls else "What LangGraph will do"
    with st.expander(title, icon=":material/code:"):
        if calls:
            st.caption(
                "The calls this step made, as the engine recorded them: the ids are your "
                "scratch thread's and its checkpoints'."
            )
            st.code(calls, language="python", wrap_lines=True)
        else:
            st.caption(
                "The call in outline. Once you press the button, the very calls it made show "
                "here, with their real ids."
            )
            st.code(lesson_step(step).code, language="python", wrap_lines=True)
