"""The engine's log: run start and end at INFO, one handler however often it is configured, a
clear sentence for an unknown level, and never a key in any record."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from agent.logs import ENGINE_LOGGER, configure_logging
from agent.models import make_chat_model
from agent.protocol import LOCAL_USER
from agent.settings import Settings, load_settings
from tests.engine_fixtures import make_harness
from tests.fake_openai import FakeOpenAI
from tests.scripted_model import reply

SECRET = "sk-waypoint-test-SECRET-4242"
ECHOED = "waypoint-wrong-key-5bd1e07a93"  # a wrong key the server quotes back in its 401


@pytest.fixture
def engine_logger():
    """The `agent` logger, put back as it was after the test."""
    engine = logging.getLogger(ENGINE_LOGGER)
    handlers, level = list(engine.handlers), engine.level
    yield engine
    engine.handlers[:] = handlers
    engine.setLevel(level)


def engine_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.split(".")[0] == ENGINE_LOGGER]


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_a_run_logs_its_start_and_end_at_info(data_dir, engine, caplog):
    h = make_harness(data_dir, engine)
    h.model.script = [reply("Hello.")]
    try:
        thread = h.backend.create_thread(LOCAL_USER)
        with caplog.at_level(logging.INFO, logger=ENGINE_LOGGER):
            h.send(thread.id, "hi")
            run = h.backend.runs.latest_run(thread.id)
    finally:
        h.backend.close()
    assert run is not None
    lines = [r.getMessage() for r in engine_records(caplog) if r.levelno == logging.INFO]
    started = [line for line in lines if line.startswith("run started")]
    ended = [line for line in lines if line.startswith("run ended")]
    assert started == [f"run started: thread {thread.id}, run {run.id}, engine {engine}"]
    assert len(ended) == 1, lines
    assert ended[0].startswith(f"run ended: thread {thread.id}, run {run.id}, engine {engine}, ")
    assert "status done" in ended[0] and ended[0].endswith(" s")


def test_opening_the_engine_logs_the_database_it_uses(data_dir, caplog):
    with caplog.at_level(logging.INFO, logger=ENGINE_LOGGER):
        h = make_harness(data_dir, "sync")
        h.backend.close()
    lines = [r.getMessage() for r in engine_records(caplog)]
    assert f"checkpoints and threads in SQLite at {data_dir / 'waypoint.sqlite'}" in lines
    assert any(line.startswith("thread index: migration 1 applied") for line in lines), lines


@pytest.mark.parametrize("setting", ["loud", "verbose", "5"])
def test_an_unknown_level_is_one_sentence_naming_the_levels(setting, tmp_path):
    with pytest.raises(ValueError) as refused:
        load_settings({"WAYPOINT_LOG_LEVEL": setting}, secrets_file=tmp_path / "none.toml")
    message = str(refused.value)
    assert message == (
        f"WAYPOINT_LOG_LEVEL is {setting!r}, which is not a log level; "
        "set it to one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
    )


def test_the_level_is_read_from_the_environment_or_secrets(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('WAYPOINT_LOG_LEVEL = "debug"\n')
    assert load_settings({}, secrets_file=secrets).log_level == "debug"
    assert load_settings({"WAYPOINT_LOG_LEVEL": "ERROR"}, secrets_file=secrets).log_level == "ERROR"
    assert load_settings({}, secrets_file=tmp_path / "none.toml").log_level is None


def test_configuring_on_every_rerun_keeps_one_handler_and_the_last_level(engine_logger):
    for level in ("INFO", "warning", "DEBUG"):
        configure_logging(level)
    ours = [h for h in engine_logger.handlers if type(h).__name__ == "_EngineHandler"]
    assert len(ours) == 1, engine_logger.handlers  # whoever configured it first (a page test)
    assert engine_logger.level == logging.DEBUG
    with pytest.raises(ValueError, match="not a log level"):
        configure_logging("chatty")


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_no_record_of_a_run_with_a_key_holds_the_key(data_dir, engine, caplog, engine_logger):
    configure_logging("DEBUG")
    with FakeOpenAI(api_key=SECRET, echo_key=True, max_wait=5) as server:
        model = make_chat_model(
            "openai", Settings(), api_key=ECHOED, base_url=server.url, timeout=1.0, max_retries=0
        )
        h = make_harness(data_dir, engine, model=model)
        try:
            thread = h.backend.create_thread(LOCAL_USER)
            with caplog.at_level(logging.DEBUG, logger=ENGINE_LOGGER):
                h.send(thread.id, "hi")
        finally:
            h.backend.close()
    records = engine_records(caplog)
    failed = [r.getMessage() for r in records if r.getMessage().startswith("run failed (auth)")]
    assert len(failed) == 1, [r.getMessage() for r in records]
    handler = logging.Formatter("%(message)s")
    for record in records:
        shown = handler.format(record)  # message, exception and stack, as a handler writes them
        assert ECHOED not in shown and SECRET not in shown, shown


def test_the_app_applies_the_level_once_per_process_and_refuses_an_unknown_one(
    app, monkeypatch, engine_logger
):
    monkeypatch.setenv("WAYPOINT_LOG_LEVEL", "debug")
    app.run()
    assert not app.exception and engine_logger.level == logging.DEBUG
    app.run()  # a rerun configures again: still one handler of ours
    ours = [h for h in engine_logger.handlers if type(h).__name__ == "_EngineHandler"]
    assert len(ours) == 1


def test_the_app_says_what_is_wrong_with_the_level(app, monkeypatch):
    monkeypatch.setenv("WAYPOINT_LOG_LEVEL", "loud")
    app.run()
    assert not app.exception
    assert [e.value for e in app.error] == [
        "WAYPOINT_LOG_LEVEL is 'loud', which is not a log level; "
        "set it to one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
    ]


def test_records_go_to_the_stderr_of_the_moment(engine_logger, monkeypatch):
    configure_logging("INFO")
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)  # as a test runner or a host swaps it
    logging.getLogger("agent.test").info("after the swap")
    assert "INFO    agent.test: after the swap" in later.getvalue()
