"""One operation of a specification: what it takes, what it answers, and the examples it gives.

Everything is read from the document on first use and kept: parameters, the body's schemas by media type, the
answers by status, and their validators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from ponte.contract.messages import (
    Param,
    accepted,
    form_instance,
    ignored_header,
    is_json,
    openapi_param,
    parse_json,
    parse_multipart,
    parse_urlencoded,
    swagger_form_schema,
    swagger_param,
)
from ponte.contract.problems import UNSET, HttpRequest, Problem, media_type
from ponte.contract.schemas import Checker, SchemaSet, pointer_join, undeclared_message, unique

if TYPE_CHECKING:
    from ponte.contract.spec import ApiSpec


@dataclass(frozen=True)
class Example:
    """An example the specification gives: a request body or an answer's body.

    `status` is the answer's status; for a request body, the status of the answer it is paired with (Amazon's sandbox
    pairs a bad request with its 400), or None where the spec pairs it with nothing.

    `source` says where it came from: "examples" (Swagger), "example", "examples/<name>" (OpenAPI),
    "x-amzn-api-sandbox/static" (Amazon's sandbox, whose `parameters` say which request it answers), "schema example",
    or "synthesized" (built from the schema's property examples where the spec gives none).
    """

    value: Any
    status: str | None
    media_type: str
    source: str
    parameters: Mapping[str, Any] | None = None


@dataclass
class _Content:
    """A body as declared: media type → (schema node or None, its JSON pointer in the document or None)."""

    media: dict[str, tuple[Any, str | None]]
    required: bool = False
    node: dict[str, Any] = field(default_factory=dict)
    pointer: str = ""
    checkers: dict[str, Checker] = field(default_factory=dict)

    def checker(self, schemas: SchemaSet, media: str, direction: str) -> Checker:
        if media not in self.checkers:
            schema, pointer = self.media[media]
            compiled = schemas.checker(pointer, direction) if pointer else schemas.compile(schema, direction)
            self.checkers[media] = compiled
        return self.checkers[media]


class Operation:
    """`METHOD /template` of a spec, e.g. `PUT /listings/2021-08-01/items/{sellerId}/{sku}` (putListingsItem)."""

    def __init__(self, spec: ApiSpec, schemas: SchemaSet, method: str, template: str, item_pointer: str) -> None:
        self.spec = spec
        self.schemas = schemas
        self.method = method.upper()
        self.template = template
        self._item_pointer = item_pointer
        self.pointer = item_pointer + "/" + method.lower()
        self.node: dict[str, Any] = schemas.at(self.pointer)
        self.operation_id: str | None = self.node.get("operationId")

    def __repr__(self) -> str:
        return f"<Operation {self.name}: {self.method} {self.template}>"

    @property
    def name(self) -> str:
        """The operationId (e.g. "putListingsItem", "OF24"), or "METHOD /template" where the spec gives none."""
        return self.operation_id or f"{self.method} {self.template}"

    # -- what it takes -----------------------------------------------------------------------------------------

    @cached_property
    def _raw_params(self) -> list[tuple[dict[str, Any], str]]:
        """(parameter, pointer) of the path item's and then the operation's own, the latter winning by (name, in)."""
        found: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for base in (self._item_pointer, self.pointer):
            for index, raw in enumerate(self.schemas.at(base).get("parameters") or []):
                pointer = f"{base}/parameters/{index}"
                if isinstance(raw.get("$ref"), str):
                    pointer = raw["$ref"].split("#", 1)[1]
                    raw = self.schemas.resolve(raw)
                found[(raw["name"], raw["in"])] = (raw, pointer)
        return list(found.values())

    @cached_property
    def params(self) -> list[Param]:
        """Path, query and header parameters (Swagger's body and formData are the body)."""
        out = []
        for raw, pointer in self._raw_params:
            if raw["in"] not in ("path", "query", "header"):
                continue
            param = swagger_param(self.schemas, raw) if self.spec.swagger else openapi_param(self.schemas, raw, pointer)
            if not ignored_header(param):
                out.append(param)
        return out

    @cached_property
    def body(self) -> _Content | None:
        """The request body as declared, or None when the operation takes none."""
        if not self.spec.swagger:
            node = self.node.get("requestBody")
            if not isinstance(node, dict):
                return None
            pointer = node["$ref"].split("#", 1)[1] if "$ref" in node else self.pointer + "/requestBody"
            return self._content(self.schemas.resolve(node), pointer, bool(self.schemas.resolve(node).get("required")))
        consumes = tuple(media_type(m) for m in self.node.get("consumes") or self.spec.consumes or ())
        for raw, pointer in self._raw_params:
            if raw["in"] == "body":
                media = consumes or ("application/json",)
                return _Content({m: (raw.get("schema"), pointer + "/schema") for m in media}, bool(raw.get("required")))
        form = [raw for raw, _ in self._raw_params if raw["in"] == "formData"]
        if not form:
            return None
        schema = swagger_form_schema(self.schemas, form)
        media = consumes or ("application/x-www-form-urlencoded", "multipart/form-data")
        return _Content({m: (schema, None) for m in media}, any(raw.get("required") for raw in form))

    def _content(self, node: dict[str, Any], pointer: str, required: bool) -> _Content:
        media: dict[str, tuple[Any, str | None]] = {}
        for name, entry in (node.get("content") or {}).items():
            has_schema = isinstance(entry, dict) and isinstance(entry.get("schema"), dict)
            where = pointer_join("content", name, "schema")
            media[media_type(name)] = (entry.get("schema"), pointer + where) if has_schema else (None, None)
        return _Content(media, required, node, pointer)

    def request_schema(self, media: str = "application/json") -> Any:
        """The body's schema for a media type (a node of the document, `$ref`s unresolved), or None."""
        return self.body.media.get(media, (None, None))[0] if self.body else None

    def validate_request(
        self, request: HttpRequest, path_values: Mapping[str, str] | None = None, *, strict: bool = False
    ) -> list[Problem]:
        """Problems of a request to this operation (`path_values`: the raw texts its path template matched)."""
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(request.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        path = {name: [unquote(value)] for name, value in (path_values or {}).items()}
        headers = {name.lower(): [value] for name, value in request.headers.items()}
        problems = self._check_params("path", path, strict=False)
        problems += self._check_params("query", query, strict=strict)
        problems += self._check_params("header", headers, strict=False)  # clients add headers of their own
        problems += self._check_body(request, strict)
        return unique(problems)

    def _check_params(self, location: str, given: dict[str, list[str]], *, strict: bool) -> list[Problem]:
        problems: list[Problem] = []
        declared = [p for p in self.params if p.location == location]
        for param in declared:
            raws = given.get(param.name.lower() if location == "header" else param.name)
            if raws is None:
                if param.required:
                    problems.append(Problem(location, param.name, f"the required {location} parameter is missing"))
                continue
            value, extra = param.decode(raws)
            if extra:
                problems.append(Problem(location, param.name, extra))
            checker = param.checker(self.schemas)
            if param.listed:
                for index, item in enumerate(value):
                    problems += checker.problems(item, part=location, root=f"{param.name}[{index}]")
            else:
                problems += checker.problems(value, part=location, root=param.name)
        if strict:
            names = [p.name for p in declared]
            for name in given:
                if name not in names:
                    text = undeclared_message(name, names).replace("a field", "a parameter")
                    problems.append(Problem(location, name, text, strict=True))
        return problems

    def _check_body(self, request: HttpRequest, strict: bool) -> list[Problem]:
        body = self.body
        if not request.body:
            if body is not None and body.required:
                return [Problem("body", "$", f"a body is required ({', '.join(body.media)})")]
            return []
        if body is None:
            return [Problem("body", "$", "this operation takes no body", strict=True)] if strict else []
        media = accepted(request.content_type, tuple(body.media))
        if media is None:
            given = request.content_type or "a body without a Content-Type"
            return [Problem("header", "content-type", f"{given} is not accepted; it takes {', '.join(body.media)}")]
        schema, _ = body.media[media]
        if schema is None:
            return []
        instance, problems = self._read_body(request, schema)
        if instance is UNSET:  # not JSON, not a form: nothing to check further
            return problems
        checker = body.checker(self.schemas, media, "request")
        return unique(problems + self.schemas.check(checker, instance, part="body", root="$", strict=strict))

    def _read_body(self, request: HttpRequest, schema: Any) -> tuple[Any, list[Problem]]:
        kind = request.content_type
        if kind == "multipart/form-data":
            fields, problems = parse_multipart(request.body, request.headers.get("content-type", ""))
            if problems:
                return UNSET, problems
            return form_instance(self.schemas, schema, fields)
        if kind == "application/x-www-form-urlencoded":
            return form_instance(self.schemas, schema, parse_urlencoded(request.body))
        if kind and "json" not in kind:  # XML, plain text: a document of its own, which a JSON schema cannot read
            return UNSET, []
        return parse_json(request.body)

    def validate_body(self, instance: Any, *, media: str = "application/json", strict: bool = False) -> list[Problem]:
        """Problems of an already parsed request body (e.g. a dict a connector is about to send)."""
        if self.body is None or self.body.media.get(media, (None, None))[0] is None:
            return [Problem("body", "$", f"this operation takes no {media} body")]
        checker = self.body.checker(self.schemas, media, "request")
        return self.schemas.check(checker, instance, part="body", root="$", strict=strict)

    # -- what it answers ---------------------------------------------------------------------------------------

    @cached_property
    def answers(self) -> dict[str, _Content]:
        """The documented answers by status ("200", "4XX", "default"), each with its schema by media type."""
        out: dict[str, _Content] = {}
        base = self.pointer + "/responses"
        for status, node in (self.node.get("responses") or {}).items():
            pointer = node["$ref"].split("#", 1)[1] if "$ref" in node else f"{base}/{status}"
            node = self.schemas.resolve(node)
            if not isinstance(node, dict):
                continue
            if self.spec.swagger:
                has_schema = isinstance(node.get("schema"), dict)
                media = {"application/json": (node["schema"], pointer + "/schema")} if has_schema else {}
                out[str(status).upper()] = _Content(media, False, node, pointer)
            else:
                out[str(status).upper()] = self._content(node, pointer, False)
        return out

    def answer(self, status: int | str) -> _Content | None:
        status = str(status)
        return self.answers.get(status) or self.answers.get(status[:1] + "XX") or self.answers.get("DEFAULT")

    def response_schema(self, status: int | str, media: str = "application/json") -> Any:
        found = self.answer(status)
        return found.media.get(media, (None, None))[0] if found else None

    def validate_response(
        self,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        json: Any = UNSET,
        strict: bool = False,
    ) -> list[Problem]:
        """Problems of an answer: an undocumented success status, or a body that departs from its schema."""
        declared = self.answer(status)
        if declared is None:
            if 200 <= status < 300:
                listed = ", ".join(self.answers) or "none"
                return [Problem("response", "status", f"{status} is not an answer this operation documents ({listed})")]
            return []  # an error the spec does not list (a 429, a 503) is not the spec's to judge
        kinds = {k.lower(): v for k, v in (headers or {}).items()}
        media = media_type(kinds.get("content-type", "")) or "application/json"
        schemas = {m: s for m, s in declared.media.items() if s[0] is not None}
        if not schemas:
            return []
        if json is UNSET and not body:
            return [Problem("response", "$", f"a body is expected ({', '.join(schemas)})")]
        chosen = accepted(media, tuple(schemas))
        if chosen is None:
            return [Problem("response", "content-type", f"{media} is not what it answers ({', '.join(schemas)})")]
        if not is_json(chosen) and chosen != "*/*":
            return []
        instance, problems = (json, []) if json is not UNSET else parse_json(body or b"")
        if problems:
            return [Problem("response", p.path, p.message) for p in problems]
        checker = declared.checker(self.schemas, chosen, "response")
        return self.schemas.check(checker, instance, part="response", root="$", strict=strict)

    # -- examples ------------------------------------------------------------------------------------------------

    def response_examples(self, status: int | str | None = None) -> list[Example]:
        """The examples the spec gives of this operation's answers (of one status, or all)."""
        out: list[Example] = []
        for code, declared in self.answers.items():
            if status is None or code == str(status).upper():
                out += self._examples_of(declared, code)
        return out

    def request_examples(self) -> list[Example]:
        """The examples the spec gives of this operation's request body."""
        if self.body is None:
            return []
        if not self.spec.swagger:
            return self._examples_of(self.body, None)
        name = next((raw["name"] for raw, _ in self._raw_params if raw["in"] == "body"), None)
        out: list[Example] = []
        for status, declared in self.answers.items():
            for kind in ("static", "dynamic"):
                for entry in (declared.node.get("x-amzn-api-sandbox") or {}).get(kind) or []:
                    given = ((entry.get("request") or {}).get("parameters") or {}).get(name)
                    if isinstance(given, dict) and "value" in given:
                        out.append(Example(given["value"], status, "application/json", f"x-amzn-api-sandbox/{kind}"))
        return out

    def _examples_of(self, declared: _Content, status: str | None) -> list[Example]:
        node = declared.node
        out: list[Example] = []
        if self.spec.swagger:
            for media, value in (node.get("examples") or {}).items():
                out.append(Example(value, status, media, "examples"))
            for kind in ("static", "dynamic"):
                for entry in (node.get("x-amzn-api-sandbox") or {}).get(kind) or []:
                    given = (entry.get("request") or {}).get("parameters") or {}
                    values = {k: v["value"] for k, v in given.items() if isinstance(v, dict) and "value" in v}
                    if "response" in entry:
                        source = f"x-amzn-api-sandbox/{kind}"
                        out.append(Example(entry["response"], status, "application/json", source, values))
            return out
        for media, entry in (node.get("content") or {}).items():
            if "example" in entry:
                out.append(Example(entry["example"], status, media, "example"))
            for name, item in (entry.get("examples") or {}).items():
                item = self.schemas.resolve(item)
                if isinstance(item, dict) and "value" in item:
                    out.append(Example(item["value"], status, media, f"examples/{name}"))
            schema = self.schemas.resolve(entry.get("schema"))
            if not out and isinstance(schema, dict) and "example" in schema:
                out.append(Example(schema["example"], status, media, "schema example"))
        return out

    def example_response(
        self, status: int | str | None = None, *, parameters: Mapping[str, Any] | None = None
    ) -> Example | None:
        """An example answer to give back: of `status` (default: the first documented success), the Amazon sandbox
        example whose request parameters best match `parameters`; the first that its schema takes (else the first
        given); where the spec gives none, one built from the schema's own property examples."""
        if status is None:
            status = next((s for s in self.answers if s.startswith("2")), None)
            if status is None:
                return None
        examples = self.response_examples(status)
        if parameters is not None:  # the examples no given parameter contradicts, those agreeing most first
            given = parameters

            def agreeing(e: Example) -> int:
                mine = e.parameters or {}
                if any(k in given and given[k] != v for k, v in mine.items()):
                    return -1
                return sum(1 for k in mine if k in given)

            examples = sorted((e for e in examples if agreeing(e) >= 0), key=agreeing, reverse=True) or examples
        for example in examples:  # one that its own schema takes, where the spec's examples disagree with it
            code = int(example.status) if example.status and example.status.isdigit() else 200
            if not self.validate_response(code, json=example.value):
                return example
        if examples:
            return examples[0]
        schema = self.response_schema(status)
        if schema is None:
            return None
        return Example(synthesize(self.schemas, schema), str(status), "application/json", "synthesized")


def synthesize(schemas: SchemaSet, schema: Any, depth: int = 0) -> Any:
    """A value in a schema's shape, from its own `example`s, defaults and enums where it gives them."""
    node = schemas.resolve(schema)
    if not isinstance(node, dict) or depth > 12:
        return None
    for key in ("example", "default"):
        if key in node:
            return node[key]
    if isinstance(node.get("examples"), list) and node["examples"]:
        return node["examples"][0]
    if node.get("enum"):
        return next((v for v in node["enum"] if v is not None), None)
    if "const" in node:
        return node["const"]
    for key in ("oneOf", "anyOf"):
        if node.get(key):
            return synthesize(schemas, node[key][0], depth + 1)
    kind = node.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if node.get("allOf") or node.get("properties") or kind == "object":
        value: dict[str, Any] = {}
        for part in node.get("allOf") or []:
            merged = synthesize(schemas, part, depth + 1)
            value.update(merged if isinstance(merged, dict) else {})
        for name, sub in (node.get("properties") or {}).items():
            value[name] = synthesize(schemas, sub, depth + 1)
        return value
    if kind == "array":
        return [synthesize(schemas, node.get("items"), depth + 1)] if isinstance(node.get("items"), dict) else []
    placeholders = {"integer": 0, "number": 0, "boolean": False, "null": None}
    if kind in placeholders:
        return placeholders[kind]
    return {"date-time": "2026-01-01T00:00:00Z", "date": "2026-01-01"}.get(str(node.get("format")), "string")
