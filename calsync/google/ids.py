"""How calsync names and marks the events it writes to Google Calendar.

Event ids are derived from the session key, so a retried insert is the same event (409
`duplicate`) instead of a second one. Google allows client ids of 5-1024 characters from
base32hex's lowercase alphabet (a-v, 0-9): the key's bytes in base32hex are exactly that.

Every event calsync writes carries `extendedProperties.private`:
- `calsync` = "1": the marker; calsync never changes an event without it,
- `calsyncKey`: the session key, `calsyncHash`: the content hash of what was written,
- `calsyncStart`/`calsyncEnd`: the times calsync wrote (UTC ISO), and `calsyncFp`: a
  fingerprint of what the user sees (title, text, times). When the event's own fields no
  longer match the fingerprint, the user moved or edited it: it is pinned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
from datetime import UTC, datetime

MARK = "calsync"
KEY = "calsyncKey"
HASH = "calsyncHash"
START = "calsyncStart"
END = "calsyncEnd"
FP = "calsyncFp"
_PREFIX = b"cs:"  # keeps even a one-character key above Google's 5-character minimum


def event_id(key: str) -> str:
    return base64.b32hexencode(_PREFIX + key.encode("utf-8")).decode("ascii").rstrip("=").lower()


def key_of_id(event_id_: str) -> str | None:
    """The session key an event id was made from, or None for anyone else's id."""
    text = event_id_.upper()
    try:
        raw = base64.b32hexdecode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_PREFIX):
        return None
    try:
        return raw[len(_PREFIX) :].decode("utf-8")
    except UnicodeDecodeError:
        return None


def utc_iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat()


_BREAK = re.compile(r"(?i)<br\s*/?>|</(?:p|div|li|h[1-6])>")
_TAG = re.compile(r"<[^<>]*>")


def plain_text(text: str) -> str:
    """The text of a description the Calendar web UI may have stored as HTML.

    Opening and saving an event there can turn "a\nb" into "<span>a<br>b</span>" with
    entities: the same words, not an edit of the user's."""
    if "<" not in text and "&" not in text:
        return text
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", text)))


def fingerprint(summary: str, description: str, start: datetime, end: datetime) -> str:
    """What the user sees of an event, hashed: any edit in the Calendar UI changes it.

    Whitespace is folded and HTML read as its text, so a server that rewraps or trims
    text, or the web UI storing it as HTML, does not make every event look edited (which
    would pin them all)."""
    words = (" ".join(plain_text(summary).split()), " ".join(plain_text(description).split()))
    text = "\x1f".join((*words, utc_iso(start), utc_iso(end)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
