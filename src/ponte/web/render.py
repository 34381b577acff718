"""Rendering: the Jinja environment (autoescape always on), the per-request context, and small view helpers."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ponte.domain import ORDER_FLOWS, Flow, Role
from ponte.domain.messages import from_columns
from ponte.domain.privacy import mask_text
from ponte.i18n import LANGUAGE_NAMES, Translator
from ponte.services.affiliates import list_affiliates
from ponte.web import explain
from ponte.web.bodies import body_view
from ponte.web.session import FLASH_COOKIE, request_locale

TEMPLATES = Path(__file__).parent / "templates"
FLOWS = [f.value for f in Flow]
STATUSES = ("error", "warning", "pending", "success")
STATUS_ICONS = {"success": "✓", "warning": "!", "error": "✕", "pending": "◷"}
DEFAULT_TZ = "America/Sao_Paulo"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def stamp_hash(stamp: str) -> str:
    """A short fingerprint of a row's state: what the live refresh sends back to ask "did it change?"."""
    return format(zlib.crc32(stamp.encode()), "x")


def is_order_flow(flow: str) -> bool:
    return flow in {f.value for f in ORDER_FLOWS}


env.globals.update(
    FLOWS=FLOWS,
    STATUS_ICONS=STATUS_ICONS,
    stamp_hash=stamp_hash,
    is_order_flow=is_order_flow,
    Role=Role,
    LANGUAGE_NAMES=LANGUAGE_NAMES,
    STATUSES=STATUSES,
    body_view=body_view,
    mask_text=mask_text,
    stored_message=from_columns,  # a row's Ponte message from its key and parameters columns
)


def translator(request: Request) -> Translator:
    settings = request.app.state.settings
    tz = getattr(settings, "timezone", DEFAULT_TZ)
    return Translator(request_locale(request), ZoneInfo(tz))


def told(request: Request, exc: Exception) -> str:
    """What an error says to this reader: Ponte's own message in their language, else its text as raised."""
    return translator(request).said(getattr(exc, "said", None), getattr(exc, "message", None) or str(exc))


def url_with(request: Request, path: str | None = None, **changes: Any) -> str:
    """The current URL (or `path`) with query parameters changed; None removes one. Keeps repeated keys."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes and k not in ("cursor", "lang")]
    for key, value in changes.items():
        if value is None:
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            items.append((key, str(v)))
    query = urlencode(items)
    target = path or request.url.path
    return f"{target}?{query}" if query else target


def _flash(request: Request, t: Translator) -> str | None:
    key, _, number = (request.cookies.get(FLASH_COOKIE) or "").partition(":")
    if not key or not t.has(f"flash.{key}"):
        return None
    # "1 integração enviada", "12 integrações enviadas": the catalog gives the plural forms apart.
    return t.plural(f"flash.{key}", int(number) if number.isdigit() else 0)


def _help_links(request: Request, t: Translator) -> Callable[..., str]:
    """help_url(category, affiliate_code): where a row's "?" leads. The account's affiliates are read once per page,
    and only by a page that shows a "?"."""
    known: dict[str, tuple[str, ...]] = {}

    def help_url(category: str, affiliate: str | None = None) -> str:
        if affiliate and not known:
            known.update(_marketplace_names(request))
        return explain.help_url(category, known.get(affiliate or "", ()), t.locale)

    return help_url


def help_targets(help_url: Callable[..., str], category: str, affiliates: list[str]) -> list[tuple[str, str]]:
    """The distinct "?" targets of a group of rows: (the affiliate codes that lead there, the link)."""
    targets: dict[str, list[str]] = {}
    for code in affiliates:
        targets.setdefault(help_url(category, code), []).append(code)
    return [(" · ".join(codes), url) for url, codes in targets.items()]


env.globals["help_targets"] = help_targets


def _marketplace_names(request: Request) -> dict[str, tuple[str, ...]]:
    """Affiliate code → (its marketplace, its connector): the names its help article may go by."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return {"": ()}
    with request.app.state.db.read() as conn:
        found = list_affiliates(conn, account_id=principal.account_id)
    return {"": (), **{a.code: (a.marketplace, a.connector) for a in found}}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = translator(request)
    principal = getattr(request.state, "principal", None)
    flash = _flash(request, t)
    base = {
        "request": request,
        "t": t,
        "locale": t.locale,
        "principal": principal,
        "can_operate": bool(principal and principal.can(Role.OPERATOR)),
        "is_admin": bool(principal and principal.can(Role.ADMIN)),
        "csrf": getattr(request.state, "csrf", ""),
        "url_with": lambda path=None, **kw: url_with(request, path, **kw),
        "explain": lambda category: explain.category(category, t.locale),
        "help_url": _help_links(request, t),
        "flash": flash if not request.headers.get("hx-request") else None,
    }
    html = env.get_template(template).render(**base, **context)
    response = HTMLResponse(html, status_code=status_code)
    if base["flash"]:
        response.delete_cookie(FLASH_COOKIE)
    return response
