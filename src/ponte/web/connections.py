"""The Connections screen: five tabs of integrations with filter, search, expand all, export, reprocess, live refresh."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from ponte.domain import Flow, Role, Status
from ponte.domain.messages import say
from ponte.engine.queue import count_reprocessable, reprocess_integrations
from ponte.exports import export_integrations
from ponte.services import connections, rules
from ponte.services.affiliates import list_affiliates
from ponte.services.errors import InputError
from ponte.store.affiliates import Affiliate
from ponte.store.filters import IntegrationFilter
from ponte.web import explain
from ponte.web.render import render, stamp_hash, translator, url_with
from ponte.web.routing import PageRoute, RowId, as_id
from ponte.web.session import FLASH_COOKIE, check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)
PAGE_SIZE = 50
FLOW_VALUES = tuple(f.value for f in Flow)
STATUS_VALUES = tuple(s.value for s in Status)


def _flow(flow: str) -> str:
    if flow not in FLOW_VALUES:
        raise InputError(say("msg.input.unknown_tab", tab=flow), field="flow")
    return flow


def day_bound(value: str | None, tz: Any, *, end: bool) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InputError(say("msg.input.not_a_date", value=value), field="to" if end else "from")
    start = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=tz)
    return start


def filter_from_query(request: Request, flow: str | None) -> IntegrationFilter:
    """The filter in the page's query string: status, affiliate, category, from/to (days), id prefix, words."""
    q = request.query_params
    tz = translator(request).tz
    date_from, date_to = day_bound(q.get("from"), tz, end=False), day_bound(q.get("to"), tz, end=True)  # "to" included
    connections.check_date_range(date_from, date_to)
    return IntegrationFilter(
        flow=flow,
        statuses=tuple(s for s in q.getlist("status") if s in STATUS_VALUES),
        affiliates=tuple(a for a in q.getlist("affiliate") if a),
        categories=tuple(c for c in q.getlist("category") if c),
        date_from=date_from,
        date_to=date_to,
        entity_prefix=(q.get("id") or "").strip() or None,
        words=(q.get("q") or "").strip() or None,
    )


def affiliate_options(request: Request, account_id: int) -> list[Affiliate]:
    """The account's affiliates by code, for the filters' choices."""
    with request.app.state.db.read() as conn:
        return sorted(list_affiliates(conn, account_id=account_id), key=lambda a: a.code)


@router.get("/connections", include_in_schema=False)
def connections_home() -> RedirectResponse:
    return RedirectResponse("/connections/order", status_code=303)


@router.get("/connections/{flow}", response_class=HTMLResponse, include_in_schema=False)
def connections_page(request: Request, flow: str) -> Response:
    principal = current_principal(request)
    flt = filter_from_query(request, _flow(flow))
    cursor = request.query_params.get("cursor")
    expand_all = request.query_params.get("expand") == "all"
    with request.app.state.db.read() as conn:
        page = connections.list_integrations(
            conn, account_id=principal.account_id, filter=flt, cursor=cursor, limit=PAGE_SIZE
        )
        details = (
            connections.recent_attempts(
                conn, account_id=principal.account_id, integration_ids=[r.id for r in page.rows]
            )
            if expand_all
            else {}
        )
        if request.headers.get("hx-request") and cursor:
            return render(request, "_rows.html", page=page, flow=flow, details=details, expand_all=expand_all)
        counts = connections.tab_counts(conn, account_id=principal.account_id, flow=flow, filter=flt)
        badges = connections.flow_error_counts(conn, account_id=principal.account_id)
    t = translator(request)
    return render(
        request,
        "connections.html",
        page=page,
        flow=flow,
        flt=flt,
        counts=counts,
        badges=badges,
        details=details,
        expand_all=expand_all,
        digest=_counts_digest(counts, badges),
        affiliates=affiliate_options(request, principal.account_id),
        categories=explain.all_categories(t.locale),
        q=request.query_params,
    )


@router.get("/connections/{flow}/live", include_in_schema=False)
def connections_live(request: Request, flow: str) -> Response:
    """What changed since the page drew itself: its rows ("s" is "id.hash,id.hash…" as the page knows them), the
    status counts and tab badges ("c", their fingerprint as the page knows it) and how many new rows now come
    before the page's first one. 204 when nothing did. Counts come from the kept counters; a filter the counters
    cannot answer is re-counted only when one of its rows changed."""
    principal = current_principal(request)
    flt = filter_from_query(request, _flow(flow))
    known: dict[int, str] = {}
    for part in (request.query_params.get("s") or "").split(",")[: connections.MAX_LIMIT]:
        ident, _, row_digest = part.partition(".")
        row_id = as_id(ident)
        if row_id is not None:
            known[row_id] = row_digest
    with request.app.state.db.read() as conn:
        rows = connections.current_rows(conn, account_id=principal.account_id, ids=list(known))
        changed = [r for r in rows if stamp_hash(r.stamp) != known.get(r.id)]
        newest = connections.list_integrations(conn, account_id=principal.account_id, filter=flt, limit=PAGE_SIZE)
        fresh = list(itertools.takewhile(lambda r: r.id not in known, newest.rows)) if known else []
        recount = changed or connections.counted_by_counters(flt)
        counts = (
            connections.tab_counts(conn, account_id=principal.account_id, flow=flow, filter=flt) if recount else None
        )
        badges = connections.flow_error_counts(conn, account_id=principal.account_id)
    digest = _counts_digest(counts, badges)
    counts_changed = digest is not None and digest != request.query_params.get("c")
    if not changed and not fresh and not counts_changed:
        return Response(status_code=204)
    return render(
        request,
        "_live.html",
        rows=changed,
        flow=flow,
        counts=counts if counts_changed else None,
        badges=badges,
        digest=digest,
        new_rows=len(fresh),
        flt=flt,
    )


def _counts_digest(counts: connections.Counts | None, badges: dict[str, int]) -> str | None:
    """A fingerprint of what the counts and badges show: the page sends it back, to hear only of a change."""
    if counts is None:
        return None
    return stamp_hash(repr((sorted(counts.by_status.items()), sorted(counts.capped), sorted(badges.items()))))


@router.get("/integrations/{integration_id}", response_class=HTMLResponse, include_in_schema=False)
def integration_details(request: Request, integration_id: RowId) -> Response:
    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        detail = connections.get_integration(conn, account_id=principal.account_id, integration_id=integration_id)
        row = detail.row
        newest = detail.attempts[0] if detail.attempts else None
        likely = row.status == "error" and rules.is_likely_guess(
            conn,
            account_id=principal.account_id,
            affiliate_id=row.affiliate_id,
            flow=row.flow,
            message=row.message,
            code=row.code,
            category=row.category,
            http_status=newest.http_status if newest else None,
        )
    template = "_details.html" if request.headers.get("hx-request") else "integration.html"
    return render(
        request, template, row=row, attempts=detail.attempts, more=detail.more_attempts, full=True, likely=likely
    )


@router.post("/integrations/{integration_id}/reprocess", include_in_schema=False, dependencies=[Depends(check_csrf)])
def reprocess_one(request: Request, integration_id: RowId) -> Response:
    principal = require(request, Role.OPERATOR)
    with request.app.state.db.write() as conn:
        connections.get_integration(
            conn, account_id=principal.account_id, integration_id=integration_id, attempt_limit=0
        )
        reprocess_integrations(conn, account_id=principal.account_id, actor=principal.actor, ids=[integration_id])
        (row,) = connections.current_rows(conn, account_id=principal.account_id, ids=[integration_id])
    if request.headers.get("hx-request"):
        return render(request, "_row.html", row=row, flow=row.flow, expanded=False)
    return redirect_back(request, _same_site_referer(request) or f"/connections/{row.flow}", "reprocessed:1")


@router.post("/connections/{flow}/reprocess-selected", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def reprocess_selected(request: Request, flow: str) -> Response:
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    ids = [i for i in map(as_id, form.getlist("ids")) if i is not None][: connections.MAX_LIMIT]
    if not ids:
        return redirect_back(request, f"/connections/{_flow(flow)}", "nothing_selected:0")
    with request.app.state.db.write() as conn:
        n = reprocess_integrations(conn, account_id=principal.account_id, actor=principal.actor, ids=ids)
    return redirect_back(request, _same_site_referer(request) or f"/connections/{_flow(flow)}", f"reprocessed:{n}")


@router.get("/connections/{flow}/reprocess", response_class=HTMLResponse, include_in_schema=False)
def reprocess_filter_confirm(request: Request, flow: str) -> Response:
    """The dry run: how many rows the filter's reprocess will queue, and a reason to give before it runs."""
    principal = require(request, Role.OPERATOR)
    flt = filter_from_query(request, _flow(flow))
    with request.app.state.db.read() as conn:
        n = count_reprocessable(conn, account_id=principal.account_id, filter=flt)
    back = url_with(request, f"/connections/{flow}")
    return render(request, "reprocess_confirm.html", n=n, flow=flow, back=back, action=url_with(request))


@router.post("/connections/{flow}/reprocess", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def reprocess_filter(request: Request, flow: str) -> Response:
    principal = require(request, Role.OPERATOR)
    flt = filter_from_query(request, _flow(flow))
    form = await request.form()
    reason = str(form.get("reason") or "").strip()
    t = translator(request)
    if not reason:
        with request.app.state.db.read() as conn:
            n = count_reprocessable(conn, account_id=principal.account_id, filter=flt)
        back = url_with(request, f"/connections/{flow}")
        return render(
            request,
            "reprocess_confirm.html",
            400,
            n=n,
            flow=flow,
            back=back,
            action=url_with(request),
            error=t("reprocess.reason_required"),
        )
    with request.app.state.db.write() as conn:
        n = reprocess_integrations(
            conn, account_id=principal.account_id, actor=principal.actor, filter=flt, reason=reason[:500]
        )
    # Back to the same filter, showing what was just queued (the rows no longer have their old status).
    return redirect_back(request, url_with(request, f"/connections/{flow}", status="pending"), f"reprocessed:{n}")


@router.get("/connections/{flow}/export.{fmt}", include_in_schema=False)
def export(request: Request, flow: str, fmt: str) -> Response:
    principal = current_principal(request)
    if fmt not in ("xlsx", "csv"):
        raise InputError(say("msg.input.export_format"), field="fmt")
    flt = filter_from_query(request, _flow(flow))
    t = translator(request)
    chunks = export_integrations(
        request.app.state.db,
        account_id=principal.account_id,
        filter=flt,
        fmt=fmt,  # type: ignore[arg-type]
        locale=t.locale,
        tz=str(t.tz),
        category_titles=explain.titles(t.locale),
        masked=not principal.can(Role.OPERATOR),  # viewers do not see buyers' personal data
    )
    media = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"ponte-{flow}-{datetime.now(t.tz):%Y%m%d-%H%M}.{fmt}"
    return StreamingResponse(
        chunks, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _same_site_referer(request: Request) -> str | None:
    """The page the form was posted from, when it is one of ours (a plain form POST returns there)."""
    referer = request.headers.get("referer") or ""
    base = str(request.base_url)
    return "/" + referer[len(base) :] if referer.startswith(base) else None


def redirect_back(request: Request, url: str, message: str) -> Response:
    """Redirect after a POST, with a flash "key:number" the next page shows once."""
    if request.headers.get("hx-request"):
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    response.set_cookie(FLASH_COOKIE, message, max_age=60, httponly=True, samesite="lax")
    return response
