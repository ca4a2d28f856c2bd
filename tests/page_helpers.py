"""Shared pieces of the page tests: the app under AppTest on a private database, and readers.

The `app` fixture reaches every test module through `pytest_plugins` in conftest.py; the helper
functions are imported where they are used.
"""

from __future__ import annotations

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from agent.settings import PROJECT_ROOT
from ui import resources

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture
def app(data_dir, monkeypatch):
    # As `make run` serves it (serve.py): on 127.0.0.1. config.toml names no address (Cloud).
    address = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    monkeypatch.setenv("WAYPOINT_DB", str(data_dir / "waypoint.sqlite"))
    monkeypatch.setenv("WAYPOINT_DEMO_TOKEN_DELAY", "0")
    resources.clear()
    at = AppTest.from_file(APP, default_timeout=30)
    yield at
    resources.clear()  # closes the backend (on_release)
    config.set_option("server.address", address)


def backend():
    return resources.default_backend()


def finish_runs(at: AppTest) -> AppTest:
    """Wait for the selected thread's run to end, then rerun the page as the fragment would."""
    thread_id = at.query_params.get("thread")
    run = backend().runs.latest_run(thread_id) if thread_id else None
    if run is not None:
        assert run.log.wait_closed(20), "the run did not finish"
    return at.run()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.label for e in at.expander] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]
