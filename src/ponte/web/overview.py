"""The Overview page, where operators land after login: health per affiliate × flow, charts, causes, oldest work.

Every number links to the Connections tab filtered to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ponte.alerts.texts import duration
from ponte.domain import Flow
from ponte.services import overview as service
from ponte.web.charts import hourly_bars
from ponte.web.render import render, translator
from ponte.web.routing import PageRoute
from ponte.web.session import current_principal

router = APIRouter(route_class=PageRoute)
FLOW_VALUES = tuple(f.value for f in Flow)


def connections_link(
    flow: str,
    *,
    affiliate: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    tz: ZoneInfo | None = None,
) -> str:
    """/connections/<flow> filtered to an affiliate, a status and (for 24 h numbers) a first day."""
    query: list[tuple[str, str]] = []
    if status:
        query.append(("status", status))
    if affiliate:
        query.append(("affiliate", affiliate))
    if since is not None:
        query.append(("from", since.astimezone(tz).date().isoformat() if tz else since.date().isoformat()))
    return f"/connections/{flow}" + (f"?{urlencode(query)}" if query else "")


@router.get("/overview", response_class=HTMLResponse, include_in_schema=False)
def overview_page(request: Request) -> Response:
    principal = current_principal(request)
    t = translator(request)
    flow = request.query_params.get("flow") or None
    flow = flow if flow in FLOW_VALUES else None
    with request.app.state.db.read() as conn:
        data = service.overview(conn, account_id=principal.account_id)
    codes = {code: affiliate_id for affiliate_id, code in data.affiliates.items()}
    affiliate = request.query_params.get("affiliate") or None
    affiliate_id = codes.get(affiliate) if affiliate else None
    total = data.total(flow=flow, affiliate_id=affiliate_id)
    label = t("overview.chart_label")
    chart = hourly_bars(total.hours, total.attempts, total.errors, t, label=label)
    sparks = {
        (tile.flow, tile.affiliate_id): hourly_bars(
            s.hours[-48:], s.attempts[-48:], s.errors[-48:], t, width=240, height=36, axis=False, label=label
        )
        for tile in data.tiles
        if (s := data.hourly.get((tile.flow, tile.affiliate_id)))
    }
    return render(
        request,
        "overview.html",
        data=data,
        chart=chart,
        sparks=sparks,
        chart_flow=flow,
        chart_affiliate=affiliate if affiliate_id else None,
        totals=(sum(total.attempts), sum(total.errors)),
        link=lambda f, **kw: connections_link(f, tz=t.tz, **kw),
        since_24h=data.now - timedelta(hours=24),
        health=lambda tile: tile.health(data.now),
        age=lambda when: _age(data.now, when),
    )


def _age(now: datetime, when: datetime | None) -> str:
    if when is None:
        return "—"
    return duration((now - when).total_seconds() / 60)
