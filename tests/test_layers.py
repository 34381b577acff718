"""SQL lives in src/ponte/store/, and the layers import one way (issue 17).

Read from the source's syntax trees, without importing anything:

- No module outside src/ponte/store/ runs a statement (`.execute(`, `.exec_driver_sql(`, `.executemany(`, or a
  Connection's `.scalar(stmt)` / `.scalars(stmt)`) or builds one with SQLAlchemy's select, insert, update, delete,
  text, func, exists, union or union_all (imported from any sqlalchemy module, or reached as `sa.select` after
  `import sqlalchemy as sa`).
  Outside the store nothing executes anything else, so every call named `execute` is taken for SQL.
- The store imports nothing from services, engine, web, api or alerts; the engine nothing from services, web or api;
  the services nothing from web or api. Imports inside functions count as much as those at the top.

Nothing is left out of the walk but the store itself. The sandbox (src/ponte/sandbox/: marketplaces emulated in
memory, their state saved as JSON files), the contract checks (src/ponte/contract/: a marketplace's documented
requests and answers) and the connectors' emulations keep no database of their own and run no SQL, so nothing
justifies skipping them: they are held to the same rule. Should one ever keep its own SQLite, it gets an exemption
of its own here, with its reason, rather than a folder skipped unseen.

STILL_MOVING names modules allowed SQL outside the store while it moves there (none now: issue 17 moved it all);
`test_still_moving_is_current` says which entries have become unnecessary.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PONTE = ROOT / "src" / "ponte"

BUILDS_SQL = frozenset({"select", "insert", "update", "delete", "text", "func", "exists", "union", "union_all"})
RUNS_SQL = frozenset({"execute", "exec_driver_sql", "executemany"})
RUNS_A_STATEMENT = frozenset({"scalar", "scalars"})  # Connection.scalar(stmt); Result.scalar() takes no statement

# layer -> the layers it must not import (web, api and the CLI sit on top and may import any)
MUST_NOT_IMPORT = {
    "store": ("services", "engine", "web", "api", "alerts"),
    "engine": ("services", "web", "api"),
    "services": ("web", "api"),
}

# Modules allowed SQL outside src/ponte/store/ while it moves there: {path from the repository: reason}. Empty: every
# statement Ponte runs is in the store (issue 17); an entry that no longer holds SQL fails `test_still_moving_is_current`.
STILL_MOVING: dict[str, str] = {}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PONTE.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path


def _layer(path: Path) -> str | None:
    """The package right under src/ponte/ that a module belongs to (None for src/ponte/*.py)."""
    parts = path.relative_to(PONTE).parts
    return parts[0] if len(parts) > 1 else None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PONTE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sql_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) for each statement run or built in `source`."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    aliases = set()  # names bound to a sqlalchemy module (`import sqlalchemy as sa`)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sqlalchemy" or alias.name.startswith("sqlalchemy."):
                    aliases.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            for alias in node.names:
                if alias.name in BUILDS_SQL:
                    found.append((node.lineno, f"imports {alias.name} from {node.module}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in BUILDS_SQL:
            root: ast.expr = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                found.append((node.lineno, f"uses {ast.unparse(node)}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in RUNS_SQL or (name in RUNS_A_STATEMENT and (node.args or node.keywords)):
                found.append((node.lineno, f"calls {ast.unparse(node.func)}("))
    return sorted(found)


def imported(source: str, module: str, *, package: bool) -> list[tuple[int, str]]:
    """(line, module) for each module `source` imports, relative imports resolved; `from a import b` counts as a
    and as a.b (b may be a module)."""
    here = module.split(".") if package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def _is_in(module: str, layer: str) -> bool:
    return module == f"ponte.{layer}" or module.startswith(f"ponte.{layer}.")


def test_sql_lives_in_store() -> None:
    stray = [
        f"{name}:{line}: {what}"
        for name, path in _modules()
        if _layer(path) != "store" and name not in STILL_MOVING
        for line, what in sql_uses(path.read_text())
    ]
    assert not stray, "SQL outside src/ponte/store/ (move it to a store module):\n" + "\n".join(stray)


def test_layers_import_one_way() -> None:
    wrong: dict[tuple[str, int], str] = {}  # one report a line (`from a import b` is a and a.b)
    for name, path in _modules():
        layer = _layer(path)
        if layer not in MUST_NOT_IMPORT:
            continue
        source, module = path.read_text(), _module_name(path)
        for line, target in imported(source, module, package=path.name == "__init__.py"):
            above = [other for other in MUST_NOT_IMPORT[layer] if _is_in(target, other)]
            if above:
                wrong.setdefault((name, line), f"{name}:{line}: {layer} imports {target} ({above[0]} is above it)")
    assert not wrong, "imports against the layers (web/api/cli -> services -> engine -> store):\n" + "\n".join(
        wrong.values()
    )


def test_still_moving_is_current() -> None:
    """Each entry is another branch's module that still has SQL; once it has none, the entry goes."""
    stale = []
    for name, reason in STILL_MOVING.items():
        path = ROOT / name
        if _layer(path) not in ("services", "api", "engine", "alerts") or not reason:
            stale.append(f"{name}: only services/, api/, engine/ and alerts/ may wait, with a reason")
        elif not path.exists():
            stale.append(f"{name}: no such file any more")
        elif not sql_uses(path.read_text()):
            stale.append(f"{name}: has no SQL any more")
    assert not stale, "STILL_MOVING entries to remove:\n" + "\n".join(stale)


def test_the_checks_see_what_they_look_for() -> None:
    """The detectors on small sources: what they must find, and what they must let be."""
    stray = (
        "import sqlalchemy as sa\n"
        "from sqlalchemy.dialects.postgresql import insert\n"
        "def f(conn):\n"
        "    conn.execute(sa.select(1))\n"
        "    return conn.scalar(q)\n"
    )
    assert sql_uses(stray) == [
        (2, "imports insert from sqlalchemy.dialects.postgresql"),
        (4, "calls conn.execute("),
        (4, "uses sa.select"),
        (5, "calls conn.scalar("),
    ]
    harmless = (
        "from sqlalchemy import Connection\n"
        "from sqlalchemy.exc import OperationalError\n"
        "def f(rows, d, result):\n"
        "    d.update(rows)\n"
        "    return result.scalar()\n"
    )
    assert sql_uses(harmless) == []
    relative = "from ..services import connections\nfrom . import tables\nimport ponte.web.render\n"
    assert imported(relative, "ponte.store.exports", package=False) == [
        (1, "ponte.services"),
        (1, "ponte.services.connections"),
        (2, "ponte.store"),
        (2, "ponte.store.tables"),
        (3, "ponte.web.render"),
    ]
    assert imported("from .x import y\n", "ponte.engine", package=True) == [
        (1, "ponte.engine.x"),
        (1, "ponte.engine.x.y"),
    ]
