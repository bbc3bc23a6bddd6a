"""The built-in move library of the strength sessions: each move with its category,
equipment, reps, kind of load and levels, ranked best first within each slot, and the two
templates (A and B) made of those slots. Data only; `calsync.workouts` chooses from it
and builds the session (see its docstring for why the templates differ and how a move
is chosen). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

# How a move is loaded, which decides its load guidance and time per rep.
HEAVY = "heavy"  # a weight: ~75% of 1RM
BODY = "body"  # bodyweight strength: a version hard enough that the reps are near the limit
BAND = "band"  # resistance band
HOLD = "hold"  # timed hold
POWER = "power"  # explosive without jumping
JUMP = "jump"  # plyometric: leaves the ground

ALL = ("beginner", "intermediate", "advanced")
NB = ("intermediate", "advanced")  # not for beginners
BEG = ("beginner",)


@dataclass(frozen=True, slots=True)
class Move:
    name: str
    category: str
    equipment: tuple[str, ...]
    reps: str
    kind: str
    levels: tuple[str, ...] = ALL
    seconds_per_rep: float = 4.0
    load: str = ""  # overrides the guidance derived from kind and level


@dataclass(frozen=True, slots=True)
class Slot:
    role: str  # power, plyo, lower, lower2, upper, upper2, calves, core
    categories: tuple[str, ...]  # user categories that can fill it
    moves: tuple[Move, ...]
    required: bool  # required slots fall back to a bodyweight built-in
    extra: str = ""  # "base": only in base weeks; "any": when time allows; "": always


def _m(
    name: str,
    cat: str,
    eq: str,
    reps: str,
    kind: str,
    levels: tuple[str, ...] = ALL,
    spr: float = 4.0,
    load: str = "",
) -> Move:
    return Move(name, cat, (eq,), reps, kind, levels, spr, load)


_BW = "bodyweight"
_JUMP_LOAD = "bodyweight; land softly and quietly, reset between reps"
_POGO = _m("Pogo hops", "plyo", _BW, "10", JUMP, spr=1, load="bodyweight; quick, springy ankles")

# --------------------------------------------------------------------------- library

POWER_A = (
    _m("Kettlebell swing", "explosive", "kettlebell", "10", POWER, spr=2.5),
    _m("Medicine-ball slam", "explosive", "medicine ball", "8", POWER, spr=3),
    _m("Dumbbell swing", "explosive", "dumbbells", "10", POWER, spr=2.5),
    _m("Barbell push press", "explosive", "barbell", "5", POWER, NB, spr=3),
    _m("Band pull-through, fast hip snap", "explosive", "bands", "10", POWER, spr=2.5),
    _m("Squat jump", "plyo", _BW, "6", JUMP, spr=3, load=_JUMP_LOAD),
    _m("Speed squat (up fast, no jump)", "explosive", _BW, "8", POWER, spr=2),
)
POWER_B = (
    _m("Box jump (step down)", "plyo", "box", "5", JUMP, NB, spr=5, load=_JUMP_LOAD),
    _m("Low box jump (step down)", "plyo", "box", "5", JUMP, BEG, spr=5, load=_JUMP_LOAD),
    _m("Jumping lunge", "plyo", _BW, "5 each leg", JUMP, NB, spr=3, load=_JUMP_LOAD),
    _m("Broad jump, stick the landing", "plyo", _BW, "5", JUMP, BEG, spr=5, load=_JUMP_LOAD),
    # taper: non-jumping power moves
    _m("Medicine-ball slam", "explosive", "medicine ball", "8", POWER, spr=3),
    _m("Kettlebell swing", "explosive", "kettlebell", "10", POWER, spr=2.5),
    _m("Dumbbell swing", "explosive", "dumbbells", "10", POWER, spr=2.5),
    _m("Barbell push press", "explosive", "barbell", "5", POWER, NB, spr=3),
    _m("Band pull-through, fast hip snap", "explosive", "bands", "10", POWER, spr=2.5),
    _m("Fast step-up onto a box or stair (no jump)", "explosive", _BW, "6 each leg", POWER),
)
PLYO_A = (_POGO,)
PLYO_B = (
    _m("Single-leg hops", "plyo", _BW, "8 each leg", JUMP, ("advanced",), 1.5, _JUMP_LOAD),
    _m("Skater hops", "plyo", _BW, "6 each side", JUMP, NB, 2, _JUMP_LOAD),
    _POGO,
)
LOWER_A = (
    _m("Barbell back squat", "lower", "barbell", "6", HEAVY, NB),
    _m("Goblet squat (dumbbell)", "lower", "dumbbells", "8", HEAVY),
    _m("Goblet squat (kettlebell)", "lower", "kettlebell", "8", HEAVY),
    _m("Bulgarian split squat, rear foot on a chair", "lower", _BW, "8 each leg", BODY, NB),
    _m("Squat to a chair, 3 s down", "lower", _BW, "10", BODY, BEG),
)
LOWER2_A = (
    _m("Single-leg Romanian deadlift (dumbbell)", "lower", "dumbbells", "8 each leg", HEAVY),
    _m("Single-leg Romanian deadlift (kettlebell)", "lower", "kettlebell", "8 each leg", HEAVY),
    _m("Barbell reverse lunge", "lower", "barbell", "6 each leg", HEAVY, NB),
    _m("Single-leg Romanian deadlift, 3 s down", "lower", _BW, "8 each leg", BODY),
)
LOWER_B = (
    _m("Barbell Romanian deadlift", "lower", "barbell", "6", HEAVY, NB),
    _m("Dumbbell Romanian deadlift", "lower", "dumbbells", "8", HEAVY),
    _m("Kettlebell Romanian deadlift", "lower", "kettlebell", "8", HEAVY),
    _m("Single-leg squat to a chair", "lower", _BW, "6 each leg", BODY, NB),
    _m("Split squat, 3 s down", "lower", _BW, "8 each leg", BODY, BEG),
)
LOWER2_B = (
    _m("Dumbbell reverse lunge", "lower", "dumbbells", "8 each leg", HEAVY),
    _m("Barbell split squat", "lower", "barbell", "6 each leg", HEAVY, NB),
    _m("Kettlebell goblet reverse lunge", "lower", "kettlebell", "8 each leg", HEAVY),
    _m("Single-leg hip thrust, shoulders on a couch", "lower", _BW, "10 each leg", BODY, NB, 3),
    _m("Reverse lunge, 3 s down", "lower", _BW, "8 each leg", BODY, BEG),
)
CALVES_A = (  # straight knee: gastrocnemius
    _m(
        "Single-leg calf raise on a step (dumbbell)",
        "calves",
        "dumbbells",
        "10 each leg",
        HEAVY,
        ALL,
        3,
    ),
    _m("Barbell standing calf raise", "calves", "barbell", "10", HEAVY, NB, spr=3),
    _m(
        "Single-leg calf raise on a step (kettlebell)",
        "calves",
        "kettlebell",
        "10 each leg",
        HEAVY,
        ALL,
        3,
    ),
    _m("Single-leg calf raise on a step, 3 s down", "calves", _BW, "10 each leg", BODY, NB, 4),
    _m("Calf raise on a step, 3 s down", "calves", _BW, "10", BODY, BEG),
)
CALVES_B = (  # bent knee: soleus
    _m("Seated calf raise (dumbbells on the knees)", "calves", "dumbbells", "10", HEAVY, spr=3),
    _m("Seated calf raise (barbell on the knees)", "calves", "barbell", "10", HEAVY, NB, spr=3),
    _m("Bent-knee calf raise (kettlebell)", "calves", "kettlebell", "10 each leg", HEAVY, spr=3),
    _m("Bent-knee single-leg calf raise on a step", "calves", _BW, "10 each leg", BODY, NB, 4),
    _m("Bent-knee calf raise on a step", "calves", _BW, "10", BODY, BEG),
)
PUSH = (
    _m("Dumbbell overhead press", "upper", "dumbbells", "8", HEAVY),
    _m("Barbell overhead press", "upper", "barbell", "6", HEAVY, NB),
    _m("Kettlebell overhead press", "upper", "kettlebell", "8 each arm", HEAVY),
)
PUSH_UPS = (
    _m("Push-up, 3 s down", "upper", _BW, "8", BODY, ("intermediate",)),
    _m("Feet-elevated push-up", "upper", _BW, "8", BODY, ("advanced",)),
    _m("Incline push-up (hands on a bench or table)", "upper", _BW, "8", BODY, BEG),
)
PULL = (
    _m("Pull-up", "upper", "pull-up bar", "6", BODY, NB),
    _m("Pull-up negative (step up, lower in 3–5 s)", "upper", "pull-up bar", "5", BODY, BEG, 6),
    _m("Barbell bent-over row", "upper", "barbell", "8", HEAVY, NB),
    _m("One-arm dumbbell row", "upper", "dumbbells", "8 each arm", HEAVY),
    _m("One-arm kettlebell row", "upper", "kettlebell", "8 each arm", HEAVY),
    _m("Band row", "upper", "bands", "10", BAND, spr=3),
    _m("Pike push-up", "upper", _BW, "8", BODY, NB),
    _m("Prone Y-T-W raise", "upper", _BW, "8", BODY, BEG),
)
CORE_A = (
    _m("Side plank", "core", _BW, "30 s each side", HOLD, NB),
    _m("Front plank", "core", _BW, "30 s", HOLD, BEG),
)
CORE_B = (
    _m("Suitcase hold (dumbbell)", "core", "dumbbells", "30 s each side", HOLD),
    _m("Suitcase hold (kettlebell)", "core", "kettlebell", "30 s each side", HOLD),
    _m(
        "Bus driver (medicine ball)",
        "core",
        "medicine ball",
        "10 each way",
        HOLD,
        spr=2,
        load="a ball you can hold at arm's length, turn it like a steering wheel",
    ),
    _m("Pallof press (band)", "core", "bands", "10 each side", BAND, spr=3),
    _m("Single-leg glute bridge", "core", _BW, "10 each leg", BODY, NB, 3),
    _m("Glute bridge", "core", _BW, "10", BODY, BEG, 3),
)


def _slots(*lists: tuple[Move, ...]) -> tuple[Slot, ...]:
    power, plyo, lower, lower2, upper, upper2, calves, core = lists
    return (
        Slot("power", ("explosive", "plyo"), power, True),
        Slot("plyo", ("plyo",), plyo, False, "base"),
        Slot("lower", ("lower",), lower, True),
        Slot("lower2", ("lower",), lower2, False),
        Slot("upper", ("upper",), upper, True),
        Slot("upper2", ("upper",), upper2, False, "any"),
        Slot("calves", ("calves",), calves, True),
        Slot("core", ("core",), core, True),
    )


TEMPLATES: dict[str, tuple[Slot, ...]] = {
    "A": _slots(POWER_A, PLYO_A, LOWER_A, LOWER2_A, PUSH_UPS, PULL, CALVES_A, CORE_A),
    "B": _slots(POWER_B, PLYO_B, LOWER_B, LOWER2_B, PULL, PUSH + PUSH_UPS, CALVES_B, CORE_B),
}

# Seconds per rep by move name (user moves: 4 s); names repeated across lists agree.
_SECONDS_PER_REP = {
    m.name: m.seconds_per_rep for t in TEMPLATES.values() for s in t for m in s.moves
}
