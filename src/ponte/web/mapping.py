"""The category and attribute mapping pages (issue 21), per affiliate whose connector reads its marketplace's tree:
the store's categories with what each goes to, a suggestion for the unmapped, and each mapped category's
attributes with how they are filled. Everyone reads them; operators change them. `fix_url` gives each error its
"Corrigir" link: the exact place that fixes it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ponte.connectors.registry import get_connector_class
from ponte.domain import SKU_FLOWS, Role
from ponte.domain.messages import say
from ponte.engine.mapping import FIELDS
from ponte.services import catalog_sheet, mapping
from ponte.services.affiliates import list_affiliates
from ponte.services.errors import InputError, NotFound
from ponte.store.affiliates import Affiliate, find_affiliate
from ponte.store.catalog import skus_by_code
from ponte.web.connections import redirect_back
from ponte.web.render import env, render, told, translator
from ponte.web.routing import PageRoute, RowId
from ponte.web.session import check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)
SKU_FLOW_NAMES = {f.value for f in SKU_FLOWS}
SHEET_LIMIT = 10 * 1024 * 1024
SHEET_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def fix_url(row: Any) -> str | None:
    """Where an error of this integration is fixed: the category mapping, the attribute, or the SKU's field."""
    if row.flow not in SKU_FLOW_NAMES or row.status not in ("error", "warning"):
        return None
    sku = quote(row.entity, safe="")
    category = row.category
    if category == "invalid_category":
        return f"/catalog/mapping/{row.affiliate_id}?sku={sku}#focus"
    if category in ("missing_attribute", "invalid_attribute_value"):
        return f"/catalog/mapping/{row.affiliate_id}/attributes?sku={sku}"
    fields = {"invalid_gtin": "f-ean", "image_problem": "f-images", "price_rejected": "f-price",
              "price_divergence": "f-price", "sku_not_sellable": "f-price", "out_of_stock": "f-stock"}  # fmt: skip
    return f"/skus/{sku}#{fields[category]}" if category in fields else None


def cause_fix_url(cause: Any) -> str | None:
    """A cause group's "Corrigir": one mapping fixes every SKU of an unmapped category or a missing attribute."""
    if cause.category in ("invalid_category", "missing_attribute", "invalid_attribute_value"):
        return "/catalog/mapping"
    if cause.category in ("invalid_gtin", "image_problem", "price_rejected"):
        return f"/connections/product?{urlencode({'status': 'error', 'category': cause.category})}"
    return None


env.globals.update(fix_url=fix_url, cause_fix_url=cause_fix_url)


def _mappable(request: Request, account_id: int) -> list[Affiliate]:
    with request.app.state.db.read() as conn:
        return [a for a in list_affiliates(conn, account_id=account_id) if mapping.can_map(a)]


def _affiliate(request: Request, account_id: int, affiliate_id: int) -> Affiliate:
    with request.app.state.db.read() as conn:
        found = find_affiliate(conn, account_id=account_id, affiliate_id=affiliate_id)
    if found is None or not mapping.can_map(found):
        raise NotFound("no such affiliate to map")
    return found


@router.get("/catalog/mapping", include_in_schema=False)
def mapping_home(request: Request) -> Response:
    principal = current_principal(request)
    found = _mappable(request, principal.account_id)
    if found:
        return RedirectResponse(f"/catalog/mapping/{found[0].id}", status_code=303)
    return render(request, "mapping.html", affiliates=[], a=None, page=None, focus=None, error=None)


@router.get("/catalog/mapping/{affiliate_id}", response_class=HTMLResponse, include_in_schema=False)
def mapping_page(request: Request, affiliate_id: RowId) -> Response:
    return _to_sku_page(request, affiliate_id, "f-category") or _category_page(request, affiliate_id)


def _to_sku_page(request: Request, affiliate_id: int, field: str) -> Response | None:
    """A "Corrigir" for an affiliate whose marketplace has no tree to map to (a webhook, a sandbox profile) goes to
    the SKU's own field instead."""
    sku = request.query_params.get("sku")
    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        found = find_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id)
    if sku and found is not None and not mapping.can_map(found):
        return RedirectResponse(f"/skus/{quote(sku, safe='')}#{field}", status_code=303)
    return None


def _category_page(
    request: Request, affiliate_id: int, *, status_code: int = 200, error: str | None = None
) -> Response:
    principal = current_principal(request)
    affiliate = _affiliate(request, principal.account_id, affiliate_id)
    focus = request.query_params.get("category")
    sku = request.query_params.get("sku")
    with request.app.state.db.read() as conn:
        page = mapping.category_page(conn, account_id=principal.account_id, affiliate=affiliate)
        if sku and not focus:
            row = skus_by_code(conn, principal.account_id, [sku]).get(sku)
            focus = row.category if row is not None else None
    return render(
        request, "mapping.html", status_code, affiliates=_mappable(request, principal.account_id), a=affiliate,
        page=page, focus=focus, sku=sku, error=error, name=get_connector_class(affiliate.connector).word,
    )  # fmt: skip


@router.post("/catalog/mapping/{affiliate_id}/fetch", include_in_schema=False, dependencies=[Depends(check_csrf)])
def fetch(request: Request, affiliate_id: RowId) -> Response:
    principal = require(request, Role.OPERATOR)
    affiliate = _affiliate(request, principal.account_id, affiliate_id)
    state = request.app.state
    fetched = mapping.fetch_structure(
        state.db, box=state.box, settings=state.settings, affiliate=affiliate, account_id=principal.account_id
    )
    if fetched.error:
        return _category_page(request, affiliate_id, status_code=502, error=translator(request).message(fetched.error))
    return redirect_back(request, f"/catalog/mapping/{affiliate_id}", f"mapping_fetched:{fetched.categories}")


@router.post("/catalog/mapping/{affiliate_id}/category", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def map_category(request: Request, affiliate_id: RowId) -> Response:
    principal = require(request, Role.OPERATOR)
    affiliate = _affiliate(request, principal.account_id, affiliate_id)
    form = await request.form()
    category, target = str(form.get("category") or ""), str(form.get("target") or "")
    sku = str(form.get("sku") or "")[:64] or None  # one SKU's own category, over its store category's
    try:
        with request.app.state.db.write() as conn:
            n = mapping.map_category(
                conn, account_id=principal.account_id, affiliate=affiliate, store_category=category[:120],
                target=target, actor=principal.actor, sku=sku,
            )  # fmt: skip
    except InputError as exc:
        return _category_page(request, affiliate_id, status_code=400, error=told(request, exc))
    back = f"/catalog/mapping/{affiliate_id}?{urlencode({'sku': sku} if sku else {'category': category})}"
    return redirect_back(request, back, f"mapping_saved:{n}")


@router.get("/catalog/mapping/{affiliate_id}/attributes", response_class=HTMLResponse, include_in_schema=False)
def attributes_page(request: Request, affiliate_id: RowId) -> Response:
    return _to_sku_page(request, affiliate_id, "f-attributes") or _attributes_page(request, affiliate_id)


def _attributes_page(
    request: Request,
    affiliate_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    focus: str = "",
    report: catalog_sheet.SheetReport | None = None,
) -> Response:
    principal = current_principal(request)
    affiliate = _affiliate(request, principal.account_id, affiliate_id)
    category = request.query_params.get("category") or ""
    sku = request.query_params.get("sku")
    with request.app.state.db.read() as conn:
        if sku and not category:
            category = mapping.target_of(conn, account_id=principal.account_id, affiliate=affiliate, sku=sku) or ""
        page = mapping.attribute_page(conn, account_id=principal.account_id, affiliate=affiliate, category=category)
    return render(
        request, "mapping_attributes.html", status_code, a=affiliate, page=page, sku=sku, error=error,
        fields=list(FIELDS), focus=focus or request.query_params.get("attribute") or "", report=report,
        name=get_connector_class(affiliate.connector).word,
    )  # fmt: skip


@router.post("/catalog/mapping/{affiliate_id}/attribute", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def map_attribute(request: Request, affiliate_id: RowId) -> Response:
    principal = require(request, Role.OPERATOR)
    affiliate = _affiliate(request, principal.account_id, affiliate_id)
    form = await request.form()
    category, attribute = str(form.get("category") or ""), str(form.get("attribute") or "")
    try:
        with request.app.state.db.write() as conn:
            n = mapping.map_attribute(
                conn, account_id=principal.account_id, affiliate=affiliate, category=category, attribute=attribute,
                source=str(form.get("source") or ""), store_attribute=str(form.get("store_attribute") or "") or None,
                value=str(form.get("value") or "") or None, value_map=value_map(str(form.get("value_map") or "")),
                actor=principal.actor,
            )  # fmt: skip
    except InputError as exc:
        request.scope["query_string"] = urlencode({"category": category}).encode()
        return _attributes_page(request, affiliate_id, status_code=400, error=told(request, exc), focus=attribute)
    back = f"/catalog/mapping/{affiliate_id}/attributes?{urlencode({'category': category})}"
    return redirect_back(request, back, f"mapping_saved:{n}")


@router.get("/catalog/mapping/{affiliate_id}/export.{fmt}", include_in_schema=False)
def export_sheet(request: Request, affiliate_id: RowId, fmt: str) -> Response:
    principal = current_principal(request)
    affiliate = _affiliate(request, principal.account_id, affiliate_id)
    category = request.query_params.get("category") or ""
    if fmt not in SHEET_TYPES:
        raise NotFound("export as .xlsx or .csv")
    with request.app.state.db.read() as conn:
        if fmt == "xlsx":
            data = catalog_sheet.export_xlsx(
                conn, account_id=principal.account_id, affiliate=affiliate, category=category
            )
        else:
            text = catalog_sheet.export_csv(
                conn, account_id=principal.account_id, affiliate=affiliate, category=category
            )
            data = text.encode("utf-8")
    name = f"{affiliate.code}-{category}".replace('"', "")[:80]
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    return Response(data, media_type=SHEET_TYPES[fmt], headers=headers)


@router.post("/catalog/mapping/{affiliate_id}/import", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def import_sheet(request: Request, affiliate_id: RowId) -> Response:
    principal = require(request, Role.OPERATOR)
    affiliate = _affiliate(request, principal.account_id, affiliate_id)
    form = await request.form()
    category, upload = str(form.get("category") or ""), form.get("file")
    if "\x00" in category:  # its body is not searched for NULs, the file being binary (api/limits.py)
        raise InputError(say("msg.bulk.bad_value", field="category"), field="category")
    request.scope["query_string"] = urlencode({"category": category}).encode()
    if isinstance(upload, str) or upload is None:
        return _attributes_page(
            request, affiliate_id, status_code=400, error=translator(request)("msg.sheet.choose_file")
        )
    data = await upload.read(SHEET_LIMIT + 1)
    if len(data) > SHEET_LIMIT:
        return _attributes_page(
            request, affiliate_id, status_code=400, error=translator(request)("msg.sheet.too_large", megabytes=10)
        )
    try:
        lines = catalog_sheet.read_sheet(data, upload.filename or "")
        with request.app.state.db.write() as conn:
            report = catalog_sheet.import_sheet(
                conn, account_id=principal.account_id, affiliate=affiliate, category=category, lines=lines,
                actor=principal.actor,
            )  # fmt: skip
    except InputError as exc:
        return _attributes_page(request, affiliate_id, status_code=400, error=told(request, exc))
    return _attributes_page(request, affiliate_id, report=report)


def value_map(text: str) -> dict[str, str]:
    """ "store value = marketplace value" lines (the form's textarea) as a map; lines without "=" are skipped."""
    found = {}
    for line in text.splitlines()[:200]:
        store, sep, marketplace = line.partition("=")
        if sep and store.strip() and marketplace.strip():
            found[store.strip()] = marketplace.strip()
    return found
