"""Integration routes: the Connections list (same filters, search and cursors as the screen), one integration
with its attempts, counts, causes and reprocessing. The queries are services.connections', shared with the pages."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from ponte.api.deps import Db, Operator, ReaderLocale, Viewer
from ponte.api.filters import FilterIn, filter_query
from ponte.api.schemas import NOT_FOUND, Strict, json_response
from ponte.clock import now
from ponte.domain import Status
from ponte.domain.messages import Message, say
from ponte.engine.queue import count_reprocessable, reprocess_integrations
from ponte.exports import export_integrations
from ponte.i18n import Translator
from ponte.knowledge import categories as knowledge_categories
from ponte.services import connections
from ponte.services.errors import NotFound
from ponte.store.filters import IntegrationFilter

router = APIRouter(prefix="/integrations", tags=["integrations"])
Filter = Annotated[IntegrationFilter, Depends(filter_query)]
IntegrationId = Annotated[int, Path(ge=1, le=2**62)]
MAX_IDS = connections.MAX_LIMIT


KEY_HELP = (
    "Ponte's own message: its key in Ponte's catalogs (`message` is then in the Accept-Language's language, with "
    "`message_params` filled in); null when `message` is a marketplace's words, verbatim"
)


class IntegrationOut(BaseModel):
    # Read straight from the service's row (a dataclass): no intermediate dict per row.
    model_config = ConfigDict(from_attributes=True)

    id: int
    flow: str
    entity: str
    affiliate: str = Field(validation_alias="affiliate_code", description="Affiliate code")
    affiliate_name: str
    status: str
    message: str | None
    code: str | None
    category: str | None
    disposition: str | None
    cause: str | None
    processed_at: datetime | None
    attempt_count: int
    next_trigger: str | None
    next_actor: str | None
    message_key: str | None = Field(description=KEY_HELP)
    message_params: dict[str, Any] | None = Field(default=None, validation_alias="message_params_out")


class AttemptOut(BaseModel):
    id: int
    trigger: str
    actor: str | None
    reason: str | None
    system: str
    status: str
    message: str | None
    code: str | None
    category: str | None
    disposition: str | None
    http_status: int | None
    started_at: datetime
    duration_ms: int
    request: str | None = Field(description="What was sent, cut to the body limit")
    response: str | None = Field(description="What came back, cut to the body limit")
    message_key: str | None = Field(default=None, description=KEY_HELP)
    message_params: dict[str, Any] | None = Field(default=None, validation_alias="message_params_out")


class IntegrationPage(BaseModel):
    items: list[IntegrationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class IntegrationDetailOut(BaseModel):
    integration: IntegrationOut
    attempts: list[AttemptOut] = Field(description="Newest first")
    more_attempts: bool


class CountsOut(BaseModel):
    by_status: dict[str, int]
    capped: list[str] = Field(description="Statuses whose count is a lower bound (counting stopped there)")
    total: int


class CauseOut(BaseModel):
    category: str | None
    cause: str | None
    count: int
    sample_message: str | None
    last_at: datetime | None
    affiliates: list[str]
    flows: list[str]


class ReprocessIn(Strict):
    """Give `ids`, or a `filter` (its statuses default to error). `dry_run` only counts."""

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(default=None, min_length=1, max_length=MAX_IDS)
    filter: FilterIn | None = None
    reason: str | None = Field(default=None, max_length=500)
    dry_run: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> ReprocessIn:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("give either ids or filter")
        return self


class ReprocessOut(BaseModel):
    queued: int = Field(description="How many were queued (or, on a dry run, would be)")
    dry_run: bool


_Said = TypeVar("_Said", "IntegrationOut", "AttemptOut")


def _in_language(out: _Said, said: Message | None, t: Translator) -> _Said:
    """Ponte's own message in the reader's language, with its key and parameters for machines."""
    if said is not None:
        out.message = t.said(said, out.message)
        out.message_params = said.as_json()["params"]
    return out


def _out(row: connections.IntegrationRow, t: Translator) -> IntegrationOut:
    return _in_language(IntegrationOut.model_validate(row), row.said, t)


@router.get("", response_model=IntegrationPage, summary="List integrations (filters, search, cursor pagination)")
def list_integrations(
    principal: Viewer,
    db: Db,
    filter: Filter,
    reader: ReaderLocale,
    cursor: Annotated[str | None, Query(max_length=500, description="From the previous page's next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=connections.MAX_LIMIT)] = 50,
) -> Response:
    with db.read() as conn:
        page = connections.list_integrations(
            conn, account_id=principal.account_id, filter=filter, cursor=cursor, limit=limit
        )
    t = Translator(reader)
    return json_response(IntegrationPage(items=[_out(r, t) for r in page.rows], next_cursor=page.next_cursor))


@router.get("/counts", response_model=CountsOut, summary="Integrations per status under a filter")
def counts(principal: Viewer, db: Db, filter: Filter) -> Response:
    with db.read() as conn:
        got = connections.tab_counts(conn, account_id=principal.account_id, flow=filter.flow, filter=filter)
    return json_response(CountsOut(by_status=got.by_status, capped=sorted(got.capped), total=got.total))


@router.get("/causes", response_model=list[CauseOut], summary="Failing integrations grouped by cause")
def causes(
    principal: Viewer, db: Db, filter: Filter, limit: Annotated[int, Query(ge=1, le=connections.MAX_LIMIT)] = 200
) -> Response:
    with db.read() as conn:
        got = connections.list_causes(conn, account_id=principal.account_id, filter=filter, limit=limit)
    return json_response([CauseOut.model_validate(asdict(c)) for c in got], _CAUSES)


_CAUSES = TypeAdapter(list[CauseOut])


_EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "/export",
    summary="Export what a filter matches, every page, as .xlsx or .csv (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                t.split(";")[0]: {"schema": {"type": "string", "format": "binary"}} for t in _EXPORT_TYPES.values()
            }
        }
    },
)
def export(
    principal: Viewer,
    db: Db,
    filter: Filter,
    reader: ReaderLocale,
    format: Annotated[Literal["xlsx", "csv"], Query(description="File format")] = "xlsx",
    locale: Annotated[
        Literal["pt-BR", "en", "es"] | None,
        Query(description="Column titles, dates and CSV separator (default: by Accept-Language, else pt-BR)"),
    ] = None,
) -> StreamingResponse:
    """Text that a spreadsheet would run as a formula is neutralised; connector secrets are never exported."""
    language = locale or reader
    titles = {c["code"]: c["title"].get(language) or c["title"].get("en") or c["code"] for c in knowledge_categories()}
    chunks = export_integrations(
        db,
        account_id=principal.account_id,
        filter=filter,
        fmt=format,
        locale=language,
        category_titles=titles,
        tz=db.settings.timezone,
    )
    name = f"ponte-{filter.flow or 'all'}-{now():%Y%m%d-%H%M}.{format}"
    return StreamingResponse(
        chunks, media_type=_EXPORT_TYPES[format], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/{integration_id}", response_model=IntegrationDetailOut, responses=NOT_FOUND, summary="One integration")
def read_integration(
    principal: Viewer,
    db: Db,
    integration_id: IntegrationId,
    reader: ReaderLocale,
    attempts: Annotated[int, Query(ge=1, le=connections.MAX_LIMIT, description="How many attempts")] = 100,
) -> Response:
    with db.read() as conn:
        got = connections.get_integration(
            conn, account_id=principal.account_id, integration_id=integration_id, attempt_limit=attempts
        )
    t = Translator(reader)
    return json_response(
        IntegrationDetailOut(
            integration=_out(got.row, t),
            attempts=[_in_language(AttemptOut.model_validate(asdict(a)), a.said, t) for a in got.attempts],
            more_attempts=got.more_attempts,
        )
    )


@router.post(
    "/{integration_id}/reprocess",
    response_model=ReprocessOut,
    responses=NOT_FOUND,
    summary="Run one integration again with the store's current data",
)
def reprocess_one(principal: Operator, db: Db, integration_id: IntegrationId) -> ReprocessOut:
    with db.write() as conn:
        if not connections.current_rows(conn, account_id=principal.account_id, ids=[integration_id]):
            raise NotFound(say("msg.not_found.integration", id=integration_id))
        queued = reprocess_integrations(
            conn, account_id=principal.account_id, actor=principal.actor, ids=[integration_id], reason="API"
        )
    return ReprocessOut(queued=queued, dry_run=False)


@router.post(
    "/reprocess", response_model=ReprocessOut, summary="Reprocess a list of ids or everything a filter matches"
)
def reprocess_many(principal: Operator, db: Db, body: ReprocessIn) -> ReprocessOut:
    account_id = principal.account_id
    filt = body.filter.to_filter() if body.filter else None
    if filt is not None and not filt.statuses:
        filt = replace(filt, statuses=(Status.ERROR.value,))
    if body.dry_run:
        with db.read() as conn:
            if filt is not None:
                return ReprocessOut(queued=count_reprocessable(conn, account_id=account_id, filter=filt), dry_run=True)
            rows = connections.current_rows(conn, account_id=account_id, ids=body.ids or [])
        return ReprocessOut(queued=sum(1 for r in rows if r.status != Status.PENDING.value), dry_run=True)
    with db.write() as conn:
        queued = reprocess_integrations(
            conn, account_id=account_id, actor=principal.actor, ids=body.ids, filter=filt, reason=body.reason or "API"
        )
    return ReprocessOut(queued=queued, dry_run=False)
