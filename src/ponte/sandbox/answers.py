"""How the sandbox answers: JSON responses, and refusals worded later by the profile's vocabulary."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from ponte.sandbox.catalog import Problem


class ApiError(Exception):
    """A refusal worded by the profile's vocabulary (`kind` is a key of its messages)."""

    def __init__(
        self, kind: str, params: dict[str, Any] | None = None, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.params = params or {}
        self.status = status
        self.headers = headers


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type="application/json")


def from_problem(problem: Problem) -> ApiError:
    return ApiError(problem.kind, problem.params, problem.status)


def number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError("bad_request", {"detail": f"{name} must be a number"})
    return float(value)


def integer(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("bad_request", {"detail": f"{name} must be an integer"})
    return value


def text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError("bad_request", {"detail": f"{name} is required"})
    return value.strip()
