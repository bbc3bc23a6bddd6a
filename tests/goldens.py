"""Golden files: what the CLI prints, kept under tests/golden/ for people to read.

`check(name, text)` compares `text` with tests/golden/<name>; run the tests with
CALSYNC_UPDATE_GOLDEN=1 to write them anew after an intended change (then read the diff).
Colours are stored readably: ESC[1;36m becomes <1;36>, ESC[0m becomes </>.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import wcwidth

GOLDEN = Path(__file__).parent / "golden"

_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def readable(text: str) -> str:
    return _SGR.sub(lambda m: "</>" if m[1] == "0" else f"<{m[1]}>", text)


def plain(text: str) -> str:
    return _SGR.sub("", text)


def cols(line: str) -> int:
    """Display columns of a line (colour codes take none)."""
    return int(wcwidth.width(plain(line)))


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    text = readable(text)
    if os.environ.get("CALSYNC_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
        return
    want = path.read_text(encoding="utf-8")
    if text != want:
        diff = "".join(
            difflib.unified_diff(
                want.splitlines(True), text.splitlines(True), f"golden/{name}", "now"
            )
        )
        raise AssertionError(f"output differs from tests/golden/{name}:\n{diff}")
