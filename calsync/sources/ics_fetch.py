"""The fetch layer of the ICS source: a calendar's bytes from a file, file://, http(s)://
or webcal://, within max_bytes and the time budget. HTTP sends the cached validators
(a 304 reuses the stored copy), retries what is transient (`fetch_policy`), and turns
every failure into one SourceError naming the source, with any secret in the URL
scrubbed. See `calsync.sources.ics` for the layers after it.
"""

from __future__ import annotations

import http.client
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calsync import __version__, retry
from calsync.config import SourceSettings, redact_url, scrub
from calsync.errors import SourceError

if TYPE_CHECKING:
    from calsync.state import CachedSource, StateTx

log = logging.getLogger("calsync.sources.ics")  # the name its log lines have always had

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
USER_AGENT = f"calsync/{__version__} (+https://github.com/calsync/calsync)"


def http_url(url: str) -> str | None:
    """The http(s) URL to fetch (webcal:// is https://), or None for a local file."""
    url = url.strip()
    m = _SCHEME.match(url)
    scheme = m.group(1).lower() if m else ""
    if scheme == "webcal":
        return "https" + url[len("webcal") :]
    if scheme in ("http", "https"):
        return url
    return None


def fetch(settings: SourceSettings, tx: StateTx | None = None) -> bytes:
    """The raw bytes of the calendar; SourceError naming the source when that fails."""
    url = settings.url.strip()
    remote = http_url(url)
    if remote is not None:
        return _fetch_http(remote, settings, tx)
    m = _SCHEME.match(url)
    scheme = m.group(1).lower() if m else ""
    if scheme == "file":
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    elif len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        raise SourceError(
            f"{settings.label}: unsupported URL scheme '{scheme}://'",
            hint="use a file path, file://, http://, https:// or webcal://",
        )
    else:
        path = Path(url).expanduser()
    return _read_file(path, settings)


def _read_file(path: Path, settings: SourceSettings) -> bytes:
    try:
        size = path.stat().st_size
        if size > settings.max_bytes:
            raise SourceError(
                f"{_at(settings.label, path)} is {size} bytes, more than max_bytes"
                f" ({settings.max_bytes})",
                hint="raise max_bytes for this source if the file is right",
            )
        # st_size is 0 for a pipe or a device (`<(curl ...)`, /dev/zero): read at most
        # one byte past the cap instead of trusting it.
        with path.open("rb") as f:
            data = f.read(settings.max_bytes + 1)
        if len(data) > settings.max_bytes:
            raise SourceError(
                f"{_at(settings.label, path)} is more than max_bytes ({settings.max_bytes})"
                " bytes; stopped reading",
                hint="raise max_bytes for this source if the file is right",
            )
        return data
    except FileNotFoundError:
        raise SourceError(f"{_at(settings.label, path)}: file not found") from None
    except IsADirectoryError:
        raise SourceError(f"{_at(settings.label, path)} is a directory, not a calendar") from None
    except OSError as e:
        raise SourceError(f"{_at(settings.label, path)}: cannot read: {e.strerror or e}") from None


def fetch_policy(settings: SourceSettings) -> retry.Policy:
    """The retry budget of one HTTP source: a few attempts, a bounded total.

    A timer-run sync must end: at most 4 attempts, and waits (Retry-After included)
    stop once the next one would pass the budget. Each attempt has its own
    `timeout_seconds`, so the whole fetch is over within budget + one timeout.
    """
    return retry.Policy(
        max_attempts=4,
        max_seconds=max(30.0, 2 * settings.timeout_seconds),
        initial_wait=1.0,
        max_wait=16.0,
    )


@dataclass(frozen=True, slots=True)
class _Answer:
    raw: bytes
    encoding: str
    etag: str | None
    last_modified: str | None


class _CutShort(retry.TransientError):
    """The server hung up before the announced Content-Length arrived (retried)."""


def _fetch_http(url: str, settings: SourceSettings, tx: StateTx | None) -> bytes:
    label = settings.label
    if _has_userinfo(url):
        # urllib would take "user:password@host" for the host name and fail to find it.
        raise SourceError(
            f"{_at(label, url)}: a user name or password in the URL is not supported",
            hint="use the calendar's secret address (a token URL) instead",
        )
    cached = tx.source_cache(url) if tx is not None else None
    headers = _request_headers(cached)
    policy = fetch_policy(settings)
    attempts = 0
    started = time.monotonic()

    def attempt() -> _Answer:
        nonlocal attempts
        attempts += 1
        return _get(url, headers, settings)

    def tried() -> str:
        """How hard calsync tried, for the message of a transient failure."""
        if attempts <= 1:
            return ""
        return f" (gave up after {attempts} attempts in {time.monotonic() - started:.0f} s)"

    try:
        answer = retry.call(attempt, policy)
    except urllib.error.HTTPError as e:
        if e.code == 304 and cached is not None:
            log.info("%s: not modified since last fetch, using the cached copy", label)
            return cached.body
        if e.code in (301, 302, 303, 307, 308):  # urllib gave up: its reason is a paragraph
            raise SourceError(
                f"{_at(label, url)} redirects in a loop or too often (last: HTTP {e.code})"
            ) from None
        failure = retry.http_failure(e)
        wait = failure.retry_after if failure is not None else None
        extra = tried()
        if (
            retry.is_retryable(e)
            and wait is not None
            and wait * retry.TIME_SCALE > (policy.max_seconds)
        ):
            extra = f" and asked to retry after {wait:.0f} s, longer than calsync waits"
        reason = scrub(str(e.reason), url)
        raise SourceError(f"{_at(label, url)} answered HTTP {e.code} {reason}{extra}") from None
    except _CutShort as e:
        raise SourceError(f"{_at(label, url)}: {scrub(str(e), url)}{tried()}") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise _timed_out(label, url, settings.timeout_seconds, tried()) from None
        raise SourceError(
            f"{_at(label, url)}: cannot reach the server: {scrub(str(e.reason), url)}{tried()}"
        ) from None
    except TimeoutError:
        raise _timed_out(label, url, settings.timeout_seconds, tried()) from None
    except (OSError, http.client.HTTPException) as e:
        raise SourceError(
            f"{_at(label, url)}: cannot read: {scrub(repr(e), url)}{tried()}"
        ) from None
    except ValueError as e:  # urllib's word for a URL it cannot use
        raise SourceError(f"{_at(label, url)}: not a usable URL ({scrub(str(e), url)})") from None
    if attempts > 1:
        log.info("%s: fetched after %d attempts", label, attempts)
    body = _decoded(answer, settings.max_bytes, label, url)
    if tx is not None and (answer.etag or answer.last_modified):
        from calsync.state import CachedSource

        # The fetch time is bookkeeping for `calsync status`, not an input to planning.
        now = datetime.now().astimezone()
        tx.put_source_cache(CachedSource(url, answer.etag, answer.last_modified, body, now))
    return body


def _request_headers(cached: CachedSource | None) -> dict[str, str]:
    """What every fetch asks for, with the validators of the cached copy when there is one."""
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "text/calendar, */*;q=0.5",
        "Accept-Encoding": "gzip",
    }
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    return headers


def _decoded(answer: _Answer, cap: int, label: str, url: str) -> bytes:
    """The body as the server meant it: gunzipped (within `cap`) or as it came."""
    if answer.encoding in ("gzip", "x-gzip"):
        return _gunzip(answer.raw, cap, label, url)
    if answer.encoding in ("", "identity"):
        return answer.raw
    raise SourceError(f"{_at(label, url)} sent an unsupported Content-Encoding '{answer.encoding}'")


def _has_userinfo(url: str) -> bool:
    try:
        return urllib.parse.urlsplit(url).username is not None
    except ValueError:
        return False  # urlopen names what is wrong with it


def _get(url: str, headers: dict[str, str], settings: SourceSettings) -> _Answer:
    """One GET; raises what urllib raises (the retry policy sorts those)."""
    label = settings.label
    deadline = time.monotonic() + settings.timeout_seconds
    try:
        req = urllib.request.Request(url, headers=headers)
        resp = urllib.request.urlopen(req, timeout=settings.timeout_seconds)
    except urllib.error.HTTPError as e:
        e.msg = scrub(str(e.msg), url)  # a hostile server may quote the URL back
        raise
    except (ValueError, http.client.InvalidURL) as e:  # never retried, never quoted whole
        raise SourceError(f"{_at(label, url)}: not a usable URL ({scrub(str(e), url)})") from None
    with resp:
        length = resp.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > settings.max_bytes:
            raise _too_big(label, url, settings.max_bytes)
        raw = _read_capped(resp, settings.max_bytes, deadline, label, url)
        # urllib returns what arrived when the server hangs up early; a calendar cut
        # short would silently lose its later runs (and their sessions).
        if length and length.isdigit() and len(raw) < int(length):
            raise _CutShort(
                f"the download was cut short ({len(raw)} of {int(length)} bytes arrived)"
            )
        return _Answer(
            raw,
            (resp.headers.get("Content-Encoding") or "").strip().lower(),
            resp.headers.get("ETag"),
            resp.headers.get("Last-Modified"),
        )


def _read_capped(resp: Any, cap: int, deadline: float, label: str, url: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise SourceError(f"{_at(label, url)} is too slow: the body did not arrive in time")
        chunk = resp.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise _too_big(label, url, cap)
        chunks.append(chunk)


def _gunzip(raw: bytes, cap: int, label: str, url: str) -> bytes:
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(raw, cap + 1)
    except zlib.error as e:
        raise SourceError(f"{_at(label, url)} sent a broken gzip body ({e})") from None
    if len(out) > cap:
        raise _too_big(label, url, cap)
    return out


def _at(label: str, where: object) -> str:
    """The source's label, with its path or URL unless the label already names it.

    A URL is redacted like the label (it may carry a password or a feed token)."""
    w = redact_url(str(where))
    return label if w in label else f"{label} ({w})"


def _too_big(label: str, url: str, cap: int) -> SourceError:
    return SourceError(
        f"{_at(label, url)} is larger than max_bytes ({cap} bytes); stopped reading",
        hint="raise max_bytes for this source if the calendar is right",
    )


def _timed_out(label: str, url: str, seconds: float, tried: str = "") -> SourceError:
    return SourceError(
        f"{_at(label, url)} did not answer within {seconds:g} s (timeout_seconds){tried}"
    )
