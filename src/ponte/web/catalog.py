"""The SKU page with its catalog editor (issue 21): everyone reads it, operators edit it. Values are checked as they
are typed (htmx posts the form to /catalog/sku/check, which answers each field's problem), saving marks only the
flows the change concerns pending, and "Reprocessar agora" queues this SKU's failed integrations at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ponte.connectors.capabilities import can_preview
from ponte.domain import Role
from ponte.engine.queue import reprocess_integrations
from ponte.services import catalog_edit, connections, reconcile
from ponte.services.errors import InputError, NotFound
from ponte.services.previews import preview_listing
from ponte.store.mappings import store_categories
from ponte.web.connections import redirect_back
from ponte.web.render import env, render, told, translator
from ponte.web.routing import PageRoute, as_id
from ponte.web.session import check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)
TEXT = ("name", "description", "brand", "category", "ean", "weight_g", "height_cm", "width_cm", "length_cm",
        "price", "list_price", "handling_days")  # fmt: skip


def sku_url(sku: str) -> str:
    from urllib.parse import quote

    return f"/skus/{quote(sku, safe='')}"


def values_from_form(form: FormData) -> dict[str, Any]:
    """The editor's fields as `catalog_edit` takes them: attributes and stock from their name/value rows, images
    in the order their numbers give, without the ones marked for removal, and the new one last."""
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in TEXT}
    names, texts = form.getlist("attr_name"), form.getlist("attr_value")
    values["attributes"] = {
        str(n).strip(): str(v).strip() for n, v in zip(names, texts, strict=False) if str(n).strip()
    }
    removed = {str(i) for i in form.getlist("image_remove")}
    kept = []
    for index, (url, order) in enumerate(zip(form.getlist("image_url"), form.getlist("image_order"), strict=False)):
        if str(index) not in removed and str(url).strip():
            position = int(str(order).strip()) if str(order).strip().isdigit() else index + 1
            kept.append((position, index, str(url).strip()))
    values["images"] = [url for _, _, url in sorted(kept)]
    if str(form.get("image_new") or "").strip():
        values["images"].append(str(form.get("image_new")).strip())
    stock: dict[str, Any] = {}
    for warehouse, quantity in zip(form.getlist("wh_name"), form.getlist("wh_qty"), strict=False):
        if str(warehouse).strip() and str(quantity).strip():
            stock[str(warehouse).strip()] = str(quantity).strip()
    values["stock"] = stock
    values["active"] = form.get("active") == "on"
    return values


def _page(
    request: Request,
    sku: str,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    reason: str = "",
    preview: dict[str, Any] | None = None,
) -> HTMLResponse:
    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        matrix = connections.sku_matrix(conn, account_id=principal.account_id, sku=sku)
        try:
            shown = values or catalog_edit.current(conn, account_id=principal.account_id, sku=sku)
        except NotFound:
            shown = None
        categories = [c.category for c in store_categories(conn, account_id=principal.account_id)]
        drifts = reconcile.drifts_of_sku(conn, account_id=principal.account_id, sku=sku)
    failed = [cell.id for cell in matrix.cells.values() if cell.status in ("error", "warning")]
    previewable = {a.id for a in matrix.affiliates if matrix.catalog is not None and can_preview(a.connector)}
    return render(
        request, "sku.html", status_code, m=matrix, v=shown, errors=errors or {}, reason=reason,
        categories=categories, failed=failed, drifts=drifts, saved=request.query_params.get("saved") == "1",
        previewable=previewable, preview=preview,
    )  # fmt: skip


@router.get("/skus/{sku:path}", response_class=HTMLResponse, include_in_schema=False)
def sku_page(request: Request, sku: str) -> Response:
    return _page(request, sku)


@router.post("/skus/{sku:path}/preview", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def sku_preview(request: Request, sku: str) -> Response:
    """The marketplace's verdict on the SKU as a listing before anything is listed (Amazon's VALIDATION_PREVIEW)."""
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    affiliate_id = as_id(form.get("affiliate"))
    state = request.app.state
    if affiliate_id is None:
        shown: dict[str, Any] = {
            "affiliate": None,
            "status": "error",
            "message": translator(request)("msg.input.choose_affiliate"),
        }
        return _page(request, sku, status_code=400, preview=shown)
    try:
        outcome = await run_in_threadpool(
            preview_listing, state.db, box=state.box, settings=state.settings, account_id=principal.account_id,
            affiliate_id=affiliate_id, sku=sku,
        )  # fmt: skip
    except InputError as exc:
        shown = {"affiliate": affiliate_id, "status": "error", "message": told(request, exc)}
        return _page(request, sku, status_code=400, preview=shown)
    said = translator(request).said(outcome.said, outcome.message)
    shown = {"affiliate": affiliate_id, "status": outcome.status.value, "message": said}
    return _page(request, sku, preview=shown)


@router.post("/catalog/sku/check", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def check_sku(request: Request) -> Response:
    """Each field's problem as typed so far (the fields' messages, swapped in by htmx); nothing is saved."""
    current_principal(request)
    form = await request.form()
    checked = catalog_edit.check(str(form.get("sku") or ""), values_from_form(form))
    html = env.get_template("_sku_check.html").render(errors=checked.errors, t=translator(request))
    return HTMLResponse(html)


@router.post("/catalog/sku/save", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def save_sku(request: Request) -> Response:
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    sku, reason = str(form.get("sku") or ""), str(form.get("reason") or "")
    values = values_from_form(form)
    try:
        with request.app.state.db.write() as conn:
            saved = catalog_edit.save(
                conn, account_id=principal.account_id, sku=sku, values=values, actor=principal.actor, reason=reason
            )
    except InputError as exc:
        errors = catalog_edit.check(sku, values).errors or {exc.field or "reason": "reason"}
        return _page(request, sku, status_code=400, values=values, errors=errors, reason=reason)
    return redirect_back(request, f"{sku_url(sku)}?saved=1", f"sku_saved:{saved.pending}")


@router.post("/catalog/sku/reprocess", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def reprocess_sku(request: Request) -> Response:
    """Reprocess this SKU's failed integrations now, with its current data."""
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    sku = str(form.get("sku") or "")
    with request.app.state.db.read() as conn:
        matrix = connections.sku_matrix(conn, account_id=principal.account_id, sku=sku)
    ids = [cell.id for cell in matrix.cells.values() if cell.status in ("error", "warning")]
    with request.app.state.db.write() as conn:
        n = reprocess_integrations(
            conn,
            account_id=principal.account_id,
            actor=principal.actor,
            ids=ids,
            reason="catalog fixed on the SKU page",
        )
    if not ids:
        return RedirectResponse(sku_url(sku), status_code=303)
    return redirect_back(request, sku_url(sku), f"reprocessed:{n}")
