"""Ponte's own words as data: a catalog key and its parameters, so that each reader reads them in their language.

A marketplace's message is kept verbatim and is never a `Message`. A parameter is text, a number, another
`Message` (rendered in the same language) or a list of them (joined with "; ").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Message:
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The message as a column keeps it (JSON: numbers stay numbers, Decimals become text)."""
        return {"key": self.key, "params": {name: _to_json(value) for name, value in self.params.items()}}

    @classmethod
    def from_json(cls, data: Any) -> Message | None:
        """A stored message back, or None for anything that is not one (an old row, a hand-written value)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("key"), str):
            return None
        params = data.get("params")
        return cls(data["key"], {k: _from_json(v) for k, v in params.items()} if isinstance(params, Mapping) else {})


def as_columns(message: Message | None) -> dict[str, str | None]:
    """The `message_key` and `message_params` columns of a row that says `message` (both None for a
    marketplace's words)."""
    if message is None:
        return {"message_key": None, "message_params": None}
    params = message.as_json()["params"]
    return {"message_key": message.key, "message_params": json.dumps(params, ensure_ascii=False) if params else None}


def from_columns(key: str | None, params: str | None) -> Message | None:
    """A row's message back from its `message_key` and `message_params` columns."""
    if not key:
        return None
    try:
        values = json.loads(params) if params else {}
    except ValueError:
        values = {}
    return Message.from_json({"key": key, "params": values if isinstance(values, dict) else {}})


class SaidError(ValueError):
    """A value refused in Ponte's words (a settings validator): its text in English, `said` in every language."""

    def __init__(self, said: Message) -> None:
        from ponte.i18n import english  # the catalogs read the messages defined here

        super().__init__(english(said))
        self.said = said


# pydantic's most common refusals in Ponte's words (their context's limits as parameters); others keep pydantic's.
_PYDANTIC = {
    "missing": "msg.value.missing", "string_too_long": "msg.value.too_long", "string_too_short": "msg.value.too_short",
    "too_long": "msg.value.too_many", "greater_than": "msg.value.greater_than",
    "greater_than_equal": "msg.value.at_least", "less_than_equal": "msg.value.at_most",
    "int_parsing": "msg.value.not_whole", "int_from_float": "msg.value.not_whole", "float_parsing": "msg.value.not_number",
    "decimal_parsing": "msg.value.not_number", "bool_parsing": "msg.value.not_boolean",
    "string_type": "msg.value.not_text", "extra_forbidden": "msg.value.unknown_field",
}  # fmt: skip


def problem_of(error: Mapping[str, Any]) -> Message | str:
    """What one of pydantic's errors says of a value, in Ponte's words where it has them."""
    context = error.get("ctx") or {}
    if isinstance(context.get("error"), SaidError):
        said: Message = context["error"].said
        return said
    key = _PYDANTIC.get(str(error.get("type")))
    if key is None:
        return str(error.get("msg") or "")
    return say(key, **{k: v for k, v in context.items() if isinstance(v, int | float | str)})


def say(key: str, **params: Any) -> Message:
    """`say("msg.order.out_of_stock", sku="A1", ordered=5, available=2)`."""
    return Message(key, params)


def _to_json(value: Any) -> Any:
    if isinstance(value, Message):
        return {"$message": value.as_json()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _from_json(value: Any) -> Any:
    if isinstance(value, Mapping) and "$message" in value:
        return Message.from_json(value["$message"])
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value
