"""A published API specification, read on first use, and a `Contract`: the specifications of one API together.

An `ApiSpec` is one Swagger 2.0 / OpenAPI 3.0 / OpenAPI 3.1 document. Nothing is read when it is made: the first
lookup reads and indexes the file (Mirakl's 2.6 MB takes a few tens of milliseconds), and each operation compiles its
validators the first time it checks something.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ponte.contract.document import BASE_URI
from ponte.contract.operation import Operation
from ponte.contract.problems import UNSET, HttpRequest, Problem
from ponte.contract.schemas import SchemaSet, normalise, pointer_join

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

_PARAM = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True)
class Match:
    """The operation a request reaches, and the raw (still %-encoded) texts its path template matched."""

    operation: Operation
    path_values: Mapping[str, str]


@dataclass(frozen=True)
class _Route:
    order: tuple[
        int, ...
    ]  # per segment, 0 literal, 1 templated: literal paths win (`/offers/imports` over `/offers/{id}`)
    regex: re.Pattern[str]
    names: tuple[str, ...]
    operation: Operation


class ApiSpec:
    """One specification document, from a file (`source`) or already parsed (`document`)."""

    def __init__(
        self,
        source: Path | str | None = None,
        *,
        document: dict[str, Any] | None = None,
        name: str | None = None,
        optional_nullable: bool = False,
        read_only_phrase: str | None = None,
        dotted_required: bool = False,
    ) -> None:
        """`optional_nullable`, `read_only_phrase`, `dotted_required`: readings of a spec's loose ends (see
        `schemas.normalise`)."""
        if source is None and document is None:
            raise ValueError("an ApiSpec needs a file or a document")
        self.optional_nullable = optional_nullable
        self.read_only_phrase = read_only_phrase
        self.dotted_required = dotted_required
        self.source = Path(source) if source is not None else None
        self.name = name or (self.source.stem if self.source else "spec")
        self._document = document
        self._lock = threading.Lock()
        self._loaded: tuple[SchemaSet, dict[str, list[_Route]]] | None = None
        self.swagger = False
        self.consumes: tuple[str, ...] = ()
        self.base_paths: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<ApiSpec {self.name}>"

    @property
    def schemas(self) -> SchemaSet:
        return self._load()[0]

    def _load(self) -> tuple[SchemaSet, dict[str, list[_Route]]]:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._read()
        return self._loaded

    def _read(self) -> tuple[SchemaSet, dict[str, list[_Route]]]:
        document = self._document if self._document is not None else orjson.loads(self.source.read_bytes())  # type: ignore[union-attr]
        version = str(document.get("openapi") or document.get("swagger") or "")
        if not (version.startswith(("2.", "3.0", "3.1"))):
            raise ValueError(f"{self.name}: not a Swagger 2.0 or OpenAPI 3.0/3.1 document")
        self.swagger = version.startswith("2.")
        keyword = "x-nullable" if self.swagger else None if version.startswith("3.1") else "nullable"
        normalise(
            document,
            nullable=keyword,
            optional_nullable=self.optional_nullable,
            read_only_phrase=self.read_only_phrase,
            dotted_required=self.dotted_required,
        )
        self.consumes = tuple(document.get("consumes") or ())
        self.base_paths = _base_paths(document)
        dialect = "draft4" if not version.startswith("3.1") else _dialect_31(document)
        schemas = SchemaSet(document, BASE_URI + self.name, dialect)
        return schemas, self._index(document, schemas)

    def _index(self, document: dict[str, Any], schemas: SchemaSet) -> dict[str, list[_Route]]:
        routes: dict[str, list[_Route]] = {}
        for template, item in (document.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            regex, names, order = _compile(template)
            for method in HTTP_METHODS:
                if isinstance(item.get(method), dict):
                    operation = Operation(self, schemas, method, template, pointer_join("paths", template))
                    routes.setdefault(method.upper(), []).append(_Route(order, regex, names, operation))
        for found in routes.values():
            found.sort(key=lambda route: route.order)
        return routes

    def operations(self) -> list[Operation]:
        return [route.operation for found in self._load()[1].values() for route in found]

    def match(self, method: str, path: str) -> Match | None:
        """The operation that answers `method path` (a concrete path, with or without the spec's base path)."""
        routes = self._load()[1].get(method.upper(), [])
        for candidate in self._candidates(path):
            for route in routes:
                found = route.regex.match(candidate)
                if found:
                    return Match(route.operation, dict(zip(route.names, found.groups(), strict=True)))
        return None

    def methods_at(self, path: str) -> list[str]:
        """The methods the spec documents at a concrete path (for "GET is not one of them")."""
        return [m for m in self._load()[1] if self.match(m, path)]

    def _candidates(self, path: str) -> list[str]:
        path = path.rstrip("/") or "/"
        out = [path]
        for base in self.base_paths:
            if path.startswith(base + "/"):
                out.append(path[len(base) :])
        return out


def _compile(template: str) -> tuple[re.Pattern[str], tuple[str, ...], tuple[int, ...]]:
    names: list[str] = []
    pieces: list[str] = []
    order: list[int] = []
    for segment in template.rstrip("/").split("/")[1:]:
        order.append(1 if _PARAM.search(segment) else 0)
        last = 0
        for found in _PARAM.finditer(segment):
            pieces.append(re.escape(segment[last : found.start()]))
            pieces.append("([^/]+)")
            names.append(found.group(1))
            last = found.end()
        pieces.append(re.escape(segment[last:]) + "/")
    pattern = "/" + "".join(pieces).rstrip("/")
    return re.compile(pattern + r"\Z"), tuple(names), tuple(order)


def _base_paths(document: dict[str, Any]) -> tuple[str, ...]:
    """Where the paths hang: Swagger's `basePath`, the path part of each OpenAPI server URL (`/Api/v3`)."""
    from urllib.parse import urlsplit

    found = [document.get("basePath") or ""]
    found += [urlsplit(server.get("url", "")).path for server in document.get("servers") or []]
    return tuple(dict.fromkeys(p.rstrip("/") for p in found if p and p.rstrip("/")))


def _dialect_31(document: dict[str, Any]) -> str:
    dialect = str(document.get("jsonSchemaDialect") or "")
    return "2019-09" if "2019-09" in dialect else "2020-12"


class Contract:
    """The specifications of one API (Amazon's several models, or Mirakl's one document), searched together."""

    def __init__(self, name: str, specs: Sequence[ApiSpec]) -> None:
        self.name = name
        self.specs = list(specs)

    def __repr__(self) -> str:
        return f"<Contract {self.name}: {', '.join(s.name for s in self.specs)}>"

    @classmethod
    def load(cls, name: str, *sources: Path | str) -> Contract:
        """A contract of spec files, read on first use."""
        return cls(name, [ApiSpec(source) for source in sources])

    def operations(self) -> list[Operation]:
        return [operation for spec in self.specs for operation in spec.operations()]

    def operation(self, name: str) -> Operation:
        """An operation by operationId ("putListingsItem", "OF24"), "spec:operationId" or "METHOD /template"."""
        spec_name, _, wanted = name.rpartition(":") if ":" in name and " " not in name else ("", "", name)
        found = [
            op
            for op in self.operations()
            if (wanted in (op.operation_id, f"{op.method} {op.template}")) and spec_name in ("", op.spec.name)
        ]
        if len(found) == 1:
            return found[0]
        if found:
            choices = ", ".join(f"{op.spec.name}:{op.operation_id}" for op in found)
            raise LookupError(f"{name!r} names several operations of {self.name}: {choices}")
        raise LookupError(f"{self.name} has no operation {name!r}")

    def match(self, method: str, target: str) -> Match | None:
        path = HttpRequest.build(method, target).path
        for spec in self.specs:
            found = spec.match(method, path)
            if found is not None:
                return found
        return None

    def check(self, request: HttpRequest, *, strict: bool = False) -> tuple[Operation | None, list[Problem]]:
        """The operation a request reaches and the request's problems (one "operation" problem when none does)."""
        for spec in self.specs:
            found = spec.match(request.method, request.path)
            if found is not None:
                return found.operation, found.operation.validate_request(request, found.path_values, strict=strict)
        methods = sorted({m for spec in self.specs for m in spec.methods_at(request.path)})
        text = f"no operation of {self.name} answers {request.method} {request.path}"
        if methods:
            text += f" (that path takes {', '.join(methods)})"
        return None, [Problem("operation", "", text)]

    def validate_request(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        json: Any = UNSET,
        strict: bool = False,
    ) -> list[Problem]:
        """Problems of a request, given as method and URL (or path with query), headers and a body or `json=`."""
        request = HttpRequest.build(method, target, headers=headers, body=body, json=json)
        return self.check(request, strict=strict)[1]

    def validate_response(
        self,
        method: str,
        target: str,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        json: Any = UNSET,
        strict: bool = False,
    ) -> list[Problem]:
        """Problems of the answer to `method target`; an "operation" problem when no operation answers there."""
        found = self.match(method, target)
        if found is None:
            return [Problem("operation", "", f"no operation of {self.name} answers {method.upper()} {target}")]
        return found.operation.validate_response(status, headers=headers, body=body, json=json, strict=strict)
