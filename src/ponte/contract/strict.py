"""Strict mode: every property of an instance that no applicable schema declares.

JSON Schema lets an undeclared property through unless the schema says `additionalProperties: false`, and most
published schemas do not say it; the real APIs then ignore the field (or refuse it). Either way a connector that
renamed `price` to `preco` would pass a plain check, so the contract tests walk the instance beside its schema:

- the schemas that apply at a place are the schema with its `$ref`s followed and every branch of its allOf / anyOf /
  oneOf (a union: a name declared in any branch is declared), plus a discriminator's mapped schema (the one the
  instance names, or all of them);
- a property is undeclared where those schemas list `properties` and none of them declares the name, matches it by
  `patternProperties`, or takes any key (`additionalProperties: true` or a schema: a map, whose keys are data);
- an object schema without `properties` is free-form (Amazon's `attributes`) and takes any key;
- `additionalProperties: false` is left to the schema check, which reports it already.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ponte.contract.schemas import SchemaSet

_COMPOSITION = ("allOf", "anyOf", "oneOf", "then", "else")
_SIBLINGS = frozenset(
    {"properties", "patternProperties", "additionalProperties", "items", "prefixItems", *_COMPOSITION}
)

Where = list[str | int]


@dataclass(frozen=True)
class _Rules:
    """What the schemas at one place declare, worked out once per set of schemas."""

    properties: dict[str, tuple[Any, ...]]
    patterns: tuple[tuple[re.Pattern[str], Any], ...]
    extra: tuple[Any, ...]  # schemas of a map's values
    takes_any: bool
    refuses_rest: bool
    items: tuple[Any, ...]
    positional: tuple[tuple[Any, ...], ...]
    discriminators: tuple[dict[str, Any], ...]


class Declarations:
    """The strict walk over one document's schemas (a `SchemaSet`), with what it learns kept by schema."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas
        self._expanded: dict[int, tuple[dict[str, Any], ...]] = {}
        self._rules: dict[tuple[int, ...], _Rules] = {}

    def undeclared(self, instance: Any, schema: Any) -> Iterator[tuple[Where, str, Sequence[str]]]:
        """(path of the object, property, the names declared there) for each undeclared property."""
        stack: list[tuple[Any, tuple[Any, ...], Where]] = [(instance, (schema,), [])]
        while stack:
            value, schemas, where = stack.pop()
            rules = self._rules_of(schemas)
            if rules.discriminators and isinstance(value, dict):
                rules = self._rules_of(schemas + self._discriminated(rules.discriminators, value))
            if isinstance(value, dict):
                yield from self._object(value, rules, where, stack)
            else:
                for index, item in enumerate(value):
                    subs = rules.positional[index] if index < len(rules.positional) else rules.items
                    if subs and isinstance(item, dict | list):
                        stack.append((item, subs, [*where, index]))

    def _object(
        self, value: dict[str, Any], rules: _Rules, where: Where, stack: list[tuple[Any, tuple[Any, ...], Where]]
    ) -> Iterator[tuple[Where, str, Sequence[str]]]:
        for key, item in value.items():
            subs = rules.properties.get(key)
            if subs is not None:
                if subs and isinstance(item, dict | list):
                    stack.append((item, subs, [*where, key]))
                continue
            subs = ()
            if rules.patterns:
                subs += tuple(s for pattern, s in rules.patterns if pattern.search(key))
            subs = subs or rules.extra
            if not subs and not rules.takes_any and not rules.refuses_rest:
                yield where, key, sorted(rules.properties)
            elif subs and isinstance(item, dict | list):  # a scalar has no properties to look into
                stack.append((item, subs, [*where, key]))

    def _discriminated(self, nodes: tuple[dict[str, Any], ...], value: dict[str, Any]) -> tuple[Any, ...]:
        """A discriminator's mapped schemas: the one the instance names, or all (a property of any is declared)."""
        out: list[Any] = []
        for discriminator in nodes:
            mapping = discriminator.get("mapping") or {}
            chosen = mapping.get(value.get(str(discriminator.get("propertyName"))))
            targets = [chosen] if isinstance(chosen, str) else [t for t in mapping.values() if isinstance(t, str)]
            out += [self.schemas.resolve({"$ref": target}) for target in targets]
        return tuple(out)

    def _rules_of(self, schemas: tuple[Any, ...]) -> _Rules:
        key = tuple(id(s) for s in schemas)
        found = self._rules.get(key)
        if found is None:
            found = self._work_out(tuple(n for s in schemas for n in self.expand(s)))
            self._rules[key] = found
        return found

    def _work_out(self, nodes: tuple[dict[str, Any], ...]) -> _Rules:
        properties: dict[str, tuple[Any, ...]] = {}
        patterns: list[tuple[re.Pattern[str], Any]] = []
        extra: list[Any] = []
        items: list[Any] = []
        positional: list[list[Any]] = []
        discriminators: list[dict[str, Any]] = []
        takes_any, refuses_rest, declares = False, False, False
        for node in nodes:
            for name, sub in (node.get("properties") or {}).items():
                properties[name] = (*properties.get(name, ()), sub)
            for keyword in ("required", "x-required-request", "x-required-response"):
                names = node.get(keyword)
                for name in names if isinstance(names, list) else ():
                    properties.setdefault(name, ())  # a name it requires is declared, even without a schema
            patterns += [(re.compile(p), s) for p, s in (node.get("patternProperties") or {}).items()]
            declares = declares or "properties" in node or "patternProperties" in node
            for keyword in ("additionalProperties", "unevaluatedProperties"):
                rest = node.get(keyword)
                refuses_rest = refuses_rest or rest is False
                takes_any = takes_any or rest is True or isinstance(rest, dict)
                if isinstance(rest, dict) and rest:
                    extra.append(rest)
            tuple_items = node.get("prefixItems") or (node["items"] if isinstance(node.get("items"), list) else [])
            for index, sub in enumerate(tuple_items):
                positional += [[] for _ in range(index + 1 - len(positional))]
                positional[index].append(sub)
            if isinstance(node.get("items"), dict):
                items.append(node["items"])
            if isinstance(node.get("discriminator"), dict) and node["discriminator"].get("mapping"):
                discriminators.append(node["discriminator"])
        return _Rules(
            properties=properties,
            patterns=tuple(patterns),
            extra=tuple(extra),
            takes_any=takes_any or not declares,
            refuses_rest=refuses_rest,
            items=tuple(items),
            positional=tuple(tuple(p) for p in positional),
            discriminators=tuple(discriminators),
        )

    def expand(self, schema: Any) -> tuple[dict[str, Any], ...]:
        """A schema with its `$ref`s followed and its compositions flattened (every branch).

        Only nodes of the document (or kept beside it) come here: the result is kept by the node's identity.
        """
        if not isinstance(schema, dict):
            return ()
        found = self._expanded.get(id(schema))
        if found is not None:
            return found
        out: list[dict[str, Any]] = []
        seen: set[int] = set()
        todo = [schema]
        while todo:
            node = todo.pop()
            if not isinstance(node, dict) or id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node.get("$ref"), str):
                todo.append(self.schemas.resolve({"$ref": node["$ref"]}))
                if self.schemas.dialect in ("draft4", "draft7") or not _SIBLINGS.intersection(node):
                    continue  # before 2019-09 a $ref's siblings are ignored
            out.append(node)
            for keyword in _COMPOSITION:
                branches = node.get(keyword)
                todo += branches if isinstance(branches, list) else [branches] if isinstance(branches, dict) else []
        result = tuple(out)
        self._expanded[id(schema)] = result
        return result
