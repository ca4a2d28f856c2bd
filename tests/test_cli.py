"""`python -m agent` drives the same engine: a scripted conversation through its prompts."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from agent.__main__ import converse
from agent.backend import LocalBackend
from agent.protocol import LOCAL_USER, MAX_MESSAGE_CHARS
from agent.settings import Settings
from tests.app_server import GUARDED_SITE, ROOT
from tests.engine_fixtures import make_harness
from tests.fake_openai import FakeOpenAI, text
from tests.scripted_model import reply


def scripted_input(*answers: str):
    queue = list(answers)

    def ask(prompt: str) -> str:
        if not queue:
            raise EOFError
        return queue.pop(0)

    return ask


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_terminal_conversation_with_an_edited_tool_call(data_dir, engine):
    h = make_harness(data_dir, engine)
    try:
        thread = h.backend.create_thread(LOCAL_USER)
        h.model.script = [
            reply("Let me look.", ("web_search", {"query": "LA weather"})),
            reply("It is sunny in Seattle [1]."),
        ]
        out = io.StringIO()
        ask = scripted_input("weather?", "x", "e", '{"query": "Seattle weather"}')
        assert converse(h.backend, thread.id, h.choices, h.options, ask=ask, out=out) == thread.id
        text = out.getvalue()
        assert "assistant> Let me look." in text
        assert "The agent wants to run web_search" in text
        assert "It is sunny in Seattle [1]." in text
        assert h.search.queries == ["Seattle weather"]
    finally:
        h.backend.close()


def test_bad_edit_is_explained_and_asked_again(data_dir):
    h = make_harness(data_dir, "sync")
    try:
        thread = h.backend.create_thread(LOCAL_USER)
        h.model.script = [reply("", ("web_search", {"query": "x"})), reply("done")]
        out = io.StringIO()
        ask = scripted_input("q", "e", "{broken", "y")
        assert converse(h.backend, thread.id, h.choices, h.options, ask=ask, out=out) == thread.id
        assert "not valid JSON" in out.getvalue()
        assert h.search.queries == ["x"]
    finally:
        h.backend.close()


def test_without_a_thread_the_first_message_starts_one_and_a_refused_one_leaves_none(data_dir):
    h = make_harness(data_dir, "sync")
    try:
        out = io.StringIO()
        too_long = "x" * (MAX_MESSAGE_CHARS + 1)
        assert (
            converse(h.backend, None, h.choices, h.options, scripted_input(too_long), out) is None
        )
        assert "characters" in out.getvalue()
        assert h.backend.count_threads(LOCAL_USER) == 0, "a refused message left a thread"
        h.model.script = [reply("Hello.")]
        started = converse(h.backend, None, h.choices, h.options, scripted_input("hi there"), out)
        (thread,) = h.backend.list_threads(LOCAL_USER)
        assert started == thread.id and thread.title == "hi there"
        assert "assistant> Hello." in out.getvalue()
    finally:
        h.backend.close()


# --- the command itself, as a user runs it ------------------------------------------------------


def run_cli(data_dir, *args: str, env: dict[str, str] | None = None, stdin: str = ""):
    """`python -m agent ARGS` in a subprocess with the network guard, on `data_dir`'s database."""
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(GUARDED_SITE), str(ROOT)]),
        "WAYPOINT_NETGUARD_LOG": str(data_dir / "netguard.log"),
        "WAYPOINT_DB": str(data_dir / "waypoint.sqlite"),
        "WAYPOINT_DEMO_TOKEN_DELAY": "0",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=ROOT,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def thread(data_dir):
    """A database holding one thread, made before the command runs."""
    backend = LocalBackend(Settings(db_path=data_dir / "waypoint.sqlite"))
    try:
        return backend.create_thread(LOCAL_USER, "Weather questions")
    finally:
        backend.close()


def test_list_prints_the_threads_and_nothing_else(data_dir, thread):
    done = run_cli(data_dir, "--list")
    assert done.returncode == 0, done.stderr
    assert thread.id in done.stdout and "Weather questions" in done.stdout
    assert done.stderr == ""


def test_an_unknown_thread_is_one_line_and_exit_code_2(data_dir, thread):
    done = run_cli(data_dir, "--thread", "no-such-thread")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "There is no thread 'no-such-thread': it may have been deleted. Pick another thread or "
        "start a new one."
    ]


def test_a_base_url_alone_chats_with_the_servers_only_model(data_dir):
    with FakeOpenAI(models=["llama3.1"]) as server:
        server.script(text("Hello from llama."))
        done = run_cli(data_dir, env={"OPENAI_BASE_URL": server.url}, stdin="hi\n")
        sent = server.chat_requests
    assert done.returncode == 0, done.stderr
    assert "model: compatible (llama3.1)" in done.stdout
    assert "assistant> Hello from llama." in done.stdout
    assert [r.body["model"] for r in sent] == ["llama3.1"]


def test_a_server_with_several_models_and_none_chosen_is_one_line_and_exit_code_2(data_dir):
    with FakeOpenAI(models=["llama3.1", "qwen2.5"]) as server:
        done = run_cli(data_dir, env={"OPENAI_BASE_URL": server.url}, stdin="hi\n")
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "2 models (llama3.1, qwen2.5)" in line and "WAYPOINT_MODEL" in line


def test_quitting_before_the_first_message_stores_no_thread(data_dir):
    done = run_cli(data_dir, stdin="")
    assert done.returncode == 0, done.stderr
    assert "New thread (saved with your first message)" in done.stdout
    assert "--thread" not in done.stdout  # nothing to continue
    assert run_cli(data_dir, "--list").stdout == ""
    done = run_cli(data_dir, stdin="hello\n")
    (line,) = run_cli(data_dir, "--list").stdout.splitlines()
    thread_id = line.split()[0]
    assert f"python -m agent --thread {thread_id}" in done.stdout and line.endswith("hello")
