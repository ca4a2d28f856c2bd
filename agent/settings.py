"""Settings: where Waypoint keeps its data and which providers it may use.

Read once from the environment and `.streamlit/secrets.toml` (the environment wins), then passed
explicitly to the factories that need them. Keys live only here and in the client objects built
from them: never in graph state, run config or checkpoint metadata, which are all persisted.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.logs import parse_level

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "waypoint.sqlite"
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")

# (environment variable, attribute, what it is for) — the README's settings table mirrors this.
SETTINGS_TABLE: tuple[tuple[str, str, str], ...] = (
    ("WAYPOINT_DB", "db_path", "SQLite file for checkpoints and the thread index"),
    (
        "DATABASE_URL",
        "database_url",
        "postgresql://user:password@host:5432/db puts checkpoints and threads in Postgres",
    ),
    ("WAYPOINT_DB_POOL_MIN", "db_pool_min", "Postgres connections each pool keeps open"),
    ("WAYPOINT_DB_POOL_MAX", "db_pool_max", "Postgres connections each pool may open"),
    ("OPENAI_API_KEY", "openai_api_key", "use OpenAI instead of the offline demo model"),
    (
        "OPENAI_BASE_URL",
        "openai_base_url",
        "any OpenAI-compatible server (Ollama, vLLM, LM Studio)",
    ),
    ("WAYPOINT_MODEL", "model_name", "model name for OpenAI or the compatible server"),
    ("TAVILY_API_KEY", "tavily_api_key", "use Tavily web search instead of offline documents"),
    ("WAYPOINT_DOCS", "docs_folder", "extra folder of .md/.txt files for the offline search"),
    ("WAYPOINT_LOG_LEVEL", "log_level", "the engine's log level: DEBUG, INFO, WARNING, ERROR"),
    (
        "WAYPOINT_ALLOW_OPEN",
        "allow_open",
        "serve a non-local address with no login, on purpose (everyone shares one space)",
    ),
    ("WAYPOINT_VISITORS", "visitors", "no login: each browser gets its own expiring space"),
    ("WAYPOINT_VISITOR_HOURS", "visitor_hours", "hours a visitor's threads are kept (24)"),
    (
        "WAYPOINT_SHARE_KEYS",
        "share_keys",
        "logged-in users and visitors may use the deployment's own API keys",
    ),
    ("WAYPOINT_RUNS_PER_HOUR", "runs_per_hour", "runs one user may start per hour (no limit)"),
    (
        "WAYPOINT_SERVER_URL",
        "server_url",
        "http://host:port of a LangGraph Agent Server (`langgraph dev`) to drive instead",
    ),
    (
        "WAYPOINT_SERVER_GRAPH",
        "server_graph",
        "the server's assistant id or graph id to drive (default: its first assistant)",
    ),
    ("WAYPOINT_SERVER_API_KEY", "server_api_key", "the Agent Server's API key, if it needs one"),
)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Waypoint process."""

    db_path: Path = DEFAULT_DB
    # Postgres instead of the SQLite file when set; it may hold a password, so never shown.
    database_url: str | None = field(default=None, repr=False)
    # Each engine (sync, async) has its own pool; a single user needs few connections.
    db_pool_min: int = 1
    db_pool_max: int = 4
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    model_name: str | None = None
    tavily_api_key: str | None = field(default=None, repr=False)
    docs_folder: Path | None = None
    # Seconds between demo-model tokens; 0 makes tests instant, the default looks like a real model.
    demo_token_delay: float = 0.02
    # None: the entry point's default (agent.logs.APP_LEVEL for the app, TERMINAL_LEVEL for the CLI).
    log_level: str | None = None
    # Sharing: see agent/exposure.py, agent/visitors.py, agent/run_limit.py and the README.
    allow_open: bool = False
    visitors: bool = False
    visitor_hours: float = 24.0
    share_keys: bool = False
    runs_per_hour: int | None = None
    # Your own graph instead of the built-in agent: `file.py:attr`, `module:attr` or a
    # langgraph.json (`agent.graph_source`).
    graph: str | None = None
    # A LangGraph Agent Server to drive instead of the engine in this process
    # (`agent.server_backend`); its key is sent to that server only, never logged or stored.
    server_url: str | None = None
    server_graph: str | None = None
    server_api_key: str | None = field(default=None, repr=False)

    @property
    def default_provider(self) -> str:
        """The model provider used when the user has not chosen one."""
        if self.openai_base_url:
            return "compatible"
        if self.openai_api_key:
            return "openai"
        return "demo"

    @property
    def default_search(self) -> str:
        return "tavily" if self.tavily_api_key else "offline"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


_FLAG_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _read_secrets(path: Path) -> Mapping[str, object]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(
            f"{path} is not valid TOML ({error}). Fix the file or remove it; "
            'each setting is a line like OPENAI_API_KEY = "sk-...".'
        ) from error


def load_settings(
    environ: Mapping[str, str] | None = None, secrets_file: Path | None = None
) -> Settings:
    """Build Settings from the environment, falling back to `.streamlit/secrets.toml`."""
    environ = os.environ if environ is None else environ
    secrets = _read_secrets(SECRETS_FILE if secrets_file is None else secrets_file)

    def value(name: str) -> str | None:
        raw: object = environ.get(name)
        if raw is None:
            raw = secrets.get(name)
        text = str(raw).strip() if raw is not None else ""
        return text or None

    def flag(name: str) -> bool:
        text = (value(name) or "false").lower()
        if text not in _FLAG_WORDS:
            raise ValueError(f"{name} is {text!r}; set it to true or false.")
        return _FLAG_WORDS[text]

    def number(name: str, minimum: float) -> float | None:
        text = value(name)
        if text is None:
            return None
        try:
            parsed = float(text)
        except ValueError:
            parsed = minimum - 1
        if parsed < minimum:
            raise ValueError(f"{name} is {text!r}; set it to a number of at least {minimum:g}.")
        return parsed

    db = value("WAYPOINT_DB")
    database_url = value("DATABASE_URL")
    if database_url and not database_url.startswith(POSTGRES_SCHEMES):
        raise ValueError(
            "DATABASE_URL must start with postgresql:// (or postgres://), like "
            "postgresql://user:password@host:5432/waypoint; unset it to use the SQLite file."
        )
    pool_min = _count(value("WAYPOINT_DB_POOL_MIN"), "WAYPOINT_DB_POOL_MIN", Settings.db_pool_min)
    pool_max = _count(value("WAYPOINT_DB_POOL_MAX"), "WAYPOINT_DB_POOL_MAX", Settings.db_pool_max)
    if pool_max < pool_min:
        raise ValueError(
            f"WAYPOINT_DB_POOL_MAX ({pool_max}) is below WAYPOINT_DB_POOL_MIN ({pool_min}): "
            "raise the maximum or lower the minimum."
        )
    hours = number("WAYPOINT_VISITOR_HOURS", 0.01)
    runs = number("WAYPOINT_RUNS_PER_HOUR", 1)
    docs = value("WAYPOINT_DOCS")
    delay = value("WAYPOINT_DEMO_TOKEN_DELAY")
    log_level = value("WAYPOINT_LOG_LEVEL")
    server_url = value("WAYPOINT_SERVER_URL")
    if server_url and not server_url.startswith(("http://", "https://")):
        raise ValueError(
            "WAYPOINT_SERVER_URL must start with http:// or https://, like "
            "http://127.0.0.1:2024 (what `langgraph dev` prints); unset it to run the graph here."
        )
    if log_level is not None:
        parse_level(log_level)  # a wrong name stops the start with its one sentence
    return Settings(
        db_path=Path(db).expanduser() if db else DEFAULT_DB,
        database_url=database_url,
        db_pool_min=pool_min,
        db_pool_max=pool_max,
        openai_api_key=value("OPENAI_API_KEY"),
        openai_base_url=value("OPENAI_BASE_URL"),
        model_name=value("WAYPOINT_MODEL"),
        tavily_api_key=value("TAVILY_API_KEY"),
        docs_folder=Path(docs).expanduser() if docs else None,
        demo_token_delay=float(delay) if delay else Settings.demo_token_delay,
        log_level=log_level,
        allow_open=flag("WAYPOINT_ALLOW_OPEN"),
        visitors=flag("WAYPOINT_VISITORS"),
        visitor_hours=hours if hours is not None else Settings.visitor_hours,
        share_keys=flag("WAYPOINT_SHARE_KEYS"),
        runs_per_hour=int(runs) if runs is not None else None,
        graph=value("WAYPOINT_GRAPH"),
        server_url=server_url.rstrip("/") if server_url else None,
        server_graph=value("WAYPOINT_SERVER_GRAPH"),
        server_api_key=value("WAYPOINT_SERVER_API_KEY"),
    )


def _count(text: str | None, name: str, default: int) -> int:
    """A whole number of connections, at least 1."""
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of connections, 1 or more (got {text!r}).")
    return int(text)
