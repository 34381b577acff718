"""Ponte's own messages: kept as a catalog key and its parameters, read in each reader's language (pages, API,
exports, alerts); a marketplace's words stay verbatim."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select, update

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from factories import ADA, ALICE, integration_id, login
from ponte.alerts import texts
from ponte.connectors.base import Outcome
from ponte.domain.messages import Message, as_columns, from_columns, say
from ponte.i18n import LOCALES, Translator, catalog, english
from ponte.knowledge.wordsearch import search_text
from ponte.store.tables import attempts, integrations

SRC = Path(__file__).resolve().parents[1] / "src" / "ponte"
OUT_OF_STOCK = say("msg.order.out_of_stock", sku="TEN-001", ordered=500, available=49)


def test_a_message_reads_in_each_language_with_its_numbers_formatted():
    assert english(OUT_OF_STOCK) == "SKU TEN-001 out of stock: 500 ordered, 49 available"
    assert Translator("pt-BR").message(OUT_OF_STOCK) == "SKU TEN-001 sem estoque: 500 pedidos, 49 disponíveis"
    assert Translator("es").message(OUT_OF_STOCK) == "SKU TEN-001 sin stock: 500 pedidos, 49 disponibles"
    placed = say("msg.order.placed", sla="EXPRESSA", n=1)
    assert Translator("pt-BR").message(placed) == "Pedido criado com o SLA EXPRESSA (1 dia)"
    assert english(say("msg.order.placed", sla="X", n=3)) == "Order placed with SLA X (3 days)"


def test_a_message_keeps_nested_messages_and_marketplace_words_through_the_database_columns():
    refused = Outcome.error("Item com título inválido", code="item.title.invalid")  # the marketplace's, verbatim
    follow_on = say("msg.send.not_listed", affiliate="MLB", product_error=refused.words)
    stored = from_columns(**{k.removeprefix("message_"): v for k, v in as_columns(follow_on).items()})
    assert stored == Message(follow_on.key, {"affiliate": "MLB", "product_error": refused.words})
    pt = Translator("pt-BR").message(stored)
    assert pt.startswith("Não enviado: MLB ainda não publicou") and pt.endswith(
        "Erro do produto: Item com título inválido"
    )
    assert Translator("es").said(None, "Item com título inválido") == "Item com título inválido"


def test_an_outcome_given_a_message_keeps_it_and_its_english_text():
    outcome = Outcome.error(OUT_OF_STOCK, category="out_of_stock")
    assert outcome.said == OUT_OF_STOCK and outcome.message == english(OUT_OF_STOCK)
    outcome.say(say("msg.order.refused_on", affiliate="CRF", reason=outcome.words))
    assert outcome.message == "Refused on CRF: SKU TEN-001 out of stock: 500 ordered, 49 available"


def test_an_old_row_or_an_unknown_key_shows_the_text_it_was_stored_with():
    assert Translator("pt-BR").said(Message("msg.gone.from.the.catalogs"), "as it was") == "as it was"
    assert Translator("pt-BR").said(None, None) == ""
    # A catalog text whose field a stored message lacks shows it empty instead of failing.
    assert "SKU TEN-001" in Translator("es").message(say("msg.order.out_of_stock", sku="TEN-001"))


def test_a_row_stored_before_a_parameter_became_a_message_still_reads():
    # Mirakl's pending imports kept `what` as English text before it was a message of its own.
    old = from_columns("msg.mirakl.sent_for_report", '{"operator": "Carrefour", "what": "offer update 12 (OF24)"}')
    assert Translator("pt-BR").said(old, "") == "Enviado a Carrefour em offer update 12 (OF24); aguardando o relatório"
    what = say("msg.mirakl.import", operation=say("msg.mirakl.op.OF24"), import_id="12", api="OF24")
    new = from_columns(**{k.removeprefix("message_"): v for k, v in as_columns(
        say("msg.mirakl.sent_for_report", operator="Carrefour", what=what)).items()})  # fmt: skip
    assert Translator("pt-BR").said(new, "") == (
        "Enviado a Carrefour em atualização de ofertas 12 (OF24); aguardando o relatório"
    )


def _out_of_stock_row(db, world) -> int:
    with db.write() as conn:
        ident = integration_id(conn, world.a, "order", "1400-01")
        english_text = english(OUT_OF_STOCK)
        state = {"message": english_text, **as_columns(OUT_OF_STOCK), "status": "error", "category": "out_of_stock"}
        state["search_text"] = search_text(english_text, said=OUT_OF_STOCK, category="out_of_stock")
        conn.execute(update(integrations).where(integrations.c.id == ident).values(state))
        newest = conn.execute(
            select(attempts.c.id).where(attempts.c.integration_id == ident).order_by(attempts.c.id.desc())
        ).scalar()
        conn.execute(
            update(attempts).where(attempts.c.id == newest).values(message=english_text, **as_columns(OUT_OF_STOCK))
        )
    return ident


def test_pages_exports_and_the_api_read_ponte_messages_in_the_readers_language(client, world, db):
    ident = _out_of_stock_row(db, world)
    login(client, ALICE)
    pt = client.get("/connections/order?lang=pt-BR").text
    assert "SKU TEN-001 sem estoque: 500 pedidos, 49 disponíveis" in pt and "out of stock: 500" not in pt
    spanish = client.get(f"/integrations/{ident}?lang=es").text
    assert "sin stock" in spanish and "Stock insuficiente" in spanish  # the category's name too
    assert "out of stock: 500 ordered" in client.get("/connections/order?lang=en").text
    csv = client.get("/connections/order/export.csv?lang=es").content.decode("utf-8-sig")
    assert "SKU TEN-001 sin stock: 500 pedidos, 49 disponibles" in csv
    headers = world.auth("victor")
    body = client.get(f"/api/v1/integrations/{ident}", headers={**headers, "Accept-Language": "pt-BR,en;q=0.5"}).json()
    assert body["integration"]["message"] == "SKU TEN-001 sem estoque: 500 pedidos, 49 disponíveis"
    assert body["integration"]["message_key"] == "msg.order.out_of_stock"
    assert body["integration"]["message_params"] == {"sku": "TEN-001", "ordered": 500, "available": 49}
    assert body["attempts"][0]["message"].startswith("SKU TEN-001 sem estoque")
    english_body = client.get(f"/api/v1/integrations/{ident}", headers={**headers, "Accept-Language": "en"}).json()
    assert english_body["integration"]["message"] == "SKU TEN-001 out of stock: 500 ordered, 49 available"


def test_a_search_finds_ponte_messages_by_their_words_in_any_language(client, world, db):
    ident = _out_of_stock_row(db, world)
    for words in ("sem estoque", "sin stock", "out of STOCK", "disponiveis"):
        rows = client.get("/api/v1/integrations", params={"words": words}, headers=world.auth("victor")).json()["items"]
        assert [r["id"] for r in rows] == [ident], words


def test_the_api_refuses_a_reversed_date_range_in_the_callers_language(client, world):
    params = {"date_from": "2026-12-10T00:00:00Z", "date_to": "2026-12-01T00:00:00Z"}
    answer = client.get(
        "/api/v1/integrations", params=params, headers={**world.auth("victor"), "Accept-Language": "es"}
    )
    assert answer.status_code == 422 and answer.json()["field"] == "date_to"
    assert answer.json()["detail"] == "la fecha final es anterior a la inicial: intercámbielas"


def test_a_services_input_error_reads_in_the_readers_language_on_pages_and_in_the_api(client, world):
    body = {"code": "a b", "name": "Magalu", "connector": "sandbox", "settings": {}}
    for language, words in (("es", "el código debe tener de 2 a 16"), ("en", "code must be 2-16 capital letters")):
        headers = {**world.auth("ada"), "Accept-Language": language}
        answer = client.post("/api/v1/affiliates", json=body, headers=headers)
        assert answer.status_code == 422 and answer.json()["detail"].startswith(words), answer.text
    missing = client.get("/api/v1/integrations/999999", headers={**world.auth("ada"), "Accept-Language": "es"})
    assert missing.status_code == 404 and missing.json()["detail"] == "integración 999999 no encontrada"
    csrf = login(client, ADA)
    refused = client.post("/alerts/channels", data={"csrf": csrf, "kind": "email", "name": "Equipe", "to": "a@b.c"})
    assert refused.status_code == 400 and "o servidor SMTP é obrigatório" in refused.text
    spanish = client.post(
        "/alerts/channels?lang=es", data={"csrf": csrf, "kind": "webhook", "name": "Slack", "url": "ftp://x"}
    )
    assert spanish.status_code == 400 and "la URL del webhook debe empezar por http:// o https://" in spanish.text


def test_alerts_read_ponte_messages_in_the_channels_language():
    facts = {"errors": 3, "message": english(say("msg.affiliate.not_connected", affiliate="MLB"))}
    facts["said"] = say("msg.affiliate.not_connected", affiliate="MLB").as_json()
    body = texts.body("credentials", facts, locale="pt-BR", affiliate="MLB", flow=None)
    assert "MLB ainda não está conectado" in body and "not connected" not in body
    assert "aún no está conectado" in texts.body("credentials", facts, locale="es", affiliate="MLB", flow=None)


# -- no English literal where Ponte speaks ------------------------------------------------------------------

# Files that may still give Ponte's words as English literals, each at most this many: none is left. Never add
# one: a new message goes in the catalogs (ponte/locales) and is given as `say("msg.…", …)`.
NOT_YET_IN_CATALOGS: dict[str, int] = {}
SPEAKERS = {"ok", "warning", "error", "pending", "_fail", "InputError"}


def _literal_messages(path: Path) -> int:
    """Calls that give Ponte's words as an English literal: Outcome.ok/warning/error/pending, _fail, InputError."""
    found = 0
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        first = node.args[0]
        literal = isinstance(first, ast.JoinedStr) or (isinstance(first, ast.Constant) and isinstance(first.value, str))
        if name in SPEAKERS and literal and (name in ("_fail", "InputError") or _is_outcome(node.func)):
            found += 1
    return found


def _is_outcome(func: ast.expr) -> bool:
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "Outcome"


def test_no_new_english_literal_where_ponte_speaks():
    counts = {}
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if "emulation" in relative or relative.startswith("sandbox/"):
            continue  # the emulations speak as the marketplaces they play
        if n := _literal_messages(path):
            counts[relative] = n
    grown = {f: n for f, n in counts.items() if n > NOT_YET_IN_CATALOGS.get(f, 0)}
    assert not grown, f"English literals where Ponte speaks (use say('msg.…') and the catalogs): {grown}"
    stale = {f: n for f, n in NOT_YET_IN_CATALOGS.items() if counts.get(f, 0) < n}
    assert not stale, f"lower these allowances to what is left: { {f: counts.get(f, 0) for f in stale} }"
    converted = [f for f in ("engine/orders.py", "engine/worker.py", "engine/batches.py", "web/connections.py")]
    assert not any(counts.get(f) for f in converted)


def test_the_finder_counts_an_english_literal_and_not_a_catalog_message(tmp_path):
    source = tmp_path / "speaker.py"
    source.write_text(
        "Outcome.error(f'SKU {sku} has no price')\n"
        "raise InputError('name is required', field='name')\n"
        "Outcome.ok(say('msg.send.price_updated'))\n"
        "raise InputError(say('msg.input.required', field='name'))\n"
        "log.error('for engineers: %s', x)\n"
    )
    assert _literal_messages(source) == 2


def test_every_message_key_the_code_says_is_in_every_catalog():
    keys = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "say" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and str(first.value).startswith("msg."):
                    keys.add(first.value)
    assert len(keys) > 30
    for locale in LOCALES:
        assert not keys - set(catalog(locale)), locale
