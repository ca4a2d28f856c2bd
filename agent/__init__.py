"""Waypoint's engine: the LangGraph agent, its persistence and its background runs.

Nothing below this package imports Streamlit, so the same engine serves the browser app, the
terminal (`python -m agent`) and, later, a remote Agent Server backend.
"""

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.protocol import Backend

# Checkpoints are read back with msgpack; strict mode refuses to rebuild arbitrary classes from
# them. LangGraph reads this once, when its serializer is first imported, so it is set here, before
# any module of this package imports LangGraph.
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")


def open_backend(graph: str | None = None) -> "Backend":
    """The backend the app talks to, built from the environment's settings (`agent.settings`):
    over the graph named `graph` when WAYPOINT_GRAPH names several (the first one when None).

    The one factory pages may import besides `agent.protocol`; LangGraph loads here, after the
    strict msgpack setting above. With WAYPOINT_SERVER_URL it is a `ServerBackend`, a client of
    that LangGraph Agent Server; otherwise the in-process `LocalBackend`. A graph that cannot load,
    or a server that does not answer, raises ValueError with one sentence.
    """
    from agent.logs import APP_LEVEL, configure_logging
    from agent.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level or APP_LEVEL)
    if settings.server_url:
        from agent.server_backend import ServerBackend

        return ServerBackend(settings, graph)
    from agent.backend import LocalBackend
    from agent.own_graph import kit_and_settings

    kit, settings = kit_and_settings(settings, graph)
    return LocalBackend(settings, kit=kit)
