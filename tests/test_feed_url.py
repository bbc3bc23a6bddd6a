"""`calsync feed-url`: the public address behind a proxy, and a warning for a URL only
this machine can reach (a calendar service subscribing to it would fail silently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from calsync.cli import main
from calsync.feed_urls import loopback_host


def _config(tmp_path: Path, feed: str) -> str:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[source]]\ntype = "ics"\nurl = "plan.ics"\n[state]\npath = "state/s.sqlite3"\n'
        f'[feed]\ntoken = "0123456789abcdefghij"\n{feed}\n',
        encoding="utf-8",
    )
    return str(cfg)


def test_a_loopback_url_gets_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", _config(tmp_path, 'listen = "127.0.0.1:8765"'), "feed-url"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "http://127.0.0.1:8765/0123456789abcdefghij/strength.ics"
    assert err.startswith("warning: 127.0.0.1 is this machine only")
    assert "[feed] base_url" in err and "reverse proxy with TLS" in err


def test_base_url_is_the_public_address_and_needs_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, 'base_url = "https://cal.example.org/calsync/"')
    assert main(["--config", cfg, "feed-url"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "https://cal.example.org/calsync/0123456789abcdefghij/strength.ics",
        "webcal://cal.example.org/calsync/0123456789abcdefghij/strength.ics",
    ]
    assert err == ""


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8765/t/strength.ics", "127.0.0.1"),
        ("http://127.8.9.1/x", "127.8.9.1"),
        ("http://[::1]:8765/x", "::1"),
        ("http://localhost:8765/x", "localhost"),
        ("http://192.168.1.5:8765/x", None),
        ("https://cal.example.org/x", None),
    ],
)
def test_loopback_host(url: str, host: str | None) -> None:
    assert loopback_host(url) == host
