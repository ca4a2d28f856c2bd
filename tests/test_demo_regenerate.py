"""Regenerate with the offline demo model answers visibly differently, on both engines: each
retry is worded its own way (`agent.demo_replies.plan_reply`'s attempt), the versions say
`1 / 3` to `3 / 3` oldest first, and a retry never repeats the answer before it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent.backend import LocalBackend
from agent.choices import AgentChoices, ApprovalPolicy, RunOptions
from agent.protocol import LOCAL_USER
from agent.settings import Settings
from tests.engine_fixtures import engine_run


@pytest.fixture(params=["sync", "async"])
def demo(request, data_dir):
    settings = Settings(db_path=data_dir / "waypoint.sqlite", demo_token_delay=0)
    backend = LocalBackend(settings)
    choices = replace(AgentChoices.defaults(settings), approval=ApprovalPolicy("never"))
    yield backend, choices, RunOptions(engine=request.param)
    backend.close()


def finished(backend, handle):
    assert engine_run(backend, handle).log.wait_closed(30), "the run did not finish"
    return handle


@pytest.mark.parametrize("question", ["How does LangGraph persistence work?", "Hello!"])
def test_each_regenerate_answers_differently(demo, question):
    backend, choices, options = demo
    thread_id = finished(backend, backend.start_thread(LOCAL_USER, question, choices, options))
    thread_id = thread_id.thread_id
    answers = [backend.thread_view(LOCAL_USER, thread_id).messages[-1]]
    for _ in range(2):
        finished(
            backend, backend.regenerate(LOCAL_USER, thread_id, answers[-1].id, choices, options)
        )
        answers.append(backend.thread_view(LOCAL_USER, thread_id).messages[-1])
    texts = [a.text for a in answers]
    assert texts[0] != texts[1] and texts[1] != texts[2], texts
    (versions,) = [
        v
        for v in backend.message_versions(LOCAL_USER, thread_id)
        if v.position == len(backend.thread_view(LOCAL_USER, thread_id).messages) - 1
    ]
    assert versions.label == "3 / 3"  # the newest is the last
    assert [v.message_id for v in versions.versions] == [a.id for a in answers]
    if "persistence" in question:
        assert all("**Sources**" in t for t in texts)  # every retry still answers from results
