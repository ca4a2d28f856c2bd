"""Load the user's own LangGraph graph: `path/to/agent.py:graph`, `package.module:graph`, or a
`langgraph.json` as `langgraph dev` reads it.

Waypoint is a cockpit for any graph, so it takes graphs in the shapes people already have: a
`StateGraph` builder, a compiled graph (with or without a checkpointer: Waypoint's own replaces
it, so threads persist where Waypoint keeps them), or a function that returns either (what
`langgraph.json` calls a graph factory; it may take the `config`). Everything that can go wrong
while loading is a `GraphLoadError` whose text is one sentence saying what and why, for the
command line and the page alike; nothing here raises anything else.

    source = graph_sources("examples/essay_writer.py:graph")[0]
    graph = load_graph(source).compile(saver)
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel

log = logging.getLogger(__name__)

CONFIG_NAME = "langgraph.json"
MAX_CONFIG_BYTES = 1_000_000


class GraphLoadError(ValueError):
    """A graph that cannot be loaded; the text is one sentence saying which and why."""


@dataclass(frozen=True)
class GraphSource:
    """Where one graph comes from: `target` is `file.py:attr` or `module:attr`, read from `base`."""

    name: str
    target: str
    base: Path
    description: str = ""


@dataclass(frozen=True)
class LoadedGraph:
    """A graph ready to compile over Waypoint's checkpointer, sync or async."""

    source: GraphSource
    graph: StateGraph | Pregel

    def compile(self, checkpointer: BaseCheckpointSaver | None) -> Pregel:
        """The graph over `checkpointer`; a compiled graph keeps its settings (its static
        breakpoints too) and only trades its own checkpointer for Waypoint's."""
        if isinstance(self.graph, StateGraph):
            try:
                return self.graph.compile(checkpointer=checkpointer)
            except Exception as error:
                raise GraphLoadError(
                    f"The StateGraph {self.source.target} does not compile: {_reason(error)}."
                ) from None
        return self.graph.copy(update={"checkpointer": checkpointer})


def graph_sources(spec: str, cwd: Path | None = None) -> list[GraphSource]:
    """The graphs `spec` names: one for `file.py:attr` or `module:attr`, every graph of a
    `langgraph.json` (or of the one in a folder), in the order the file lists them."""
    spec = spec.strip()
    base = cwd or Path.cwd()
    if not spec:
        raise GraphLoadError(
            "No graph was named: give path/to/agent.py:graph, package.module:graph or a "
            "langgraph.json."
        )
    path = (base / spec).expanduser()
    if path.is_dir():
        path = path / CONFIG_NAME
    if path.suffix == ".json":
        return _config_sources(path)
    return [_target_source(spec, base)]


def _target_source(target: str, base: Path, name: str | None = None) -> GraphSource:
    where, colon, attribute = target.rpartition(":")
    if not colon or not where or not attribute.isidentifier():
        raise GraphLoadError(
            f"{target!r} does not say which graph: write the file or module, a colon and the "
            f"variable that holds the graph, e.g. {target.split(':')[0] or 'agent.py'}:graph."
        )
    stem = Path(where).stem if where.endswith(".py") else where.rsplit(".", 1)[-1]
    default = stem if attribute == "graph" else f"{stem}.{attribute}"
    return GraphSource(name=name or default, target=target, base=base)


def _config_sources(path: Path) -> list[GraphSource]:
    config = _read_config(path)
    graphs = config.get("graphs")
    if not isinstance(graphs, Mapping) or not graphs:
        raise GraphLoadError(
            f"{path} has no graphs: langgraph.json needs a map like "
            '"graphs": {"agent": "./agent.py:graph"}.'
        )
    _add_dependencies(config.get("dependencies", []), path.parent)
    _load_env(config.get("env"), path.parent)
    sources = []
    for name, entry in graphs.items():
        target = entry.get("path") if isinstance(entry, Mapping) else entry
        if not isinstance(target, str):
            raise GraphLoadError(
                f"Graph {name!r} in {path} is not a path: write it as "
                '"./agent.py:graph" or {"path": "./agent.py:graph"}.'
            )
        source = _target_source(target, path.parent, name=str(name))
        description = entry.get("description", "") if isinstance(entry, Mapping) else ""
        sources.append(GraphSource(source.name, source.target, source.base, str(description or "")))
    return sources


def _read_config(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise GraphLoadError(f"{path} is larger than a langgraph.json should be (1 MB).")
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraphLoadError(f"There is no {path}: check the path to langgraph.json.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GraphLoadError(f"{path} cannot be read: {_reason(error)}.") from None
    except json.JSONDecodeError as error:
        raise GraphLoadError(
            f"{path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    if not isinstance(config, dict):
        raise GraphLoadError(f"{path} must hold a JSON object with a graphs map.")
    return config


def _add_dependencies(dependencies: Any, folder: Path) -> None:
    """Local folders of `dependencies` become importable, as `langgraph dev` makes them;
    package names there are expected to be installed already (this is not an installer)."""
    if not isinstance(dependencies, list):
        return
    for entry in dependencies:
        if isinstance(entry, str) and entry.startswith("."):
            _importable((folder / entry).resolve())


def _load_env(env: Any, folder: Path) -> None:
    """`env` as a map or a `.env` file: set what the environment does not set already (the
    environment and Streamlit's secrets win, as keys given on purpose should)."""
    values: dict[str, str] = {}
    if isinstance(env, Mapping):
        values = {str(k): str(v) for k, v in env.items()}
    elif isinstance(env, str):
        file = folder / env
        if not file.is_file():
            raise GraphLoadError(f"The env file {file} named in langgraph.json does not exist.")
        for line in file.read_text(encoding="utf-8").splitlines():
            key, equals, value = line.strip().removeprefix("export ").partition("=")
            if equals and key and not key.startswith("#"):
                values[key.strip()] = value.strip().strip("'\"")
    for key, value in values.items():
        os.environ.setdefault(key, value)


def load_graph(source: GraphSource) -> LoadedGraph:
    """Import `source` and find its graph; a factory is called once here."""
    where, _, attribute = source.target.rpartition(":")
    module = _import(where, source)
    if not hasattr(module, attribute):
        found = sorted(
            name for name, value in vars(module).items() if isinstance(value, StateGraph | Pregel)
        )
        hint = f" (it has {', '.join(found)})" if found else ""
        raise GraphLoadError(f"{where} has no attribute {attribute!r}{hint}.")
    value = getattr(module, attribute)
    if callable(value) and not isinstance(value, StateGraph | Pregel):
        value = _call_factory(value, source)
    if not isinstance(value, StateGraph | Pregel):
        raise GraphLoadError(
            f"{source.target} is a {type(value).__name__}, not a LangGraph graph: point at a "
            "StateGraph, a compiled graph or a function that returns one."
        )
    return LoadedGraph(source, value)


def _import(where: str, source: GraphSource) -> Any:
    is_file = where.endswith(".py") or "/" in where or os.sep in where
    try:
        if not is_file:
            _importable(source.base.resolve())
            return importlib.import_module(where)
        path = (source.base / where).resolve()
        if not path.is_file():
            raise GraphLoadError(f"There is no file {path}: check the path before the colon.")
        _importable(path.parent)
        name = f"waypoint_graph_{path.stem}_{abs(hash(str(path))):x}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise GraphLoadError(f"{path} cannot be imported as a Python file.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        spec.loader.exec_module(module)
        return module
    except GraphLoadError:
        raise
    except Exception as error:  # the user's code: any failure becomes the sentence
        raise GraphLoadError(f"{where} does not import: {_reason(error)}.") from None


def _call_factory(factory: Any, source: GraphSource) -> Any:
    try:
        wants_config = bool(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        wants_config = False
    try:
        made = factory({"configurable": {}}) if wants_config else factory()
        if inspect.isawaitable(made):
            made = asyncio.run(_awaited(made))
    except Exception as error:
        raise GraphLoadError(
            f"The graph factory {source.target} failed: {_reason(error)}."
        ) from None
    return made


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _importable(folder: Path) -> None:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text[:300]}".rstrip(".")
