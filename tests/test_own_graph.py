"""Your own graph in the engine: chat, HITL approvals and questions, through the Backend."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from agent.backend import LocalBackend
from agent.choices import AgentChoices, RunOptions
from agent.errors import DecisionError, InputError
from agent.events import Done
from agent.graph_kit import kit_for
from agent.graph_source import graph_sources, load_graph
from agent.protocol import LOCAL_USER
from agent.settings import Settings
from tests.engine_fixtures import engine_run

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = RunOptions()


@pytest.fixture
def own(tmp_path):
    """A backend over one example graph, on a private SQLite file."""
    made: list[LocalBackend] = []

    def backend_for(example: str) -> LocalBackend:
        path = "agent/server_graph.py" if example == "waypoint_agent" else f"examples/{example}.py"
        (source,) = graph_sources(f"{path}:graph", ROOT)
        backend = LocalBackend(
            Settings(db_path=tmp_path / f"{example}.sqlite", demo_token_delay=0),
            kit=kit_for(load_graph(source)),
        )
        made.append(backend)
        return backend

    yield backend_for
    for backend in made:
        backend.close()


def wait_for(condition, timeout: float = 30):
    """The condition's first true value, looked at every 20 ms until `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def finished(backend: LocalBackend, handle) -> str:
    run = engine_run(backend, handle)
    assert run.log.wait_closed(30), "the run did not finish in time"
    done = run.log.read(0)[-1]
    assert isinstance(done, Done)
    return done.status


def test_a_hitl_agent_halts_with_the_middlewares_calls_and_an_edit_runs(own):
    backend = own("hitl_agent")
    handle = backend.start_thread(LOCAL_USER, "What is the weather in London?", AgentChoices())
    assert finished(backend, handle) == "halted"
    view = backend.thread_view(LOCAL_USER, handle.thread_id)
    assert view.thread.status == "waiting" and view.thread.title.startswith("What is the weather")
    (call,) = view.pending_calls
    assert (call.name, call.args, call.allowed) == (
        "web_search",
        {"query": "weather in London"},
        ("approve", "edit", "reject"),
    )
    assert view.questions == (), "a HITL request is tool calls, not a free question"
    edit = {"action": "edit", "args": '{"query": "weather in Paris"}'}
    decided = backend.decide(LOCAL_USER, handle.thread_id, {call.id: edit}, AgentChoices())
    assert finished(backend, decided) == "done"
    view = backend.thread_view(LOCAL_USER, handle.thread_id)
    assert view.thread.status == "idle" and not view.pending_calls
    assert "weather in Paris" in view.messages[-1].text
    assert view.messages[1].tool_calls[0].args == {"query": "weather in Paris"}


def test_a_hitl_decision_the_tool_does_not_allow_is_refused_before_anything_runs(own):
    backend = own("hitl_agent")
    handle = backend.start_thread(LOCAL_USER, "What is the weather in Oslo?", AgentChoices())
    finished(backend, handle)
    (call,) = backend.thread_view(LOCAL_USER, handle.thread_id).pending_calls
    with pytest.raises(DecisionError, match="allows only approve, edit, reject"):
        backend.decide(LOCAL_USER, handle.thread_id, {call.id: {"action": "mock"}}, AgentChoices())
    assert backend.thread_view(LOCAL_USER, handle.thread_id).pending_calls == (call,)


def test_a_graph_without_messages_takes_json_input_and_its_question_is_answered(own):
    backend = own("essay_writer")
    with pytest.raises(
        InputError, match=r'send its input as a JSON object of its state, like \{"task"'
    ):
        backend.start_thread(LOCAL_USER, "write about checkpoints", AgentChoices())
    assert not backend.list_threads(LOCAL_USER), "a refused first message leaves no thread"
    handle = backend.start_thread(LOCAL_USER, '{"task": "checkpoints"}', AgentChoices())
    assert finished(backend, handle) == "halted"
    view = backend.thread_view(LOCAL_USER, handle.thread_id)
    assert view.thread.status == "waiting" and not view.pending_calls and not view.messages
    (question,) = view.questions
    assert question.value["plan"][0] == "Checkpoints: why it matters"
    assert question.schema is not None and "approve" in question.schema["properties"]
    assert view.values["task"] == "checkpoints" and view.values["revision"] == 0
    answer = json.dumps({"plan": ["Only part"], "note": "short"})
    answered = backend.answer(LOCAL_USER, handle.thread_id, {question.id: answer})
    assert finished(backend, answered) == "done"
    view = backend.thread_view(LOCAL_USER, handle.thread_id)
    assert view.thread.status == "idle" and not view.questions
    assert view.values["draft"].startswith("Only part.") and view.values["revision"] == 2


def test_an_answer_for_no_question_is_refused(own):
    backend = own("essay_writer")
    handle = backend.start_thread(LOCAL_USER, '{"task": "x"}', AgentChoices())
    finished(backend, handle)
    with pytest.raises(DecisionError, match="some answers are for no question"):
        backend.answer(LOCAL_USER, handle.thread_id, {"not-an-id": "yes"})
    with pytest.raises(InputError, match="is waiting for your answer above"):
        backend.send_message(LOCAL_USER, handle.thread_id, '{"task": "y"}', AgentChoices())
    with pytest.raises(InputError, match="has no input topic: its state has task, plan"):
        backend.start_thread(LOCAL_USER, '{"topic": "x"}', AgentChoices())
    assert len(backend.list_threads(LOCAL_USER)) == 1


def test_a_question_from_inside_a_subgraph_is_answered_by_its_id(own):
    backend = own("subgraph_research")
    handle = backend.start_thread(LOCAL_USER, '{"topic": "LangGraph persistence"}', AgentChoices())
    assert finished(backend, handle) == "halted"
    (question,) = backend.thread_view(LOCAL_USER, handle.thread_id).questions
    first = question.value["sources"][0]
    assert question.schema["items"]["enum"][0] == first
    answered = backend.answer(LOCAL_USER, handle.thread_id, {question.id: json.dumps([first])})
    assert finished(backend, answered) == "done"
    report = backend.thread_view(LOCAL_USER, handle.thread_id).values["report"]
    assert report.splitlines() == ["Report on LangGraph persistence", report.splitlines()[1]]
    assert report.splitlines()[1].startswith(f"- {first}:")


@pytest.mark.parametrize(
    "example", ["hitl_agent", "essay_writer", "subgraph_research", "waypoint_agent"]
)
def test_the_inspector_reads_every_checkpoint_of_your_graph(own, example):
    backend = own(example)
    first = {
        "hitl_agent": "What is the weather in Rome?",
        "essay_writer": '{"task": "x"}',
        "subgraph_research": '{"topic": "LangGraph persistence"}',
        "waypoint_agent": "How does LangGraph persistence work?",
    }[example]
    handle = backend.start_thread(LOCAL_USER, first, AgentChoices())
    finished(backend, handle)
    page = backend.timeline(LOCAL_USER, handle.thread_id)
    assert page.total >= 3 and page.rows[0].halted, "the newest checkpoint waits for the human"
    for row in page.rows:
        detail = backend.checkpoint_detail(LOCAL_USER, handle.thread_id, row.checkpoint_id)
        assert detail.row.label, "every row says what happened"
    newest = backend.checkpoint_detail(LOCAL_USER, handle.thread_id, page.rows[0].checkpoint_id)
    assert newest.interrupts and newest.interrupts[0].value
    graph = backend.graph_view()
    assert {edge.source for edge in graph.edges} >= {"__start__"}


def test_a_state_edit_forks_checked_against_the_schema_and_replays(own):
    backend = own("essay_writer")
    handle = backend.start_thread(LOCAL_USER, '{"task": "checkpoints"}', AgentChoices())
    finished(backend, handle)
    thread_id = handle.thread_id
    halt = backend.timeline(LOCAL_USER, thread_id).rows[0]
    for wrong, sentence in [
        ("{nope", "The state is not valid JSON"),
        ('{"plot": []}', "The state has no plot: its channels are task, plan"),
        ('{"revision": "two"}', "revision does not fit the state schema: Input should be a valid"),
        ('{"plan": ["a", 3]}', "plan does not fit the state schema"),
    ]:
        with pytest.raises(InputError, match=sentence):
            backend.edit_state(LOCAL_USER, thread_id, halt.checkpoint_id, wrong)
    assert backend.timeline(LOCAL_USER, thread_id).total == 3 + 0, "nothing was written"
    new_id = backend.edit_state(
        LOCAL_USER, thread_id, halt.checkpoint_id, '{"plan": ["Edited part"]}', as_node="plan"
    )
    page = backend.timeline(LOCAL_USER, thread_id)
    assert page.rows[0].checkpoint_id == new_id and page.rows[0].source == "update"
    assert page.rows[0].label and page.head_id == new_id
    view = backend.thread_view(LOCAL_USER, thread_id)
    assert view.values["plan"] == ["Edited part"] and view.next_nodes == ("review_plan",)
    assert not view.questions, "asked when the node runs again: on a replay"
    replay = backend.resume(LOCAL_USER, thread_id, AgentChoices(), checkpoint_id=new_id)
    assert finished(backend, replay) == "halted"
    (question,) = backend.thread_view(LOCAL_USER, thread_id).questions
    assert question.value["plan"] == ["Edited part"], "the node asks again, from the edited state"


def test_a_subgraph_paused_in_the_next_step_shows_its_own_checkpoints(own):
    backend = own("subgraph_research")
    handle = backend.start_thread(LOCAL_USER, '{"topic": "LangGraph persistence"}', AgentChoices())
    finished(backend, handle)
    page = backend.timeline(LOCAL_USER, handle.thread_id)
    assert page.total == 3, "the subgraph's checkpoints are its own, not the parent's rows"
    detail = backend.checkpoint_detail(LOCAL_USER, handle.thread_id, page.rows[0].checkpoint_id)
    (sub,) = detail.subgraphs
    assert sub.node == "research" and sub.namespace.startswith("research:")
    assert sub.next_nodes == ("check",) and sub.interrupts
    assert [c.step for c in sub.checkpoints] == [1, 0, -1]
    assert len(sub.values["sources"]) == 3
    graph = backend.graph_view()
    assert "research:check" in graph.nodes, "the subgraph is drawn inside (xray)"


def test_a_breakpoint_chosen_for_the_run_stops_before_the_node_and_continue_goes_on(own):
    backend = own("essay_writer")
    paused = RunOptions(pause_before=("write",))
    with pytest.raises(InputError, match="no node wirte to pause at"):
        backend.start_thread(
            LOCAL_USER, '{"task": "x"}', AgentChoices(), RunOptions(pause_before=("wirte",))
        )
    handle = backend.start_thread(LOCAL_USER, '{"task": "x"}', AgentChoices(), paused)
    finished(backend, handle)
    (question,) = backend.thread_view(LOCAL_USER, handle.thread_id).questions
    answered = backend.answer(LOCAL_USER, handle.thread_id, {question.id: "{}"}, paused)
    assert finished(backend, answered) == "halted"
    view = backend.thread_view(LOCAL_USER, handle.thread_id)
    assert view.next_nodes == ("write",) and not view.questions and "draft" not in view.values
    assert 'interrupt_before=["write"]' in engine_run(backend, answered).calls[-1]
    again = backend.resume(LOCAL_USER, handle.thread_id, AgentChoices(), RunOptions())
    assert finished(backend, again) == "done"
    assert backend.thread_view(LOCAL_USER, handle.thread_id).values["revision"] == 2


def test_a_graph_compiled_with_breakpoints_says_so(tmp_path):
    (tmp_path / "bp.py").write_text(
        "from examples.essay_writer import builder\n"
        "graph = builder.compile(interrupt_before=['write'])\n"
    )
    (source,) = graph_sources("bp.py:graph", tmp_path)
    backend = LocalBackend(
        Settings(db_path=tmp_path / "bp.sqlite"), kit=kit_for(load_graph(source))
    )
    try:
        graph = backend.graph_view()
        assert graph.static_breakpoints and graph.pause_before == ("write",)
    finally:
        backend.close()


def test_your_graphs_steps_are_labelled_with_the_nodes_and_your_answers(own):
    backend = own("hitl_agent")
    handle = backend.start_thread(LOCAL_USER, "What is the weather in Rome?", AgentChoices())
    finished(backend, handle)
    (call,) = backend.thread_view(LOCAL_USER, handle.thread_id).pending_calls
    reject = {"action": "reject", "reason": "not now"}
    finished(
        backend, backend.decide(LOCAL_USER, handle.thread_id, {call.id: reject}, AgentChoices())
    )
    labels = [row.label for row in backend.timeline(LOCAL_USER, handle.thread_id).rows]
    assert "model asked web_search('weather in Rome') (asked for approval)" in labels
    assert any(label.startswith("you rejected 1 call") for label in labels)
    assert any(label.startswith("model answered (") for label in labels)


def test_an_interrupt_inside_a_node_is_asked_again_on_a_replay(own):
    backend = own("hitl_agent")
    handle = backend.start_thread(LOCAL_USER, "What is the weather in Rome?", AgentChoices())
    finished(backend, handle)
    (call,) = backend.thread_view(LOCAL_USER, handle.thread_id).pending_calls
    finished(
        backend,
        backend.decide(
            LOCAL_USER, handle.thread_id, {call.id: {"action": "approve"}}, AgentChoices()
        ),
    )
    asked_at = next(
        row for row in backend.timeline(LOCAL_USER, handle.thread_id).rows if row.halted
    )
    replay = backend.resume(
        LOCAL_USER, handle.thread_id, AgentChoices(), checkpoint_id=asked_at.checkpoint_id
    )
    assert finished(backend, replay) == "halted", "the tool never runs unasked on a replay"
    assert backend.thread_view(LOCAL_USER, handle.thread_id).pending_calls[0].name == "web_search"


def test_always_allow_on_a_hitl_call_approves_the_threads_next_calls_of_that_tool(own):
    backend = own("hitl_agent")
    handle = backend.start_thread(LOCAL_USER, "What is the weather in Rome?", AgentChoices())
    finished(backend, handle)
    thread_id = handle.thread_id
    (call,) = backend.thread_view(LOCAL_USER, thread_id).pending_calls
    always = {"action": "approve", "always_allow": True}
    finished(backend, backend.decide(LOCAL_USER, thread_id, {call.id: always}, AgentChoices()))
    assert backend.get_thread(LOCAL_USER, thread_id).allowed_tools == ("web_search",)
    asked = backend.send_message(LOCAL_USER, thread_id, "And in Oslo?", AgentChoices())
    assert finished(backend, asked) == "halted", "the graph itself still asks"
    approved = wait_for(
        lambda: (r := backend.runs.latest_run(thread_id)) and r.id != asked.id and r
    )
    assert approved, "then Waypoint answers for you"
    assert approved.log.wait_closed(30)
    view = backend.thread_view(LOCAL_USER, thread_id)
    assert view.thread.status == "idle" and "Oslo" in view.messages[-1].text
    assert [d.text for d in approved.prelude.decisions] == [
        "approved: always allowed in this thread"
    ]
    backend.allow_tool(LOCAL_USER, thread_id, "web_search", False)  # Ask again: in the timeline
    newest = backend.timeline(LOCAL_USER, thread_id, limit=1).rows[0]
    assert newest.label == "you took back “always allow web_search”: its calls are asked again"
    again = backend.thread_view(LOCAL_USER, thread_id)
    assert again.messages == view.messages and again.next_nodes == view.next_nodes


def test_a_question_answered_on_an_older_branch_uses_that_answer(own):
    backend = own("essay_writer")
    handle = backend.start_thread(LOCAL_USER, '{"task": "x"}', AgentChoices())
    finished(backend, handle)
    thread_id = handle.thread_id
    halt = backend.timeline(LOCAL_USER, thread_id).rows[0].checkpoint_id
    (question,) = backend.thread_view(LOCAL_USER, thread_id).questions
    finished(backend, backend.answer(LOCAL_USER, thread_id, {question.id: '{"plan": ["First"]}'}))
    backend.show_branch(LOCAL_USER, thread_id, halt)
    (again,) = backend.thread_view(LOCAL_USER, thread_id).questions
    answered = backend.answer(LOCAL_USER, thread_id, {again.id: '{"plan": ["Second"]}'})
    assert finished(backend, answered) == "done"
    view = backend.thread_view(LOCAL_USER, thread_id)
    assert view.values["plan"] == ["Second"] and view.values["draft"].startswith("Second.")


PARALLEL = """
import operator
from typing import Annotated, TypedDict
from langgraph.graph import StateGraph, START, END
from langgraph.types import interrupt

class S(TypedDict, total=False):
    answers: Annotated[list, operator.add]

def ask(name):
    def node(state):
        return {"answers": [f"{name}: {interrupt({'question': name})}"]}
    return node

graph = StateGraph(S)
graph.add_node("left", ask("left"))
graph.add_node("right", ask("right"))
graph.add_edge(START, "left")
graph.add_edge(START, "right")
graph.add_edge("left", END)
graph.add_edge("right", END)
"""


def test_questions_from_parallel_nodes_are_answered_together_by_id(tmp_path):
    (tmp_path / "parallel.py").write_text(PARALLEL)
    (source,) = graph_sources("parallel.py:graph", tmp_path)
    backend = LocalBackend(Settings(db_path=tmp_path / "p.sqlite"), kit=kit_for(load_graph(source)))
    try:
        handle = backend.start_thread(LOCAL_USER, '{"answers": []}', AgentChoices())
        assert finished(backend, handle) == "halted"
        questions = backend.thread_view(LOCAL_USER, handle.thread_id).questions
        assert sorted(q.value["question"] for q in questions) == ["left", "right"]
        answers = {q.id: f'"for {q.value["question"]}"' for q in questions}
        assert finished(backend, backend.answer(LOCAL_USER, handle.thread_id, answers)) == "done"
        values = backend.thread_view(LOCAL_USER, handle.thread_id).values
        assert sorted(values["answers"]) == ["left: for left", "right: for right"]
    finally:
        backend.close()


def test_on_postgres_each_graph_keeps_its_threads_in_a_schema_of_its_own(postgres_db, tmp_path):
    from agent.own_graph import kit_and_settings

    settings = Settings(database_url=postgres_db, db_path=tmp_path / "unused.sqlite")
    mine, mine_settings = kit_and_settings(
        replace(settings, graph=str(ROOT / "examples" / "essay_writer.py") + ":graph")
    )
    assert "search_path=waypoint_essay_writer" in str(mine_settings.database_url)
    own = LocalBackend(mine_settings, kit=mine)
    builtin = LocalBackend(settings)
    try:
        handle = own.start_thread(LOCAL_USER, '{"task": "checkpoints"}', AgentChoices())
        assert finished(own, handle) == "halted"
        assert [t.id for t in own.list_threads(LOCAL_USER)] == [handle.thread_id]
        assert not builtin.list_threads(LOCAL_USER), "the built-in agent's threads are apart"
        (question,) = own.thread_view(LOCAL_USER, handle.thread_id).questions
        assert question.value["plan"][0] == "Checkpoints: why it matters"
    finally:
        own.close()
        builtin.close()
    assert not (tmp_path / "unused.sqlite").exists(), "nothing went to SQLite"


def test_waypoints_own_agent_runs_as_your_graph_offline_and_asks_first(own):
    backend = own("waypoint_agent")
    assert not backend.kit.builtin and backend.kit.messages_key == "messages"
    handle = backend.start_thread(
        LOCAL_USER, "How does LangGraph persistence work?", AgentChoices()
    )
    assert finished(backend, handle) == "halted", "no context given: offline, asking first"
    (call,) = backend.thread_view(LOCAL_USER, handle.thread_id).pending_calls
    edit = {"action": "edit", "args": '{"query": "LangGraph checkpointers"}'}
    finished(backend, backend.decide(LOCAL_USER, handle.thread_id, {call.id: edit}, AgentChoices()))
    assert (
        "LangGraph checkpointers"
        in backend.thread_view(LOCAL_USER, handle.thread_id).messages[-1].text
    )
