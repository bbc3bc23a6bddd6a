"""The week-view page in a real browser: Debian's Chromium, driven by Playwright.

The page is loaded the two ways a user opens it: from `calsync serve` over real HTTP
(after a real sync) and from the file `calsync plan --html` wrote. The calendar's titles
include script and markup injections (tests/calendars/hostile_html_titles.ics).

Needs /usr/bin/chromium (apt-get install chromium), the `playwright` Python package
(never `playwright install`: the system browser is used) and axe-core from npm in
.ci/node (`npm install --prefix .ci/node axe-core`); `.ci/run` installs all three. Without
them the tests skip with the reason, except under CI (CI set), where they fail.

Screenshots go to $CALSYNC_SCREENSHOTS, else tests/artifacts/page/ (ignored by git).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.page_support import HOSTILE, NOW, XSS, write_page_config
from tests.service_support import TOKEN, Proc, request, run_calsync, start_server

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CALSYNC_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(os.environ.get("CALSYNC_AXE") or REPO / ".ci/node/node_modules/axe-core/axe.min.js")
SHOTS = Path(os.environ.get("CALSYNC_SCREENSHOTS") or REPO / "tests" / "artifacts" / "page")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM} (apt-get install chromium)"
    if not AXE.exists():
        return f"axe-core not found at {AXE} (npm install --prefix .ci/node axe-core)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = _missing()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(f"browser tests skipped: {why}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Opened:
    """A page with everything the browser did while loading it recorded."""

    page: Any
    url: str
    plan: dict[str, Any]
    origin: str
    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@dataclass
class Sources:
    served_url: str
    served_plan: dict[str, Any]
    file_url: str
    file_plan: dict[str, Any]
    hostport: str


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sources]:
    # The file: `plan --json` and `plan --html` from one config, nothing synced.
    offline = tmp_path_factory.mktemp("offline")
    cfg = write_page_config(offline, source=HOSTILE)
    file_plan = json.loads(run_calsync(cfg, "plan", "--json", now=NOW))
    html = offline / "week.html"
    run_calsync(cfg, "plan", "--html", str(html), now=NOW)

    # The server: a real sync into the state, then `calsync serve`.
    online = tmp_path_factory.mktemp("online")
    cal = online / "plan.ics"
    shutil.copy(HOSTILE, cal)
    cfg = write_page_config(online, source=cal, token=TOKEN)
    run_calsync(cfg, "sync", now=NOW)
    proc: Proc
    proc, hostport = start_server(cfg)
    try:
        r = request(hostport, "GET", f"/{TOKEN}/plan.json")
        assert r.status == 200
        yield Sources(
            served_url=f"http://{hostport}/{TOKEN}/",
            served_plan=json.loads(r.body),
            file_url=html.as_uri(),
            file_plan=file_plan,
            hostport=hostport,
        )
    finally:
        proc.stop()


def open_page(
    browser: Any, sources: Sources, how: str, *, viewport: dict[str, int] = DESKTOP, **kw: Any
) -> Opened:
    url = sources.served_url if how == "served" else sources.file_url
    plan = sources.served_plan if how == "served" else sources.file_plan
    origin = f"http://{sources.hostport}/" if how == "served" else url
    context = browser.new_context(viewport=viewport, **kw)
    page = context.new_page()
    o = Opened(page, url, plan, origin)
    page.on("console", lambda m: o.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: o.console.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: o.failed.append(f"{r.url} {r.failure}"))
    page.on("request", lambda r: o.requests.append(r.url))

    def on_dialog(d: Any) -> None:
        o.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    response = page.goto(url, wait_until="load")
    if how == "served":
        assert response is not None and response.status == 200
    return o


def close(o: Opened) -> None:
    o.page.context.close()


def open_all_details(o: Opened) -> None:
    o.page.eval_on_selector_all("details", "els => els.forEach(e => { e.open = true; })")


def assert_quiet(o: Opened) -> None:
    """No console errors or warnings, no failed request, no request but the page itself."""
    assert [c for c in o.console if not c.startswith(("log:", "info:", "debug:"))] == []
    assert o.failed == []
    assert o.dialogs == []
    outside = [u for u in o.requests if not u.startswith(o.origin)]
    assert outside == [], f"requests beyond the page: {outside}"
    assert o.requests == [o.url], o.requests


def first_week_lefts(o: Opened) -> list[int]:
    """Where each day of the first week starts, left to right, in CSS pixels."""
    return list(
        o.page.eval_on_selector(
            "section.week",
            "w => [...w.querySelectorAll('li.day')]"
            ".map(e => Math.round(e.getBoundingClientRect().left))",
        )
    )


HOW = ["served", "file"]


@pytest.mark.parametrize("how", HOW)
def test_sessions_at_their_day_and_time(browser: Any, sources: Sources, how: str) -> None:
    o = open_page(browser, sources, how)
    try:
        found = o.page.eval_on_selector_all(
            "li.session",
            """els => els.map(e => ({
                key: e.dataset.key,
                day: (e.closest('li.day') || {dataset: {}}).dataset.date || null,
                summary: e.querySelector('summary').innerText,
            }))""",
        )
        assert len(found) == len(o.plan["sessions"]) >= 3
        by_key = {f["key"]: f for f in found}
        for s in o.plan["sessions"]:
            f = by_key[s["key"]]
            assert f["day"] == s["start"][:10], s["key"]
            assert s["start"][11:16] in f["summary"] and s["end"][11:16] in f["summary"]
            assert s["title"] in f["summary"]
        assert_quiet(o)
    finally:
        close(o)


@pytest.mark.parametrize("how", HOW)
def test_runs_carry_their_intensity_word(browser: Any, sources: Sources, how: str) -> None:
    o = open_page(browser, sources, how)
    try:
        for d in o.plan["days"]:
            for r in d["runs"]:
                item = o.page.locator(f'li.day[data-date="{d["date"]}"] li.run').filter(
                    has_text=r["summary"]
                )
                assert item.count() == 1, (d["date"], r["summary"])
                word = item.locator(".int-word")
                assert word.inner_text().strip().lower() == r["intensity"]
                assert word.is_visible()
    finally:
        close(o)


@pytest.mark.parametrize("how", HOW)
def test_details_open_to_reason_and_workout(browser: Any, sources: Sources, how: str) -> None:
    o = open_page(browser, sources, how)
    try:
        s = next(x for x in o.plan["sessions"] if not x["past"])
        block = o.page.locator(f'li.session[data-key="{s["key"]}"]')
        exercise = block.locator(".ex-name").first
        assert not exercise.is_visible(), "a session's workout is folded at first"
        block.locator("summary").click()
        assert block.locator("details").evaluate("d => d.open")
        assert exercise.is_visible()
        text = block.inner_text()
        assert s["reason"] in text
        for ex in s["workout"]["exercises"]:
            assert ex["name"] in text
        # The day's own <details>: why it holds the session, rule by rule.
        day = o.page.locator(f'li.day[data-date="{s["start"][:10]}"]')
        why = day.locator("details.why")
        why.locator("summary").click()
        why_text = why.inner_text()
        for rule in s["rules"]:
            assert rule in why_text
        # And a day without a session says what kept it free.
        empty = next(d for d in o.plan["days"] if not d["sessions"] and d["blocked"])
        why = o.page.locator(f'li.day[data-date="{empty["date"]}"] details.why')
        assert why.locator("summary").inner_text() == "Why no session"
        why.locator("summary").click()
        assert empty["blocked"][0] in why.inner_text()
        assert_quiet(o)
    finally:
        close(o)


@pytest.mark.parametrize("how", HOW)
def test_hostile_titles_render_as_text(browser: Any, sources: Sources, how: str) -> None:
    o = open_page(browser, sources, how)
    try:
        open_all_details(o)
        o.page.wait_for_timeout(200)  # give an injected handler its chance to fire
        assert o.dialogs == []
        counts = o.page.evaluate(
            """() => ({
                scripts: document.scripts.length,
                imgs: document.images.length,
                onerror: document.querySelectorAll('[onerror]').length,
            })"""
        )
        assert counts == {"scripts": 0, "imgs": 0, "onerror": 0}
        body = o.page.inner_text("body")
        for xss in XSS:
            assert xss in body
        assert_quiet(o)
    finally:
        close(o)


def test_served_csp_stops_an_injected_script(browser: Any, sources: Sources) -> None:
    """Should markup ever get through, the policy the server sends still blocks it."""
    o = open_page(browser, sources, "served")
    try:
        ran = o.page.evaluate(
            """() => {
                const s = document.createElement('script');
                s.textContent = 'window.__injected = 1';
                document.body.appendChild(s);
                return window.__injected === 1;
            }"""
        )
        assert ran is False
        assert any("Content Security Policy" in c for c in o.console), o.console
    finally:
        close(o)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_accessibility_audit(browser: Any, sources: Sources, how: str, scheme: str) -> None:
    o = open_page(browser, sources, how, color_scheme=scheme)
    try:
        open_all_details(o)
        # Evaluated through the DevTools protocol, which the page's CSP does not govern;
        # nothing is added to the page itself.
        o.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
        result = o.page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
                }));
            }"""
        )
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert bad == [], json.dumps(bad, indent=1)
    finally:
        close(o)


@pytest.mark.parametrize("how", HOW)
def test_phone_days_stack_without_sideways_scroll(browser: Any, sources: Sources, how: str) -> None:
    o = open_page(browser, sources, how, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        open_all_details(o)
        width = o.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"
        boxes = o.page.eval_on_selector(
            "section.week",
            "w => [...w.querySelectorAll('li.day')].map(e => {"
            " const r = e.getBoundingClientRect(); return [r.left, r.top, r.right]; })",
        )
        assert len(boxes) == 7
        assert len({round(b[0]) for b in boxes}) == 1, "days are not stacked"
        tops = [b[1] for b in boxes]
        assert tops == sorted(tops) and len(set(tops)) == 7
        assert all(b[2] <= PHONE["width"] for b in boxes)
        SHOTS.mkdir(parents=True, exist_ok=True)
        o.page.screenshot(path=str(SHOTS / f"week-390x844-{how}.png"))
    finally:
        close(o)


@pytest.mark.parametrize("how", HOW)
def test_desktop_week_is_a_row_of_seven_days(browser: Any, sources: Sources, how: str) -> None:
    o = open_page(browser, sources, how)
    try:
        lefts = first_week_lefts(o)
        assert len(set(lefts)) == 7 and lefts == sorted(lefts)
        assert o.page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
        today = o.page.locator("li.day.today")
        assert today.count() == 1
        assert today.get_attribute("data-date") == NOW[:10]
        assert "today" in today.locator(".day-head").inner_text().lower()
        SHOTS.mkdir(parents=True, exist_ok=True)
        o.page.screenshot(path=str(SHOTS / f"week-1280x800-{how}.png"))
        if how == "served":
            o.page.emulate_media(color_scheme="dark")
            o.page.screenshot(path=str(SHOTS / "week-1280x800-dark.png"))
    finally:
        close(o)


def test_print_is_a_clean_week_grid(browser: Any, sources: Sources) -> None:
    o = open_page(browser, sources, "file", viewport={"width": 1100, "height": 800})
    try:
        o.page.emulate_media(media="print")
        hidden = o.page.evaluate(
            """() => ['.legend', 'details.why'].map(
                s => getComputedStyle(document.querySelector(s)).display)"""
        )
        assert hidden == ["none", "none"]
        lefts = first_week_lefts(o)
        assert len(set(lefts)) == 7
        SHOTS.mkdir(parents=True, exist_ok=True)
        o.page.screenshot(path=str(SHOTS / "week-print.png"), full_page=True)
        pdf = o.page.pdf(format="A4", landscape=True)
        assert pdf.startswith(b"%PDF")
    finally:
        close(o)


def test_subscription_help_only_with_the_token(browser: Any, sources: Sources) -> None:
    served = open_page(browser, sources, "served")
    offline = open_page(browser, sources, "file")
    try:
        link = served.page.get_by_role("link", name="Add to calendar")
        assert link.get_attribute("href") == f"webcal://{sources.hostport}/{TOKEN}/strength.ics"
        assert offline.page.get_by_role("link", name="Add to calendar").count() == 0
        assert TOKEN not in offline.page.content()
    finally:
        close(served)
        close(offline)
