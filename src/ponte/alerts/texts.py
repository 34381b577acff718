"""Alert messages in pt-BR, English and Spanish: a subject line and a few plain sentences per event.

The words are in Ponte's catalogs (keys "alert.msg.*", ponte/i18n.py); this module fills them with an incident's facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

from ponte.alerts.rules import CREDENTIALS, ERROR_RATE, PENDING_AGE, QUIET_ORDERS
from ponte.domain.messages import Message
from ponte.i18n import Translator, babel_locale

TZ = ZoneInfo("America/Sao_Paulo")
# Facts worth a line in the digest, per kind (their labels are "alert.msg.digest.<kind>.<fact>").
DIGEST_FACTS = {
    ERROR_RATE: ("errors", "rate"),
    PENDING_AGE: ("count",),
    CREDENTIALS: ("errors",),
    QUIET_ORDERS: ("gap_minutes",),
}
# Day and time in a message: "22/11 14:05", "Nov 22 14:05".
_WHEN = {"pt-BR": "dd/MM HH:mm", "en": "MMM dd HH:mm", "es": "dd/MM HH:mm"}


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
    return format_datetime(when.astimezone(TZ), _WHEN.get(locale, _WHEN["en"]), locale=babel_locale(locale))


def title(kind: str, facts: dict[str, Any], *, locale: str, affiliate: str, flow: str | None) -> str:
    return word(f"{kind}.title", locale, **_values(facts, locale, affiliate, flow))


def body(kind: str, facts: dict[str, Any], *, locale: str, affiliate: str, flow: str | None) -> str:
    return word(f"{kind}.body", locale, **_values(facts, locale, affiliate, flow))


def _values(facts: dict[str, Any], locale: str, affiliate: str, flow: str | None) -> dict[str, Any]:
    flow_word = word(f"flow.{flow}", locale) if flow else word("all", locale)
    values = {**facts, "affiliate": affiliate, "flow": flow_word}
    if "said" in facts:  # the marketplace's refusal is verbatim; Ponte's own words are read in the channel's language
        values["message"] = Translator(locale).said(Message.from_json(facts["said"]), facts.get("message"))
    if "gap_minutes" in facts:
        values["gap"] = duration(facts["gap_minutes"])
        values["usual"] = duration(facts["usual_minutes"])
    if "oldest_minutes" in facts:
        values["oldest"] = duration(facts["oldest_minutes"])
    for name in ("rate", "threshold"):
        if name in values:
            values[name] = format_decimal(float(values[name]), "#,##0.####", locale=babel_locale(locale))
    return values


def digest(kind: str, old: dict[str, Any], new: dict[str, Any], *, locale: str, since: datetime) -> str | None:
    """What changed since the last message, as one sentence; None when nothing worth saying did."""
    changes = [
        f"{word(f'digest.{kind}.{k}', locale)} {old.get(k)} → {new.get(k)}"
        for k in DIGEST_FACTS.get(kind, ())
        if old.get(k) != new.get(k)
    ]
    if not changes:
        return None
    return word("digest", locale, at=local_time(since, locale), changes="; ".join(changes))


def word(key: str, locale: str, **values: Any) -> str:
    return Translator(locale)(f"alert.msg.{key}", **values)
