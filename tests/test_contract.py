"""Requests and answers held to the published specifications (ponte.contract), with real requests of each API.

Each group sends what a connector sends — valid first, then with one thing broken the way a connector breaks it
(a renamed field, a wrong type, a missing required field, a value outside an enum, a missing query parameter) — and
asserts the problem found names the place and says what is wrong.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ponte.contract import (
    KNOWN_EXAMPLE_FAULTS,
    ApiSpec,
    Contract,
    ContractMiddleware,
    ContractRecorder,
    Problem,
    SchemaDocument,
    contract,
    json_schema,
    recording,
    spec_dir,
)

BR = "A2Q3Y263D00KWC"  # Amazon.com.br
LISTING = f"/listings/2021-08-01/items/A3SELLER/CEL-001?marketplaceIds={BR}"


def messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, messages(problems)
    return problems[0]


# -- Amazon SP-API ---------------------------------------------------------------------------------------------


def put_listing(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "productType": "CELLULAR_PHONE",
        "requirements": "LISTING",
        "attributes": {
            "item_name": [{"value": "Smartphone Acme X1 128 GB", "language_tag": "pt_BR", "marketplace_id": BR}],
            "brand": [{"value": "Acme", "marketplace_id": BR}],
            "externally_assigned_product_identifier": [{"type": "ean", "value": "7891234567895"}],
            "purchasable_offer": [{"currency": "BRL", "our_price": [{"schedule": [{"value_with_tax": 1999.9}]}]}],
        },
    }
    body.update(changes)
    return body


def test_it_takes_a_valid_put_listings_item():
    amazon = contract("amazon")
    assert amazon.validate_request("PUT", LISTING, json=put_listing(), strict=True) == []
    assert amazon.match("PUT", LISTING).operation.operation_id == "putListingsItem"  # type: ignore[union-attr]


def test_it_catches_a_renamed_field_only_in_strict_mode():
    body = put_listing()
    body["product_type"] = body.pop("productType")
    amazon = contract("amazon")
    problems = amazon.validate_request("PUT", LISTING, json=body, strict=True)
    assert "body $: 'productType' is a required property" in messages(problems)
    renamed = [p for p in problems if p.strict]
    assert [str(p) for p in renamed] == [
        "body $: 'product_type' is not a field the specification declares here (did you mean 'productType'?)"
    ]
    assert all(not p.strict for p in amazon.validate_request("PUT", LISTING, json=body))


def test_it_finds_wrong_types_enums_and_missing_fields_in_a_listing():
    amazon = contract("amazon")
    wrong_type = amazon.validate_request("PUT", LISTING, json=put_listing(attributes=[]))
    assert str(only(wrong_type)) == "body $.attributes: [] is not of type object"
    wrong_enum = amazon.validate_request("PUT", LISTING, json=put_listing(requirements="LISTINGS"))
    assert "body $.requirements: 'LISTINGS' is not one of" in str(only(wrong_enum))
    body = put_listing()
    del body["attributes"]
    assert str(only(amazon.validate_request("PUT", LISTING, json=body))) == (
        "body $: 'attributes' is a required property"
    )


def test_it_reads_comma_separated_marketplace_ids_and_requires_them():
    amazon = contract("amazon")
    path = "/listings/2021-08-01/items/A3SELLER/CEL-001"
    missing = only(amazon.validate_request("PUT", path, json=put_listing()))
    assert (missing.part, missing.path) == ("query", "marketplaceIds")
    assert "required query parameter is missing" in missing.message
    two = only(amazon.validate_request("PUT", f"{path}?marketplaceIds={BR},ATVPDKIKX0DER", json=put_listing()))
    assert two.path == "marketplaceIds" and "is too long" in two.message  # the model takes one: maxItems 1
    preview = f"{LISTING}&mode=VALIDATION_PREVIEW&includedData=identifiers,issues"
    assert amazon.validate_request("PUT", preview, json=put_listing(), strict=True) == []
    bad = only(amazon.validate_request("PUT", f"{LISTING}&includedData=identifiers,offers", json=put_listing()))
    assert bad.path == "includedData[1]" and "'offers' is not one of" in bad.message


def test_it_reads_a_percent_encoded_sku_as_one_path_segment():
    found = contract("amazon").match("PATCH", f"/listings/2021-08-01/items/A3SELLER/CEL%2F001?marketplaceIds={BR}")
    assert found is not None and found.operation.operation_id == "patchListingsItem"
    assert found.path_values == {"sellerId": "A3SELLER", "sku": "CEL%2F001"}


def patch_price(price: Any = 1899.9, **changes: Any) -> dict[str, Any]:
    offer = {"marketplace_id": BR, "currency": "BRL", "our_price": [{"schedule": [{"value_with_tax": price}]}]}
    patch = {"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]}
    patch.update(changes)
    return {"productType": "CELLULAR_PHONE", "patches": [patch]}


def test_it_checks_a_patch_listings_item():
    amazon = contract("amazon")
    assert amazon.validate_request("PATCH", LISTING, json=patch_price(), strict=True) == []
    assert "body $.patches[0].op: 'set' is not one of" in str(
        only(amazon.validate_request("PATCH", LISTING, json=patch_price(op="set")))
    )
    assert str(only(amazon.validate_request("PATCH", LISTING, json={"productType": "X", "patches": []}))) == (
        "body $.patches: [] should be non-empty"
    )
    renamed = patch_price()
    renamed["patches"][0]["valeu"] = renamed["patches"][0].pop("value")
    assert messages(amazon.validate_request("PATCH", LISTING, json=renamed, strict=True)) == [
        "body $.patches[0]: 'valeu' is not a field the specification declares here (did you mean 'value'?)"
    ]


def test_it_checks_the_feed_calls():
    amazon = contract("amazon")
    document = {"contentType": "application/json; charset=UTF-8"}
    assert amazon.validate_request("POST", "/feeds/2021-06-30/documents", json=document, strict=True) == []
    assert str(only(amazon.validate_request("POST", "/feeds/2021-06-30/documents", json={"content_type": "x"}))) == (
        "body $: 'contentType' is a required property"
    )
    feed = {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [BR], "inputFeedDocumentId": "amzn1.tortuga.4.na.1"}
    assert amazon.validate_request("POST", "/feeds/2021-06-30/feeds", json=feed, strict=True) == []
    assert str(
        only(amazon.validate_request("POST", "/feeds/2021-06-30/feeds", json={**feed, "marketplaceIds": BR}))
    ) == (f"body $.marketplaceIds: '{BR}' is not of type array")
    no_type = only(amazon.validate_request("POST", "/feeds/2021-06-30/feeds", json={**feed, "feedType": None}))
    assert no_type.path == "$.feedType" and "None is not of type string" in no_type.message
    without_body = only(amazon.validate_request("POST", "/feeds/2021-06-30/feeds"))
    assert without_body.part == "body" and "a body is required" in without_body.message
    as_text = only(amazon.validate_request("POST", "/feeds/2021-06-30/feeds", body=json.dumps(feed)))
    assert (
        str(as_text) == "header content-type: a body without a Content-Type is not accepted; it takes application/json"
    )


def test_it_checks_get_orders_v0_queries():
    amazon = contract("amazon")
    query = f"/orders/v0/orders?MarketplaceIds={BR}&CreatedAfter=2026-01-01T00:00:00Z&OrderStatuses=Unshipped,Shipped"
    assert amazon.validate_request("GET", query, strict=True) == []
    missing = only(amazon.validate_request("GET", "/orders/v0/orders?CreatedAfter=2026-01-01T00:00:00Z"))
    assert (missing.path, missing.message) == ("MarketplaceIds", "the required query parameter is missing")
    bad_page = only(amazon.validate_request("GET", f"/orders/v0/orders?MarketplaceIds={BR}&MaxResultsPerPage=lots"))
    assert str(bad_page) == "query MaxResultsPerPage: 'lots' is not of type integer"
    renamed = amazon.validate_request(
        "GET", f"/orders/v0/orders?MarketplaceIds={BR}&createdAfter=2026-01-01", strict=True
    )
    assert messages(renamed) == [
        "query createdAfter: 'createdAfter' is not a parameter the specification declares here"
        " (did you mean 'CreatedAfter'?)"
    ]


def test_it_checks_search_orders_of_2026():
    amazon = contract("amazon")
    base = "/orders/2026-01-01/orders?createdAfter=2026-01-01T00:00:00Z"
    good = f"{base}&marketplaceIds={BR}&fulfillmentStatuses=UNSHIPPED,PARTIALLY_SHIPPED&includedData=BUYER"
    assert amazon.validate_request("GET", good, strict=True) == []
    assert amazon.match("GET", good).operation.spec.name == "orders_2026-01-01"  # type: ignore[union-attr]
    bad_status = only(amazon.validate_request("GET", f"{base}&fulfillmentStatuses=Unshipped"))
    assert bad_status.path == "fulfillmentStatuses[0]" and "'Unshipped' is not one of" in bad_status.message
    bad_date = only(amazon.validate_request("GET", "/orders/2026-01-01/orders?createdAfter=2026-01-01"))
    assert str(bad_date) == "query createdAfter: '2026-01-01' is not a valid date-time"
    v0_style = amazon.validate_request("GET", f"{base}&MarketplaceIds={BR}", strict=True)
    assert "did you mean 'marketplaceIds'?" in only(v0_style).message


def confirmation(**changes: Any) -> dict[str, Any]:
    package = {
        "packageReferenceId": "1",
        "carrierCode": "Correios",
        "trackingNumber": "BR123456789BR",
        "shipDate": "2026-01-10T12:00:00Z",
        "orderItems": [{"orderItemId": "68828574383266", "quantity": 1}],
    }
    package.update(changes)
    return {"packageDetail": package, "marketplaceId": BR}


def test_it_checks_confirm_shipment():
    amazon = contract("amazon")
    path = "/orders/v0/orders/702-3035602-4225066/shipmentConfirmation"
    assert amazon.validate_request("POST", path, json=confirmation(), strict=True) == []
    assert str(
        only(amazon.validate_request("POST", path, json={"packageDetail": confirmation()["packageDetail"]}))
    ) == ("body $: 'marketplaceId' is a required property")
    wrong = only(
        amazon.validate_request("POST", path, json=confirmation(orderItems=[{"orderItemId": "1", "quantity": "1"}]))
    )
    assert str(wrong) == "body $.packageDetail.orderItems[0].quantity: '1' is not of type integer"
    renamed = confirmation()
    renamed["packageDetail"]["trackingNo"] = renamed["packageDetail"].pop("trackingNumber")
    strict = [p for p in amazon.validate_request("POST", path, json=renamed, strict=True) if p.strict]
    assert "'trackingNo' is not a field the specification declares here (did you mean 'trackingNumber'?)" in (
        only(strict).message
    )
    cod = only(amazon.validate_request("POST", path, json={**confirmation(), "codCollectionMethod": "Cash"}))
    assert cod.path == "$.codCollectionMethod" and "'Cash' is not one of ['DirectPayment']" in cod.message


def test_it_says_when_no_operation_answers():
    amazon = contract("amazon")
    nowhere = only(amazon.validate_request("GET", "/listings/2021-08-01/nowhere"))
    assert (nowhere.part, nowhere.message) == (
        "operation",
        "no operation of amazon answers GET /listings/2021-08-01/nowhere",
    )
    wrong_method = only(amazon.validate_request("POST", LISTING, json=put_listing()))
    assert wrong_method.message.endswith("(that path takes DELETE, GET, PATCH, PUT)")
    with pytest.raises(LookupError, match="several operations"):
        amazon.operation("getOrder")
    assert amazon.operation("orders_2026-01-01:getOrder").template == "/orders/2026-01-01/orders/{orderId}"


def test_amazon_sandbox_request_examples_pass_or_fail_with_their_answer():
    """Amazon's models pair each sandbox request with its answer: those answered 2xx pass, those answered 400 fail."""
    checked = 0
    for operation in contract("amazon").operations():
        for example in operation.request_examples():
            problems = operation.validate_body(example.value, strict=True)
            assert bool(problems) == example.status.startswith("4"), (operation.name, example, messages(problems))  # type: ignore[union-attr]
            checked += 1
    assert checked >= 4


def test_it_gives_the_sandbox_answer_that_fits_the_request():
    put = contract("amazon").operation("putListingsItem")
    invalid = put.example_response(200, parameters={"sku": "VALIDATION_INVALID", "mode": "VALIDATION_PREVIEW"})
    assert invalid is not None and invalid.value["status"] == "INVALID"
    assert invalid.source == "x-amzn-api-sandbox/static"
    plain = put.example_response()
    assert plain is not None and plain.value["status"] == "ACCEPTED" and plain.status == "200"
    assert put.validate_response(200, json=plain.value, strict=True) == []


# -- Mirakl ----------------------------------------------------------------------------------------------------


def offer(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "shop_sku": "CEL-001",
        "product_id": "7891234567895",
        "product_id_type": "EAN",
        "price": 1999.9,
        "quantity": 12,
        "state_code": "11",
        "update_delete": "update",
    }
    data.update(changes)
    return data


def test_it_checks_mirakl_offers_of24():
    mirakl = contract("mirakl")
    assert mirakl.validate_request("POST", "/api/offers?shop_id=2001", json={"offers": [offer()]}, strict=True) == []
    renamed = offer()
    renamed["sku"] = renamed.pop("shop_sku")
    problems = mirakl.validate_request("POST", "/api/offers", json={"offers": [renamed]}, strict=True)
    assert messages(problems) == [
        "body $.offers[0]: 'shop_sku' is a required property",
        "body $.offers[0]: 'sku' is not a field the specification declares here (did you mean 'shop_sku'?)",
    ]
    assert str(only(mirakl.validate_request("POST", "/api/offers", json={"offers": [offer(quantity="12")]}))) == (
        "body $.offers[0].quantity: '12' is not of type integer or null"
    )
    too_many = only(mirakl.validate_request("POST", "/api/offers", json={"offers": [offer(quantity=2**31)]}))
    assert "2147483648 is greater than the maximum of 2147483647" in too_many.message  # format int32
    assert (
        str(only(mirakl.validate_request("POST", "/api/offers", json={}))) == "body $: 'offers' is a required property"
    )
    shop = only(mirakl.validate_request("POST", "/api/offers?shop_id=loja", json={"offers": [offer()]}))
    assert str(shop) == "query shop_id: 'loja' is not of type integer"


def test_mirakl_optional_fields_may_be_null_as_its_examples_and_descriptions_say():
    mirakl = contract("mirakl")
    prices = [{"channel_code": None, "unit_origin_price": 1999.9}]  # "To set the default prices, set it to null"
    assert mirakl.validate_request("POST", "/api/offers", json={"offers": [offer(all_prices=prices)]}) == []
    required = only(mirakl.validate_request("POST", "/api/offers", json={"offers": [offer(price=None)]}))
    assert required.path == "$.offers[0].price" and "None is not of type number" in required.message


def test_it_follows_mirakl_discriminators_for_additional_fields():
    mirakl = contract("mirakl")
    numeric = {"code": "garantia", "type": "NUMERIC", "value": "12"}
    assert (
        mirakl.validate_request(
            "POST", "/api/offers", json={"offers": [offer(offer_additional_fields=[numeric])]}, strict=True
        )
        == []
    )
    no_value = {"code": "garantia", "type": "STRING"}
    problem = only(
        mirakl.validate_request("POST", "/api/offers", json={"offers": [offer(offer_additional_fields=[no_value])]})
    )
    assert str(problem) == "body $.offers[0].offer_additional_fields[0]: 'value' is a required property"


def test_it_checks_mirakl_order_acceptance_or21_and_tracking_or23():
    mirakl = contract("mirakl")
    accept = "/api/orders/MKP-0001-A/accept"
    lines = {"order_lines": [{"id": "MKP-0001-A-1", "accepted": True}, {"id": "MKP-0001-A-2", "accepted": False}]}
    assert mirakl.validate_request("PUT", accept, json=lines, strict=True) == []
    as_text = only(mirakl.validate_request("PUT", accept, json={"order_lines": [{"id": "1", "accepted": "true"}]}))
    assert str(as_text) == "body $.order_lines[0].accepted: 'true' is not of type boolean"
    no_id = only(mirakl.validate_request("PUT", accept, json={"order_lines": [{"accepted": True}]}))
    assert str(no_id) == "body $.order_lines[0]: 'id' is a required property"
    tracking = {"carrier_code": "CORREIOS", "tracking_number": "BR123456789BR"}
    assert mirakl.validate_request("PUT", "/api/orders/MKP-0001-A/tracking", json=tracking, strict=True) == []
    renamed = {"carrier_code": "CORREIOS", "tracking_numbr": "BR123456789BR"}
    assert (
        "did you mean 'tracking_number'?"
        in only(mirakl.validate_request("PUT", "/api/orders/MKP-0001-A/tracking", json=renamed, strict=True)).message
    )


def test_it_reads_mirakl_comma_separated_lists_item_by_item():
    mirakl = contract("mirakl")
    assert (
        mirakl.validate_request("GET", "/api/orders?order_state_codes=WAITING_ACCEPTANCE,SHIPPING", strict=True) == []
    )
    wrong = only(mirakl.validate_request("GET", "/api/orders?order_state_codes=WAITING_ACCEPTANCE,SHIPED"))
    assert wrong.path == "order_state_codes[1]" and "'SHIPED' is not one of" in wrong.message


def multipart(fields: dict[str, Any], files: dict[str, Any]) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://127.0.0.1/", data=fields, files=files)
    return request.read(), request.headers["content-type"]


def test_it_checks_a_mirakl_offer_import_of01_as_multipart():
    mirakl = contract("mirakl")
    csv = b"sku;product-id;product-id-type;price;quantity;state\nCEL-001;7891234567895;EAN;1999.90;12;11\n"
    body, kind = multipart(
        {"import_mode": "NORMAL", "with_products": "false"}, {"file": ("offers.csv", csv, "text/csv")}
    )
    assert (
        mirakl.validate_request("POST", "/api/offers/imports", body=body, headers={"content-type": kind}, strict=True)
        == []
    )
    body, kind = multipart({"import_mode": "NORMAL", "with_products": "sim"}, {"file": ("offers.csv", csv, "text/csv")})
    wrong = only(mirakl.validate_request("POST", "/api/offers/imports", body=body, headers={"content-type": kind}))
    assert str(wrong) == "body $.with_products: 'sim' is not of type boolean or null"
    body, kind = multipart({"import_mode": "NORMAL", "file": csv.decode()}, {"other": ("x.csv", b"x", "text/csv")})
    problems = messages(
        mirakl.validate_request("POST", "/api/offers/imports", body=body, headers={"content-type": kind}, strict=True)
    )
    assert "body file: must be sent as a file part (with a filename)" in problems
    assert "body $: 'other' is not a field the specification declares here" in " ".join(problems)
    body, kind = multipart({}, {"file": ("offers.csv", csv, "text/csv")})
    missing = only(mirakl.validate_request("POST", "/api/offers/imports", body=body, headers={"content-type": kind}))
    assert str(missing) == "body $: 'import_mode' is a required property"
    as_json = only(mirakl.validate_request("POST", "/api/offers/imports", json={"import_mode": "NORMAL"}))
    assert as_json.part == "header" and "it takes multipart/form-data" in as_json.message


def test_it_checks_a_mirakl_product_import_p41_with_a_file():
    mirakl = contract("mirakl")
    body, kind = multipart({}, {"file": ("products.csv", b"sku;title\nCEL-001;Acme X1\n", "text/csv")})
    assert (
        mirakl.validate_request("POST", "/api/products/imports", body=body, headers={"content-type": kind}, strict=True)
        == []
    )
    body, kind = multipart({}, {"operator_format": (None, "true")})
    assert "'file' is a required property" in str(
        only(mirakl.validate_request("POST", "/api/products/imports", body=body, headers={"content-type": kind}))
    )


# -- Bling -----------------------------------------------------------------------------------------------------


def product(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "nome": "Smartphone Acme X1 128 GB",
        "codigo": "CEL-001",
        "preco": 1999.9,
        "tipo": "P",
        "situacao": "A",
        "formato": "S",
        "gtin": "7891234567895",
        "pesoBruto": 0.18,
        "dimensoes": {"largura": 7.5, "altura": 15, "profundidade": 1, "unidadeMedida": 1},
    }
    data.update(changes)
    return data


def test_it_checks_bling_product_creation():
    bling = contract("bling")
    assert bling.validate_request("POST", "/produtos", json=product(), strict=True) == []
    assert bling.validate_request("POST", "/Api/v3/produtos", json=product(), strict=True) == []  # the server's path
    assert str(only(bling.validate_request("POST", "/produtos", json=product(preco="1999,90")))) == (
        "body $.preco: '1999,90' is not of type number"
    )
    assert "'X' is not one of ['S', 'P', 'N']" in str(
        only(bling.validate_request("POST", "/produtos", json=product(tipo="X")))
    )
    body = product()
    del body["nome"]
    assert str(only(bling.validate_request("POST", "/produtos", json=body))) == "body $: 'nome' is a required property"
    renamed = product()
    renamed["sku"] = renamed.pop("codigo")
    assert (
        "'sku' is not a field the specification declares here"
        in only(bling.validate_request("POST", "/produtos", json=renamed, strict=True)).message
    )


def sale(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "numeroLoja": "2000008123456789",
        "data": "2026-01-10",
        "dataSaida": "2026-01-10",
        "dataPrevista": "2026-01-12",
        "contato": {"id": 12345678},
        "loja": {"id": 203000001},
        "itens": [
            {
                "codigo": "CEL-001",
                "descricao": "Smartphone Acme X1 128 GB",
                "unidade": "UN",
                "quantidade": 1,
                "valor": 1999.9,
                "valorLista": 1999.9,
                "produto": {"id": 16000001},
            }
        ],
        "parcelas": [{"dataVencimento": "2026-01-10", "valor": 1999.9, "formaPagamento": {"id": 1}}],
    }
    data.update(changes)
    return data


def test_it_checks_a_bling_sales_order():
    bling = contract("bling")
    # `parcelas[].id` is required by the spec yet "Ignorado no método POST": read as readOnly, a POST need not send it
    assert bling.validate_request("POST", "/pedidos/vendas", json=sale(), strict=True) == []
    body = sale()
    del body["contato"]
    assert str(only(bling.validate_request("POST", "/pedidos/vendas", json=body))) == (
        "body $: 'contato' is a required property"
    )
    bad_date = only(bling.validate_request("POST", "/pedidos/vendas", json=sale(data="10/01/2026")))
    assert str(bad_date) == "body $.data: '10/01/2026' is not a valid date"


def test_it_reads_blings_bracketed_array_parameters():
    bling = contract("bling")
    assert bling.validate_request("GET", "/produtos?codigos[]=CEL-001&codigos[]=CEL-002&pagina=1", strict=True) == []
    assert bling.validate_request("GET", "/produtos?codigos%5B%5D=CEL-001&idsProdutos%5B%5D=16000001") == []
    ids = only(bling.validate_request("GET", "/produtos?idsProdutos[]=16000001&idsProdutos[]=CEL-002"))
    assert str(ids) == "query idsProdutos[][1]: 'CEL-002' is not of type integer"
    criterio = only(bling.validate_request("GET", "/produtos?criterio=9"))
    assert criterio.path == "criterio" and "9 is not one of [1, 2, 3, 4, 5]" in criterio.message
    plain = only(bling.validate_request("GET", "/produtos?codigos=CEL-001", strict=True))
    assert plain.strict and "did you mean 'codigos[]'?" in plain.message


# -- JSON Schema documents -------------------------------------------------------------------------------------


def feed_example() -> dict[str, Any]:
    return json.loads((spec_dir("amazon") / "listings-feed-schema-v2.example.json").read_text())


def test_the_listings_feed_example_passes_its_schema_and_broken_copies_fail():
    schema = json_schema("amazon", "listings-feed-schema-v2.json")
    assert schema.validate(feed_example(), strict=True) == []
    broken = feed_example()
    broken["messages"][0]["operationType"] = "UPSERT"
    assert "body $.messages[0].operationType: 'UPSERT' is not one of" in messages(schema.validate(broken))[0]
    broken = feed_example()
    del broken["messages"][1]["messageId"]
    assert str(only(schema.validate(broken))) == "body $.messages[1]: 'messageId' is a required property"
    broken = feed_example()
    broken["header"]["version"] = "1.0"
    assert str(only(schema.validate(broken))) == "body $.header.version: '1.0' is not '2.0'"
    broken = feed_example()
    broken["messages"][0]["seller_sku"] = broken["messages"][0].pop("sku")
    problems = messages(schema.validate(broken, strict=True))
    assert "body $.messages[0]: 'sku' is a required property" in problems
    assert schema.validate_json(b"{not json")[0].message.startswith("not valid JSON")


def test_amazons_notification_examples_pass_their_schemas_but_one():
    for name in ("ListingsItemIssuesChangeNotification_2023-12-13.json", "OrderChangeNotification.json"):
        schema = json_schema("amazon", name)
        assert schema.examples() and all(schema.validate(e, strict=True) == [] for e in schema.examples()), name
    # The status schema's enum says LISTINGS_ITEM_STATUS_CHANGED; its example (and Amazon's documentation) say
    # LISTINGS_ITEM_STATUS_CHANGE. A connector reading notifications must not reject the real name.
    status = json_schema("amazon", "ListingsItemStatusChangeNotification.json")
    assert "'LISTINGS_ITEM_STATUS_CHANGE' is not one of ['LISTINGS_ITEM_STATUS_CHANGED']" in str(
        only(status.validate(status.examples()[0]))
    )


# -- every example of every spec -------------------------------------------------------------------------------


def failing_examples() -> dict[tuple[str, str, str], list[str]]:
    """(contract, operation, "request" | "response") → problems, for every business example that fails its schema."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for name in ("amazon", "mirakl", "bling"):
        for operation in contract(name).operations():
            for example in operation.request_examples():
                bad_on_purpose = (example.status or "").startswith("4")
                if example.source.endswith("-auto") or bad_on_purpose or example.media_type != "application/json":
                    continue
                problems = operation.validate_body(example.value, strict=True)
                if problems:
                    found.setdefault((name, operation.name, "request"), []).extend(messages(problems))
            for example in operation.response_examples():
                if example.source.endswith("-auto") or not example.media_type.endswith("json"):
                    continue
                status = int(example.status) if (example.status or "").isdigit() else 200
                problems = operation.validate_response(status, json=example.value, strict=True)
                if problems:
                    found.setdefault((name, operation.name, "response"), []).extend(messages(problems))
    return found


def test_every_example_passes_its_schema_or_is_a_known_fault_of_its_spec():
    found = failing_examples()
    assert set(found) - set(KNOWN_EXAMPLE_FAULTS) == set(), {
        k: found[k][:3] for k in set(found) - set(KNOWN_EXAMPLE_FAULTS)
    }
    assert set(KNOWN_EXAMPLE_FAULTS) - set(found) == set(), "fixed in the spec: take them off KNOWN_EXAMPLE_FAULTS"


def test_the_fast_verdict_is_never_more_lenient_than_the_full_check():
    """Over every example of the three specs (hundreds of real documents, valid and not): where jsonschema finds a
    problem, jsonschema_rs must not have said valid."""
    compared = 0
    for name in ("amazon", "mirakl", "bling"):
        for operation in contract(name).operations():
            for example in operation.response_examples():
                declared = operation.answer(example.status or "200")
                schema = declared.media.get("application/json", (None, None)) if declared else (None, None)
                if schema[1] is None or not example.media_type.endswith("json"):
                    continue
                checker = declared.checker(operation.schemas, "application/json", "response")  # type: ignore[union-attr]
                checker.problems(example.value, part="response", root="$")
                assert checker._fast is not False, f"jsonschema_rs could not read {operation.name}'s answer schema"
                full = list(checker._full.iter_errors(example.value)) if checker._full else []
                if full:
                    assert not checker._fast.is_valid(example.value), (operation.name, example.source)
                compared += 1
    assert compared > 300


def test_every_json_body_schema_compiles_for_the_fast_verdict():
    for name in ("amazon", "mirakl", "bling"):
        for operation in contract(name).operations():
            if operation.body and operation.body.media.get("application/json", (None, None))[1]:
                checker = operation.body.checker(operation.schemas, "application/json", "request")
                assert checker.schemas.fast_validator(checker.reference, "request") is not None, operation.name


# -- loading ---------------------------------------------------------------------------------------------------


def test_importing_ponte_and_the_contracts_reads_no_spec():
    code = (
        "import sys, ponte, ponte.contract\n"
        "c = ponte.contract.contract('mirakl')\n"
        "print(all(s._loaded is None for s in c.specs), 'jsonschema' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]


def test_it_reads_an_openapi_document_given_in_memory_with_a_server_path():
    document = {
        "openapi": "3.0.3",
        "servers": [{"url": "https://api.example.com/v2"}],
        "paths": {
            "/items/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "put": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id", "name"],
                                    "properties": {
                                        "id": {"type": "integer", "readOnly": True},
                                        "name": {"type": "string", "nullable": True},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"200": {"description": "ok"}},
                },
            },
            "/items/mine": {"put": {"responses": {"204": {"description": "ok"}}}},
        },
    }
    spec = Contract("example", [ApiSpec(document=document)])
    assert spec.validate_request("PUT", "/v2/items/7", json={"name": None}, strict=True) == []  # readOnly id spared
    assert spec.match("PUT", "/items/mine").operation.template == "/items/mine"  # type: ignore[union-attr]
    assert (
        str(only(spec.validate_request("PUT", "/items/x", json={"name": "a"}))) == "path id: 'x' is not of type integer"
    )
    assert spec.operation("PUT /items/{id}").validate_response(201) != []  # a success it does not document
    assert SchemaDocument(document={"type": "object", "required": ["a"]}).validate({}) != []


# -- the middleware, over real HTTP ------------------------------------------------------------------------------


def mirakl_refusal(operation: Any, problems: list[Problem]) -> tuple[int, Any]:
    return 400, {"status": 400, "message": "; ".join(str(p) for p in problems)}


class Emulation:
    """A tiny Mirakl emulation: what reached it, and answers of the right and of the wrong shape."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def offers(self, request: Request) -> Response:
        self.seen.append("OF24")
        return JSONResponse({"import_id": 2044}, status_code=201)

    async def accept(self, request: Request) -> Response:
        self.seen.append("OR21")
        return Response(status_code=204)

    async def order(self, request: Request) -> Response:
        self.seen.append("OR12")
        return JSONResponse({"order_id": request.path_params["order_id"], "invented": True})  # not the spec's shape

    async def token(self, request: Request) -> Response:
        return JSONResponse({"access_token": "x"})


@contextmanager
def serve(app: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture(name="emulated")
def emulated_fixture() -> Iterator[tuple[str, Emulation]]:
    emulation = Emulation()
    app = Starlette(
        routes=[
            Route("/mirakl/api/offers", emulation.offers, methods=["POST"]),
            Route("/mirakl/api/orders/{order_id}/accept", emulation.accept, methods=["PUT"]),
            Route("/mirakl/api/orders/{order_id}", emulation.order, methods=["GET"]),
            Route("/mirakl/oauth/token", emulation.token, methods=["POST"]),
        ]
    )
    wrapped = ContractMiddleware(app, contract("mirakl"), reject=mirakl_refusal, mount="/mirakl", skip=("/oauth/",))
    with serve(wrapped) as url:
        yield url + "/mirakl", emulation


def test_the_middleware_lets_valid_requests_through_and_refuses_invalid_ones_in_the_emulations_shape(emulated):
    url, emulation = emulated
    with recording() as recorder:
        good = httpx.post(f"{url}/api/offers", json={"offers": [offer()]})
        bad = httpx.post(f"{url}/api/offers", json={"offers": [offer(quantity="12")]})
    assert good.status_code == 201 and good.json() == {"import_id": 2044}
    assert bad.status_code == 400
    assert bad.json() == {"status": 400, "message": "body $.offers[0].quantity: '12' is not of type integer or null"}
    assert emulation.seen == ["OF24"]  # the refused request never reached the emulation
    assert [(e.operation, e.status, e.rejected) for e in recorder.exchanges] == [
        ("OF24", 201, False),
        ("OF24", 400, True),
    ]


def test_the_recorder_lists_what_departs_from_the_spec_strict_fields_and_answers_included(emulated):
    url, _ = emulated
    with recording() as recorder:
        renamed = offer()
        renamed["preco"] = 1999.9  # the emulation takes it (not strict), the recorder does not
        assert httpx.post(f"{url}/api/offers", json={"offers": [renamed]}).status_code == 201
        lines = {"order_lines": [{"id": "MKP-1-A-1", "accepted": True}]}
        assert httpx.put(f"{url}/api/orders/MKP-1-A/accept", json=lines).status_code == 204
        httpx.get(f"{url}/api/orders/MKP-1-A")  # the emulation's answer is not the spec's shape
        httpx.get(f"{url}/api/nowhere")  # not an operation of the spec: let through (404), recorded
        httpx.post(f"{url}/oauth/token")  # skipped: neither checked nor recorded
    assert recorder.operations() == ["OF24", "OR21", "OR12"]
    recorder.assert_reached("OF24", "OR21")
    with pytest.raises(AssertionError, match="never reached: OR23"):
        recorder.assert_reached("OR23")
    report = recorder.report()
    assert "'preco' is not a field the specification declares here" in report
    assert "response $: 'invented' is not a field the specification declares here" in report
    assert "no operation of mirakl answers GET /api/nowhere" in report
    assert "oauth" not in report and "OR21" not in report
    with pytest.raises(AssertionError, match="depart from the published specification"):
        recorder.assert_clean()
    lenient = ContractRecorder(strict=False, responses=False)
    for exchange in recorder.exchanges:
        lenient.record(exchange)
    assert [str(p) for _, p in lenient.violations()] == ["operation: no operation of mirakl answers GET /api/nowhere"]


def test_it_checks_a_multipart_import_sent_over_http(emulated):
    url, _ = emulated
    app_url = url.replace("/mirakl", "")
    assert app_url
    files = {"file": ("offers.csv", b"sku;price\nCEL-001;1999.90\n", "text/csv")}
    with recording() as recorder:
        answer = httpx.post(f"{url}/api/offers/imports", data={"with_products": "false"}, files=files)
    assert answer.status_code == 400  # import_mode missing: refused before the emulation (which has no such route)
    assert "'import_mode' is a required property" in answer.json()["message"]
    assert recorder.exchanges[0].operation == "OF01"


def test_the_contract_recorder_fixture_is_clean_when_nothing_departs(contract_recorder, emulated):
    url, _ = emulated
    assert httpx.post(f"{url}/api/offers", json={"offers": [offer()]}).status_code == 201
    contract_recorder.assert_reached("OF24")


def test_vendored_specs_are_the_published_files_with_their_readmes():
    shared = Path(__file__).resolve().parents[3] / "shared" / "specs"
    for name in ("amazon", "mirakl", "bling"):
        folder = spec_dir(name)
        assert "commit" in (folder / "README.md").read_text()
        if shared.is_dir():  # the source beside a developer's checkout; CI's clean clone may not have it
            for source in (shared / name).iterdir():
                assert (folder / source.name).read_bytes() == source.read_bytes(), source.name
