"""Helpers for the week-view page tests: a real plan from a real calendar, and an HTML tree.

Not a test module itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from calsync import report
from calsync.config import load_config
from calsync.state import StateStore
from calsync.sync import compute

REPO = Path(__file__).resolve().parent.parent
HOSTILE = REPO / "tests" / "calendars" / "hostile_html_titles.ics"
# A Tuesday morning in the calendar's first week (Europe/Berlin).
NOW = "2026-12-01T07:00:00+01:00"
XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def write_page_config(
    folder: Path,
    *,
    source: Path = HOSTILE,
    token: str = "test-token-0123456789abcdefghij",
    horizon_days: int = 21,
    extra: str = "",
) -> Path:
    """A config reading `source` (runs) in Europe/Berlin, ICS output and state in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f"""
[schedule]
timezone = "Europe/Berlin"
horizon_days = {horizon_days}

[[source]]
type = "ics"
url = "{source}"
role = "runs"

[output.ics]
path = "out/strength.ics"

[state]
path = "state/state.sqlite3"

[feed]
token = "{token}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def plan_data(config_path: Path, now: str = NOW) -> dict[str, Any]:
    """What `calsync plan --json` prints for this config at `now` (computed in-process)."""
    config = load_config(config_path)
    store = StateStore(config.state_path) if config.state_path.exists() else None
    try:
        result = compute(config, datetime.fromisoformat(now), store)
    finally:
        if store is not None:
            store.close()
    return report.plan_json(
        result.plan,
        config.schedule.zone,
        busy=result.inputs.busy,
        own_strength=result.inputs.own_strength,
    )


# --------------------------------------------------------------------------- an HTML tree

VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "area", "base", "col"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    content: list[Node | str] = field(default_factory=list)  # children and text, in order

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        """All text inside, as a browser's textContent would join it (roughly)."""
        parts: list[str] = []

        def walk(n: Node) -> None:
            if n.tag in ("style", "head"):
                return  # not shown
            for c in n.content:
                if isinstance(c, str):
                    parts.append(c)
                else:
                    walk(c)

        walk(self)
        return " ".join(" ".join(parts).split())

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        out: list[Node] = []

        def walk(n: Node) -> None:
            for c in n.children:
                if (tag is None or c.tag == tag) and (cls is None or cls in c.classes):
                    out.append(c)
                walk(c)

        walk(self)
        return out

    def ancestor(self, tag: str, cls: str | None = None) -> Node | None:
        n = self.parent
        while n is not None:
            if n.tag == tag and (cls is None or cls in n.classes):
                return n
            n = n.parent
        return None


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.cur = self.root
        self.all_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.all_tags.append(tag)
        node = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        self.cur.content.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_endtag(self, tag: str) -> None:
        n: Node | None = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        assert n is not None and n.parent is not None, f"stray </{tag}>"
        self.cur = n.parent

    def handle_data(self, data: str) -> None:
        self.cur.content.append(data)


def parse_html(html: str) -> tuple[Node, list[str]]:
    """The document tree and every start tag in document order."""
    b = _Builder()
    b.feed(html)
    b.close()
    assert b.cur is b.root, f"unclosed <{b.cur.tag}>"
    return b.root, b.all_tags
