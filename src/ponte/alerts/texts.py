"""Alert messages in pt-BR and English: a subject line and a few plain sentences per event.

Kept beside the alerts rather than in the web catalogs: the worker writes these, and data flows one way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ponte.alerts.rules import CREDENTIALS, ERROR_RATE, PENDING_AGE, QUIET_ORDERS, STOCK_DRIFT

TZ = ZoneInfo("America/Sao_Paulo")
FLOWS = {
    "pt-BR": {
        "order": "pedidos",
        "product": "produtos",
        "tracking": "rastreio",
        "price": "preço",
        "inventory": "estoque",
    },
    "en": {
        "order": "orders",
        "product": "products",
        "tracking": "tracking",
        "price": "price",
        "inventory": "inventory",
    },
}

TEXT: dict[str, dict[str, str]] = {
    "pt-BR": {
        f"{ERROR_RATE}.title": "{affiliate} · {flow}: {rate}% de erros",
        f"{ERROR_RATE}.body": "{errors} de {attempts} tentativas de {flow} para {affiliate} falharam nos últimos "
        "{window} min ({rate}%; o limite é {threshold}%).",
        f"{PENDING_AGE}.title": "{affiliate} · {flow}: trabalho parado há {oldest}",
        f"{PENDING_AGE}.body": "{count} integrações de {flow} para {affiliate} esperam há mais de {limit} min; "
        "a mais antiga há {oldest}.",
        f"{CREDENTIALS}.title": "{affiliate}: credenciais recusadas",
        f"{CREDENTIALS}.body": "{affiliate} recusou as credenciais do Ponte ({errors} tentativas): «{message}». "
        "Corrija-as na página Afiliados e reprocesse.",
        f"{QUIET_ORDERS}.title": "{affiliate}: nenhum pedido há {gap}",
        f"{QUIET_ORDERS}.body": "Nenhum pedido do {affiliate} há {gap}; o normal a esta hora é até {usual}.",
        f"{STOCK_DRIFT}.title": "{affiliate}: estoque maior no marketplace que na loja",
        f"{STOCK_DRIFT}.body": "A conciliação encontrou {count} anúncio(s) no {affiliate} oferecendo mais estoque do "
        "que a loja tem: podem ser vendidos sem estoque. O Ponte reenvia o estoque da loja (se a conta não desligou "
        "o reparo); veja a página Divergências.",
        "opened": "[Ponte] Alerta: {title}",
        "update": "[Ponte] Continua: {title}",
        "resolved": "[Ponte] Resolvido: {title}",
        "resolved.body": "Voltou ao normal às {at}, depois de {duration}.",
        "digest": "Desde a última mensagem ({at}): {changes}.",
        "link": "Ver em Conexões: {path}",
        "all": "todos",
    },
    "en": {
        f"{ERROR_RATE}.title": "{affiliate} · {flow}: {rate}% errors",
        f"{ERROR_RATE}.body": "{errors} of {attempts} {flow} attempts to {affiliate} failed in the last {window} min "
        "({rate}%; the limit is {threshold}%).",
        f"{PENDING_AGE}.title": "{affiliate} · {flow}: work stuck for {oldest}",
        f"{PENDING_AGE}.body": "{count} {flow} integrations to {affiliate} have waited more than {limit} min; "
        "the oldest for {oldest}.",
        f"{CREDENTIALS}.title": "{affiliate}: credentials rejected",
        f"{CREDENTIALS}.body": "{affiliate} rejected Ponte's credentials ({errors} attempts): “{message}”. "
        "Fix them on the Affiliates page and reprocess.",
        f"{QUIET_ORDERS}.title": "{affiliate}: no order for {gap}",
        f"{QUIET_ORDERS}.body": "No order from {affiliate} for {gap}; at this hour the usual is up to {usual}.",
        f"{STOCK_DRIFT}.title": "{affiliate}: more stock on the marketplace than in the store",
        f"{STOCK_DRIFT}.body": "Reconciliation found {count} listing(s) on {affiliate} offering more stock than the "
        "store has: they can oversell. Ponte sends the store's stock again (unless the account turned the repair "
        "off); see the Drift page.",
        "opened": "[Ponte] Alert: {title}",
        "update": "[Ponte] Still happening: {title}",
        "resolved": "[Ponte] Resolved: {title}",
        "resolved.body": "Back to normal at {at}, after {duration}.",
        "digest": "Since the last message ({at}): {changes}.",
        "link": "See in Connections: {path}",
        "all": "all",
    },
}

# Facts worth a line in the digest, per kind, with their labels.
DIGEST_FACTS = {
    ERROR_RATE: {"pt-BR": {"errors": "erros", "rate": "taxa %"}, "en": {"errors": "errors", "rate": "rate %"}},
    PENDING_AGE: {"pt-BR": {"count": "parados"}, "en": {"count": "stuck"}},
    CREDENTIALS: {"pt-BR": {"errors": "recusas"}, "en": {"errors": "rejections"}},
    QUIET_ORDERS: {"pt-BR": {"gap_minutes": "minutos sem pedido"}, "en": {"gap_minutes": "minutes without orders"}},
}


def duration(minutes: float) -> str:
    """ "40 min", "3h10", "2d 4h": short and the same in both languages."""
    total = max(0, int(minutes))
    if total < 60:
        return f"{total} min"
    hours, rest = divmod(total, 60)
    if hours < 48:
        return f"{hours}h{rest:02d}"
    return f"{hours // 24}d {hours % 24}h"


def local_time(when: datetime, locale: str) -> str:
    local = when.astimezone(TZ)
    return f"{local:%d/%m %H:%M}" if locale == "pt-BR" else f"{local:%b %d %H:%M}"


def title(kind: str, facts: dict[str, Any], *, locale: str, affiliate: str, flow: str | None) -> str:
    return TEXT[locale][f"{kind}.title"].format(**_values(facts, locale, affiliate, flow))


def body(kind: str, facts: dict[str, Any], *, locale: str, affiliate: str, flow: str | None) -> str:
    return TEXT[locale][f"{kind}.body"].format(**_values(facts, locale, affiliate, flow))


def _values(facts: dict[str, Any], locale: str, affiliate: str, flow: str | None) -> dict[str, Any]:
    values = {**facts, "affiliate": affiliate, "flow": FLOWS[locale].get(flow or "", TEXT[locale]["all"])}
    if "gap_minutes" in facts:
        values["gap"] = duration(facts["gap_minutes"])
        values["usual"] = duration(facts["usual_minutes"])
    if "oldest_minutes" in facts:
        values["oldest"] = duration(facts["oldest_minutes"])
    for name in ("rate", "threshold"):
        if name in values:
            number = f"{float(values[name]):g}"
            values[name] = number.replace(".", ",") if locale == "pt-BR" else number
    return values


def digest(kind: str, old: dict[str, Any], new: dict[str, Any], *, locale: str, since: datetime) -> str | None:
    """What changed since the last message, as one sentence; None when nothing worth saying did."""
    labels = DIGEST_FACTS.get(kind, {}).get(locale, {})
    changes = [f"{label} {old.get(k)} → {new.get(k)}" for k, label in labels.items() if old.get(k) != new.get(k)]
    if not changes:
        return None
    return TEXT[locale]["digest"].format(at=local_time(since, locale), changes="; ".join(changes))


def word(key: str, locale: str, **values: Any) -> str:
    return TEXT[locale][key].format(**values)
