"""The catalog page (issue 21): the store's SKUs by a filter (SKU or name, category, brand, active, the product's
status on an affiliate), and a change to every SKU the filter matches: preview first (how many match, how many
change, the first ones before → after), then confirm with a reason. Everyone reads it; operators change."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ponte.domain import Role
from ponte.services import catalog_bulk
from ponte.services.catalog_bulk import BulkAction, BulkRequest, CatalogFilter
from ponte.services.errors import InputError
from ponte.web.render import env, render, translator
from ponte.web.routing import PageRoute
from ponte.web.session import check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)
log = logging.getLogger(__name__)
FILTER = ("text", "category", "brand", "active", "affiliate", "status")
ACTION = ("kind", "target", "attribute", "field", "value")  # and its affiliate, as action_affiliate


def _filter_values(source: Any) -> dict[str, str]:
    return {name: str(source.get(name) or "").strip() for name in FILTER}


def _action_values(form: FormData) -> dict[str, str]:
    values = {name: str(form.get(name) or "").strip() for name in ACTION}
    values["affiliate"] = str(form.get("action_affiliate") or "").strip()
    if values["kind"] == "attribute":  # an empty value removes the attribute: kept, not left out
        return {k: v for k, v in values.items() if v or k == "value"}
    return values


def _catalog(
    request: Request, values: dict[str, str], *, status_code: int = 200, error: str | None = None
) -> HTMLResponse:
    principal = current_principal(request)
    after = request.query_params.get("after", "")
    with request.app.state.db.read() as conn:
        try:
            chosen = catalog_bulk.parse(CatalogFilter, values)
            page = catalog_bulk.catalog_page(
                conn, account_id=principal.account_id, filter=chosen, after_id=int(after) if after.isdigit() else 0
            )
        except InputError as exc:  # a bad filter: the page says why, with the whole catalog's choices
            error, status_code = translator(request).said(exc.said, exc.message), 400
            page = catalog_bulk.catalog_page(conn, account_id=principal.account_id, filter=CatalogFilter())
    return render(request, "catalog.html", status_code, page=page, q=values, error=error, query=urlencode(values))


@router.get("/catalog", response_class=HTMLResponse, include_in_schema=False)
def catalog_list(request: Request) -> Response:
    return _catalog(request, _filter_values(request.query_params))


def _request(form: FormData) -> BulkRequest:
    return BulkRequest(
        filter=catalog_bulk.parse(CatalogFilter, _filter_values(form)),
        action=catalog_bulk.parse(BulkAction, _action_values(form)),
        reason=str(form.get("reason") or "")[:500],
    )


@router.post("/catalog/bulk/preview", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def bulk_preview(request: Request) -> Response:
    """What the change would do (nothing is written), with the confirmation form."""
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    return await _preview(request, principal.account_id, form)


async def _preview(
    request: Request, account_id: int, form: FormData, *, status_code: int = 200, error: str | None = None
) -> Response:
    filter_values = _filter_values(form)
    try:
        asked = _request(form)
        found = await run_in_threadpool(_previewed, request.app.state.db, account_id, asked)
    except InputError as exc:
        return _catalog(request, filter_values, status_code=400, error=translator(request).said(exc.said, exc.message))
    return render(
        request, "catalog_bulk.html", status_code, preview=found, asked=asked, q=filter_values,
        action=_action_values(form), reason=str(form.get("reason") or ""), error=error,
    )  # fmt: skip


def _previewed(db: Any, account_id: int, asked: BulkRequest) -> catalog_bulk.Preview:
    with db.read() as conn:
        return catalog_bulk.preview(conn, account_id=account_id, request=asked)


@router.post("/catalog/bulk/apply", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def bulk_apply(request: Request) -> Response:
    """Apply the previewed change. The page is streamed: a progress bar after each chunk of SKUs (each its own
    transaction), then how many changed. A 20,000-SKU change takes about a minute on PostgreSQL (most of it marking
    the integrations pending); the bytes keep flowing meanwhile, so no proxy cuts it as idle."""
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    state = request.app.state
    try:
        asked = _request(form)
        run = await run_in_threadpool(
            catalog_bulk.start, state.db, account_id=principal.account_id, request=asked, actor=principal.actor
        )
    except InputError as exc:
        message = translator(request).said(exc.said, exc.message)
        return await _preview(request, principal.account_id, form, status_code=400, error=message)
    back = "/catalog?" + urlencode({k: v for k, v in _filter_values(form).items() if v})
    page = bytes(render(request, "catalog_bulk_run.html", total=run.total, back=back).body).decode()
    head, _, tail = page.partition(STEPS)
    return StreamingResponse(_streamed(request, head, tail, run, back), media_type="text/html; charset=utf-8")


STEPS = "<!--steps-->"


def _streamed(request: Request, head: str, tail: str, run: catalog_bulk.Run, back: str) -> Iterator[bytes]:
    """The page's top, a progress line after each chunk, the result, the page's end (run in the thread pool)."""
    t = translator(request)
    yield head.encode()
    done = catalog_bulk.Applied()
    try:
        for done in run.steps:
            yield (
                env.get_template("_bulk_step.html").render(t=t, done=done, total=max(run.total, done.matched)).encode()
            )
    except Exception:  # the chunks done are kept: the page says so and the same change, run again, completes it
        log.exception("a bulk catalog change stopped after %s SKUs", done.matched)
        yield env.get_template("_bulk_done.html").render(t=t, done=done, back=back, failed=True).encode()
    else:
        yield env.get_template("_bulk_done.html").render(t=t, done=done, back=back, failed=False).encode()
    yield tail.encode()
