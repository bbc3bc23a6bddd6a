"""`calsync classify --review` and `--set`, end to end through calsync.cli.main: answers fed
on stdin, saved as [classify] patterns in the user's commented config (every byte outside
that table kept), and used by the next classify and plan."""

from __future__ import annotations

import io
import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from calsync.classify_review import Answer, parse_set, pattern_for, save
from calsync.errors import ConfigError
from tests.helpers import run_cli as run

ROOT = Path(__file__).resolve().parents[1]
CLUB = ROOT / "tests" / "calendars" / "club_runs_unsure_names.ics"
NOW = "2026-11-30T07:00"
WINDOW = ("--from", "2026-11-30", "--to", "2026-12-13")


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped example config (comments, layout) whose runs source is the club calendar."""
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copy(CLUB, tmp_path / "examples" / "plan.ics")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    return tmp_path / "config.toml"


def outside_classify(text: str) -> str:
    """The file without its [classify] table (header to the next table header)."""
    return re.sub(r"(?ms)^\[classify\]\n.*?(?=^\[)", "", text)


def verdicts(capsys: pytest.CaptureFixture[str], cfg: Path) -> dict[str, dict[str, object]]:
    code, out, err = run(capsys, "--config", str(cfg), "--now", NOW, "classify", *WINDOW, "--json")
    assert code == 0, err
    return {r["summary"]: r for r in json.loads(out)}


def test_review_saves_answers_keeps_the_config_and_the_next_run_uses_them(
    user: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = user.read_text(encoding="utf-8")
    first = verdicts(capsys, user)
    assert first["Lantern Loop #3"]["confidence"] == "low"
    assert first["Ravenscar Rattle"]["confidence"] == "low"
    assert first["Tempo run 7 km"]["confidence"] == "high"

    # Two unsure titles (Lantern Loop #3 and #4 are one pattern): a typo, then "hard";
    # then "not a run".
    monkeypatch.setattr("sys.stdin", io.StringIO("maybe\nh\nn\n"))
    code, out, err = run(
        capsys, "--config", str(user), "--now", NOW, "classify", *WINDOW, "--review"
    )
    assert code == 0, err
    assert "2 event(s) the classifier is unsure of" in out
    assert "'maybe'? answer one of" in out
    assert "saved 2 pattern(s) to [classify]" in out

    after = user.read_text(encoding="utf-8")
    assert outside_classify(after) == outside_classify(before)  # byte for byte
    assert "# Your own patterns (regular expressions, case-insensitive)" in after
    assert 'hard = ["\\\\bsharpening\\\\b", "^\\\\s*Lantern Loop #\\\\d+\\\\s*$"]' in after
    assert "norun = [" in after and "Ravenscar Rattle" in after

    again = verdicts(capsys, user)
    for title in ("Lantern Loop #3", "Lantern Loop #4"):
        assert (again[title]["intensity"], again[title]["confidence"]) == ("hard", "high")
        assert "config [classify] hard pattern" in str(again[title]["reason"])
    assert again["Ravenscar Rattle"]["is_run"] is False

    # The plan reads them the same way: no unsure run left.
    code, out, err = run(capsys, "--config", str(user), "--now", NOW, "plan", "--json")
    assert code == 0, err
    runs = [r for d in json.loads(out)["days"] for r in d["runs"]]
    assert runs and all(r["confidence"] == "high" for r in runs)

    # Nothing left to review; the config is not touched.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = run(
        capsys, "--config", str(user), "--now", NOW, "classify", *WINDOW, "--review"
    )
    assert code == 0, err
    assert "nothing to review" in out
    assert user.read_text(encoding="utf-8") == after


def test_before_review_the_plan_treats_unsure_runs_as_hard_and_says_so(
    user: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--config", str(user), "--now", NOW, "plan", "--json")
    assert code == 0, err
    runs = {r["summary"]: r for d in json.loads(out)["days"] for r in d["runs"]}
    loop = runs["Lantern Loop #3"]
    assert (loop["intensity"], loop["confidence"]) == ("hard", "low")
    assert loop["reason"] == (
        "unsure: 'Lantern Loop #3' treated as a hard run; tag it #easy if it is not"
    )
    code, out, err = run(capsys, "--config", str(user), "--now", NOW, "classify", *WINDOW)
    assert code == 0, err
    assert out.count(" easy? ") == 3  # Lantern Loop #3, #4, Ravenscar Rattle
    assert "3 unsure (marked ?): planned as hard runs; `calsync classify --review`" in out


def test_end_of_input_and_quit_save_what_was_answered(
    user: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = user.read_text(encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("\nq\n"))  # skip the first, then quit
    code, out, _ = run(capsys, "--config", str(user), "--now", NOW, "classify", *WINDOW, "--review")
    assert code == 0
    assert "saved" not in out
    assert user.read_text(encoding="utf-8") == before
    monkeypatch.setattr("sys.stdin", io.StringIO("e\n"))  # then the input ends
    code, out, _ = run(capsys, "--config", str(user), "--now", NOW, "classify", *WINDOW, "--review")
    assert code == 0
    assert "saved 1 pattern(s)" in out
    assert "Lantern Loop" in user.read_text(encoding="utf-8")


def test_set_saves_one_pattern_and_a_new_answer_moves_it(
    user: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = user.read_text(encoding="utf-8")
    code, out, err = run(capsys, "--config", str(user), "classify", "--set", "Ravenscar=race")
    assert code == 0, err
    text = user.read_text(encoding="utf-8")
    assert 'race = ["Ravenscar"]' in text
    assert outside_classify(text) == outside_classify(before)
    assert verdicts(capsys, user)["Ravenscar Rattle"]["intensity"] == "race"
    code, _, err = run(capsys, "--config", str(user), "classify", "--set", "Ravenscar=easy")
    assert code == 0, err
    table = tomllib.loads(user.read_text(encoding="utf-8"))["classify"]
    assert (table["race"], table["easy"]) == ([], ["Ravenscar"])


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("Ravenscar", "is not PATTERN=KIND"),
        ("Ravenscar=fast", "'fast' is not one of"),
        ("(unclosed=hard", "is not a valid regular expression"),
        ("=hard", "is not PATTERN=KIND"),
    ],
)
def test_a_bad_set_value_is_one_message_and_changes_nothing(
    user: Path, capsys: pytest.CaptureFixture[str], value: str, why: str
) -> None:
    before = user.read_bytes()
    code, out, err = run(capsys, "--config", str(user), "classify", "--set", value)
    assert code != 0
    assert why in err
    assert user.read_bytes() == before


def test_a_config_without_classify_gets_the_table_appended(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    text = "# mine\n[schedule]\ntimezone = 'UTC'  # here\n\n[[source]]\nurl = 'p.ics'\n"
    cfg.write_text(text)
    assert save(cfg, [Answer("strength", "^Home gym$")]) == 1
    out = cfg.read_text()
    assert out.startswith(text)
    assert "[classify]" in out and "strength = [" in out


def test_no_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no config file to save the answers in"):
        save(tmp_path / "missing.toml", [Answer("hard", "x")])


def test_patterns_match_the_title_and_its_numbered_siblings() -> None:
    p = re.compile(pattern_for("Take Flight #5 (beginners)"), re.IGNORECASE)
    assert p.search("Take Flight #6 (beginners)")
    assert p.search("  take flight #12 (BEGINNERS) ")
    assert not p.search("Take Flight #6 (beginners) social")
    assert parse_set("a=b=not a run") == Answer("norun", "a=b")
