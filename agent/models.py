"""Chat model factory: the offline demo model, OpenAI, or any OpenAI-compatible server.

One function turns the user's choice (provider, model name, key, base URL) into a LangChain chat
model, so adding a provider touches this file only. Real clients are built with an explicit
timeout and a small retry budget, and runs end a call that stays silent for `STALL_LIMIT` seconds
in total: a demo should fail within a minute and a half with a clear message, not hang for the
SDK's ten-minute default or retry a dead server for long. Keys go straight into the client (where
they are masked in reprs) and nowhere else.

    model = make_chat_model("compatible", settings, base_url="http://localhost:11434/v1",
                            model_name="llama3.1")

A compatible server given only by its base URL is asked for its models (`GET /v1/models`): when it
serves exactly one, that one is used, so pointing Waypoint at a local server is enough; the
settings offer the list (`list_models`), and WAYPOINT_MODEL stays the override.
"""

from __future__ import annotations

from dataclasses import dataclass

import openai
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agent.demo_model import DemoChatModel
from agent.errors import ModelListError
from agent.provider_errors import describe_error
from agent.settings import DEFAULT_OPENAI_MODEL, Settings

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local servers ignore the key, but the OpenAI client refuses to start without one.
NO_KEY_PLACEHOLDER = "not-needed"
# Read timeout is the longest silence allowed between two streamed bytes: generous, because a
# local model may think for a while before its first token. Connecting should be quick.
READ_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
MAX_RETRIES = 2
# Those bound each attempt, not the call: a hung server would hold a call for 3 x 60 s, plus the
# client's Retry-After waits. So a run also ends a model call that sends nothing for this long in
# total, every attempt and wait included (agent.runs enforces it); a reply that keeps streaming
# tokens is never cut, however long it is.
STALL_LIMIT = 90.0
# Listing models is one small request: it should answer quickly or be reported, not retried.
LIST_TIMEOUT = 10.0
SHOWN_MODEL_NAMES = 5


@dataclass(frozen=True)
class Provider:
    """A model provider the user can pick."""

    name: str
    label: str
    help: str


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "demo",
        "Offline demo model",
        "Runs offline with no key: streams tokens, makes real (and parallel) tool calls, and "
        "answers from the search results.",
    ),
    Provider(
        "openai",
        "OpenAI",
        f"OpenAI's API with your key (OPENAI_API_KEY); model {DEFAULT_OPENAI_MODEL} unless you "
        "name another.",
    ),
    Provider(
        "compatible",
        "OpenAI-compatible server",
        "Any server that speaks OpenAI's chat API (Ollama, vLLM, LM Studio, llama.cpp): give its "
        "base URL, and pick one of the models it lists; a key only if it needs one.",
    ),
)


def make_chat_model(
    provider: str,
    settings: Settings,
    *,
    model_name: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = READ_TIMEOUT,
    max_retries: int = MAX_RETRIES,
) -> BaseChatModel:
    """Build the chat model for `provider` ("demo", "openai" or "compatible").

    Arguments given here (typed in the UI) win over `settings`. `timeout` is the read timeout in
    seconds (tests make it small); `max_retries` bounds the client's retries on 429, 5xx, timeouts
    and refused connections. Raises ValueError, naming the fix, when a key, URL or model is missing.
    """
    if provider == "demo":
        return DemoChatModel(token_delay=settings.demo_token_delay)
    if provider == "openai":
        key = api_key or settings.openai_api_key
        if not key:
            raise ValueError(
                "The OpenAI model needs an API key. Set OPENAI_API_KEY (in the environment or "
                ".streamlit/secrets.toml), type a key in the settings, or choose the offline demo "
                "model."
            )
        # An explicit URL, so an OPENAI_BASE_URL in the environment cannot silently redirect it.
        url = base_url or OPENAI_BASE_URL
        name = model_name or settings.model_name or DEFAULT_OPENAI_MODEL
        return _chat_openai(url, key, name, timeout, max_retries, stream_usage=True)
    if provider == "compatible":
        url = base_url or settings.openai_base_url or ""
        if not url:
            raise ValueError(
                "An OpenAI-compatible server needs a base URL, such as http://localhost:11434/v1 "
                "for Ollama. Set OPENAI_BASE_URL or type it in the settings."
            )
        key = api_key or settings.openai_api_key or NO_KEY_PLACEHOLDER
        name = model_name or settings.model_name or _only_model(url, key, timeout)
        # Many compatible servers reject or ignore stream_options, so usage is not requested.
        return _chat_openai(url, key, name, timeout, max_retries, stream_usage=False)
    known = ", ".join(p.name for p in PROVIDERS)
    raise ValueError(f"Unknown model provider {provider!r}; choose one of {known}.")


def _chat_openai(
    base_url: str, api_key: str, model: str, timeout: float, max_retries: int, *, stream_usage: bool
) -> ChatOpenAI:
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(api_key),
        timeout=openai.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
        max_retries=max_retries,
        streaming=True,
        stream_usage=stream_usage,
    )


def model_secrets(model: BaseChatModel) -> tuple[str, ...]:
    """The secret values a chat model holds (its API key), for redacting them from error text.

    Any LangChain model keeps its keys in `SecretStr` fields, so this needs no list per provider.
    """
    values = (getattr(model, name, None) for name in type(model).model_fields)
    return tuple(
        secret
        for value in values
        if isinstance(value, SecretStr)
        and (secret := value.get_secret_value())
        and secret != NO_KEY_PLACEHOLDER
    )


def list_models(
    base_url: str, api_key: str | None = None, *, timeout: float = LIST_TIMEOUT
) -> tuple[str, ...]:
    """The names of the models an OpenAI-compatible server offers (`GET {base_url}/models`), sorted.

    Raises ModelListError, in a sentence naming the fix, when the server cannot be reached or
    answers with an error (its text redacted, and the key with it).
    """
    client = openai.OpenAI(
        base_url=base_url,
        api_key=api_key or NO_KEY_PLACEHOLDER,
        timeout=openai.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
        max_retries=0,
    )
    try:
        with client:
            names = tuple(sorted({model.id for model in client.models.list()}))
    except (openai.OpenAIError, ValueError) as error:  # ValueError: a URL httpx cannot use
        problem = describe_error(error, (api_key,) if api_key else ())
        failure = ModelListError(
            f"Could not get the list of models from {base_url} (GET /models): {problem.message}"
        )
    else:
        return names
    raise failure  # outside the handler, so the server's own text is not kept as its context


def _only_model(base_url: str, api_key: str, timeout: float) -> str:
    """The one model the server offers; otherwise a ValueError saying how to choose."""
    try:
        names = list_models(base_url, api_key, timeout=min(timeout, LIST_TIMEOUT))
    except ModelListError as error:  # already redacted: no secret in it to keep out of context
        raise ModelListError(
            f"{error} Or name the model yourself: set WAYPOINT_MODEL or type it in the settings."
        ) from None
    if len(names) == 1:
        return names[0]
    if not names:
        raise ValueError(
            f"The server at {base_url} lists no models. Load or pull one there (for Ollama: "
            "ollama pull llama3.1), or set WAYPOINT_MODEL."
        )
    shown = ", ".join(names[:SHOWN_MODEL_NAMES]) + (", …" if len(names) > SHOWN_MODEL_NAMES else "")
    raise ValueError(
        f"The server at {base_url} offers {len(names)} models ({shown}): pick one in the "
        "settings, or set WAYPOINT_MODEL."
    )
