"""The real-world corpus: public training calendars the rules were never written against,
and the labels a coach gave every event in them (`labels.tsv`, written before any rule was
changed for them; SOURCES.md says where each file came from).

None of the files carries a licence that allows copying them into this repository, so they
are read in place from `$CALSYNC_REALWORLD_DIR`, else from `../realworld-calendars` beside
the checkout; the tests that need them skip, saying so, when they are absent.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import icalendar

from calsync.model import Event, Verdict
from tests.classify_table import LABELS, ev, label

HERE = Path(__file__).parent
LABELS_TSV = HERE / "labels.tsv"
ENV = "CALSYNC_REALWORLD_DIR"


def corpus_dir() -> Path | None:
    """Where the corpus files are, or None when they are not on this machine."""
    env = os.environ.get(ENV)
    candidates = [Path(env)] if env else []
    candidates.append(HERE.parents[2] / "realworld-calendars")
    for c in candidates:
        if c.is_dir() and any(c.glob("*.ics")):
            return c
    return None


SKIP_REASON = (
    f"the real-world corpus is not on this machine: set {ENV} to a directory holding the "
    "files listed in tests/realworld/SOURCES.md (their licences do not allow copying them "
    "into the repository)"
)


@dataclass(frozen=True)
class Label:
    line: int
    file: str
    summary: str
    description: str  # a prefix of the event's description; "" matches any
    expected: str
    strength: bool
    note: str


def load_labels(path: Path = LABELS_TSV) -> list[Label]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        assert len(cols) == 6, f"{path.name}:{n}: expected 6 tab-separated columns"
        file, summary, desc, expected, strength, note = cols
        assert expected in LABELS, f"{path.name}:{n}: unknown label {expected!r}"
        assert strength in ("yes", "no"), f"{path.name}:{n}: strength is yes or no"
        desc = desc.replace("\\n", "\n")
        out.append(Label(n, file, summary, desc, expected, strength == "yes", note))
    return out


def read_events(path: Path) -> list[Event]:
    """The VEVENTs of a file as calsync's classifier sees them (summary, description,
    categories, X- properties)."""
    try:
        cal = icalendar.Calendar.from_ical(path.read_bytes())
    except ValueError:
        return _read_tolerant(path)
    out = []
    for comp in cal.walk("VEVENT"):
        cats: list[str] = []
        raw = comp.get("CATEGORIES")
        for item in raw if isinstance(raw, list) else [raw] if raw is not None else []:
            cats.extend(str(c) for c in item.cats)
        extra = {k: str(v) for k, v in comp.items() if k.startswith("X-")}
        out.append(
            ev(str(comp.get("SUMMARY", "")), str(comp.get("DESCRIPTION", "")), tuple(cats), extra)
        )
    return out


def _read_tolerant(path: Path) -> list[Event]:
    """For a file icalendar refuses (a property outside any component): unfold the lines
    and read each VEVENT's properties."""
    text = path.read_bytes().decode("utf-8", "replace").replace("\r", "")
    text = re.sub(r"\n[ \t]", "", text)
    out = []
    for block in re.findall(r"BEGIN:VEVENT\n(.*?)END:VEVENT", text, re.S):
        props: dict[str, str] = {}
        for line in block.split("\n"):
            m = re.match(r"([A-Z][A-Z0-9-]*)[^:]*:(.*)", line)
            if m:
                value = m[2].replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";")
                props.setdefault(m[1], value)
        cats = tuple(c for c in props.get("CATEGORIES", "").split(",") if c)
        extra = {k: v for k, v in props.items() if k.startswith("X-")}
        out.append(ev(props.get("SUMMARY", ""), props.get("DESCRIPTION", ""), cats, extra))
    return out


def find(labels: Sequence[Label], file: str, e: Event) -> Label:
    """The label of one event: the row for its file and summary whose description prefix
    is the longest one the event's description starts with."""
    fits = [
        lab
        for lab in labels
        if lab.file == file
        and lab.summary.strip() == e.summary.strip()
        and e.description.startswith(lab.description)
    ]
    assert fits, f"{file}: no label for {e.summary!r}"
    return max(fits, key=lambda lab: len(lab.description))


def dangerous(expected: Label, v: Verdict) -> str | None:
    """Why a verdict errs on the unsafe side, or None: a hard run or race read as easy or
    not a run; the user's own strength session not recognised."""
    got = label(v)
    if expected.expected in ("hard", "race") and got not in ("hard", "race"):
        return f"{expected.expected} read as {got}"
    if expected.strength and not v.strength:
        return "strength session not recognised"
    return None


@dataclass
class FileScore:
    events: int = 0
    right: int = 0
    wrong: list[str] = field(default_factory=list)
    dangerous: list[str] = field(default_factory=list)


Judge = Callable[[list[Event]], list[Verdict]]


def score(judge: Judge, directory: Path, labels: Sequence[Label]) -> dict[str, FileScore]:
    """Per file: events judged right (label and strength flag), the wrong ones, and the
    dangerous ones among them. `judge` sees a whole file's events at once, so a classifier
    that reads the calendar as context can be scored the same way."""
    out: dict[str, FileScore] = collections.OrderedDict()
    for name in sorted({lab.file for lab in labels}):
        events = read_events(directory / name)
        s = out.setdefault(name, FileScore())
        for e, v in zip(events, judge(events), strict=True):
            lab = find(labels, name, e)
            s.events += 1
            got = label(v)
            ok = got == lab.expected and (v.strength == lab.strength or not lab.strength)
            why = dangerous(lab, v)
            if ok:
                s.right += 1
            else:
                s.wrong.append(f"{e.summary!r}: {got} ({v.reason}); expected {lab.expected}")
            if why:
                s.dangerous.append(f"{e.summary!r}: {why} ({v.reason})")
    return out


def report(scores: dict[str, FileScore]) -> str:
    lines = []
    total = right = bad = 0
    for name, s in scores.items():
        total += s.events
        right += s.right
        bad += len(s.dangerous)
        lines.append(
            f"{name:38} {s.right:3}/{s.events:<3} {100 * s.right / s.events:5.1f}%"
            f"  dangerous {len(s.dangerous)}"
        )
    lines.append(f"{'ALL':38} {right:3}/{total:<3} {100 * right / total:5.1f}%  dangerous {bad}")
    return "\n".join(lines)
