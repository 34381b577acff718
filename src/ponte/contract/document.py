"""A plain JSON Schema document (Amazon's JSON_LISTINGS_FEED, its notification payloads), read on first use."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson

from ponte.contract.problems import Problem
from ponte.contract.schemas import SchemaSet

_DRAFTS = (("draft-04", "draft4"), ("draft-06", "draft7"), ("draft-07", "draft7"), ("2019-09", "2019-09"))
BASE_URI = "https://specs.ponte.invalid/"  # never fetched: it names a document so that its $refs resolve inside it


class SchemaDocument:
    """One JSON Schema, from a file (`source`) or already parsed (`document`); its `$schema` says its draft."""

    def __init__(
        self, source: Path | str | None = None, *, document: dict[str, Any] | None = None, name: str | None = None
    ) -> None:
        if source is None and document is None:
            raise ValueError("a SchemaDocument needs a file or a document")
        self.source = Path(source) if source is not None else None
        self.name = name or (self.source.name if self.source else "schema")
        self._document = document
        self._schemas: SchemaSet | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<SchemaDocument {self.name}>"

    @property
    def schemas(self) -> SchemaSet:
        if self._schemas is None:
            with self._lock:
                if self._schemas is None:
                    self._schemas = self._read()
        return self._schemas

    def _read(self) -> SchemaSet:
        document = self._document
        if document is None:
            assert self.source is not None
            document = orjson.loads(self.source.read_bytes())
        declared = str(document.get("$schema", ""))
        dialect = next((d for marker, d in _DRAFTS if marker in declared), "2020-12")
        return SchemaSet(document, BASE_URI + self.name, dialect)

    @property
    def document(self) -> dict[str, Any]:
        return self.schemas.document

    def validate(self, instance: Any, *, strict: bool = False) -> list[Problem]:
        """Problems of a parsed instance; with `strict`, also each property the schema does not declare."""
        schemas = self.schemas
        return schemas.check(schemas.checker("", ""), instance, part="body", root="$", strict=strict)

    def validate_json(self, data: bytes | str, *, strict: bool = False) -> list[Problem]:
        """Problems of a JSON text (a feed document as uploaded)."""
        try:
            instance = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            return [Problem("body", "$", f"not valid JSON: {error}")]
        return self.validate(instance, strict=strict)

    def examples(self) -> list[Any]:
        """The document's own `examples` (draft-07 keeps them at the root)."""
        found = self.document.get("examples")
        return list(found) if isinstance(found, list) else []
