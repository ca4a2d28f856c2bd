"""The model factory and provider errors, with the real ChatOpenAI client against a fake server.

Each fault the fake server can produce (bad key, unknown model, rate limit, server error, hang,
stall, cut stream, nothing listening) must reach the user as the right `describe_error` result.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from agent.demo_model import DemoChatModel
from agent.errors import ModelListError
from agent.models import MAX_RETRIES, PROVIDERS, list_models, make_chat_model, model_secrets
from agent.provider_errors import ProviderError, describe_error, register_describer
from agent.settings import DEFAULT_OPENAI_MODEL, Settings
from tests.fake_openai import FakeOpenAI, error, hang, text, tool_calls

SETTINGS = Settings(demo_token_delay=0)


@tool
def web_search(query: str) -> str:
    """Search the web."""
    return ""


def compatible(server: FakeOpenAI, *, timeout: float = 2.0, max_retries: int = 0, **kw):
    return make_chat_model(
        "compatible",
        SETTINGS,
        base_url=server.url,
        model_name=kw.pop("model_name", "llama3.1"),
        timeout=timeout,
        max_retries=max_retries,
        **kw,
    )


def failure(model, prompt="hi", *, use_async=False) -> tuple[BaseException, list]:
    """Stream `prompt`; return the exception it ended with and the chunks that came before it."""
    received: list = []

    async def consume_async():
        async for chunk in model.astream(prompt):
            received.append(chunk)

    with pytest.raises(Exception) as caught:
        if use_async:
            asyncio.run(consume_async())
        else:
            for chunk in model.stream(prompt):
                received.append(chunk)
    return caught.value, received


# --- building models -----------------------------------------------------------------------------


def test_providers_are_the_ones_settings_can_choose():
    assert [p.name for p in PROVIDERS] == ["demo", "openai", "compatible"]
    assert all(p.label and p.help for p in PROVIDERS)


def test_demo_is_the_offline_model_with_the_configured_pace():
    model = make_chat_model("demo", Settings(demo_token_delay=0.05))
    assert isinstance(model, DemoChatModel) and model.token_delay == 0.05


def test_openai_without_a_key_says_how_to_get_one():
    with pytest.raises(ValueError, match="OPENAI_API_KEY") as caught:
        make_chat_model("openai", SETTINGS)
    assert "demo model" in str(caught.value)


def test_compatible_needs_a_base_url_and_a_model_name():
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        make_chat_model("compatible", SETTINGS, model_name="llama3.1")
    with pytest.raises(ValueError, match="WAYPOINT_MODEL"):
        make_chat_model("compatible", SETTINGS, base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ValueError, match="demo, openai, compatible"):
        make_chat_model("anthropic", SETTINGS)


def test_a_base_url_alone_uses_the_only_model_the_server_lists():
    with FakeOpenAI(models=["llama3.1"]) as server:
        server.script(text("Hello from llama."))
        model = make_chat_model("compatible", SETTINGS, base_url=server.url)
        assert model.invoke("hi").content == "Hello from llama."
        assert [(r.method, r.path) for r in server.requests][0] == ("GET", "/v1/models")
        assert server.chat_requests[0].body["model"] == "llama3.1"


def test_several_models_ask_for_a_choice_and_waypoint_model_overrides():
    with FakeOpenAI(models=["qwen2.5", "llama3.1", "mistral"]) as server:
        with pytest.raises(ValueError) as caught:
            make_chat_model("compatible", SETTINGS, base_url=server.url)
        message = str(caught.value)
        assert "3 models (llama3.1, mistral, qwen2.5)" in message and "WAYPOINT_MODEL" in message
        listed = len(server.requests)
        chosen = Settings(model_name="mistral", openai_base_url=server.url)
        assert make_chat_model("compatible", chosen).model_name == "mistral"
        assert len(server.requests) == listed, "a named model needs no list"


def test_a_server_with_no_models_says_to_load_one():
    with FakeOpenAI(models=[]) as server:
        assert list_models(server.url) == ()
        with pytest.raises(ValueError, match="lists no models.*WAYPOINT_MODEL"):
            make_chat_model("compatible", SETTINGS, base_url=server.url)


def test_listing_models_fails_in_a_sentence_without_the_key():
    with FakeOpenAI(api_key="sk-right-0000000000", echo_key=True) as server:
        assert list_models(server.url, "sk-right-0000000000") == ("gpt-4o-mini",)
        with pytest.raises(ModelListError) as caught:
            list_models(server.url, "plain-wrong-key-4711")
        url = server.url
    message = str(caught.value)
    assert message.startswith(f"Could not get the list of models from {url}")
    assert "401" in message and "plain-wrong-key-4711" not in message
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ModelListError, match=f"Could not connect .*127.0.0.1:{port}"):
        make_chat_model("compatible", SETTINGS, base_url=f"http://127.0.0.1:{port}/v1")


def test_a_models_secrets_are_its_keys_whatever_their_shape():
    model = make_chat_model("openai", SETTINGS, api_key="plain-key-0123456789")
    assert model_secrets(model) == ("plain-key-0123456789",)
    assert (
        model_secrets(
            make_chat_model("compatible", SETTINGS, base_url="http://x/v1", model_name="m")
        )
        == ()
    )
    assert model_secrets(make_chat_model("demo", SETTINGS)) == ()


def test_the_key_is_masked_in_the_models_repr():
    model = make_chat_model("openai", SETTINGS, api_key="sk-proj-SECRET0123456789")
    assert "SECRET0123456789" not in repr(model)
    assert model.max_retries == MAX_RETRIES and model.streaming


# --- talking to a server -------------------------------------------------------------------------


def test_text_streams_token_by_token_from_a_compatible_server(fake_openai):
    fake_openai.script(text("Hello there, this is a streamed answer."))
    chunks = list(compatible(fake_openai).stream("hi"))
    assert sum(1 for c in chunks if c.content) >= 5
    assert "".join(c.content for c in chunks) == "Hello there, this is a streamed answer."
    (request,) = fake_openai.chat_requests
    assert request.body["stream"] is True and request.body["model"] == "llama3.1"
    assert "stream_options" not in request.body  # many compatible servers reject it
    assert request.authorization == "Bearer not-needed"


def test_openai_sends_the_ui_key_over_the_settings_key_and_gets_usage():
    with FakeOpenAI(api_key="sk-typed-in-ui-0001") as server:
        server.script(text("Hi!"))
        settings = Settings(openai_api_key="sk-from-settings-0002")
        model = make_chat_model(
            "openai", settings, api_key="sk-typed-in-ui-0001", base_url=server.url
        )
        chunks = list(model.stream("hi"))
    merged = sum(chunks[1:], chunks[0])
    assert merged.usage_metadata["total_tokens"] > 0
    (request,) = server.chat_requests
    assert request.authorization == "Bearer sk-typed-in-ui-0001"
    assert request.body["model"] == DEFAULT_OPENAI_MODEL
    assert request.body["stream_options"] == {"include_usage": True}


def test_tool_call_deltas_merge_into_parallel_tool_calls(fake_openai):
    calls = [("web_search", {"query": "weather in SF"}), ("web_search", {"query": "weather in LA"})]
    fake_openai.script(tool_calls(*calls), tool_calls(*calls))
    model = compatible(fake_openai).bind_tools([web_search])
    chunks = list(model.stream("What's the weather in SF and LA?"))
    merged = sum(chunks[1:], chunks[0])
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == list(calls)
    assert [c["id"] for c in merged.tool_calls] == ["call_fake_1_0", "call_fake_1_1"]
    assert len([c for c in chunks if c.tool_call_chunks]) > 4  # arguments came in pieces
    invoked = model.invoke("What's the weather in SF and LA?")
    assert [c["args"] for c in invoked.tool_calls] == [args for _, args in calls]
    sent_tools = fake_openai.chat_requests[0].body["tools"]
    assert [t["function"]["name"] for t in sent_tools] == ["web_search"]


def test_a_history_with_an_unanswered_tool_call_is_refused_like_the_real_api(fake_openai):
    call = {"name": "web_search", "args": {"query": "x"}, "id": "call_1"}
    asked = [HumanMessage("hi"), AIMessage("", tool_calls=[call])]
    fake_openai.script(text("Answered."))
    model = compatible(fake_openai)
    assert (
        model.invoke([*asked, ToolMessage("result", tool_call_id="call_1")]).content == "Answered."
    )
    with pytest.raises(openai.BadRequestError) as caught:
        model.invoke([*asked, HumanMessage("never mind")])
    problem = describe_error(caught.value)
    assert problem.error_type == "bad_request" and not problem.retryable
    assert "call_1" in problem.message and "fork" in problem.message


# --- faults --------------------------------------------------------------------------------------


def test_a_wrong_key_is_an_auth_error_that_says_where_keys_go():
    with FakeOpenAI(api_key="sk-right-key-000000") as server:
        model = make_chat_model(
            "openai", SETTINGS, api_key="sk-wrong-key-111111", base_url=server.url, timeout=2.0
        )
        exc, _ = failure(model)
        assert len(server.chat_requests) == 1  # a 401 is not retried
    problem = describe_error(exc)
    assert isinstance(exc, openai.AuthenticationError)
    assert (problem.error_type, problem.retryable) == ("auth", False)
    assert "OPENAI_API_KEY" in problem.message and "demo model" in problem.message


def test_a_key_echoed_by_the_server_is_redacted(fake_openai):
    fake_openai.script(error(401, "Incorrect API key provided: sk-proj-WRONGKEY123456789."))
    exc, _ = failure(compatible(fake_openai))
    problem = describe_error(exc)
    assert "Incorrect API key provided: [redacted]" in problem.message
    assert "WRONGKEY" not in problem.message


def test_an_unknown_model_is_not_found_and_names_the_model():
    with FakeOpenAI(models=["llama3.1"]) as server:
        exc, _ = failure(compatible(server, model_name="no-such-model"))
    problem = describe_error(exc)
    assert isinstance(exc, openai.NotFoundError)
    assert problem.error_type == "not_found" and "no-such-model" in problem.message
    assert "/v1" in problem.message


def test_a_rate_limit_is_retried_as_the_server_asks_then_reported(fake_openai):
    fake_openai.script(error(429, "Rate limit reached", retry_after=0.01), text("Made it."))
    model = compatible(fake_openai, max_retries=MAX_RETRIES)
    assert model.invoke("hi").content == "Made it."
    fake_openai.script(*[error(429, "Rate limit reached", retry_after=0.01)] * 3)
    exc, _ = failure(model)
    problem = describe_error(exc)
    assert isinstance(exc, openai.RateLimitError)
    assert (problem.error_type, problem.retryable) == ("rate_limit", True)
    assert len(fake_openai.chat_requests) == 2 + 3


def test_server_errors_are_retried_a_bounded_number_of_times(fake_openai):
    fake_openai.script(*[error(500, "The server had an error")] * (MAX_RETRIES + 2))
    model = make_chat_model("compatible", SETTINGS, base_url=fake_openai.url, model_name="m")
    exc, _ = failure(model)
    problem = describe_error(exc)
    assert isinstance(exc, openai.InternalServerError)
    assert (problem.error_type, problem.retryable) == ("server", True)
    assert "500 Internal Server Error" in problem.message
    assert len(fake_openai.chat_requests) == 1 + MAX_RETRIES
    assert fake_openai.pending == 1


def test_a_server_that_never_answers_times_out(fake_openai):
    fake_openai.script(hang())
    started = time.monotonic()
    exc, _ = failure(compatible(fake_openai, timeout=0.3))
    assert time.monotonic() - started < 2
    assert isinstance(exc, openai.APITimeoutError)
    assert describe_error(exc).error_type == "timeout"


def test_a_slow_stream_is_fine_but_a_stall_mid_stream_times_out(fake_openai):
    words = "one two three four five six"
    fake_openai.script(text(words, delay=0.1), text(words, delay=5))
    model = compatible(fake_openai, timeout=0.4)
    assert "".join(c.content for c in model.stream("hi")) == words  # total time > the timeout
    exc, received = failure(model)
    assert isinstance(exc, openai.APITimeoutError)
    assert describe_error(exc).error_type == "timeout"
    assert received  # the tokens before the stall had already arrived


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_stream_cut_mid_answer_is_reported_and_not_retried(fake_openai, use_async):
    fake_openai.script(text("one two three four five six", cut_after=3))
    exc, received = failure(compatible(fake_openai, max_retries=MAX_RETRIES), use_async=use_async)
    assert isinstance(exc, openai.APIConnectionError)  # the cause is httpx2.RemoteProtocolError
    problem = describe_error(exc)
    assert (problem.error_type, problem.retryable) == ("stream_cut", True)
    assert "before the reply was complete" in problem.message
    assert "".join(c.content for c in received) == "one two"
    assert len(fake_openai.chat_requests) == 1


def test_nothing_listening_is_a_connection_error_naming_the_address():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = make_chat_model(
        "compatible",
        SETTINGS,
        base_url=f"http://127.0.0.1:{port}/v1",
        model_name="m",
        max_retries=0,
    )
    exc, _ = failure(model)
    problem = describe_error(exc)
    assert isinstance(exc, openai.APIConnectionError)
    assert (problem.error_type, problem.retryable) == ("connection", True)
    assert f"http://127.0.0.1:{port}" in problem.message


def test_closing_the_fake_server_releases_a_hanging_client():
    server = FakeOpenAI(max_wait=30).start()
    server.script(hang())
    model = compatible(server, timeout=30)
    outcome: list[BaseException] = []
    client = threading.Thread(target=lambda: outcome.append(failure(model)[0]))
    client.start()
    assert server.wait_for_requests(1)
    started = time.monotonic()
    server.close()
    client.join(5)
    assert not client.is_alive() and time.monotonic() - started < 3
    assert describe_error(outcome[0]).error_type == "stream_cut"


# --- describing errors ---------------------------------------------------------------------------


def test_secrets_in_any_error_text_are_redacted():
    exc = RuntimeError(
        "POST failed: key sk-live-abcdef1234567890, header Bearer eyJhbGciOi.abc, url ?api_key=hunter2"
    )
    problem = describe_error(exc)
    assert problem.error_type == "unknown" and not problem.retryable
    assert "RuntimeError" in problem.message
    for secret in ("sk-live-abcdef1234567890", "eyJhbGciOi", "hunter2"):
        assert secret not in problem.message


def test_other_integrations_can_register_their_own_rules():
    class UsageLimitExceededError(Exception):
        """Stands in for a search client's error type."""

    @register_describer
    def search_quota(exc: BaseException) -> ProviderError | None:
        if type(exc).__name__ == "UsageLimitExceededError":
            return ProviderError(f"Search quota used up ({exc}).", "quota", False)
        return None

    wrapped = RuntimeError("tool failed")
    wrapped.__cause__ = UsageLimitExceededError("key tvly-abcdef123456 is over its limit")
    problem = describe_error(wrapped)
    assert problem.error_type == "quota" and "tvly-abcdef123456" not in problem.message
    assert describe_error(ValueError("x")).error_type == "unknown"
