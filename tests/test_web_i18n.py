"""The translation catalogs: same keys in every language, every key the pages use is defined."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ponte.web.i18n import LOCALES, Translator, catalog, pick_locale

WEB = Path(__file__).resolve().parents[1] / "src" / "ponte" / "web"


def test_it_has_the_same_keys_in_every_catalog():
    keys = {locale: set(catalog(locale)) for locale in LOCALES}
    assert keys["pt-BR"] == keys["en"], keys["pt-BR"] ^ keys["en"]


def test_it_defines_every_literal_key_the_templates_use():
    used = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([A-Za-z0-9_.]+)["']""", path.read_text()))
    known = set(catalog("pt-BR"))
    prefixes = {k for k in used if k.endswith((".", "_"))}  # t("flow." ~ flow): some key must start with it
    assert not (used - prefixes - known)
    assert all(any(k.startswith(p) for k in known) for p in prefixes)


def test_it_formats_dates_per_locale_in_the_store_time_zone():
    when = datetime(2026, 11, 22, 17, 5, tzinfo=UTC)
    tz = ZoneInfo("America/Sao_Paulo")
    assert Translator("pt-BR", tz).datetime(when) == "22/11/2026 14:05"
    assert Translator("en", tz).datetime(when) == "22 Nov 2026 14:05"
    assert Translator("pt-BR", tz).number(1234567) == "1.234.567"


def test_it_recognises_locale_spellings():
    assert pick_locale("en-US") == "en" and pick_locale("pt") == "pt-BR" and pick_locale("fr") is None
