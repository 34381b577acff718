"""What the contract checks read and say: an HTTP request as sent, and the problems found in it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "no JSON given" (None is a JSON value: null)


@dataclass(frozen=True)
class Problem:
    """One way a request or an answer departs from the specification.

    `part` is where: "operation" (no operation matches), "path", "query", "header", "body" or "response".
    `path` is the parameter's name for a parameter, a JSON path (`$.offers[0].price`) in a body.
    `strict` marks what only strict mode reports: a field or parameter the specification does not declare.
    """

    part: str
    path: str
    message: str
    strict: bool = False

    def __str__(self) -> str:
        where = f"{self.part} {self.path}".strip()
        return f"{where}: {self.message}"


def json_path(parts: Iterable[str | int], root: str = "$") -> str:
    """`$.offers[0].price` from ("offers", 0, "price"); keys that are not identifiers go in brackets."""
    out = [root]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{orjson.dumps(part).decode()}]")
    return "".join(out)


def short(value: Any, limit: int = 80) -> str:
    """A value as a message shows it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class HttpRequest:
    """A request as it went over the wire: method, percent-encoded path, raw query, headers, body bytes."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        json: Any = UNSET,
    ) -> HttpRequest:
        """From a URL or a path with its query (`/api/offers?shop_id=1`); `json=` encodes a body and sets its type."""
        parts = urlsplit(target)
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        data = body.encode() if isinstance(body, str) else (body or b"")
        if json is not UNSET:
            data = orjson.dumps(json)
            lowered.setdefault("content-type", "application/json")
        return cls(method.upper(), parts.path or "/", parts.query, lowered, data)

    @property
    def content_type(self) -> str:
        """The media type of the body, lower case, without parameters ("" when not given)."""
        return media_type(self.headers.get("content-type", ""))

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")


def media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()
