"""A connector's documented errors as data (its errors.yaml): what the marketplace meant, by code, words or status.

    codes:    {CODE: {category, disposition}}       the marketplace's own error codes
    messages: [{match: REGEX, category, disposition}] its words, matched on the folded message (no accents, lower)
    statuses: {HTTP_STATUS: {category, disposition}} the last resort

A connector reads its table first and leaves what it does not know to the knowledge base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ponte.domain import Disposition
from ponte.knowledge.text import fold


@dataclass(frozen=True)
class Reading:
    category: str
    disposition: Disposition


def reading(entry: dict[str, Any]) -> Reading:
    return Reading(str(entry["category"]), Disposition(str(entry["disposition"])))


@dataclass(frozen=True)
class Table:
    codes: dict[str, Reading]
    statuses: dict[int, Reading]
    messages: tuple[tuple[re.Pattern[str], Reading], ...]

    def read(self, *, message: str = "", code: str | None = None, status: int | None = None) -> Reading | None:
        """What the marketplace meant, when the table knows: by code, then by words, then by HTTP status."""
        if code and code in self.codes:
            return self.codes[code]
        folded = fold(message)
        for pattern, found in self.messages:
            if pattern.search(folded):
                return found
        return self.statuses.get(status) if status is not None else None


@cache
def load_table(path: Path) -> Table:
    """A connector's error table, read once."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Table(
        codes={str(code): reading(entry) for code, entry in (data.get("codes") or {}).items()},
        statuses={int(status): reading(entry) for status, entry in (data.get("statuses") or {}).items()},
        messages=tuple((re.compile(entry["match"]), reading(entry)) for entry in data.get("messages") or []),
    )
