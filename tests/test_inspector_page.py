"""The Inspector page through AppTest: timeline, a checkpoint's detail, edit as a fork, fork to a
new thread, show a branch in the chat, replay into a halt, export and import."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from agent.choices import AgentChoices, ApprovalPolicy, RunOptions
from agent.protocol import LOCAL_USER
from agent.transfer import export_thread
from tests.engine_fixtures import engine_run
from tests.page_helpers import backend, button, texts

INSPECTOR = "app_pages/inspector.py"


def answered_thread(question: str = "How does LangGraph persistence work?") -> str:
    """A thread where the demo model searched (approved without asking) and answered."""
    choices = AgentChoices(approval=ApprovalPolicy("never"))
    thread = backend().create_thread(LOCAL_USER)
    run = engine_run(
        backend(), backend().send_message(LOCAL_USER, thread.id, question, choices, RunOptions())
    )
    assert run.log.wait_closed(20)
    return thread.id


def open_inspector(at: AppTest, thread_id: str, checkpoint_id: str | None = None) -> AppTest:
    at.run()
    at.query_params["thread"] = thread_id
    if checkpoint_id:
        at.query_params["checkpoint"] = checkpoint_id
    at.switch_page(INSPECTOR).run()
    assert not at.exception, at.exception
    return at


def test_no_thread_explains_what_to_do(app):
    app.run()
    app.switch_page(INSPECTOR).run()
    assert not app.exception
    assert "Pick a thread" in app.info[0].value


def test_timeline_lists_every_checkpoint_and_the_head_is_shown(app):
    app.run()
    thread_id = answered_thread()
    open_inspector(app, thread_id)
    page = backend().timeline(LOCAL_USER, thread_id)
    rows = [b for b in app.button if b.key and b.key.startswith("cp_")]
    assert len(rows) == page.total
    assert "llm answered" in rows[0].label and "shown in chat" in rows[0].label
    assert any("you asked" in b.label for b in rows)
    assert app.subheader[-1].value.startswith("Step ")


def test_picking_a_checkpoint_shows_its_state_and_changes(app):
    app.run()
    thread_id = answered_thread()
    open_inspector(app, thread_id)
    asked = next(b for b in app.button if b.key.startswith("cp_") and "asked web_search" in b.label)
    asked.click().run()
    assert app.query_params["checkpoint"] == asked.key.removeprefix("cp_")
    shown = texts(app)
    assert "llm asked web_search" in shown
    assert "Other channels written" in shown or app.success, "the Changes tab lists what changed"


def test_editing_a_message_forks_and_leaves_the_original(app):
    app.run()
    thread_id = answered_thread()
    head = backend().timeline(LOCAL_USER, thread_id).head_id
    before = backend().timeline(LOCAL_USER, thread_id).total
    open_inspector(app, thread_id, head)
    app.selectbox(key=f"edit_pick_{head}").select_index(0).run()
    human = backend().thread_view(LOCAL_USER, thread_id).messages[0]
    area = app.text_area(key=f"edit_text_{head}_{human.id}")
    area.input("   ").run()
    button(app, "Save as a fork").click().run()
    assert app.error and backend().timeline(LOCAL_USER, thread_id).total == before, (
        "an empty edit writes nothing"
    )
    area.input("How do threads work?").run()
    button(app, "Save as a fork").click().run()
    assert not app.exception
    assert backend().timeline(LOCAL_USER, thread_id).total == before + 1
    new_id = app.query_params["checkpoint"]
    assert new_id != head
    detail = backend().checkpoint_detail(LOCAL_USER, thread_id, new_id)
    assert detail.messages[0].text == "How do threads work?" and detail.messages[0].id == human.id
    assert backend().checkpoint_detail(LOCAL_USER, thread_id, head).messages[0].text == human.text
    # What the notice says is what happened: the chat shows the fork now.
    assert "The chat now shows this fork" in app.success[0].value
    assert backend().thread_view(LOCAL_USER, thread_id).checkpoint_id == new_id


def test_fork_to_a_new_thread_and_show_a_branch_in_chat(app):
    app.run()
    thread_id = answered_thread()
    page = backend().timeline(LOCAL_USER, thread_id)
    asked = next(r for r in page.rows if "asked web_search" in r.label)
    open_inspector(app, thread_id, asked.checkpoint_id)
    button(app, "Fork thread").click().run()
    assert not app.exception
    copy = app.query_params["thread"]
    assert copy != thread_id and backend().get_thread(LOCAL_USER, copy).forked_from == thread_id
    assert backend().thread_view(LOCAL_USER, copy).pending_calls, "a fork of a halt still asks"
    path = len(page.rows) - [r.checkpoint_id for r in page.rows].index(asked.checkpoint_id)
    copied = backend().timeline(LOCAL_USER, copy).rows
    assert len(copied) == path + 1 and copied[1].checkpoint_id == asked.checkpoint_id
    open_inspector(app, thread_id, asked.checkpoint_id)
    button(app, "Show in chat").click().run()
    assert backend().thread_view(LOCAL_USER, thread_id).checkpoint_id == asked.checkpoint_id


def test_replay_into_a_halt_asks_for_approval(app):
    app.run()
    thread_id = answered_thread()
    asked = next(
        r for r in backend().timeline(LOCAL_USER, thread_id).rows if "asked web_search" in r.label
    )
    open_inspector(app, thread_id, asked.checkpoint_id)
    button(app, "Replay").click().run()
    run = backend().runs.latest_run(thread_id)
    assert run.log.wait_closed(20)
    assert run.log.read(0)[-1].status == "halted"
    assert backend().thread_view(LOCAL_USER, thread_id).pending_calls


def test_import_of_an_export_and_of_a_bad_file(app):
    app.run()
    thread_id = answered_thread()
    exported = "".join(export_thread(backend(), LOCAL_USER, thread_id))
    open_inspector(app, thread_id)
    before = backend().count_threads(LOCAL_USER)
    assert not app.exception
    # AppTest has no file uploader; the panel's import path is the same function the tests drive.
    from agent.errors import TransferError
    from agent.transfer import import_thread

    with pytest.raises(TransferError):
        import_thread(backend(), LOCAL_USER, b"not a waypoint file")
    assert backend().count_threads(LOCAL_USER) == before
    copy = import_thread(backend(), LOCAL_USER, exported.encode())
    assert (
        backend().timeline(LOCAL_USER, copy.id).total
        == backend().timeline(LOCAL_USER, thread_id).total
    )


def test_a_node_in_the_url_filters_the_timeline_and_show_all_lifts_it(app):
    app.run()
    thread_id = answered_thread()
    app.query_params["node"] = "action"
    open_inspector(app, thread_id)
    rows = [b for b in app.button if b.key and b.key.startswith("cp_")]
    assert [r.label.split(" · ")[2] for r in rows] == ["action → llm"], [r.label for r in rows]
    shown = texts(app)
    assert "1 checkpoint written by action" in shown
    assert "The timeline lists only the checkpoints action wrote" in shown
    button(app, "Show all checkpoints").click().run()
    assert "node" not in app.query_params
    total = backend().timeline(LOCAL_USER, thread_id).total
    assert len([b for b in app.button if b.key and b.key.startswith("cp_")]) == total


def test_the_input_row_and_the_start_step_say_what_they_are(app):
    app.run()
    thread_id = answered_thread()
    rows = backend().timeline(LOCAL_USER, thread_id).rows
    arrived = next(r for r in rows if r.source == "input")
    open_inspector(app, thread_id, arrived.checkpoint_id)
    assert app.subheader[-1].value.replace("\\", "") == "Step -1 · input"  # "-" escaped
    assert "before any node runs" in app.info[0].value
    row = next(b for b in app.button if b.key == f"cp_{arrived.checkpoint_id}")
    assert "before any node ran" in row.label
    answer = rows[0]
    open_inspector(app, thread_id, answer.checkpoint_id)
    assert not app.info, "an ordinary step needs no note"


def test_an_edited_tool_call_shows_its_arguments_word_by_word(app):
    app.run()
    thread_id = answered_thread("How does LangGraph persistence work?")
    asked = next(
        r for r in backend().timeline(LOCAL_USER, thread_id).rows if "asked web_search" in r.label
    )
    open_inspector(app, thread_id, asked.checkpoint_id)
    app.selectbox(key=f"edit_pick_{asked.checkpoint_id}").select_index(1).run()
    call = backend().checkpoint_detail(LOCAL_USER, thread_id, asked.checkpoint_id).messages[1]
    key = f"edit_args_{asked.checkpoint_id}_{call.id}_{call.tool_calls[0].id}"
    app.text_area(key=key).input('{"query": "LangGraph :red[time] travel"}').run()
    button(app, "Save as a fork").click().run()
    assert not app.exception
    shown = texts(app)
    assert "**web\\_search · query**" in shown or "**web_search · query**" in shown
    assert ":red-background[~~persistence~~]" in shown
    assert ":green-background[**\\:red\\[time\\] travel**]" in shown, "escaped inside the mark"
    calls = [c.value for c in app.code if "graph.update_state(" in c.value]
    assert calls and '"query": "LangGraph :red[time] travel"' in calls[0], "what LangGraph did"
