"""Correcting the classifier once: `calsync classify --review` and `--set "PATTERN=kind"`.

The review lists the events the classifier is unsure of (low confidence, RULES.md "Unsure
events") and asks what each is; every answer becomes a `[classify]` pattern in the user's
config, so the next plan reads the event (and its siblings: numbers in a title match any
number) as the user said. The config file is edited with tomlkit, which keeps its comments
and layout: only the `[classify]` table changes, and the file is replaced atomically.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from calsync.atomic import write_file
from calsync.errors import ConfigError
from calsync.model import Event, Verdict

KINDS = ("hard", "easy", "race", "norun", "strength")
# What a person may type for each kind, in the review and after "=" in --set.
ANSWERS = {
    "h": "hard",
    "hard": "hard",
    "e": "easy",
    "easy": "easy",
    "r": "race",
    "race": "race",
    "n": "norun",
    "norun": "norun",
    "not a run": "norun",
    "no": "norun",
    "s": "strength",
    "strength": "strength",
}
SKIP = frozenset({"", "k", "keep", "skip", "?"})
QUIT = frozenset({"q", "quit"})
PROMPT = "[h]ard, [e]asy, [r]ace, [n]ot a run, [s]trength, Enter to skip, [q]uit"
_SPECIAL = set(".^$*+?{}[]\\|()")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Answer:
    kind: str  # one of KINDS
    pattern: str  # a regular expression, as [classify] holds them


def pattern_for(title: str) -> str:
    """A pattern that matches this title and its numbered siblings ("Take Flight #5" ->
    `^Take Flight #\\d+$`); case is ignored when patterns are matched."""
    words = " ".join(title.split())
    out = []
    last = 0
    for m in _DIGITS.finditer(words):
        out.append(_escape(words[last : m.start()]))
        out.append(r"\d+")
        last = m.end()
    out.append(_escape(words[last:]))
    return "^\\s*" + "".join(out) + "\\s*$"


def _escape(s: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in s)


def parse_set(value: str) -> Answer:
    """`PATTERN=kind` (the last "=" splits) -> Answer; ValueError with the reason."""
    pattern, sep, kind = value.rpartition("=")
    if not sep or not pattern.strip():
        raise ValueError(f"{value!r} is not PATTERN=KIND (e.g. 'Thursday Social=hard')")
    got = ANSWERS.get(kind.strip().lower())
    if got is None:
        raise ValueError(f"{kind.strip()!r} is not one of {', '.join(KINDS)}")
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {e}") from None
    return Answer(got, pattern)


def unsure(items: Iterable[tuple[Event, Verdict]]) -> list[tuple[Event, Verdict]]:
    """The low-confidence events, one per pattern (a plan repeats its titles)."""
    out: dict[str, tuple[Event, Verdict]] = {}
    for e, v in items:
        if v.confidence == "low":
            out.setdefault(pattern_for(e.summary), (e, v))
    return list(out.values())


def review(
    items: Sequence[tuple[Event, Verdict]],
    ask: Callable[[str], str | None],
    say: Callable[[str], None],
) -> list[Answer]:
    """Ask about each unsure event; `ask` returns None at the end of input."""
    answers: list[Answer] = []
    todo = unsure(items)
    if not todo:
        say("nothing to review: every event is read with high confidence")
        return answers
    say(f"{len(todo)} event(s) the classifier is unsure of:")
    for n, (e, v) in enumerate(todo, 1):
        say(f"\n{n}/{len(todo)}  {' '.join(e.summary.split())!r} on {e.start.date()}")
        say(f"      now read as: {v.reason}")
        while True:
            raw = ask(f"      what is it? {PROMPT}: ")
            if raw is None:
                return answers
            reply = raw.strip().lower()
            if reply in QUIT:
                return answers
            if reply in SKIP:
                break
            kind = ANSWERS.get(reply)
            if kind is not None:
                answers.append(Answer(kind, pattern_for(e.summary)))
                break
            say(f"      {raw.strip()!r}? answer one of: {PROMPT}")
    return answers


def save(path: Path, answers: Sequence[Answer]) -> int:
    """Add the answers to the `[classify]` table of the config at `path`, keeping every
    other byte of the file; a pattern answered again moves to its new kind. Returns how
    many patterns were added or moved."""
    if not answers:
        return 0
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), ["no config file to save the answers in (pass --config FILE)"]
        ) from None
    except OSError as e:
        raise ConfigError(str(path), [f"cannot read the file: {e.strerror or e}"]) from None
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as e:
        raise ConfigError(str(path), [f"not valid TOML: {e}"]) from None
    if "classify" not in doc:
        doc.add("classify", tomlkit.table())
    table = doc["classify"]
    if not isinstance(table, dict):
        raise ConfigError(str(path), ["classify: expected a table"])
    changed = 0
    for a in answers:
        for kind in KINDS:
            arr = table.get(kind)
            if kind == a.kind or arr is None:
                continue
            if a.pattern in list(arr):
                arr.remove(a.pattern)
        arr = table.get(a.kind)
        if arr is None:
            arr = tomlkit.array()
            table[a.kind] = arr
        if not isinstance(arr, list):
            raise ConfigError(str(path), [f"classify.{a.kind}: expected a list of patterns"])
        if a.pattern not in list(arr):
            arr.append(a.pattern)
            changed += 1
    _write(path, tomlkit.dumps(doc))
    return changed


def _write(path: Path, text: str) -> None:
    """Replace the file atomically and durably (calsync.atomic), keeping its mode."""
    try:
        write_file(path, text)
    except OSError as e:
        raise ConfigError(str(path), [f"cannot write the file: {e.strerror or e}"]) from None
