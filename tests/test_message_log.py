"""The messages reducer gives what folding `add_messages` over the writes gives, in any batching."""

from __future__ import annotations

import random

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    RemoveMessage,
    ToolMessage,
)
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages

from agent.message_log import NEVER, merge_message_writes, messages_channel


def fold(state, writes):
    for write in writes:
        state = add_messages(state, write)
    return state


def random_writes(rng: random.Random, count: int) -> list:
    """Writes with ids: appends, replacements, removals (of present ids only), clears."""
    writes, present, next_id = [], [], 0
    for _ in range(count):
        write = []
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            if roll < 0.5 or not present:
                next_id += 1
                kind = rng.choice([HumanMessage, AIMessage])
                write.append(kind(f"message {next_id}", id=f"m{next_id}"))
                present.append(f"m{next_id}")
            elif roll < 0.75:
                target = rng.choice(present)
                write.append(AIMessage(f"edited {target} {rng.random():.3f}", id=target))
            elif roll < 0.97:
                target = rng.choice(present)
                write.append(RemoveMessage(id=target))
                present.remove(target)
            else:
                write.append(RemoveMessage(id=REMOVE_ALL_MESSAGES))
                present.clear()
        writes.append(write if rng.random() < 0.8 or len(write) > 1 else write[0])
    return writes


@pytest.mark.parametrize("seed", range(30))
def test_one_pass_equals_folding_add_messages(seed):
    rng = random.Random(seed)
    start = fold([], random_writes(rng, 5))
    writes = random_writes(rng, 40)
    # Replay works on fresh copies of what was stored; so does each side here.
    assert merge_message_writes(list(start), writes) == fold(list(start), writes)


@pytest.mark.parametrize("seed", range(10))
def test_batching_invariant(seed):
    writes = random_writes(random.Random(seed), 30)
    whole = merge_message_writes([], writes)
    for cut in (1, 7, 15, 29):
        assert merge_message_writes(merge_message_writes([], writes[:cut]), writes[cut:]) == whole


def test_remove_and_readd_in_one_write_keeps_position_like_add_messages():
    state = [HumanMessage("a", id="1"), HumanMessage("b", id="2")]
    write = [RemoveMessage(id="1"), HumanMessage("a again", id="1")]
    assert merge_message_writes(state, [write]) == add_messages(state, write)
    assert [m.content for m in merge_message_writes(state, [write])] == ["a again", "b"]


def test_replacement_keeps_position():
    state = [
        HumanMessage("q", id="h"),
        AIMessage("call", id="a"),
        ToolMessage("r", tool_call_id="c", id="t"),
    ]
    merged = merge_message_writes(state, [[AIMessage("edited call", id="a")]])
    assert [m.content for m in merged] == ["q", "edited call", "r"]


def test_removing_an_unknown_id_fails_like_add_messages():
    with pytest.raises(ValueError, match="doesn't exist"):
        merge_message_writes([HumanMessage("a", id="1")], [[RemoveMessage(id="nope")]])


def test_chunks_and_message_likes_become_messages():
    writes = [[AIMessageChunk("streamed", id="c")], ("user", "hi"), "plain"]
    merged = merge_message_writes([], writes)
    assert [type(m) for m in merged] == [AIMessage, HumanMessage, HumanMessage]


def test_messages_without_ids_get_the_same_ids_on_every_replay():
    writes = [[("user", "hi")], [("user", "hi")], "again"]
    first = merge_message_writes([], writes)
    second = merge_message_writes([], [[("user", "hi")], [("user", "hi")], "again"])
    assert [m.id for m in first] == [m.id for m in second]
    assert len({m.id for m in first}) == 3  # the same text twice is still two messages


def test_input_is_not_changed():
    state = [HumanMessage("a", id="1")]
    merge_message_writes(state, [[RemoveMessage(id="1")], [HumanMessage("b", id="2")]])
    assert state == [HumanMessage("a", id="1")]


def test_channel_never_snapshots_on_a_schedule():
    assert messages_channel().snapshot_frequency == NEVER
