"""Waypoint's research agent as a graph for `langgraph dev` or `WAYPOINT_GRAPH` (see
examples/langgraph.json): compiled without a checkpointer (the server, or Waypoint, brings its
own) and given no runtime context, so it runs on the offline demo model and search
(`agent.graph.context_of`) and asks before every tool.

The offline search index is built here, on import: an Agent Server runs the async bodies on its
event loop, where building it (blocking SQLite work) would be refused.
"""

from agent.graph import build_graph, offline_tools

offline_tools()
graph = build_graph(takes_context=False)
