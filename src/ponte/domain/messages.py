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
