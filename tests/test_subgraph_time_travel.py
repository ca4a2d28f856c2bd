"""Time travel from inside a subgraph (`examples/subgraph_research.py`), through the Backend.

LangGraph 1.2.x reruns the whole subgraph when a run is sent a subgraph checkpoint's config
(langgraph #8458); Waypoint's replay goes on from the checkpoint picked. `gather`, the subgraph's
first step, is counted by the offline search it calls: a replay from after it must not call it.
"""

from __future__ import annotations

import json

import pytest

from agent.backend import LocalBackend
from agent.choices import AgentChoices
from agent.errors import InputError
from agent.graph_kit import kit_for
from agent.graph_source import graph_sources, load_graph
from agent.protocol import LOCAL_USER
from agent.search.offline import OfflineSearch
from agent.settings import Settings
from tests.test_own_graph import ROOT, finished

TOPIC = '{"topic": "LangGraph persistence"}'


@pytest.fixture
def backend(tmp_path):
    """The engine over the example, on a private SQLite file."""
    (source,) = graph_sources("examples/subgraph_research.py:graph", ROOT)
    made = LocalBackend(
        Settings(db_path=tmp_path / "subgraph.sqlite", demo_token_delay=0),
        kit=kit_for(load_graph(source)),
    )
    yield made
    made.close()


@pytest.fixture
def searches(monkeypatch):
    """How many times `gather` ran: each run calls the offline search once."""
    calls: list[str] = []
    real = OfflineSearch.search

    def counted(self, query, *args, **kwargs):
        calls.append(query)
        return real(self, query, *args, **kwargs)

    monkeypatch.setattr(OfflineSearch, "search", counted)
    return calls


def finished_thread(backend, searches):
    """A thread whose run went through the subgraph (all sources kept) to the report."""
    handle = backend.start_thread(LOCAL_USER, TOPIC, AgentChoices())
    assert finished(backend, handle) == "halted"
    (question,) = backend.thread_view(LOCAL_USER, handle.thread_id).questions
    assert finished(backend, backend.answer(LOCAL_USER, handle.thread_id, {question.id: "[]"}))
    assert searches == ["LangGraph persistence"]
    return handle.thread_id


def subgraph_checkpoints(backend, thread_id):
    """The timeline's parent row that runs `research`, and the subgraph's checkpoints under it."""
    page = backend.timeline(LOCAL_USER, thread_id)
    (parent_id,) = page.subgraphs
    (sub,) = page.subgraphs[parent_id]
    assert sub.node == "research" and sub.namespace.startswith("research:")
    return parent_id, sub


def test_the_timeline_lists_the_subgraphs_checkpoints_under_the_step_that_ran_them(
    backend, searches
):
    thread_id = finished_thread(backend, searches)
    parent_id, sub = subgraph_checkpoints(backend, thread_id)
    parent = backend.checkpoint_detail(LOCAL_USER, thread_id, parent_id)
    assert parent.next_nodes == ("research",)
    assert [(c.step, c.next_nodes) for c in sub.checkpoints] == [
        (3, ()),
        (2, ("summarize",)),
        (1, ("check",)),
        (0, ("gather",)),
        (-1, ("__start__",)),
    ]
    after_gather = sub.checkpoints[2].checkpoint_id
    detail = backend.checkpoint_detail(LOCAL_USER, thread_id, after_gather, sub.namespace)
    assert detail.checkpoint_ns == sub.namespace and detail.next_nodes == ("check",)
    assert (
        detail.row.written_by == ("gather",) and "inside the subgraph research" in detail.row.label
    )
    assert len(detail.values["sources"]) == 3 and "notes" not in detail.values
    assert detail.diff.channels == ("sources",)
    with pytest.raises(InputError, match="not found|no checkpoint|unknown"):
        backend.checkpoint_detail(LOCAL_USER, thread_id, "nope", sub.namespace)


def test_a_replay_from_inside_the_subgraph_goes_on_from_there_without_rerunning_gather(
    backend, searches
):
    thread_id = finished_thread(backend, searches)
    first_report = backend.thread_view(LOCAL_USER, thread_id).values["report"]
    _, sub = subgraph_checkpoints(backend, thread_id)
    after_gather = next(c for c in sub.checkpoints if c.next_nodes == ("check",))
    handle = backend.resume(
        LOCAL_USER,
        thread_id,
        AgentChoices(),
        checkpoint_id=after_gather.checkpoint_id,
        checkpoint_ns=sub.namespace,
    )
    assert finished(backend, handle) == "halted", "check asks again, from the subgraph"
    assert searches == ["LangGraph persistence"], "gather did not run again"
    (question,) = backend.thread_view(LOCAL_USER, thread_id).questions
    keep = question.value["sources"][1]
    answered = backend.answer(LOCAL_USER, thread_id, {question.id: json.dumps([keep])})
    assert finished(backend, answered) == "done"
    assert searches == ["LangGraph persistence"]
    report = backend.thread_view(LOCAL_USER, thread_id).values["report"]
    assert report.splitlines()[0] == "Report on LangGraph persistence"
    assert len(report.splitlines()) == 2 and report.splitlines()[1].startswith(f"- {keep}:")
    assert report != first_report
    # the original branch is untouched: its subgraph still has its five checkpoints
    page = backend.timeline(LOCAL_USER, thread_id)
    namespaces = {s.namespace: s for views in page.subgraphs.values() for s in views}
    assert len(namespaces) == 2 and len(namespaces[sub.namespace].checkpoints) == 5
    (replayed,) = (s for n, s in namespaces.items() if n != sub.namespace)
    assert [(c.step, c.source) for c in replayed.checkpoints][-1] == (1, "fork")
    assert not any(c.next_nodes == ("gather",) for c in replayed.checkpoints)


def test_a_replay_from_the_subgraphs_last_checkpoint_runs_only_the_parents_report(
    backend, searches
):
    thread_id = finished_thread(backend, searches)
    first_report = backend.thread_view(LOCAL_USER, thread_id).values["report"]
    _, sub = subgraph_checkpoints(backend, thread_id)
    before_summarize = next(c for c in sub.checkpoints if c.next_nodes == ("summarize",))
    handle = backend.resume(
        LOCAL_USER,
        thread_id,
        AgentChoices(),
        checkpoint_id=before_summarize.checkpoint_id,
        checkpoint_ns=sub.namespace,
    )
    assert finished(backend, handle) == "done", "no question: check is not run again"
    assert searches == ["LangGraph persistence"]
    assert backend.thread_view(LOCAL_USER, thread_id).values["report"] == first_report


def test_an_edit_of_the_subgraphs_state_is_continued_from(backend, searches):
    thread_id = finished_thread(backend, searches)
    _, sub = subgraph_checkpoints(backend, thread_id)
    before_summarize = next(c for c in sub.checkpoints if c.next_nodes == ("summarize",))
    edited = json.dumps({"sources": [{"title": "Edited source", "snippet": "by hand"}]})
    with pytest.raises(InputError, match="subgraph's state has no report"):
        backend.edit_subgraph_state(
            LOCAL_USER, thread_id, sub.namespace, before_summarize.checkpoint_id, '{"report": 1}'
        )
    namespace, new_id = backend.edit_subgraph_state(
        LOCAL_USER, thread_id, sub.namespace, before_summarize.checkpoint_id, edited, "check"
    )
    assert namespace != sub.namespace
    detail = backend.checkpoint_detail(LOCAL_USER, thread_id, new_id, namespace)
    assert detail.row.source == "update" and detail.next_nodes == ("summarize",)
    assert detail.values["sources"] == [{"title": "Edited source", "snippet": "by hand"}]
    handle = backend.resume(
        LOCAL_USER, thread_id, AgentChoices(), checkpoint_id=new_id, checkpoint_ns=namespace
    )
    assert finished(backend, handle) == "done"
    assert searches == ["LangGraph persistence"]
    report = backend.thread_view(LOCAL_USER, thread_id).values["report"]
    assert report == "Report on LangGraph persistence\n- Edited source: by hand"
