"""The Mirakl connector against its emulation over real HTTP, every request (and answer) held to Mirakl's published
spec by the contract recorder: offers, imports and their reports, products, orders, tracking, the connection test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from mirakl_support import EAN, KEY
from ponte.connectors.base import (
    LineDecision,
    Listing,
    OrderLine,
    Outcome,
    PriceSend,
    StockSend,
    SubmissionRef,
    TrackingSend,
)
from ponte.connectors.context import Deferred
from ponte.connectors.mirakl import offers as offers_module
from ponte.connectors.mirakl.errors import table
from ponte.connectors.mirakl.settings import operator_code
from ponte.contract import recording
from ponte.domain import Disposition, Status
from ponte.knowledge import classify, load_knowledge
from sandbox_fixtures import product_send

LISTED = Listing("CEL-001", {"product_id": EAN, "product_id_type": "EAN"})


def _ref(submission) -> SubmissionRef:
    return SubmissionRef(1, submission.operation, submission.external_id, submission.refs, {}, datetime.now(UTC))


def _judged(mirakl, connector, submission):
    """Poll once before the import is judged (not done), then a minute later (done)."""
    early = connector.poll_submission(_ref(submission))
    assert not early.done and early.poll_after >= 60
    mirakl.advance(62)
    poll = connector.poll_submission(_ref(submission))
    assert poll.done
    return poll


def test_it_sends_each_offer_whole_with_its_price_and_its_stock(mirakl, make_mirakl, contract_recorder):
    connector = make_mirakl()
    price = PriceSend("CEL-001", Decimal("899.00"), Decimal("999.00"), LISTED, quantity=7, handling_days=2)
    result = connector.send_batch("price", [price])
    assert result.submission is not None and result.submission.operation == "OF24"
    pending = result.outcomes["CEL-001"]
    assert pending.status == Status.PENDING and "offer update" in pending.message
    assert pending.request["item"] == {
        "shop_sku": "CEL-001", "product_id": EAN, "product_id_type": "EAN", "price": 999.0,
        "discount": {"price": 899.0}, "quantity": 7, "state_code": "11", "update_delete": "update",
        "leadtime_to_ship": 2,
    }  # fmt: skip
    poll = _judged(mirakl, connector, result.submission)
    assert poll.outcomes["CEL-001"].status == Status.SUCCESS
    offer = mirakl.offers("CEL-001")["offers"]["CEL-001"]
    assert (offer["price"], offer["discount_price"], offer["quantity"]) == (999.0, 899.0, 7)
    # A stock change sends the price too: Mirakl would reset whatever an offer update leaves out.
    connector = make_mirakl()
    stock = StockSend("CEL-001", 3, 2, LISTED, price=Decimal("899.00"), list_price=Decimal("999.00"))
    _judged(mirakl, connector, connector.send_batch("inventory", [stock]).submission)
    offer = mirakl.offers("CEL-001")["offers"]["CEL-001"]
    assert (offer["price"], offer["discount_price"], offer["quantity"]) == (999.0, 899.0, 3)
    contract_recorder.assert_reached("OF24", "OF02")


def test_a_renamed_offer_field_is_a_departure_from_the_spec(mirakl, make_mirakl, monkeypatch):
    made = offers_module.offer_of

    def renamed(send, settings):
        offer = made(send, settings)
        offer["qty"] = offer.pop("quantity")  # what a careless edit of the connector would send
        return offer

    monkeypatch.setattr("ponte.connectors.mirakl.connector.offer_of", renamed)
    with recording() as recorder:
        make_mirakl().send_batch("price", [PriceSend("CEL-001", Decimal("10"), None, LISTED, quantity=1)])
    assert recorder.operations() == ["OF24"]
    assert "'qty' is not a field the specification declares here" in recorder.report()


def test_a_big_batch_goes_as_one_offer_file(mirakl, make_mirakl, contract_recorder):
    mirakl.admin("catalog", products=[{"ean": "7891234567888"}, {"ean": "7896543210982"}])
    connector = make_mirakl(file_import_from=3)
    sends = [
        StockSend(sku, 4, 1, Listing(sku, {"product_id": ean, "product_id_type": "EAN"}), price=Decimal("50"))
        for sku, ean in (("A-1", EAN), ("A-2", "7891234567888"), ("A-3", "7896543210982"))
    ]
    result = connector.send_batch("inventory", sends)
    assert result.submission is not None and result.submission.operation == "OF01"
    poll = _judged(mirakl, connector, result.submission)
    assert {sku: o.status for sku, o in poll.outcomes.items()} == dict.fromkeys(["A-1", "A-2", "A-3"], Status.SUCCESS)
    assert mirakl.offers()["count"] == 3
    contract_recorder.assert_reached("OF01", "OF02")


def test_an_offer_report_turns_exactly_its_refused_lines_into_errors_with_their_own_words(
    mirakl, make_mirakl, contract_recorder
):
    mirakl.admin("config", refuse={"B-2": "Preço abaixo do mínimo permitido pela categoria"})
    sends = [
        PriceSend("B-1", Decimal("10"), None, LISTED, quantity=1),
        PriceSend("B-2", Decimal("10"), None, LISTED, quantity=1),
        PriceSend("B-3", Decimal("10"), None, None, quantity=1),  # never listed: Mirakl has no such product
        PriceSend("B-4", None, None, LISTED, quantity=1),  # no price: refused without a call
    ]
    connector = make_mirakl()
    result = connector.send_batch("price", sends)
    assert (result.outcomes["B-4"].status, result.outcomes["B-4"].category) == (Status.ERROR, "sku_not_sellable")
    assert set(result.submission.refs) == {"B-1", "B-2", "B-3"}
    poll = _judged(mirakl, connector, result.submission)
    outcomes = poll.outcomes
    assert outcomes["B-1"].status == Status.SUCCESS
    assert (outcomes["B-2"].status, outcomes["B-2"].message) == (
        Status.ERROR,
        "Preço abaixo do mínimo permitido pela categoria",
    )
    assert outcomes["B-2"].category is None  # not in the connector's table: the knowledge base reads it
    assert classify(connector="carrefour", flow="price", message=outcomes["B-2"].message).category == "price_rejected"
    assert (outcomes["B-3"].message, outcomes["B-3"].category) == ("The product does not exist", "sku_not_linked")
    assert outcomes["B-3"].response["line"] == "4"  # the file's line: its header is line 1
    contract_recorder.assert_reached("OF24", "OF02", "OF03")


def test_a_product_import_is_polled_until_judged_and_split_per_sku(mirakl, make_mirakl, contract_recorder):
    mirakl.admin("config", review=["P-4"])
    sends = [
        product_send("P-1", marketplace_category="celulares"),
        product_send("P-2", marketplace_category="mesas"),
        product_send("P-3", marketplace_category="celulares", attributes={"MODEL": "X1"}),
        product_send("P-4", marketplace_category="celulares"),
        product_send("P-5", marketplace_category="acessorios", ean=None),
    ]
    connector = make_mirakl()
    result = connector.send_batch("product", sends)
    assert result.submission.operation == "P41"
    assert {o.status for o in result.outcomes.values()} == {Status.PENDING}
    outcomes = _judged(mirakl, connector, result.submission).outcomes
    assert outcomes["P-1"].status == Status.SUCCESS
    assert outcomes["P-1"].listing == Listing("P-1", {"product_id": EAN, "product_id_type": "EAN"})
    assert outcomes["P-5"].listing == Listing("P-5", {"product_id": "P-5", "product_id_type": "SHOP_SKU"})
    assert (outcomes["P-2"].message, outcomes["P-2"].category) == (
        "The category 'mesas' is unknown",
        "invalid_category",
    )
    assert outcomes["P-3"].category == "missing_attribute"
    review = outcomes["P-4"]  # awaiting the operator's review: it clears by itself, not an error to fix
    assert (review.category, review.disposition) == ("sku_not_linked", Disposition.WAIT)
    assert mirakl.offers()["products"] == ["P-1", "P-5"]
    contract_recorder.assert_reached("P41", "P42", "P44")


def test_a_line_the_transformation_refuses_is_read_from_its_report_and_only_that_sku_turns_red(
    mirakl, make_mirakl, contract_recorder
):
    why = "The value 'Azul-petróleo' of attribute 'Cor' is not in the list of accepted values"
    mirakl.admin("config", untransformable={"T-2": why})
    sends = [product_send(sku, marketplace_category="celulares") for sku in ("T-1", "T-2", "T-3")]
    connector = make_mirakl()
    outcomes = _judged(mirakl, connector, connector.send_batch("product", sends).submission).outcomes
    refused = outcomes["T-2"]
    assert (refused.status, refused.message) == (Status.ERROR, why)
    assert refused.response["report"].endswith("/transformation_error_report")
    assert {sku: o.status for sku, o in outcomes.items()} == {
        "T-1": Status.SUCCESS, "T-2": Status.ERROR, "T-3": Status.SUCCESS,
    }  # fmt: skip
    assert mirakl.offers()["products"] == ["T-1", "T-3"]  # never integrated: it did not pass the transformation
    contract_recorder.assert_reached("P41", "P42", "P47")
    assert "P44" not in contract_recorder.operations()  # nothing else was refused: no non-integrated report to read


def test_orders_waiting_for_acceptance_are_read_line_by_line(mirakl, make_mirakl, contract_recorder):
    placed = mirakl.place_order(
        [
            {"sku": "CEL-001", "quantity": 2, "price": 899.0, "shipping": 19.9},
            {"sku": "CEL-002", "quantity": 1, "price": 50},
        ]
    )
    page = make_mirakl().fetch_orders(None)
    assert page.outcome is None and len(page.orders) == 1
    order = page.orders[0]
    assert order["id"] == placed["order_id"]
    assert order["items"] == [
        {"sku": "CEL-001", "quantity": 2, "price": 899.0, "ref": placed["lines"][0]},
        {"sku": "CEL-002", "quantity": 1, "price": 50.0, "ref": placed["lines"][1]},
    ]
    assert (order["postal_code"], order["buyer"]["name"], order["shipping_total"]) == ("01310-100", "Ana Souza", 19.9)
    assert page.cursor == order["created_at"]
    contract_recorder.assert_reached("OR11")


def test_each_line_is_accepted_or_refused_and_tracking_then_shipment_go_once(mirakl, make_mirakl, contract_recorder):
    placed = mirakl.place_order([{"sku": "A", "quantity": 1, "price": 10}, {"sku": "B", "quantity": 1, "price": 10}])
    first, second = placed["lines"]
    connector = make_mirakl(carriers={"Correios": "CORREIOS"})
    decided = Outcome.warning(
        "placed without B",
        lines=(LineDecision("A", 1, True, first), LineDecision("B", 1, False, second, "SKU B out of stock")),
    )
    assert connector.acknowledge_order(placed["order_id"], decided).status == Status.SUCCESS
    assert connector.acknowledge_order(placed["order_id"], Outcome.ok("placed before")).status == Status.SUCCESS
    order = mirakl.order(placed["order_id"])
    assert order["lines"] == {first: {"sku": "A", "state": "SHIPPING"}, second: {"sku": "B", "state": "REFUSED"}}
    shipped = TrackingSend(
        placed["order_id"], None, None, "Correios", "AA123456789BR", (OrderLine("A", 1, Decimal(10)),)
    )
    outcome = connector.send_tracking(shipped)
    assert outcome.status == Status.SUCCESS, outcome.message
    order = mirakl.order(placed["order_id"])
    assert order["state"] == "SHIPPED"
    assert order["tracking"] == {"carrier_code": "CORREIOS", "tracking_number": "AA123456789BR"}
    assert order["calls"] == ["OR21", "OR23", "OR24"]
    contract_recorder.assert_reached("OR21", "OR23", "OR24")


def test_a_shipment_before_the_order_is_accepted_waits(mirakl, make_mirakl):
    placed = mirakl.place_order([{"sku": "A", "quantity": 1, "price": 10}])
    shipped = TrackingSend(placed["order_id"], None, None, "Jadlog", "JD1", ())
    outcome = make_mirakl().send_tracking(shipped)
    assert (outcome.status, outcome.code, outcome.category, outcome.disposition) == (
        Status.ERROR, "ORDER_INVALID_STATE", "state_conflict", Disposition.WAIT,
    )  # fmt: skip
    no_number = TrackingSend(placed["order_id"], None, None, "Jadlog", None, ())
    assert make_mirakl().send_tracking(no_number).code == "no_tracking_number"


def test_the_connection_test_names_the_shop_then_spares_its_daily_read(mirakl, make_mirakl, contract_recorder):
    connector = make_mirakl()
    first = connector.test_connection()
    assert (first.status, first.message) == (Status.SUCCESS, "Connected to Carrefour: shop Loja Alice (id 2001, OPEN)")
    again = connector.test_connection()
    assert again.status == Status.SUCCESS and "once a day (A01)" in again.message
    assert [c["operation"] for c in mirakl.calls()] == ["A01", "V01"]
    wrong = make_mirakl(key="not-a-key").test_connection()
    assert (wrong.status, wrong.http_status, wrong.category, wrong.disposition) == (
        Status.ERROR, 401, "auth_invalid", Disposition.FIX,
    )  # fmt: skip
    contract_recorder.assert_reached("A01", "V01")


def test_a_closed_shop_is_a_warning(mirakl, make_mirakl):
    mirakl.shop(state="SUSPENDED")
    outcome = make_mirakl().test_connection()
    assert outcome.status == Status.WARNING and "not open" in outcome.message


def test_several_shops_share_one_operator_each_with_its_key(mirakl, make_mirakl):
    mirakl.shop(3001, "Loja Bruno", "key-bruno")
    bruno = make_mirakl(key="key-bruno", shop_id=3001)
    result = bruno.send_batch("price", [PriceSend("CEL-001", Decimal("5"), None, LISTED, quantity=1)])
    _judged(mirakl, bruno, result.submission)
    assert mirakl.offers(shop_id=3001)["count"] == 1 and mirakl.offers()["count"] == 0
    refused = make_mirakl(shop_id=3001).test_connection()  # Alice's key does not open Bruno's shop
    assert (refused.http_status, refused.category) == (403, "auth_invalid")


def test_the_emulation_holds_each_call_to_its_documented_frequency(mirakl):
    offers = {"offers": [{"shop_sku": "X", "price": 1, "product_id": EAN, "product_id_type": "EAN", "state_code": "11",
                          "update_delete": "update", "quantity": 1}]}  # fmt: skip
    headers = {"Authorization": KEY}
    post = lambda: httpx.post(f"{mirakl.url}/api/offers", json=offers, headers=headers)  # noqa: E731
    assert post().status_code == 201
    refused = post()
    assert refused.status_code == 429 and 55 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json() == {"status": 429, "message": "Too many requests: OF24 is allowed once every minute"}
    mirakl.advance(60)
    assert post().status_code == 201


def test_the_emulation_refuses_what_the_spec_refuses_in_mirakls_shape(mirakl):
    bad = {"offers": [{"shop_sku": "X", "price": 1, "product_id": EAN, "product_id_type": "EAN", "state_code": "11",
                       "update_delete": "update", "quantity": "12"}]}  # fmt: skip
    answer = httpx.post(f"{mirakl.url}/api/offers", json=bad, headers={"Authorization": KEY})
    assert answer.status_code == 400
    assert answer.json() == {"status": 400, "message": "body $.offers[0].quantity: '12' is not of type integer or null"}
    assert mirakl.calls() == []  # refused before the emulation: nothing happened


def test_a_429_holds_the_operation_for_every_sender_until_retry_after(mirakl, make_mirakl):
    offers = {"offers": [{"shop_sku": "X", "price": 1, "product_id": EAN, "product_id_type": "EAN", "state_code": "11",
                          "update_delete": "update", "quantity": 1}]}  # fmt: skip
    httpx.post(f"{mirakl.url}/api/offers", json=offers, headers={"Authorization": KEY}).raise_for_status()
    connector = make_mirakl()  # another system spent the minute: Mirakl answers 429
    result = connector.send_batch("price", [PriceSend("CEL-001", Decimal("5"), None, LISTED, quantity=1)])
    refused = result.outcomes["CEL-001"]
    assert (refused.status, refused.category, refused.transient, refused.http_status) == (
        Status.ERROR, "rate_limited", True, 429,
    )  # fmt: skip
    assert 55 <= refused.retry_after <= 60
    with pytest.raises(Deferred):
        connector.context.limits.acquire("OF24")


def test_the_error_table_speaks_the_knowledge_bases_categories():
    known = load_knowledge().categories
    readings = [*table().codes.values(), *table().statuses.values(), *(r for _, r in table().messages)]
    assert readings and all(reading.category in known for reading in readings)
    assert table().read(message="O produto não existe").category == "sku_not_linked"
    assert table().read(message="Produto aguardando validação do operador").disposition == Disposition.WAIT
    assert table().read(message="Something new", status=401).category == "auth_invalid"
    assert table().read(message="Something new") is None  # the knowledge base reads it


def test_each_operator_speaks_its_own_vocabulary():
    assert operator_code({"operator": "Carrefour"}) == "carrefour"
    assert operator_code({"operator": "Leroy Merlin"}) == "leroymerlin"
    assert load_knowledge().marketplace_for("carrefour") == "carrefour"
