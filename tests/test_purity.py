"""The pure core imports no I/O: no network, disk, clock, environment or state.

Walks the imports of each pure module (every `import` statement in its source, inside
functions too; only `if TYPE_CHECKING:` blocks are skipped, since they never run) and of
every calsync module they reach, and fails naming the chain that reaches something
forbidden. It also looks for the clock (`datetime.now()`, `date.today()`) and the disk
(`open(...)`) called directly in those modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "calsync"
PURE = (
    "model",
    "classify",
    "planner",
    "planner_facts",
    "planner_explain",
    "workouts",
    "diff",
    "report",
    "ics_write",
)
# Top-level modules that are I/O (or the way to it), by name.
FORBIDDEN = frozenset(
    {
        "os",
        "sqlite3",
        "urllib",
        "socket",
        "time",
        "http",
        "pathlib",
        "io",
        "shutil",
        "tempfile",
        "glob",
        "subprocess",
        "fcntl",
        "select",
        "ssl",
        "signal",
        "threading",
        "asyncio",
        "platformdirs",
        "requests",
        "httplib2",
        "googleapiclient",
        "google",
        "caldav",
        "waitress",
    }
)
# calsync's own modules a pure module may reach; any other (state, config's loader,
# sources, sinks, the CLI, the feed server, retry, the Google client) is the shell.
ALLOWED_OWN = frozenset(
    {
        "calsync",
        "calsync.errors",
        "calsync.settings",
        "calsync.classify_words",
        "calsync.classify_words_notrun",
        "calsync.classify_words_effort",
        "calsync.classify_text",
        "calsync.classify_effort",
        "calsync.classify_user",  # tags and [classify] patterns: pure
        "calsync.classify_context",  # the calendar-as-context pass: pure
        "calsync.term",  # display width of text (wcwidth): pure
        "calsync.workout_library",  # the built-in moves and templates: data
        *(f"calsync.{m}" for m in PURE),
    }
)
CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, except what sits under `if TYPE_CHECKING:`."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(c for c in ast.iter_child_nodes(node) if not _type_checking_only(c))
    return out


def imports_of(source: str, package: str = "calsync") -> set[str]:
    """Full names of the modules a source imports (`from calsync import x` -> calsync.x)."""
    names: set[str] = set()
    for node in _nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = package + ("." + base if base else "")
            names.add(base)
            if base == "calsync":
                names.update(f"calsync.{a.name}" for a in node.names)
    return names


def direct_violations(source: str) -> list[str]:
    """What in one module's own text reaches I/O: forbidden imports, the clock, open()."""
    found = [n for n in sorted(imports_of(source)) if n.split(".")[0] in FORBIDDEN]
    found += [
        n
        for n in sorted(imports_of(source))
        if n.startswith("calsync.") and n not in ALLOWED_OWN and _is_module(n)
    ]
    for node in _nodes(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "open":
                found.append("open()")
            named = isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
            if named and (f.value.id, f.attr) in CLOCK:  # type: ignore[attr-defined]
                found.append(f"{f.value.id}.{f.attr}()")  # type: ignore[attr-defined]
    return found


def _is_module(name: str) -> bool:
    """calsync.x is a module (not a name like calsync.__version__)."""
    return _file(name).exists()


def _file(module: str) -> Path:
    rel = Path(*module.split(".")[1:])
    pkg = ROOT / rel / "__init__.py"
    return pkg if pkg.exists() else ROOT / rel.with_suffix(".py")


def violations(start: str) -> list[str]:
    """Each forbidden thing reachable from `calsync.<start>`, with the chain to it."""
    out: list[str] = []
    seen: set[str] = set()
    todo = [(f"calsync.{start}", (f"calsync.{start}",))]
    while todo:
        module, chain = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        source = _file(module).read_text(encoding="utf-8")
        out += [f"{' -> '.join(chain)}: {v}" for v in direct_violations(source)]
        for name in imports_of(source):
            if name in ALLOWED_OWN and _file(name).exists():
                todo.append((name, (*chain, name)))
    return out


@pytest.mark.parametrize("module", PURE)
def test_the_pure_core_reaches_no_io(module: str) -> None:
    assert violations(module) == []


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("import sqlite3", "sqlite3"),
        ("import os.path", "os.path"),
        ("from urllib.parse import urlsplit", "urllib.parse"),
        ("import time", "time"),
        ("from pathlib import Path", "pathlib"),
        ("from calsync.state import StateTx", "calsync.state"),
        ("from calsync import config", "calsync.config"),
        ("def f():\n    import socket", "socket"),
        ("from datetime import datetime\nx = datetime.now()", "datetime.now()"),
        ("from datetime import date\nx = date.today()", "date.today()"),
        ("data = open('x').read()", "open()"),
    ],
)
def test_the_walker_catches_each_way_to_io(line: str, flagged: str) -> None:
    """The check itself can fail: each of these lines in a pure module would be caught."""
    assert flagged in direct_violations(line)


def test_type_only_imports_are_not_io() -> None:
    src = "if TYPE_CHECKING:\n    from calsync.state import StateTx\n"
    assert direct_violations(src) == []
