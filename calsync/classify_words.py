"""The classifier's vocabulary: what words and structures mean, in the languages plans are
written in. Patterns only; the rules that weigh them are in `calsync.classify` and
`calsync.classify_effort`. Patterns work on the normalised text of `calsync.classify_text`.
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
                r"v[ëe]lo(?:s|tour\w*|training)?",  # Luxembourgish/Swiss vëlo, vëlostour
                r"fahrrad",
                r"rennrad",
                r"radeln",
                r"radtraining",
                r"biken",
                r"cykl\w*",  # Swedish cykling, cykel
                r"cykel\w*",
                r"fietsen",
                r"wielrennen",
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
            _any(r"骑行", r"单车", r"自行车", r"велосипед\w*", r"велотренаж\w*"),
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
                r"schwammen",  # Luxembourgish
                r"simning",  # Swedish
                r"simtr[äa]ning",
                r"zwemmen",
                r"nataci[oó]n",
                r"nuoto",
                r"css",
            ),
            _any(r"游泳", r"плавани\w*", r"бассейн\w*"),
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
            r"promenad\w*",  # Swedish
            r"wandeling",
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
        # Body parts and routines as session names ("Legs day", "Upper body + core",
        # "Push day", "Lower A", "Stability work", "Home gym").
        r"(?:arms?|back|chest|shoulders?|glutes?|abs|push|pull|leg)" + SEP + r"days?",
        r"push" + SEP + r"pull" + SEP + r"legs?",
        r"(?:upper|lower)" + SEP + r"[ab12]",
        r"stability" + SEP + r"(?:work|session|training|routine|circuit|exercises?)",
        r"home" + SEP + r"gym",
        r"\w+gym",
        r"push" + SEP + r"ups?",
        r"pull" + SEP + r"ups?",
        r"sit" + SEP + r"ups?",
        r"abs",
        r"tren" + SEP + r"(?:superior|inferior)",
        r"fuerza",
        r"gimnasio",
        r"pesas",
        r"(?:ober|unter|ganz)k[öo]rper\w*",
        r"rumpf\w*",
        r"styrk\w*",  # Swedish/Norwegian/Danish styrketräning
        r"kracht\w*",
        r"forza",
        r"muscula[cç][aã]o",
    ),
    _any(
        r"力量",
        r"健身",
        r"撸铁",
        r"筋トレ",
        r"筋力",
        r"силов\w*",
        r"(?<![\w])сил[аыу](?![\w])",
        r"штанг\w*",
    ),
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
        r"crunch(?:es)?",
        r"sit" + SEP + r"ups?",
        r"leg\s+raises?",
        r"lateral\s+raises?",
        r"flutter\s+kicks?",
        r"side\s+bends?",
        r"mountain\s+climbers?",
        r"burpees?",
        r"russian\s+twists?",
        r"bird\s+dogs?",
        r"dead\s*bugs?",
        r"wall\s+sits?",
        r"step" + SEP + r"ups?",
        r"face\s+pulls?",
        r"overhead\s+press",
        r"farmer'?s?\s+carry",
        r"sentadillas?",
        r"peso\s+muerto",
        r"zancadas?",
        r"dominadas?",
        r"planchas?",
        r"press\s+(?:de\s+banca|militar|inclinado|arnold)",
        r"liegest[üu]tz\w*",
        r"klimmz[üu]g\w*",
        r"kniebeuge\w*",
        r"ausfallschritt\w*",
        r"kreuzheben",
        r"wadenheber",
        r"pompes",
        r"tractions",
        r"fentes",
        r"kn[äa]b[öo]j",
        r"marklyft",
        r"armh[äa]vningar",
    )
    + "|"
    + _any(
        "卧推",
        "深蹲",
        "硬拉",
        "哑铃",
        "划船",
        r"присед\w*",
        r"отжима\w*",
        r"подтягива\w*",
        r"брусь\w*",
        r"румынск\w*",
        r"выпад\w*",
        r"копенгаген\w*",
    )
)
# Sets and reps: how a strength session is written ("3 sets of 12 reps", "4x8-10",
# "2-3 reps in reserve", "EMOM"), in a description that names no run.
SETS = re.compile(
    r"(?<![\w])(?:\d+\s*sets?\s+(?:of|x)\s*\d+|\d+\s*x\s*\d+(?:\s*-\s*\d+)?\s*(?:reps|per\s+(?:leg|side|arm))|"
    r"\d+\s*reps|reps?\s+in\s+reserve|rir|emom|amrap|wiederholungen|s[äa]tze|"
    r"repeticiones|s[ée]ries)(?![\w])|повтор\w*|подход\w*"
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
        r"vila",  # Swedish
        r"vilodag",
        r"rust" + SEP + r"dag",
        r"отдых\w*",
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
        # Work: agile ceremonies are named after sprints ("Sprint review", "Sprint 14
        # planning", "Retro"), and other office rituals.
        r"sprint" + SEP + r"(?:\d+" + SEP + r")?(?:review|retro\w*|planning|demo|goals?|"
        r"kick" + SEP + r"off|backlog|refinement|grooming|sync|report|burndown|zero)",
        r"retro",
        r"retrospective",
        r"scrum",
        r"backlog",
        r"refinement",
        r"grooming",
        r"all" + SEP + r"hands",
        r"one" + SEP + r"on" + SEP + r"one",
        r"1\s*:\s*1",
        r"okrs?",
        r"jira",
        r"kick" + SEP + r"off",
        r"kickoff",
        r"offsite",
        r"interview",
        # Race logistics ("Race kit check", "Lay out kit", "Early bed").
        r"kit" + SEP + r"(?:check\w*|list|prep)",
        r"check" + SEP + r"list",
        r"checklist",
        r"lay" + SEP + r"out",
        r"early" + SEP + r"(?:bed|night)",
        r"race" + SEP + r"(?:eve" + SEP + r"|day" + SEP + r"|morning" + SEP + r")?"
        r"(?:dinner|breakfast|meal|lunch)",
        r"carb" + SEP + r"load\w*",
        r"pasta" + SEP + r"party",
        r"packing",
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
        r"not" + SEP + r"(?:a" + SEP + r")?run(?:s|ning)?",
        r"(?:isn't|is" + SEP + r"not|isnt)" + SEP + r"(?:a" + SEP + r")?run",
        r"no" + SEP + r"jog(?:s|ging)?",
        r"ingen" + SEP + r"l[öo]pning",
        r"nicht" + SEP + r"laufen",
        r"sans" + SEP + r"course",
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
    hint = "no" in s or "n't" in s or "isnt" in s or "skip" in s or "kein" in s or "pas" in s
    hint = hint or "ingen" in s or "sans" in s or "nicht" in s
    return NO_RUN.search(s) if hint else None


def _brick(s: str) -> re.Match[str] | None:
    hint = "brick" in s or "koppel" in s or "enchaîn" in s
    return BRICK.search(s) if hint else None


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
    r"(?<![\w.])(?P<d>\d+(?:\.\d+)?)\s*(?P<u>k|km|mi|miles?)(?![\w])[^\n]{0,12}?"
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


def _cat_sport(cats: tuple[str, ...]) -> tuple[str, str] | None:
    for c in cats:
        s = _CAT_SPORT.get(c)
        if s:
            return s, c
    return None
