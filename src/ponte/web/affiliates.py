"""The affiliates page: register, edit, test and disable connections to marketplaces and ERPs.

Connector settings are drawn from each connector's Settings model; secret fields are never shown back,
and one left empty keeps its stored value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from ponte.connectors.capabilities import reads_back
from ponte.domain import Role
from ponte.domain.messages import say
from ponte.services.erp_catalog import reads_catalog
from ponte.services.errors import InputError
from ponte.web import policy_with_form_targets
from ponte.web.connections import redirect_back
from ponte.web.render import render, told, translator
from ponte.web.routing import PageRoute, RowId, as_id
from ponte.web.session import check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)


@dataclass(frozen=True)
class SettingField:
    name: str
    secret: bool
    required: bool
    structured: bool  # a dict or list, edited as JSON
    default: Any = None  # shown in the form of a new affiliate (the marketplace's real URLs, say)


def setting_fields(connector: str) -> list[SettingField]:
    from ponte.connectors.registry import get_connector_class, secret_fields

    cls = get_connector_class(connector)
    secrets = secret_fields(cls)
    fields = []
    for name, info in cls.Settings.model_fields.items():
        structured = "dict" in str(info.annotation) or "list" in str(info.annotation)
        default = None if info.is_required() or structured else info.get_default(call_default_factory=True)
        fields.append(SettingField(name, name in secrets, info.is_required(), structured, default))
    return fields


def _connectors() -> dict[str, list[SettingField]]:
    from ponte.connectors.registry import available_connectors

    return {kind: setting_fields(kind) for kind in sorted(available_connectors())}


def _settings_from_form(form: FormData, connector: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in setting_fields(connector):
        raw = str(form.get(f"settings.{f.name}") or "").strip()
        if not raw:
            continue
        if f.structured:
            try:
                values[f.name] = json.loads(raw)
            except (ValueError, RecursionError):  # nested a thousand deep is not JSON anyone means
                raise InputError(say("msg.affiliate.setting_json", field=f.name), field=f"settings.{f.name}")
        else:
            values[f.name] = raw
    return values


def _common_from_form(form: FormData) -> dict[str, Any]:
    min_av = str(form.get("min_availability") or "").strip()
    try:
        tolerance = float(str(form.get("price_tolerance_pct") or "0").replace(",", "."))
    except ValueError:
        raise InputError(say("msg.input.not_a_number", field="price_tolerance_pct"), field="price_tolerance_pct")
    if min_av and not (min_av.isascii() and min_av.isdigit() and len(min_av) <= 8 and int(min_av) <= 10_000_000):
        raise InputError(
            say("msg.input.whole_number", field="min_availability", maximum=10_000_000), field="min_availability"
        )
    return {
        "name": str(form.get("name") or ""),
        "kind": str(form.get("kind") or "marketplace"),
        "min_availability": int(min_av) if min_av else None,
        "price_tolerance_pct": tolerance,
        "price_divergence_action": str(form.get("price_divergence_action") or "deny"),
    }


def _page(request: Request, *, status_code: int = 200, **extra: Any) -> Response:
    from ponte.services import affiliates

    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        rows = affiliates.list_affiliates(conn, account_id=principal.account_id)
        connections = affiliates.connection_states(conn, rows)
    shown = [(row, affiliates.public_settings(row)) for row in rows]
    response = render(
        request,
        "affiliates.html",
        status_code,
        rows=shown,
        connectors=_connectors(),
        connections=connections,
        connector_name=_connector_name,
        connector_word=_connector_word,
        reads_back=reads_back,
        reads_catalog=reads_catalog,
        **extra,
    )
    # "Conectar" posts here, and Ponte answers with the marketplace's consent page: the form may go there.
    origins = [_consent_origin(row) for row in rows if connections[row.id].oauth]
    response.headers["content-security-policy"] = policy_with_form_targets([o for o in origins if o])
    return response


def _consent_origin(row: Any) -> str | None:
    from ponte.connectors.registry import get_connector_class

    try:
        return get_connector_class(row.connector).consent_origin(row.settings)
    except LookupError:
        return None


def _connector_word(kind: str, locale: str, key: str) -> str:
    from ponte.connectors.registry import get_connector_class

    try:
        return get_connector_class(kind).word(locale, key)
    except LookupError:
        return ""


def _connector_name(kind: str, locale: str) -> str:
    from ponte.connectors.registry import get_connector_class

    try:
        return get_connector_class(kind).word(locale, "name")
    except LookupError:
        return kind


@router.get("/affiliates", response_class=HTMLResponse, include_in_schema=False)
def affiliates_page(request: Request) -> Response:
    edit = request.query_params.get("edit")
    return _page(request, edit=as_id(edit))


@router.post("/affiliates", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def create(request: Request) -> Response:
    from ponte.services import affiliates

    principal = require(request, Role.ADMIN)
    form = await request.form()
    connector = str(form.get("connector") or "")
    try:
        with request.app.state.db.write() as conn:
            affiliates.create_affiliate(
                conn,
                box=request.app.state.box,
                account_id=principal.account_id,
                actor=principal.actor,
                code=str(form.get("code") or ""),
                connector=connector,
                settings=_settings_from_form(form, connector) if connector else {},
                **_common_from_form(form),
            )
    except (InputError, LookupError) as exc:
        return _page(request, status_code=400, error=told(request, exc), form=dict(form))
    return redirect_back(request, "/affiliates", "affiliate_saved:1")


@router.post("/affiliates/{affiliate_id}", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def update(request: Request, affiliate_id: RowId) -> Response:
    from ponte.services import affiliates

    principal = require(request, Role.ADMIN)
    form = await request.form()
    try:
        with request.app.state.db.write() as conn:
            row = affiliates.get_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id)
            changes = {**_common_from_form(form), "settings": _settings_from_form(form, row.connector)}
            affiliates.update_affiliate(
                conn,
                box=request.app.state.box,
                account_id=principal.account_id,
                affiliate_id=affiliate_id,
                changes=changes,
                actor=principal.actor,
            )
    except (InputError, LookupError) as exc:
        return _page(request, status_code=400, error=told(request, exc), edit=affiliate_id)
    return redirect_back(request, "/affiliates", "affiliate_saved:1")


@router.post("/affiliates/{affiliate_id}/enabled", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def set_enabled(request: Request, affiliate_id: RowId) -> Response:
    from ponte.services import affiliates

    principal = require(request, Role.ADMIN)
    form = await request.form()
    enabled = form.get("enabled") == "1"
    with request.app.state.db.write() as conn:
        affiliates.update_affiliate(
            conn,
            box=request.app.state.box,
            account_id=principal.account_id,
            affiliate_id=affiliate_id,
            changes={"enabled": enabled},
            actor=principal.actor,
        )
    return redirect_back(request, "/affiliates", "affiliate_enabled:1" if enabled else "affiliate_disabled:1")


@router.post("/affiliates/{affiliate_id}/test", include_in_schema=False, dependencies=[Depends(check_csrf)])
def test_connection(request: Request, affiliate_id: RowId) -> Response:
    """Ask the connector to check its settings and credentials; the answer is shown, nothing is changed."""
    from ponte.services import affiliates

    principal = require(request, Role.OPERATOR)
    state = request.app.state
    with state.db.read() as conn:
        row = affiliates.get_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id)
    outcome = affiliates.check_connection(state.db, box=state.box, settings=state.settings, affiliate=row)
    result = {"status": outcome.status.value, "message": outcome.message, "said": outcome.said}
    return _page(request, tested=affiliate_id, result=result)


@router.post("/affiliates/{affiliate_id}/connect", include_in_schema=False, dependencies=[Depends(check_csrf)])
def connect(request: Request, affiliate_id: RowId) -> Response:
    """Send the seller to the marketplace's consent page ("Conectar com o Mercado Livre", "Reconectar")."""
    from ponte.services import affiliates, oauth

    principal = require(request, Role.ADMIN)
    state = request.app.state
    with state.db.read() as conn:
        row = affiliates.get_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id)
    try:
        url = oauth.start_authorisation(
            state.db,
            box=state.box,
            settings=state.settings,
            affiliate=row,
            actor=principal.actor,
            base_url=state.settings.public_url or str(request.base_url),
        )
    except (InputError, LookupError, ValueError) as exc:
        return _page(request, status_code=400, error=told(request, exc))
    return RedirectResponse(url, status_code=303)


@router.get("/oauth/callback/{kind}", include_in_schema=False)
def oauth_callback(request: Request, kind: str) -> Response:
    """Where the marketplace sends the seller back: the state is checked, the code traded for tokens."""
    from ponte.connectors.registry import get_connector_class
    from ponte.services import oauth

    principal = require(request, Role.ADMIN)
    params = request.query_params
    if params.get("error"):
        # The seller said no, or the marketplace refused the app: its words, never a token.
        reason = str(params.get("error_description") or params.get("error"))[:300]
        return _page(request, status_code=400, error=reason)
    try:
        cls = get_connector_class(kind)
    except LookupError:
        return _page(request, status_code=400, error=translator(request)("msg.connector.not_installed", connector=kind))
    code, given_state = params.get(cls.code_parameter), params.get("state")
    if not code or not given_state:
        return _page(request, status_code=400, error=translator(request)("msg.oauth.no_code"))
    extras = {name: str(params[name])[:200] for name in cls.callback_extras if params.get(name)}
    state = request.app.state
    try:
        connected = oauth.complete_authorisation(
            state.db,
            box=state.box,
            settings=state.settings,
            kind=kind,
            state=given_state,
            code=code,
            account_id=principal.account_id,
            extras=extras,
        )
    except oauth.AuthorisationFailed as exc:
        return _page(request, status_code=400, error=told(request, exc))
    return redirect_back(request, f"/affiliates#aff-{connected.affiliate.id}", "affiliate_connected:1")
