"""Text for a terminal, measured in display columns: pad, elide, wrap, colour.

Pure helpers for `report.py`. Widths come from wcwidth (a CJK character or an emoji takes
two columns, a combining mark none), never from `len()`, so columns line up whatever
the titles hold. Colour is plain SGR codes, added after measuring and only when the
caller asks (cli.py decides: a TTY, NO_COLOR, --color).
"""

from __future__ import annotations

import wcwidth

ELLIPSIS = "…"


def width(text: str) -> int:
    """Display columns `text` takes (no escape codes expected)."""
    return max(0, wcwidth.width(text))


def pad(text: str, cols: int) -> str:
    """`text` followed by spaces up to `cols` display columns."""
    return text + " " * max(0, cols - width(text))


def elide(text: str, cols: int) -> str:
    """`text` cut to `cols` display columns with "…", never inside a character.

    The cut goes at a word boundary when one is near the end (no "thresh…"), else at a
    character: a long word is better cut than dropped whole.
    """
    text = " ".join(text.split())
    if width(text) <= cols:
        return text
    if cols <= 1:
        return ELLIPSIS[:cols]
    kept: list[str] = []
    used = 0
    for g in wcwidth.iter_graphemes(text):
        w = width(g)
        if used + w > cols - 1:
            break
        kept.append(g)
        used += w
    cut = "".join(kept)
    space = cut.rfind(" ")
    if space >= max(1, int(len(cut) * 0.6)):
        cut = cut[:space]
    return cut.rstrip(" ,;:·-–") + ELLIPSIS


def wrap(text: str, cols: int | None, indent: str = "") -> list[str]:
    """`text` as lines of at most `cols` display columns, broken between words; lines
    after the first start with `indent`. `cols=None`: one line, as it is."""
    if cols is None:
        return [text]
    lines = wcwidth.wrap(text, max(1, cols), subsequent_indent=indent, break_on_hyphens=False)
    return lines or [""]


_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "magenta": "35",
    "cyan": "36",
    "bold_cyan": "1;36",
}


class Paint:
    """Colours text when enabled, else returns it unchanged."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, style: str, text: str) -> str:
        if not self.enabled or not text or not style:
            return text
        return f"\x1b[{_CODES[style]}m{text}\x1b[0m"
