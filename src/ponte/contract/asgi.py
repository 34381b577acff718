"""Where emulations meet the specifications: an ASGI middleware that checks every request (and its answer), and the
recorder contract tests read.

An emulation wraps its app once::

    app = ContractMiddleware(app, contract("amazon"), reject=amazon_error, skip=("/auth/o2/token",))

and then refuses, with `reject`'s answer in the marketplace's own error shape, every request the spec refuses;
requests to paths no operation of the spec answers are let through (the emulation answers them, e.g. its 404) but
recorded as problems. Every exchange — request, operation, problems, answer status and the answer's own problems —
goes to the `ContractRecorder`s listening (the one given, and any opened with `recording()`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from ponte.contract.operation import Operation
from ponte.contract.problems import HttpRequest, Problem
from ponte.contract.spec import Contract

Scope = dict[str, Any]
Reject = Callable[[Operation | None, list[Problem]], tuple[int, Any]]


@dataclass
class Exchange:
    """One request an emulation received, what the spec says of it, and of its answer."""

    contract: str
    request: HttpRequest
    operation: str | None  # the operation's name ("putListingsItem", "OF24"), None when no operation answers
    problems: list[Problem]  # of the request, strict ones included (Problem.strict)
    status: int | None = None
    response_problems: list[Problem] = field(default_factory=list)
    rejected: bool = False  # refused by the middleware, before the emulation saw it

    def violations(self, *, strict: bool = True, responses: bool = True) -> list[Problem]:
        found = [p for p in self.problems if strict or not p.strict]
        if responses:
            found += [p for p in self.response_problems if strict or not p.strict]
        return found

    def __str__(self) -> str:
        answer = f" → {self.status}" if self.status is not None else ""
        return f"{self.contract} {self.operation or '?'}: {self.request}{answer}"


class ContractRecorder:
    """Every exchange the emulations saw while it listened, and what departs from the spec.

    `strict` (the default for contract tests) also counts fields and query parameters the spec does not declare;
    `responses` also counts the emulation's own answers that depart from the spec.
    """

    def __init__(self, *, strict: bool = True, responses: bool = True) -> None:
        self.strict = strict
        self.responses = responses
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    @property
    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def clear(self) -> None:
        with self._lock:
            self._exchanges.clear()

    def operations(self) -> list[str]:
        """The operations reached, in order (with repeats)."""
        return [e.operation for e in self.exchanges if e.operation]

    def violations(self) -> list[tuple[Exchange, Problem]]:
        return [
            (exchange, problem)
            for exchange in self.exchanges
            for problem in exchange.violations(strict=self.strict, responses=self.responses)
        ]

    def report(self) -> str:
        """Every violation, grouped by exchange, one line each."""
        lines: list[str] = []
        for exchange in self.exchanges:
            found = exchange.violations(strict=self.strict, responses=self.responses)
            if found:
                lines.append(str(exchange))
                lines += [f"    {problem}" for problem in found]
        return "\n".join(lines)

    def assert_clean(self) -> None:
        """Fail with every violation listed, if any exchange departs from its spec."""
        if self.violations():
            raise AssertionError("requests or answers depart from the published specification:\n" + self.report())

    def assert_reached(self, *operations: str) -> None:
        """Fail unless each operation was reached at least once (a contract test that sent nothing proves nothing)."""
        seen = set(self.operations())
        missing = [name for name in operations if name not in seen]
        if missing:
            raise AssertionError(f"never reached: {', '.join(missing)} (reached: {', '.join(sorted(seen)) or 'none'})")


_listening: list[ContractRecorder] = []
_listening_lock = threading.Lock()


@contextmanager
def recording(recorder: ContractRecorder | None = None) -> Iterator[ContractRecorder]:
    """Listen to every ContractMiddleware of this process while the block runs."""
    recorder = recorder or ContractRecorder()
    with _listening_lock:
        _listening.append(recorder)
    try:
        yield recorder
    finally:
        with _listening_lock:
            _listening.remove(recorder)


class ContractMiddleware:
    """Checks each request against `contract` before the emulation sees it, and its answer after.

    - `reject(operation, problems) -> (status, json_body)`: the emulation's refusal in its marketplace's shape;
      without it, nothing is refused (the middleware only records).
    - `strict`: refuse undeclared fields too (the real APIs mostly ignore them, so emulations default to False;
      recorders count them anyway).
    - `mount`: the prefix the emulation is served under (`/mirakl`), taken off before matching.
    - `skip`: path prefixes outside the spec (OAuth token endpoints, test helpers) that are neither checked nor
      recorded.
    """

    def __init__(
        self,
        app: Any,
        contract: Contract,
        *,
        reject: Reject | None = None,
        strict: bool = False,
        mount: str = "",
        skip: Iterable[str] = (),
        recorder: ContractRecorder | None = None,
    ) -> None:
        self.app = app
        self.contract = contract
        self.reject = reject
        self.strict = strict
        self.mount = mount.rstrip("/")
        self.skip = tuple(skip)
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = self._path(scope)
        if path is None or path.startswith(self.skip):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        request = HttpRequest(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])},
            body=body,
        )
        operation, problems = self.contract.check(request, strict=True)
        exchange = Exchange(self.contract.name, request, operation.name if operation else None, problems)
        refusing = [p for p in problems if self.strict or not p.strict] if operation is not None else []
        if refusing and self.reject is not None:
            status, payload = self.reject(operation, refusing)
            exchange.status, exchange.rejected = status, True
            self._record(exchange)  # before the client hears back: a test reading the recorder then finds it
            await _send_json(send, status, payload)
            return

        def answered(answer: _Answer) -> None:
            exchange.status = answer.status
            if operation is not None and answer.status is not None:
                headers = {"content-type": answer.content_type}
                exchange.response_problems = operation.validate_response(
                    answer.status, headers=headers, body=bytes(answer.body), strict=True
                )
            self._record(exchange)

        answer = _Answer(send, answered)
        await self.app(scope, _replay(body, more, receive), answer)
        if not answer.done:  # the app ended without a complete answer (an error): record what there is
            answered(answer)

    def _path(self, scope: Scope) -> str | None:
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if self.mount:
            if not (path == self.mount or path.startswith(self.mount + "/")):
                return None
            path = path[len(self.mount) :] or "/"
        return path

    def _record(self, exchange: Exchange) -> None:
        with _listening_lock:
            listeners = [*_listening]
        if self.recorder is not None:
            listeners.append(self.recorder)
        for recorder in listeners:
            recorder.record(exchange)


async def check_request(request: Any, contract: Contract, *, mount: str = "", strict: bool = False) -> list[Problem]:
    """Problems of a Starlette request, for an emulation that checks inside a handler instead of a middleware."""
    path: str = request.url.path
    if mount and path.startswith(mount.rstrip("/")):
        path = path[len(mount.rstrip("/")) :] or "/"
    checked = HttpRequest(
        method=request.method,
        path=path,
        query=request.url.query,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
    )
    return contract.check(checked, strict=strict)[1]


async def _read_body(receive: Any) -> tuple[bytes, bool]:
    """The whole request body, and whether the client is still there to receive more messages from."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, more: bool, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if more:
            return await receive()  # the app waits for a disconnect: pass the real one on
        return {"type": "http.disconnect"}

    return replay


async def _send_json(send: Any, status: int, payload: Any) -> None:
    data = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class _Answer:
    """Passes the emulation's answer on, keeping its status, type and body to check."""

    def __init__(self, send: Any, answered: Callable[[_Answer], None]) -> None:
        self.send = send
        self.answered = answered  # called before the last part leaves, so that it is recorded before it is read
        self.done = False
        self.status: int | None = None
        self.content_type = ""
        self.body = bytearray()

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    self.content_type = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if not message.get("more_body", False) and not self.done:
                self.done = True
                self.answered(self)
        await self.send(message)
