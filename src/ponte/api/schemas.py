"""Request and response bodies shared by several routers. Resource-specific ones live with their router."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def json_response(body: Any, adapter: TypeAdapter[Any] | None = None) -> Response:
    """A read endpoint's body, serialised here rather than by FastAPI, which validates a model it has just been
    given once more, in another trip to the thread pool, before serialising it (the route's response_model
    still documents the body). A list needs its `TypeAdapter`."""
    data = adapter.dump_json(body) if adapter else body.model_dump_json()
    return Response(data, media_type="application/json")


class Strict(BaseModel):
    """Request bodies refuse unknown fields: a misspelt field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ProblemOut(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="The offending field, as a dotted path, when there is one")


class ItemResult(BaseModel):
    """The result of one item of a bulk request: `index` is its position in the request."""

    index: int
    ok: bool
    key: str | None = Field(default=None, description="The item's SKU, entity or id when it could be read")
    error: str | None = None
    field: str | None = None


class BulkResult(BaseModel):
    accepted: int
    rejected: int
    items: list[ItemResult]


def bulk_result(items: list[ItemResult]) -> BulkResult:
    accepted = sum(1 for i in items if i.ok)
    return BulkResult(accepted=accepted, rejected=len(items) - accepted, items=items)


def problems(*pairs: tuple[int, str]) -> dict[int | str, dict[str, object]]:
    """Documented error answers: problem+json bodies with these statuses and descriptions."""
    return {status: {"model": ProblemOut, "description": text} for status, text in pairs}


PROBLEM_RESPONSES = problems(
    (400, "The body cannot be read (not UTF-8 JSON)"),
    (401, "No valid API token"),
    (403, "The token's role does not allow this"),
    (413, "The request body is over the size limit"),
    (422, "The input cannot be accepted; `field` says which part"),
)
NOT_FOUND = problems((404, "Not found in this account"))
