"""Misbehaviour on demand, and a count of what was served.

`FaultMiddleware` wraps the whole app: it counts every request by profile, endpoint and status (so tests
can assert "no request storm"), and, when faults are switched on, answers some requests with a 5xx, a slow
answer, a dropped connection, broken JSON or a multi-megabyte body. Faults strike before the request is
handled, so a failed request changed nothing; test helpers (`/_control`, `_admin`, `_buyer`) are never hit.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from ponte.sandbox.profiles import PROFILES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Path words kept as they are when naming an endpoint; anything else is an id and becomes "*".
ENDPOINT_WORDS = {"items", "price", "stock", "orders", "ack", "shipment", "oauth", "token", "me", "categories"}
HELPER_WORDS = {"_control", "_admin", "_buyer"}
HUGE_BODY = b'{"padding": "' + b"x" * (4 * 1024 * 1024) + b'"}'


@dataclass
class Faults:
    """The switchboard. Rates are probabilities in [0, 1]; `path_contains` limits faults to matching paths."""

    error_rate: float = 0.0
    status: int = 503
    slow_ms: int = 0
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    huge_rate: float = 0.0
    path_contains: str | None = None

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, checking types and ranges (ValueError on nonsense)."""
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault {name!r}")
            if name.endswith("_rate"):
                value = float(value)
                if not 0 <= value <= 1:
                    raise ValueError(f"{name} must be between 0 and 1")
            elif name == "status":
                value = int(value)
                if not 500 <= value <= 599:
                    raise ValueError("status must be a 5xx")
            elif name == "slow_ms":
                value = max(0, int(value))
            elif value is not None:
                value = str(value)
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def any_rate(self) -> bool:
        return bool(self.error_rate or self.drop_rate or self.malformed_rate or self.huge_rate)


class Stats:
    """Requests served, by profile → "METHOD endpoint" → status ("200", "503", or "200 malformed" for a fault)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: defaultdict[tuple[str, str, str], int] = defaultdict(int)

    def add(self, profile: str, endpoint: str, status: str) -> None:
        with self._lock:
            self._counts[(profile, endpoint, status)] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            items = list(self._counts.items())
        by_profile: dict[str, dict[str, dict[str, int]]] = {}
        for (profile, endpoint, status), count in sorted(items):
            by_profile.setdefault(profile, {}).setdefault(endpoint, {})[status] = count
        return {"total": sum(c for _, c in items), "by_profile": by_profile}


def classify_path(method: str, path: str) -> tuple[str, str, bool]:
    """(profile, "METHOD endpoint", is a test helper) for a request path; ids in the path become "*"."""
    parts = [p for p in path.split("/") if p]
    profile = "-"
    if parts and (parts[0] in PROFILES or parts[0] == "_control"):
        profile = parts.pop(0)
    helper = profile == "_control" or bool(parts and parts[0] in HELPER_WORDS)
    words = [p if profile == "_control" or p in ENDPOINT_WORDS or p in HELPER_WORDS else "*" for p in parts]
    return profile, f"{method} /{'/'.join(words)}", helper


class FaultMiddleware:
    """Counts requests and injects the faults that are switched on."""

    sandbox: Any = None  # the Sandbox behind the app, for in-process access

    def __init__(
        self,
        app: ASGIApp,
        faults: Faults,
        stats: Stats,
        rng: random.Random,
        error_body: Callable[[str, int], bytes],
        *,
        default_profile: str,
    ) -> None:
        self.app = app
        self.default_profile = default_profile
        self.faults = faults
        self.stats = stats
        self.rng = rng
        self.error_body = error_body  # (profile, status) -> bytes of the profile's 5xx answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        profile, endpoint, helper = classify_path(scope["method"], scope["path"])
        profile = self.default_profile if profile == "-" else profile
        seen = {"status": 0}
        fault: str | None = None

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            await send(message)

        try:
            fault = None if helper else self._pick(scope["path"])
            if fault is None:
                if self.faults.slow_ms and not helper and self._applies(scope["path"]):
                    await asyncio.sleep(self.faults.slow_ms / 1000)
                await self.app(scope, receive, counting_send)
            else:
                await self._misbehave(fault, profile, counting_send)
        finally:
            label = str(seen["status"]) if fault in (None, "error") else f"{seen['status']} {fault}"
            self.stats.add(profile, endpoint, label)

    def _applies(self, path: str) -> bool:
        return not self.faults.path_contains or self.faults.path_contains in path

    def _pick(self, path: str) -> str | None:
        faults = self.faults
        if not faults.any_rate or not self._applies(path):
            return None
        # Draw in a fixed order so that a seeded run misbehaves the same way every time.
        for name, rate in (
            ("error", faults.error_rate),
            ("drop", faults.drop_rate),
            ("malformed", faults.malformed_rate),
            ("huge", faults.huge_rate),
        ):
            if rate and self.rng.random() < rate:
                return name
        return None

    async def _misbehave(self, fault: str, profile: str, send: Send) -> None:
        json_headers = [(b"content-type", b"application/json")]
        if fault == "error":
            body = self.error_body(profile, self.faults.status)
            await _answer(send, self.faults.status, json_headers, body)
        elif fault == "malformed":
            await _answer(send, 200, json_headers, b'{"id": "MLB12345", "status": "act')
        elif fault == "huge":
            await _answer(send, 200, json_headers, HUGE_BODY, chunk=256 * 1024)
        else:
            # Promise a body and stop halfway: the server closes the connection, the client sees it dropped.
            headers = [*json_headers, (b"content-length", b"4096")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"id": "ML', "more_body": True})


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, chunk: int = 0) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    step = chunk or len(body) or 1
    for start in range(0, len(body), step):
        more = start + step < len(body)
        await send({"type": "http.response.body", "body": body[start : start + step], "more_body": more})


def error_json(code: str, message: str, status: int) -> bytes:
    return orjson.dumps({"code": code, "message": message, "status": status})
