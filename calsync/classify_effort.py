"""How hard a running text is: workout structure first (repeats, race-pace segments,
effort and zone numbers, Daniels' notation), then words.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from calsync.classify_text import _DIGIT, _SPACES, _blank, _minutes_in, _Text
from calsync.classify_words import KNOWN, LABEL, RUN_NOUN, _walk_run
from calsync.classify_words_effort import (
    _NOTATION_WORDS,
    _NUMBER,
    _Q_DAY,
    AROUND_WORK,
    DISTANCE,
    EASY_WORDS,
    HARD_WORDS,
    HR_BPM,
    HR_PCT,
    IF_FACTOR,
    LADDER,
    MULTISPORT_RACE,
    NEGATION,
    NOT_A_RACE,
    NOT_RUNNING_REPS,
    PACE_LETTER,
    PACE_RULE,
    PACED,
    RACE_DISTANCE_END,
    RACE_PACE,
    RACE_WORD,
    REPS,
    REPS_BACK,
    RPE,
    STRIDES,
    STRIDES_BEFORE,
    TARGET,
    TARGET_WORD,
    ZONE,
)
from calsync.classify_words_notrun import EXERCISE, OTHER_SPORT
from calsync.model import Intensity, Verdict

if TYPE_CHECKING:  # classify imports this module
    from calsync.classify import _Fields

# --------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class _Hit:
    what: str  # the quoted words
    why: str  # what they mean ("is an interval session")


def _quote(t: _Text, m: re.Match[str]) -> str:
    return t.quote(m.start(), m.end()) or m.group().strip()


def _negated(low: str, at: int) -> bool:
    """Is the word at `at` denied ("no tempo") or qualified as easy ("easy pace run")?"""
    if NEGATION.search(low, max(0, at - 40), at) is not None:
        return True
    return (
        low.startswith("pace", at) and EASY_QUALIFIER.search(low, max(0, at - 40), at) is not None
    )


class _Table:
    """Rules (pattern, meaning) merged into one regex: one scan finds the earliest hit."""

    def __init__(self, rules: tuple[tuple[re.Pattern[str], str], ...]) -> None:
        self.rx = re.compile("|".join(f"(?P<r{i}>{p.pattern})" for i, (p, _) in enumerate(rules)))
        self.why = tuple(why for _, why in rules)

    def first(self, low: str, *, negatable: bool = False) -> tuple[re.Match[str], str] | None:
        for m in self.rx.finditer(low):
            if negatable and _negated(low, m.start()):
                continue
            assert m.lastgroup is not None
            return m, self.why[int(m.lastgroup[1:])]
        return None


HARD_TABLE = _Table(HARD_WORDS)
EASY_TABLE = _Table(EASY_WORDS)
OTHER_TABLE = _Table(OTHER_SPORT)
PACE_TABLE = _Table(PACE_RULE)


def _pace_letters(low: str) -> re.Match[str] | None:
    """The first hard pace letter of a text written in Daniels' notation, else its first
    letter; None unless the whole text is that notation."""
    if len(low) >= 80 or not _DIGIT.search(low):
        return None
    found = list(PACE_LETTER.finditer(low))
    # Miles, kilometres or minutes at a pace: a bigger number is metres ("100m").
    if not found or any(float(re.sub(r"[^\d.]", "", m.group())) > 40 for m in found):
        return None
    rest = PACE_LETTER.sub(" ", low)
    for tok in rest.split():
        tok = tok.strip(":,;+")
        if tok and not (tok in _NOTATION_WORDS or _Q_DAY.fullmatch(tok) or _NUMBER.fullmatch(tok)):
            return None
    hard = [m for m in found if (m["a"] or m["b"]) in "mtir"]
    return hard[0] if hard else found[0]


def _ladder(low: str) -> re.Match[str] | None:
    if "-" not in low and "/" not in low and "," not in low:
        return None
    for m in LADDER.finditer(low):
        steps = [int(x) for x in re.findall(r"\d+", m.group())]
        if all(x % 100 == 0 and x <= 3200 for x in steps):
            return m
    return None


def _reps(t: _Text) -> re.Match[str] | None:
    """Repeats with a distance or duration ("6 x 800m", "5x1K", "12x400", "3x8'@Z3",
    "400m x 10"), or a ladder of track distances ("1600-1200-800-400")."""
    low = t.low
    if "x" not in low:
        return _ladder(low)
    for m in itertools.chain(REPS.finditer(low), REPS_BACK.finditer(low)):
        if not m["u"] and float(m["v"].replace(",", ".")) < 100:
            continue  # "3 x 8" is a set of a strength exercise
        after = low[m.end() : m.end() + 30]
        if STRIDES.search(after) or re.match(r"\s*(?:/|per)\s*(?:week|wk|side)", after):
            continue
        if STRIDES_BEFORE.search(low[max(0, m.start() - 30) : m.start()]):
            continue  # "Strides 8 x 20 s"
        if _negated(low, m.start()):
            continue
        if _drill(low, m.start(), m.end()):
            continue
        return m
    return _ladder(low)


def _drill(low: str, start: int, end: int) -> bool:
    """Are the repeats at low[start:end] drills, mobility or strength work? Read on their
    own line: a description's drills do not make its run an interval session."""
    a = low.rfind("\n", 0, start) + 1
    b = low.find("\n", end)
    line = low[a : b if b >= 0 else len(low)]
    return NOT_RUNNING_REPS.search(line) is not None or EXERCISE.search(line) is not None


def _scale(t: _Text, *, hard: bool, zone3: bool = False) -> _Hit | None:
    """RPE, heart-rate/power zones, TrainingPeaks IF: the first hard (or easy) reading."""
    low = t.low
    rpe = RPE.finditer(low) if ("rpe" in low or "effort" in low) else ()
    zones = ZONE.finditer(low) if "z" in low else ()
    factors = IF_FACTOR.finditer(low) if "if" in low else ()
    rates = HR_PCT.finditer(low) if "%" in low else ()
    for m in rpe:
        a = float(m["a"])
        b = float(m["b"]) if m["b"] else a
        if a > 10 or b > 10 or _negated(low, m.start()):
            continue
        if hard and max(a, b) >= 7:
            return _Hit(_quote(t, m), "is hard effort")
        if not hard and max(a, b) <= 4:
            return _Hit(_quote(t, m), "is easy effort")
    for m in zones:
        a = int(m["a"])
        b = int(m["b"]) if m["b"] else a
        if _negated(low, m.start()):
            continue
        if hard and max(a, b) >= 4:
            return _Hit(_quote(t, m), "is a hard zone")
        if zone3 and a == b == 3:
            # Zone 3 of five is tempo: hard in a title, but it is no structure that
            # overrides an easy title from a description ("want Z3 cardio").
            return _Hit(_quote(t, m), "is a tempo zone")
        if not hard and max(a, b) <= 2:
            return _Hit(_quote(t, m), "is an easy zone")
    for m in rates:
        a = int(m["a"] or m["c"])
        b = int(m["b"] or m["d"] or a)
        if a > 100 or b > 100 or _negated(low, m.start()):
            continue
        if hard and max(a, b) >= 85:
            return _Hit(_quote(t, m), "is a hard heart rate")
        if not hard and max(a, b) <= 75:
            return _Hit(_quote(t, m), "is an easy heart rate")
    for m in HR_BPM.finditer(low) if ("hr" in low or "pul" in low or "heart" in low) else ():
        a = int(m["a"])
        b = int(m["b"]) if m["b"] else a
        if _negated(low, m.start()):
            continue
        if zone3 and min(a, b) >= 155:
            # Like zone 3: hard in a title, no structure that overrides an easy title.
            return _Hit(_quote(t, m), "is a tempo heart rate")
        if not hard and max(a, b) <= 150:
            return _Hit(_quote(t, m), "is an easy heart rate")
    for m in factors:
        v = float(m["v"])
        if hard and v >= 0.85:
            return _Hit(_quote(t, m), "is a hard intensity factor")
        if not hard and v <= 0.75:
            return _Hit(_quote(t, m), "is an easy intensity factor")
    return None


@dataclass(frozen=True, slots=True)
class _Judgement:
    intensity: Intensity | None  # None: the text names no effort
    hit: _Hit | None
    structured: bool = False  # decided by workout structure, not a bare word


_NONE = _Judgement(None, None)
# "Easy pace run", "conversational pace": a pace that is not race pace.
EASY_QUALIFIER = re.compile(
    r"(?<![\w])(?:easy|conversational|recovery|aerobic|comfortable|relaxed|long\s+run)\s*$"
)
_ANSWERED_NO = re.compile(r"[^.?!\n]*\?\s*(?=(?:no|nope|nah|not)(?![\w]))")


def _intensity(t: _Text) -> _Judgement:
    """How hard the running text `t` is, by its structure first, then its words."""
    low = t.low
    if not low.strip():
        return _NONE
    if "?" in t.raw:  # "Marathon-pace effort? No, keep it easy": the question is withdrawn
        marked = "".join("?" if r == "?" else c for r, c in zip(t.raw, low, strict=True))
        low = _ANSWERED_NO.sub(_blank, marked).replace("?", " ")
        t = _Text(t.raw, low)
    m = _walk_run(low)
    if m:
        return _Judgement(Intensity.EASY, _Hit(_quote(t, m), "is a walk-run: easy"))
    # Structure: repeats, race-pace segments, effort and zone numbers.
    pace = PACE_TABLE.first(low, negatable=True)
    reps = _reps(t)
    if reps and (pace is None or reps.start() <= pace[0].start()):
        return _Judgement(
            Intensity.HARD, _Hit(_quote(t, reps), "is an interval session"), structured=True
        )
    if pace:
        return _Judgement(Intensity.HARD, _Hit(_quote(t, pace[0]), "is race-pace work"), True)
    hit = _scale(t, hard=True) or _paced_segment(t)
    if hit:
        return _Judgement(Intensity.HARD, hit, structured=True)
    letters = _pace_letters(low)
    if letters and (letters["a"] or letters["b"]) in "mtir":
        return _Judgement(
            Intensity.HARD, _Hit(_quote(t, letters), "is quality in Daniels' notation"), True
        )
    word = HARD_TABLE.first(low, negatable=True)
    if word and word[1] == "speed work" and STRIDES.search(low):
        word = None  # "GA + speed 8 mi w/ 10 x 100m strides": the speed is the strides
    if word:
        return _Judgement(Intensity.HARD, _Hit(_quote(t, word[0]), f"is {word[1]}"))
    hit = _scale(t, hard=True, zone3=True) or _target(t)
    if hit:
        return _Judgement(Intensity.HARD, hit)
    if letters:
        return _Judgement(Intensity.EASY, _Hit(_quote(t, letters), "is easy in Daniels' notation"))
    hit = _scale(t, hard=False)
    if hit:
        return _Judgement(Intensity.EASY, hit)
    # "1 mi easy warm-up, 2 mi comfort...": the easy words of a warm-up are not the session's.
    easy = EASY_TABLE.first(
        AROUND_WORK.sub(_blank, low) if "warm" in low or "cool" in low or "jog" in low else low
    )
    if easy:
        return _Judgement(Intensity.EASY, _Hit(_quote(t, easy[0]), f"is {easy[1]}"))
    strides = STRIDES.search(low)
    if strides:
        return _Judgement(Intensity.EASY, _Hit(_quote(t, strides), "are easy running"))
    return _NONE


def _target(t: _Text) -> _Hit | None:
    """A time target for a distance that asks for a running pace ("8 Miles In 56
    Minutes"); a slow one ("16 Miles In 5-6 Hours") is no effort."""
    low = t.low
    if not _DIGIT.search(low):
        return None
    for m in TARGET.finditer(low):
        if not TARGET_WORD.search(m.group()):
            continue  # "5 km with 4 min walk breaks" states no target
        minutes = _minutes_in(m["t"], normalised=True)
        if minutes is None:
            continue
        km = float(m["d"]) * (1.609 if m["u"].startswith("mi") else 1.0)
        if km <= 0 or not 2.5 <= minutes / km <= 7.0:
            continue  # slower than 7 min/km is a jog or a walk; faster than 2:30 a typo
        pace = minutes / km
        what = t.quote(m.start(), m.end("u")) or m.group("d")
        secs = round(pace * 60)
        return _Hit(
            what, f"in {minutes} min is a time target (about {secs // 60}:{secs % 60:02d}/km)"
        )
    return None


def _paced_segment(t: _Text) -> _Hit | None:
    """Part of a run at a stated pace ("12 km with 6km op 5:20-5:30"): a quality segment.
    A pace for the whole run ("7-8km at 5:20-5:35/km") is only guidance."""
    low = t.low
    if ":" not in low:
        return None
    longest = max((float(m["d"]) for m in DISTANCE.finditer(low)), default=0.0)
    for m in PACED.finditer(low):
        if float(m["d"]) < longest and not _negated(low, m.start()):
            return _Hit(_quote(t, m), "is a paced segment of the run")
    return None


def _structured(t: _Text) -> bool:
    """Running workout structure: repeats, race-pace segments, hard effort numbers."""
    return (
        _reps(t) is not None
        or PACE_TABLE.first(t.low, negatable=True) is not None
        or _scale(t, hard=True) is not None
    )


# --------------------------------------------------------------------------- races


_RACE_ENDINGS = (
    *("k", "km", "mi", "mile", "miles", "miler", "marathon", "half", "run", "race"),
    *("13.1", "26.2"),  # half and full marathon in miles, the unit left out
)


def _multisport_hint(low: str) -> bool:
    return "thlon" in low or "ironman" in low or "70.3" in low


def _named_race(low: str) -> bool:
    """A name, then a race distance, ends the title: "Dog Days 8K", "NYC Half"."""
    if not low.rstrip().endswith(_RACE_ENDINGS):
        return False
    title = LABEL.sub("", _SPACES.sub(" ", low).strip(), count=1)
    named = RACE_DISTANCE_END.match(title)
    if named is None or NOT_A_RACE.search(low):
        return False
    name = [t for t in re.split(r"[\s\-:/.,]+", named["name"]) if t]
    unknown = [t for t in name if t not in KNOWN and not re.fullmatch(r"[\d.]+", t)]
    return bool(unknown) and name[-1] not in KNOWN and not RUN_NOUN.search(named["name"])


def _race(f: _Fields, run_text: _Text) -> Verdict | None:
    """A race, from the run's own words or the event's category; None if not a race."""
    low = run_text.low
    pace = RACE_PACE.search(low)
    masked = RACE_PACE.sub(_blank, low) if pace else low
    w = RACE_WORD.search(masked)
    if w and pace and "tune" in w.group():
        w = None  # "Race pace tune-up 5 km" is a workout at race pace
    if w and not NOT_A_RACE.search(masked):
        word, whole = _quote(run_text, w), run_text.quote(0, len(low))
        if whole.lower() != word.lower() and len(whole) <= 60:
            return Verdict(True, Intensity.RACE, f"'{whole}' is a race ('{word}')")
        return Verdict(True, Intensity.RACE, f"'{word}' is a race")
    full = f.summary
    multi = MULTISPORT_RACE.search(full.low) if _multisport_hint(full.low) else None
    if multi and not NOT_A_RACE.search(full.low):
        return Verdict(True, Intensity.RACE, f"'{_quote(full, multi)}' is a race")
    # A named race ("Dog Days 8K") holds no workout words; "Goal pace 5 x 1 mi" does.
    if _named_race(full.low) and _intensity(full).intensity is None:
        q = full.quote(0, len(full.low))
        return Verdict(True, Intensity.RACE, f"'{q}' is a named race")
    race_cat = any(c in ("race", "racing", "a-race", "wettkampf") for c in f.categories)
    if race_cat and not (pace or NOT_A_RACE.search(low)):
        return Verdict(True, Intensity.RACE, "category 'RACE'")
    return None
