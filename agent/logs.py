"""The engine's log: one handler on the `agent` logger, at the level WAYPOINT_LOG_LEVEL names.

Operators read these lines in a terminal or in a hosting service's log view (Streamlit Community
Cloud's "Manage app"): which database opened, each run's start and end, provider failures
(already redacted), runs marked as cut, migrations, imports and exports. Streamlit configures only
its own loggers (`streamlit.*`, which do not propagate) and leaves the root logger alone, so the
engine does the same: its handler sits on `agent`, in Streamlit's format, and records still
propagate so a host that configured the root logger (or pytest's caplog) sees them as well.
Configuring twice (every Streamlit rerun) changes the level and adds no second handler.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Streamlit's own DEFAULT_LOG_MESSAGE, so engine lines read like the server's.
FORMAT = "%(asctime)s %(levelname) -7s %(name)s: %(message)s"
ENGINE_LOGGER = "agent"
# The app's operator reads a server log: two lines per run are worth it there. In the terminal the
# chat itself is on screen, so only what went wrong is added to it.
APP_LEVEL = "INFO"
TERMINAL_LEVEL = "WARNING"


def parse_level(name: str) -> int:
    """The logging level a setting names, or a ValueError that says which names work."""
    level = name.strip().upper()
    if level not in LEVELS:
        raise ValueError(
            f"WAYPOINT_LOG_LEVEL is {name!r}, which is not a log level; "
            f"set it to one of {', '.join(LEVELS)}."
        )
    return logging.getLevelName(level)


class _EngineHandler(logging.StreamHandler):
    """The handler this module installs (a second call finds it instead of adding one).

    It writes to whatever `sys.stderr` is at the moment of each record, not the one it was made
    with: test runners and embedding hosts swap `sys.stderr`, and a handler holding a closed one
    would print a logging error for every record.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """StreamHandler assigns its stream at creation and in setStream; there is none to keep."""


def configure_logging(level: str) -> None:
    """Send the engine's records at `level` and above to stderr; safe to call on every rerun."""
    engine = logging.getLogger(ENGINE_LOGGER)
    engine.setLevel(parse_level(level))
    if not any(isinstance(handler, _EngineHandler) for handler in engine.handlers):
        handler = _EngineHandler()
        formatter = logging.Formatter(FORMAT)
        formatter.default_msec_format = "%s.%03d"
        handler.setFormatter(formatter)
        engine.addHandler(handler)
