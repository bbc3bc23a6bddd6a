"""Text normalisation for the classifier, and the durations a text states.

Every field is normalised once into a lower-case copy of the same length as the original,
with emoji and most punctuation turned into spaces, so that case, emoji and punctuation
noise cannot change a verdict and reasons can quote the original words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# --------------------------------------------------------------------------- text


_QUOTES = str.maketrans(
    {
        "×": "x",
        "’": "'",
        "′": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
        "″": '"',
        "–": "-",
        "—": "-",
        "‑": "-",
        "−": "-",
        "_": " ",
        "•": " ",
        "·": " ",
        "，": ",",
        "、": ",",
        "；": ";",
        "：": ":",
    }
)
# Characters kept as they are carry workout structure ("6x800m", "@ 5k", "1:30", "z4/5",
# "+" between the parts of a brick, "%" of FTP). Everything else that is not a letter,
# digit or space (emoji, quotes, brackets, bullets) becomes a space.
_NON_WORD = re.compile(r"[^\w\s\-:/.@%+&'<>=,;]")
# A token made only of punctuation ("-", "...", "//", ":") is a separator, not content.
_PUNCT_TOKEN = re.compile(r"(?:(?<=\s)|^)[\-:/.,'=<>]+(?=\s|$)")
_SPACES = re.compile(r"\s+")


_Extra = tuple[tuple[str, str], ...]  # an event's extra properties, sorted


@dataclass(frozen=True, slots=True)
class _Text:
    """A field of the event: `raw` for quoting, `low` (same length) for matching."""

    raw: str
    low: str

    def quote(self, start: int, end: int) -> str:
        """The original words of low[start:end], without emoji or extra spaces."""
        kept = "".join(
            c if self.low[start + i] != " " else " " for i, c in enumerate(self.raw[start:end])
        )
        return _SPACES.sub(" ", kept).strip(" -:/.,'=<>")


_EMPTY = _Text("", "")


def _text(s: str) -> _Text:
    if not s:
        return _EMPTY
    if s.isascii():  # the common case: nothing to fold but case, "_" and "`"
        raw = s.replace("_", " ").replace("`", "'") if ("_" in s or "`" in s) else s
    else:
        raw = unicodedata.normalize("NFKC", s).translate(_QUOTES)
    low = raw.lower()
    if len(low) != len(raw):  # a few characters lower-case to two; keep positions aligned
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in raw)
    low = _NON_WORD.sub(" ", low)
    # Newlines stay: they end a clause, and no pattern reads across them.
    low = low.replace("\t", " ").replace("\r", "\n")
    low = _PUNCT_TOKEN.sub(_blank, low)
    return _Text(raw, low)


def _blank(m: re.Match[str]) -> str:
    return " " * (m.end() - m.start())


# --------------------------------------------------------------------------- durations

_HMS = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2}):(\d{2})(?![\d:/])")
_H_MIN = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})\s*(?:h|hr|hrs|std)(?![\w])")
_HOURS = re.compile(
    r"(?<![\w.,x])(\d+(?:[.,]\d+)?)\s*(?:h|hr|hrs|hours?|std|stunden?|heures?|小时)"
    r"(?:\s*(\d{1,2})\s*(?:m|min|mins)?)?(?![\w])"
)
_MINS = re.compile(
    r"(?<![\w.,x])(?:(\d+)\s*(?:-|to|bis|à)\s*)?(\d+)\s*(?:min|mins|minutes?|minuten|分钟)"
    r"(?![\w])"
)
_DURATION_LABEL = re.compile(
    r"(?:duration|dauer|durée|total\s+session|total\s+time|moving\s+time|planned(?:\s+time)?|"
    r"temps)\s*[:=]?\s*([^\n]{0,30})",
    re.IGNORECASE,
)
# Runna's first description line: "Long Run • 18km • 1h50m - 2h" (the range's upper end),
# read from the normalised line ("long run 18km 1h50m   2h").
_RUNNA_TIME = re.compile(
    r"\d\s*(?:km|mi)\s+(?:\d+h)?\s*(?:\d+m)?\s*-?\s*(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m)?\s*$"
)
_DIGIT = re.compile(r"\d")
_REP_BEFORE = re.compile(r"x\s*\(?\s*$")


def _minutes_in(text: str, *, normalised: bool = False) -> int | None:
    """The first duration stated in `text` (a range gives its upper end)."""
    if not _DIGIT.search(text):
        return None
    # Emoji and punctuation noise must not hide "30 min".
    s = text if normalised else _text(text).low
    found: list[tuple[int, float]] = []
    for m in _HMS.finditer(s):
        found.append((m.start(), int(m[1]) * 60 + int(m[2]) + int(m[3]) / 60))
    for m in _H_MIN.finditer(s):
        found.append((m.start(), int(m[1]) * 60 + int(m[2])))
    for m in _HOURS.finditer(s):
        if _REP_BEFORE.search(s[: m.start()]):
            continue
        h = float(m[1].replace(",", "."))
        found.append((m.start(), h * 60 + (int(m[2]) if m[2] else 0)))
    for m in _MINS.finditer(s):
        if _REP_BEFORE.search(s[: m.start()]):
            continue
        if any(a <= m.start() < a + 8 for a, _ in found):
            continue  # the "30" of "1 h 30 min" was read with its hours
        found.append((m.start(), float(m[2])))
    found.sort()
    for _, v in found:
        if 1 <= v <= 24 * 60:
            return int(v + 0.5)  # half a minute rounds up, not to even
    return None


def _minutes(extra: _Extra, description: str, run_low: str) -> int | None:
    for k, v in extra:
        if "DURATION" in k.upper():
            try:
                secs = float(v.strip())
            except ValueError:
                got = _minutes_in(v)
                if got:
                    return got
                continue
            if 60 <= secs <= 24 * 3600:
                return round(secs / 60)
    got = _minutes_in(run_low, normalised=True)
    if got is None and description:
        m = _DURATION_LABEL.search(description)
        if m:
            got = _minutes_in(m[1])
        runna = _RUNNA_TIME.search(_text(description.lstrip().split("\n", 1)[0]).low)
        if got is None and runna and (runna["h"] or runna["m"]):
            got = int(runna["h"] or 0) * 60 + int(runna["m"] or 0)
    return got
