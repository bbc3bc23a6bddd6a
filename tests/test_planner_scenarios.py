"""Named scenarios, one per rule and per awkward calendar, each with exact placements.

Week of Monday 30 Nov 2026 unless a scenario says otherwise; Europe/Berlin; defaults of
RULES.md (2 a week, 45 min, 06:00-21:00, preferred 18:00) unless changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calsync.config import DateRange, Rules, Schedule
from calsync.model import (
    DayKind,
    Event,
    Intensity,
    Interval,
    Phase,
    Plan,
    PriorSession,
    Run,
    Verdict,
)
from calsync.planner import make_run, plan
from tests.planner_checker import World, check_plan

BERLIN = "Europe/Berlin"
MON = date(2026, 11, 30)
NAMES = {"hard": "Intervals", "easy": "Easy run", "race": "City 10K"}


def at(day: int, hm: str, tz: str = BERLIN, base: date = MON) -> datetime:
    h, m = map(int, hm.split(":"))
    return datetime.combine(base + timedelta(days=day), time(h, m), tzinfo=ZoneInfo(tz))


def run(
    day: int,
    hm: str,
    minutes: int,
    kind: str,
    summary: str | None = None,
    tz: str = BERLIN,
    base: date = MON,
) -> Run:
    s = at(day, hm, tz, base)
    ev = Event(
        uid=None, summary=summary or NAMES[kind], start=s, end=s + timedelta(minutes=minutes)
    )
    return make_run(ev, Verdict(True, Intensity(kind), f"test: {kind}"), Rules(), ZoneInfo(tz))


def allday(day: int, kind: str, summary: str, rules: Rules, minutes: int | None = None) -> Run:
    s = at(day, "00:00")
    ev = Event(uid=None, summary=summary, start=s, end=s + timedelta(days=1), all_day=True)
    verdict = Verdict(True, Intensity(kind), "test", minutes=minutes)
    return make_run(ev, verdict, rules, ZoneInfo(BERLIN))


def busy(day: int, start: str, end: str, label: str = "Meeting", tz: str = BERLIN) -> Interval:
    return Interval(at(day, start, tz), at(day, end, tz), label)


class Case:
    """One planner call and its independent check."""

    def __init__(
        self,
        runs: Sequence[Run],
        *,
        busy: Sequence[Interval] = (),
        own: Sequence[Interval] = (),
        previous: Sequence[PriorSession] = (),
        skipped: Sequence[PriorSession] = (),
        now: datetime | None = None,
        rules: Rules | None = None,
        days: int = 7,
        tz: str = BERLIN,
        preferred: time | None = time(18, 0),
    ) -> None:
        self.world = World(
            runs=runs,
            busy=busy,
            own_strength=own,
            schedule=Schedule(timezone=tz, horizon_days=days, preferred_time=preferred),
            rules=rules or Rules(),
            now=now or at(0, "00:00", tz),
            previous=previous,
            skipped=skipped,
        )
        w = self.world
        self.plan: Plan = plan(
            runs=w.runs,
            busy=w.busy,
            own_strength=w.own_strength,
            previous=w.previous,
            schedule=w.schedule,
            rules=w.rules,
            now=w.now,
            skipped=w.skipped,
        )
        assert check_plan(w, self.plan) == []
        self.zone = ZoneInfo(tz)

    def placed(self) -> list[str]:
        """Sessions planned now (not past), as 'Tue 18:00' local."""
        return [
            s.start.astimezone(self.zone).strftime("%a %H:%M")
            for s in self.plan.sessions
            if not s.past
        ]

    def day(self, offset: int, base: date = MON) -> object:
        d = base + timedelta(days=offset)
        return next(x for x in self.plan.days if x.day == d)

    def blocked(self, offset: int, base: date = MON) -> tuple[str, ...]:
        return self.day(offset, base).blocked  # type: ignore[attr-defined,no-any-return]


def typical_week(base: int = 0) -> list[Run]:
    return [
        run(base + 1, "07:00", 60, "hard", "Intervals 6x800"),
        run(base + 2, "07:00", 45, "easy", "Recovery"),
        run(base + 3, "18:00", 60, "hard", "Tempo 8 km"),
        run(base + 5, "08:00", 120, "easy", "Long run easy"),
    ]


# --------------------------------------------------------------------------- H1-H7


def test_h1_no_session_within_24h_before_a_hard_run() -> None:
    c = Case([run(1, "07:00", 60, "hard"), run(2, "07:00", 60, "hard", "Tempo")])
    # Tue is 19 h before Wednesday's tempo at best; Wed after its own run is free.
    assert c.blocked(1)[0] == (
        "H1: 19.2 h before Wednesday's hard run 'Tempo' (07:00) (needs ≥ 24 h)"
    )
    # Wed after its run; then a rest day: not Thu (just after a hard day, the worst),
    # Sat rather than Fri (spread: three days after Wednesday's session).
    assert c.placed() == ["Wed 18:00", "Sat 18:00"]


def test_h1_48h_before_a_race() -> None:
    c = Case(
        [run(1, "07:00", 60, "hard"), run(3, "18:00", 60, "easy"), run(6, "09:00", 60, "race")]
    )
    # Taper week: one session. Fri/Sat are closer than 48 h to Sunday's race.
    assert c.placed() == ["Tue 18:00"]
    assert c.blocked(5)[0] == ("H1: 26.2 h before Sunday's race 'City 10K' (09:00) (needs ≥ 48 h)")
    assert c.blocked(6)[0].startswith("H5: race day")


def test_h2_after_the_days_last_run_with_3h_after_hard_and_half_hour_after_easy() -> None:
    hard_pm = Case([run(1, "15:00", 90, "hard")], days=2)
    assert hard_pm.placed() == ["Tue 19:30"]  # 16:30 + 3 h
    too_late = Case([run(1, "17:00", 90, "hard")], days=2)
    # Tue is closed by H2, so Monday (a rest day, as the fallback) takes the session,
    # ending 24 h before Tuesday's run (H1).
    assert too_late.placed() == ["Mon 16:15"]
    assert too_late.blocked(1)[0] == "H2: not before 21:30 (3 h after 'Intervals' ends 18:30)"
    easy_base = Case([run(1, "17:00", 60, "easy")], days=2)  # a base week: easy days allowed
    assert easy_base.placed() == ["Tue 18:30"]


def test_h3_easy_days_only_in_base_weeks() -> None:
    build = Case([run(0, "07:00", 45, "easy"), run(3, "07:00", 60, "hard")], days=1)
    assert build.placed() == []
    assert build.blocked(0) == ("H3: easy day (not a base week)",)
    base = Case([run(0, "07:00", 45, "easy"), run(2, "07:00", 45, "easy")], days=3)
    assert base.placed() == ["Mon 18:00", "Wed 18:00"]  # easy days of a base week
    assert base.plan.weeks[0].phase is Phase.BASE
    never = Case([run(0, "07:00", 45, "easy")], days=1, rules=Rules(lift_on_easy_days="never"))
    assert never.blocked(0) == ("H3: easy day (lift_on_easy_days = never)",)
    ranged = Case(
        [run(0, "07:00", 45, "easy"), run(3, "07:00", 60, "hard")],
        days=3,
        rules=Rules(base_ranges=(DateRange(MON, MON + timedelta(days=2)),)),
    )
    assert ranged.placed() == ["Mon 18:00"]


def test_h4_48h_between_sessions_own_strength_events_and_across_weeks() -> None:
    gym = busy(2, "18:00", "19:00", "Gym with Sam")
    c = Case(typical_week(), own=[gym])
    # The user's Wednesday gym session counts: Tue is 24 h before it, Thu 24 h after it;
    # one more session fits this week: Sun (Fri, just after Thursday's tempo, is worse).
    assert c.placed() == ["Sun 18:00"]
    assert c.plan.weeks[0].placed == 2
    assert c.blocked(1)[0] == (
        "H4: 31 h before your strength event 'Gym with Sam' (Wed 18:00) (needs ≥ 48 h)"
    )
    assert "H4: 25.2 h after your strength event 'Gym with Sam'" in c.blocked(3)[1]
    # Across the week boundary: last week's (past) Sunday session closes Monday and
    # keeps Tuesday at least 48 h after it.
    prev = PriorSession("2026-11-23/2", at(-1, "18:00"), at(-1, "18:45"))
    c2 = Case(typical_week(), previous=[prev], now=at(0, "00:00"))
    assert c2.placed() == ["Tue 18:00", "Sun 18:00"]
    assert [s.key for s in c2.plan.sessions] == ["2026-11-23/2", "2026-11-30/1", "2026-11-30/2"]
    assert c2.plan.sessions[0].past


def test_h5_week_target_and_taper_and_race_day() -> None:
    runs = typical_week() + [run(8, "07:00", 60, "hard"), run(13, "09:00", 120, "race", "Marathon")]
    c = Case(runs, days=14)
    weeks = c.plan.weeks
    assert [w.phase for w in weeks] == [Phase.TAPER, Phase.TAPER]
    assert [(w.target, w.placed) for w in weeks] == [(1, 1), (1, 1)]
    assert c.placed() == ["Tue 17:15", "Tue 18:00"]
    assert c.blocked(13)[0] == "H5: race day (Sunday's race 'Marathon' (09:00)): no session"


def test_h6_allowed_hours_and_busy_time_with_buffer() -> None:
    meetings = [busy(1, "08:00", "17:45"), busy(1, "18:55", "20:00", "Choir")]
    c = Case([run(1, "06:00", 60, "hard")], busy=meetings, days=2)
    # 17:45 + 15 min buffer = 18:00 start; 18:45 + 15 min > 18:55? no: 19:00 > 18:55 -> no.
    assert c.placed() == ["Tue 20:15"]
    c2 = Case(
        [run(1, "06:00", 60, "hard")],
        busy=[busy(1, "08:00", "17:45"), busy(1, "19:00", "21:00")],
        days=2,
    )
    assert c2.placed() == ["Tue 18:00"]


def test_h7_nothing_before_now_and_the_past_is_kept() -> None:
    past = PriorSession("2026-11-30/1", at(1, "18:00"), at(1, "18:45"))
    c = Case(typical_week(), previous=[past], now=at(2, "12:00"), days=5)
    assert [(s.key, s.past, s.start) for s in c.plan.sessions] == [
        ("2026-11-30/1", True, past.start),
        ("2026-11-30/2", False, at(6, "18:00")),
    ]
    assert c.plan.weeks[0].placed == 2
    late = Case([run(1, "07:00", 60, "hard")], now=at(1, "20:30"), days=1)
    assert late.placed() == []
    assert late.blocked(1)[0] == "H7: before now (Tue 20:30)"


# --------------------------------------------------------------------------- the calendars


def test_all_day_runs_start_at_the_weekdays_assumed_time() -> None:
    rules = Rules(all_day_run_start=(time(7, 0),) * 5 + (time(9, 0), time(9, 0)))
    sat = allday(5, "hard", "Long run with fast finish", rules, minutes=90)
    assert (sat.start, sat.end) == (at(5, "09:00"), at(5, "10:30"))
    tue = allday(1, "hard", "Hills", rules)
    assert (tue.start, tue.end) == (at(1, "07:00"), at(1, "08:00"))
    c = Case([tue, sat], rules=rules, preferred=None)
    # No preferred time: the earliest start after the H2 gap (08:00 + 3 h, 10:30 + 3 h).
    assert c.placed() == ["Tue 11:00", "Sat 13:30"]


def test_double_day_counts_from_the_last_run() -> None:
    c = Case([run(1, "06:00", 60, "hard"), run(1, "16:00", 40, "easy", "Easy shakeout")], days=2)
    assert c.placed() == ["Tue 19:45"]  # 16:40 + 3 h (a hard day), on the grid


def test_back_to_back_hard_days() -> None:
    runs = [
        run(1, "07:00", 60, "hard"),
        run(2, "07:00", 60, "hard", "Hills"),
        run(3, "07:00", 60, "hard", "Tempo"),
        run(5, "08:00", 120, "easy", "Long run"),
    ]
    c = Case(runs)
    assert c.placed() == ["Thu 18:00", "Sun 18:00"]
    assert c.blocked(1)[0].startswith("H1: 19.2 h before Wednesday's hard run 'Hills'")
    assert c.blocked(2)[0].startswith("H1: 19.2 h before Thursday's hard run 'Tempo'")
    assert c.plan.weeks[0].phase is Phase.BUILD and c.plan.weeks[0].met


def test_meetings_everywhere() -> None:
    meetings = [busy(k, "06:00", "21:00", "Conference") for k in range(7)]
    c = Case(typical_week(), busy=meetings)
    assert c.placed() == []
    assert c.blocked(1)[0] == "H6: no free slot 06:00–21:00 clear of busy time"
    week = c.plan.weeks[0]
    assert not week.met and "Tue: H6: no free slot" in week.why_not


def test_empty_calendar_says_so_and_plans_nothing_unless_asked() -> None:
    c = Case([])
    assert c.placed() == []
    assert c.plan.notes[0].startswith("no runs in the horizon")
    assert c.plan.weeks[0].why_not.startswith("no runs this week")
    asked = Case([], rules=Rules(plan_without_runs=True))
    assert asked.placed() == ["Mon 18:00", "Thu 18:00"]


def test_rest_day_fallback_prefers_hard_days_and_avoids_the_day_after_hard() -> None:
    c = Case([run(1, "07:00", 60, "hard"), run(5, "08:00", 90, "easy")])
    # Tue (hard) first; the second goes to a rest day, not Wed (just after the hard day),
    # and not Thu (two days after Tuesday's session) but Fri (spread).
    assert c.placed() == ["Tue 18:00", "Fri 18:00"]
    never = Case(
        [run(1, "07:00", 60, "hard"), run(5, "08:00", 90, "easy")],
        rules=Rules(lift_on_rest_days="never"),
    )
    assert never.placed() == ["Tue 18:00"]
    assert never.blocked(3) == ("rest day: lift_on_rest_days = never",)


def test_horizon_starting_mid_week() -> None:
    c = Case(typical_week() + typical_week(7), now=at(2, "10:00"), days=10)
    assert [d.day for d in c.plan.days][0] == MON + timedelta(days=2)
    assert len(c.plan.days) == 10
    assert [w.start for w in c.plan.weeks] == [MON, MON + timedelta(days=7)]
    # Wed easy (H3), Thu closed by H2 (tempo at 18:00): this week's two go on the rest
    # days, early, so that Sunday's is 48 h before Tuesday's intervals (soft preference
    # 3 outranks the preferred time), and Friday's 48 h before Sunday's (H4).
    assert c.placed() == ["Fri 06:15", "Sun 06:15", "Tue 17:15", "Fri 18:00"]
    assert c.plan.weeks[0].met and c.plan.weeks[1].placed == 2


def test_dst_week_keeps_local_wall_time() -> None:
    for tz, monday in (("America/New_York", date(2026, 10, 26)), (BERLIN, date(2026, 10, 19))):
        runs = [run(k, "07:00", 60, "hard", tz=tz, base=monday) for k in (1, 4, 8, 11)]
        c = Case(runs, now=at(0, "00:00", tz, monday), days=14, tz=tz)
        starts = [s.start.astimezone(ZoneInfo(tz)) for s in c.plan.sessions]
        assert [f"{s:%a %H:%M}" for s in starts] == ["Tue 18:00", "Fri 18:00"] * 2
        offsets = {s.utcoffset() for s in starts}
        assert len(offsets) == 2  # the same 18:00 on both sides of the change


# --------------------------------------------------------------------------- memory


def test_pinned_session_stays_and_counts() -> None:
    pin = PriorSession("2026-11-30/1", at(2, "07:45"), at(2, "08:30"), pinned=True)
    c = Case(typical_week(), previous=[pin])
    s = c.plan.sessions[0]
    assert (s.key, s.start, s.pinned, s.past) == ("2026-11-30/1", pin.start, True, False)
    assert c.placed() == ["Wed 07:45", "Sun 18:00"]
    # Planned around: Tuesday and Thursday are too close to it.
    assert c.blocked(1)[0] == (
        "H4: 20.8 h before Wednesday's session (pinned) (07:45) (needs ≥ 48 h)"
    )
    assert "H4: 35.5 h after Wednesday's session (pinned) (07:45)" in c.blocked(3)[1]
    # It breaks rules the user chose to break; the plan says so.
    assert "note, your choice breaks H3: easy day (not a base week)" in s.rules


def test_skipped_session_is_not_replaced() -> None:
    gone = PriorSession("2026-11-30/1", at(1, "18:00"), at(1, "18:45"))
    c = Case(typical_week(), skipped=[gone])
    assert c.plan.weeks[0].target == 1
    assert [s.key for s in c.plan.sessions] == ["2026-11-30/2"]  # /1 is not reused
    assert any("you deleted 2026-11-30/1" in n for n in c.plan.notes)


def test_freeze_hours_keep_a_session_unless_a_hard_rule_now_forbids_it() -> None:
    prev = [PriorSession("2026-11-30/1", at(1, "18:30"), at(1, "19:15"))]
    now = at(1, "09:00")  # 9.5 h before it: frozen
    kept = Case(typical_week(), previous=prev, now=now, days=6)
    assert kept.placed()[0] == "Tue 18:30"
    assert kept.plan.sessions[0].key == "2026-11-30/1"
    # Outside the freeze the same session moves to the preferred 18:00.
    early = Case(typical_week(), previous=prev, now=at(0, "12:00"), days=6)
    assert early.placed()[0] == "Tue 17:15"  # 48 h before Thursday's tempo
    assert early.plan.sessions[0].key == "2026-11-30/1"
    # A new meeting over it: a hard rule (H6) forbids it, so even frozen it moves.
    moved = Case(typical_week(), previous=prev, now=now, days=6, busy=[busy(1, "18:00", "19:30")])
    assert moved.placed()[0] == "Tue 17:00"  # ends 17:45, 15 min before the meeting


def test_replanning_is_stable_and_a_moved_run_moves_only_its_neighbours() -> None:
    runs = typical_week() + typical_week(7) + typical_week(14)
    first = Case(runs, days=21)
    prev = [PriorSession(s.key, s.start, s.end) for s in first.plan.sessions]
    again = Case(runs, days=21, previous=prev)
    before = [(s.key, s.start) for s in first.plan.sessions]
    assert [(s.key, s.start) for s in again.plan.sessions] == before
    # Week 3's intervals move from Tue 07:00 to Wed 12:00: only week 3's Tuesday session
    # moves (to Wed, 24 h before Thursday's tempo), and it keeps its key (an update).
    moved = [r for r in runs if r.start != at(15, "07:00")]
    moved.append(run(16, "12:00", 60, "hard", "Intervals 6x800"))
    after = Case(moved, days=21, previous=prev)
    assert after.day(16).kind is DayKind.HARD  # type: ignore[attr-defined]
    expected = before[:4] + [("2026-12-14/1", at(16, "17:15")), before[5]]
    assert [(s.key, s.start) for s in after.plan.sessions] == expected
    # A run that moves without touching a session's rules moves nothing, even where a
    # fresh plan would differ (stability outranks the preferred time).
    tempo = [r for r in runs if r.start != at(17, "18:00")]
    tempo.append(run(16, "18:00", 60, "hard", "Tempo 8 km"))
    kept = Case(tempo, days=21, previous=prev)
    assert [(s.key, s.start) for s in kept.plan.sessions] == before


# --------------------------------------------------------------------------- more edges


def test_race_mid_plan_tapers_two_weeks_then_builds_again() -> None:
    runs = typical_week() + typical_week(7) + typical_week(14)
    runs = [r for r in runs if r.start.date() != (MON + timedelta(days=12))]
    runs.append(run(13, "09:00", 180, "race", "Berlin Marathon"))
    c = Case(runs, days=21)
    assert [(w.phase, w.target, w.placed) for w in c.plan.weeks] == [
        (Phase.TAPER, 1, 1),
        (Phase.TAPER, 1, 1),
        (Phase.BUILD, 2, 2),
    ]
    # Week 2: Sunday is race day (H5), and nothing in the 48 h before it (H1).
    assert c.blocked(13)[0].startswith("H5: race day")
    assert c.blocked(12)[0] == (
        "H1: 26.2 h before Sunday's race 'Berlin Marathon' (09:00) (needs ≥ 48 h)"
    )
    # Week 3: Monday, just after the race, is the worst rest day and stays empty.
    assert c.placed() == ["Tue 17:15", "Tue 17:15", "Tue 17:15", "Sun 18:00"]
    assert c.blocked(14) == (
        "H5: week target 2 reached",
        "H4: 35.2 h before Tuesday's session (17:15) (needs ≥ 48 h)",
    )


def test_dst_spring_forward_keeps_local_wall_time() -> None:
    monday = date(2026, 3, 23)  # Europe/Berlin springs forward on Sunday 29 March
    runs = [run(k, "07:00", 60, "hard", base=monday) for k in (1, 4, 8, 11)]
    c = Case(runs, now=at(0, "00:00", base=monday), days=14)
    starts = [s.start.astimezone(ZoneInfo(BERLIN)) for s in c.plan.sessions]
    assert [f"{s:%a %d %H:%M}" for s in starts] == [
        "Tue 24 18:00",
        "Fri 27 18:00",
        "Tue 31 18:00",
        "Fri 03 18:00",
    ]
    assert [s.utcoffset() for s in starts] == [timedelta(hours=1)] * 2 + [timedelta(hours=2)] * 2


def test_make_run_multi_day_all_day_and_timed_without_duration() -> None:
    rules = Rules(all_day_run_minutes=75)
    s = at(2, "00:00")
    camp = Event(uid=None, summary="Run camp", start=s, end=s + timedelta(days=3), all_day=True)
    r = make_run(camp, Verdict(True, Intensity.EASY, "camp"), rules, ZoneInfo(BERLIN))
    assert (r.start, r.end) == (at(2, "07:00"), at(2, "08:15"))  # the first day only
    flash = Event(uid=None, summary="Tempo", start=at(3, "06:00"), end=at(3, "06:00"))
    r2 = make_run(flash, Verdict(True, Intensity.HARD, "t", minutes=50), rules, ZoneInfo(BERLIN))
    assert (r2.start, r2.end) == (at(3, "06:00"), at(3, "06:50"))
    assert r2.is_hard
    # The user's own all-day gym event (no intensity) gets times the same way.
    gym = Event(uid=None, summary="Gym", start=s, end=s + timedelta(days=1), all_day=True)
    g = make_run(gym, Verdict(False, None, "strength", strength=True), rules, ZoneInfo(BERLIN))
    assert (g.start, g.end, g.is_hard) == (at(2, "07:00"), at(2, "08:15"), False)


def test_frozen_session_gives_way_when_the_week_is_already_full() -> None:
    prev = [PriorSession("2026-11-30/1", at(1, "18:00"), at(1, "18:45"))]
    own = [busy(5, "16:00", "17:00", "Gym")]  # the user's own session fills the week
    c = Case(
        typical_week(),
        previous=prev,
        own=own,
        now=at(1, "09:00"),
        days=6,
        rules=Rules(sessions_per_week=1),
    )
    assert c.placed() == []
    assert c.plan.weeks[0].placed == 1 and c.plan.weeks[0].met
    assert c.blocked(1)[0] == "H5: week target 1 reached"


def test_week_start_sunday_names_keys_by_sunday() -> None:
    c = Case(typical_week(), rules=Rules(week_start=6), days=7)
    assert [w.start for w in c.plan.weeks] == [MON - timedelta(days=1), MON + timedelta(days=6)]
    assert [s.key for s in c.plan.sessions] == ["2026-11-29/1", "2026-11-29/2"]


def test_now_in_another_zone_is_read_as_local_days() -> None:
    ny = "America/New_York"
    runs = [run(1, "07:00", 60, "hard", tz=ny), run(3, "07:00", 60, "hard", tz=ny)]
    now = datetime(2026, 12, 1, 3, 0, tzinfo=ZoneInfo("UTC"))  # Mon 22:00 in New York
    c = Case(runs, now=now, days=3, tz=ny)
    assert c.plan.days[0].day == MON
    assert c.blocked(0)[0].startswith("H7")
    assert c.placed() == ["Tue 18:00"]


def test_some_is_better_than_none_across_a_week_boundary() -> None:
    # Sat 5 Dec .. Wed 9 Dec. Easy days are closed (lift_on_easy_days = never). Week 1 can
    # only hold Sunday 06:15 (Monday's run is hard: H1), which is too close to Monday
    # evening (H4). Two sessions either way; one in each week beats two in week 2,
    # though Monday is a hard day (soft preference 1 before 2).
    runs = [
        run(5, "08:00", 60, "easy"),
        run(7, "07:00", 60, "hard"),
        run(8, "07:00", 60, "easy"),
    ]
    c = Case(runs, now=at(5, "00:00"), days=5, rules=Rules(lift_on_easy_days="never"))
    assert c.placed() == ["Sun 06:15", "Wed 18:00"]
    assert [(w.placed, w.met) for w in c.plan.weeks] == [(1, False), (1, False)]
    assert "Mon: H4" in c.plan.weeks[1].why_not


def test_one_session_a_day_even_when_h4_allows_more() -> None:
    rules = Rules(
        min_hours_between_sessions=0,
        sessions_per_week=7,
        lift_on_easy_days="always",
        lift_on_rest_days="always",
    )
    c = Case(typical_week(), rules=rules)
    # Thu is closed by H2 (tempo at 18:00); every other day has one session, Mon and Wed
    # ending 24 h before the next hard run (H1).
    assert c.placed() == [
        "Mon 06:15",
        "Tue 17:15",
        "Wed 17:15",
        "Fri 18:00",
        "Sat 18:00",
        "Sun 18:00",
    ]


def test_the_day_after_a_hard_day_is_the_last_resort_and_says_so() -> None:
    runs = [run(1, "19:00", 60, "hard"), run(3, "07:00", 45, "easy"), run(5, "08:00", 90, "easy")]
    c = Case(runs, now=at(1, "00:00"), days=2)
    assert c.placed() == ["Wed 18:00"]
    reason = c.plan.sessions[0].reason
    assert reason.startswith("rest day as a fallback: hard days could not hold the week's target")
    assert "the day after Tuesday's hard run 'Intervals' (19:00), no better day left" in reason
