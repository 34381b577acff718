"""Ponte's words in the reader's language: pt-BR (the default), English and Spanish.

The catalogs are gettext files, `ponte/locales/<ll_CC>/LC_MESSAGES/ponte.po`, read once with Babel. A message id
is a key ("flow.order"), its text takes `str.format` fields ("{n} errors"). Plurals follow CLDR's rules for the
locale: `plural("x", n)` reads "x.zero" for 0 when the catalog has it, then "x.<one|other…>", then "x". Numbers,
money (BRL) and dates are formatted by Babel. Every key is in every catalog (tests/test_i18n.py).

Which language: a page's `?lang=`, then the remembered cookie, then the browser's `Accept-Language`; the API reads
`Accept-Language` alone.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime as DateTime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from ponte.domain.messages import Message

LOCALES = ("pt-BR", "en", "es")
DEFAULT_LOCALE = "pt-BR"
LANGUAGE_NAMES = {"pt-BR": "Português", "en": "English", "es": "Español"}
_FOLDER = Path(__file__).parent / "locales"
_BABEL = {"pt-BR": "pt_BR", "en": "en", "es": "es"}
# Day and time as each language writes them (Babel patterns): "22/11/2026 14:05", "22 Nov 2026 14:05".
_DATE = {"pt-BR": "dd/MM/yyyy", "en": "dd MMM yyyy", "es": "dd/MM/yyyy"}
DEFAULT_TZ = ZoneInfo("America/Sao_Paulo")


@cache
def catalog(locale: str) -> dict[str, str]:
    """The key → text map of one locale (read from its .po file once)."""
    with (_FOLDER / _BABEL[locale] / "LC_MESSAGES" / "ponte.po").open("rb") as file:
        messages = read_po(file, locale=_BABEL[locale])
    return {str(m.id): str(m.string) for m in messages if m.id and m.string}


@cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(_BABEL.get(locale, _BABEL[DEFAULT_LOCALE]))


def pick_locale(value: str | None) -> str | None:
    """The supported locale `value` names ("en", "en-US", "pt", "pt-br", "es-AR"...), or None."""
    if not value:
        return None
    language = value.strip().lower().replace("_", "-").split("-")[0]
    return {"pt": "pt-BR", "en": "en", "es": "es"}.get(language)


def negotiate(accept_language: str | None) -> str | None:
    """The supported locale a reader prefers most by an `Accept-Language` header ("es-AR,es;q=0.9,en;q=0.8")."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and weight > 0:
            ranked.append((-weight, n, tag))
    for _, _, tag in sorted(ranked):
        if chosen := pick_locale(tag):
            return chosen
    return None


@dataclass(frozen=True)
class Translator:
    """One reader's words and formats: `t("flow.order")`, `t.plural("flash.reprocessed", 3)`, `t.money(9.9)`."""

    locale: str = DEFAULT_LOCALE
    tz: ZoneInfo = DEFAULT_TZ

    def __call__(self, key: str, **values: object) -> str:
        text = catalog(self.locale).get(key) or catalog(DEFAULT_LOCALE).get(key) or key
        return _Formatter(self).vformat(text, (), values) if values else text

    def message(self, message: Message) -> str:
        """Ponte's own message in this language; a count `n` picks the plural form."""
        n = message.params.get("n")
        if isinstance(n, int) and not isinstance(n, bool):
            return self.plural(message.key, n, **{k: v for k, v in message.params.items() if k != "n"})
        return self(message.key, **message.params)

    def said(self, message: Message | None, text: str | None = "") -> str:
        """What a row says: Ponte's own message in this language when the catalogs know its key, else the text
        as it was stored (a marketplace's words, verbatim, or an old row's)."""
        if isinstance(message, Message) and self.has(message.key):
            return self.message(message)
        return text if isinstance(text, str) else ""

    def has(self, key: str) -> bool:
        return key in catalog(self.locale)

    def plural(self, key: str, n: int, **values: object) -> str:
        """The text of `key` for `n` things, in the locale's plural form; `{n}` is the number, formatted."""
        forms = ["zero"] if n == 0 else []
        forms.append(babel_locale(self.locale).plural_form(abs(n)))
        for form in forms:
            if self.has(f"{key}.{form}"):
                return self(f"{key}.{form}", n=self.number(n), **values)
        return self(key, n=self.number(n), **values)

    def datetime(self, value: DateTime | None, *, seconds: bool = False) -> str:
        """dd/mm/aaaa HH:MM in pt-BR and Spanish, "22 Nov 2026 14:05" in English, in the store's time zone."""
        if value is None:
            return "—"
        pattern = f"{_DATE[self.locale]} {'HH:mm:ss' if seconds else 'HH:mm'}"
        return format_datetime(value.astimezone(self.tz), pattern, locale=babel_locale(self.locale))

    def weekday_day(self, value: DateTime) -> str:
        """A chart's day tick: "seg. 23", "Mon 23", "lun 23"."""
        return format_date(value.astimezone(self.tz), "EEE dd", locale=babel_locale(self.locale))

    def iso(self, value: DateTime | None) -> str:
        return value.astimezone(self.tz).isoformat(timespec="seconds") if value else ""

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=babel_locale(self.locale))

    def decimal(self, value: object, places: int = 1) -> str:
        """A number with `places` decimals and grouped thousands: "1.234,5" in pt-BR, "1,234.5" in English."""
        amount = _decimal(value)
        if amount is None:
            return str(value)
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return format_decimal(amount, pattern, locale=babel_locale(self.locale), decimal_quantization=True)

    def money(self, value: object) -> str:
        """Reais as each language writes them ("R$ 1.234,50", "R$1,234.50", "1.234,50 BRL"); "—" when unknown."""
        amount = None if value is None or value == "" else _decimal(value)
        if amount is None:
            return "—" if value is None or value == "" else str(value)
        return format_currency(amount, "BRL", locale=babel_locale(self.locale))


def english(message: Message) -> str:
    """The English text of a message: what the `message` column keeps beside its key, for search and old readers."""
    return Translator("en").message(message)


class _Formatter(string.Formatter):
    """str.format with Ponte's fields: a nested Message (or a list of them) in the same language, and the specs
    `{x:n}` (a grouped number), `{x:money}` (reais) and `{x:pct}` (one decimal)."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        # A stored message older or newer than this catalog may lack a field: it shows empty, never fails.
        return kwargs.get(key) if isinstance(key, str) else super().get_value(key, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return "—"
        if isinstance(value, Message):
            value = self.t.message(value)
        elif isinstance(value, (list, tuple)):
            value = "; ".join(self.t.message(v) if isinstance(v, Message) else str(v) for v in value)
        if format_spec == "n":
            numeric = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
            return self.t.number(value) if numeric else str(value)
        if format_spec == "money":
            return self.t.money(value)
        if format_spec == "pct":
            return self.t.decimal(value, 1)
        return str(super().format_field(value, format_spec))


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
