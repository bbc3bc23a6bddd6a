"""The page and plan.json routes of `calsync serve`, over real HTTP after real syncs.

What the browser sees of the page is in test_page_browser.py; here: the routes, the
token, the headers (CSP, nosniff, no-referrer), ETag/304, gzip, freshness after a sync.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from calsync import page
from tests.page_support import HOSTILE, parse_html, write_page_config
from tests.service_support import TOKEN, Proc, request, run_calsync, start_server


@dataclass
class Site:
    proc: Proc
    hostport: str
    config: Path
    folder: Path

    def get(self, path: str, **headers: str) -> object:
        return request(self.hostport, "GET", path, headers)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    cal = tmp_path / "plan.ics"
    shutil.copy(HOSTILE, cal)
    config = write_page_config(tmp_path, source=cal, token=TOKEN)
    proc, hostport = start_server(config)
    try:
        yield Site(proc, hostport, config, tmp_path)
    finally:
        proc.stop()


def test_before_any_sync_the_page_waits(site: Site) -> None:
    for path in (f"/{TOKEN}/", f"/{TOKEN}/plan.json"):
        r = request(site.hostport, "GET", path)
        assert r.status == 503, path
        assert r.headers["retry-after"] == "60"


def test_page_and_json_after_a_sync(site: Site) -> None:
    # `plan --json` before the sync sees what the sync sees (the same moment, no state).
    expected = run_calsync(site.config, "plan", "--json")
    run_calsync(site.config, "sync")
    r = request(site.hostport, "GET", f"/{TOKEN}/plan.json")
    assert r.status == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.body.decode("utf-8") == expected

    r = request(site.hostport, "GET", f"/{TOKEN}/")
    assert r.status == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-security-policy"] == page.content_security_policy()
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    root, tags = parse_html(r.body.decode("utf-8"))
    data = json.loads(expected)
    keys = sorted(b.attrs["data-key"] for b in root.find_all("li", "session"))
    assert keys == sorted(s["key"] for s in data["sessions"])
    assert "script" not in tags and "img" not in tags
    # The token page carries the subscription links, made from the address asked for.
    sub = root.find_all("section", "subscribe")
    assert len(sub) == 1
    hrefs = {a.attrs["href"] for a in sub[0].find_all("a")}
    assert f"webcal://{site.hostport}/{TOKEN}/strength.ics" in hrefs
    assert f"webcal://{site.hostport}/{TOKEN}/busy.ics" in hrefs
    assert "Last sync" in root.text() and " · ok " in root.text()


def test_etag_304_gzip_and_head(site: Site) -> None:
    run_calsync(site.config, "sync")
    for path in (f"/{TOKEN}/", f"/{TOKEN}/plan.json"):
        plain = request(site.hostport, "GET", path)
        etag = plain.headers["etag"]
        assert plain.headers["last-modified"]
        again = request(site.hostport, "GET", path, {"If-None-Match": etag})
        assert again.status == 304 and again.body == b""
        assert request(site.hostport, "GET", path, {"If-None-Match": '"other"'}).status == 200
        since = request(
            site.hostport, "GET", path, {"If-Modified-Since": plain.headers["last-modified"]}
        )
        assert since.status == 304
        gz = request(site.hostport, "GET", path, {"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        assert gz.headers["vary"] == "Accept-Encoding"
        assert gzip.decompress(gz.body) == plain.body
        assert gz.headers["etag"] != etag
        head = request(site.hostport, "HEAD", path)
        assert head.status == 200 and head.body == b""
        assert head.headers["content-length"] == str(len(plain.body))


def test_token_rules(site: Site) -> None:
    run_calsync(site.config, "sync")
    for path in (f"/{TOKEN[:-1]}/", f"/{TOKEN}x/plan.json", "/plan.json", f"/{TOKEN.upper()}/"):
        r = request(site.hostport, "GET", path)
        assert r.status == 404, path
        assert b"<html" not in r.body and b'"sessions"' not in r.body
    r = request(site.hostport, "GET", f"/{TOKEN}")
    assert r.status == 301
    assert r.headers["location"] == f"/{TOKEN}/"
    assert request(site.hostport, "GET", "/wrong-token-0123456789abcdefghij").status == 404
    assert request(site.hostport, "POST", f"/{TOKEN}/").status == 405


def test_fresh_after_each_sync(site: Site) -> None:
    run_calsync(site.config, "sync")
    first = request(site.hostport, "GET", f"/{TOKEN}/")
    first_json = json.loads(request(site.hostport, "GET", f"/{TOKEN}/plan.json").body)
    # The coach moves Thursday's tempo run to Wednesday: the sessions move too.
    cal = site.folder / "plan.ics"
    text = cal.read_text(encoding="utf-8").replace("20261203T063000", "20261202T063000")
    cal.write_text(text.replace("20261203T073000", "20261202T073000"), encoding="utf-8")
    expected = json.loads(run_calsync(site.config, "plan", "--json"))
    run_calsync(site.config, "sync")
    assert expected["sessions"] != first_json["sessions"]

    def fresh() -> bool:
        r = request(site.hostport, "GET", f"/{TOKEN}/plan.json")
        return bool(json.loads(r.body) == expected)

    from tests.service_support import wait_until

    wait_until(fresh, timeout=15)
    second = request(site.hostport, "GET", f"/{TOKEN}/")
    assert second.headers["etag"] != first.headers["etag"]
    assert (
        request(site.hostport, "GET", f"/{TOKEN}/", {"If-None-Match": first.headers["etag"]}).status
        == 200
    )
    root, _ = parse_html(second.body.decode("utf-8"))
    got = sorted(
        (b.attrs["data-key"], b.attrs["data-start"]) for b in root.find_all("li", "session")
    )
    assert got == sorted((s["key"], s["start"]) for s in expected["sessions"])


def test_a_failed_sync_shows_on_the_page(site: Site) -> None:
    run_calsync(site.config, "sync")
    (site.folder / "plan.ics").write_text("not a calendar\n", encoding="utf-8")
    import subprocess

    from tests.service_support import calsync_args, child_env, wait_until

    r = subprocess.run(
        calsync_args(site.config, "sync"), capture_output=True, text=True, env=child_env()
    )
    assert r.returncode == 1

    def says_failed() -> bool:
        body = request(site.hostport, "GET", f"/{TOKEN}/").body.decode("utf-8")
        return "failed" in parse_html(body)[0].text()

    wait_until(says_failed, timeout=15)


def test_host_header_that_is_not_a_host_is_not_used(site: Site) -> None:
    run_calsync(site.config, "sync")
    r = request(site.hostport, "GET", f"/{TOKEN}/", {"Host": 'evil"><b>x</b>'})
    assert r.status == 200
    root, _ = parse_html(r.body.decode("utf-8"))
    hrefs = {a.attrs["href"] for a in root.find_all("section", "subscribe")[0].find_all("a")}
    assert all("evil" not in h for h in hrefs)
    assert b"evil" not in r.body


def test_base_url_from_config_is_used(tmp_path: Path) -> None:
    cal = tmp_path / "plan.ics"
    shutil.copy(HOSTILE, cal)
    config = write_page_config(
        tmp_path, source=cal, token=TOKEN, extra='base_url = "https://cal.example.org/calsync"'
    )
    run_calsync(config, "sync")
    proc, hostport = start_server(config)
    try:
        r = request(hostport, "GET", f"/{TOKEN}/")
    finally:
        proc.stop()
    root, _ = parse_html(r.body.decode("utf-8"))
    hrefs = {a.attrs["href"] for a in root.find_all("section", "subscribe")[0].find_all("a")}
    assert f"webcal://cal.example.org/calsync/{TOKEN}/strength.ics" in hrefs
    assert f"https://cal.example.org/calsync/{TOKEN}/strength.ics" in root.text()
    page_url = run_calsync(config, "feed-url", "--page").strip()
    assert page_url == f"https://cal.example.org/calsync/{TOKEN}/"
