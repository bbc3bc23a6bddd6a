"""The week-view page as HTML: built from a real plan of a real calendar, read as a tree.

The browser tests (test_page_browser.py) check what a person sees; these check the
document itself: every session once at its day, escaping, the CSP hash, the JSON fields
the page is built from.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calsync import page, report
from calsync.feed_urls import FeedUrls
from calsync.model import Interval
from calsync.state import SyncRecord
from tests.page_support import NOW, XSS, parse_html, plan_data, write_page_config

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return plan_data(write_page_config(tmp_path_factory.mktemp("page")))


def render(plan: dict[str, Any], **kw: Any) -> str:
    kw.setdefault("now", datetime.fromisoformat(NOW))
    return page.render_page(plan, **kw)


def test_every_session_once_at_its_day_and_time(plan: dict[str, Any]) -> None:
    assert len(plan["sessions"]) >= 3, "the calendar should give a few sessions"
    root, _ = parse_html(render(plan))
    blocks = root.find_all("li", "session")
    assert sorted(b.attrs["data-key"] for b in blocks) == sorted(s["key"] for s in plan["sessions"])
    by_key = {s["key"]: s for s in plan["sessions"]}
    for b in blocks:
        s = by_key[b.attrs["data-key"]]
        start = datetime.fromisoformat(s["start"])
        day = b.ancestor("li", "day")
        assert day is not None, f"session {s['key']} is not inside a day"
        assert day.attrs["data-date"] == start.date().isoformat()
        summary = b.find_all("summary")[0].text()
        assert f"{start:%H:%M}" in summary and s["title"] in summary
        # The session opens to its workout, every exercise named.
        for ex in s["workout"]["exercises"]:
            assert ex["name"] in b.text()


def test_each_run_carries_its_intensity_word(plan: dict[str, Any]) -> None:
    root, _ = parse_html(render(plan))
    days = {d.attrs["data-date"]: d for d in root.find_all("li", "day")}
    runs = [(d["date"], r) for d in plan["days"] for r in d["runs"]]
    assert {r["intensity"] for _, r in runs} >= {"hard", "easy"}
    for day, r in runs:
        items = [i for i in days[day].find_all("li", "run") if r["summary"] in i.text()]
        assert len(items) == 1, (day, r["summary"])
        item = items[0]
        assert f"int-{r['intensity']}" in item.classes
        words = item.find_all("span", "int-word")
        assert [w.text() for w in words] == [r["intensity"]]


def test_hostile_titles_are_text(plan: dict[str, Any]) -> None:
    html = render(plan)
    root, tags = parse_html(html)
    assert "script" not in tags and "img" not in tags
    assert "onerror" not in {a for n in root.find_all() for a in n.attrs}
    text = root.text()
    for xss in XSS:
        assert xss in text, f"{xss!r} should be shown as text"
    # The busy meeting, the hard runs' titles and a description-derived reason all made it.
    assert "busy: <script>alert(1)</script>" in text


def test_css_is_allowed_by_its_hash_and_nothing_else(plan: dict[str, Any]) -> None:
    html = render(plan)
    root, tags = parse_html(html)
    styles = root.find_all("style")
    assert len(styles) == 1
    css = re.search(r"<style>(.*?)</style>", html, re.S)
    assert css is not None
    digest = base64.b64encode(hashlib.sha256(css.group(1).encode()).digest()).decode()
    metas = [
        m for m in root.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(metas) == 1
    policy = metas[0].attrs["content"]
    assert f"style-src 'sha256-{digest}'" in policy
    assert policy.startswith("default-src 'none'")
    assert "unsafe-inline" not in policy
    assert page.content_security_policy().startswith(policy)
    # No inline style attributes (the hash would not cover them), no links out, no script.
    assert not [n for n in root.find_all() if "style" in n.attrs]
    assert "link" not in tags and "script" not in tags
    for a in root.find_all("a"):
        assert not a.attrs["href"].startswith(("http:", "https:", "//")), a.attrs


def test_each_day_explains_itself(plan: dict[str, Any]) -> None:
    root, _ = parse_html(render(plan))
    days = {d.attrs["data-date"]: d for d in root.find_all("li", "day")}
    sessions = {s["key"]: s for s in plan["sessions"]}
    for d in plan["days"]:
        cell = days[d["date"]]
        why = [x for x in cell.find_all("details") if "why" in x.classes]
        assert len(why) == 1
        text = why[0].text()
        if d["sessions"]:
            s = sessions[d["sessions"][0]]
            assert why[0].find_all("summary")[0].text() == "Why this day"
            assert s["reason"] in text
            for rule in s["rules"]:
                assert rule in text
        else:
            assert why[0].find_all("summary")[0].text() == "Why no session"
            for b in d["blocked"]:
                assert b in text


def test_weeks_show_phase_and_count(plan: dict[str, Any]) -> None:
    root, _ = parse_html(render(plan))
    sections = {s.attrs["data-week"]: s for s in root.find_all("section", "week")}
    assert sorted(sections) == sorted(w["start"] for w in plan["weeks"])
    for w in plan["weeks"]:
        head = sections[w["start"]].text()
        assert f"{w['phase']} phase" in head
        assert f"{w['placed']}/{w['target']} sessions" in head
        assert len(sections[w["start"]].find_all("li", "day")) == 7


def test_week_not_met_says_why() -> None:
    plan = {
        "version": 1,
        "now": "2026-12-01T07:00:00+01:00",
        "timezone": "Europe/Berlin",
        "sessions": [],
        "days": [],
        "weeks": [
            {
                "start": "2026-11-30",
                "phase": "taper",
                "target": 1,
                "placed": 0,
                "met": False,
                "why_not": "every day is within 48 h of the race",
            }
        ],
        "notes": ["no runs in the horizon"],
    }
    text = parse_html(render(plan))[0].text()
    assert "0/1 sessions · short" in text
    assert "Why not met: every day is within 48 h of the race" in text
    assert "no runs in the horizon" in text


def test_today_marked_and_past_days_dimmed(plan: dict[str, Any]) -> None:
    later = datetime(2026, 12, 3, 12, 0, tzinfo=BERLIN)
    root, _ = parse_html(render(plan, now=later))
    days = {d.attrs["data-date"]: d for d in root.find_all("li", "day")}
    assert [k for k, d in days.items() if "today" in d.classes] == ["2026-12-03"]
    assert days["2026-12-03"].attrs.get("aria-current") == "date"
    for k, d in days.items():
        past = date.fromisoformat(k) < later.date()
        assert ("past" in d.classes) == past, k
        # Not by colour alone: the day's heading says it.
        head = d.find_all("h3")[0].text()
        assert ("past" in head.split()) == past, head


def test_busy_and_own_strength_shown_on_their_days(plan: dict[str, Any]) -> None:
    root, _ = parse_html(render(plan))
    days = {d.attrs["data-date"]: d for d in root.find_all("li", "day")}
    own = [(d["date"], b) for d in plan["days"] for b in d["own_strength"]]
    busy = [(d["date"], b) for d in plan["days"] for b in d["busy"]]
    assert own and busy
    for day, b in own:
        items = days[day].find_all("li", "own")
        assert any(b["title"] in i.text() for i in items)
    for day, b in busy:
        start = datetime.fromisoformat(b["start"])
        assert any(f"{start:%H:%M}" in i.text() for i in days[day].find_all("li", "busy"))


def test_low_confidence_run_is_marked() -> None:
    run = {
        "summary": "Thursday Social #12",
        "start": "2026-12-03T19:00:00+01:00",
        "end": "2026-12-03T20:00:00+01:00",
        "intensity": "hard",
        "reason": "unsure: treated as hard",
        "all_day": False,
    }
    day = {
        "date": "2026-12-03",
        "weekday": "Thursday",
        "kind": "hard",
        "sessions": [],
        "blocked": [],
        "note": "",
        "busy": [],
        "own_strength": [],
    }
    plan = {
        "version": 1, "now": "2026-12-01T07:00:00+01:00", "timezone": "Europe/Berlin",
        "sessions": [], "notes": [],
        "weeks": [{"start": "2026-11-30", "phase": "build", "target": 2, "placed": 0,
                   "met": False, "why_not": ""}],
        "days": [dict(day, runs=[dict(run, confidence="low")])],
    }  # fmt: skip
    low = parse_html(render(plan))[0].find_all("li", "run")
    assert len(low) == 1 and "unsure" in low[0].classes and "unsure?" in low[0].text()
    plan["days"] = [dict(day, runs=[dict(run, confidence="high")])]
    high = parse_html(render(plan))[0].find_all("li", "run")
    assert "unsure" not in high[0].classes and "unsure?" not in high[0].text()


def test_subscription_help_only_when_given(plan: dict[str, Any]) -> None:
    root, _ = parse_html(render(plan))
    assert not root.find_all("section", "subscribe")
    urls = FeedUrls("http://h.test:8765/tok/strength.ics", "http://h.test:8765/tok/busy.ics")
    root, _ = parse_html(render(plan, subscribe=urls))
    sub = root.find_all("section", "subscribe")
    assert len(sub) == 1
    hrefs = [a.attrs["href"] for a in sub[0].find_all("a")]
    assert "webcal://h.test:8765/tok/strength.ics" in hrefs
    assert "webcal://h.test:8765/tok/busy.ics" in hrefs
    assert urls.strength in sub[0].text() and urls.busy in sub[0].text()


def test_last_sync_shown_without_its_message(plan: dict[str, Any]) -> None:
    ok = SyncRecord(datetime(2026, 12, 1, 5, 55, tzinfo=UTC), True, "ok", 2, 1, 0)
    text = parse_html(render(plan, last_sync=ok))[0].text()
    assert "Tue 1 Dec 2026, 06:55 · ok (2 created, 1 moved, 0 removed)" in text
    bad = SyncRecord(ok.at, False, "https://user:secret@example.com/cal.ics: 500")
    text = parse_html(render(plan, last_sync=bad))[0].text()
    assert "failed" in text and "user:secret" not in text and "500" not in text
    assert "never synced" in parse_html(render(plan))[0].text()


def test_sessions_before_the_first_week_are_listed_as_earlier(plan: dict[str, Any]) -> None:
    old = dict(plan["sessions"][0], key="2026-11-16/1", start="2026-11-17T18:00:00+01:00",
               end="2026-11-17T18:45:00+01:00", past=True)  # fmt: skip
    data = dict(plan, sessions=[old, *plan["sessions"]])
    root, _ = parse_html(render(data))
    earlier = root.find_all("section", "earlier")
    assert len(earlier) == 1
    assert [b.attrs["data-key"] for b in earlier[0].find_all("li", "session")] == [old["key"]]
    assert len(root.find_all("li", "session")) == len(data["sessions"])


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        ("2026-12-01T06:30", "2026-12-01T07:30", "06:30–07:30"),
        ("2026-11-30T22:00", "2026-12-01T02:00", "…–02:00"),
        ("2026-12-01T22:00", "2026-12-02T02:00", "22:00–…"),
        ("2026-12-01T22:00", "2026-12-02T00:00", "22:00–24:00"),
        ("2026-12-01T00:00", "2026-12-02T00:00", "all day"),
        ("2026-11-30T12:00", "2026-12-03T00:00", "all day"),
    ],
)
def test_span_seen_on_a_day(start: str, end: str, shown: str) -> None:
    at = lambda s: datetime.fromisoformat(s + "+01:00")  # noqa: E731
    assert page._span(at(start), at(end), date(2026, 12, 1)) == shown


# --------------------------------------------------------------------------- plan --json


def test_plan_json_lists_busy_and_own_strength_per_day() -> None:
    from calsync.model import DayKind, DayPlan, Plan

    days = tuple(DayPlan(date(2026, 12, i), DayKind.REST, (), ()) for i in (1, 2, 3))
    plan = Plan((), days, (), datetime(2026, 12, 1, 7, tzinfo=BERLIN))
    t = lambda d, h: datetime(2026, 12, d, h, tzinfo=BERLIN)  # noqa: E731
    busy = [
        Interval(t(1, 22), t(2, 2), "night shift"),  # over midnight: both days
        Interval(t(2, 23), t(3, 0), "late call"),  # ends at midnight: not the next day
        Interval(t(4, 9), t(4, 10), "beyond the days"),
    ]
    own = [Interval(t(3, 18), t(3, 19), "Gym")]
    out = report.plan_json(plan, BERLIN, busy=busy, own_strength=own)
    labels = {d["date"]: [b["label"] for b in d["busy"]] for d in out["days"]}
    assert labels == {
        "2026-12-01": ["night shift"],
        "2026-12-02": ["night shift", "late call"],
        "2026-12-03": [],
    }
    assert [d["own_strength"] for d in out["days"]][2] == [
        {"start": "2026-12-03T18:00:00+01:00", "end": "2026-12-03T19:00:00+01:00", "title": "Gym"}
    ]
    assert report.plan_json(plan, BERLIN)["days"][0]["busy"] == []


# --------------------------------------------------------------------------- the CLI


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calsync", "--config", str(config), "--now", NOW, *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_plan_html_writes_the_page_from_the_plan_json(tmp_path: Path) -> None:
    config = write_page_config(tmp_path)
    r = _cli(config, "plan", "--json")
    assert r.returncode == 0, r.stderr
    import json

    data = json.loads(r.stdout)
    out = tmp_path / "site" / "week.html"
    r = _cli(config, "plan", "--html", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {out}"
    html = out.read_text(encoding="utf-8")
    assert html == page.render_page(data, now=datetime.fromisoformat(NOW))
    assert not list(out.parent.glob(".*.tmp")), "no temp file left behind"
    assert not (tmp_path / "out" / "strength.ics").exists(), "plan writes nothing else"


def test_plan_html_unwritable_path_is_one_clear_error(tmp_path: Path) -> None:
    config = write_page_config(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _cli(config, "plan", "--html", str(blocker / "week.html"))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith(f"calsync: error: {blocker / 'week.html'}: cannot ")
    assert len(r.stderr.strip().splitlines()) == 1


def test_render_takes_no_clock(plan: dict[str, Any]) -> None:
    """Pure: the same inputs give the same page; `now` only moves today's mark."""
    a = render(plan)
    assert a == render(plan)
    b = render(plan, now=datetime.fromisoformat(NOW) + timedelta(days=1))
    assert a != b
