"""Which graph this process drives: `WAYPOINT_GRAPH` (or `--graph`, `make run GRAPH=`), else the
built-in research agent.

Each of your graphs keeps its threads in a database file of its own beside Waypoint's
(`waypoint-<graph>.sqlite`): threads of different graphs have different state shapes, and a thread
of one opened with another would read nonsense. Postgres holds one graph per database for now,
so `DATABASE_URL` with your own graph is refused with a sentence instead of mixing them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from agent.graph_kit import BUILTIN, GraphKit, kit_for
from agent.graph_source import GraphLoadError, GraphSource, graph_sources, load_graph
from agent.settings import Settings


def graph_choices(settings: Settings) -> tuple[GraphSource, ...]:
    """The graphs the settings name, in order (none: the built-in agent)."""
    return tuple(graph_sources(settings.graph)) if settings.graph else ()


def kit_and_settings(settings: Settings, name: str | None = None) -> tuple[GraphKit, Settings]:
    """The kit of the graph named `name` (the first one when None), and the settings it runs
    with; GraphLoadError (a ValueError) with one sentence when it cannot be loaded."""
    sources = graph_choices(settings)
    if not sources:
        return BUILTIN, settings
    if settings.database_url:
        raise GraphLoadError(
            "Your own graph keeps its threads in SQLite for now: unset DATABASE_URL, or unset "
            "WAYPOINT_GRAPH to use the built-in agent on Postgres."
        )
    source = next((s for s in sources if s.name == name), sources[0])
    kit = kit_for(load_graph(source))
    return kit, replace(settings, db_path=database_for(settings.db_path, kit.name))


def database_for(db_path: Path, graph_name: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", graph_name.lower()).strip("-")[:60] or "graph"
    return db_path.with_name(f"{db_path.stem}-{slug}{db_path.suffix or '.sqlite'}")
