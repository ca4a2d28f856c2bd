"""serve.py adds the local address and host names that .streamlit/config.toml leaves out (so that
Community Cloud's proxy can reach the same app), and only where the caller named none."""

from __future__ import annotations

import tomllib

import pytest

import serve
from tests.app_server import ROOT

LOCAL = [
    "--server.address",
    "127.0.0.1",
    "--server.allowedHosts",
    "localhost",
    "--server.allowedHosts",
    "127.0.0.1",
]


@pytest.fixture(autouse=True)
def _no_streamlit_variables(monkeypatch):
    for name in ("STREAMLIT_SERVER_ADDRESS", "STREAMLIT_SERVER_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


def test_with_nothing_named_it_listens_on_loopback_for_local_names_only():
    assert serve.with_local_defaults(["--server.port", "8600"]) == ["--server.port", "8600", *LOCAL]


@pytest.mark.parametrize(
    "named",
    [["--server.address", "0.0.0.0"], ["--server.address=0.0.0.0"]],
)
def test_an_address_on_the_command_line_is_kept_and_not_doubled(named):
    args = serve.with_local_defaults(named)
    assert args == [*named, *LOCAL[2:]]


def test_streamlit_variables_count_as_named(monkeypatch):
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "0.0.0.0")
    monkeypatch.setenv("STREAMLIT_SERVER_ALLOWED_HOSTS", "my-laptop.lan")
    assert serve.with_local_defaults([]) == []


def test_config_toml_pins_no_address_or_host_list():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert "address" not in config["server"] and "allowedHosts" not in config["server"]
