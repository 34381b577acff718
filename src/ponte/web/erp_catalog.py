"""The catalog page of an ERP affiliate (Bling): start a first import, follow its progress, read the products it
rejected and why. The import runs in the worker (or `ponte catalog import-erp`); the page reloads itself while it
goes on."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ponte.domain import Role
from ponte.domain.messages import Message
from ponte.services import erp_catalog
from ponte.services.errors import InputError, NotFound
from ponte.store.affiliates import find_affiliate
from ponte.store.erp_catalog import catalog_read
from ponte.web.connections import redirect_back
from ponte.web.render import render
from ponte.web.routing import PageRoute, RowId
from ponte.web.session import check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)
SHOWN = 500  # rejected products listed on the page


@router.get("/affiliates/{affiliate_id}/catalog", response_class=HTMLResponse, include_in_schema=False)
def catalog_page(request: Request, affiliate_id: RowId) -> Response:
    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        affiliate = find_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id)
        if affiliate is None or not erp_catalog.reads_catalog(affiliate):
            raise NotFound("no such ERP affiliate")
        state = catalog_read(conn, affiliate_id=affiliate.id)
    rejected = [(r.get("sku"), Message.from_json(r.get("reason"))) for r in (state.rejected if state else [])[:SHOWN]]
    return render(request, "erp_catalog.html", affiliate=affiliate, state=state, rejected=rejected)


@router.post("/affiliates/{affiliate_id}/catalog/import", include_in_schema=False, dependencies=[Depends(check_csrf)])
def start(request: Request, affiliate_id: RowId) -> Response:
    principal = require(request, Role.ADMIN)
    try:
        with request.app.state.db.write() as conn:
            erp_catalog.start_import(
                conn, account_id=principal.account_id, affiliate_id=affiliate_id, actor=principal.actor
            )
    except InputError:
        raise NotFound("no such ERP affiliate")
    return redirect_back(request, f"/affiliates/{affiliate_id}/catalog", "erp_import_started:1")
