"""The Alerts page: the account's rules, where messages go (e-mail, webhook), and the history of incidents.

Everyone signed in reads it; only an admin changes rules and channels. Channel secrets are never shown back.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from ponte.alerts import channels as channel_service
from ponte.alerts import incidents as incident_service
from ponte.alerts import rules as rule_service
from ponte.domain import Role
from ponte.domain.messages import say
from ponte.services.affiliates import list_affiliates
from ponte.services.errors import InputError
from ponte.web.connections import redirect_back
from ponte.web.render import render, told
from ponte.web.routing import PageRoute, RowId, as_id
from ponte.web.session import check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)
NUMBERS = ("threshold", "window_minutes", "min_count")


def _page(request: Request, *, status_code: int = 200, error: str | None = None) -> Response:
    principal = current_principal(request)
    with request.app.state.db.write() as conn:  # write: an account seeing its rules for the first time gets defaults
        rules = rule_service.list_rules(conn, account_id=principal.account_id)
    with request.app.state.db.read() as conn:
        channels = [
            channel_service.public(c) for c in channel_service.list_channels(conn, account_id=principal.account_id)
        ]
        incidents = incident_service.list_incidents(conn, account_id=principal.account_id, limit=50)
        messages = incident_service.list_messages(
            conn, account_id=principal.account_id, incident_ids=[i.id for i in incidents]
        )
    return render(
        request,
        "alerts.html",
        status_code,
        rules=rules,
        channels=channels,
        incidents=incidents,
        messages=messages,
        affiliates=_affiliates(request, principal.account_id),
        kinds=rule_service.KINDS,
        fields=rule_service.FIELDS,
        error=error,
    )


def _affiliates(request: Request, account_id: int) -> dict[int, str]:
    """{id: code} of the account's affiliates, for the rules' scope."""
    with request.app.state.db.read() as conn:
        found = list_affiliates(conn, account_id=account_id)
    return {a.id: a.code for a in sorted(found, key=lambda a: a.code)}


def _numbers(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in NUMBERS:
        raw = str(form.get(name) or "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            values[name] = float(raw) if name == "threshold" else int(raw)
        except ValueError:
            raise InputError(say("msg.input.not_a_number", field=name), field=name)
    return values


@router.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_page(request: Request) -> Response:
    return _page(request)


@router.post("/alerts/rules", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def create_rule(request: Request) -> Response:
    principal = require(request, Role.ADMIN)
    form = await request.form()
    affiliate = str(form.get("affiliate_id") or "")
    try:
        with request.app.state.db.write() as conn:
            rule_service.create_rule(
                conn,
                account_id=principal.account_id,
                kind=str(form.get("kind") or ""),
                flow=str(form.get("flow") or "") or None,
                affiliate_id=as_id(affiliate),
                **_numbers(form),
            )
    except InputError as exc:
        return _page(request, status_code=400, error=told(request, exc))
    return redirect_back(request, "/alerts", "alerts_saved:1")


@router.post("/alerts/rules/{rule_id}", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def change_rule(request: Request, rule_id: RowId) -> Response:
    principal = require(request, Role.ADMIN)
    form = await request.form()
    changes: dict[str, Any] = {"enabled": form.get("enabled") == "1"}
    try:
        changes.update(_numbers(form))
        with request.app.state.db.write() as conn:
            rule_service.update_rule(conn, account_id=principal.account_id, rule_id=rule_id, changes=changes)
    except InputError as exc:
        return _page(request, status_code=400, error=told(request, exc))
    return redirect_back(request, "/alerts", "alerts_saved:1")


@router.post("/alerts/rules/{rule_id}/delete", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def delete_rule(request: Request, rule_id: RowId) -> Response:
    principal = require(request, Role.ADMIN)
    try:
        with request.app.state.db.write() as conn:
            rule_service.delete_rule(conn, account_id=principal.account_id, rule_id=rule_id)
    except InputError as exc:
        return _page(request, status_code=400, error=told(request, exc))
    return redirect_back(request, "/alerts", "alerts_deleted:1")


@router.post("/alerts/channels", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def create_channel(request: Request) -> Response:
    principal = require(request, Role.ADMIN)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("host", "port", "from_addr", "to", "username", "password", "url")}
    try:
        with request.app.state.db.write() as conn:
            channel_service.create_channel(
                conn,
                box=request.app.state.box,
                account_id=principal.account_id,
                kind=str(form.get("kind") or ""),
                name=str(form.get("name") or ""),
                values={**values, "starttls": form.get("starttls") == "1"},
                locale=str(form.get("locale") or "pt-BR"),
            )
    except (InputError, ValueError) as exc:
        return _page(request, status_code=400, error=told(request, exc))
    return redirect_back(request, "/alerts", "alerts_saved:1")


@router.post("/alerts/channels/{channel_id}/delete", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def delete_channel(request: Request, channel_id: RowId) -> Response:
    principal = require(request, Role.ADMIN)
    with request.app.state.db.write() as conn:
        channel_service.delete_channel(conn, account_id=principal.account_id, channel_id=channel_id)
    return redirect_back(request, "/alerts", "alerts_deleted:1")
