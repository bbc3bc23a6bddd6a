"""The optional backends and the pip extra that installs each.

`pip install calsync` gives the ICS paths, the feed and the daemon; the Google and CalDAV
backends pull in large stacks (about 140 MB and 37 MB) and come with `calsync[google]`,
`calsync[caldav]` or `calsync[all]`. Code that is about to import a backend calls
`require()` first, so a config that needs a missing extra fails with one line naming the
command that installs it, instead of an ImportError.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from calsync.errors import MissingExtraError

if TYPE_CHECKING:
    from calsync.config import Config

# extra -> (what it is for, the top-level modules it must provide)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "google": (
        "Google Calendar",
        ("googleapiclient", "google.oauth2", "google_auth_oauthlib", "google_auth_httplib2"),
    ),
    "caldav": ("CalDAV", ("caldav", "lxml")),
}


def missing(extra: str) -> list[str]:
    """The modules of `extra` that cannot be imported (found without importing them)."""
    out = []
    for module in EXTRAS[extra][1]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package missing, or blocked
            found = False
        if not found:
            out.append(module)
    return out


def require(extra: str, needed_by: str) -> None:
    """Raise MissingExtraError, naming the pip command, when `extra` is not installed."""
    gone = missing(extra)
    if gone:
        what = EXTRAS[extra][0]
        raise MissingExtraError(
            f"{needed_by} needs {what} support, which is not installed ({', '.join(gone)} "
            f"missing): pip install 'calsync[{extra}]'"
        )


def check(config: Config) -> None:
    """Every extra the config's sources and outputs need is installed."""
    for source in config.sources:
        check_source(config, source.type)
    if config.output_google is not None:
        require("google", _where(config, "[output.google]"))
    if config.output_caldav is not None:
        require("caldav", _where(config, "[output.caldav]"))


def check_source(config: Config, source_type: str) -> None:
    """The extra a `[[source]]` of this type needs is installed (when it needs one)."""
    if source_type in EXTRAS:
        require(source_type, _where(config, f'[[source]] type = "{source_type}"'))


def _where(config: Config, key: str) -> str:
    return f"{config.path}: {key}" if config.path is not None else key
