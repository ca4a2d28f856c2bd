"""Lesson: the ideas of LangGraph one step at a time, each made to happen with one button.

The steps are data (`agent.lesson_steps`, through the protocol), the buttons drive the real engine
(`ui.lesson_actions`) and the results are read back from it (`ui.lesson_results`); this page only
lays them out. The step shown is in the URL (`?step=…`), so a refresh or a link keeps it.
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import STEPS, lesson_step
from ui import resources
from ui.feedback import USER_ERRORS, attempt, show_problem
from ui.identity import current_user
from ui.lesson_actions import RESTART_KEY, lesson_state, run_step, step_problem
from ui.lesson_calls import what_langgraph_did
from ui.lesson_results import result

STEP_PARAM = "step"
PICK_KEY = "lesson_pick"
KEYS = [s.key for s in STEPS]

backend = resources.backend()
user = current_user()

st.title("Lesson")
st.caption(
    f"{len(STEPS)} steps, one button each, on scratch threads of your own (their titles start "
    "with “Lesson:”). The lesson always uses the offline demo model and search, whatever the "
    "sidebar says: nothing to set up, nothing leaves the machine."
)
show_problem()
state = lesson_state(backend, user)

LABELS = [f"{n}. {s.title.replace('`', '')}" for n, s in enumerate(STEPS, 1)]  # plain text


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def go(key: str) -> None:
    st.query_params[STEP_PARAM] = key


def picked() -> None:
    go(KEYS[LABELS.index(st.session_state[PICK_KEY])])


shown = st.query_params.get(STEP_PARAM)
key = shown if shown in KEYS else KEYS[0]
go(key)
at = KEYS.index(key)
st.session_state[PICK_KEY] = LABELS[at]  # the URL says which step: the picker follows it
st.selectbox("Step", LABELS, key=PICK_KEY, on_change=picked)
done = [n for n, k in enumerate(KEYS, 1) if state.done(k)]
st.progress(
    len(done) / len(KEYS),
    text=f"Done: step{'s' if len(done) > 1 else ''} {', '.join(map(str, done))}"
    if done
    else "No step done yet",
)
step = lesson_step(key)

st.subheader(f"{at + 1}. {step.title}")
st.markdown(step.idea)
try:
    problem = step_problem(backend, user, state, key)
except USER_ERRORS as error:  # a scratch thread deleted meanwhile, say
    problem = str(error)
if st.button(step.button, type="primary", icon=":material/play_arrow:", disabled=bool(problem)):
    attempt(lambda: run_step(backend, user, state, key))
if problem:
    st.caption(problem)
result(backend, user, state, key)
what_langgraph_did(backend, user, state, key)

back, forward = st.columns(2)
back.button(
    "Previous step",
    icon=":material/arrow_back:",
    disabled=at == 0,
    width="stretch",
    on_click=go,
    args=(KEYS[at - 1],),
)
forward.button(
    "Next step",
    icon=":material/arrow_forward:",
    disabled=at == len(KEYS) - 1,
    width="stretch",
    on_click=go,
    args=(KEYS[min(at + 1, len(KEYS) - 1)],),
)

st.divider()
scratch = len({m.thread_id for m in state.marks})
if st.button(
    f"Reset the lesson ({plural(scratch, 'scratch thread') if scratch else 'no scratch threads'})",
    icon=":material/restart_alt:",
    disabled=not scratch,
    help="Deletes the threads this lesson made for you (and stops their runs); your other "
    "threads stay. Each learner resets only their own.",
):
    st.session_state.pop(RESTART_KEY, None)
    go(KEYS[0])
    attempt(lambda: backend.reset_lesson(user))
