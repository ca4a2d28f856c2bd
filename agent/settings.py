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

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "waypoint.sqlite"
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"

# (environment variable, attribute, what it is for) — the README's settings table mirrors this.
SETTINGS_TABLE: tuple[tuple[str, str, str], ...] = (
    ("WAYPOINT_DB", "db_path", "SQLite file for checkpoints and the thread index"),
    ("OPENAI_API_KEY", "openai_api_key", "use OpenAI instead of the offline demo model"),
    (
        "OPENAI_BASE_URL",
        "openai_base_url",
        "any OpenAI-compatible server (Ollama, vLLM, LM Studio)",
    ),
    ("WAYPOINT_MODEL", "model_name", "model name for OpenAI or the compatible server"),
    ("TAVILY_API_KEY", "tavily_api_key", "use Tavily web search instead of offline documents"),
    ("WAYPOINT_DOCS", "docs_folder", "extra folder of .md/.txt files for the offline search"),
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
)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Waypoint process."""

    db_path: Path = DEFAULT_DB
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    model_name: str | None = None
    tavily_api_key: str | None = field(default=None, repr=False)
    docs_folder: Path | None = None
    # Seconds between demo-model tokens; 0 makes tests instant, the default looks like a real model.
    demo_token_delay: float = 0.02
    # Sharing: see agent/exposure.py, agent/visitors.py, agent/run_limit.py and the README.
    allow_open: bool = False
    visitors: bool = False
    visitor_hours: float = 24.0
    share_keys: bool = False
    runs_per_hour: int | None = None

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
    hours = number("WAYPOINT_VISITOR_HOURS", 0.01)
    runs = number("WAYPOINT_RUNS_PER_HOUR", 1)
    docs = value("WAYPOINT_DOCS")
    delay = value("WAYPOINT_DEMO_TOKEN_DELAY")
    return Settings(
        db_path=Path(db).expanduser() if db else DEFAULT_DB,
        openai_api_key=value("OPENAI_API_KEY"),
        openai_base_url=value("OPENAI_BASE_URL"),
        model_name=value("WAYPOINT_MODEL"),
        tavily_api_key=value("TAVILY_API_KEY"),
        docs_folder=Path(docs).expanduser() if docs else None,
        demo_token_delay=float(delay) if delay else Settings.demo_token_delay,
        allow_open=flag("WAYPOINT_ALLOW_OPEN"),
        visitors=flag("WAYPOINT_VISITORS"),
        visitor_hours=hours if hours is not None else Settings.visitor_hours,
        share_keys=flag("WAYPOINT_SHARE_KEYS"),
        runs_per_hour=int(runs) if runs is not None else None,
    )
