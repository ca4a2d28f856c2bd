"""The run record on the Chat page (AppTest): folded under each finished turn, opened it lists
the steps, tokens and your decisions, and "What LangGraph did" shows the calls as code."""

from __future__ import annotations

from tests.page_helpers import button, finish_runs, texts


def records(app):
    return [e for e in app.expander if e.label.startswith("Run record: ")]


def test_the_record_stays_folded_under_the_turn_with_what_langgraph_did(app):
    app.run()
    app.chat_input[0].set_value("What is the weather in London?").run()
    finish_runs(app)
    [halted] = records(app)  # the run that halted already has its record
    assert "llm" in halted.label and "tokens" in halted.label
    call_id = app.radio[0].key.removeprefix("decide_")
    app.radio[0].set_value("mock").run()
    app.text_area(key=f"mock_{call_id}").input("Drizzle, 12 C").run()
    button(app, "Continue").click().run()
    finish_runs(app)
    assert not app.exception
    [record] = records(app)
    assert not record.proto.expanded  # folded
    assert "llm" in record.label and "→ action" in record.label and "total" in record.label
    inside = "\n".join(m.value for m in record.markdown) + "\n".join(
        c.value for c in record.caption
    )
    assert "Run 1 of 2" in inside and "Run 2 of 2" in inside
    assert "answered by you" in inside and "first token after" in inside
    assert "estimated by the demo model" in inside
    assert "What LangGraph did, from checkpoint" in inside
    calls = [c.value for c in record.code]
    assert len(calls) == 2 and all(c.language == "python" for c in record.code)
    assert (
        "graph.stream(" in calls[0] and 'HumanMessage("What is the weather in London?"' in calls[0]
    )
    assert f'Command(resume={{"{call_id}": {{"action": "mock"' in calls[1]
    assert "answered by you" in texts(app)  # the tool card says whose answer it is
    assert "This conversation: 2 runs" in texts(app)


def test_a_run_whose_app_server_died_says_so_and_that_its_calls_were_lost():
    from streamlit.testing.v1 import AppTest

    def page():
        from agent.protocol import RunReport, StepRecord, TurnReport
        from ui.run_record import run_record

        lost = RunReport(
            "r1", "", "lost", 0.0, 3.5, None, steps=(StepRecord("llm", 1.5, "asked web_search"),)
        )
        run_record(TurnReport("m1", (lost,)))

    at = AppTest.from_function(page).run()
    assert not at.exception
    inside = "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)
    assert "**The run**: cut short: the app server running it stopped" in inside
    assert "engine" not in inside.split("\n")[0], "a lost run's engine is not known"
    assert "lost with the app server that ran it" in inside
    assert not at.code, "no empty code box"
