"""A recorded request or response as people read it: method, URL and a list of fields, with the raw JSON kept
for one click away; personal data masked for those who may not see it (viewers)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ponte.domain.privacy import mask_json, mask_text

MAX_FIELDS = 300


@dataclass(frozen=True)
class BodyView:
    method: str | None = None
    url: str | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    more_fields: bool = False
    raw: str = ""  # indented JSON (or the text as it came)


def _leaves(value: Any, path: str, out: list[tuple[str, str]]) -> None:
    if len(out) > MAX_FIELDS:
        return
    if isinstance(value, dict):
        if not value:
            out.append((path or "·", "{}"))
        for key, item in value.items():
            _leaves(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        if not value:
            out.append((path or "·", "[]"))
        for n, item in enumerate(value):
            _leaves(item, f"{path}[{n}]", out)
    else:
        shown = "—" if value is None else json.dumps(value, ensure_ascii=False) if isinstance(value, bool) else value
        out.append((path or "·", str(shown)))


def body_view(text: str | None, *, masked: bool) -> BodyView:
    """`text` (a recorded body) as fields. A request recorded as {"method", "url", "body"} shows its body's fields
    under its method and URL."""
    if not text:
        return BodyView()
    try:
        value = json.loads(text)
    except ValueError:
        plain = mask_text(text) if masked else text
        return BodyView(fields=[("·", plain)], raw=plain)
    if masked:
        value = mask_json(value)
    method = url = None
    shown = value
    if isinstance(value, dict) and {"method", "url"} <= value.keys() and set(value) <= {"method", "url", "body"}:
        method, url, shown = str(value["method"]), str(value["url"]), value.get("body")
    leaves: list[tuple[str, str]] = []
    _leaves(shown, "", leaves)
    return BodyView(
        method=method,
        url=url,
        fields=leaves[:MAX_FIELDS],
        more_fields=len(leaves) > MAX_FIELDS,
        raw=json.dumps(value, indent=2, ensure_ascii=False),
    )
