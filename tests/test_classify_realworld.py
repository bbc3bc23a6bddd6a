"""The classifier on 19 public training calendars it was never written against
(tests/realworld/: SOURCES.md says where each came from; labels.tsv holds a coach's label
for every event, written before any rule was changed for them).

Measured first, before any fix: 79.9% of 691 events right, 81 dangerous errors (a hard
run or race read as easy or not a run, the user's own strength session not recognised).
After the fixes: see /work/notes/issue-10.md and the figures printed here. The files
themselves carry no licence that allows copying them here, so the tests that read them
skip, saying so, on a machine without them.
"""

from __future__ import annotations

import collections

import pytest

from calsync.classify import classify
from calsync.classify_context import classify_all, for_planning
from tests.realworld.corpus import (
    HERE,
    SKIP_REASON,
    corpus_dir,
    find,
    load_labels,
    read_events,
    report,
    score,
)

LABELS = load_labels()
DIR = corpus_dir()
needs_corpus = pytest.mark.skipif(DIR is None, reason=SKIP_REASON)

# Verdicts still wrong after the fixes, each with why it is left (none is dangerous once
# planned: the safe side covers the one that is).
KNOWN_WRONG = {
    # "Cutdown" is a workout name (progressively faster segments); here a shorter long run
    # in a deload week. The title's "easy" comes after it. Errs on the safe side.
    "Long Run Cutdown (Deload) (14-16 km easy @ HR 135-152)",
    # A club's cross-country session, labelled quality; its words say nothing of effort.
    # Low confidence: planned as a hard run.
    "Common Cross Country Training",
    # "Intervals" titles whose description holds only strides: safe side.
    "⚡ Intervals — W2 Base",
    "⚡ Intervals — W11 Taper",
    # "Intervals — W12 Race week": the period label wins; an easy run read as not a run.
    "⚡ Intervals — W12 Race week",
    # A plan note ("start of cycle 2 · barbell") read as a strength session: safe side.
    "Старт цикла 2 · штанга",
    # Optional mobility in a push-up programme read as strength: safe side.
    "Push-Ups Recovery/Mobility (optional 10–15 min)",
}


def test_the_labels_name_at_least_15_sources_each_listed_in_sources_md() -> None:
    files = {lab.file for lab in LABELS}
    assert len(files) >= 15
    sources = (HERE / "SOURCES.md").read_text(encoding="utf-8")
    for f in files:
        assert f"\n{f} |" in sources, f
    counts = collections.Counter(lab.expected for lab in LABELS)
    assert all(counts[k] >= 10 for k in ("hard", "easy", "race", "strength", "norun")), counts


@needs_corpus
def test_every_event_has_exactly_one_label() -> None:
    assert DIR is not None
    used = set()
    for name in sorted({lab.file for lab in LABELS}):
        for e in read_events(DIR / name):
            used.add(find(LABELS, name, e).line)
    unused = [lab for lab in LABELS if lab.line not in used]
    assert not unused, unused[:5]


@needs_corpus
def test_accuracy_with_the_calendar_as_context() -> None:
    assert DIR is not None
    scores = score(classify_all, DIR, LABELS)
    print(report(scores))
    total = sum(s.events for s in scores.values())
    right = sum(s.right for s in scores.values())
    assert right / total >= 0.97, report(scores)
    wrong = {w.split("': ", 1)[0].lstrip("'") for s in scores.values() for w in s.wrong}
    assert wrong <= KNOWN_WRONG, sorted(wrong - KNOWN_WRONG)
    fixed = KNOWN_WRONG - wrong
    assert not fixed, f"now right, remove from KNOWN_WRONG: {sorted(fixed)}"


@needs_corpus
def test_no_dangerous_error_once_planned_and_one_before() -> None:
    assert DIR is not None

    def planned(events):  # type: ignore[no-untyped-def]
        return [for_planning(e, v) for e, v in zip(events, classify_all(events), strict=True)]

    assert sum(len(s.dangerous) for s in score(planned, DIR, LABELS).values()) == 0
    raw = [d for s in score(classify_all, DIR, LABELS).values() for d in s.dangerous]
    assert [d.split("': ", 1)[0] for d in raw] == ["'Common Cross Country Training"]


@needs_corpus
def test_event_by_event_the_first_pass_alone_still_does_well() -> None:
    assert DIR is not None
    scores = score(lambda evs: [classify(e) for e in evs], DIR, LABELS)
    print(report(scores))
    total = sum(s.events for s in scores.values())
    right = sum(s.right for s in scores.values())
    assert right / total >= 0.94
