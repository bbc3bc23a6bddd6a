"""calsync's own modules import one another without cycles (issue 12 item 5).

Every `import` counts: at the top, inside functions and under `if TYPE_CHECKING:` (a
type-only cycle still ties two modules together for a reader and for mypy). A cycle
found here fails, naming its modules, unless it is on the allow-list with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "calsync"

# Groups of modules that still import one another -> why they may, for now.
ALLOWED: dict[frozenset[str], str] = {
    frozenset({"calsync.classify", "calsync.classify_effort", "calsync.classify_user"}): (
        "type only: classify_effort and classify_user name classify's _Fields in annotations; "
        "_Fields cuts titles with classify_effort's tables, so moving it out makes the same "
        "cycle elsewhere: breaking it takes a Protocol, not a pure move"
    ),
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def own_imports(source: str, name: str, modules: set[str]) -> set[str]:
    """The calsync modules one module's source imports, anywhere in it."""
    out: set[str] = set()
    package = name.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return (out & modules) - {name}


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    paths = {module_name(p, root): p for p in root.rglob("*.py") if "__pycache__" not in p.parts}
    names = set(paths)
    return {m: own_imports(p.read_text(encoding="utf-8"), m, names) for m, p in paths.items()}


def cycles(g: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(g):
        if start in index:
            continue
        work = [(start, iter(sorted(g[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(g[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                group: set[str] = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.add(w)
                    if w == v:
                        break
                if len(group) > 1:
                    found.append(frozenset(group))
    return found


def test_no_new_import_cycle() -> None:
    new = [sorted(c) for c in cycles(graph()) if c not in ALLOWED]
    assert new == [], "modules that import one another: move what they share to a third"


def test_allowed_cycles_still_exist() -> None:
    """A cycle that is gone leaves the allow-list."""
    assert [sorted(c) for c in ALLOWED if c not in cycles(graph())] == []


def test_the_finder_sees_a_cycle_through_a_type_only_import() -> None:
    g = {
        "calsync.a": own_imports("from calsync import b\n", "calsync.a", {"calsync.b"}),
        "calsync.b": own_imports(
            "if TYPE_CHECKING:\n    from calsync.c import X\n", "calsync.b", {"calsync.c"}
        ),
        "calsync.c": own_imports("def f():\n    import calsync.a\n", "calsync.c", {"calsync.a"}),
        "calsync.d": set(),
    }
    assert cycles(g) == [frozenset({"calsync.a", "calsync.b", "calsync.c"})]
