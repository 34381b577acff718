"""JSON Schema as the published specifications write it, checked with the `jsonschema` library.

One `SchemaSet` per document: its `$ref`s resolve inside it (a `referencing` registry under an address that is never
fetched), and a validator is compiled once per schema location and direction, then reused.

- Swagger 2.0 and OpenAPI 3.0 schemas are draft-4 with extensions: `x-nullable` / `nullable` become a `"null"` type
  when the document is read (`normalise`); OpenAPI 3.1 is 2020-12; plain schema documents say their own `$schema`.
- `required` spares a `readOnly` property in a request and a `writeOnly` one in an answer (OpenAPI's rule).
- `discriminator` with a `mapping` (Mirakl's inheritance through `allOf`) also checks the mapped schema when the
  instance names it; other annotations (xml, example, externalDocs) are ignored, as `jsonschema` ignores them.
- Formats checked: `date-time` (RFC 3339) and `date`; `int32` and `int64` become bounds (`normalise`). The specs' own formats ("with decimals",
  "datetime", "float") are names, not rules, and are left alone.
- Strict mode (`undeclared`) walks an instance beside its schema and reports every property no applicable schema
  declares — where the object lists its `properties` and says nothing of the rest, which JSON Schema lets through.
  A map (`additionalProperties: true` or a schema) or a free-form object (no `properties`) takes any key.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ponte.contract.problems import Problem, json_path, short

if TYPE_CHECKING:
    from ponte.contract.strict import Declarations

NOT_SCHEMAS = frozenset({"example", "examples", "x-example", "x-amzn-api-sandbox", "default", "enum", "const"})
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_INT_BITS = {"int32": 32, "int64": 64}
_active = threading.local()  # discriminator targets being checked, so inheritance through allOf does not loop


# -- reading a document --------------------------------------------------------------------------------------


def normalise(
    node: Any,
    *,
    nullable: str | None,
    optional_nullable: bool = False,
    read_only_phrase: str | None = None,
    dotted_required: bool = False,
) -> None:
    """Make an OpenAPI document's schemas plain JSON Schema, in place, before anything reads them.

    `nullable` names the keyword that allows null ("x-nullable" in Swagger 2.0, "nullable" in OpenAPI 3.0; None
    in 3.1): it becomes a "null" type. A `format` of int32 or int64 becomes the bounds it means, so that both
    validators enforce it (a format is only an annotation to one of them); an integer enum written as text becomes
    numbers (otherwise no value satisfies it). `optional_nullable` lets every property
    an object does not require be null, for a spec that never says nullable but whose API answers null (Mirakl).
    `read_only_phrase` marks readOnly a property whose description says the API ignores it in requests (Bling's
    "Ignorado no método POST" on an `id` it also lists as required). `dotted_required` reads a `required` that names
    a nested field by its path ("error.type", beside the nested object's own fields) as requiring the object, whose
    own schema says what it requires (Bling's ErrorResponse).

    OpenAPI spares a readOnly property from `required` in a request, and a writeOnly one in an answer: an object
    whose `required` names one keeps, instead, `x-required-request` and `x-required-response`, which each validator
    enforces in its own direction only.
    """
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        integer = kind == "integer" or (isinstance(kind, list) and "integer" in kind)
        bits = _INT_BITS.get(str(item.get("format"))) if integer else None
        if bits:
            item.setdefault("minimum", -(2 ** (bits - 1)))
            item.setdefault("maximum", 2 ** (bits - 1) - 1)
        if kind in ("integer", "number") and isinstance(item.get("enum"), list):
            item["enum"] = [_number(v) for v in item["enum"]]
        if nullable and item.get(nullable) is True:
            _allow_null(item)
        if read_only_phrase and read_only_phrase in str(item.get("description", "")):
            item.setdefault("readOnly", True)
        if dotted_required and isinstance(item.get("required"), list) and isinstance(item.get("properties"), dict):
            _undot_required(item)
        if optional_nullable and isinstance(item.get("properties"), dict):
            required: list[Any] = item["required"] if isinstance(item.get("required"), list) else []
            for name, prop in item["properties"].items():
                if name not in required and isinstance(prop, dict) and not _admits_null(prop):
                    _allow_null(prop)
        stack.extend(value for key, value in item.items() if key not in NOT_SCHEMAS)
    _split_required(node)


def _undot_required(item: dict[str, Any]) -> None:
    """{"required": ["error.type", "message"], "properties": {"error": …}} → {"required": ["error"], …}."""
    names = [str(n) for n in item["required"]]
    heads = {n.split(".", 1)[0] for n in names if "." in n}
    if not heads & set(item["properties"]):
        return
    kept = [n for n in names if "." not in n and n in item["properties"]]
    item["required"] = kept + sorted(h for h in heads if h in item["properties"] and h not in kept)


def _split_required(node: Any) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        stack.extend(value for key, value in item.items() if key not in NOT_SCHEMAS)
        required, properties = item.get("required"), item.get("properties")
        if not isinstance(required, list) or not isinstance(properties, dict):
            continue
        marked = {
            marker: {n for n in required if isinstance(properties.get(n), dict) and properties[n].get(marker) is True}
            for marker in ("readOnly", "writeOnly")
        }
        if marked["readOnly"] or marked["writeOnly"]:
            del item["required"]
            item["x-required-request"] = [n for n in required if n not in marked["readOnly"]]
            item["x-required-response"] = [n for n in required if n not in marked["writeOnly"]]


def _number(value: Any) -> Any:
    """An enum value of a numeric schema written as text (Bling: `type: integer, enum: ["0", "1", "2"]`, which
    nothing satisfies) read as the number it spells."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _admits_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind) or not schema


def _allow_null(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if "$ref" not in schema and isinstance(kind, str | list):
        schema["type"] = [*([kind] if isinstance(kind, str) else kind), "null"]
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return
    # A $ref (whose siblings draft 4 ignores) or a composition: either the schema, or null.
    original = {k: v for k, v in schema.items() if k not in ("x-nullable", "nullable")}
    schema.clear()
    schema["anyOf"] = [original, {"type": "null"}]


def pointer_get(document: Any, pointer: str) -> Any:
    """The node at a JSON pointer ("/components/schemas/X"; "" is the document)."""
    node = document
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def pointer_join(*tokens: str | int) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


# -- validators ----------------------------------------------------------------------------------------------


@cache
def validator_class(dialect: str, direction: str) -> Any:
    """A `jsonschema` validator class for "draft4" | "draft7" | "2019-09" | "2020-12" and "request" | "response" | ""."""
    import jsonschema

    base = {
        "draft4": jsonschema.Draft4Validator,
        "draft7": jsonschema.Draft7Validator,
        "2019-09": jsonschema.Draft201909Validator,
        "2020-12": jsonschema.Draft202012Validator,
    }[dialect]
    changes: dict[str, Any] = {
        "discriminator": _discriminator,
        "x-required-request": _required_by_direction(direction == "request"),
        "x-required-response": _required_by_direction(direction == "response"),
    }
    return jsonschema.validators.extend(base, changes)


def _required_by_direction(applies: bool) -> Any:
    """`x-required-request` / `x-required-response` (see `normalise`): `required`, in its direction only."""
    from jsonschema.exceptions import ValidationError

    def required(validator: Any, names: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
        if applies and validator.is_type(instance, "object") and isinstance(names, list):
            for name in names:
                if name not in instance:
                    yield ValidationError(f"{name!r} is a required property")

    return required


class _FastRequired:
    """The same two keywords for the fast verdict (jsonschema_rs calls it for each object that carries one)."""

    applies = True

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        self.names = value if isinstance(value, list) and self.applies else []

    def validate(self, instance: Any) -> None:
        if isinstance(instance, dict) and any(name not in instance for name in self.names):
            raise ValueError("a required property is missing")


class _FastNotRequired(_FastRequired):
    applies = False


def _discriminator(validator: Any, discriminator: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    if not isinstance(instance, dict) or not isinstance(discriminator, dict):
        return
    value = instance.get(discriminator.get("propertyName"))
    target = (discriminator.get("mapping") or {}).get(value) if isinstance(value, str) else None
    if not isinstance(target, str):
        return
    active: set[tuple[int, str]] = _active.__dict__.setdefault("seen", set())
    key = (id(instance), target)
    if key in active:  # the mapped schema inherits this one (allOf): it is being checked already
        return
    active.add(key)
    try:
        yield from validator.descend(instance, {"$ref": target})
    finally:
        active.discard(key)


@cache
def format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_date_time)
    checker.checks("date")(_is_date)
    return checker


def _is_date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return bool(_DATE.match(value)) and bool(date.fromisoformat(value))
    except ValueError:
        return False


class Checker:
    """Checks instances against one schema: `jsonschema_rs` gives the verdict, `jsonschema` the reasons.

    `jsonschema` (pure Python) costs some 20 µs per schema node it visits: 1.2 ms for one Mirakl offer, 24 ms for
    twenty. `jsonschema_rs` says valid or not in 60 µs for the twenty. So a valid instance is accepted on the fast
    verdict, and only an invalid one is read again by `jsonschema`, whose errors (and OpenAPI's rules above) are the
    problems reported. The fast verdict is never the more lenient one: its `required` ignores readOnly/writeOnly
    (stricter), and it sends any instance that names a discriminator's mapping to the full check.
    """

    def __init__(self, schemas: SchemaSet, schema: Any, reference: Any, direction: str) -> None:
        self.schemas = schemas
        self.schema = schema  # the schema node, as `jsonschema` reads it
        self.reference = reference  # the same schema as the Rust validator reads it (a $ref into the document)
        self.direction = direction
        self._fast: Any = None
        self._full: Any = None

    def problems(self, instance: Any, *, part: str, root: str) -> list[Problem]:
        if self._fast is None:
            self._fast = self.schemas.fast_validator(self.reference, self.direction) or False
        if self._fast is not False and self._fast.is_valid(instance):
            return []
        if self._full is None:
            cls = validator_class(self.schemas.dialect, self.direction)
            self._full = cls(self.reference, registry=self.schemas.registry, format_checker=format_checker())
        return [to_problem(error, part, root) for error in self._full.iter_errors(instance)]


class _Discriminated:
    """For the fast verdict: an object that names a discriminator's mapped schema goes to the full check."""

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        value = value if isinstance(value, dict) else {}
        self.name = value.get("propertyName")
        self.mapping = value.get("mapping") if isinstance(value.get("mapping"), dict) else {}

    def validate(self, instance: Any) -> None:
        if (
            isinstance(instance, dict)
            and isinstance(instance.get(self.name), str)
            and instance[self.name] in self.mapping
        ):
            raise ValueError("names a mapped schema: checked in full")


_RS_DRAFTS = {"draft4": 4, "draft7": 7, "2019-09": 19, "2020-12": 20}
_FAST_FORMATS: dict[str, Any] = {"date-time": _is_date_time, "date": _is_date}


class SchemaSet:
    """The schemas of one document, with checkers compiled on first use and kept."""

    def __init__(self, document: dict[str, Any], uri: str, dialect: str) -> None:
        from referencing import Registry, Resource
        from referencing.jsonschema import specification_with

        self.document = document
        self.uri = uri
        self.dialect = dialect
        draft = {
            "draft4": "http://json-schema.org/draft-04/schema#",
            "draft7": "http://json-schema.org/draft-07/schema#",
            "2019-09": "https://json-schema.org/draft/2019-09/schema",
            "2020-12": "https://json-schema.org/draft/2020-12/schema",
        }[dialect]
        resource: Any = Resource(contents=document, specification=specification_with(draft))  # type: ignore[call-arg]
        self.registry = Registry().with_resource(uri, resource)
        self._aliases = [uri]
        own_id = resource.id()
        if own_id and own_id != uri:
            self.registry = self.registry.with_resource(own_id, resource)
            self._aliases.append(own_id)
        self._checkers: dict[tuple[str, str], Checker] = {}
        self._fast_registry: Any = None
        self._lock = threading.Lock()

    def at(self, pointer: str) -> Any:
        return pointer_get(self.document, pointer)

    def resolve(self, node: Any) -> Any:
        """Follow `$ref`s inside this document until a node that is not one."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
            ref = node["$ref"]
            fragment = ref.split("#", 1)[1] if "#" in ref else ""
            node = pointer_get(self.document, fragment)
            seen += 1
        return node

    def absolute(self, schema: Any) -> Any:
        """A copy of a schema made outside the document, its local `$ref`s made absolute so that they resolve here."""
        if isinstance(schema, dict):
            return {
                k: (self.uri + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else self.absolute(v))
                for k, v in schema.items()
            }
        if isinstance(schema, list):
            return [self.absolute(v) for v in schema]
        return schema

    def checker(self, pointer: str, direction: str) -> Checker:
        """The checker of the schema at `pointer` ("" = the whole document, for a plain schema document)."""
        key = (pointer, direction)
        found = self._checkers.get(key)
        if found is None:
            found = Checker(self, self.at(pointer), {"$ref": f"{self.uri}#{quote(pointer, safe='/~')}"}, direction)
            self._checkers[key] = found
        return found

    def compile(self, schema: dict[str, Any], direction: str) -> Checker:
        """A checker of a schema made outside the document (its `$ref`s made absolute by `absolute`)."""
        return Checker(self, schema, schema, direction)

    def fast_validator(self, schema: Any, direction: str) -> Any:
        """A `jsonschema_rs` validator of a schema, or None where it is not installed or cannot read the schema."""
        try:
            import jsonschema_rs
        except ImportError:  # pragma: no cover - a dependency; without it every check takes the full path
            return None
        with self._lock:
            if self._fast_registry is None:
                draft = _RS_DRAFTS[self.dialect]
                self._fast_registry = jsonschema_rs.Registry([(a, self.document) for a in self._aliases], draft=draft)
        try:
            cls = {
                "draft4": jsonschema_rs.Draft4Validator,
                "draft7": jsonschema_rs.Draft7Validator,
                "2019-09": jsonschema_rs.Draft201909Validator,
                "2020-12": jsonschema_rs.Draft202012Validator,
            }[self.dialect]
            return cls(
                schema,
                registry=self._fast_registry,
                keywords={
                    "discriminator": _Discriminated,
                    "x-required-request": _FastRequired if direction == "request" else _FastNotRequired,
                    "x-required-response": _FastRequired if direction == "response" else _FastNotRequired,
                },
                formats=_FAST_FORMATS,
                validate_formats=True,
            )
        except Exception:  # a schema it cannot compile (a regex it does not take): the full check judges alone
            return None

    def check(
        self, checker: Checker, instance: Any, *, part: str, root: str, strict: bool, schema: Any = None
    ) -> list[Problem]:
        """Problems of `instance` by `checker`, and with `strict`, each property no schema there declares."""
        problems = checker.problems(instance, part=part, root=root)
        if strict:
            for where, name, known in self.declarations.undeclared(
                instance, checker.schema if schema is None else schema
            ):
                problems.append(Problem(part, json_path(where, root), undeclared_message(name, known), strict=True))
        return unique(problems)

    @cached_property
    def declarations(self) -> Declarations:
        from ponte.contract.strict import Declarations

        return Declarations(self)


# -- problems ------------------------------------------------------------------------------------------------


def to_problem(error: Any, part: str, root: str) -> Problem:
    """A `jsonschema` error as a Problem; a failed anyOf/oneOf says which branch came closest and why."""
    from jsonschema.exceptions import best_match

    while error.context and error.validator in ("anyOf", "oneOf"):
        # "it is not null" says nothing useful about a nullable value that is wrong: read the other branch's reasons
        null = {i for i, b in enumerate(error.validator_value) if b == {"type": "null"}}
        context = [e for e in error.context if not e.relative_schema_path or e.relative_schema_path[0] not in null]
        error = best_match(context or error.context)
    return Problem(part, json_path(error.absolute_path, root), message(error))


def message(error: Any) -> str:
    keyword = error.validator
    if keyword == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{short(error.instance)} is not of type {expected}"
    if keyword == "enum":
        return f"{short(error.instance)} is not one of {short(error.validator_value, 200)}"
    if keyword == "const":
        return f"{short(error.instance)} is not {short(error.validator_value)}"
    if keyword == "format":
        return f"{short(error.instance)} is not a valid {error.validator_value}"
    text: str = error.message
    return text if len(text) <= 300 else text[:299] + "…"


def undeclared_message(name: str, known: Sequence[str]) -> str:
    text = f"{name!r} is not a field the specification declares here"
    lowered = name.lower()
    close = (
        difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        or [k for k in known if len(lowered) >= 3 and (lowered in k.lower() or k.lower() in lowered)][:1]
    )
    if close:
        return f"{text} (did you mean {close[0]!r}?)"
    if known and len(known) <= 12:
        return f"{text} (it declares {', '.join(known)})"
    return text


def unique(problems: list[Problem]) -> list[Problem]:
    """Without repeats (a schema reached twice, through inheritance, reports its fault twice)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for problem in problems:
        key = (problem.part, problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out
