"""The classifier's vocabulary: what words and structures mean, in the languages plans are
written in. Patterns only; the rules that weigh them are in `calsync.classify` and
`calsync.classify_effort`. Patterns work on the normalised text of `calsync.classify_text`.

The vocabulary is in three modules, by what it tells: this one holds the lexicon's
helpers and the words that make an event a run (and how a title is cut into parts);
`classify_words_notrun` the words that make it something else (other sports, strength,
rest, admin); `classify_words_effort` how hard a run is (races, repeats, pace, effort
words and scales).
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- lexicon


def _words(*alts: str) -> str:
    """Alternatives matched as whole words (Latin scripts)."""
    return r"(?<![\w])(?:" + "|".join(alts) + r")(?![\w])"


def _any(*alts: str) -> str:
    """Alternatives matched anywhere (CJK has no spaces between words)."""
    return "(?:" + "|".join(alts) + ")"


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts))


def _rules(
    raw: tuple[tuple[str | re.Pattern[str], str], ...],
) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(p) if isinstance(p, str) else p, why) for p, why in raw)


SEP = r"[ \-/]*"  # between the words of a phrase; never across a line

# Words that make an event a run by themselves.
RUN_NOUN = _rx(
    _words(
        r"runs?",
        r"running",
        r"jog",
        r"jogs",
        r"jogging",
        r"jogged",
        r"treadmill",
        r"parkrun",
        r"trot",
        r"fartlek",
        r"strides",
        r"long" + SEP + r"(?:z[12]|easy|slow)?" + SEP + r"run",
        r"medium" + SEP + r"long",
        r"lsd",
        r"track" + SEP + r"(?:session|workout|repeats|intervals|night|tuesday|day)",
        r"cross" + SEP + r"country",
        r"xc",
        r"footing",
        r"course à pied",
        r"course a pied",
        r"sortie longue",
        r"fractionn[ée]",
        r"vma",
        r"lauf",
        r"laufen",
        r"läufe",
        r"dauerlauf",
        r"tempolauf",
        r"tempodauerlauf",
        r"\w+lauf",
        r"lafen",
        r"laafen",  # Luxembourgish
        r"l[öo]pning",  # Swedish
        r"l[öo]p\w+",  # löpintervaller, löppass
        r"\w+l[öo]pning",  # intervallöpning
        r"långpass",
        r"laf",
        r"\w+läufe",
        r"corsa",
        r"carrera",
        r"rodaje",
        r"correr",
        r"hardlopen",
        r"duurloop",
        r"hersteloop",
        r"\w{3,}loop",  # Dutch compounds: duurloop, herstelduurloop, bosloop
        r"herstelloop",
        r"tempoloop",
        r"mlr",
        r"d[ée]crassage",
        r"trote",
        r"couch" + SEP + r"to" + SEP + r"5\s*k",
        r"c25k",
        r"park" + SEP + r"run",
    ),
    # Chinese 跑; Japanese 走 (ペース走, ビルドアップ走), jog, run, interval, strides (流し).
    _any(
        r"(?<![\w])бег(?:ом)?(?![\w])",
        r"пробежк\w*",
        r"跑",
        r"(?<=[\u30a0-\u30ff])走",
        r"持久走",
        r"距離走",
        r"坂道走",
        r"ジョグ",
        r"ジョギング",
        r"ラン(?![チキク])",
        r"インターバル",
        r"流し",
    ),
)
# French "course" is a run when it opens a title or part ("Course", "Course — tempo"),
# not in "golf course" or "first aid course".
COURSE = re.compile(r"^\s*course(?![\w])")

# Walk-run is an easy run, whatever its repeats look like.
WALK_RUN = re.compile(
    r"(?<![\w])(?:walk" + SEP + r"(?:jog|run)|(?:run|jog)" + SEP + r"walk|"
    r"run" + SEP + r"and" + SEP + r"walk|jeffing|galloway|跑走)"
)

# Period labels: not a workout, unless a run noun says otherwise ("Race week shakeout run").
PERIOD = _words(
    r"week",
    r"weeks",
    r"woche",
    r"semaine",
    r"travel",
    r"business",
    r"prep",
    r"taper(?!\s*run)",
    r"nutrition",
)
PERIOD_RX = re.compile(PERIOD)

# "Hal Higdon: 3 mi run": a label before a colon names the plan, not the event.
LABEL = re.compile(r"^[^:]{1,24}:\s+")
# Words that are vocabulary, not a name (a title of only these is a training run).
KNOWN = frozenset(
    """
    a an the my our of in on at to for with and or w/ by from around up down
    easy recovery long short steady base aerobic endurance tempo threshold interval
    intervals run runs running jog trail trails road roads track hill hills hilly park lake
    river loop loops route city town beach forest woods neighborhood neighbourhood treadmill
    morning evening afternoon lunch lunchtime noon night early late weekend weekday daily
    monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun
    today tomorrow am pm week day w1 w2 w3 w4 run- fast slow progressive progression
    workout session practice training plan goal cutback taper peak build
    group club solo social total approx about max min hr km mi miles mile k
    z1 z2 z3 z4 z5 zone rpe pace effort strides with last first second other back front
    """.split()  # noqa: SIM905 -- a word list reads better as text
)

WATTS = re.compile(r"(?<![\w])\d{2,4}\s*(?:-\s*\d{2,4}\s*)?w(?![\w/])|(?<![\w])watts?(?![\w])")
FTP = re.compile(_words(r"ftp", r"cadence", r"rpm"))
# Words that point at a run in a title with no sport word ("Tempo 40 min", "5k");
# distances in "k"/"mi" are also a run hint on their own.
RUNISH = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s*(?:k|km|mi|miles?|公里)(?![\w])|公里|"
    + _words(r"w/u", r"c/d", r"strides")
)

BRICK = re.compile(_words(r"brick", r"bricks", r"koppel\w*", r"enchaînement"))

RAXDNE = re.compile(r"^\s*(?P<s>[rbfs])(?P<k>[bric])\s+\d{1,2}:\d{2}(?::\d{2})?\s*$")


# Cheap necessary conditions in front of regexes that are tried on every title and
# rarely match (the classifier runs over every event of every calendar).
def _walk_run(s: str) -> re.Match[str] | None:
    hint = "walk" in s or "jeff" in s or "galloway" in s or "跑走" in s
    return WALK_RUN.search(s) if hint else None


def _brick(s: str) -> re.Match[str] | None:
    hint = "brick" in s or "koppel" in s or "enchaîn" in s
    return BRICK.search(s) if hint else None


_SPLIT = re.compile(
    r"\s*\+\s*|\s+&\s+|\s*;\s*|,\s+(?=then\b)|(?<![\w])(?:and|then|puis|dann|und|plus|"
    r"followed\s+by|or|oder|ou)(?![\w])"
)

# A run named only as the time of another activity ("Stretching after run").
AROUND_RUN = re.compile(
    r"(?<![\w])(?:after|before|post|pre|following|nach|vor|apr[eè]s|avant)\s+"
    r"(?:(?:the|my|a|an|your|today's|this)\s+)?$"
)
# Endurance sports whose workouts share running's words ("Openers / Free Spin").
ENDURANCE = ("cycling", "swimming", "other sport")


GENERIC = re.compile(
    r"easy|easier|hard|light|steady|moderate|base|recovery|recover|endurance|quality|"
    r"relaxed|gentle|aerobic|key[ -]*session|cool[ -]*down|warm[ -]*up|ga|rec|lr|long"
)


_CAT_SPORT = {
    "run": "run",
    "running": "run",
    "runs": "run",
    "race": "run",
    "racing": "run",
    "lauf": "run",
    "laufen": "run",
    "course": "run",
    "brick": "run",
    "swim": "swimming",
    "swimming": "swimming",
    "bike": "cycling",
    "cycling": "cycling",
    "ride": "cycling",
    "strength": "strength",
    "gym": "strength",
    "kraft": "strength",
    "yoga": "mobility/recovery",
    "mobility": "mobility/recovery",
    "rest": "rest",
    "recovery": "rest",
    "check-in": "admin",
    "preview": "admin",
    "nutrition": "admin",
    "logistics": "admin",
    "reflection": "admin",
    "taper": "admin",
}


def _cat_sport(cats: tuple[str, ...]) -> tuple[str, str] | None:
    for c in cats:
        s = _CAT_SPORT.get(c)
        if s:
            return s, c
    return None
