"""Secrets never leave (issue 17): a password or token in a source URL, however malformed
the URL (an invalid port, a broken IPv6 bracket, spaces, tabs), reaches no error, no log
line, no state file and no `doctor` output.

`redact_url` is checked as a property over URL shapes; the fetch's error paths over the
same shapes, in process, against a real local server that quotes the request back in its
HTTP reason phrase (a hostile server); then the CLI paths (`sync`'s error and stored sync
log, `doctor`, the daemon's log) for a handful of shapes, in real child processes.
"""

from __future__ import annotations

import http.server
import logging
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calsync.config import SourceSettings, load_config, redact_url, scrub
from calsync.errors import SourceError
from calsync.sources.ics_fetch import fetch
from tests.service_support import Proc, calsync_args, child_env, write_config

PASSWORD = "pwZQ7x"  # markers no message would hold by chance
TOKEN = "tkZQ9y"
USER = "usrZQ3w"
# RFC 3986 userinfo characters (unreserved, sub-delims, ":" and percent signs), and the
# characters a query may hold when someone pastes one: spaces and tabs too.
USERINFO = st.text(alphabet="abcXYZ019-._~!$&'()*+,;=%", max_size=6)
QUERYCHARS = st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@/? \t%", max_size=8)


@st.composite
def hostile_urls(draw: st.DrawFn, port: int = 1) -> tuple[str, list[str]]:
    """A URL of some shape, and the secret substrings in it."""
    scheme = draw(st.sampled_from(["http", "https", "webcal", "HTTP", "Https"]))
    secrets: list[str] = []
    userinfo = ""
    if draw(st.booleans()):
        pw = PASSWORD + draw(USERINFO)
        user = USER + draw(USERINFO) if draw(st.booleans()) else ""
        at = "@" + draw(st.sampled_from(["", "x@"]))  # a password holding "@" too
        userinfo = f"{user}:{pw}{at}" if draw(st.booleans()) else f"{pw}{at}"
        secrets.append(PASSWORD)
        if user:
            secrets.append(USER)
    host = draw(
        st.sampled_from(
            [
                f"127.0.0.1:{port}",
                "127.0.0.1:99999",  # invalid port
                "127.0.0.1:8o",  # non-numeric port
                "[::1",  # broken IPv6 bracket
                "[::1]:1",
                "[zz::1]",
                "127.0.0.1 :1",  # a space in the authority
                "127.0.0.1\t",
            ]
        )
    )
    path = draw(st.sampled_from(["/cal.ics", "/a b/cal.ics", "/x\t.ics", "", "/"]))
    query = ""
    if draw(st.booleans()) or not secrets:
        sep = draw(st.sampled_from(["?", " ?", "\t?", "?\t"]))
        query = f"{sep}{draw(QUERYCHARS)}token={TOKEN}{draw(QUERYCHARS)}"
        secrets.append(TOKEN)
    fragment = draw(st.sampled_from(["", f"#{TOKEN}"]))
    if fragment:
        secrets.append(TOKEN)
    lead = draw(st.sampled_from(["", " ", "\t"]))
    return f"{lead}{scheme}://{userinfo}{host}{path}{query}{fragment}", secrets


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text or s.lower() in text.lower()]


@given(hostile_urls())
def test_redact_url_drops_userinfo_and_query_of_any_shape(case: tuple[str, list[str]]) -> None:
    url, secrets = case
    out = redact_url(url)
    assert not leaked(out, secrets), (url, out)
    assert not leaked(scrub(f"error about {url!r} and {url}", url), secrets)


@given(st.text(max_size=60))
def test_redact_url_is_total(s: str) -> None:
    """Any string: no exception, and no text after a '?' or before an '@' survives."""
    out = redact_url(s)
    if "://" in s and "?" in s.split("://", 1)[1]:
        query = s.split("://", 1)[1].split("?", 1)[1]
        assert len(query) < 2 or query not in out


class _EchoServer:
    """Answers 404 with the request line as its reason phrase: a server that quotes the
    URL (token and all) back in what urllib turns into the error."""

    def __enter__(self) -> _EchoServer:
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                # 503 is retried (and the retry logged), 404 is not: both quote the URL.
                self.send_response(503 if "b" in self.path else 404, self.requestline)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def echo() -> Iterator[_EchoServer]:
    with _EchoServer() as s:
        yield s


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fetch_errors_never_carry_a_secret(
    data: st.DataObject, echo: _EchoServer, caplog: pytest.LogCaptureFixture
) -> None:
    url, secrets = data.draw(hostile_urls(port=echo.port))
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        try:
            fetch(SourceSettings(type="ics", url=url, timeout_seconds=2))
        except SourceError as e:
            message = str(e)
        else:
            pytest.fail(f"{url!r} was fetched")
    assert not leaked(message, secrets), (url, message)
    assert not leaked(caplog.text, secrets), (url, caplog.text)
    assert not leaked(SourceSettings(type="ics", url=url).label, secrets)


def run(cfg: Path, *args: str) -> tuple[int, str]:
    r = subprocess.run(
        calsync_args(cfg, *args),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return r.returncode, r.stdout + r.stderr


# A few shapes through the whole CLI; the echo server makes the error quote the URL.
SHAPES = [
    "https://{u}:{p}@127.0.0.1:99999/x.ics",
    "http://{u}:{p}@[::1/x.ics",
    "http://127.0.0.1:{port}/cal.ics?token={t} x",
    "http://127.0.0.1:{port}/cal.ics\t?token={t}",
    "webcal://{u}:{p}@127.0.0.1:{port}/c.ics?k={t}#{t}",
]


@pytest.mark.parametrize("shape", SHAPES)
def test_no_secret_in_sync_doctor_daemon_or_state(
    shape: str, tmp_path: Path, echo: _EchoServer
) -> None:
    url = shape.format(u=USER, p=PASSWORD, t=TOKEN, port=echo.port)
    secrets = [s for s in (USER, PASSWORD, TOKEN) if s in url]
    cfg = write_config(tmp_path, source_url=url.replace("\t", "\\t"), interval="1h")
    rc, out = run(cfg, "sync")
    assert rc == 1, out  # one clear error, not an internal one (70)
    assert out.startswith("calsync: error: ") and "Traceback" not in out, out
    assert not leaked(out, secrets), out
    _, doctor = run(cfg, "doctor")
    assert not leaked(doctor, secrets), doctor
    with Proc(calsync_args(cfg, "daemon")) as proc:
        proc.wait_for(r"sync failed")
        assert proc.stop() == 0
    assert not leaked(proc.output, secrets), proc.output
    state = load_config(cfg).state_path
    with sqlite3.connect(state) as db:
        messages = [m for (m,) in db.execute("SELECT message FROM sync_log")]
    assert messages and all("cannot" in m or "not" in m or "answered" in m for m in messages)
    assert not leaked("\n".join(messages), secrets), messages
    for f in state.parent.iterdir():
        if f.is_file():
            raw = f.read_bytes().decode("latin-1")
            assert not leaked(raw, secrets), f
