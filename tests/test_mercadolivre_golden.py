"""Golden tests: Mercado Livre's documented bodies (connectors/mercadolivre/golden, each with its source), the
connector building and reading exactly those shapes, and documented.json holding every request to them.

Mercado Livre publishes no machine-readable specification; documented.json gathers what its documentation shows,
and these tests keep the connector, the emulation and that document in step with the documentation's examples.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from ponte.connectors.http import HttpResult
from ponte.connectors.mercadolivre import MercadoLivreConnector
from ponte.connectors.mercadolivre.api import error_outcome
from ponte.connectors.mercadolivre.emulation import documented_contract
from ponte.connectors.mercadolivre.listing import new_item
from ponte.connectors.mercadolivre.orders import incoming
from ponte.domain import Disposition, Status
from sandbox_fixtures import product_send


def golden(name: str) -> dict[str, Any]:
    text = resources.files("ponte.connectors.mercadolivre").joinpath("golden", name).read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["source"], f"{name} names no source"
    return dict(data)


def answer(status: int, body: Any) -> HttpResult:
    return HttpResult(method="POST", url="https://api.mercadolibre.com/items", status=status, body=body)


def test_every_golden_body_names_its_source() -> None:
    names = [p.name for p in resources.files("ponte.connectors.mercadolivre").joinpath("golden").iterdir()]
    assert len(names) >= 8
    for name in names:
        assert golden(name)["source"].count(".") >= 1


def test_the_documented_create_example_is_what_the_contract_takes() -> None:
    example = golden("create_item.json")["request"]
    assert documented_contract().validate_request("POST", "/items", json=example, strict=True) == []


def test_the_connectors_create_body_has_the_documented_fields_and_no_other() -> None:
    documented = set(golden("create_item.json")["request"])
    body = new_item(
        product_send(category="1055"), site_id="MLB", currency="BRL", listing_type="gold_special", condition="new",
        shipping_mode="me2",
    )  # fmt: skip
    # attributes[] and shipping{} are documented beside the validator's example (mercadolivre.md § 2).
    assert set(body) == documented | {"attributes", "shipping"}
    assert {type(body[k]) for k in ("price", "available_quantity")} == {float, int}
    assert documented_contract().validate_request("POST", "/items", json=body, strict=True) == []


def test_a_renamed_field_is_refused_by_the_contract() -> None:
    body = {**golden("create_item.json")["request"]}
    body["titulo"] = body.pop("title")
    problems = documented_contract().validate_request("POST", "/items", json=body, strict=True)
    assert problems and any("titulo" in str(p) for p in problems) and any("title" in str(p) for p in problems)


@pytest.mark.parametrize("update", golden("update_item.json")["requests"])
def test_the_documented_updates_are_what_the_contract_takes(update: dict[str, Any]) -> None:
    assert documented_contract().validate_request("PUT", "/items/MLB123", json=update, strict=True) == []


def test_the_documented_error_body_is_read_in_its_own_words() -> None:
    outcome = error_outcome(answer(400, golden("validation_error.json")["response"]))
    assert outcome.status == Status.ERROR and outcome.message == "Seller is not authorized for this brand and category"
    assert outcome.code == "moderations.seller.not_authorized"  # the error cause, not the warning beside it
    assert (outcome.category, outcome.disposition) == ("seller_restricted", Disposition.MARKETPLACE)


def test_the_documented_type_error_keeps_its_detail() -> None:
    outcome = error_outcome(answer(400, golden("type_error.json")["response"]))
    assert outcome.message.startswith("body.invalid_field_types: [invalid property type: [price] expected Number")
    assert outcome.category == "invalid_attribute_value"


def test_the_documented_not_found_order_is_terminal() -> None:
    outcome = error_outcome(answer(404, golden("order_not_found.json")["response"]))
    assert (outcome.message, outcome.code) == ("Order not found.", "order_not_found")
    assert outcome.disposition == Disposition.TERMINAL


def test_the_documented_notification_gives_its_ids() -> None:
    body = json.dumps(golden("notification.json")["request"]).encode()
    notice = MercadoLivreConnector.read_notification(body, {})
    assert notice is not None and (notice.subject, notice.topic, notice.resource) == (
        "123456789",
        "orders_v2",
        "/orders/2195160686",
    )


def test_the_documented_order_is_read_into_ponte_s_shape() -> None:
    order = golden("order.json")["response"]
    read = incoming(
        order,
        {"destination": {"shipping_address": {"zip_code": "01310100"}}},
        {"billing_info": {"doc_type": "CPF", "doc_number": "1"}},
    )
    assert read["id"] == "2000003508419013" and read["total"] == 499
    assert read["items"] == [{"sku": None, "listing_id": "MLB12345678", "quantity": 1, "price": 499}]
    assert read["buyer"]["name"] == "Comprador de testes da Silva" and read["postal_code"] == "01310100"


def test_the_documented_me1_body_and_the_connectors_fit_the_contract() -> None:
    example = golden("me1_tracking.json")["request"]
    assert (
        documented_contract().validate_request("POST", "/shipments/1/seller_notifications", json=example, strict=True)
        == []
    )


def test_the_documented_user_product_stock_update_fits_the_contract() -> None:
    example = golden("user_product_stock.json")["request"]
    path = "/user-products/MLBU206642488/stock/type/seller_warehouse"
    assert documented_contract().validate_request("PUT", path, json=example, strict=True) == []
