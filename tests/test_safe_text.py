"""The sanitiser of untrusted text (ui/safe_text.py), against a table of payloads.

The promise checked everywhere: no output holds an image (`!` right before `[`) or one of the
plain-text patterns Streamlit turns into markup after parsing (`:material/…:`, `:streamlit:`).
Then, per payload, that what should show as typed is escaped and what is allowed still works.
The real renderer is checked by tests/test_browser_inert.py, which shows the same payloads.
"""

from __future__ import annotations

import re

import pytest

from ui.long_text import clip_strings
from ui.safe_text import WORD_JOINER, clip, code, link_target, markdown, plain, plain_block

LEAK = "http://127.0.0.1:9/leak"


# Every way to ask Streamlit's Markdown for markup we know of: the browser test shows these too.
def payloads(leak: str) -> list[str]:
    """The payloads, each pointing its fetches at `leak` (a URL with no trailing slash)."""
    return [
        f"![inline]({leak}/inline.png)",
        f'![titled]({leak}/titled.png "title")',
        f"![ref][1]\n\n[1]: {leak}/ref.png",
        f"![collapsed][]\n\n[collapsed]: {leak}/collapsed.png",
        f"![shortcut]\n\n[shortcut]: {leak}/shortcut.png",
        f"[![badge]({leak}/badge.png)](https://example.com)",
        f"\\\\![after an escaped backslash]({leak}/parity.png)",
        f"!\u200b[zero width]({leak}/zw.png)",
        f"`code` ![after code]({leak}/after-code.png) `more`",
        f"`![in a code span]({leak}/span.png)`",
        f"```\n![in a fence]({leak}/fence.png)\n```",
        f"- item\n  ```\n![out of the item's fence]({leak}/breakout.png)\n```",
        f"<img src={leak}/html.png>",
        f'<picture><source srcset="{leak}/srcset.png"></picture>',
        f"<{leak}/autolink.png>",
        f"| a | b |\n|---|---|\n| `x|![cell]({leak}/cell.png)` | y |",
        f"$\\includegraphics{{{leak}/math.png}}$",
        ":material/home: :material_home: :streamlit:",
        f':red[red] :color[x]{{background="url({leak}/css.png)"}} ::leaf :::box',
        f"<div>\n\n![inside html]({leak}/div.png)\n\n</div>",
        f"> quote ![in a quote]({leak}/quote.png)",
        f"1. list ![in a list]({leak}/list.png)",
        "\u202eevil\u202c and a \x00 null",
    ]


PAYLOADS = payloads(LEAK)

DANGER = re.compile(r"!\[|:(material[/_]|streamlit:)")


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("make_safe", [markdown, plain, plain_block, code])
def test_no_output_holds_an_image_or_an_icon(payload, make_safe):
    safe = make_safe(payload)
    assert not DANGER.search(safe), safe
    assert "\u202e" not in safe and "\x00" not in safe


def test_images_become_visible_links_that_are_not_loaded():
    assert (
        markdown("see ![a chart](https://x.org/c.png)")
        == "see [image: a chart](https://x.org/c.png)"
    )
    assert markdown("![ref][1]\n\n[1]: https://x.org/r.png") == (
        "[image: ref][1]\n\n[1]: https://x.org/r.png"
    )
    assert markdown("![](https://x.org/e.png)") == "[image: ](https://x.org/e.png)"


def test_an_escape_stays_an_escape():
    # `\\` is an escaped backslash, so the `!` after it is live: it must still be caught.
    assert markdown("\\\\![x](u)") == "\\\\[image: x](u)"
    # `\!` is a literal `!` before a link: kept, with the pair broken for certain.
    assert markdown("\\![x](u)") == f"\\!{WORD_JOINER}[x](u)"


def test_safe_markdown_keeps_formatting_links_and_code():
    text = (
        "# Title\n\nSome **bold**, *italic*, ~~struck~~ and `a < b` code.\n\n"
        "- one\n- two [link](https://example.com/a_b)\n\n1. first\n\n> quoted\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nif a < b and x != y: print('$5')\n```"
    )
    assert markdown(text) == text


def test_html_math_and_directives_show_as_typed():
    assert markdown("a <b>bold</b> tag") == "a \\<b>bold\\</b> tag"
    assert markdown("costs $5 or $6") == "costs \\$5 or \\$6"
    assert markdown(":red[alarm] at 10:30") == "\\:red[alarm] at 10:30"
    assert markdown("see http://example.com/x") == "see http://example.com/x"


def test_code_is_left_as_written():
    assert markdown("`<b>` and `$x`") == "`<b>` and `$x`"
    assert markdown("```\n<b> $x :red[y]\n```") == "```\n<b> $x :red[y]\n```"
    # Images inside code show as typed; the word joiner between `!` and `[` is invisible.
    assert markdown("`![x](u)`") == f"`!{WORD_JOINER}[x](u)`"


def test_a_line_less_indented_than_its_fence_closes_it_first():
    # In a list item, the unindented line ends the item and so the code block: it is text.
    safe = markdown("- item\n  ```\n<b>\n```")
    assert safe == "- item\n  ```\n  ```\n\\<b>\n```"


def test_plain_escapes_every_markup_character_on_one_line():
    assert plain("a *b* _c_ [d](e) `f` <g> $h ~i~ |j| \\k") == (
        "a \\*b\\* \\_c\\_ \\[d\\](e) \\`f\\` \\<g> \\$h \\~i\\~ \\|j\\| \\\\k"
    )
    assert plain("# not a heading") == "\\# not a heading"
    assert plain("1. not a list") == "1\\. not a list"
    assert plain("- nor this") == "\\- nor this"
    assert plain(":blue[no] &amp; no") == "\\:blue\\[no\\] \\&amp; no"
    # What means nothing stays readable: words with underscores, times, addresses, questions.
    assert (
        plain("web_search at 10:30 on 127.0.0.1:9, ok?")
        == "web_search at 10:30 on 127.0.0.1:9, ok?"
    )
    assert plain("two\nlines") == "two lines"


def test_plain_is_capped():
    assert len(plain("word " * 1000)) <= 200
    assert len(plain("x" * 5000, limit=50)) == 50


def test_plain_block_keeps_lines_and_indentation():
    assert plain_block("one\n  two *x*\n\n# three") == (
        "one  \n\u00a0\u00a0two \\*x\\*  \n  \n\\# three"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("web_search(query='x')", "`web_search(query='x')`"),
        ("a`b", "``a`b``"),
        ("`x", "`` `x ``"),
        ("a``b`", "``` a``b` ```"),
        ("", ""),
    ],
)
def test_code_span_cannot_be_broken_out_of(text, expected):
    assert code(text) == expected


def test_link_target_cannot_end_the_link():
    target = link_target("https://x.org/a b) ![x](http://evil/leak) <y> `z`")
    assert not re.search(r"[ ()<>`!\\]", target), target
    assert target.startswith("https://x.org/a%20b%29")


def test_clip_cuts_at_a_line_end_when_one_is_near():
    text = "a" * 90 + "\n" + "b" * 50
    assert clip(text, 100) == "a" * 90 + "\n"
    assert clip("x" * 200, 100) == "x" * 100
    assert clip("short", 100) == "short"


def test_clip_strings_cuts_long_strings_anywhere_in_json():
    value = {"messages": [{"content": "y" * 5000, "id": "m1"}], "k" * 3000: 1}
    shown, cut = clip_strings(value, 100)
    assert cut
    assert shown["messages"][0]["content"].startswith("y" * 100 + "… [4,900 more characters]")
    assert shown["messages"][0]["id"] == "m1"
    assert clip_strings({"a": "b"}, 100) == ({"a": "b"}, False)
