"""Login and logout, orders (list, page, integration history), the SKU page and the causes view."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ponte.auth import authenticate, user_id
from ponte.clock import now
from ponte.domain import Flow, Role, Status
from ponte.engine.queue import count_reprocessable, reprocess_integrations
from ponte.services import causes, connections, logins, order_list
from ponte.services.logins import Throttle
from ponte.services.order_list import STEPS, OrderQuery
from ponte.web import explain
from ponte.web.connections import affiliate_options, day_bound, filter_from_query, redirect_back
from ponte.web.render import STATUSES, render, translator, url_with
from ponte.web.routing import PageRoute, as_id
from ponte.web.session import (
    LOGIN_CSRF_COOKIE,
    check_csrf,
    current_principal,
    end_session,
    login_csrf,
    login_csrf_ok,
    remember_login_csrf,
    require,
    start_session,
)

router = APIRouter(route_class=PageRoute)


def _safe_next(value: str | None) -> str:
    # Only paths on this site: "//evil.example" or "https://…" would make the login page an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/overview"


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/overview", status_code=303)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> Response:
    return _login_form(request, 200, next=_safe_next(request.query_params.get("next")))


def _login_form(request: Request, status: int, *, next: str, error: str | None = None, email: str = "") -> Response:
    token = login_csrf(request)
    response = render(request, "login.html", status, next=next, error=error, email=email, login_csrf=token)
    remember_login_csrf(request, response, token)
    return response


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    form = await request.form()
    email, password = str(form.get("email") or "")[:254], str(form.get("password") or "")[:1024]
    target = _safe_next(str(form.get("next") or ""))
    if not login_csrf_ok(request, str(form.get("csrf") or "")):
        return _login_form(request, 403, next=target, error=translator(request)("login.expired"), email=email)
    # argon2 takes a tenth of a second of CPU: off the event loop, as FastAPI runs plain routes.
    return await run_in_threadpool(_sign_in, request, email, password, target)


def _sign_in(request: Request, email: str, password: str, target: str) -> Response:
    """Check the throttle and the password; open a session, or answer why not (401, or 429 while locked)."""
    t = translator(request)
    throttle = Throttle(email=email, address=request.client.host if request.client else "?")
    # Reads (and argon2's tenth of a second) outside the write lock; one short write records the outcome.
    with request.app.state.db.read() as conn:
        until = logins.locked_until(conn, throttle=throttle, now=now())
        principal = authenticate(conn, email=email, password=password) if until is None else None
        user = principal and user_id(conn, email=principal.actor)
    if until is not None:
        minutes = max(1, math.ceil((until - now()).total_seconds() / 60))
        answer = _login_form(request, 429, next=target, error=t("login.locked", minutes=minutes), email=email)
        answer.headers["Retry-After"] = str(int((until - now()).total_seconds()) + 1)
        return answer
    with request.app.state.db.write() as conn:
        if principal is None:
            logins.record_failure(conn, throttle=throttle, now=now())
        else:
            logins.record_success(conn, throttle=throttle)
    if principal is None:
        return _login_form(request, 401, next=target, error=t("login.failed"), email=email)
    response = RedirectResponse(target, status_code=303)
    start_session(request, response, user_id=int(str(user)))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", include_in_schema=False, dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response)
    return response


@router.get("/orders", response_class=HTMLResponse, include_in_schema=False)
def orders_page(request: Request) -> Response:
    principal = current_principal(request)
    q = request.query_params
    tz = translator(request).tz
    step = q.get("step") or None
    query = OrderQuery(
        affiliates=tuple(a for a in q.getlist("affiliate") if a),
        statuses=tuple(s for s in q.getlist("status") if s in STATUSES),
        step=step if step in STEPS else None,
        received_from=day_bound(q.get("from"), tz, end=False),
        received_to=day_bound(q.get("to"), tz, end=True),
        prefix=(q.get("id") or "").strip() or None,
    )
    with request.app.state.db.read() as conn:
        page = order_list.list_orders(conn, account_id=principal.account_id, query=query, cursor=q.get("cursor"))
    return render(
        request,
        "orders.html",
        page=page,
        q=q,
        steps=STEPS,
        affiliates=[a for a in affiliate_options(request, principal.account_id) if a.kind == "marketplace"],
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse, include_in_schema=False)
def order_page(request: Request, order_id: str) -> Response:
    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        history = connections.order_history(conn, account_id=principal.account_id, order_id=order_id, limit=0)
    return render(request, "order.html", h=history)


@router.get("/orders/{order_id}/history", response_class=HTMLResponse, include_in_schema=False)
def order_history_page(request: Request, order_id: str) -> Response:
    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        history = connections.order_history(conn, account_id=principal.account_id, order_id=order_id)
    return render(request, "order_history.html", h=history)


@router.post("/skus/{sku:path}/reprocess", include_in_schema=False, dependencies=[Depends(check_csrf)])
def reprocess_sku(request: Request, sku: str) -> Response:
    """ "Reprocessar SKU": every flow of this SKU with every affiliate, sent again with the current catalog."""
    principal = require(request, Role.OPERATOR)
    with request.app.state.db.write() as conn:
        matrix = connections.sku_matrix(conn, account_id=principal.account_id, sku=sku, history_limit=0)
        ids = [cell.id for cell in matrix.cells.values()]
        n = reprocess_integrations(conn, account_id=principal.account_id, actor=principal.actor, ids=ids) if ids else 0
    return redirect_back(request, f"/skus/{quote(sku, safe='')}", f"reprocessed:{n}")


CAUSES_PER_PAGE = 20


@router.get("/causes", response_class=HTMLResponse, include_in_schema=False)
def causes_page(request: Request) -> Response:
    principal = current_principal(request)
    flow = request.query_params.get("flow") or None
    flt = filter_from_query(request, flow if flow in {f.value for f in Flow} else None)
    with request.app.state.db.read() as conn:
        found = connections.list_causes(conn, account_id=principal.account_id, filter=flt)
        rooted = causes.rooted_causes(conn, account_id=principal.account_id, filter=flt, causes=found)
    total = sum(c.count for c in found)
    pages = max(1, math.ceil(len(rooted) / CAUSES_PER_PAGE))
    number = min(max(1, as_id(request.query_params.get("page") or "1") or 1), pages)
    shown = rooted[(number - 1) * CAUSES_PER_PAGE : number * CAUSES_PER_PAGE]
    return render(
        request,
        "causes.html",
        causes=shown,
        groups=len(rooted),
        total=total,
        page_number=number,
        pages=pages,
        flow=flow,
        q=request.query_params,
        affiliates=affiliate_options(request, principal.account_id),
        token=_group_token,
    )


def _group_token(category: str | None, cause: str | None) -> dict[str, Any]:
    return {"category": category or "", "cause": cause or "", "none_cat": "1" if category is None else ""}


@router.post("/causes/reprocess", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def reprocess_cause(request: Request) -> Response:
    """Reprocess one cause group. The first POST shows the count and asks for a reason; the second runs."""
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    category = None if form.get("none_cat") else str(form.get("category") or "") or None
    cause = str(form.get("cause") or "") or None
    flow = request.query_params.get("flow") or None
    base = filter_from_query(request, flow)
    flt = replace(
        base, statuses=base.statuses or (Status.ERROR.value,), categories=(category,) if category else (), cause=cause
    )
    with request.app.state.db.read() as conn:
        count = count_reprocessable(conn, account_id=principal.account_id, filter=flt)
    reason = str(form.get("reason") or "").strip()
    if not reason or form.get("step") != "run":
        t = translator(request)
        error = t("reprocess.reason_required") if form.get("step") == "run" else None
        return render(
            request,
            "cause_confirm.html",
            400 if error else 200,
            n=count,
            category=category,
            cause=cause,
            cat=explain.category(category, t.locale),
            back=url_with(request, "/causes"),
            action=url_with(request),
            error=error,
            none_cat=form.get("none_cat") or "",
        )
    with request.app.state.db.write() as conn:
        n = reprocess_integrations(
            conn, account_id=principal.account_id, actor=principal.actor, filter=flt, reason=reason[:500]
        )
    return redirect_back(request, url_with(request, "/causes"), f"reprocessed:{n}")
