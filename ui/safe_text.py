"""Untrusted text made inert for Streamlit: it fetches nothing and carries no markup of its own.

Model answers, tool results, search titles, what a person types, imported thread titles and
checkpoint metadata are written by whoever controls a model, a web page or a file. Streamlit
renders Markdown nearly everywhere (bodies, captions, alerts, subheaders and the labels of
buttons, expanders, tabs and radios), and in that Markdown an image, `![x](https://…)`, makes the
browser fetch its address with no click: a way out for a prompt injection. Streamlit adds its own
syntax on top (`:material/…:` icons, `:color[…]` directives, `:streamlit:`, `$…$` math).

So every such text reaches the page through one of these:
- `markdown(text)` for model and tool text: emphasis, lists, headings, quotes, tables, code and
  links stay; an image becomes a visible link that is not loaded; raw HTML, math, directives and
  icons show as typed.
- `plain(text)` for titles, labels and sentences (one line, capped), and `plain_block(text)` for
  what a person typed (lines kept): every character that means something in Markdown is escaped.
- `code(text)` for an inline code span holding any text (a tool call, an id), and `link_target`
  for an address placed inside a link.

Why no image can get through, whatever the browser's parser makes of the rest: an image always
starts with `!` immediately followed by `[`, and no output of this module holds that pair (where
nothing else broke it, a word joiner goes between them). Streamlit's icons and logo come from
plain-text patterns matched after parsing, so escaping cannot stop them; a word joiner inside
the pattern does. The rest is escaped outside code, which is about showing text as it was
written: nothing else in Streamlit's Markdown fetches.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote

from agent.protocol import clean

LABEL_CHARS = 200  # a label or a title: one line
SENTENCE_CHARS = 1_000  # an error or a notice
WORD_JOINER = "\u2060"  # invisible, and breaks a pattern without breaking the line

# Invisible or reordering characters (bidirectional overrides, zero-width spaces) and control
# characters other than tab and newline: they can hide a payload from the eye, never help.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
# Patterns that Streamlit turns into markup after parsing: an image, a Material icon, its logo.
_DEFUSE = re.compile(r"!(?=\[)|:(?=material[/_]|streamlit:)")
_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_ALWAYS = frozenset("\\`*~[]<$|")  # escaped wherever they are in plain text
_LINE_START = re.compile(r"(\s*)([-+=#>]|\d+[.)])")  # a list item, heading, quote, underline


def _defuse(text: str) -> str:
    return _DEFUSE.sub(lambda found: found.group() + WORD_JOINER, text)


def _escape_line(line: str) -> str:
    """One line with every character that means something in Markdown escaped: `_` unless inside
    a word, `:` before a name (a directive), `&` before a name (an entity), the rest always."""
    out = []
    for index, char in enumerate(line):
        after = line[index + 1 : index + 2]
        if (
            char in _ALWAYS
            or (char == "_" and not _inside_word(line, index))
            or (char == ":" and (after.isalpha() or after == ":"))
            or (char == "&" and (after.isalnum() or after == "#"))
        ):
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = "".join(out)
    if start := _LINE_START.match(escaped):
        lead, marker = start.groups()
        escaped = lead + marker[:-1] + "\\" + marker[-1] + escaped[start.end() :]
    return escaped


def _inside_word(line: str, index: int) -> bool:
    return 0 < index < len(line) - 1 and line[index - 1].isalnum() and line[index + 1].isalnum()


def plain(text: object, limit: int = LABEL_CHARS) -> str:
    """`text` shown as it is, on one line of at most `limit` characters, in any Markdown place."""
    return _defuse(_escape_line(clean(_INVISIBLE.sub("", str(text)), limit)))


def plain_block(text: str) -> str:
    """What a person typed, shown as it is in Markdown: lines and indentation kept, no markup."""
    lines = []
    for line in _INVISIBLE.sub("", text.replace("\r\n", "\n")).split("\n"):
        body = line.lstrip(" \t")
        indent = "\u00a0" * (len(line) - len(body))  # spaces Markdown would drop, or read as code
        lines.append(indent + _escape_line(body.rstrip()))
    return _defuse("  \n".join(lines))


def code(text: object, limit: int = LABEL_CHARS) -> str:
    """`text` on one line as an inline code span that no backtick inside can close early."""
    body = clean(_INVISIBLE.sub("", str(text)), limit)
    if not body:
        return ""
    fence = "`" * (max(map(len, re.findall("`+", body)), default=0) + 1)
    pad = " " if body[0] == "`" or body[-1] == "`" else ""
    return _defuse(f"{fence}{pad}{body}{pad}{fence}")


def link_target(url: str) -> str:
    """An address to put in `[text](here)`: nothing in it can end the link or start markup."""
    target = quote(_INVISIBLE.sub("", url.strip()), safe="/:?#[]@&=+;,%~-._'*")
    return _DEFUSE.sub("%3A", target)  # only `:` can match here: `!` is encoded


@functools.lru_cache(maxsize=512)
def markdown(text: str) -> str:
    """Model or tool text as Markdown that keeps its formatting, links and code, and fetches
    nothing: images become links, and HTML, math and Streamlit's own syntax show as typed."""
    out: list[str] = []
    fence: tuple[int, str] | None = None  # the open code block's indentation and fence
    for line in _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n"):
        if fence is not None:
            indent, marker = fence
            if line.strip() and len(line) - len(line.lstrip(" ")) < indent:
                # Less indented than its fence: in a list item this line ends the block, so the
                # block is closed for certain here, and the line is read afresh below.
                out.append(" " * indent + marker)
                fence = None
            else:
                out.append(line)
                if _closes(line, marker):
                    fence = None
                continue
        opening = _FENCE.fullmatch(line)
        if opening and not (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            fence = (len(opening.group(1)), opening.group(2))
            out.append(line)
            continue
        out.append(_inline(line))
    return _defuse("\n".join(out))


def _closes(line: str, marker: str) -> bool:
    found = re.fullmatch(r" {0,3}(`+|~+)[ \t]*", line)
    return found is not None and found[1][0] == marker[0] and len(found[1]) >= len(marker)


def _inline(line: str) -> str:
    """One line outside code blocks: code spans kept, images made links, the rest escaped."""
    out, index, size = [], 0, len(line)
    while index < size:
        char = line[index]
        if char == "\\":  # an escape stays as written, so `\\![` cannot gain a live `!`
            out.append(line[index : index + 2])
            index += 2
            continue
        if char == "`":
            run = len(line) - len(line[index:].lstrip("`"))
            end = _span_end(line, index, run)
            out.append(line[index:end])
            index = end
            continue
        if char == "!" and line.startswith("[", index + 1):
            out.append("[image: ")
            index += 2
            continue
        if char in "<$" or (char == ":" and line[index + 1 : index + 2].isalpha()):
            out.append("\\" + char)
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _span_end(line: str, start: int, run: int) -> int:
    """Where the code span opened by `run` backticks at `start` ends (after its closing run);
    just after the opening run when nothing closes it (then the backticks are plain text)."""
    for found in re.finditer("`+", line[start + run :]):
        if len(found.group()) == run:
            return start + run + found.end()
    return start + run


def clip(text: str, limit: int) -> str:
    """The start of `text`, at most `limit` characters, cut at a line end when one is near."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    line_end = cut.rfind("\n", limit * 4 // 5)
    return cut[: line_end + 1] if line_end > 0 else cut
