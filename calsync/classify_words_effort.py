"""The classifier's vocabulary for how hard a run is: race words (and what only sounds like
a race), repeats, ladders and pace notation, hard and easy words, negation, effort scales
(RPE, zones, heart rate, power), targets and paced distances. Patterns only; the rules
that weigh them are in `calsync.classify_effort`. See `calsync.classify_words`.
"""

from __future__ import annotations

import re

from calsync.classify_words import SEP, _any, _rules, _rx, _words

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
        # "Race week", "race-eve dinner": a time around the race, not the race.
        r"race" + SEP + r"(?:week|weeks|eve|morning|breakfast|dinner|kit|plan|prep\w*|"
        r"briefing|logistics|nutrition|calendar|season)",
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
    # "last 5k @6:20/km": the finish of a run at a stated pace.
    r"(?<![\w])(?:last|final)[ ]+\d+(?:\.\d+)?[ ]*(?:mi|miles?|km|k|min|mins)?[ ]*(?:@|at)[ ]*"
    r"\d{1,2}:\d{2}",
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
                r"\w+intervall\w*",  # compounds: löpintervaller, Tempointervalle
                r"\w+tervals?",  # coined names: Simtervals, Funtervals
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
                r"lugn\w*",  # Swedish
                r"lugnt",
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
    r"nicht|ohne|pas|sans|(?:efter|nach|apr[eè]s)\s+\w+|"
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

# Heart rate in beats per minute: "@ HR 155-165", "puls 135–140", "HR ~168-174". A band
# that starts at 155 or more is held only at tempo effort or harder by most adults; one that
# ends at 150 or less is easy.
HR_BPM = re.compile(
    r"(?<![\w])(?:hr|heart\s*rate|puls|pulse|fc|пульс)\s*[:~≈]?\s*~?\s*(?P<a>1\d{2})"
    r"(?:\s*(?:-|to|→)\s*~?(?P<b>1\d{2}))?(?![\w])"
)
# A time target for a distance ("8 Miles In 56 Minutes", "10 km in 45 min", "5 Miles With
# 40 Minute Target Time"): a pace to hold, read from the two numbers.
TARGET = re.compile(
    # The gap counts what is not a blank: emoji and signs are blanked in the matched
    # text, and "5 mi 🏃 🏃 run with ..." must read as "5 mi run with ...".
    r"(?<![\w.])(?P<d>\d+(?:\.\d+)?)\s*(?P<u>k|km|mi|miles?)(?![\w])(?:[ ]*[^\n ]){0,10}?[ ]*"
    r"(?<![\w])(?:in|under|sub|with|target)\s+(?P<t>[^\n]{1,24})"
)
TARGET_WORD = re.compile(r"(?<![\w])(?:in|under|sub|target)(?![\w])")
# A distance at a pace ("6km op 5:20-5:30", "8km at 4:20/km", "2 km @ 6:20"): a paced
# segment when the same text names a longer distance too.
PACED = re.compile(
    r"(?<![\w.])(?P<d>\d+(?:\.\d+)?)\s*(?:k|km|mi|miles?)(?![\w])\s*(?:@|at|op|à|a|mit|bei|på)"
    r"\s*\d{1,2}:\d{2}"
)
DISTANCE = re.compile(r"(?<![\w.])(?P<d>\d+(?:\.\d+)?)\s*(?P<u>k|km|mi|miles?)(?![\w])")
# Easy words that qualify only the warm-up or cool-down of a session ("1 mi easy warm-up,
# 2 mi comfortably hard"): they do not say how hard the session is.
AROUND_WORK = re.compile(
    r"(?<![\w])(?:(?:very\s+)?(?:easy|relaxed|gentle|slow|light)\s+)?(?:jog\s+)?"
    r"(?:warm|cool)[ \-]*(?:ing\s+)?(?:up|down)s?(?![\w])"
    r"|(?<![\w])(?:easy|slow)\s+jog\s+(?:between|recovery|rec)(?![\w])"
)
# Repeats that are not running: drills, mobility and strength work written with counts
# ("drills: 2 x 20 m skips, leg swings", "IT band stretch 3x45 sec each side").
NOT_RUNNING_REPS = re.compile(
    _words(
        r"drills?",
        r"skips?",
        r"skipping",
        r"a" + SEP + r"skips?",
        r"b" + SEP + r"skips?",
        r"butt" + SEP + r"kicks?",
        r"high" + SEP + r"knees",
        r"leg" + SEP + r"swings?",
        r"bounds?",
        r"bounding",
        r"hops?",
        r"jumps?",
        r"lunges?",
        r"stretch\w*",
        r"mobility",
        r"foam\w*",
        r"holds?",
        r"pose",
        r"each" + SEP + r"(?:side|leg|arm|way)",
        r"per" + SEP + r"(?:side|leg|arm)",
        r"steps",
        r"bands?",
        r"clamshells?",
        r"monster" + SEP + r"walks?",
    )
)
