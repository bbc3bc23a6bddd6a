"""The classifier's tables (`classify_cases.tsv`, `classify_holdout.tsv`): one row per
event text with the label a coach would give it, and the helpers both tests read them with.

Format: five tab-separated columns, summary, description (`\\n` for a new line),
categories (comma-separated), label (hard | easy | race | strength | norun), note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from calsync.model import Event, Verdict

HERE = Path(__file__).parent
TABLE = HERE / "classify_cases.tsv"
HOLDOUT = HERE / "classify_holdout.tsv"
LABELS = ("hard", "easy", "race", "strength", "norun")
T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def ev(
    summary: str,
    description: str = "",
    categories: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
) -> Event:
    return Event(
        uid=None,
        summary=summary,
        start=T0,
        end=T0,
        description=description,
        categories=categories,
        extra=extra or {},
    )


@dataclass(frozen=True)
class Case:
    line: int
    summary: str
    description: str
    categories: tuple[str, ...]
    expected: str
    note: str

    def event(self, summary: str | None = None, description: str | None = None) -> Event:
        return ev(
            self.summary if summary is None else summary,
            self.description if description is None else description,
            self.categories,
        )


def load(path: Path) -> list[Case]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or (line.startswith("#") and "\t" not in line):
            continue
        cols = line.split("\t")
        assert len(cols) == 5, f"{path.name}:{n}: expected 5 tab-separated columns"
        summary, desc, cats, expected, note = cols
        assert expected in LABELS, f"{path.name}:{n}: unknown label {expected!r}"
        categories = tuple(c for c in cats.split(",") if c)
        out.append(Case(n, summary, desc.replace("\\n", "\n"), categories, expected, note))
    return out


def label(v: Verdict) -> str:
    """The table's label for a verdict."""
    if v.is_run:
        assert v.intensity is not None
        return v.intensity.value
    assert v.intensity is None
    return "strength" if v.strength else "norun"
