"""The settings of where calsync reads and writes, and the whole `Config`.

Plain frozen dataclasses: sources, outputs, the Google API, the feed server, the daemon,
and `Config` joining them with the planning settings of `calsync.settings`. No file,
environment or system lookup: `calsync.config` fills them from the TOML file (and gives
the state file its default place in the user's state directory).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from calsync.model import Role
from calsync.settings import ClassifyRules, Rules, Schedule, WorkoutSettings
from calsync.sources.limits import DEFAULT_LIMITS, ParseLimits


@dataclass(frozen=True, slots=True)
class SourceSettings:
    type: str  # "ics" | "google" | "caldav"
    role: Role = Role.RUNS
    name: str = ""
    url: str = ""  # ics: path or URL; caldav: server URL
    calendar: str = ""  # google: calendar id ("primary"); caldav: calendar name or URL
    username: str = ""  # caldav
    password_file: str = ""  # caldav: file holding the password (0600)
    timeout_seconds: float = 20.0
    max_bytes: int = 20 * 1024 * 1024
    limits: ParseLimits = DEFAULT_LIMITS  # parse_seconds, max_occurrences, ... (sources.limits)

    @property
    def label(self) -> str:
        """How messages and logs name the source: its name and where it is.

        Feed URLs often carry their secret (a query token, a "private-…" path segment):
        the label shows the URL with those parts elided, since logs go to the journal.
        """
        where = redact_url(self.url) if self.url else f"{self.type}:{self.calendar}"
        if self.type == "caldav" and self.calendar:
            where = f"{redact_url(self.url)} calendar {self.calendar!r}"
        return f"{self.name} ({where})" if self.name and self.name != where else where


_TOKENISH = re.compile(r"(?=.*\d)[A-Za-z0-9]{20,}|[A-Za-z0-9_\-%.]{32,}")


_URL_SCHEME = re.compile(r"[ \t]*([A-Za-z][A-Za-z0-9+.\-]*)://")


def redact_url(url: str) -> str:
    """A URL fit for messages: no user:password, no query or fragment, no token-like path
    segment. Total: any string, however malformed (an invalid port, a broken IPv6
    bracket, spaces or tabs), is cut by text alone, never by a URL parser that could
    refuse it. A local path is not a secret and stays as typed, unless it looks like it
    carries credentials ("user:pw@host/...") or a query."""
    m = _URL_SCHEME.match(url)
    if m is None:
        if "?" not in url and "#" not in url and "@" not in url.split("/", 1)[0]:
            return url
        scheme, rest = "", url
    else:
        scheme, rest = m.group(1), url[m.end() :]
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    rest, tail = rest[:cut], rest[cut:]
    slash = min((i for i in (rest.find("/"), rest.find("\\")) if i >= 0), default=len(rest))
    authority, path = rest[:slash], rest[slash:]
    authority = authority[authority.rfind("@") + 1 :]  # user:password@ goes, whatever it holds
    segments = []
    for seg in path.split("/"):
        stem, dot, ext = seg.rpartition(".") if seg.endswith((".ics", ".ical")) else (seg, "", "")
        token = _TOKENISH.fullmatch(stem) or _TOKENISH.fullmatch(stem.rsplit("-", 1)[-1])
        segments.append(f"…{dot}{ext}" if token else seg)
    hidden = "?…" if tail.startswith("?") else "#…" if tail else ""
    prefix = f"{scheme}://" if scheme else ""
    return f"{prefix}{authority}{'/'.join(segments)}{hidden}"


def url_secrets(url: str) -> list[str]:
    """The parts of `url` that must never reach a message: its user:password (and each
    half), its query and fragment (and each value), its token-like path segments."""
    found: list[str] = []
    m = _URL_SCHEME.match(url)
    rest = url[m.end() :] if m else url
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    if tail[1:]:
        found.append(tail[1:])
        found.extend(v for part in re.split(r"[&;#]", tail[1:]) for v in part.split("=")[1:])
    slash = min((i for i in (head.find("/"), head.find("\\")) if i >= 0), default=len(head))
    authority = head[:slash]
    if "@" in authority:
        userinfo = authority[: authority.rfind("@")]
        found.append(userinfo)
        found.extend(userinfo.split(":", 1))
    for seg in head[slash:].split("/"):
        stem = seg.rpartition(".")[0] if seg.endswith((".ics", ".ical")) else seg
        for cand in (stem, stem.rsplit("-", 1)[-1]):
            if _TOKENISH.fullmatch(cand):
                found.append(cand)
    return sorted({f for f in found if len(f) >= 2}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """`text` (a library's error message, say) with every secret of `url` elided, in the
    forms a message may quote it: as is, repr-escaped, percent-encoded."""
    for secret in url_secrets(url):
        for form in {secret, repr(secret)[1:-1], quote(secret, safe="")}:
            text = text.replace(form, "…")
    return text


@dataclass(frozen=True, slots=True)
class IcsOutput:
    path: Path
    calendar_name: str = "Strength training"
    refresh_minutes: int = 60
    # The file's mode; None: an existing file keeps its own, a new one gets 0o666 less
    # the umask (as any program's new file would).
    mode: int | None = None


@dataclass(frozen=True, slots=True)
class GoogleOutput:
    calendar: str = "Strength training"


@dataclass(frozen=True, slots=True)
class CaldavOutput:
    """[output.caldav]: a calendar on a CalDAV server that calsync writes sessions into."""

    url: str  # server, principal or calendar-home URL
    username: str = ""
    password_file: str = ""  # 0600; for iCloud an app-specific password
    calendar: str = "Strength training"  # display name (made if missing) or URL/path
    alarm_minutes: int | None = None  # a VALARM this long before each session
    timeout_seconds: float = 20.0

    @property
    def label(self) -> str:
        return f"caldav output ({self.url} calendar {self.calendar!r})"


@dataclass(frozen=True, slots=True)
class GoogleSettings:
    api_endpoint: str = "https://www.googleapis.com/calendar/v3/"
    token_uri: str = "https://oauth2.googleapis.com/token"
    token_path: Path | None = None  # default: <state dir>/google-token.json
    batch_uri: str = "https://www.googleapis.com/batch/calendar/v3"
    timeout_seconds: float = 30.0  # per HTTP request; a timeout is retried


@dataclass(frozen=True, slots=True)
class FeedSettings:
    listen: str = "127.0.0.1:8765"
    token: str | None = None  # None: a random token made on first run, kept in a 0600 file
    base_url: str = ""  # public URL prefix when behind a proxy, for `calsync feed-url`


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    interval_seconds: float = 15 * 60
    max_backoff_seconds: float = 60 * 60


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    # Where the state file is; `calsync.config` defaults it to the user's state directory.
    state_path: Path
    schedule: Schedule = field(default_factory=Schedule)
    rules: Rules = field(default_factory=Rules)
    classify: ClassifyRules = field(default_factory=ClassifyRules)
    workout: WorkoutSettings = field(default_factory=WorkoutSettings)
    sources: tuple[SourceSettings, ...] = ()
    output_ics: IcsOutput | None = None
    output_google: GoogleOutput | None = None
    output_caldav: CaldavOutput | None = None
    google: GoogleSettings = field(default_factory=GoogleSettings)
    feed: FeedSettings = field(default_factory=FeedSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)

    @property
    def state_dir(self) -> Path:
        return self.state_path.parent
