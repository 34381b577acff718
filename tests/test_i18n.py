"""The translation catalogs: the same keys in pt-BR, English and Spanish, every key the code uses defined, and
the reader's language chosen from ?lang=, the cookie or Accept-Language."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from factories import ALICE, login, two_stores
from ponte.app import create_app
from ponte.i18n import LOCALES, Translator, catalog, negotiate, pick_locale

SRC = Path(__file__).resolve().parents[1] / "src" / "ponte"
TZ = ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize("locale", LOCALES)
def test_it_has_every_key_in_every_catalog(locale):
    keys = {other: set(catalog(other)) for other in LOCALES}
    missing = set().union(*keys.values()) - keys[locale]
    assert not missing, f"missing from {locale}: {sorted(missing)}"


@pytest.mark.parametrize("locale", ["en", "es"])
def test_it_gives_each_text_the_same_fields_in_every_language(locale):
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    default = catalog("pt-BR")
    differ = {k: v for k, v in catalog(locale).items() if fields(v) != fields(default[k])}
    assert not differ


def test_it_translates_every_key_into_spanish():
    pt, en, es = catalog("pt-BR"), catalog("en"), catalog("es")
    assert len(es) > 300
    # A few words are the same in every language ("ERP", "URL", "Webhook"); a catalog copied from English is not.
    same_as_english = [k for k in es if es[k] == en[k] and es[k] != pt[k]]
    assert len(same_as_english) < 5, same_as_english
    assert es["nav.connections"] == "Conexiones" and es["flow.order"] == "Pedidos"


def test_it_defines_every_literal_key_the_code_uses():
    used: set[str] = set()
    for path in [*SRC.glob("web/templates/*.html"), *SRC.glob("web/*.py")]:
        used |= set(re.findall(r"""\bt(?:\.plural)?\(\s*["']([A-Za-z0-9_.]+)["']""", path.read_text()))
    assert len(used) > 200
    known = set(catalog("pt-BR"))
    prefixes = {k for k in used if k.endswith((".", "_"))}  # t("flow." ~ flow): some key must start with it
    assert not (used - prefixes - known)
    assert all(any(k.startswith(p) for k in known) for p in prefixes)


def test_it_formats_dates_per_locale_in_the_store_time_zone():
    when = datetime(2026, 11, 22, 17, 5, tzinfo=UTC)
    assert Translator("pt-BR", TZ).datetime(when) == "22/11/2026 14:05"
    assert Translator("en", TZ).datetime(when) == "22 Nov 2026 14:05"
    assert Translator("es", TZ).datetime(when, seconds=True) == "22/11/2026 14:05:00"


def test_it_formats_numbers_and_money_as_each_language_writes_them():
    pt, en, es = (Translator(locale, TZ) for locale in LOCALES)
    assert pt.number(1234567) == "1.234.567" and en.number(1234567) == "1,234,567"
    assert es.number(1234567) == "1.234.567"
    assert pt.decimal("1234.56", 1) == "1.234,6" and en.decimal(2, 2) == "2.00"
    assert pt.money("1234.5").replace("\xa0", " ") == "R$ 1.234,50"
    assert en.money(1234.5) == "R$1,234.50"
    assert es.money("1234.5").replace("\xa0", " ") == "1.234,50 BRL"  # CLDR: Spanish writes the ISO code
    assert pt.money(None) == "—"


def test_it_picks_plural_forms_by_the_language_rules():
    pt, en, es = (Translator(locale, TZ) for locale in LOCALES)
    assert pt.plural("flash.reprocessed", 1) == "1 integração enviada para reprocessamento."
    assert pt.plural("flash.reprocessed", 1200) == "1.200 integrações enviadas para reprocessamento."
    assert en.plural("flash.reprocessed", 0).startswith("No integration")
    assert es.plural("flash.rule_saved", 3) == "Regla guardada; 3 errores reclasificados."


def test_it_recognises_locale_spellings():
    assert pick_locale("en-US") == "en" and pick_locale("pt") == "pt-BR" and pick_locale("fr") is None
    assert pick_locale("es-AR") == "es" and pick_locale("pt_br") == "pt-BR"


def test_it_negotiates_accept_language_by_preference():
    assert negotiate("fr-FR,es;q=0.8,en;q=0.9") == "en"
    assert negotiate("es-MX,es;q=0.9,pt;q=0.5") == "es"
    assert negotiate("de, fr;q=0.5") is None and negotiate(None) is None
    assert negotiate("en;q=0, pt-BR;q=0.1") == "pt-BR"
    assert negotiate("es;q=abc, en") == "en"


@pytest.fixture
def client(settings, db):
    with db.write() as conn:
        two_stores(conn)
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def test_a_page_speaks_the_browsers_language_until_the_reader_chooses_one(client):
    login(client, ALICE)
    spanish = {"accept-language": "es-AR,es;q=0.9,en;q=0.5"}
    page = client.get("/connections/order", headers=spanish).text
    assert '<html lang="es"' in page and "Conexiones" in page and "Conexões" not in page
    assert "Conexões" in client.get("/connections/order", headers={"accept-language": "de"}).text
    client.get("/connections/order?lang=en")  # the choice is remembered over the browser's
    assert "Connections" in client.get("/connections/order", headers=spanish).text
    csv = client.get("/connections/order/export.csv?lang=es").content.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("ID / SKU;Afiliado;Flujo;Estado")
