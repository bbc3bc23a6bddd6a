"""What a `pip install calsync` user meets: the optional backends, the start-up cost."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from calsync.cli import main

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "plan.ics"

# The Google and CalDAV stacks, and the servers: none is needed to print the help.
HEAVY = ("googleapiclient", "google", "google_auth_oauthlib", "httplib2", "caldav", "lxml")


def _imported_by(*args: str) -> set[str]:
    """Top-level modules a fresh interpreter holds after `calsync ARGS`."""
    probe = (
        "import sys\n"
        "from calsync.cli import main\n"
        f"code = main({list(args)!r})\n"
        "print('MODULES', ' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sync", "--help"]])
def test_help_and_version_import_no_backend(args: list[str]) -> None:
    loaded = _imported_by(*args)
    assert "click" in loaded  # the probe saw the CLI run
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_plan_from_ics_imports_no_backend(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[source]]\ntype = "ics"\nurl = "{PLAN}"\n', encoding="utf-8")
    loaded = _imported_by("--config", str(cfg), "--now", "2026-11-26T08:00", "plan")
    assert "icalendar" in loaded  # the probe saw the plan made
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def _config(tmp_path: Path, body: str) -> str:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[[source]]\ntype = "ics"\nurl = "{PLAN}"\n{body}\n[state]\npath = "state.sqlite3"\n',
        encoding="utf-8",
    )
    return str(cfg)


@pytest.mark.parametrize(
    ("blocked", "body", "key", "extra"),
    [
        (
            "caldav",
            '[[source]]\ntype = "caldav"\nurl = "http://127.0.0.1:9/"\nrole = "busy"\n',
            '[[source]] type = "caldav"',
            "caldav",
        ),
        (
            "googleapiclient",
            '[[source]]\ntype = "google"\ncalendar = "primary"\nrole = "busy"\n',
            '[[source]] type = "google"',
            "google",
        ),
        (
            "google_auth_oauthlib",
            '[output.google]\ncalendar = "Strength"\n',
            "[output.google]",
            "google",
        ),
    ],
)
@pytest.mark.parametrize("command", ["sync", "plan"])
def test_a_config_needing_a_missing_extra_names_the_pip_command(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    blocked: str,
    body: str,
    key: str,
    extra: str,
    command: str,
) -> None:
    monkeypatch.setitem(sys.modules, blocked, None)  # `import blocked` now fails
    cfg = _config(tmp_path, body)
    code = main(["--config", cfg, "--now", "2026-11-26T08:00", command])
    out, err = capsys.readouterr()
    assert code == 1
    assert err == (
        f"calsync: error: {cfg}: {key} needs {'CalDAV' if extra == 'caldav' else 'Google Calendar'}"
        f" support, which is not installed ({blocked} missing): pip install 'calsync[{extra}]'\n"
    )
    assert not (tmp_path / "state.sqlite3").exists()  # nothing half-written


def test_auth_google_without_the_google_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google_auth_oauthlib", None)
    secrets = tmp_path / "client_secret.json"
    secrets.write_text("{}", encoding="utf-8")
    cfg = _config(tmp_path, '[output.google]\ncalendar = "Strength"\n')
    code = main(["--config", cfg, "auth", "google", "--client-secrets", str(secrets)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.endswith("pip install 'calsync[google]'\n") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("blocked", "body", "extra"),
    [
        ("googleapiclient", '[[source]]\ntype = "google"\ncalendar = "primary"\n', "google"),
        ("google_auth_oauthlib", '[output.google]\ncalendar = "Strength"\n', "google"),
        ("caldav", '[output.caldav]\nurl = "http://127.0.0.1:9/"\n', "caldav"),
    ],
)
def test_doctor_names_a_missing_extra_as_a_problem(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    blocked: str,
    body: str,
    extra: str,
) -> None:
    monkeypatch.setitem(sys.modules, blocked, None)
    code = main(["--config", _config(tmp_path, body), "doctor"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert f"pip install 'calsync[{extra}]'" in out
    assert "internal error" not in err


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_third_party_import_is_declared() -> None:
    # Found: calsync imported lxml (for caldav's parser errors) without declaring it.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    declared = {_name(r) for r in project["dependencies"]}
    for extra, reqs in extras.items():
        if extra != "test":
            declared |= {_name(r) for r in reqs}
    owners = importlib.metadata.packages_distributions()
    undeclared = []
    for path in sorted((ROOT / "calsync").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("calsync", "_typeshed"):
                    continue
                dists = {d.lower().replace("_", "-") for d in owners.get(top, [])}
                if not dists & declared:
                    undeclared.append(f"{path.relative_to(ROOT)}:{node.lineno}: {module}")
    assert not undeclared
