"""A clickable diagram: boxes and lines laid out in Python, drawn as SVG in the browser.

Streamlit's Graphviz chart cannot say which node was clicked, and the Inspector navigates by
clicking: a node of the graph filters the timeline, a node of the fork tree picks a checkpoint.
This is a small `st.components.v2` component whose script is inline (nothing is fetched: the
app stays offline). Every text reaches the SVG as a text node (`textContent`), never as markup,
so a label read from an imported file stays inert; ids travel back as plain strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import streamlit as st

CHAR_WIDTH = 7.0  # px per character at the diagram's 13 px font, a little generous
SMALL_CHAR_WIDTH = 6.0  # at its 11 px font (the lines under a box's name)
LINE_HEIGHT = 17.0

_JS = """
const NS = "http://www.w3.org/2000/svg";
function el(name, attrs, parent) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  parentElement.querySelectorAll("svg").forEach((old) => old.remove());
  const svg = el("svg", {
    viewBox: `0 0 ${data.width} ${data.height}`, width: "100%", role: "group",
    "aria-label": data.alt, "data-diagram": data.name,
  });
  svg.style.maxWidth = `${data.width}px`;
  const arrow = el("marker", {
    id: `arrow-${data.name}`, viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
  }, el("defs", {}, svg));
  el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "head" }, arrow);
  for (const line of data.lines) {
    const [start, ...rest] = line.points;
    const d = rest.length === 2
      ? `M ${start[0]} ${start[1]} Q ${rest[0][0]} ${rest[0][1]} ${rest[1][0]} ${rest[1][1]}`
      : `M ${line.points.map((p) => p.join(" ")).join(" L ")}`;
    const path = el("path", { d, class: `line ${line.dashed ? "dashed" : ""}` }, svg);
    if (line.arrow) path.setAttribute("marker-end", `url(#arrow-${data.name})`);
    if (line.label) {
      const text = el("text", { x: line.label_at[0], y: line.label_at[1], class: "edge" }, svg);
      text.textContent = line.label;
    }
  }
  for (const box of data.boxes) {
    const group = el("g", { class: `box ${box.shape} ${box.marks.join(" ")}`, "data-id": box.id }, svg);
    if (box.shape === "dot") {  // the whole row answers a click, not just the dot
      el("rect", { x: box.x, y: box.y, width: box.w, height: box.h, rx: 4, class: "hit" }, group);
      el("circle", { cx: box.x + box.h / 2, cy: box.y + box.h / 2, r: box.h / 2 - 3 }, group);
    } else {
      el("rect", { x: box.x, y: box.y, width: box.w, height: box.h,
                   rx: box.shape === "oval" ? box.h / 2 : 8 }, group);
    }
    const middle = box.shape === "dot" ? box.text_x : box.x + box.w / 2;
    const top = box.y + box.h / 2 - ((box.lines.length - 1) * data.line_height) / 2;
    box.lines.forEach((line, index) => {
      const text = el("text", { x: middle, y: top + index * data.line_height,
                                class: index ? "sub" : "main" }, group);
      text.textContent = line;
    });
    el("title", {}, group).textContent = box.title;
    if (box.clickable) {
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "button");
      group.setAttribute("aria-label", box.title);
      const pick = () => setTriggerValue("picked", box.id);
      group.addEventListener("click", pick);
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); pick(); }
      });
    }
  }
  parentElement.appendChild(svg);
}
"""

_CSS = """
svg { display: block; margin: 0 auto; font-family: var(--st-font, sans-serif); font-size: 13px;
      overflow: visible; }
.line { fill: none; stroke: #8b909c; stroke-width: 1.4; }
.line.dashed { stroke-dasharray: 5 4; }
.head { fill: #8b909c; }
text { fill: var(--st-text-color, #31333f); dominant-baseline: middle; }
text.edge { font-size: 11px; fill: #6b7280; text-anchor: middle; }
.box text { text-anchor: middle; pointer-events: none; }
.box text.sub { font-size: 11px; fill: #6b7280; }
.box.dot text { text-anchor: start; }
.box rect, .box circle { fill: #f0f2f6; stroke: #c3c7d0; stroke-width: 1.2; }
.box[role=button] { cursor: pointer; outline: none; }
.box[role=button]:hover rect, .box[role=button]:hover circle,
.box[role=button]:focus-visible rect, .box[role=button]:focus-visible circle {
  stroke: #1d4ed8; stroke-width: 2; }
.box rect.hit { fill: transparent; stroke: none; }
.box.dot[role=button]:hover rect.hit, .box.dot[role=button]:focus-visible rect.hit {
  fill: rgba(29, 78, 216, 0.08); stroke: none; }
.box.approval rect { stroke: #d97706; stroke-width: 2; }
.box.wrote rect, .box.wrote circle { stroke: #111827; stroke-width: 2.5; }
.box.next rect, .box.next circle { fill: #bfdbfe; stroke: #1d4ed8; stroke-width: 3; }
.box.filter rect { fill: #fef3c7; stroke: #b45309; stroke-width: 3; }
.box.head circle { stroke: #1d4ed8; stroke-width: 2.5; }
.box.picked circle { fill: #1d4ed8; stroke: #1d4ed8; }
.box.picked text.main { font-weight: 600; }
.box.off text { fill: #9ca3af; }
"""

_component = st.components.v2.component("waypoint_diagram", js=_JS, css=_CSS)


@dataclass(frozen=True)
class Box:
    """A box (or, with shape "dot", a dot with its label to the right) at (x, y), in px."""

    id: str
    x: float
    y: float
    w: float
    h: float
    lines: tuple[str, ...]
    title: str  # the tooltip, and the name a screen reader reads
    shape: str = "box"  # "box" | "oval" | "dot"
    marks: tuple[str, ...] = ()  # CSS classes: "next", "wrote", "filter", "approval", ...
    clickable: bool = True
    text_x: float = 0.0  # for a dot: where its label starts (labels of several lanes line up)


@dataclass(frozen=True)
class Line:
    """A polyline, or with three points a curve through the middle one as control point."""

    points: tuple[tuple[float, float], ...]
    label: str = ""
    label_at: tuple[float, float] = (0.0, 0.0)
    dashed: bool = False
    arrow: bool = True


def text_width(lines: Sequence[str]) -> float:
    """About how wide the lines draw: the first at the main font, the others at the small one."""
    widths = [
        len(line) * (CHAR_WIDTH if n == 0 else SMALL_CHAR_WIDTH) for n, line in enumerate(lines)
    ]
    return max(widths, default=0.0)


def diagram(
    name: str,
    boxes: Sequence[Box],
    lines: Sequence[Line],
    size: tuple[float, float],
    alt: str,
    key: str,
) -> str | None:
    """Draw it; the id of the box clicked, on the rerun that click caused (else None)."""
    data = {
        "name": name,
        "width": round(size[0], 1),
        "height": round(size[1], 1),
        "alt": alt,
        "line_height": LINE_HEIGHT,
        "boxes": [asdict(box) for box in boxes],
        "lines": [asdict(line) for line in lines],
    }
    result = _component(data=data, key=key, on_picked_change=lambda: None)
    picked = getattr(result, "picked", None)
    return picked if isinstance(picked, str) else None
