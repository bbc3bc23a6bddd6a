"""What a strength session holds (RULES.md, "What a session holds").

Pure and deterministic: the same session, settings and minutes give the same workout,
with no clock and no randomness, so a re-plan never reshuffles what the runner sees.

A session is built from a template (A or B). Each template is a list of *slots* in the
order a coach runs them: the explosive or plyometric move first (while fresh), then the
heavy lower-body lifts, upper body, calves, core. Each slot holds moves ranked best
first; the first one the runner's equipment, level and phase allow wins. Every ranked
list ends in bodyweight moves, so every category is always covered.

The two templates differ on purpose: A squats, pushes and swings; B hinges, pulls and
jumps; calves alternate straight-knee (gastrocnemius) and bent-knee (soleus) raises.
The moves and the two templates are data, in `calsync.workout_library`.

Choices the rules leave open, and what this module does:

- **A/B** alternate by the session key's number in time (see `template_for`): the
  week's ordinal times the week's session count, plus the slot. Perfect alternation
  for 2 a week, for 1 a week, and for any configured count; the count is the caller's
  (defaults: 2, and 1 in a taper week).

- **Taper** (RULES: "fewer sets, no plyometrics"): 2 sets everywhere, no extra blocks,
  and no jumps. The "one explosive or plyometric move" is kept as a *non-jumping* power
  move (kettlebell swing, medicine-ball slam, push press, speed squat, fast step-up):
  speed without landings keeps the nervous system sharp without the soreness of jumps.
  Loads stay heavy in a taper; only the volume drops.
- **Base** weeks add a plyometric block (pogo hops, skater or single-leg hops) when it fits.
- **Beginners** get bodyweight or light versions of the moves, load guidance that says
  when to add load, and no technical or high-impact moves (barbell squat, box jumps, hops).
- **Bodyweight is always available**: a body is never missing, so `equipment` narrows the
  other tools only; bodyweight moves are the fallback for every slot.
- **User moves** (`[[workout.exercises]]`) are preferred over built-ins of their category
  (the user listed them to see them). With several in a category, A and B start at a
  different one. With `replace_library = true` only user moves are used, except that a
  category the user cannot cover falls back to a bodyweight built-in, with a note.
  Rep counts above 10 are capped at 10 (the guide: weights light enough for 12+ reps are
  a mistake), with a note.
- **Time**: the estimate is warm-up + for each move: sets x work + (sets - 1) x rest + a
  short change-over. When it does not fit `session_minutes`, it sheds in this order:
  extra blocks, warm-up length, accessory sets, other sets, rest length, the second
  lower-body move, the main lift's third set. Every category stays. A long slot is not
  filled with more volume ("too much volume" is one of the guide's mistakes).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from calsync.model import Exercise, Phase, Session, Workout
from calsync.settings import ExerciseSpec, WorkoutSettings
from calsync.workout_library import (
    _BW,
    _JUMP_LOAD,
    _SECONDS_PER_REP,
    ALL,
    BAND,
    BODY,
    HEAVY,
    HOLD,
    JUMP,
    POWER,
    TEMPLATES,
    Move,
    Slot,
)

MAX_REPS = 10
MIN_EXERCISES, MAX_EXERCISES = 5, 7
# Categories every session covers (explosive covers "explosive or plyometric").
REQUIRED = ("lower", "calves", "upper", "core", "explosive")

LOAD_HEAVY = "~75% 1RM (could do 2–3 more)"
HEAVY_NOTE = (
    "~75% 1RM: a weight you could lift 2–3 more times when the set ends; "
    "never so light that 12+ reps would be easy."
)
LOAD_BEGINNER = "light weight; add load when the last reps stop feeling hard"
BEGINNER_NOTE = (
    "Beginner: start with bodyweight and light loads. Add load when the last reps of a "
    "set stop feeling hard. Expect some soreness in the first couple of weeks."
)
LOAD_BODY = "bodyweight, slow and strict"
BODY_NOTE = (
    "Bodyweight moves: when every rep feels easy, hold a weight (a loaded backpack works) "
    "or take 4 s to lower."
)
TAPER_NOTE = "Taper: 2 sets and no jumps to keep your legs fresh; keep the weights heavy."


# Rest between sets, seconds: (normal, short) per slot role.
REST = {
    "power": (90, 45),
    "plyo": (60, 30),
    "lower": (120, 60),
    "lower2": (90, 45),
    "upper": (90, 45),
    "upper2": (90, 45),
    "calves": (60, 30),
    "core": (45, 30),
}
ACCESSORY = ("power", "plyo", "calves", "core")
MIDDLE = ("lower2", "upper", "upper2")
CHANGEOVER = 30  # seconds to move to the next exercise

WARMUPS = {
    8: "Warm-up (8 min): 5 min easy bike or walk (skip after a run), leg swings, "
    "10 glute bridges, a light set of the first two moves",
    5: "Warm-up (5 min): 2 min brisk walk, leg swings, 10 glute bridges, "
    "a light set of the first two moves",
    3: "Warm-up (3 min): leg swings, 10 glute bridges, 10 bodyweight squats",
}

# --------------------------------------------------------------------------- template


def _week_ordinal(d: date) -> int:
    # date(1, 1, 1) is a Monday; any fixed week start gives consecutive ordinals.
    return (d.toordinal() - 1) // 7


def template_for(key: str, per_week: int = 2) -> str:
    """'A' or 'B' for a session key "<week start>/<slot>" and the week's session count.

    Sessions are numbered `week ordinal x per_week + (slot - 1)` and alternate on the
    parity of that number, so consecutive sessions differ whenever a week's slots are
    all used: with 2 a week, slot 1 is A and slot 2 is B every week (A B | A B | ...);
    with 1 a week (taper weeks, or `sessions_per_week = 1`), weeks alternate A | B | A;
    with 3, A B A | B A B. No formula of the key alone serves both 2 and 1 a week (W/1
    and W+1/1 must differ, yet W/2 must differ from both), hence the count: the weekly
    target is known to the caller. Going from 2-a-week into a 1-a-week taper repeats a
    template at most once. A key that does not parse gets a stable checksum instead.
    """
    week, _, slot = key.partition("/")
    try:
        n = _week_ordinal(date.fromisoformat(week)) * max(per_week, 1) + int(slot) - 1
    except ValueError:
        n = zlib.crc32(key.encode("utf-8"))
    return "A" if n % 2 == 0 else "B"


def default_per_week(phase: Phase) -> int:
    """The weekly count RULES.md defaults to: 2, and 1 in a taper week."""
    return 1 if phase is Phase.TAPER else 2


# --------------------------------------------------------------------------- choosing


@dataclass(frozen=True, slots=True)
class _Ctx:
    available: frozenset[str]
    level: str
    phase: Phase
    user: tuple[Move, ...]
    replace_library: bool


def _allowed(m: Move, ctx: _Ctx) -> bool:
    if not set(m.equipment) <= ctx.available or ctx.level not in m.levels:
        return False
    return not (ctx.phase is Phase.TAPER and (m.kind == JUMP or m.category == "plyo"))


_TIMED = re.compile(r"^\s*(\d+)\s*(s|sec|secs|seconds?|min|minutes?)\b", re.I)
_COUNT = re.compile(r"^\s*(\d+)(.*)$")


def _cap_reps(reps: str) -> tuple[str, bool]:
    if _TIMED.match(reps):
        return reps, False
    m = _COUNT.match(reps)
    if m and int(m.group(1)) > MAX_REPS:
        return f"{MAX_REPS}{m.group(2)}", True
    return reps, False


def _user_moves(specs: tuple[ExerciseSpec, ...]) -> tuple[tuple[Move, ...], list[str]]:
    moves, notes = [], []
    for s in specs:
        reps, capped = _cap_reps(s.reps)
        if capped:
            notes.append(
                f"{s.name}: {s.reps} capped at {MAX_REPS} reps; go heavier instead "
                "(weights light enough for 12+ reps are a mistake)."
            )
        loaded = any(e != _BW for e in s.equipment)
        if s.category == "plyo":
            kind = JUMP
        elif s.category == "explosive":
            kind = POWER
        elif _TIMED.match(reps):
            kind = HOLD
        elif s.equipment == ("bands",):
            kind = BAND
        else:
            kind = HEAVY if loaded else BODY
        moves.append(Move(s.name, s.category, s.equipment, reps, kind, ALL, 4.0, s.load))
    return tuple(moves), notes


def _pick(slot: Slot, index: int, ctx: _Ctx, used: set[str]) -> tuple[Move | None, str]:
    """The first allowed, unused move for a slot, and a note when it is a fallback."""
    user = [m for m in ctx.user if m.category in slot.categories and _allowed(m, ctx)]
    if user:  # A and B start at different user moves of the category
        k = index % len(user)
        user = user[k:] + user[:k]
    built = [] if ctx.replace_library else [m for m in slot.moves if _allowed(m, ctx)]
    for m in user + built:
        if m.name not in used:
            return m, ""
    if ctx.replace_library and slot.required:
        for m in slot.moves:
            if m.equipment == (_BW,) and _allowed(m, ctx) and m.name not in used:
                cat = "explosive or plyometric" if slot.role == "power" else slot.categories[0]
                taper = " and the taper (no jumps)" if ctx.phase is Phase.TAPER else ""
                return m, (
                    f"None of your {cat} exercises fits your equipment{taper}: "
                    f"using {m.name} ({_BW})."
                )
    return None, ""


def _load(m: Move, level: str) -> str:
    if m.load:
        return m.load
    beginner = level == "beginner"
    loaded = any(e != _BW for e in m.equipment)
    if m.kind == HEAVY:
        return LOAD_BEGINNER if beginner else LOAD_HEAVY
    if m.kind == BAND:
        if beginner:
            return "light band; a stronger band when the last reps stop feeling hard"
        return "a band that makes the last 2–3 reps hard"
    if m.kind == HOLD:
        if loaded:
            if beginner:
                return "light; add weight when the hold stops feeling hard"
            return "heavy: as much as you can hold standing tall"
        if beginner:
            return "bodyweight; add 10 s when it stops feeling hard"
        return "bodyweight; body in one straight line"
    if m.kind == POWER:
        if not loaded:
            return "bodyweight; as fast as you can, no jump"
        if beginner:
            return "light; add weight when every rep stays fast and crisp"
        return "moderate weight, move it fast; stop the set if it slows"
    if m.kind == JUMP:
        return _JUMP_LOAD if not beginner else "bodyweight, small jumps; land softly"
    if beginner:
        return "bodyweight; add load when it stops feeling hard"
    return LOAD_BODY


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class _Fit:
    extras: int = 2  # how many optional blocks to keep
    warmup: int = 8
    accessory_sets: int = 3
    middle_sets: int = 3
    main_sets: int = 3
    short_rest: bool = False
    lower2: bool = True


def _ladder(taper: bool) -> list[_Fit]:
    """Richest first; each step sheds a little more, never a required category."""
    f = _Fit(extras=0, accessory_sets=2, middle_sets=2, main_sets=2) if taper else _Fit()
    steps = [f]
    sheds: tuple[Callable[[_Fit], _Fit], ...] = (
        lambda s: replace(s, extras=1),
        lambda s: replace(s, extras=0),
        lambda s: replace(s, warmup=5),
        lambda s: replace(s, accessory_sets=2),
        lambda s: replace(s, middle_sets=2),
        lambda s: replace(s, short_rest=True),
        lambda s: replace(s, lower2=False),
        lambda s: replace(s, main_sets=2),
        lambda s: replace(s, warmup=3),
    )
    for shed in sheds:
        nxt = shed(steps[-1])
        if nxt != steps[-1]:
            steps.append(nxt)
    return steps


def _work_seconds(reps: str, seconds_per_rep: float) -> float:
    sides = 2 if re.search(r"\beach\b", reps) else 1
    timed = _TIMED.match(reps)
    if timed:
        n = int(timed.group(1)) * (60 if timed.group(2).lower().startswith("min") else 1)
    else:
        m = _COUNT.match(reps)
        n = int(int(m.group(1)) * seconds_per_rep) if m else 30
    return n * sides + (5 if sides == 2 else 0)


def _exercise_seconds(ex: Exercise, spr: float) -> float:
    work = _work_seconds(ex.reps, spr)
    return ex.sets * work + (ex.sets - 1) * ex.rest_seconds + CHANGEOVER


def estimate_minutes(workout: Workout) -> int:
    """Minutes the workout takes, from its own sets, reps and rests (for checks and tests)."""
    warm = int(m.group(1)) if (m := re.search(r"\((\d+) min\)", workout.warmup)) else 8
    secs = sum(_exercise_seconds(e, _SECONDS_PER_REP.get(e.name, 4.0)) for e in workout.exercises)
    return math.ceil(warm + secs / 60)


# --------------------------------------------------------------------------- building


def workout_for(
    session: Session,
    settings: WorkoutSettings,
    session_minutes: int,
    *,
    per_week: int | None = None,
) -> Workout:
    """The content of one session: same inputs, same workout.

    `per_week` is the week's session target (`sessions_per_week`, or
    `taper_sessions_per_week` in a taper week); it only steers the A/B alternation
    (see `template_for`) and defaults to RULES.md's 2, or 1 in a taper.
    """
    count = per_week if per_week is not None else default_per_week(session.phase)
    template = template_for(session.key, count)
    user, notes = _user_moves(settings.exercises)
    ctx = _Ctx(
        available=frozenset(settings.equipment) | {_BW},
        level=settings.level,
        phase=session.phase,
        user=user,
        replace_library=settings.replace_library,
    )
    index = 0 if template == "A" else 1
    chosen: list[tuple[Slot, Move]] = []
    used: set[str] = set()
    for slot in TEMPLATES[template]:
        if slot.extra == "base" and session.phase is not Phase.BASE:
            continue
        if slot.extra and session.phase is Phase.TAPER:
            continue
        move, note = _pick(slot, index, ctx, used)
        if move is None:
            continue
        used.add(move.name)
        chosen.append((slot, move))
        if note:
            notes.append(note)
    # At most MAX_EXERCISES: the base plyo block outranks the extra upper-body move.
    extras = [s.role for s, _ in chosen if s.extra]
    while len(chosen) > MAX_EXERCISES and extras:
        drop = extras.pop()
        chosen = [(s, m) for s, m in chosen if s.role != drop]
    extras_order = [s.role for s, _ in chosen if s.extra]

    taper = session.phase is Phase.TAPER
    ladder = _ladder(taper)
    for fit in ladder:
        workout = Workout(
            template=template,
            warmup=WARMUPS[fit.warmup],
            exercises=_build(chosen, fit, extras_order, settings.level),
        )
        minutes = estimate_minutes(workout)
        if minutes <= session_minutes:
            break
    exercises = workout.exercises

    if settings.level == "beginner":
        notes.insert(0, BEGINNER_NOTE)
    if any(e.load == LOAD_HEAVY for e in exercises):
        notes.append(HEAVY_NOTE)
    if settings.level != "beginner" and any(e.load == LOAD_BODY for e in exercises):
        notes.append(BODY_NOTE)
    if taper:
        notes.append(TAPER_NOTE)
    if session.phase is Phase.BASE and any(e.category == "plyo" for e in exercises):
        notes.append("Base phase: jumps build spring for later speed work; land softly.")
    cuts = _cuts(ladder[0], fit)
    if cuts:
        notes.append(f"Cut to fit {session_minutes} min: {', '.join(cuts)}.")
    if minutes > session_minutes:
        notes.append(f"Even the shortest version takes about {minutes} min.")
    if session_minutes - minutes >= 20:
        notes.append(
            f"About {minutes} min of work: no need to fill the {session_minutes} min slot; "
            "more volume is not better."
        )
    return replace(workout, notes=tuple(notes), minutes=minutes)


def _cuts(full: _Fit, fit: _Fit) -> list[str]:
    """What a short slot cost, in words (dropping the optional blocks is not a cut)."""
    out = []
    if fit.warmup < full.warmup:
        out.append(f"{fit.warmup}-min warm-up")
    if fit.main_sets < full.main_sets:
        out.append("2 sets of everything")
    elif fit.middle_sets < full.middle_sets:
        out.append("2 sets except the main lift")
    elif fit.accessory_sets < full.accessory_sets:
        out.append("2 sets of the smaller moves")
    if fit.short_rest:
        out.append("shorter rests")
    if not fit.lower2:
        out.append("one lower-body lift instead of two")
    return out


def _kept(chosen: list[tuple[Slot, Move]], fit: _Fit, extras: list[str]) -> list[tuple[Slot, Move]]:
    keep_extras = set(extras[: fit.extras])
    out = []
    for slot, move in chosen:
        if slot.extra and slot.role not in keep_extras:
            continue
        if slot.role == "lower2" and not fit.lower2:
            continue
        out.append((slot, move))
    return out


def _build(
    chosen: list[tuple[Slot, Move]], fit: _Fit, extras: list[str], level: str
) -> tuple[Exercise, ...]:
    out = []
    for slot, move in _kept(chosen, fit, extras):
        if slot.role == "lower":
            sets = fit.main_sets
        elif slot.role in MIDDLE:
            sets = fit.middle_sets
        else:
            sets = fit.accessory_sets
        normal, short = REST[slot.role]
        out.append(
            Exercise(
                name=move.name,
                category="plyo" if move.kind == JUMP else move.category,
                sets=sets,
                reps=move.reps,
                load=_load(move, level),
                rest_seconds=short if fit.short_rest else normal,
                equipment=move.equipment,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- text


def title_for(session: Session, workout: Workout) -> str:
    """One scheme in every phase: "Strength A · build", "Strength B · taper"."""
    return f"Strength {workout.template} · {session.phase.value}"


def _rest_text(seconds: int) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"rest {seconds // 60} min"
    return f"rest {seconds} s"


def exercise_line(i: int, e: Exercise) -> str:
    at = "·" if e.load.startswith("bodyweight") else "@"
    return f"{i}. {e.name} — {e.sets} × {e.reps} {at} {e.load} · {_rest_text(e.rest_seconds)}"


def describe(session: Session, workout: Workout) -> str:
    """The event DESCRIPTION: plain text in short lines, read on a phone."""
    phase = {
        Phase.BASE: "base phase",
        Phase.BUILD: "build phase",
        Phase.TAPER: "taper",
    }[session.phase]
    lines = [f"Strength {workout.template} · about {workout.minutes} min · {phase}"]
    lines.append(workout.warmup)
    lines += [exercise_line(i, e) for i, e in enumerate(workout.exercises, 1)]
    lines += workout.notes
    if session.reason:
        lines.append(f"Why today: {session.reason.strip()}")
    return "\n".join(lines)


def workout_to_json(workout: Workout) -> dict[str, object]:
    return {
        "template": workout.template,
        "minutes": workout.minutes,
        "warmup": workout.warmup,
        "exercises": [
            {
                "name": e.name,
                "category": e.category,
                "sets": e.sets,
                "reps": e.reps,
                "load": e.load,
                "rest_seconds": e.rest_seconds,
                "equipment": list(e.equipment),
            }
            for e in workout.exercises
        ],
        "notes": list(workout.notes),
    }
