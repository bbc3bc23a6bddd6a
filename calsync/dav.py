"""The CalDAV connection the CalDAV source and the CalDAV sink share.

One account is: a checked server URL (http/https, no password in it), a username and a
`password_file` (0600, re-read on every sync so it can be rotated), a timeout, and the
label every message starts with. From it come a `caldav` DAVClient, the principal's
calendars by display name, and one translation of whatever the network or the server
raised into the caller's error type (`SourceError` for the source, `SinkError` for the
sink), never with the password in it.

`transient()` marks the failures worth retrying (connection errors, timeouts, 5xx, 429
and 503 with Retry-After) as `retry.TransientError`, so both sides go through the
project's one retry policy (`calsync.retry`) and nothing else.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from calsync import retry
from calsync.errors import CalsyncError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DavAccount:
    """Where and as whom to talk CalDAV; `error` is the type every failure becomes."""

    url: str  # checked: http(s), ends in "/", no user:password
    username: str
    password_file: str
    timeout: float
    label: str  # how messages name this source/output
    error: type[CalsyncError]

    @classmethod
    def make(
        cls,
        *,
        url: str,
        username: str,
        password_file: str,
        timeout: float,
        label: str,
        what: str,
        error: type[CalsyncError],
    ) -> DavAccount:
        """Check the settings; `what` names the thing in messages ("a CalDAV source")."""
        checked = check_url(url, label, error)
        if bool(username) != bool(password_file):
            missing = "password_file" if username else "username"
            raise error(
                f"{label}: {what} needs both username and password_file "
                f"(or neither, for a server without login); {missing} is missing"
            )
        return cls(checked, username, password_file, timeout, label, error)

    def password(self) -> str | None:
        """The first line of `password_file`; refused when others may read the file."""
        if not self.password_file:
            return None
        path = Path(self.password_file)
        label, error = self.label, self.error
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise error(
                f"{label}: password_file {path} does not exist",
                hint=f"write the password into {path} (chmod 600), or correct password_file",
            ) from None
        except OSError as e:
            raise error(
                f"{label}: password_file {path}: {e.strerror}",
                hint="check password_file and the folders above it",
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise error(
                f"{label}: refusing password_file {path}: its mode "
                f"{stat.S_IMODE(mode):04o} lets other users read or change it",
                hint=f"chmod 600 {path}",
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
            raise error(
                f"{label}: password_file {path} cannot be read: {reason}",
                hint=f"password_file must be a UTF-8 text file calsync's user can read: {path}",
            ) from None
        password = text.splitlines()[0] if text else ""
        if not password:
            raise error(
                f"{label}: password_file {path} is empty",
                hint=f"write the password as the first line of {path}",
            )
        return password

    def client(self, password: str | None) -> Any:
        """A DAVClient for the account (use it as a context manager).

        The library's own sleeping on 429/503 is off: `calsync.retry` decides.
        """
        from caldav.davclient import DAVClient

        return DAVClient(
            url=self.url,
            username=self.username or None,
            password=password,
            timeout=self.timeout,  # type: ignore[arg-type]  # niquests takes float seconds
            enable_rfc6764=False,
            rate_limit_handle=False,
        )

    def calendars(self, client: Any) -> list[tuple[Any, str]]:
        """The principal's calendars with their names (display name, else URL segment)."""
        calendars = list(client.get_principal().get_calendars())
        return [(c, calendar_name(c)) for c in calendars]

    def by_name(self, found: list[tuple[Any, str]], want: str) -> Any | None:
        """The one calendar named `want` (exactly, else ignoring case, else by its id in
        the URL); None when there is none; an error when the name is ambiguous."""
        matchers: tuple[Callable[[str], bool], ...] = (
            lambda n: n == want,
            lambda n: n.casefold() == want.casefold(),
        )
        for same in matchers:
            hits = [c for c, n in found if same(n)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise self.error(
                    f"{self.label}: {len(hits)} calendars of user {self.username!r} "
                    f"are named {want!r}",
                    hint="set calendar = the URL of the one to use",
                )
        hits = [c for c, _ in found if last_segment(str(c.url)) == want]
        return hits[0] if len(hits) == 1 else None

    def calendar_url(self, want: str) -> str | None:
        """The URL `calendar` names when it is a URL or a path, else None (a name)."""
        want = want.strip()
        if want and ("://" in want or want.startswith("/")):
            url = urljoin(self.url, want)
            return url if url.endswith("/") else url + "/"
        return None

    def translate(self, exc: BaseException, target: str) -> CalsyncError:
        """The caller's error for whatever an attempt raised; no password can be in it."""
        from caldav.lib import error

        label = self.label
        cause = exc.__cause__ if isinstance(exc, retry.TransientError) and exc.__cause__ else exc
        if isinstance(cause, CalsyncError):
            return cause
        who = f"user {self.username!r}" if self.username else "anonymous access"
        if isinstance(cause, error.AuthorizationError):
            if cause.status == 403:
                return self.error(f"{label}: CalDAV server denied {who} access to {target} (403)")
            if not self.username:
                return self.error(
                    f"{label}: CalDAV server asks for a login",
                    hint="set username and password_file",
                )
            return self.error(
                f"{label}: CalDAV server refused the login for {who}",
                hint="check username and the password in password_file",
            )
        if isinstance(cause, error.DAVError):
            status = cause.status
            if status == 404 or isinstance(cause, error.NotFoundError):
                return self.error(
                    f"{label}: nothing found at {target} (404): check the url and calendar settings"
                )
            what = f"HTTP {status}" if status else type(cause).__name__
            said = "" if cause.reason == error.DAVError.reason else f": {short(cause.reason)}"
            return self.error(f"{label}: CalDAV server failed ({what}){said}")
        if is_timeout(cause):
            return self.error(f"{label}: CalDAV server did not answer within {self.timeout:g} s")
        if isinstance(cause, OSError):
            return self.error(
                f"{label}: cannot connect to the CalDAV server: {short(root_reason(cause))}"
            )
        return self.error(
            f"{label}: the server's answer is not usable CalDAV "
            f"({type(cause).__name__}: {short(str(cause))})"
        )


def errors_to_translate() -> tuple[type[BaseException], ...]:
    """What a CalDAV attempt may raise that `DavAccount.translate` turns into a message."""
    from caldav.lib.error import DAVError
    from lxml.etree import LxmlError  # type: ignore[import-untyped]  # via caldav

    return (retry.TransientError, DAVError, OSError, LxmlError)


def transient(fn: Callable[[], T], where: str) -> T:
    """Run `fn`, turning the failures worth retrying into `retry.TransientError`.

    Its message (logged by the retry loop) names `where` and the short reason.
    """
    from caldav.lib import error

    try:
        return fn()
    except error.RateLimitError as e:
        raise retry.TransientError(
            f"{where}: HTTP {e.status or 429}", retry_after=e.retry_after_seconds
        ) from e
    except error.AuthorizationError:
        raise
    except error.DAVError as e:
        if e.status is not None and (e.status >= 500 or e.status == 429):
            raise retry.TransientError(f"{where}: HTTP {e.status}") from e
        raise
    except OSError as e:  # niquests/requests connection errors and timeouts are OSErrors
        reason = "no answer (timeout)" if is_timeout(e) else root_reason(e)
        raise retry.TransientError(f"{where}: {short(reason)}") from e


def check_url(raw: str, label: str, error: type[CalsyncError]) -> str:
    """An http(s) URL ending in "/", without a user name; refused when it holds a password."""
    raw = raw.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise error(f"{label}: url must be an http:// or https:// CalDAV server or calendar URL")
    if parts.password is not None:
        # Never echo it: the URL itself holds the secret.
        raise error(f"{label}: the CalDAV url holds a password; put it in password_file instead")
    if parts.username is not None:
        netloc = parts.netloc.rsplit("@", 1)[1]
        raw = urlunsplit(parts._replace(netloc=netloc))
    path = urlsplit(raw).path
    if not path.endswith("/"):
        raw = urlunsplit(urlsplit(raw)._replace(path=path + "/"))
    return raw


def calendar_name(calendar: Any) -> str:
    name = calendar.get_display_name()  # from the listing's PROPFIND, no extra request
    return str(name) if name else last_segment(str(calendar.url))


def last_segment(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def same_url(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.hostname, pa.port, pa.path.rstrip("/")) == (
        pb.hostname,
        pb.port,
        pb.path.rstrip("/"),
    )


def listing(names: list[str]) -> str:
    return ", ".join(repr(n) for n in sorted(names)) if names else "(none)"


def is_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def root_reason(exc: BaseException) -> str:
    """The innermost OS-level reason (e.g. 'Connection refused') of a network error."""
    seen: BaseException | None = exc
    reason = str(exc)
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            reason = seen.strerror
        seen = seen.__cause__ or seen.__context__
    if "Connection refused" in str(exc):
        return "connection refused"
    if "Name or service not known" in str(exc) or "getaddrinfo" in str(exc):
        return "unknown host name"
    return reason


def short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
