"""The calendar as context: a second pass over all events of one source, and the safe side
the planner takes for what neither pass can settle.

The first pass (`calsync.classify.classify`) reads one event alone. Calendars say more
than their events do one by one: a plan's bare titles ("W2 D3: 5", a club run's name) are
runs when nearly everything else in it is a run; "Hills – 40 km / 500 m" is a ride when
its siblings of the same shape are "Long ride – 70 km / 700 m"; an emoji, colour or
category the calendar uses consistently for one kind of session says what an event that
carries it is. The second pass only settles events the first pass left open (no sport
named in the event, or a low-confidence verdict); a verdict the event's own words, tags or
the user's patterns decide is never changed.

What stays unsure is planned on the safe side (`for_planning`): as a hard run for H1/H2,
and as a strength session for H4 when it may be one. RULES.md, "Unsure events".
"""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from calsync.classify import _fields, _sport, classify
from calsync.classify_words import _cat_sport
from calsync.config import ClassifyRules
from calsync.model import Event, Intensity, Verdict

__all__ = ["classify_all", "for_planning", "label_of"]

# Shares that make a calendar's habit a rule for its open events.
RUN_SHARE = 0.8  # of the events that name a sport, runs
MIN_NAMED = 5  # events that name a sport, at least
SHAPE_SHARE = 0.8  # of a title shape's events that name a sport, one sport
MARK_SHARE = 0.9  # of a mark's settled events, one label
MIN_MARKED = 3

_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_WORD = re.compile(r"[^\W\d_]+")
_UNITS = frozenset({"k", "km", "m", "mi", "mile", "miles", "min", "mins", "h", "hr", "s", "x"})
_USER = ("'#", "config [classify]")


def label_of(v: Verdict) -> str:
    """hard | easy | race | strength | norun."""
    if v.is_run and v.intensity is not None:
        return v.intensity.value
    return "strength" if v.strength else "norun"


@lru_cache(maxsize=4096)
def shape(summary: str) -> str:
    """A title's skeleton: numbers and units kept, words dropped ("Hills – 40 km / 500 m"
    and "Long ride – 70 km / 700 m" are both "– # km / # m"). Empty when the title holds
    no number: a skeleton of words alone says nothing."""
    if not _NUMBER.search(summary):
        return ""
    t = _NUMBER.sub(" # ", summary.lower())
    t = _WORD.sub(lambda m: f" {m.group()} " if m.group() in _UNITS else " ", t)
    out = " ".join(t.split())
    return out if len(out) >= 5 else ""


def marks(e: Event) -> tuple[str, ...]:
    """What a calendar may use consistently to mark a kind of session: the symbols a
    title opens with, its categories, its colour."""
    out: list[str] = []
    lead = e.summary.lstrip()
    i = 0
    while i < len(lead) and not (lead[i].isalnum() or lead[i].isspace()):
        i += 1
    symbols = "".join(c for c in lead[:i] if c not in "\ufe0f\u200d")
    if symbols:
        out.append(f"symbol {symbols}")
    out.extend(f"category {c.strip().lower()}" for c in e.categories if c.strip())
    out.extend(f"colour {v.lower()}" for k, v in e.extra.items() if k.upper().endswith("COLOR"))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Seen:
    event: Event
    verdict: Verdict
    sport: str | None  # the sport the event names (title parts, category, platform data)
    user: bool  # decided by the user's tag or pattern


def _named_sport(e: Event) -> str | None:
    return _named_sport_of(e.summary, tuple(e.categories), tuple(sorted(e.extra.items())))


# Plans repeat their titles: remembered like the verdicts (calsync.classify._classify).
@lru_cache(maxsize=4096)
def _named_sport_of(
    summary: str, categories: tuple[str, ...], extra: tuple[tuple[str, str], ...]
) -> str | None:
    f = _fields(summary, "", categories, extra)
    sports = [sp for _, _, sp in f.segments if sp is not None]
    if "run" in sports:
        return "run"
    if sports:
        return sports[0]
    cat = _cat_sport(f.categories)
    if cat and cat[0] in ("run", "cycling", "swimming", "strength", "mobility/recovery"):
        return cat[0]
    if f.meta.low.strip():
        return _sport(f.meta.low)
    return None


def classify_all(events: Sequence[Event], rules: ClassifyRules | None = None) -> list[Verdict]:
    """Verdicts for all events of one source, the calendar read as context (module doc)."""
    seen = []
    for e in events:
        v = classify(e, rules)
        user = v.reason.startswith(_USER)
        seen.append(_Seen(e, v, None if user else _named_sport(e), user))
    ctx = _Context(seen)
    return [ctx.settle(s) for s in seen]


class _Context:
    """What a calendar's settled events say about its open ones."""

    def __init__(self, seen: Sequence[_Seen]) -> None:
        named = [s.sport for s in seen if s.sport is not None]
        self.run_share = named.count("run") / len(named) if len(named) >= MIN_NAMED else 0.0
        self.by_shape: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        self.by_mark: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        self.strength_shapes: set[str] = set()
        for s in seen:
            if s.sport is None:
                continue
            sh = shape(s.event.summary)
            if sh:
                self.by_shape[sh][s.sport] += 1
                if s.verdict.strength:
                    self.strength_shapes.add(sh)
        for s in seen:
            if s.user or s.verdict.confidence == "high":
                for m in marks(s.event):
                    self.by_mark[m][label_of(s.verdict)] += 1

    def settle(self, s: _Seen) -> Verdict:
        v = s.verdict
        if s.user or (s.sport is not None and v.confidence == "high"):
            return v
        sh = shape(s.event.summary)
        v = self._by_shape(s, sh) or self._by_share(s) or v
        if v.confidence == "low":
            v = self._by_marks(s.event, v)
        if v.confidence == "low" and sh in self.strength_shapes:
            v = replace(v, maybe_strength=True)
        return v

    def _by_shape(self, s: _Seen, sh: str) -> Verdict | None:
        """Siblings of the same title shape name one sport: this event is of it."""
        if not sh or s.sport is not None:
            return None
        counts = self.by_shape.get(sh)
        if not counts:
            return None
        sport, n = counts.most_common(1)[0]
        if n < 2 or n / sum(counts.values()) < SHAPE_SHARE:
            return None
        why = f"the calendar's other events shaped '{sh}' are {sport}"
        if sport == "run":
            if s.verdict.is_run:
                return None
            return Verdict(True, Intensity.EASY, why, confidence="low")
        if not s.verdict.is_run and s.verdict.confidence == "high":
            return None  # already not a run
        return Verdict(False, None, why, strength=sport == "strength")

    def _by_share(self, s: _Seen) -> Verdict | None:
        """Nearly everything in the calendar is a run: a bare title is one, of unknown
        effort ("W2 D3: 5", "Thursday Social #12")."""
        v = s.verdict
        if self.run_share < RUN_SHARE or v.is_run or v.strength or s.sport is not None:
            return None
        if not v.reason.startswith(("no run words", "empty title")):
            return None  # rest, admin, a period: the words said what it is
        why = f"{round(self.run_share * 100)}% of this calendar's events are runs"
        return Verdict(True, Intensity.EASY, f"{why}; this one names no effort", confidence="low")

    def _by_marks(self, e: Event, v: Verdict) -> Verdict:
        """A mark the calendar uses for one kind of session only (an emoji for its easy
        runs, a category for its quality days) settles an open event that carries it."""
        found: set[str] = set()
        quoted = ""
        for m in marks(e):
            counts = self.by_mark.get(m)
            if not counts:
                continue
            top, n = counts.most_common(1)[0]
            if n >= MIN_MARKED and n / sum(counts.values()) >= MARK_SHARE:
                found.add(top)
                quoted = quoted or m
        if len(found) != 1:
            return v
        kind = found.pop()
        why = f"the calendar marks its {kind} events with {quoted}"
        if kind in ("hard", "easy", "race"):
            if not v.is_run and v.reason.startswith(("no run words", "empty title")):
                return v  # a mark alone does not make a run of a title with no run in it
            return Verdict(True, Intensity(kind), why, v.strength, v.minutes)
        if kind == "strength":
            return Verdict(False, None, why, strength=True, minutes=v.minutes)
        return Verdict(False, None, why)


def for_planning(event: Event, v: Verdict) -> Verdict:
    """The verdict the planner uses: a low-confidence event is a hard run (a race stays a
    race) for H1/H2, and a strength session for H4 when it may be one. The reason says so,
    and how to settle it."""
    if v.confidence != "low":
        return v
    title = " ".join(event.summary.split()) or "(untitled)"
    if v.is_run:
        hint = "tag it #easy if it is not" if v.intensity is not Intensity.RACE else ""
        kind = "a race" if v.intensity is Intensity.RACE else "a hard run"
    else:
        hint, kind = "tag it #norun if it is not a run", "a hard run"
    reason = f"unsure: '{title}' treated as {kind}" + (f"; {hint}" if hint else "")
    intensity = Intensity.RACE if v.intensity is Intensity.RACE else Intensity.HARD
    strength = v.strength or v.maybe_strength
    return Verdict(True, intensity, reason, strength, v.minutes, "low", v.maybe_strength)
