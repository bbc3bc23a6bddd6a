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

Text is normalised once per field into a lower-case copy of the same length as the
original, with emoji and most punctuation turned into spaces, so that case, emoji and
punctuation noise cannot change a verdict and reasons can quote the original words.
Verdicts of recent texts are remembered (plans repeat their titles); the function stays
pure, so the memo is invisible but for speed.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from calsync.config import ClassifyRules
from calsync.errors import ConfigError
from calsync.model import Event, Intensity, Verdict

__all__ = ["classify"]

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

# Other activities: (pattern, label) -- the label says what the event is instead.
_OTHER_SPORT: tuple[tuple[str | re.Pattern[str], str], ...] = (
    (
        _rx(
            _words(
                r"bikes?",
                r"biking",
                r"bicycle",
                r"bicycling",
                r"cycle",
                r"cycling",
                r"rides?",
                r"riding",
                r"spin",
                r"spinning",
                r"zwift",
                r"gran" + SEP + r"fondo",
                r"peloton",
                r"mtb",
                r"gravel",
                r"v[ée]lo",
                r"rad",
                r"radfahren",
                r"radtour",
                r"rolle",
                r"turbo",
                r"ergo",
                r"sweet" + SEP + r"spot",
                r"ftp",
                r"grundlagenfahrt",
                r"\w+fahrt",
            ),
            _any(r"骑行", r"单车", r"自行车"),
        ),
        "cycling",
    ),
    (
        _rx(
            _words(
                r"swim",
                r"swims",
                r"swimming",
                r"pool",
                r"open" + SEP + r"water",
                r"natation",
                r"nage",
                r"schwimmen",
                r"css",
            ),
            _any(r"游泳"),
        ),
        "swimming",
    ),
    (
        _words(
            r"walk",
            r"walks",
            r"walking",
            r"hike",
            r"hikes",
            r"hiking",
            r"marche",
            r"randonn[ée]e",
            r"wandern",
            r"spaziergang",
        ),
        "walking",
    ),
    (_any(r"快走", r"散步", r"徒步"), "walking"),
    (
        _words(
            r"yoga",
            r"pilates",
            r"mobility",
            r"mobilit[ée]",
            r"mobilität",
            r"stretch",
            r"stretching",
            r"[ée]tirements?",
            r"dehnen",
            r"foam" + SEP + r"roll\w*",
            r"physio",
            r"physiotherapy",
            r"massage",
            r"sauna",
        ),
        "mobility/recovery",
    ),
    (_any(r"拉伸", r"瑜伽"), "mobility/recovery"),
    (
        _words(
            r"cross" + SEP + r"train\w*",
            r"xt",
            r"row",
            r"rowing",
            r"erg",
            r"ski",
            r"skiing",
            r"skate",
            r"skating",
            r"elliptical",
            r"climb\w*",
            r"boulder\w*",
            r"tennis",
            r"squash",
            r"padel",
            r"soccer",
            r"football",
            r"basketball",
            r"golf",
            r"dance",
            r"surf\w*",
            r"kayak\w*",
            r"paddle\w*",
            r"sup",
            r"hiit",
            r"aqua" + SEP + r"jog\w*",
            r"deep" + SEP + r"water",
        ),
        "other sport",
    ),
)

OTHER_SPORT = _rules(_OTHER_SPORT)

STRENGTH = _rx(
    _words(
        r"strength",
        r"gym",
        r"gym\s*[ab12]",
        r"weights?",
        r"weight" + SEP + r"training",
        r"lift",
        r"lifts",
        r"lifting",
        r"s\s*&\s*c",
        r"kraft",
        r"krafttraining",
        r"kraft\w*",
        r"musculation",
        r"renfo",
        r"renforcement",
        r"crossfit",
        r"bodyweight",
        r"barbell",
        r"dumbbells?",
        r"kettlebells?",
        r"squats?",
        r"deadlifts?",
        r"rdl",
        r"bench" + SEP + r"press",
        r"hip" + SEP + r"thrusts?",
        r"core",
        r"gainage",
        r"circuit" + SEP + r"training",
        r"circuits",
        r"circuit" + SEP + r"(?:class|session|workout)",
        r"legs?" + SEP + r"day",
        r"(?:upper|lower|full)" + SEP + r"body",
        r"body" + SEP + r"pump",
        r"bodypump",
    ),
    _any(r"力量", r"健身", r"撸铁", r"筋トレ", r"筋力"),
)
# Exercises that betray a strength session in a description ("Workout" + a list).
EXERCISE = re.compile(
    _words(
        r"deadlifts?",
        r"squats?",
        r"lunges?",
        r"push" + SEP + r"ups?",
        r"pull" + SEP + r"ups?",
        r"chin" + SEP + r"ups?",
        r"bench\s+(?:press|dips|row)",
        r"curls?",
        r"rows?",
        r"shoulder\s+(?:press|raise|shrug)",
        r"triceps?\s+extension",
        r"skullcrushers?",
        r"planks?",
        r"dips",
        r"goblet",
        r"calf\s+raises?",
        r"glute\s+bridges?",
        r"kettlebell",
        r"barbell",
        r"dumbbell",
        r"rdl",
        r"hip\s+thrusts?",
    )
    + "|"
    + _any("卧推", "深蹲", "硬拉", "哑铃", "划船")
)
MOBILITY_ONLY = re.compile(r"(?<![\w])mobility\s+only(?![\w])|(?<![\w])only\s+mobility(?![\w])")

REST = _rx(
    _words(
        r"rest",
        r"rest" + SEP + r"day",
        r"off",
        r"day" + SEP + r"off",
        r"no" + SEP + r"training",
        r"no" + SEP + r"run",
        r"repos",
        r"ruhetag",
        r"ruhe",
        r"frei",
        r"active" + SEP + r"recovery",
        r"recovery" + SEP + r"day",
        r"off" + SEP + r"day",
        r"vacation",
        r"holiday",
        r"sick",
        r"injured",
    ),
    _any(r"休息", r"恢复日", r"主动恢复", r"休養", r"休み"),
)

# Not a workout at all, whatever running words it holds ("Long Run Fuel Reminder",
# "Race packet pickup", "School run").
ADMIN = _rx(
    _words(
        r"reminders?",
        r"check" + SEP + r"in",
        r"checkin",
        r"pick" + SEP + r"up",
        r"packet",
        r"bib",
        r"registration",
        r"register",
        r"sign" + SEP + r"up",
        r"deadline",
        r"expo",
        r"flights?",
        r"hotel",
        r"accommodation",
        r"membership",
        r"preview",
        r"reflection",
        r"recap",
        r"meeting",
        r"meetings",
        r"appointment",
        r"dentist",
        r"doctor",
        r"school" + SEP + r"run",
        r"dry" + SEP + r"run",
        r"trial" + SEP + r"run",
        r"test" + SEP + r"run",
        r"run" + SEP + r"through",
        r"run" + SEP + r"errands?",
        r"errands?",
        r"shoes",
        r"gear",
        r"headlamp",
        r"vitamin\w*",
        r"plan",
        r"guardrail",
        r"entry",
        r"entries",
        r"cycle\s*:",
        r"period",
        r"phase",
        r"standup",
        r"stand" + SEP + r"up",
        r"call",
        r"webinar",
        r"lecture",
        r"training" + SEP + r"week",
        r"(?:movie|netflix|tv|film|dance|gaming|binge|study|coding)" + SEP + r"marathon",
        r"race" + SEP + r"conditions?",
        # "Dress rehearsal 8 mi @ goal pace" is a run; a running order is a schedule.
        r"running" + SEP + r"order",
        r"home" + SEP + r"runs?",
        # Club business and courses about running.
        r"agm",
        r"podcasts?" + SEP + r"(?:recording|episode|interview)",
        r"(?:leaders?|leadership|coach\w*|first" + SEP + r"aid)" + SEP + r"course",
        r"certification",
        r"committee",
        # "Coffee run", "Chicken run": a compound where "run" is an errand or a place.
        r"(?:milk|food|grocery|supply|supplies|snack|pizza|bank|tip|dump|bus|print|chicken|"
        r"sled|toboggan|bobsleigh)" + SEP + r"run",
        # "Run payroll", "Run the dishwasher": the verb with a work or household object.
        r"run" + SEP + r"(?:the" + SEP + r"|a" + SEP + r"|my" + SEP + r")?(?:payroll|"
        r"backups?|reports?|test" + SEP + r"suite|scripts?|pipelines?|ci|"
        r"deploy\w*|migrations?|queries|query|numbers|analysis|analyses|"
        r"dishwasher|washing" + SEP + r"machine|laundry|wash|dryer|sprint" + SEP + r"review|"
        r"retro\w*|workshop|demo|jobs?|batch|invoices?|the" + SEP + r"show)",
        r"cancell?ed",
        r"abgesagt",
        r"annul[ée]e?",
        r"取消",
    ),
)
# Helping at or watching a race is not running it: an activity of its own, so that a run
# in another part of the title still counts ("Parkrun, then volunteer at junior parkrun").
SPECTATE = re.compile(
    _words(
        r"volunteer\w*",
        r"tail" + SEP + r"walk\w*",
        r"timekeep\w*",
        r"run" + SEP + r"director",
        r"marshal\w*",
        r"cheer\w*",
        r"spectat\w*",
        r"on" + SEP + r"tv",
        r"watch" + SEP + r"party",
        r"watch(?:ing)?\s+(?:the\s+)?(?:\w+\s+){0,2}(?:race|marathon|half|olympics|trials|"
        r"championships?|worlds)",
        r"live" + SEP + r"stream\w*",
    )
)
NO_RUN = re.compile(
    _words(
        r"no" + SEP + r"run(?:s|ning)?",
        r"skip" + SEP + r"(?:the" + SEP + r")?run",
        r"kein" + SEP + r"lauf",
        r"pas" + SEP + r"de" + SEP + r"course",
    )
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

# --- race

RACE_WORD = _rx(
    _words(
        r"race" + SEP + r"day",
        r"raceday",
        r"race",
        r"races",
        r"racing",
        r"half" + SEP + r"marathon",
        r"halbmarathon",
        r"semi" + SEP + r"marathon",
        r"marathon",
        r"parkrun",
        r"ultra" + SEP + r"marathon",
        r"ultramarathon",
        r"ultra",
        r"triathlon",
        r"duathlon",
        r"aquathlon",
        r"turkey" + SEP + r"trot",
        r"\w+[ -]+trot",
        r"wettkampf",
        r"relay",
        r"[abc]" + SEP + r"race",
        r"goal" + SEP + r"race",
        r"tune" + SEP + r"up" + SEP + r"race",
        r"fun" + SEP + r"run",
        r"beer" + SEP + r"mile",
        r"(?:track|xc|cross" + SEP + r"country)" + SEP + r"meet",
        r"tune" + SEP + r"up" + SEP + r"(?:\d+(?:\.\d+)?\s*(?:k|km|mi|miles?)|half|marathon)",
        r"virtual" + SEP + r"(?:\d+(?:\.\d+)?\s*(?:k|km|mi|miles?)|half|marathon|ultra|run)",
        r"(?:xc|cross"
        + SEP
        + r"country|road|running|athletics|club|parkrun)"
        + SEP
        + r"(?:league|champs|championships?)",
        r"(?:pb|pr)" + SEP + r"attempt",
        r"marat[oó]n",
        r"maratona",
        r"mezza" + SEP + r"maratona",
        r"halve" + SEP + r"marathon",
        r"course" + SEP + r"sur" + SEP + r"route",
        r"wedstrijd",
        # The trail series' brand, like parkrun and Ironman: "UTMB CCC", "Lavaredo by UTMB".
        r"utmb",
        r"gara",
        r"competici[oó]n",
        r"comp[ée]tition",
    ),
    # "Park Run" spelt apart opens the title; "Central Park run" is a training run.
    r"(?:^\s*|(?<=saturday )|(?<=sat ))park[ -]?run(?![\w])",
    _any(r"比赛", r"马拉松", r"半马", r"全马", r"マラソン", r"レース", r"大会"),
)
# "Marathon pace", "race effort", "HM pace": race-pace work, not a race.
RACE_PACE = re.compile(
    r"(?<![\w])(?:race|marathon|half" + SEP + r"marathon|half|hm|hmp|mp|m|goal|"
    r"\d+(?:\.\d+)?\s*(?:k|km|mi|mile|miles))(?:[ -]+goal)?"
    + SEP
    + r"(?:pace|effort|specific|simulation|sim|allure)(?![\w])"
    r"|(?<![\w])allure\s+(?:sp[ée]cifique\s+(?:\d+\s*k|10|5|semi|marathon)|\d+\s*k|10|5|semi|"
    r"marathon|sp[ée]cifique)(?![\w])"
    r"|(?<![\w])(?:ritmo|passo)\s+(?:de\s+|di\s+)?(?:marat[oó]n|maratona|media|mezza|carrera|gara|"
    r"competici[oó]n)(?![\w])"
    r"|马拉松配速|比赛配速|半马配速|マラソンペース|レースペース"
)
# A race word does not make a race when the title is about something around it.
NOT_A_RACE = re.compile(
    _words(
        r"pre",
        r"post",
        r"after",
        r"before",
        r"since",
        r"following",
        r"training",
        r"build",
        r"practice",
        r"recovery",
        r"recover",
        r"shakeout",
        r"shake" + SEP + r"out",
        r"long" + SEP + r"run",
        r"easy",
        r"tempo",
        r"intervals?",
        r"repeats",
        r"workout",
        r"session",
        r"simulation",
        r"fuel\w*",
        r"kit",
        r"info",
        r"results?",
        r"watch",
    )
    + r"|(?<![\w])(?:pre|post)-"
)
MULTISPORT_RACE = re.compile(_words(r"triathlon", r"duathlon", r"aquathlon", r"ironman", r"70\.3"))
# "Dog Days 8K", "Annapolis 10 Mile Run": a name followed by a race distance ends the title.
# Races come in standard distances; "13 mi" or "GA 10 mi" is a training run.
RACE_DISTANCE_END = re.compile(
    r"^(?P<name>.*?)\s*(?<![\w.])(?:(?:5|8|10|12|15|20|21|21\.1|25|30|42|42\.2|50|56|100)\s*"
    r"(?:k|km)|(?:5|10|13\.1|26\.2|50|100)\s*(?:mi|mile|miles)|\d+\s*miler|half\s+marathon|"
    r"marathon|half|13\.1|26\.2)(?:\s+(?:run|race|road\s+race|trail\s+race))?\s*$"
)
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

# --- intensity

REPS = re.compile(
    r"(?<![\w.])(?P<n>\d{1,2})\s*x\s*\(?\s*(?P<v>\d+(?:[.,]\d+)?)\s*"
    r"(?P<u>km|k|m|mi|miles?|min|mins|minutes?|s|sec|secs|seconds?|'|\"|h|hr)?(?![\w])"
)
STRIDES = re.compile(
    _words(
        r"strides?",
        r"pick" + SEP + r"ups?",
        r"accelerations?",
        r"acc[ée]l[ée]rations?",
        r"lignes\s+droites",
        r"steigerungs?\w*",
        r"build" + SEP + r"ups?",
        r"surges?",
        r"openers?",
    )
    + "|加速跑"
)
STRIDES_BEFORE = re.compile("(?:" + STRIDES.pattern + r")[\s:,]*$")
# The distance first, then the count: "400m x 10" (Japanese and Chinese plans write it so).
REPS_BACK = re.compile(
    r"(?<![\w.])(?P<v>\d+(?:[.,]\d+)?)\s*(?P<u>km|k|m|mi|miles?|min|mins|s|sec|secs|'|\")"
    r"\s*x\s*(?P<n>\d{1,2})(?![\w.])"
)
# A ladder of track distances: "1600-1200-800-400", "200/400/600/400/200".
LADDER = re.compile(r"(?<![\w.])[1-9]\d{2,3}(?:\s*[-/,]\s*[1-9]\d{2,3}){2,}(?![\w.])")
# Daniels' pace letters with distances or minutes: "2 E + 5 x 1 T w/ 1 min rests + 1 E",
# "L 15", "Q1: 8 M + 4 T". Only a text made of nothing else is read so: a lone letter
# means little elsewhere.
PACE_LETTER = re.compile(
    r"(?<![\w.])(?:\d+(?:\.\d+)?\s*(?P<a>[elmtir])|(?P<b>[elmtir])\s*\d+(?:\.\d+)?)(?![\w'\"])"
)
_NOTATION_WORDS = frozenset(
    """
    x w w/ with min mins sec secs s rest rests rec recovery recoveries jog jogs st strides
    and then pace mi mile miles km @ e m t i r l
    """.split()  # noqa: SIM905 -- a word list reads better as text
)
_Q_DAY = re.compile(r"q\d")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

PACE_RX = _rx(
    RACE_PACE.pattern,
    _words(
        r"mp",
        r"hmp",
        r"goal" + SEP + r"pace",
        r"race" + SEP + r"pace",
        r"[tirm]" + SEP + r"pace",
        r"pace" + SEP + r"work",
        r"time" + SEP + r"trial",
        r"cronometro",
        r"crono",
        r"tt",
        r"pace" + SEP + r"runs?",
        r"marathon" + SEP + r"specific",
    ),
    r"(?<![\w])(?:last|final)[ ]+\d+(?:\.\d+)?[ ]*(?:mi|miles?|km|k|min|mins)?[ ]*(?:@|at)[ ]*"
    r"(?:mp|hmp|m|t|goal|race|marathon|half|tempo|threshold|\d+[ ]*k)(?![\w])",
    r"@\s*(?:[tirm]|mp|hmp|\d+\s*k|threshold|tempo|lt)(?![\w])",
    r"(?<![\w])\d+(?:\.\d+)?\s*(?:mi|miles?|km|k|min|mins)\s+(?:at\s+|@\s*)?[tir](?![\w'])",
)

_HARD_WORDS: tuple[tuple[str | re.Pattern[str], str], ...] = (
    (
        _rx(
            _words(
                r"intervals?",
                r"intervalle?n?",
                r"intervalles?",
                r"intervall\w*",
                r"fractionn[ée]s?",
                r"repeats?",
                r"reps",
                r"repetitions",
                r"wiederholungen",
                r"yasso\w*",
                r"(?:200|300|400|500|600|800|1000|1200|1600)s",
                r"ladders?",
                r"pyramids?",
                r"cruise" + SEP + r"intervals?",
                r"track",
                r"piste",
                # Dutch track ("baan" alone is also a job).
                r"op" + SEP + r"de" + SEP + r"baan",
                r"baan" + SEP + r"training",
                r"intervaltraining",
                r"bahn",
                r"anaerobic",
                r"ripetute",
                r"over" + SEP + r"unders?",
                r"cut" + SEP + r"downs?",
                r"alternations?",
                r"float" + SEP + r"(?:recoveries|recovery|reps)",
            ),
            _any(r"间歇", r"亚索", r"变速跑", r"インターバル", r"レペティション"),
        ),
        "an interval session",
    ),
    (
        _rx(
            _words(
                r"vo2" + SEP + r"max",
                r"vo2",
                r"vo2max",
                r"vma",
                r"speed" + SEP + r"(?:work|session|run|repeats)?",
                r"speedwork",
                r"sprints?",
                r"hill" + SEP + r"sprints?",
                r"\w*ダッシュ(?!ボ)",  # not ダッシュボード, a dashboard
                r"all" + SEP + r"out",
                r"max" + SEP + r"effort",
            ),
            _any(r"冲刺", r"速度"),
        ),
        "speed work",
    ),
    (
        _rx(
            _words(
                r"tempo",
                r"tempos",
                r"tempolauf",
                r"tempodauerlauf",
                r"tempoloop",
                r"tempoduurloop",
                # The aerobic threshold (AeT) is the top of zone 2: easy running.
                # (fixed-width look-behinds: emoji between the words leave several spaces)
                "".join(rf"(?<!aerobic\s{{{n}}})" for n in range(1, 9)) + r"(?<!aerobic-)threshold",
                r"sub" + SEP + r"threshold",
                r"lt",
                r"lt2",
                r"lactate",
                r"seuil",
                r"schwelle",
                r"schwellen\w*",
                r"cv",
                r"comfortably" + SEP + r"hard",
                r"steady" + SEP + r"state",
                r"medio" + SEP + r"veloce",
                r"medio(?=\s+\d)",
            ),
            _any(r"节奏跑", r"节奏", r"阈值", r"乳酸", r"ペース走", r"閾値", r"テンポ"),
        ),
        "tempo/threshold work",
    ),
    (
        _rx(
            _words(
                r"hills?(?!" + SEP + r"strides)",
                r"hill" + SEP + r"(?:repeats|session|workout|reps)",
                r"uphill",
                r"c[ôo]tes?",
                r"bergl[äa]ufe?",
                r"berg\w*",
                r"h[üu]gel\w*",
            ),
            _any(r"爬坡", r"坡道", r"坡跑"),
        ),
        "a hill session",
    ),
    (_rx(_words(r"fartlek", r"fahrtspiel"), _any(r"法特莱克", r"ビルドアップ")), "fartlek"),
    (
        _words(
            r"progression",
            r"progressive",
            r"progressif",
            r"progressiv",
            r"progressivo",
            r"endbeschleunigung",
            r"schlussbeschleunigung",
            r"progresivo",
            r"build" + SEP + r"up" + SEP + r"run",
            r"fast" + SEP + r"finish",
            r"negative" + SEP + r"splits?",
            r"finish" + SEP + r"fast",
        ),
        "a progression to fast",
    ),
    (PACE_RX, "race-pace work"),
    (_words(r"quality", r"hard", r"key" + SEP + r"session"), "a quality session"),
)
HARD_WORDS = _rules(_HARD_WORDS)
PACE_RULE = ((PACE_RX, "race-pace work"),)

_EASY_WORDS: tuple[tuple[str | re.Pattern[str], str], ...] = (
    (
        _rx(
            _words(
                r"easy",
                r"easier",
                r"recovery",
                r"recover",
                r"shake" + SEP + r"out",
                r"shakeout",
                r"base",
                r"aerobic",
                r"general" + SEP + r"aerobic",
                r"endurance",
                r"lsd",
                r"conversational",
                r"relaxed",
                r"gentle",
                r"light",
                r"steady",
                r"moderate",
                r"jog",
                r"jogging",
                r"footing",
                r"endurance\s+fondamentale",
                r"dauerlauf",
                r"locker",
                r"ruhig",
                r"ga1",
                r"grundlage\w*",
                r"regeneration",
                r"regenerativ[oa]?",
                r"aerobic" + SEP + r"threshold",
                r"aet",
                r"trote",
                r"d[ée]crassage",
                r"herstelloop",
                r"e" + SEP + r"pace",
                r"@\s*e",
                r"cool" + SEP + r"down",
                r"warm" + SEP + r"up",
                r"r[ée]cup",
                r"r[ée]cup[ée]ration",
                r"suave",
                r"lenta",
                r"lento",
                r"tranquilo",
                r"rodaje",
                r"rustig",
                r"duurloop",
                r"ga",
                r"rec",
            ),
            _any(r"慢跑", r"轻松", r"恢复跑", r"有氧", r"lsd", r"ジョグ", r"ジョギング", r"流し"),
        ),
        "easy effort",
    ),
    (
        _rx(
            _words(
                r"long" + SEP + r"(?:z[12]|easy|slow)?" + SEP + r"run",
                r"medium" + SEP + r"long",
                r"mlr",
                r"lr",
                r"long" + SEP + r"(?:z[12]|easy|slow)",
                r"sortie" + SEP + r"longue",
                r"langer" + SEP + r"lauf",
                r"lungo",
                r"fondo",
                r"fondo" + SEP + r"lento",
                r"\w*duurloop",
                r"lunga",
                r"tirada" + SEP + r"larga",
                r"largo",
                r"lange" + SEP + r"duurloop",
                r"b2b",
            ),
            _any(r"长距离", r"长跑"),
        ),
        "a long run at easy effort",
    ),
)

EASY_WORDS = _rules(_EASY_WORDS)

NEGATION = re.compile(
    r"(?:(?<![\w])(?:no|not|don't|dont|do\s+not|never|avoid|without|skip|instead\s+of|"
    r"rather\s+than|after\s+(?:the|a|an|your|my|yesterday|last)|post|kein|keine|keinen|"
    r"nicht|ohne|pas|sans|"
    r"jamais)(?![\w])|不要|别|避免|禁止)[^.;!?\n]{0,24}$"
)

RPE = re.compile(
    r"(?<![\w])(?:rpe|effort)\s*[:=≈~]?\s*(?P<a>\d+(?:\.\d+)?)"
    r"(?:\s*(?:-|to|bis|à|a)?\s*(?P<b>\d+(?:\.\d+)?))?(?:\s*/\s*10)?(?![\w])"
)
ZONE = re.compile(
    r"(?<![\w])(?:z|zone|zone\s+z|hr\s*z|hrz)\s*(?P<a>[1-5])"
    r"(?:\s*[-/]\s*z?(?P<b>[1-5]))?(?![\w])"
)
# Heart rate as a share of max/reserve/threshold: "85% HRmax", "70% FCM", "心率：85–90%".
HR_PCT = re.compile(
    r"(?P<a>\d{2,3})(?:\s*-\s*(?P<b>\d{2,3}))?\s*%\s*(?:of\s+)?(?:hr\s*max|hrmax|max\s*hr|"
    r"mhr|fcm|fc\s*max|hf\s*max|hrr|lthr|max)(?![\w])"
    r"|心率\D{0,3}(?P<c>\d{2,3})(?:\s*-\s*(?P<d>\d{2,3}))?\s*%"
)
IF_FACTOR = re.compile(r"(?<![\w])if\s*[:=]\s*(?P<v>[01]?\.\d+|1)(?![\w])")
WATTS = re.compile(r"(?<![\w])\d{2,4}\s*(?:-\s*\d{2,4}\s*)?w(?![\w/])|(?<![\w])watts?(?![\w])")
# Words that point at a run in a title with no sport word ("Tempo 40 min", "5k").
FTP = re.compile(_words(r"ftp", r"cadence", r"rpm"))
RUNISH = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s*(?:k|km|mi|miles?|公里)(?![\w])|公里|"
    + _words(r"w/u", r"c/d", r"strides")
)
# Distances in "k"/"mi" are also a run hint on their own.

BRICK = re.compile(_words(r"brick", r"bricks", r"koppel\w*", r"enchaînement"))

RAXDNE = re.compile(r"^\s*(?P<s>[rbfs])(?P<k>[bric])\s+\d{1,2}:\d{2}(?::\d{2})?\s*$")


# Cheap necessary conditions in front of regexes that are tried on every title and
# rarely match (the classifier runs over every event of every calendar).
def _walk_run(s: str) -> re.Match[str] | None:
    hint = "walk" in s or "jeff" in s or "galloway" in s or "跑走" in s
    return WALK_RUN.search(s) if hint else None


def _not_running(s: str) -> re.Match[str] | None:
    hint = "ski" in s or "lauf" in s or "aqua" in s or "water" in s or "pool" in s
    return SKI.search(s) if hint else None


def _no_run(s: str) -> re.Match[str] | None:
    hint = "no" in s or "skip" in s or "kein" in s or "pas" in s
    return NO_RUN.search(s) if hint else None


def _brick(s: str) -> re.Match[str] | None:
    hint = "brick" in s or "koppel" in s or "enchaîn" in s
    return BRICK.search(s) if hint else None


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
        return m
    return _ladder(low)


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
    hit = _scale(t, hard=True)
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
    hit = _scale(t, hard=True, zone3=True)
    if hit:
        return _Judgement(Intensity.HARD, hit)
    if letters:
        return _Judgement(Intensity.EASY, _Hit(_quote(t, letters), "is easy in Daniels' notation"))
    hit = _scale(t, hard=False)
    if hit:
        return _Judgement(Intensity.EASY, hit)
    easy = EASY_TABLE.first(low)
    if easy:
        return _Judgement(Intensity.EASY, _Hit(_quote(t, easy[0]), f"is {easy[1]}"))
    strides = STRIDES.search(low)
    if strides:
        return _Judgement(Intensity.EASY, _Hit(_quote(t, strides), "are easy running"))
    return _NONE


# --------------------------------------------------------------------------- sport


_SPLIT = re.compile(
    r"\s*\+\s*|\s+&\s+|\s*;\s*|,\s+(?=then\b)|(?<![\w])(?:and|then|puis|dann|und|plus|"
    r"followed\s+by|or|oder|ou)(?![\w])"
)


# Activities whose names hold a running word but are not running.
SKI = re.compile(
    _words(
        r"ski",
        r"skiing",
        r"skis",
        r"langlauf",
        r"aqua" + SEP + r"jog\w*",
        r"aqua" + SEP + r"run\w*",
        r"deep" + SEP + r"water",
        r"pool" + SEP + r"run\w*",
        r"water" + SEP + r"run\w*",
    )
)
# A run named only as the time of another activity ("Stretching after run").
AROUND_RUN = re.compile(
    r"(?<![\w])(?:after|before|post|pre|following|nach|vor|apr[eè]s|avant)\s+"
    r"(?:(?:the|my|a|an|your|today's|this)\s+)?$"
)
# Endurance sports whose workouts share running's words ("Openers / Free Spin").
ENDURANCE = ("cycling", "swimming", "other sport")


def _structured(t: _Text) -> bool:
    """Running workout structure: repeats, race-pace segments, hard effort numbers."""
    return (
        _reps(t) is not None
        or PACE_TABLE.first(t.low, negatable=True) is not None
        or _scale(t, hard=True) is not None
    )


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


GENERIC = re.compile(
    r"easy|easier|hard|light|steady|moderate|base|recovery|recover|endurance|quality|"
    r"relaxed|gentle|aerobic|key[ -]*session|cool[ -]*down|warm[ -]*up|ga|rec|lr|long"
)


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

    __slots__ = ("summary", "categories", "meta", "_raw_description", "_description", "_segs")

    def __init__(
        self, summary: _Text, description: str, categories: tuple[str, ...], meta: _Text
    ) -> None:
        self.summary = summary
        self.categories = categories  # normalised, one per category
        self.meta = meta  # platform properties (X-WORKOUT-TYPE...), joined
        self._raw_description = description
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
            self._description = _text(self._raw_description)
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
    admin = ADMIN.search(low)
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
        return _not_run(f"'{_quote(s, period)}' names a period, not a workout")

    segs = f.segments
    run_parts = [(a, b) for a, b, sp in segs if sp == "run"]
    brick = _brick(low)
    others = [(a, b, sp) for a, b, sp in segs if sp not in (None, "run")]
    strength = any(sp == "strength" for _, _, sp in segs)
    if not strength and not run_parts and not others and STRENGTH.search(low):
        strength = not MOBILITY_ONLY.search(low)

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
        assert q is not None
        return _not_run(f"'{_quote(s, q)}' is a strength session", strength=True)

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

    # Nothing in the title: a description can still show a workout.
    exercises = {m.group() for m in EXERCISE.finditer(d.low)}
    if len(exercises) >= 2 and not RUN_NOUN.search(d.low):
        return _not_run(
            f"the description lists strength exercises ({', '.join(sorted(exercises)[:3])})",
            strength=True,
        )
    if RUN_NOUN.search(d.low) or COURSE.search(d.low):
        j = _intensity(d)
        if j.structured or _minutes_in(d.raw):
            return _judge_run(f, [], strength=False, multi=False)
    if f.summary.low.strip():
        return _not_run("no run words")
    return _not_run("empty title: no run words")


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
    return Verdict(
        True, Intensity.EASY, f"{what} names no hard effort: easy by default{note}", strength
    )


# --------------------------------------------------------------------------- overrides


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
