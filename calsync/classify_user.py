"""The user's word on an event, which outranks every built-in rule: tags (`#hard` `#easy`
`#race` `#norun` `#strength`) anywhere in the event, then the `[classify]` patterns of the
config (which `calsync classify --review` and `--set` write)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from calsync.classify_text import _SPACES
from calsync.config import ClassifyRules
from calsync.errors import ConfigError
from calsync.model import Intensity, Verdict

if TYPE_CHECKING:  # classify imports this module
    from calsync.classify import _Fields

_TAG = re.compile(r"(?<![\w#])#(hard|easy|race|norun|strength)(?![\w])", re.IGNORECASE)


def _tag(summary: str, description: str, categories: tuple[str, ...]) -> Verdict | None:
    for where, texts in (
        ("summary", (summary,)),
        ("description", (description,)),
        ("categories", categories),
    ):
        for text in texts:
            m = _TAG.search(text)
            if m is None:
                continue
            tag = m.group(1).lower()
            reason = f"'#{tag}' tag in the {where}"
            if tag == "norun":
                return Verdict(False, None, reason)
            if tag == "strength":
                return Verdict(False, None, reason, strength=True)
            return Verdict(True, Intensity(tag), reason)
    return None


_KINDS = ("race", "hard", "easy", "norun", "strength")


@lru_cache(maxsize=64)
def _compiled(rules: ClassifyRules) -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    out = []
    for kind in _KINDS:
        for pat in getattr(rules, kind):
            try:
                out.append((kind, pat, re.compile(pat, re.IGNORECASE)))
            except re.error as e:
                raise ConfigError(
                    "[classify]",
                    [f"classify.{kind}: {pat!r} is not a valid regular expression: {e}"],
                ) from None
    return tuple(out)


def _user(f: _Fields, description: str, cats: str, rules: ClassifyRules) -> Verdict | None:
    compiled = _compiled(rules)
    if not compiled:
        return None
    for where, raw, low in (
        ("summary", f.summary.raw, _SPACES.sub(" ", f.summary.low)),
        ("categories", cats, cats.lower()),
        ("description", description, _SPACES.sub(" ", f.description.low)),
    ):
        if not raw:
            continue
        for kind, pat, rx in compiled:
            m = rx.search(raw) or rx.search(low)
            if m is None:
                continue
            reason = f"config [classify] {kind} pattern {pat!r} matched '{m.group().strip()}'"
            if where != "summary":
                reason += f" in the {where}"
            if kind == "norun":
                return Verdict(False, None, reason)
            if kind == "strength":
                return Verdict(False, None, reason, strength=True)
            return Verdict(True, Intensity(kind), reason)
    return None
