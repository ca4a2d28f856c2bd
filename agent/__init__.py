"""Waypoint's engine: the LangGraph agent, its persistence and its background runs.

Nothing below this package imports Streamlit, so the same engine serves the browser app, the
terminal (`python -m agent`) and, later, a remote Agent Server backend.
"""

import os

# Checkpoints are read back with msgpack; strict mode refuses to rebuild arbitrary classes from
# them. LangGraph reads this once, when its serializer is first imported, so it is set here, before
# any module of this package imports LangGraph.
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
