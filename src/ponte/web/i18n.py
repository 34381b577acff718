"""Translation catalogs (web/locales/*.json) and locale-aware formatting of dates and numbers.

pt-BR is the default; every key must exist in every catalog (tests/test_web_i18n.py checks it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime as DateTime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

LOCALES = ("pt-BR", "en")
DEFAULT_LOCALE = "pt-BR"
_FOLDER = Path(__file__).parent / "locales"
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def catalog(locale: str) -> dict[str, str]:
    return dict(json.loads((_FOLDER / f"{locale}.json").read_text(encoding="utf-8")))


def pick_locale(value: str | None) -> str | None:
    """The supported locale `value` names ("en", "en-US", "pt", "pt-br"...), or None."""
    if not value:
        return None
    low = value.strip().lower()
    if low.startswith("pt"):
        return "pt-BR"
    if low.startswith("en"):
        return "en"
    return None


@dataclass(frozen=True)
class Translator:
    locale: str
    tz: ZoneInfo

    def __call__(self, key: str, **values: object) -> str:
        text = catalog(self.locale).get(key) or catalog(DEFAULT_LOCALE).get(key) or key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in catalog(self.locale)

    def datetime(self, value: DateTime | None, *, seconds: bool = False) -> str:
        """dd/mm/aaaa HH:MM in pt-BR, "22 Nov 2026 14:05" in English, in the store's time zone."""
        if value is None:
            return "—"
        local = value.astimezone(self.tz)
        clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
        if self.locale == "pt-BR":
            return f"{local:%d/%m/%Y} {clock}"
        return f"{local.day:02d} {_MONTHS_EN[local.month - 1]} {local.year} {clock}"

    def iso(self, value: DateTime | None) -> str:
        return value.astimezone(self.tz).isoformat(timespec="seconds") if value else ""

    def number(self, value: int) -> str:
        text = f"{value:,}"
        return text.replace(",", ".") if self.locale == "pt-BR" else text

    def decimal(self, value: object, places: int = 1) -> str:
        """A number with `places` decimals and grouped thousands: "1.234,5" in pt-BR, "1,234.5" in English."""
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            return str(value)
        text = f"{amount:,.{places}f}"
        if self.locale == "pt-BR":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def money(self, value: object) -> str:
        """Reais as people write them: "R$ 1.234,50" in pt-BR, "R$ 1,234.50" in English; "—" when unknown."""
        if value is None or value == "":
            return "—"
        return f"R$ {self.decimal(value, 2)}"
