"""Event -> Verdict: is this calendar event a run, and is it hard, easy or a race?

A pure function of the event's text (summary, description, CATEGORIES and platform
properties such as Runna's X-WORKOUT-*). The order of authority:

1. the user's tags `#hard` `#easy` `#race` `#norun` (`#strength`) anywhere in the event;
2. the user's `[classify]` patterns from the config;
3. the built-in rules below.

The built-ins read the summary first, as a plan's author writes the workout there, and
split it into parts ("Brick: Bike 40 min + Run 15 min", "Easy 40 min + Gym A") so that an
event holding a run and something else is judged by its running part. The description
only decides what the summary leaves open (what sport a bare "Workout" is, how hard a
bare "Run" is), and it can never make a race: descriptions talk about races all the time
("practice race fueling", "race date 12 Sep").

The one exception: structured quality work in a description ("4 x 1 mi @ T", "last 4
mi at marathon pace") makes a run hard even under an "Easy run" or "Long run" title; a bare
word there ("do not turn this into a tempo") does not.

Verdict flags: `strength` is True for the user's own strength session, and also on a run
whose event holds one ("Easy 40 min + Gym A": an easy run, and a strength session that
day). `minutes` is the stated duration of the run's part (or of the strength session).

Rules describe workout *structure* ("6 x 800m", "400m x 10", "1600-1200-800-400",
"last 6 @ MP", "2 E + 5 x 1 T + 1 E", "RPE 7", "Z4") and vocabulary in the languages
plans are written in (English, French, German, Spanish, Italian, Dutch, Chinese, Japanese,
Luxembourgish), never exact titles. Every verdict names the words that decided it. How
well that generalises is measured on titles written before the rules were read
(tests/classify_holdout.tsv).

The module holds the rules that weigh the evidence; the evidence itself lives beside it:
`classify_words` (the vocabulary tables), `classify_text` (normalisation: case, emoji and
punctuation noise cannot change a verdict; durations), `classify_effort` (how hard a
running text is, and races), `classify_user` (tags and `[classify]` patterns). The second
pass over a whole calendar, and the safe side for what stays unsure, is `classify_context`.
Verdicts of recent texts are remembered (plans repeat their titles); the function stays
pure, so the memo is invisible but for speed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from calsync.classify_effort import (
    EASY_TABLE,
    HARD_TABLE,
    OTHER_TABLE,
    PACE_TABLE,
    _intensity,
    _named_race,
    _negated,
    _pace_letters,
    _quote,
    _race,
    _reps,
    _scale,
    _structured,
)
from calsync.classify_text import (
    _DIGIT,
    _EMPTY,
    _SPACES,
    _blank,
    _Extra,
    _minutes,
    _minutes_in,
    _Text,
    _text,
)
from calsync.classify_user import _tag, _user
from calsync.classify_words import (
    _CAT_SPORT,
    _SPLIT,
    AROUND_RUN,
    COURSE,
    ENDURANCE,
    FTP,
    GENERIC,
    KNOWN,
    LABEL,
    PERIOD_RX,
    RAXDNE,
    RUN_NOUN,
    RUNISH,
    WATTS,
    _brick,
    _cat_sport,
    _walk_run,
)
from calsync.classify_words_effort import RACE_WORD, REPS, STRIDES
from calsync.classify_words_notrun import (
    ADMIN,
    EXERCISE,
    MOBILITY_ONLY,
    REST,
    SETS,
    SPECTATE,
    STRENGTH,
    _no_run,
    _not_running,
)
from calsync.model import Event, Intensity, Verdict
from calsync.settings import ClassifyRules

__all__ = ["classify"]

# --------------------------------------------------------------------------- sport


def _sport(s: str) -> str | None:
    """'run', another activity's label, or None when the words name no sport."""
    if _walk_run(s):
        return "run"
    if _not_running(s):
        return "other sport"  # cross-country skiing, aqua jogging: not running
    if SPECTATE.search(s):
        return "spectating"
    run = RUN_NOUN.search(s)
    if run and AROUND_RUN.search(s, 0, run.start()):
        # "Sports massage after long run": the event is the massage; the run is elsewhere.
        other = OTHER_TABLE.first(s[: run.start()])
        if other and not RUN_NOUN.search(s, run.end()):
            return other[1]
    if run and run.group() == "treadmill":
        # Equipment, not a sport: "Treadmill 30 min incline walk" is a walk.
        other = OTHER_TABLE.first(s)
        if other and not RUN_NOUN.search(s, run.end()):
            return other[1]
    if run or COURSE.search(s) or _pace_letters(s):
        return "run"
    if STRENGTH.search(s) and not MOBILITY_ONLY.search(s):
        reps = REPS.search(s) if "x" in s else None
        if reps and reps["u"] in ("m", "k", "km", "mi", "mile", "miles"):
            return "run"  # Hansons' "Strength 6 x 1 mi" is run, not lifted
        return "strength"
    other = OTHER_TABLE.first(s)
    if other:
        if other[1] == "walking" and _structured(_Text(s, s)):
            return "run"  # "5 x 5 min @ RPE 8, 2 min walk": walks are the recoveries
        return other[1]
    if WATTS.search(s):
        return "cycling"
    return None


def _segments(t: _Text) -> list[tuple[int, int, str | None]]:
    """Split a title into its parts, each with the sport it names (or inherits)."""
    out: list[tuple[int, int, str | None]] = []
    pos = 0
    low = t.low
    if _walk_run(low):  # "walk/run" must not be cut in two
        return [(0, len(low), "run")]
    for m in _SPLIT.finditer(low):
        if m.start() > pos:
            out.append((pos, m.start(), _sport(low[pos : m.start()])))
        pos = m.end()
    if pos < len(low):
        out.append((pos, len(low), _sport(low[pos:])))
    out = [(a, b, s) for a, b, s in out if low[a:b].strip()]
    # A part with no sport of its own belongs to the run or endurance part before it
    # ("Vélo Z2 + 3x5' sweet spot", "Long run + last 3 @ MP"); after strength or mobility
    # it stays open and is judged on its own words ("Gym + 6 x 800m").
    prev: str | None = None
    filled = []
    for a, b, s in out:
        if s is None and prev in ("run", *ENDURANCE):
            s = prev
        filled.append((a, b, s))
        prev = s if s is not None else prev
    # Leading parts with no sport, before a cycling or swimming part, are of that sport;
    # before strength or mobility they stay open ("Easy 40 min + Gym A" is a run).
    first = next((sp for _, _, sp in filled if sp is not None), None)
    if first in ENDURANCE:
        filled = [(a, b, first if sp is None else sp) for a, b, sp in filled]
    return filled


def _has_effort_words(t: _Text) -> bool:
    """Does a title part with no sport word read like a running workout?

    Running words ("tempo", "6 x 800m", "Z2", "5k") are enough. Everyday words that
    plans also use ("easy", "hard", "recovery", "quality") count only with a number
    ("Easy 45 min", "Hard 5 mi") or alone ("Recovery"): "Hard conversation with boss" and
    "Disaster recovery drill" are not runs.
    """
    low = t.low
    if (
        any(rx.search(low) for rx in (PACE_TABLE.rx, RUNISH, RACE_WORD, STRIDES))
        or _named_race(low)
        or _reps(t) is not None
        or _scale(t, hard=True) is not None
        or _scale(t, hard=False) is not None
    ):
        return True
    words = [
        m.group()
        for table in (HARD_TABLE, EASY_TABLE)
        for m in table.rx.finditer(low)
        if not _negated(low, m.start())
    ]
    if not words:
        return False
    if not all(GENERIC.fullmatch(w.strip()) for w in words):
        return True
    return bool(_DIGIT.search(low)) or len(low.split()) <= 2


# --------------------------------------------------------------------------- built-ins


class _Fields:
    """The event's texts, normalised; the description only when a rule asks for it."""

    __slots__ = ("summary", "categories", "meta", "raw_description", "_description", "_segs")

    def __init__(
        self, summary: _Text, description: str, categories: tuple[str, ...], meta: _Text
    ) -> None:
        self.summary = summary
        self.categories = categories  # normalised, one per category
        self.meta = meta  # platform properties (X-WORKOUT-TYPE...), joined
        self.raw_description = description
        self._description: _Text | None = None
        self._segs: list[tuple[int, int, str | None]] | None = None

    @property
    def segments(self) -> list[tuple[int, int, str | None]]:
        if self._segs is None:
            self._segs = _segments(self.summary)
        return self._segs

    @property
    def description(self) -> _Text:
        if self._description is None:
            self._description = _text(self.raw_description)
        return self._description


def _fields(summary: str, description: str, categories: tuple[str, ...], extra: _Extra) -> _Fields:
    cats = tuple(_SPACES.sub(" ", _text(c).low).strip(" -:/.,") for c in categories if c.strip())
    meta = " + ".join(
        v
        for k, v in extra
        if k.upper().startswith("X-")
        and any(w in k.upper() for w in ("WORKOUT", "TRAINING", "SPORT", "ACTIVITY", "INTENS"))
        and "DURATION" not in k.upper()
        and not re.fullmatch(r"[\d.\s:]*", v)
    )
    return _Fields(_text(summary), description, cats, _text(meta))


def _not_run(reason: str, strength: bool = False) -> Verdict:
    return Verdict(False, None, reason, strength=strength)


def _builtin(f: _Fields) -> Verdict:
    s = f.summary
    low = s.low
    # 0. A private code some planners use: RB/RR/RI/RC = run base/regeneration/interval/
    #    competition; B* bike, F* fitness (strength), S* swim.
    m = RAXDNE.match(low)
    if m:
        q = s.quote(0, len(low))
        if m["s"] == "r":
            kind = {"b": "easy", "r": "easy", "i": "hard", "c": "race"}[m["k"]]
            what = {"easy": "an easy run", "hard": "a hard run", "race": "a race"}[kind]
            return Verdict(True, Intensity(kind), f"'{q}' is the code of {what}")
        if m["s"] == "f":
            return _not_run(f"'{q}' is a fitness/strength code", strength=True)
        return _not_run(f"'{q}' is a cycling or swimming code")

    # 1. Not a workout at all.
    not_workout = _not_a_workout(f)
    if not_workout:
        return not_workout
    # 2. A platform's sport label on every workout ("Run: Mobility & Core"): the rest of
    #    the title says what the event is when it names another activity.
    relabelled = _after_sport_label(f)
    if relabelled is not None:
        return _builtin(relabelled)

    segs = f.segments
    run_parts = [(a, b) for a, b, sp in segs if sp == "run"]
    brick = _brick(low)
    others = [(a, b, sp) for a, b, sp in segs if sp not in (None, "run")]
    strength = any(sp == "strength" for _, _, sp in segs)
    if not strength and not run_parts and not others:
        # The weightlifter pictogram is a word, unlike the emoji that only decorate titles.
        strength = bool(STRENGTH.search(low) or GYM_EMOJI in s.raw) and not MOBILITY_ONLY.search(
            low
        )

    # Leading parts that name no sport are a run when they hold running vocabulary and no
    # other part of the title is a run ("Easy 40 min + Gym A").
    if not run_parts:
        # Rest words are blanked first: "Active recovery" is rest, not a recovery run.
        rest = REST.search(low)
        masked = REST.sub(_blank, low) if rest else low
        loose = [(a, b) for a, b, sp in segs if sp is None]
        runny = [(a, b) for a, b in loose if _has_effort_words(_Text(s.raw[a:b], masked[a:b]))]
        if others and runny:
            run_parts = runny
        elif brick:
            return _judge_run(f, [], strength, multi=True)
        elif not others:
            if rest and not runny:
                return _not_run(f"'{_quote(s, rest)}' is a rest day")
            return _sportless(f, runny, strength)

    if not run_parts:
        a, b, label = others[0]
        q = s.quote(a, b)
        if label == "strength":
            return _not_run(f"'{q}' is a strength session", strength=True)
        return _not_run(f"'{q}' is {label}, not running", strength=strength)

    return _judge_run(f, run_parts, strength, multi=bool(others))


_TRAVEL = frozenset({"flight", "flights", "hotel", "accommodation"})
_SPORT_LABEL = re.compile(r"^\s*(?:run|running|runs|lauf|laufen|jog)(?=\s|:)")
GYM_EMOJI = "\U0001f3cb"


def _not_a_workout(f: _Fields) -> Verdict | None:
    """Admin, negation ("Social meet (NOT A RUN)") and period labels ("Race week")."""
    s = f.summary
    low = s.low
    admin = ADMIN.search(low)
    # A club calendar that files its events as running ("Take Flight #5") is not talking
    # about air travel.
    if (
        admin
        and admin.group().strip() in _TRAVEL
        and (_cat_sport(f.categories) or ("",))[0] == "run"
    ):
        admin = None
    if admin:
        sport = _sport(low)
        if sport not in (None, "run", "strength"):
            return _not_run(f"'{s.quote(0, len(low))}' is {sport}, not running")
        return _not_run(f"'{_quote(s, admin)}' is not a workout")
    no_run = _no_run(low)
    if no_run:
        return _not_run(f"'{_quote(s, no_run)}': not running")
    period = PERIOD_RX.search(low)
    if (
        period
        and not (RUN_NOUN.search(low) or COURSE.search(low) or _walk_run(low))
        and not _structured(s)
    ):
        # "Intervals — W11 Taper", "3 miles easy (cutback week)": a workout in a period.
        rest = PERIOD_RX.sub(_blank, low)
        workout = HARD_TABLE.first(rest, negatable=True) or (
            RUNISH.search(rest) and EASY_TABLE.first(rest)
        )
        if not workout or RACE_WORD.search(rest):  # "Sprint triathlon race prep"
            return _not_run(f"'{_quote(s, period)}' names a period, not a workout")
    return None


def _after_sport_label(f: _Fields) -> _Fields | None:
    """The title without a leading sport label, when the rest names another activity
    and no running ("Run: Mobility & Core"); None otherwise."""
    m = _SPORT_LABEL.match(f.summary.low)
    if m is None:
        return None
    rest = _Fields(_text(f.summary.raw[m.end() :]), f.raw_description, f.categories, f.meta)
    sports = {sp for _, _, sp in rest.segments}
    if not rest.summary.low.strip() or "run" in sports or sports <= {None}:
        return None
    # "Run 10 mi, bike if injured" still holds a run; so does "Run: easy + core".
    if any(
        _has_effort_words(_Text(rest.summary.raw[a:b], rest.summary.low[a:b]))
        for a, b, _ in rest.segments
    ):
        return None
    return rest


def _sportless(f: _Fields, runny: list[tuple[int, int]], strength: bool) -> Verdict:
    """A title that names no sport: categories, platform data and description decide."""
    s, d = f.summary, f.description
    cat = _cat_sport(f.categories)
    meta_sport = _sport(f.meta.low) if f.meta.low.strip() else None
    if cat and cat[0] != "run" and not runny:
        if cat[0] == "strength":
            return _not_run(f"category '{cat[1]}' is a strength session", strength=True)
        return _not_run(f"category '{cat[1]}' is not running")
    if meta_sport and meta_sport != "run":
        return _not_run(
            f"workout type '{f.meta.quote(0, len(f.meta.low))}' is not running",
            strength=meta_sport == "strength",
        )
    if strength:
        q = STRENGTH.search(s.low)
        what = _quote(s, q) if q else GYM_EMOJI
        return _not_run(f"'{what}' is a strength session", strength=True)

    # A title of nothing but the runner emoji is a run. Anywhere else emoji are noise
    # (they never change a verdict that the words decide).
    runner = not s.low.strip() and "\U0001f3c3" in s.raw
    is_run = bool(runny) or (cat is not None and cat[0] == "run") or meta_sport == "run" or runner
    if runny:
        # The title reads like a workout ("Tempo 40 min", "VO2max 1.25 h"); a
        # description that is about another sport ("250 W", "FTP") still wins.
        # Its first line, or power numbers anywhere: "If injured, bike instead" further
        # down does not make a tempo run a ride.
        if not RUN_NOUN.search(d.low):
            other = _sport(d.low.lstrip().split("\n", 1)[0])
            if other is None and (WATTS.search(d.low) or FTP.search(d.low)):
                other = "cycling"
            if other not in (None, "run", "strength", "walking", "mobility/recovery"):
                return _not_run(f"the description is about {other}")
        return _judge_run(f, runny, strength=False, multi=False)
    if is_run:
        return _judge_run(f, [], strength=False, multi=False)

    return _from_description(f)


def _from_description(f: _Fields) -> Verdict:
    """Nothing in the title names a sport: a description can still show a workout. Its
    first line leads ("2.5 miles easy + 4 strides", then a prehab list); then strength
    exercises or sets and reps; then running words with structure or a duration."""
    d = f.description
    lead = d.low.lstrip().split("\n", 1)[0]
    if RUNISH.search(lead) and _has_effort_words(_Text(lead, lead)) and not EXERCISE.search(lead):
        return _judge_run(f, [], strength=False, multi=False)
    exercises = {m.group() for m in EXERCISE.finditer(d.low)}
    if not RUN_NOUN.search(d.low):
        if len(exercises) >= 2:
            listed = ", ".join(sorted(exercises)[:3])
            return _not_run(f"the description lists strength exercises ({listed})", True)
        sets = SETS.search(d.low)
        if sets and (exercises or STRENGTH.search(d.low)):
            return _not_run(f"the description: '{_quote(d, sets)}' are strength sets", True)
    if RUN_NOUN.search(d.low) or COURSE.search(d.low):
        j = _intensity(d)
        if j.structured or _minutes_in(d.raw):
            return _judge_run(f, [], strength=False, multi=False)
    if f.summary.low.strip():
        return _not_run("no run words")
    return _not_run("empty title: no run words")


def _judge_run(f: _Fields, parts: list[tuple[int, int]], strength: bool, *, multi: bool) -> Verdict:
    s = f.summary
    if parts:
        # Join the run's parts into one text, keeping quotes aligned to the summary.
        a0, b0 = parts[0][0], parts[-1][1]
        keep = [" "] * len(s.low)
        for a, b in parts:
            keep[a:b] = s.low[a:b]
        run = _Text(s.raw[a0:b0], "".join(keep)[a0:b0])
    else:
        run = _Text("", "")
    note = " (the running part of this event)" if multi else ""

    race = _race(f, run)
    if race:
        return Verdict(race.is_run, race.intensity, race.reason + note, strength=strength)

    j = _intensity(run)
    if j.intensity is Intensity.HARD:
        assert j.hit is not None
        return Verdict(True, Intensity.HARD, f"'{j.hit.what}' {j.hit.why}{note}", strength)

    # The summary names no effort, or an easy one: the platform data and description may
    # say more. A plain word in a description ("do not turn this into a tempo") never
    # overrides an easy title; only structured quality work ("4 x 1 mi @ T") does.
    # Categories come last: platforms file a workout under its kind ("Running, Tempo").
    kinds = [c for c in f.categories if c not in _CAT_SPORT]  # "Running" says no effort
    cats = _text(", ".join(kinds)) if kinds else _EMPTY
    for other, label in (
        (f.meta, "workout type"),
        (f.description, "description"),
        (cats, "category"),
    ):
        if not other.low.strip():
            continue
        oj = _intensity(other)
        if label == "description" and not oj.structured:
            # The first line says what the session is; a legend further down ("Effort
            # guide: EASY = ..., TEMPO = ...") does not.
            lead = _lead(other)
            lj = _intensity(lead) if lead.low.strip() else oj
            if lj.intensity is not None:
                oj = lj
        if oj.intensity is Intensity.HARD and (j.intensity is None or oj.structured):
            assert oj.hit is not None
            return Verdict(
                True, Intensity.HARD, f"{label}: '{oj.hit.what}' {oj.hit.why}{note}", strength
            )
        if j.intensity is None and oj.intensity is Intensity.EASY:
            assert oj.hit is not None
            return Verdict(
                True, Intensity.EASY, f"{label}: '{oj.hit.what}' {oj.hit.why}{note}", strength
            )
    if j.intensity is Intensity.EASY:
        assert j.hit is not None
        return Verdict(True, Intensity.EASY, f"'{j.hit.what}' {j.hit.why}{note}", strength)
    q = run.quote(0, len(run.low)) if run.low.strip() else s.quote(0, len(s.low))
    what = f"'{q}'" if q else "this run"
    # A title of vocabulary ("Run 5 mi") is an easy run; one that holds a name ("Return
    # of the Ramparts", "Road Hammer Practice") may be anything: unsure.
    named = _names(run.low if run.low.strip() else s.low)
    return Verdict(
        True,
        Intensity.EASY,
        f"{what} names no hard effort: easy by default{note}",
        strength,
        confidence="low" if named else "high",
    )


def _lead(t: _Text) -> _Text:
    """The first non-empty line of a text."""
    stripped = len(t.low) - len(t.low.lstrip())
    end = t.low.find("\n", stripped)
    end = len(t.low) if end < 0 else end
    return _Text(t.raw[stripped:end], t.low[stripped:end])


_TOKEN = re.compile(r"[^\W\d_][\w'’]*")


def _names(low: str) -> bool:
    """Does the text hold a word that is not running vocabulary (a name)?"""
    low = LABEL.sub("", low, count=1)
    for m in _TOKEN.finditer(low):
        w = m.group()
        if len(w) < 2 or w in KNOWN or _DIGIT.search(w):
            continue
        if any(
            rx.fullmatch(w)
            for rx in (RUN_NOUN, RACE_WORD, PERIOD_RX, STRENGTH, EASY_TABLE.rx, HARD_TABLE.rx)
        ):
            continue
        return True
    return False


# --------------------------------------------------------------------------- entry point


def classify(event: Event, rules: ClassifyRules | None = None) -> Verdict:
    """Judge one event: a run (hard, easy or race) or not, with the words that decided it.

    Pure and deterministic: the same event and rules always give the same verdict.
    `minutes` is the stated duration of the run (or strength session) when the event's
    text or platform data gives one.
    """
    extra = tuple(sorted(event.extra.items()))
    return _classify(event.summary, event.description, tuple(event.categories), extra, rules)


# Plans repeat their titles (every "Easy run 45 min", every expanded recurrence): the
# verdict is a pure function of the texts, so it is remembered for the most recent ones.
@lru_cache(maxsize=4096)
def _classify(
    summary: str,
    description: str,
    categories: tuple[str, ...],
    extra: _Extra,
    rules: ClassifyRules | None,
) -> Verdict:
    f = _fields(summary, description, categories, extra)
    verdict = (
        _tag(summary, description, categories)
        or (_user(f, description, ", ".join(categories), rules) if rules else None)
        or _builtin(f)
    )
    if not (verdict.is_run or verdict.strength):
        return verdict
    run_low = f.summary.low
    if verdict.is_run:
        bits = [run_low[a:b] for a, b, sp in f.segments if sp in ("run", None)]
        if bits:
            run_low = " ".join(bits)
    minutes = _minutes(extra, description, run_low)
    if minutes is None:
        return verdict
    return Verdict(verdict.is_run, verdict.intensity, verdict.reason, verdict.strength, minutes)
