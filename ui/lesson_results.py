"""What each lesson step made happen, read back from the backend: checkpoints, state, events.

Nothing here is remembered by the page: every figure comes from the engine (the thread's view, its
timeline, the run's event log) at each rerun, so what the learner sees is what LangGraph stored.
While a step's run goes, a fragment follows its events as they arrive; when it ends the page
reruns and draws the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import streamlit as st

from agent.protocol import (
    MOCK_ANSWER,
    Backend,
    Done,
    Error,
    Event,
    Halted,
    Step,
    ThreadView,
    Token,
    ToolCall,
    ToolResult,
    Transcript,
    User,
    call_text,
)
from ui.lesson_actions import RESTART_KEY, LessonState, after_search, number
from ui.live_run import step_strip
from ui.safe_text import SENTENCE_CHARS, clip, code, markdown, plain

FOLLOW_SECONDS = 0.25
EVENTS_SHOWN = 14
CHAT_PAGE, INSPECTOR_PAGE = "app_pages/chat.py", "app_pages/inspector.py"


def links(
    thread_id: str, checkpoint_id: str | None = None, chat: str = "See it in the Chat"
) -> None:
    """Links that open the thread in the Chat and the checkpoint in the Inspector."""
    left, right = st.columns(2)
    left.page_link(
        CHAT_PAGE, label=chat, icon=":material/chat:", query_params={"thread": thread_id}
    )
    where = {"thread": thread_id} | ({"checkpoint": checkpoint_id} if checkpoint_id else {})
    right.page_link(
        INSPECTOR_PAGE,
        label="See it in the Inspector",
        icon=":material/history:",
        query_params=where,
    )


def _describe(event: Event) -> str:
    if isinstance(event, Token):
        return f"{event.node} wrote {event.text!r}"
    if isinstance(event, Step):
        return f"{event.node} finished in {event.seconds:.2f} s"
    if isinstance(event, ToolCall):
        return f"the model asked for {call_text(event.name, event.args)}"
    if isinstance(event, ToolResult):
        return f"{event.name} answered ({len(event.content):,} characters)"
    if isinstance(event, Halted):
        return f"halted before action: {len(event.calls)} calls wait"
    if isinstance(event, Error):
        return event.message
    return f"run ended: {event.status}" if isinstance(event, Done) else ""


UNCOUNTED = ("halted", "done")  # kinds said the same for one or more: "1 done", never "2 dones"


def counts(events: Sequence[Event]) -> str:
    """`84 tokens · 3 steps · 1 done`: how many events of each kind, in the order they first
    came (the kinds are the events' own names, as the table below shows them)."""
    found = Counter(e.kind for e in events)
    return (
        " · ".join(
            f"{n} {kind}{'' if n == 1 or kind in UNCOUNTED else 's'}" for kind, n in found.items()
        )
        or "no events yet"
    )


def event_log(events: Sequence[Event]) -> None:
    """The run's first events as a table (plain text cells), with the counts of all of them."""
    st.markdown(f"**Events of this run:** {counts(events)}")
    rows = [{"event": e.kind, "what": clip(_describe(e), 120)} for e in events[:EVENTS_SHOWN]]
    if len(events) > EVENTS_SHOWN:
        rows.append({"event": "…", "what": f"{len(events) - EVENTS_SHOWN} more"})
    st.dataframe(rows, hide_index=True, width="stretch")


def follow(backend: Backend, user: User, run_id: str) -> None:
    """The step's run as it happens: text so far, steps so far, events so far."""

    @st.fragment(run_every=FOLLOW_SECONDS)
    def live() -> None:
        events = backend.read_events(user, run_id)
        if any(isinstance(e, Done) for e in events):
            st.rerun(scope="app")
        st.info(
            "Running now: the events below arrive as the engine emits them.", icon=":material/sync:"
        )
        step_strip([e for e in events if isinstance(e, Step)], running=True)
        text = Transcript()
        for event in events:
            text.feed(event)
        if text.texts:
            st.caption(
                "Text so far: " + plain(" ".join(text.texts.values())[-300:], SENTENCE_CHARS)
            )
        event_log(events)

    live()


def _running(backend: Backend, user: User, view: ThreadView) -> bool:
    if view.active_run_id:
        follow(backend, user, view.active_run_id)
        return True
    return False


def _run_events(backend: Backend, user: User, run_id: str | None) -> list[Event]:
    events = backend.read_events(user, run_id) if run_id else []
    if not events:
        st.caption("This run's events are no longer kept (the engine keeps its recent runs).")
    return events


def _last_search(view: ThreadView) -> str:
    calls = [c for m in view.messages for c in m.tool_calls]
    return str(calls[-1].args.get("query", "")) if calls else ""


def _answer(view: ThreadView) -> str:
    answers = [m.text for m in view.messages if m.role == "ai" and m.text]
    return clip(answers[-1], 300) if answers else ""


def result(backend: Backend, user: User, state: LessonState, step: str) -> None:
    """Draw what `step` did, or follow its run while it goes; nothing before its button."""
    mark = state.newest(step)
    if step == "restart":
        _restart(backend, user, state)
        return
    if mark is None:
        return
    view = backend.thread_view(user, mark.thread_id)
    if step == "threads":
        _threads(backend, user, state)
    elif _running(backend, user, view):
        return
    elif step == "checkpoints":
        _checkpoints(backend, user, view)
    elif step in ("messages", "updates", "async"):
        _stream(backend, user, state, step, view)
    elif step in ("interrupt", "edit"):
        _waiting(backend, user, step, view)
    elif step == "mock":
        _mock(view)
    elif step == "replay":
        _replay(backend, user, view)
    elif step == "fork":
        _fork(view)


def _checkpoints(backend: Backend, user: User, view: ThreadView) -> None:
    page = backend.timeline(user, view.thread.id, limit=50)
    st.success(
        f"One question, {page.total} checkpoints: the state was saved after every step of the "
        "graph, oldest first below.",
        icon=":material/save:",
    )
    rows = [
        {"step": r.step, "written by": ", ".join(r.written_by), "what happened": plain(r.label)}
        for r in reversed(page.rows)
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(
        "Step -1 is your message arriving (`__input__`: nothing has run yet) and step 0 "
        "LangGraph putting it into the state (`__start__`); after that, one checkpoint per node "
        "that ran. Each one can be opened, replayed or forked in the Inspector."
    )
    links(view.thread.id, page.latest_id)


def _restart(backend: Backend, user: User, state: LessonState) -> None:
    found = st.session_state.get(RESTART_KEY)
    if found is None:
        return
    before, restart = found
    if backend.find_thread(user, restart.thread_id) is None:
        return
    same = (
        "the same as this engine holds"
        if restart.checkpoints == before
        else f"where this engine had {before} before (a run wrote more meanwhile)"
    )
    st.success(
        f"A new engine opened over the same {restart.database} database, found “"
        f"{plain(restart.title)}” and read {restart.checkpoints} checkpoints and "
        f"{restart.messages} messages, {same}. It took {restart.seconds:.2f} s and was closed "
        "again; the app's engine and its runs were not touched.",
        icon=":material/restart_alt:",
    )
    links(restart.thread_id, restart.latest_checkpoint_id)


def _threads(backend: Backend, user: User, state: LessonState) -> None:
    first = state.thread_of("checkpoints")
    new = next(
        (m for m in reversed(state.marks) if m.step == "threads" and m.thread_id != first), None
    )
    shown = [(first, "The first thread"), (new.thread_id if new else None, "The new thread")]
    for thread_id, _ in shown:
        if thread_id and _running(backend, user, backend.thread_view(user, thread_id)):
            return
    for thread_id, name in shown:
        if not thread_id:
            continue
        view = backend.thread_view(user, thread_id)
        st.markdown(
            f"**{name}** ({len(view.messages)} messages) searched {code(_last_search(view))}."
        )
        links(thread_id, chat=f"Open {name.lower()} in the Chat")
    st.success(
        "Same words, different memory: the first thread knew you meant the weather, the new "
        "one had only your question to go on.",
        icon=":material/forum:",
    )


def _stream(backend: Backend, user: User, state: LessonState, step: str, view: ThreadView) -> None:
    mark = state.newest(step)
    events = _run_events(backend, user, mark.run_id if mark else None)
    tokens = sum(isinstance(e, Token) for e in events)
    steps = [e for e in events if isinstance(e, Step)]
    if step == "messages":
        text = f"The answer arrived in {tokens} token events, word by word, between its steps."
    elif step == "updates":
        text = (
            f"{tokens} token events: the answer arrived whole, in the update `llm` sent when it "
            f"finished ({len(steps)} updates in all)."
        )
    else:
        sync = state.newest("messages")
        before = counts(backend.read_events(user, sync.run_id)) if sync and sync.run_id else ""
        text = (
            f"The async engine sent {counts(events)}; on the sync engine (step "
            f"{number('messages')}): {before or 'no longer kept'}. Same kinds, same order."
        )
    st.success(text, icon=":material/stream:")
    if steps:
        step_strip(steps, running=False)
    event_log(events)
    links(view.thread.id, view.checkpoint_id)


def _waiting(backend: Backend, user: User, step: str, view: ThreadView) -> None:
    calls = ", ".join(code(call_text(c.name, c.args)) for c in view.pending_calls)
    if step == "interrupt" and view.pending_calls:
        st.success(
            f"The run stopped before `action`: next is {code(', '.join(view.next_nodes))} and "
            f"{len(view.pending_calls)} calls wait for you: {calls}. Nothing has been searched.",
            icon=":material/front_hand:",
        )
    elif step == "edit" and view.pending_calls:
        st.success(
            f"A new checkpoint holds the edited call; the run still waits, now for {calls}. The "
            "Inspector's Changes shows the edit.",
            icon=":material/edit:",
        )
    else:
        st.caption("This thread is not waiting any more: the next steps answered it.")
    page = backend.timeline(user, view.thread.id, limit=50)
    edit = next((r for r in page.rows if r.source == "update"), None) if step == "edit" else None
    links(
        view.thread.id, edit.checkpoint_id if edit else view.checkpoint_id, "Approve it in the Chat"
    )


def _mock(view: ThreadView) -> None:
    asked = {c.id: call_text(c.name, c.args) for m in view.messages for c in m.tool_calls}
    lines = []
    for message in (m for m in view.messages if m.role == "tool"):
        call = code(asked.get(message.tool_call_id or "", message.name or "tool"))
        if message.text == MOCK_ANSWER:
            lines.append(f"- {call}: **your answer**, the tool never ran")
        elif message.search is not None:
            lines.append(f"- {call}: searched, {message.search.total} results")
    st.success(
        "The run went on: the model answered from one real search and one answer of yours.",
        icon=":material/record_voice_over:",
    )
    st.markdown("\n".join(lines))
    st.caption("The model's answer begins:")
    st.markdown(markdown(_answer(view)))
    links(view.thread.id, view.checkpoint_id)


def _replay(backend: Backend, user: User, view: ThreadView) -> None:
    page = backend.timeline(user, view.thread.id, limit=200)
    start = next((r for r in page.rows if after_search(r) and r.is_fork_point), None)
    st.success(
        f"The model answered again from step {start.step if start else '?'} without searching "
        f"again. The history forked there: {page.branches} branches, {page.total} checkpoints; "
        "the chat shows the new branch, and the version arrows under the answer the old one.",
        icon=":material/replay:",
    )
    links(view.thread.id, start.checkpoint_id if start else None)


def _fork(view: ThreadView) -> None:
    calls = ", ".join(code(call_text(c.name, c.args)) for c in view.pending_calls)
    asks = f"it waits for approval again: {calls}" if view.pending_calls else "it has moved on"
    st.success(
        f"A new thread, “{plain(view.thread.title)}”, with {len(view.messages)} messages copied: "
        f"{asks}. The approval thread is unchanged.",
        icon=":material/fork_right:",
    )
    links(view.thread.id, view.checkpoint_id, "Approve the fork in the Chat")
