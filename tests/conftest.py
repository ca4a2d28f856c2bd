"""Shared test setup: offline by construction, one fresh data directory per test."""

from __future__ import annotations

import os

os.environ["LANGGRAPH_STRICT_MSGPACK"] = "true"
for _key in (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "TAVILY_API_KEY",
    "WAYPOINT_MODEL",
    "WAYPOINT_DB",
    "WAYPOINT_ALLOW_OPEN",
    "WAYPOINT_VISITORS",
    "WAYPOINT_VISITOR_HOURS",
    "WAYPOINT_SHARE_KEYS",
    "WAYPOINT_RUNS_PER_HOUR",
    "DATABASE_URL",
    "WAYPOINT_DB_POOL_MIN",
    "WAYPOINT_DB_POOL_MAX",
):
    os.environ.pop(_key, None)
os.environ["LANGSMITH_TRACING"] = "false"
os.environ["LANGCHAIN_TRACING_V2"] = "false"

import pytest  # noqa: E402

from tests import netguard  # noqa: E402

netguard.install()

# Fixtures shared by several modules; plain helper functions are imported where they are used.
pytest_plugins = [
    "tests.browser_helpers",
    "tests.fake_oidc",
    "tests.fake_openai",
    "tests.page_helpers",
    "tests.pg_server",
    "tests.lg_server",
]


@pytest.fixture(autouse=True)
def _fail_on_network_attempts():
    """A test that tried to leave loopback fails, even if the client swallowed the refusal."""
    before = len(netguard.ATTEMPTS)
    yield
    attempts = netguard.ATTEMPTS[before:]
    assert not attempts, f"test tried to reach the network: {attempts}"


@pytest.fixture
def data_dir(tmp_path):
    """A private data directory (database, uploads) for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path
