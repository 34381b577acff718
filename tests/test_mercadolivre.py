"""The Mercado Livre connector against the sandbox's emulation of Mercado Livre's real API, over real HTTP.

Every request the connector sends here is checked against the documented bodies (contract_recorder), so a field
the documentation does not show fails the test that sent it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from meli_fixtures import CLIENT_ID, CLIENT_SECRET, NICKNAME, SELLER_ID, Meli
from ponte.connectors.base import GrantRefused, Listing
from ponte.connectors.context import CredentialsRevoked, Deferred
from ponte.domain import Disposition, Status
from ponte.services.oauth import pkce_pair
from sandbox_fixtures import nfe_key, price_send, product_send, stock_send, tracking_send

PHONE = {"category": "1055", "attributes": {"MODEL": "X1", "Cor": "Preto"}}


def _nfe_xml(key: str) -> str:
    return f'<?xml version="1.0"?><nfeProc><NFe><infNFe Id="NFe{key}" versao="4.00"></infNFe></NFe></nfeProc>'


# -- listings -------------------------------------------------------------------------------------------------


def test_it_lists_a_product_with_its_attributes_and_description(meli: Meli, contract_recorder: Any) -> None:
    outcome = meli.connector().send_product(product_send(**PHONE))
    assert outcome.status == Status.SUCCESS and outcome.listing is not None
    (item,) = meli.items("CEL-001")
    assert outcome.listing.listing_id == item["id"] == outcome.external_ref and item["id"].startswith("MLB")
    attributes = {a["id"]: a["value_name"] for a in item["attributes"]}
    assert attributes["SELLER_SKU"] == "CEL-001" and attributes["GTIN"] == "7891234567895"
    assert (
        attributes["BRAND"] == "Acme" and attributes["COLOR"] == "Preto"
    )  # the store's "Cor" is Mercado Livre's COLOR
    assert attributes["SELLER_PACKAGE_WEIGHT"] == "180 g" and attributes["SELLER_PACKAGE_WIDTH"] == "7.5 cm"
    assert (item["category_id"], item["listing_type_id"], item["currency_id"]) == ("MLB1055", "gold_special", "BRL")
    assert item["description"] == "Tela de 6,1 polegadas, 128 GB."
    contract_recorder.assert_reached("createItem", "createDescription")


def test_a_sku_listed_by_hand_is_found_by_seller_sku_and_linked_never_listed_twice(meli: Meli) -> None:
    by_hand = {
        "title": "Smartphone Acme (anúncio manual)",
        "category_id": "MLB1055",
        "price": 950,
        "attributes": [{"id": "SELLER_SKU", "value_name": "CEL-001"}],
    }
    made = meli.admin("POST", "/items", seller_id=SELLER_ID, body=by_hand)
    outcome = meli.connector().send_product(product_send(**PHONE))
    assert outcome.status == Status.SUCCESS and outcome.listing is not None
    assert outcome.listing.listing_id == made["id"]
    (item,) = meli.items("CEL-001")
    assert item["title"] == "Smartphone Acme X1 128 GB"  # updated to the store's data, in place


def test_an_update_sends_only_what_changed(meli: Meli) -> None:
    connector = meli.connector()
    listed = connector.send_product(product_send(**PHONE))
    assert listed.listing is not None
    again = connector.send_product(product_send(**PHONE, listing=listed.listing))
    assert again.status == Status.SUCCESS and "up to date" in again.message and again.request is None
    assert again.listing is not None
    renamed = connector.send_product(product_send(**PHONE, name="Smartphone Acme X1 Pro", listing=again.listing))
    assert renamed.status == Status.SUCCESS
    assert renamed.request["method"] == "PUT" and renamed.request["body"] == {"title": "Smartphone Acme X1 Pro"}
    assert [i["title"] for i in meli.items("CEL-001")] == ["Smartphone Acme X1 Pro"]


def test_an_inactive_sku_pauses_its_listing_and_an_active_one_reactivates_it(meli: Meli) -> None:
    connector = meli.connector()
    listed = connector.send_product(product_send(**PHONE)).listing
    paused = connector.send_product(product_send(**PHONE, active=False, listing=listed))
    assert paused.status == Status.SUCCESS and meli.items("CEL-001")[0]["status"] == "paused"
    back = connector.send_product(product_send(**PHONE, listing=paused.listing))
    assert back.status == Status.SUCCESS and meli.items("CEL-001")[0]["status"] == "active"


@pytest.mark.parametrize(
    ("changes", "code", "category", "words"),
    [
        ({"category": "1000"}, "item.category_id.invalid", "invalid_category", "is not a leaf"),
        ({"attributes": {}}, "item.attributes.missing_required", "missing_attribute", "[MODEL]"),
        ({"weight_g": None}, "item.attributes.missing_required", "missing_attribute", "SELLER_PACKAGE_WEIGHT"),
        (
            {"category": "1002", "attributes": {"MODEL": "T", "VOLTAGE": "110/220V"}},
            "item.attributes.invalid",
            "invalid_attribute_value",
            "110/220V",
        ),
        ({"ean": "7891234567891"}, "item.attributes.gtin.invalid", "invalid_gtin", "7891234567891"),
        ({"ean": None}, "item.attributes.missing_required", "missing_attribute", "[GTIN]"),
        ({"images": []}, "item.pictures.missing", "image_problem", "at least 1 picture"),
        (
            {"images": [f"https://cdn.example.com/{n}.jpg" for n in range(14)]},
            "item.pictures.max",
            "image_problem",
            "12",
        ),
        ({"images": ["https://cdn.example.com/x.gif"]}, "item.pictures.invalid", "image_problem", "x.gif"),
        ({"brand": "Apple"}, "moderations.seller.not_authorized", "seller_restricted", "not authorized for this brand"),
        ({"name": "Smartphone " + "muito bom " * 8}, "item.title.length", "invalid_attribute_value", "60 characters"),
    ],
    ids=[
        "parent category",
        "missing model",
        "no weight",
        "voltage",
        "bad gtin",
        "gtin required",
        "no pictures",
        "14 pictures",
        "gif",
        "restricted brand",
        "long title",
    ],
)
def test_catalog_defects_get_mercado_livres_own_causes(
    meli: Meli, changes: dict[str, Any], code: str, category: str, words: str
) -> None:
    outcome = meli.connector().send_product(product_send(**{**PHONE, **changes}))
    assert outcome.status == Status.ERROR and outcome.http_status == 400
    assert outcome.code == code and words in outcome.message
    assert outcome.category == category and outcome.disposition in (Disposition.FIX, Disposition.MARKETPLACE)
    assert meli.items("CEL-001") == []  # nothing listed


def test_a_warning_cause_makes_the_attempt_com_aviso(meli: Meli) -> None:
    # No EAN where the GTIN is only conditionally required: listed, with Mercado Livre's remark.
    outcome = meli.connector().send_product(product_send(category="1574", ean=None, attributes={"COLOR": "Bege"}))
    assert outcome.status == Status.WARNING and outcome.listing is not None
    assert outcome.code == "create.item.attribute.business_conditional" and "GTIN" in outcome.message


def test_a_title_frozen_after_a_sale_is_refused_in_mercado_livres_words(meli: Meli) -> None:
    connector = meli.connector()
    listed = connector.send_product(product_send(**PHONE)).listing
    assert listed is not None
    meli.admin("POST", f"/items/{listed.listing_id}", sold_quantity=3)
    outcome = connector.send_product(product_send(**PHONE, name="Outro título", listing=listed))
    assert outcome.status == Status.ERROR and outcome.code == "item.title.not_modifiable"
    assert (outcome.category, outcome.disposition) == ("marketplace_side_block", Disposition.MARKETPLACE)


def test_a_listing_deleted_on_mercado_livre_is_listed_again(meli: Meli) -> None:
    connector = meli.connector()
    ghost = Listing("MLB999999999", {"sent": {}})
    outcome = connector.send_product(product_send(**PHONE, listing=ghost))
    assert outcome.status == Status.SUCCESS and outcome.listing is not None
    assert outcome.listing.listing_id != ghost.listing_id and len(meli.items("CEL-001")) == 1


# -- price and stock ------------------------------------------------------------------------------------------


def test_price_and_stock_update_the_item(meli: Meli, contract_recorder: Any) -> None:
    connector = meli.connector()
    listing = connector.send_product(product_send(**PHONE)).listing
    price = connector.send_price(price_send("CEL-001", 999.0, 849.9, listing=listing))
    stock = connector.send_inventory(stock_send("CEL-001", 7, listing=listing))
    assert price.status == stock.status == Status.SUCCESS
    (item,) = meli.items("CEL-001")
    assert (item["price"], item["available_quantity"]) == (849.9, 7)
    assert price.request["body"] == {"price": 849.9} and stock.request["body"] == {"available_quantity": 7}
    contract_recorder.assert_reached("updateItem")


def test_price_and_stock_of_a_sku_not_listed_say_so_without_a_call(meli: Meli) -> None:
    connector = meli.connector()
    outcome = connector.send_price(price_send("CEL-404", 10.0, 9.0))
    assert (outcome.status, outcome.category, outcome.request) == (Status.ERROR, "sku_not_linked", None)


def test_a_price_out_of_the_categorys_range_is_refused(meli: Meli) -> None:
    connector = meli.connector()
    listing = connector.send_product(product_send(**PHONE)).listing
    outcome = connector.send_price(price_send("CEL-001", 30.0, 25.0, listing=listing))
    assert (
        outcome.status == Status.ERROR and outcome.code == "item.price.invalid" and outcome.category == "price_rejected"
    )


def test_a_multi_origin_seller_gets_stock_through_user_products(meli: Meli, contract_recorder: Any) -> None:
    meli.admin("POST", "/sellers", user_id=SELLER_ID, nickname=NICKNAME, tags=["normal", "warehouse_management"])
    connector = meli.connector()
    listing = connector.send_product(product_send(**PHONE)).listing
    assert listing is not None and listing.data["user_product_id"]
    outcome = connector.send_inventory(stock_send("CEL-001", 4, listing=listing))
    assert outcome.status == Status.SUCCESS and "user product" in outcome.message
    assert outcome.request["url"].endswith(
        f"/user-products/{listing.data['user_product_id']}/stock/type/seller_warehouse"
    )
    assert meli.items("CEL-001")[0]["available_quantity"] == 4
    contract_recorder.assert_reached("putUserProductStock")


def test_a_429_is_transient_and_pauses_the_operation_for_everyone(meli: Meli) -> None:
    connector = meli.connector()
    listing = connector.send_product(product_send(**PHONE)).listing
    meli.admin("POST", "/config", rate=0.01, burst=1)
    results = [connector.send_price(price_send("CEL-001", 999.0, 800.0 + n, listing=listing)) for n in range(2)]
    refused = [r for r in results if r.http_status == 429]
    assert refused and refused[0].transient and refused[0].category == "rate_limited"
    assert refused[0].code == "local_rate_limited"
    with pytest.raises(Deferred):  # the pause holds the operation without another call
        connector.send_price(price_send("CEL-001", 999.0, 790.0, listing=listing))


# -- authorisation --------------------------------------------------------------------------------------------


def _consent(meli: Meli, url: str, decision: str = "allow") -> dict[str, list[str]]:
    """Approve (or refuse) on the emulated consent page as the test seller; the redirect's query."""
    page = httpx.get(url, timeout=5)
    assert page.status_code == 200 and NICKNAME in page.text
    query = dict(parse_qs(urlsplit(url).query))
    form = {k: v[0] for k, v in query.items()} | {"user_id": str(SELLER_ID), "decision": decision}
    back = httpx.post(url.split("?")[0], data=form, timeout=5)
    assert back.status_code == 302
    return parse_qs(urlsplit(back.headers["location"]).query)


def test_the_authorisation_code_flow_with_pkce_gives_tokens_and_the_sellers_identity(meli: Meli) -> None:
    redirect = "http://127.0.0.1:1/oauth/callback/mercadolivre"
    meli.admin(
        "POST", "/apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[redirect], pkce_required=True
    )
    connector = meli.connector(grant=None)
    verifier, challenge = pkce_pair()
    url = connector.authorization_url(state="st-1", redirect_uri=redirect, code_challenge=challenge)
    assert url.startswith(f"{meli.base}/auth/authorization?") and "code_challenge_method=S256" in url
    back = _consent(meli, url)
    assert back["state"] == ["st-1"] and back["code"][0].startswith("TG-")
    with pytest.raises(GrantRefused):  # the code is bound to its verifier
        connector.exchange_code(code=back["code"][0], redirect_uri=redirect, code_verifier="not-the-verifier")
    code = _consent(meli, url)["code"][0]
    grant = connector.exchange_code(code=code, redirect_uri=redirect, code_verifier=verifier)
    assert grant.access_token.startswith("APP_USR-") and grant.refresh_token and grant.extra["user_id"] == SELLER_ID
    connector.context.credentials.store(grant)
    who = connector.identify()
    assert (who.subject, who.name) == (str(SELLER_ID), NICKNAME)
    with pytest.raises(GrantRefused):  # a code is single-use
        connector.exchange_code(code=code, redirect_uri=redirect, code_verifier=verifier)


def test_a_refresh_token_is_single_use(meli: Meli) -> None:
    connector = meli.connector()
    first = connector.context.credentials.current()
    assert first is not None
    renewed = connector.refresh_grant(first)
    assert renewed.access_token != first.access_token and renewed.refresh_token != first.refresh_token
    with pytest.raises(GrantRefused, match="already used"):
        connector.refresh_grant(first)


def test_an_expired_token_is_renewed_once_and_the_call_goes_through(meli: Meli) -> None:
    connector = meli.connector()
    meli.admin("POST", "/tokens/expire", user_id=SELLER_ID)
    assert connector.test_connection().status == Status.SUCCESS
    assert meli.stats()["refreshes"] == 1


def test_a_revoked_grant_is_refused_for_good(meli: Meli) -> None:
    connector = meli.connector()
    meli.admin("POST", "/grants/revoke", user_id=SELLER_ID)
    with pytest.raises(CredentialsRevoked, match="already used"):
        connector.send_product(product_send(**PHONE))
    with pytest.raises(CredentialsRevoked):  # and no further call is made
        connector.send_product(product_send(**PHONE))
    assert meli.stats()["refreshes"] == 0


# -- orders and notifications ---------------------------------------------------------------------------------


def test_a_notification_is_read_for_its_ids_only() -> None:
    from ponte.connectors.mercadolivre import MercadoLivreConnector as Meli_

    body = b'{"resource":"/orders/2195160686","user_id":123456789,"topic":"orders_v2","application_id":999}'
    notice = Meli_.read_notification(body, {})
    assert notice is not None and (notice.subject, notice.topic, notice.resource) == (
        "123456789",
        "orders_v2",
        "/orders/2195160686",
    )
    assert Meli_.read_notification(b'{"resource":"/questions/1","user_id":1,"topic":"questions"}', {}) is None
    assert Meli_.read_notification(b'{"resource":"https://evil/x","user_id":1,"topic":"orders_v2"}', {}) is None
    with pytest.raises(ValueError):
        Meli_.read_notification(b"not json", {})


def test_fetched_orders_are_paid_ones_with_their_postal_code_buyer_document_and_shipment(meli: Meli) -> None:
    connector = meli.connector()
    listing = connector.send_product(product_send(**PHONE)).listing
    assert listing is not None
    bought = meli.buy(listing.listing_id, 2, zip_code="04538133", notify=0)
    meli.buy(listing.listing_id, 1, status="payment_required", notify=0)
    page = connector.fetch_orders(None)
    assert [o["id"] for o in page.orders] == [str(bought["orders"][0])]
    (order,) = page.orders
    assert order["postal_code"] == "04538133" and order["buyer"]["document"] == "52998224725"
    assert order["items"] == [{"sku": "CEL-001", "listing_id": listing.listing_id, "quantity": 2, "price": 899.0}]
    assert order["marketplace_data"]["shipment_id"] == bought["shipment_id"]
    assert order["marketplace_data"]["logistic_mode"] == "me2"
    assert (
        connector.fetch_orders(page.cursor).orders[0]["id"] == order["id"]
    )  # an hour's overlap: seen again, placed once


# -- invoice and tracking -------------------------------------------------------------------------------------


def _bought(meli: Meli, connector: Any, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    listing = connector.send_product(product_send(**PHONE)).listing
    bought = meli.buy(listing.listing_id, notify=0, **extra)
    order = next(o for o in connector.fetch_orders(None).orders if o["id"] == str(bought["orders"][0]))
    return bought, order


def _tracking(order: dict[str, Any], **changes: Any) -> Any:
    data = {
        "order_id": order["id"],
        "invoice_key": nfe_key(),
        "invoice_xml": _nfe_xml(nfe_key()),
        "carrier": "Correios",
        "tracking_number": "AA123456789BR",
        "items": [{"sku": "CEL-001", "quantity": 1}],
        "marketplace_data": order["marketplace_data"],
    }
    return tracking_send({**data, **changes})


def test_the_nfe_xml_goes_to_the_me2_shipment(meli: Meli, contract_recorder: Any) -> None:
    connector = meli.connector()
    bought, order = _bought(meli, connector)
    outcome = connector.send_tracking(_tracking(order))
    assert outcome.status == Status.SUCCESS
    shipment = meli.admin("GET", f"/shipments/{bought['shipment_id']}")
    assert shipment["invoice"]["key"] == nfe_key() and shipment["status"] == "ready_to_ship"
    contract_recorder.assert_reached("uploadInvoice")


def test_an_nfe_with_a_bad_check_digit_is_refused_in_mercado_livres_words(meli: Meli) -> None:
    connector = meli.connector()
    _, order = _bought(meli, connector)
    key = nfe_key()
    wrong = key[:-1] + str((int(key[-1]) + 1) % 10)
    outcome = connector.send_tracking(_tracking(order, invoice_key=wrong, invoice_xml=_nfe_xml(wrong)))
    assert outcome.status == Status.ERROR and "chave da nota inválida" in outcome.message
    assert outcome.category == "invoice_tracking_rejected"


def test_only_the_key_is_not_enough_for_mercado_envios(meli: Meli) -> None:
    connector = meli.connector()
    _, order = _bought(meli, connector)
    outcome = connector.send_tracking(_tracking(order, invoice_xml=None))
    assert outcome.status == Status.ERROR and outcome.request is None and "XML" in outcome.message
    assert (outcome.category, outcome.disposition) == ("invoice_tracking_rejected", Disposition.FIX)


def test_one_nfe_serves_every_order_of_a_pack(meli: Meli) -> None:
    connector = meli.connector()
    listing = connector.send_product(product_send(**PHONE)).listing
    pack = meli.admin(
        "POST", "/orders", seller_id=SELLER_ID, pack=True, notify=0,
        items=[{"item_id": listing.listing_id, "quantity": 1}, {"item_id": listing.listing_id, "quantity": 2}],
    )  # fmt: skip
    orders = [o for o in connector.fetch_orders(None).orders if int(o["id"]) in pack["orders"]]
    assert len(orders) == 2 and {o["marketplace_data"]["pack_id"] for o in orders} == {pack["pack_id"]}
    first, second = (connector.send_tracking(_tracking(o)) for o in orders)
    assert first.status == Status.SUCCESS
    assert second.status == Status.WARNING and "already has an NF-e" in second.message


def test_me1_sends_the_tracking_number_with_the_carriers_service_id(meli: Meli, contract_recorder: Any) -> None:
    connector = meli.connector(shipping_mode="me1", me1_service_ids={"Correios": 154})
    bought, order = _bought(meli, connector, mode="me1")
    outcome = connector.send_tracking(_tracking(order))
    assert outcome.status == Status.SUCCESS
    shipment = meli.admin("GET", f"/shipments/{bought['shipment_id']}")
    assert (
        shipment["tracking_number"] == "AA123456789BR" and shipment["notifications"][0]["payload"]["service_id"] == 154
    )
    unmapped = connector.send_tracking(_tracking(order, carrier="Jadlog"))
    assert (unmapped.category, unmapped.request) == ("integration_config", None)
    contract_recorder.assert_reached("me1Tracking")


def test_decimals_reach_mercado_livre_as_numbers() -> None:
    from ponte.connectors.mercadolivre.listing import new_item

    body = new_item(
        product_send(price=Decimal("899.90")),
        site_id="MLB",
        currency="BRL",
        listing_type="gold_special",
        condition="new",
        shipping_mode="me2",
    )
    assert body["price"] == 899.9 and isinstance(body["price"], float)
