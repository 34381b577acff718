"""SQL lives in ponte.store: the engine and the alerts decide, the store's functions read and write."""

from __future__ import annotations

import ast
from pathlib import Path

import ponte

PACKAGE = Path(ponte.__file__).parent
STATEMENTS = {"select", "insert", "update", "delete", "text", "bindparam", "literal_column", "func"}


def _sql_in(path: Path) -> list[str]:
    """Where the module executes a statement or imports SQLAlchemy's statement builders."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "execute":
            found.append(f"{path.name}:{node.lineno} .execute()")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"{path.name}:{node.lineno} imports {a.name}" for a in node.names if a.name in STATEMENTS]
    return found


def test_it_finds_sql_where_a_module_has_some():
    assert _sql_in(PACKAGE / "store" / "queue.py")  # the check itself can fail


def test_the_engine_and_the_alerts_write_no_sql():
    modules = sorted((PACKAGE / "engine").glob("*.py")) + sorted((PACKAGE / "alerts").glob("*.py"))
    assert len(modules) > 20
    assert [where for path in modules for where in _sql_in(path)] == []
