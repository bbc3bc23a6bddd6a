"""The classifier's vocabulary for what is not a run: other sports, strength (exercises,
sets and reps), rest, admin (reminders, pickups), watching a race, "no run", and the
sports whose names hold a running word. Patterns only; see `calsync.classify_words`.
"""

from __future__ import annotations

import re

from calsync.classify_words import SEP, _any, _rules, _rx, _words

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


# Cheap necessary conditions in front of regexes that are tried on every title and
# rarely match (the classifier runs over every event of every calendar).
def _not_running(s: str) -> re.Match[str] | None:
    hint = "ski" in s or "lauf" in s or "aqua" in s or "water" in s or "pool" in s
    return SKI.search(s) if hint else None


def _no_run(s: str) -> re.Match[str] | None:
    hint = "no" in s or "n't" in s or "isnt" in s or "skip" in s or "kein" in s or "pas" in s
    hint = hint or "ingen" in s or "sans" in s or "nicht" in s
    return NO_RUN.search(s) if hint else None


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
