"""Reading what travels in a request: parameters in their spec's style, and bodies by their media type.

Query, path and header values arrive as text; a parameter's schema says how to read them before they are checked:
arrays split in the spec's style (Swagger's `collectionFormat`: Amazon's comma-separated `marketplaceIds`; OpenAPI's
`style`/`explode`: Bling's repeated `codigos[]=`), then integers, numbers and booleans read from their text. A value
that does not read as its type stays text, and the schema then says why it is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import orjson

from ponte.contract.problems import UNSET, Problem
from ponte.contract.schemas import Checker, SchemaSet

_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")
_DELIMITERS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|", "multi": None}
_STYLE_DELIMITERS = {"form": ",", "simple": ",", "spaceDelimited": " ", "pipeDelimited": "|"}
_SCHEMA_KEYS = frozenset(
    [
        "type",
        "format",
        "items",
        "enum",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
    ]
)
# OpenAPI 3: "If in is header and the name is Accept, Content-Type or Authorization, the definition SHALL be ignored."
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})


@dataclass
class Param:
    """A declared parameter, with how to read it and the schema to check it against."""

    name: str
    location: str  # "path" | "query" | "header"
    required: bool
    schema: Any  # a node of the document, or a schema made for a Swagger parameter
    pointer: str | None  # where the schema is in the document (None: made here, see `schema`)
    kind: str | None = None
    item_kind: str | None = None
    delimiter: str | None = ","  # how an array's items are joined in one value; None: one value per item
    listed: bool = False  # a "comma-separated list" the spec types as one string: each item is checked by the schema
    _checker: Checker | None = field(default=None, repr=False)

    def checker(self, schemas: SchemaSet) -> Checker:
        if self._checker is None:
            if self.pointer is not None:
                self._checker = schemas.checker(self.pointer, "request")
            else:
                self._checker = schemas.compile(self.schema, "request")
        return self._checker

    def decode(self, raws: list[str]) -> tuple[Any, str | None]:
        """The typed value of the texts given for this parameter, and what is wrong with their number, if anything."""
        if self.kind == "array":
            if self.delimiter is None:
                parts = raws
            else:
                parts = [p for raw in raws if raw != "" for p in raw.split(self.delimiter)]
            return [coerce(p, self.item_kind) for p in parts], None
        extra = f"given {len(raws)} times; it takes one value" if len(raws) > 1 else None
        if self.listed:
            return [coerce(p, self.kind) for p in raws[0].split(",")], extra
        return coerce(raws[0], self.kind), extra


def swagger_param(schemas: SchemaSet, raw: dict[str, Any]) -> Param:
    """A Swagger 2.0 parameter: its schema is in the parameter itself, arrays joined by `collectionFormat`."""
    schema = {k: v for k, v in raw.items() if k in _SCHEMA_KEYS}
    if schema.get("type") == "file":
        schema = {}
    item = raw.get("items") if isinstance(raw.get("items"), dict) else {}
    return Param(
        name=raw["name"],
        location=raw["in"],
        required=bool(raw.get("required")) or raw["in"] == "path",
        schema=schemas.absolute(schema),
        pointer=None,
        kind=first_type(schema),
        item_kind=first_type(schemas.resolve(item)),
        delimiter=_DELIMITERS.get(raw.get("collectionFormat", "csv"), ","),
    )


def openapi_param(schemas: SchemaSet, raw: dict[str, Any], pointer: str) -> Param:
    """An OpenAPI 3 parameter: a schema, and `style`/`explode` for how arrays travel (form + explode: repeated)."""
    location = raw["in"]
    style = raw.get("style") or ("form" if location in ("query", "cookie") else "simple")
    explode = raw.get("explode", style == "form")
    has_schema = isinstance(raw.get("schema"), dict)
    resolved = schemas.resolve(raw["schema"]) if has_schema else {}
    item = schemas.resolve(resolved.get("items")) if isinstance(resolved, dict) else None
    return Param(
        name=raw["name"],
        location=location,
        required=bool(raw.get("required")) or location == "path",
        schema=raw.get("schema") if has_schema else {},
        pointer=pointer + "/schema" if has_schema else None,
        kind=first_type(resolved),
        item_kind=first_type(item),
        delimiter=None if (style == "form" and explode) else _STYLE_DELIMITERS.get(style, ","),
        # Mirakl types its lists as one string ("order_state_codes": string with the enum of one state) and says
        # "A comma-separated list of …" in the description: each item must be one of them, not the whole text.
        listed=first_type(resolved) == "string" and "comma-separated list" in str(raw.get("description", "")).lower(),
    )


def first_type(schema: Any) -> str | None:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def coerce(raw: str, kind: str | None) -> Any:
    """Text read as the type the schema asks for; left as text when it does not read as one."""
    if kind == "integer" and _INT.match(raw):
        return int(raw)
    if kind == "number" and _FLOAT.match(raw):
        return int(raw) if _INT.match(raw) else float(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def ignored_header(param: Param) -> bool:
    return param.location == "header" and param.name.lower() in _IGNORED_HEADERS


# -- bodies --------------------------------------------------------------------------------------------------


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def accepted(media: str, declared: tuple[str, ...]) -> str | None:
    """The declared media type that `media` satisfies (exact, `type/*` or `*/*`), if any."""
    for candidate in declared:
        if candidate == media or candidate == "*/*" or (candidate.endswith("/*") and media.startswith(candidate[:-1])):
            return candidate
    return None


@dataclass
class Part:
    """One field of a form: its text, and its file name when it came as a file."""

    text: str
    filename: str | None = None
    size: int = 0


def parse_json(data: bytes) -> tuple[Any, list[Problem]]:
    try:
        return orjson.loads(data), []
    except orjson.JSONDecodeError as error:
        return UNSET, [Problem("body", "$", f"not valid JSON: {error}")]


def parse_urlencoded(data: bytes) -> dict[str, list[Part]]:
    fields: dict[str, list[Part]] = {}
    for name, value in parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, []).append(Part(value))
    return fields


def parse_multipart(data: bytes, content_type: str) -> tuple[dict[str, list[Part]], list[Problem]]:
    """The parts of a multipart/form-data body by name (the stdlib's MIME parser reads it; nothing is written)."""
    if "boundary=" not in content_type:
        return {}, [Problem("header", "content-type", "multipart/form-data without a boundary")]
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + data
    )
    if not message.is_multipart():
        return {}, [Problem("body", "$", "not a multipart/form-data body")]
    fields: dict[str, list[Part]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            return {}, [Problem("body", "$", "a part without a name in its Content-Disposition")]
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        fields.setdefault(name, []).append(Part(raw.decode("utf-8", "replace"), part.get_filename(), len(raw)))
    return fields, []


def form_instance(
    schemas: SchemaSet, schema: Any, fields: dict[str, list[Part]]
) -> tuple[dict[str, Any], list[Problem]]:
    """A form's fields as the JSON object its schema describes: typed values, arrays from repeated fields, files."""
    declared: dict[str, Any] = {}
    for node in schemas.declarations.expand(schema):
        for name, sub in (node.get("properties") or {}).items():
            declared.setdefault(name, schemas.resolve(sub))
    instance: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, parts in fields.items():
        found = declared.get(name)
        prop: dict[str, Any] = found if isinstance(found, dict) else {}
        kind = first_type(prop)
        is_file = prop.get("format") in ("binary", "base64") or prop.get("x-ponte-file") is True
        if is_file and any(p.filename is None for p in parts):
            problems.append(Problem("body", name, "must be sent as a file part (with a filename)"))
        if is_file:
            values: list[Any] = [f"<file {p.filename}, {p.size} bytes>" for p in parts]
        elif kind in ("object", "array") and not (kind == "array" and len(parts) > 1):
            values = []
            for p in parts:
                value, bad = parse_json(p.text.encode())
                problems += [Problem("body", name, f"not valid JSON: {b.message}") for b in bad]
                values.append(value)
        else:
            items = schemas.resolve(prop.get("items")) if kind == "array" else None
            values = [coerce(p.text, first_type(items) if kind == "array" else kind) for p in parts]
        if kind == "array" and len(parts) > 1:
            instance[name] = values
        else:
            if len(values) > 1:
                problems.append(Problem("body", name, f"given {len(values)} times; it takes one value"))
            instance[name] = values[0]
    return instance, problems


def swagger_form_schema(schemas: SchemaSet, params: list[dict[str, Any]]) -> dict[str, Any]:
    """Swagger 2.0 `formData` parameters as one object schema (a `type: file` field takes a file part)."""
    properties: dict[str, Any] = {}
    for raw in params:
        prop = {k: v for k, v in raw.items() if k in _SCHEMA_KEYS}
        if prop.get("type") == "file":
            prop = {"x-ponte-file": True}
        properties[raw["name"]] = schemas.absolute(prop)
    required = [raw["name"] for raw in params if raw.get("required")]
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}
