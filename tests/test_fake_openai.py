"""The fake OpenAI server's own features that tests and benchmarks rely on."""

from __future__ import annotations

import time

import openai
import pytest
from langchain_openai import ChatOpenAI

from tests.fake_openai import FakeOpenAI, text


def client(server: FakeOpenAI) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=server.url, api_key="sk-test", model="fake", max_retries=0, timeout=5
    )


def test_each_complete_stream_records_when_it_sent_its_last_event(fake_openai):
    fake_openai.script(text("one two three", delay=0.02), text("four five", delay=0.02))
    model = client(fake_openai)
    started = time.time()
    first = "".join(chunk.text for chunk in model.stream("hi"))
    between = time.time()
    second = "".join(chunk.text for chunk in model.stream("again"))
    assert (first, second) == ("one two three", "four five")
    assert fake_openai.wait_for_stream_ends(2)
    ends = fake_openai.stream_ends
    # The first stream has at least five events 20 ms apart (role, three words, finish).
    assert started + 0.08 <= ends[0] <= between + 0.5 and ends[0] < ends[1] <= time.time()


def test_replies_that_are_not_complete_streams_record_nothing(fake_openai):
    fake_openai.script(text("not streamed"), text("cut in the middle of it", cut_after=3))
    model = client(fake_openai)
    assert model.invoke("hi").text == "not streamed"
    with pytest.raises(openai.APIError):
        list(model.stream("hi"))
    assert not fake_openai.wait_for_stream_ends(1, timeout=0.2)
    assert fake_openai.stream_ends == []
