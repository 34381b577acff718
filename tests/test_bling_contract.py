"""The Bling connector against its emulation over real HTTP, every request (and answer) held to Bling's published
spec by the contract recorder: the authorisation, sales orders (once, however often sent), cancellations, the NF-e
and tracking read back, Bling's error envelope and its limits."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bling_support import CLIENT_ID, COMPANY, COMPANY_NAME, STORE, order_send
from ponte.connectors.base import CallFailed, GrantRefused, OrderLine
from ponte.connectors.bling import sales
from ponte.connectors.context import Deferred
from ponte.contract import recording
from ponte.domain import Disposition, Status
from ponte.domain.checks import nfe_key_is_valid


def test_it_hands_an_order_to_bling_as_a_sales_order(bling, make_bling, contract_recorder):
    outcome = make_bling().send_order(order_send())
    assert outcome.status == Status.SUCCESS, outcome.message
    [sale] = bling.sales()
    assert outcome.external_ref == str(sale["id"]) and "created in Bling" in outcome.message
    assert sale["numeroLoja"] == "2000008123456789" and sale["loja"] == {"id": STORE}
    assert [(i["codigo"], i["quantidade"], i["valor"]) for i in sale["itens"]] == [
        ("CEL-001", 1, 1999.9), ("CAPA-002", 2, 49.9),
    ]  # fmt: skip
    assert all(i["produto"]["id"] for i in sale["itens"])  # items by code, linked to Bling's products
    assert sale["parcelas"][0]["valor"] == 2119.6 and sale["transporte"]["frete"] == 19.9
    assert sale["contato"]["nome"] == "Ana Souza"
    contract_recorder.assert_reached("GET /pedidos/vendas", "GET /produtos", "GET /contatos", "POST /contatos")
    contract_recorder.assert_reached("POST /pedidos/vendas")


def test_a_retry_finds_the_sales_order_it_already_created(bling, make_bling, contract_recorder):
    first = make_bling().send_order(order_send())
    again = make_bling().send_order(order_send())  # as after a worker killed once Bling had answered
    assert again.status == Status.SUCCESS and "already in Bling" in again.message
    assert again.external_ref == first.external_ref
    assert len(bling.sales()) == 1


def test_a_known_buyer_is_found_by_document_and_not_created_again(bling, make_bling, contract_recorder):
    connector = make_bling()
    connector.send_order(order_send("A-1"))
    connector.send_order(order_send("A-2"))
    contacts = {s["contato"]["id"] for s in bling.sales()}
    assert len(bling.sales()) == 2 and len(contacts) == 1


def test_a_renamed_field_is_a_departure_from_the_spec(bling, make_bling, monkeypatch):
    made = sales.sale_body

    def renamed(*args, **kwargs):
        body = made(*args, **kwargs)
        body["numeroPedidoLoja"] = body.pop("numeroLoja")  # what a careless edit of the connector would send
        return body

    monkeypatch.setattr(sales, "sale_body", renamed)
    with recording() as recorder:
        make_bling().send_order(order_send())
    assert "POST /pedidos/vendas" in recorder.operations()
    assert "'numeroPedidoLoja' is not a field the specification declares here" in recorder.report()


def test_the_emulation_refuses_what_the_spec_refuses_in_blings_envelope(bling):
    token = bling.grant().access_token
    answer = httpx.post(
        f"{bling.api_url}/pedidos/vendas",
        json={"contato": {"id": 1}, "itens": [], "parcelas": [], "data": "07/12/2026"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "VALIDATION_ERROR" and "is not a valid date" in error["description"]


def test_a_validation_error_keeps_blings_words_and_is_read_with_the_table(bling, make_bling, contract_recorder):
    outcome = make_bling(payment_method_id=99).send_order(order_send())
    assert outcome.status == Status.ERROR and outcome.http_status == 400 and outcome.code == "VALIDATION_ERROR"
    assert "Id da forma de pagamento inválido." in outcome.message
    assert (outcome.category, outcome.disposition) == ("integration_config", Disposition.FIX)
    assert bling.sales() == []


def test_a_code_bling_does_not_have_is_refused_before_anything_is_created(bling, make_bling, contract_recorder):
    items = (*order_send().items[:1], OrderLine("NOPE-9", 1, Decimal("10.00")))
    outcome = make_bling().send_order(order_send(items=items))
    assert outcome.status == Status.ERROR and outcome.category == "sku_not_linked"
    assert "NOPE-9" in outcome.message and bling.sales() == []


def test_a_cancelled_order_cancels_its_sales_order(bling, make_bling, contract_recorder):
    connector = make_bling()
    connector.send_order(order_send())
    outcome = connector.send_order(order_send(status="cancelled"))
    assert outcome.status == Status.SUCCESS and "cancelled in Bling" in outcome.message
    assert bling.sales()[0]["situacao"]["id"] == 12
    again = connector.send_order(order_send(status="cancelled"))
    assert "already cancelled" in again.message
    contract_recorder.assert_reached("PATCH /pedidos/vendas/{idPedidoVenda}/situacoes/{idSituacao}")


def test_it_reads_back_each_issued_nfe_once_with_its_key_xml_and_tracking(bling, make_bling, contract_recorder):
    connector = make_bling()
    connector.send_order(order_send())
    early = connector.fetch_invoices(None)
    assert early.invoices == [] and early.outcome is None  # Bling has not issued it yet
    bling.advance(121)
    page = connector.fetch_invoices(early.cursor)
    [invoice] = page.invoices
    assert invoice.order_id == "2000008123456789" and nfe_key_is_valid(invoice.invoice_key)
    assert invoice.invoice_xml and invoice.invoice_key in invoice.invoice_xml
    assert invoice.tracking_number and invoice.tracking_number.startswith("BL") and invoice.carrier == "Correios"
    assert connector.fetch_invoices(page.cursor).invoices == []  # handed over once
    contract_recorder.assert_reached("GET /nfe", "GET /nfe/{idNotaFiscal}", "GET /nfe/documento/{chaveAcesso}")
    contract_recorder.assert_reached("GET /pedidos/vendas/{idPedidoVenda}")


def test_it_connects_by_blings_authorisation_code_once(bling, make_bling, contract_recorder):
    connector = make_bling(grant=None)
    url = connector.authorization_url(state="st-1", redirect_uri="ignored", code_challenge=None)
    parts = urlsplit(url)
    assert parse_qs(parts.query) == {"response_type": ["code"], "client_id": [CLIENT_ID], "state": ["st-1"]}
    page = httpx.get(url)
    assert escape(COMPANY_NAME) in page.text
    form = {**{k: v[0] for k, v in parse_qs(parts.query).items()}, "company": COMPANY, "decision": "allow"}
    back = httpx.post(url.split("?")[0], data=form)
    assert back.status_code == 302
    returned = parse_qs(urlsplit(back.headers["location"]).query)
    assert returned["state"] == ["st-1"]
    grant = connector.exchange_code(code=returned["code"][0], redirect_uri="ignored", code_verifier=None)
    connector.context.credentials.store(grant)
    identity = connector.identify()
    assert (identity.subject, identity.name) == (COMPANY, COMPANY_NAME)
    with pytest.raises(GrantRefused, match="Invalid authorization code"):  # single use
        connector.exchange_code(code=returned["code"][0], redirect_uri="ignored", code_verifier=None)
    contract_recorder.assert_reached("GET /empresas/me/dados-basicos")


def test_a_refresh_token_works_once(bling, make_bling):
    connector = make_bling()
    grant = bling.grant()
    renewed = connector.refresh_grant(grant)
    assert renewed.refresh_token != grant.refresh_token and renewed.access_token != grant.access_token
    with pytest.raises(GrantRefused, match="invalid_grant"):
        connector.refresh_grant(grant)


def test_a_token_that_died_early_is_renewed_and_the_call_made_again(bling, make_bling, contract_recorder):
    connector = make_bling()
    bling.admin("tokens/expire")
    outcome = connector.test_connection()
    assert outcome.status == Status.SUCCESS and COMPANY_NAME in outcome.message
    assert bling.get("stats")["refreshes"] == 1


def test_blings_limit_answers_429_in_its_envelope_and_holds_the_calls(bling, make_bling):
    bling.admin("config", rate=1)
    connector = make_bling(requests_per_second=3)  # a limit the company's share does not allow
    outcomes = []
    for n in range(3):
        try:
            outcomes.append(connector.send_order(order_send(f"R-{n}")))
        except CallFailed as failed:  # a call before the sales order (its products, its buyer): the worker records it
            outcomes.append(failed.outcome)
        except Deferred:  # held after the 429: the worker gives the send back to the queue, due when the pause ends
            break
    limited = [o for o in outcomes if o.http_status == 429]
    assert limited, [o.message for o in outcomes]
    assert limited[0].code == "TOO_MANY_REQUESTS" and limited[0].transient and limited[0].category == "rate_limited"
    assert "Limite de requisições atingido: O limite de requisições por segundo" in limited[0].message
    with pytest.raises(Deferred):  # every call of the account is held for a while
        connector.send_order(order_send("R-9"))


def test_a_backlog_of_notes_is_read_a_few_at_a_time_each_once(bling, make_bling, contract_recorder):
    connector = make_bling()
    for n in range(7):
        assert connector.send_order(order_send(f"B-{n}")).status == Status.SUCCESS
    bling.advance(121)
    first = connector.fetch_invoices(None)
    assert len(first.invoices) == 5 and first.more  # the rest of the page next time
    second = connector.fetch_invoices(first.cursor)
    assert len(second.invoices) == 2 and not second.more
    assert {i.order_id for i in first.invoices + second.invoices} == {f"B-{n}" for n in range(7)}
    assert connector.fetch_invoices(second.cursor).invoices == []


def test_a_companys_grant_and_orders_outlive_a_restart_of_the_sandbox(sandbox, bling, make_bling):
    import pickle

    from ponte.connectors.bling.emulation import BlingEmulation

    make_bling().send_order(order_send())
    kept = pickle.dumps(sandbox.sandbox.emulations["bling"].snapshot())  # what `ponte sandbox` keeps on stopping
    restarted = BlingEmulation()
    restarted.restore(pickle.loads(kept))
    company = restarted.state.companies[COMPANY]
    assert [s["numeroLoja"] for s in company.sales.values()] == ["2000008123456789"]
    assert restarted.state.access and restarted.state.refresh and CLIENT_ID in restarted.state.apps


def test_with_stores_set_only_their_notes_are_read(bling, make_bling, contract_recorder):
    make_bling(store_ids={}).send_order(order_send("COUNTER-1"))  # a sale of no store (typed at the counter)
    make_bling().send_order(order_send("MLB-1"))
    bling.advance(121)
    page = make_bling().fetch_invoices(None)
    assert [i.order_id for i in page.invoices] == ["MLB-1"]
    assert [i.order_id for i in make_bling(store_ids={}).fetch_invoices(None).invoices] == ["COUNTER-1", "MLB-1"]


# -- the catalog from Bling (bling.md § 3–4, § 8) -------------------------------------------------------------------
def test_it_reads_the_catalog_with_variations_as_skus_and_balances_per_deposit(bling, make_bling, contract_recorder):
    from bling_support import CATALOG, DEPOSIT, SHOP_DEPOSIT

    bling.admin("products", company=COMPANY, products=CATALOG)
    page = make_bling().fetch_catalog(None)
    assert page.full and not page.more and page.outcome is None
    found = {p.sku: p for p in page.products}
    assert sorted(found) == ["CAMISA-M", "CAMISA-P", "CAPA-002", "CEL-001"]  # a product with variations is none
    cel = found["CEL-001"]
    assert cel.values["ean"] == "7891234567895" and cel.values["price"] == Decimal("1999.9")
    assert cel.values["weight_g"] == 350 and cel.values["height_cm"] == Decimal("16.00")
    assert cel.values["images"] == ["https://img.example/cel-001.jpg"] and cel.values["category"] == "1055"
    assert cel.stock == {f"bling:{DEPOSIT}": 12, f"bling:{SHOP_DEPOSIT}": 3}
    assert found["CAMISA-M"].values["price"] == Decimal("94.9")
    assert found["CAMISA-M"].values["description"] == "Algodão"  # what a variation leaves empty, from its parent
    assert found["CAPA-002"].problem is None and found["CAMISA-P"].stock == {f"bling:{DEPOSIT}": 4}
    contract_recorder.assert_reached("GET /produtos", "GET /produtos/{idProduto}", "GET /estoques/saldos")


def test_after_a_walk_only_what_changed_is_read(bling, make_bling, contract_recorder):
    from bling_support import catalog_products

    bling.admin("products", company=COMPANY, products=catalog_products(150))
    bling.advance(5)  # the walk begins after the products were made (a change in its first second is read again)
    connector = make_bling(catalog_details=False)
    first = connector.fetch_catalog(None)
    assert len(first.products) == 100 and first.more and first.total == 152
    second = connector.fetch_catalog(first.cursor)
    assert len(second.products) == 52 and not second.more
    bling.advance(5)
    bling.admin("products/change", company=COMPANY, codigo="BLG-00042", preco=77.7)
    bling.admin("products/change", company=COMPANY, codigo="BLG-00007", saldos={"14888000001": 40})
    changed = connector.fetch_catalog(second.cursor)
    assert changed.products[0].sku == "BLG-00042" and changed.products[0].values["price"] == Decimal("77.7")
    assert not changed.full
    # Along with what changed, a page of the list is read again with its balances (a balance moves no dates).
    swept = {p.sku: p for p in changed.products[1:]}
    assert len(swept) == 99 and swept["BLG-00007"].stock == {"bling:14888000001": 40} and "BLG-00042" not in swept


def test_a_product_without_price_or_code_is_reported_not_read(bling, make_bling, contract_recorder):
    bling.admin("products", company=COMPANY, products=[{"codigo": "FREE-1", "nome": "Brinde", "preco": 0}])
    found = {p.sku: p for p in make_bling(catalog_details=False).fetch_catalog(None).products}
    assert found["FREE-1"].problem is not None and found["FREE-1"].problem.key == "msg.catalog.no_price"


def test_blings_webhook_names_the_product_to_read_again(bling, make_bling, contract_recorder):
    from ponte.connectors.bling import BlingConnector

    body = (
        b'{"eventId":"e-1","date":"2026-12-07T12:00:00Z","version":"v1","event":"stock.updated",'
        b'"companyId":"' + COMPANY.encode() + b'","data":{"produto":{"id":16000001},"deposito":{"id":1}}}'
    )
    notice = BlingConnector.read_notification(body, {})
    assert notice is not None and (notice.subject, notice.resource) == (COMPANY, "/produtos/16000001")
    assert BlingConnector.read_notification(b'{"event":"order.created","companyId":"x","data":{}}', {}) is None
    code = bling.admin("products", company=COMPANY, products=[{"codigo": "CEL-001", "saldos": {"1": 5}}])["ids"]
    resolved = make_bling().resolve(notice.__class__(COMPANY, "stock.updated", f"/produtos/{code['CEL-001']}"))
    assert [(p.sku, p.stock) for p in resolved.catalog] == [("CEL-001", {"bling:1": 5})]
