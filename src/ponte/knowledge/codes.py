"""Error-code tables: a marketplace's documented codes and what each one means.

Ponte ships tables for the marketplaces it knows (`data/codes/<marketplace>.yaml`); a connector package ships
its own and hands them over in one of two ways:

* an entry point in the group `ponte.error_codes` whose object is a callable returning the paths of its
  YAML tables (or one path), e.g. in the connector's pyproject.toml:
  `[project.entry-points."ponte.error_codes"] mymarket = "my_package.codes:tables"`;
* `register_code_table(path)` from the connector's code, before the first classification (tests use it too).

A connector's table is read after Ponte's own and its entries win for the same code: the connector knows its
marketplace best. Every table is validated like the rest of the knowledge data; a wrong one names the file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ponte.domain import Disposition

log = logging.getLogger("ponte.knowledge")

ENTRY_POINT_GROUP = "ponte.error_codes"

_registered: list[Path] = []


@dataclass(frozen=True)
class CodeEntry:
    code: str  # lowercase
    category: str
    disposition: Disposition | None
    flow: str | None
    source: str  # "<file>:<code>", shown as the matching rule
    # A family of errors ("a required attribute is missing"): the attribute the message names may say more
    # ("the attributes [GTIN] are required" is a GTIN problem), so rules and wordings are read first.
    family: bool = False


def register_code_table(path: str | Path) -> None:
    """Add a connector's code table (a YAML file in the format of data/codes/); read at the next load.

    Call `clear_knowledge_cache()` afterwards when knowledge was already loaded in this process.
    """
    resolved = Path(path).resolve()
    if resolved not in _registered:
        _registered.append(resolved)


def unregister_code_tables() -> None:
    """Forget tables added with register_code_table (for tests)."""
    _registered.clear()


def connector_tables() -> list[Path]:
    """Paths of the tables connector packages give: entry points first, then registered ones."""
    found: list[Path] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            provider: Callable[[], Any] | Any = entry.load()
            paths = provider() if callable(provider) else provider
        except Exception as error:  # one broken plugin must not stop classification for everyone
            log.error("error-code tables of %s could not be loaded: %s", entry.name, error)
            continue
        if isinstance(paths, (str, Path)):
            paths = [paths]
        found.extend(Path(p).resolve() for p in paths)
    found.extend(p for p in _registered if p not in found)
    return found


def parse_table(
    path: Path,
    data: Any,
    *,
    categories: Iterable[str],
    error: Callable[[str], Exception],
) -> tuple[list[str], dict[str, CodeEntry]]:
    """Validate one table's YAML; returns (its names: marketplace then aliases, code -> entry).

    `error` builds the exception to raise. A table is looked up by the connector's own name first (a Bling
    table is not Tiny's, though the rules file groups both as "erp"), so tables name their aliases themselves.
    """
    if not isinstance(data, dict) or not isinstance(data.get("marketplace"), str):
        raise error(f"{path.name}: expected `marketplace: <name>` and `codes: {{code: {{category: ...}}}}`")
    marketplace = data["marketplace"].strip().lower()
    aliases = data.get("aliases") or []
    if not isinstance(aliases, list):
        raise error(f"{path.name}: `aliases` must be a list of names")
    codes = data.get("codes") or {}
    if not isinstance(codes, Mapping):
        raise error(f"{path.name}: `codes` must map each code to {{category: ..., disposition: ...}}")
    known = set(categories)
    table: dict[str, CodeEntry] = {}
    for raw_code, entry in codes.items():
        code = str(raw_code).strip().lower()
        where = f"{path.name}: code {raw_code!r}"
        if not code:
            raise error(f"{where}: a code cannot be empty")
        if isinstance(entry, str):
            entry = {"category": entry}
        if not isinstance(entry, Mapping):
            raise error(f"{where}: expected {{category: ..., disposition: ..., flow: ..., family: ..., note: ...}}")
        unknown = set(entry) - {"category", "disposition", "flow", "note", "family"}  # note: why, for the next reader
        if unknown:
            raise error(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if entry.get("category") not in known:
            raise error(f"{where}: unknown category {entry.get('category')!r} (not in categories.yaml)")
        disposition = None
        if entry.get("disposition"):
            try:
                disposition = Disposition(str(entry["disposition"]))
            except ValueError:
                allowed = ", ".join(d.value for d in Disposition)
                raise error(f"{where}: unknown disposition {entry['disposition']!r} (use one of: {allowed})")
        table[code] = CodeEntry(
            code=code,
            category=str(entry["category"]),
            disposition=disposition,
            flow=str(entry["flow"]) if entry.get("flow") else None,
            source=f"code:{marketplace}:{code}",
            family=bool(entry.get("family")),
        )
    return [marketplace, *(str(a).strip().lower() for a in aliases)], table


def find(
    tables: Mapping[str, Mapping[str, CodeEntry]], names: Iterable[str | None], flow: str | None, codes: Iterable[str]
) -> CodeEntry | None:
    """The first of `codes` that a table of `names` (the connector, its marketplace), then "*", knows."""
    for name in (*dict.fromkeys(names), "*"):
        table = tables.get(name) if name else None
        if not table:
            continue
        for code in codes:
            entry = table.get(code)
            if entry is not None and (entry.flow is None or entry.flow == flow):
                return entry
    return None
