"""The chips above the chat input through AppTest: they show the choices in force, a reload (the
URL's query parameters) keeps them, durability "exit" says its cost before you send, and "always
allow in this thread" from the approval card becomes a chip that can take it back."""

from __future__ import annotations

from agent.protocol import EXIT_COST, LOCAL_USER
from tests.page_helpers import backend, button, finish_runs, texts
from ui.settings_chips import chips

DEFAULT_CHIPS = [
    "Demo model",
    "Offline search",
    "sync engine",
    "messages+updates",
    "durability sync",
    "ask before tools",
]


def chip_labels(at) -> list[str]:
    return [block.proto.popover.label for block in at.get("popover")]


def test_the_chips_show_the_defaults_and_follow_the_settings(app):
    app.run()
    assert not app.exception
    assert chip_labels(app) == DEFAULT_CHIPS
    assert not any(r.key == "set_multitask" for r in app.radio), "an Agent Server's setting"
    app.radio(key="set_engine").set_value("async").run()
    assert app.query_params["set_engine"] == "async"  # what a reload or a shared link reopens
    app.radio(key="set_stream").set_value("steps").run()
    app.radio(key="set_approval").set_value("never").run()
    assert chip_labels(app) == [
        "Demo model",
        "Offline search",
        "async engine",
        "updates only",
        "durability sync",
        "tools run unasked",
    ]
    assert EXIT_COST not in texts(app)
    app.radio(key="set_engine").set_value("sync").run()
    assert "set_engine" not in app.query_params  # a default stays out of the link


def test_each_setting_explains_itself_in_visible_text(app):
    app.run()
    captions = [c.value for c in app.caption]
    assert any("graph.stream() on a worker thread" in c for c in captions)
    assert any("Each checkpoint is written before the next step starts" in c for c in captions)
    app.radio(key="set_durability").set_value("exit").run()
    assert any("Only each run's last checkpoint is written" in c.value for c in app.caption)


def test_a_reload_keeps_the_choices_from_the_url(app):
    for name, value in {
        "set_engine": "async",
        "set_durability": "exit",
        "set_stream": "steps",
        "set_approval": "auto",
        "set_tool_web_search": "deny",
    }.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception
    assert chip_labels(app) == [
        "Demo model",
        "Offline search",
        "async engine",
        "updates only",
        "durability exit",
        "web_search: denied",
    ]
    options, choices = app.session_state["options"], app.session_state["choices"]
    assert (options.engine, options.durability, options.stream_tokens) == ("async", "exit", False)
    assert choices.approval.rule("web_search") == "deny"
    assert [w.value for w in app.warning if w.value == EXIT_COST] == [EXIT_COST]


def test_a_value_the_url_cannot_mean_falls_back_to_the_default(app):
    app.query_params["set_engine"] = "turbo"
    app.run()
    assert not app.exception
    assert app.session_state["options"].engine == "sync" and "sync engine" in chip_labels(app)
    assert any("set_engine=turbo is not a choice of Engine" in w.value for w in app.warning)


def test_no_key_or_address_is_bound_to_the_url(app):
    """A shared link carries no secret and no server a stranger picked for your key."""
    app.query_params["set_openai_key"] = "sk-from-a-link"
    app.query_params["set_base_url"] = "http://attacker.example/v1"
    app.query_params["set_provider"] = "compatible"
    app.run()
    assert not app.exception
    assert app.text_input(key="set_base_url").value != "http://attacker.example/v1"
    assert app.session_state["choices"].base_url != "http://attacker.example/v1"


def test_durability_exit_says_its_cost_before_sending(app):
    app.run()
    app.radio(key="set_durability").set_value("exit").run()
    assert EXIT_COST in [w.value for w in app.warning]
    assert "durability exit" in chip_labels(app)


def test_always_allow_from_the_card_becomes_a_chip_and_can_be_taken_back(app):
    app.run()
    app.chat_input(key="chat_prompt").set_value("How does LangGraph persistence work?").run()
    finish_runs(app)
    thread_id = app.query_params["thread"]
    assert backend().thread_view(LOCAL_USER, thread_id).waiting_for_approval
    box = [c for c in app.checkbox if c.label.startswith("Always allow")]
    assert box and box[0].label == "Always allow web_search in this thread"
    box[0].check().run()
    button(app, "Continue").click().run()
    finish_runs(app)
    assert backend().get_thread(LOCAL_USER, thread_id).allowed_tools == ("web_search",)
    assert "web_search always allowed here" in chip_labels(app)
    rows = backend().timeline(LOCAL_USER, thread_id, limit=100).rows
    assert any("always allow web_search in this thread" in row.label for row in rows)
    button(app, "Ask again").click().run()
    assert backend().get_thread(LOCAL_USER, thread_id).allowed_tools == ()
    assert not any("always allowed" in label for label in chip_labels(app))


def test_chip_texts_name_the_model_when_one_is_chosen():
    from agent.protocol import AgentChoices, RunOptions

    labels = [
        c.label for c in chips(AgentChoices(provider="openai", model_name="gpt-4o"), RunOptions())
    ]
    assert labels[0] == "OpenAI · gpt-4o"
