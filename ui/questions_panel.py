"""Your own graph's questions: each `interrupt()` that is not about tool calls, and its answer.

The question's payload is shown as JSON (inert text, long strings cut). Where it carries a JSON
Schema (LangGraph's `response_schema`) the answer is a form built from it (`ui.schema_form`);
otherwise a box takes JSON, or plain text sent as a string. Several questions (parallel nodes,
subgraphs) are answered together, one box each, in one `Command(resume={id: answer, ...})`.
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import Backend, RunOptions, ThreadView
from ui.feedback import attempt
from ui.identity import current_user
from ui.long_text import json_view
from ui.schema_form import schema_form, supported

QUESTIONS_HELP = (
    "The graph called `interrupt()`: it stopped inside a node and saved a checkpoint. Your answer "
    "becomes the value `interrupt()` returns when the node runs again (`Command(resume=...)`)."
)


def questions_panel(backend: Backend, view: ThreadView, options: RunOptions) -> None:
    count = len(view.questions)
    st.warning(
        f"The graph asks {'a question' if count == 1 else f'{count} questions'} and waits: "
        "nothing runs until you answer.",
        icon=":material/help:",
    )
    st.caption(QUESTIONS_HELP)
    answers: dict[str, str] = {}
    for number, question in enumerate(view.questions, 1):
        with st.container(border=True):
            if count > 1:
                st.markdown(f"**Question {number} of {count}**")
            json_view(question.value, "question", f"question_{question.id}", expanded=True)
            key = f"answer_{question.id}"
            if supported(question.schema):
                assert question.schema is not None
                answers[question.id] = schema_form(question.schema, key, question.value)
                with st.expander("The answer as JSON, and the schema it follows"):
                    st.code(answers[question.id], language="json", wrap_lines=True)
                    json_view(question.schema, "schema", f"schema_{question.id}", expanded=False)
            else:
                answers[question.id] = st.text_area(
                    "Your answer (JSON, or plain text)",
                    key=key,
                    placeholder='e.g. yes, or {"approve": true}',
                    help="Text that reads as JSON is sent as that value; any other text as a string.",
                )
                if question.schema:
                    with st.expander("The answer it expects (JSON Schema)"):
                        json_view(question.schema, "schema", f"schema_{question.id}", expanded=True)
    label = "Send the answer" if count == 1 else "Send the answers"
    if st.button(label, type="primary", icon=":material/send:", key="answer_questions"):
        attempt(lambda: backend.answer(current_user(), view.thread.id, answers, options))
