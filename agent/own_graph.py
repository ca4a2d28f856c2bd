"""Which graph this process drives: `WAYPOINT_GRAPH` (or `--graph`, `make run GRAPH=`), else the
built-in research agent.

Each of your graphs keeps its threads apart from Waypoint's and from each other's: threads of
different graphs have different state shapes, and a thread of one opened with another would read
nonsense. On SQLite that is a database file of its own beside Waypoint's
(`waypoint-<graph>.sqlite`); on Postgres (`DATABASE_URL`) a schema of its own in the same
database (`waypoint_<graph>`, made when first needed), which every connection of that graph's
engine puts first on its `search_path`: the same tables and migrations, one set per graph.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from agent.graph_kit import BUILTIN, GraphKit, kit_for
from agent.graph_source import GraphSource, graph_sources, load_graph
from agent.persistence import check_postgres
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
    source = next((s for s in sources if s.name == name), sources[0])
    kit = kit_for(load_graph(source))
    if settings.database_url:
        schema = schema_for(kit.name)
        return kit, replace(settings, database_url=in_schema(settings.database_url, schema))
    return kit, replace(settings, db_path=database_for(settings.db_path, kit.name))


def database_for(db_path: Path, graph_name: str) -> Path:
    """The SQLite file of a graph's threads, beside Waypoint's own."""
    return db_path.with_name(
        f"{db_path.stem}-{_slug(graph_name, '-')}{db_path.suffix or '.sqlite'}"
    )


def _slug(graph_name: str, joiner: str) -> str:
    return re.sub(r"[^a-z0-9]+", joiner, graph_name.lower()).strip(joiner)[:50] or "graph"


def schema_for(graph_name: str) -> str:
    """The Postgres schema of a graph's threads: `waypoint_<graph>`."""
    return f"waypoint_{_slug(graph_name, '_')}"


def in_schema(url: str, schema: str) -> str:
    """The database URL with `schema` first on every connection's search_path, the schema made
    if it is not there yet (a server that cannot be reached says why, as for the built-in)."""
    check_postgres(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    return make_conninfo(url, options=f"-c search_path={schema}")
