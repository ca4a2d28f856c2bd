"""What changed inside a message, word by word: its text and each tool-call argument.

An edit keeps a message's id, so the Inspector's Changes tab needs these to say what an edit did
(before, an edited tool call's arguments read the same before and after).
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

import agent  # noqa: F401  (strict msgpack before LangGraph loads)
from agent.timeline.diff import DIFF_CHARS, field_changes, message_diff, word_diff
from agent.views import MessageView, ToolCallView, WordChange


def sides(runs: tuple[WordChange, ...]) -> tuple[str, str]:
    old = "".join(r.text for r in runs if r.kind != "added")
    new = "".join(r.text for r in runs if r.kind != "removed")
    return old, new


def test_a_word_diff_marks_only_the_words_that_changed():
    runs = word_diff("weather in London today", "weather in New York today")
    assert runs == (
        WordChange("same", "weather in "),
        WordChange("removed", "London"),
        WordChange("added", "New York"),
        WordChange("same", " today"),
    )
    assert sides(runs) == ("weather in London today", "weather in New York today")


def test_a_word_diff_gives_both_sides_back_whatever_the_text():
    cases = [
        ("", "all new"),
        ("all gone", ""),
        ("same", "same"),
        ("a  b\n\nc", "a b\nc d"),
        ("[x](y) :red[z] ~~w~~", "[x](y) :green[z] w"),
        ("ünïcode—words, punctuation!", "ünïcode words; punctuation?"),
    ]
    for old, new in cases:
        runs = word_diff(old, new)
        assert sides(runs) == (old, new), (old, new)
        kinds = [r.kind for r in runs]
        assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)), "runs are merged"
    assert word_diff("same", "same") == (WordChange("same", "same"),)


def call(args, call_id="c1", name="web_search"):
    return ToolCallView(id=call_id, name=name, args=args)


def ai(text="Let me search.", calls=()):
    return MessageView(id="a1", role="ai", text=text, tool_calls=tuple(calls))


def test_an_edited_tool_call_shows_the_argument_that_changed_and_nothing_else():
    before = ai(calls=[call({"query": "weather London", "max_results": 3})])
    after = ai(calls=[call({"query": "weather New York", "max_results": 3})])
    (field,) = field_changes(before, after)
    assert field.label == "web_search · query" and not field.cut
    assert [(r.kind, r.text) for r in field.words] == [
        ("same", "weather "),
        ("removed", "London"),
        ("added", "New York"),
    ]


def test_arguments_added_removed_and_not_text_are_shown_as_json():
    before = ai(calls=[call({"query": "x", "max_results": 3})])
    after = ai(calls=[call({"query": "x", "filters": {"site": "a.org"}})])
    fields = {f.label: sides(f.words) for f in field_changes(before, after)}
    assert fields == {
        "web_search · filters": ("", '{"site": "a.org"}'),
        "web_search · max_results": ("3", ""),
    }


def test_calls_added_and_removed_and_the_text_are_each_a_field():
    before = ai("Let me search London.", [call({"query": "London"}, "c1")])
    after = ai("Let me search Paris.", [call({"query": "Paris"}, "c2", "web_search")])
    labels = [f.label for f in field_changes(before, after)]
    assert labels == ["text", "web_search: call added", "web_search: call removed"]
    renamed = field_changes(ai(calls=[call({}, name="a")]), ai(calls=[call({}, name="b")]))
    assert [(f.label, sides(f.words)) for f in renamed] == [("tool", ("a", "b"))]


def test_a_long_text_is_compared_up_to_the_cap_and_says_it_was_cut():
    old, new = "word " * DIFF_CHARS, "word " * DIFF_CHARS + "more"
    (field,) = field_changes(
        MessageView(id="t", role="tool", text=old), MessageView(id="t", role="tool", text=new)
    )
    assert field.cut and len(sides(field.words)[1]) == DIFF_CHARS


def test_message_diff_carries_the_changes_inside_each_changed_message():
    question = HumanMessage("weather in LA?", id="h1")
    asked = AIMessage(
        "", id="a1", tool_calls=[{"id": "c1", "name": "web_search", "args": {"query": "LA"}}]
    )
    edited = asked.model_copy(
        update={"tool_calls": [{"id": "c1", "name": "web_search", "args": {"query": "NYC"}}]}
    )
    result = ToolMessage("sunny", tool_call_id="c1", id="t1")
    diff = message_diff([question, asked], [question, edited, result])
    (change,) = diff.changed
    assert change.before.tool_calls[0].args == {"query": "LA"}
    assert [(f.label, sides(f.words)) for f in change.fields] == [
        ("web_search · query", ("LA", "NYC"))
    ]
    assert [m.id for m in diff.added] == ["t1"] and not diff.removed
    retyped = message_diff([question], [HumanMessage("weather in NY?", id="h1")]).changed[0]
    assert [(r.kind, r.text) for r in retyped.fields[0].words] == [
        ("same", "weather in "),
        ("removed", "LA"),
        ("added", "NY"),
        ("same", "?"),
    ]


def test_a_rewritten_phrase_is_one_removed_and_one_added_run_not_words_and_spaces_interleaved():
    runs = word_diff("LangGraph checkpointer work at 1280 px", "LangGraph time travel today")
    assert [(r.kind, r.text) for r in runs] == [
        ("same", "LangGraph "),
        ("removed", "checkpointer work at 1280 px"),
        ("added", "time travel today"),
    ]
    runs = word_diff("the quick brown fox jumps", "the slow brown dog jumps")
    assert [r.text for r in runs if r.kind == "same"] == ["the ", " brown ", " jumps"]
