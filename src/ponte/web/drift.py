"""The "Divergências / Drift" page of an affiliate: what reconciliation found the marketplace holds against the store,
counted by kind, listed, exported, and repaired on request; the account's reconciliation settings beside it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ponte.domain import Role
from ponte.services import reconcile
from ponte.store.reconcile import KINDS
from ponte.web.connections import redirect_back
from ponte.web.i18n import catalog
from ponte.web.render import render, translator
from ponte.web.routing import PageRoute, RowId, as_id
from ponte.web.session import check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)


@router.get("/affiliates/{affiliate_id}/drift", response_class=HTMLResponse, include_in_schema=False)
def drift_page(request: Request, affiliate_id: RowId, kind: str | None = None) -> Response:
    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        view = reconcile.drift_view(conn, account_id=principal.account_id, affiliate_id=affiliate_id, kind=kind)
    return render(request, "drift.html", v=view, kind=kind or "", kinds=KINDS)


@router.get("/affiliates/{affiliate_id}/drift.csv", include_in_schema=False)
def drift_export(request: Request, affiliate_id: RowId, kind: str | None = None) -> Response:
    principal = current_principal(request)
    t = translator(request)
    labels = {
        key: t(f"drift.col.{key}")
        for key in ("sku", "listing", "kind", "store", "sent", "held", "cause", "found", "status")
    }
    labels |= {f"kind.{k}": t(f"drift.kind.{k}") for k in KINDS}
    labels |= {f"status.{s}": t(f"drift.status.{s}") for s in ("open", "repairing", "resolved")}
    words = catalog(t.locale).items()
    labels |= {key[len("drift.") :]: text for key, text in words if key.startswith(("drift.cause.", "drift.value."))}
    with request.app.state.db.read() as conn:
        body = reconcile.export_csv(
            conn, account_id=principal.account_id, affiliate_id=affiliate_id, kind=kind, labels=labels
        )
    name = f"ponte-drift-{affiliate_id}-{datetime.now(t.tz):%Y%m%d-%H%M}.csv"
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/affiliates/{affiliate_id}/drift/repair", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def drift_repair(request: Request, affiliate_id: RowId) -> Response:
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    ids = [i for i in (as_id(v) for v in form.getlist("id")) if i is not None]
    kind = str(form.get("kind") or "") or None
    with request.app.state.db.write() as conn:
        count = reconcile.repair_drifts(
            conn, account_id=principal.account_id, affiliate_id=affiliate_id, actor=principal.actor,
            ids=ids or None, kind=kind,
        )  # fmt: skip
    target = f"/affiliates/{affiliate_id}/drift" + (f"?kind={kind}" if kind else "")
    return redirect_back(request, target, f"drift_repaired:{count}")


@router.post("/affiliates/{affiliate_id}/drift/settings", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def drift_settings(request: Request, affiliate_id: RowId) -> Response:
    principal = require(request, Role.ADMIN)
    form = await request.form()
    values = {key: str(value) for key, value in form.items() if key != "csrf"}
    with request.app.state.db.write() as conn:
        reconcile.save_settings(conn, account_id=principal.account_id, actor=principal.actor, values=values)
    return redirect_back(request, f"/affiliates/{affiliate_id}/drift", "drift_settings_saved:1")
