"""The Amazon connector against the emulation, over real HTTP, every request held to Amazon's published models
(`contract_recorder` fails a test on any departure, undeclared fields included)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from amazon_support import APPLICATION_ID, BRAZIL, CLIENT_ID, EAN, SELLER_ID
from ponte.clock import now
from ponte.connectors.base import CallFailed, GrantRefused, Listing, SubmissionRef
from ponte.connectors.context import CredentialsRevoked
from ponte.contract import contract, json_schema
from ponte.domain import Disposition, Status
from sandbox_fixtures import price_send, product_send, stock_send


def listed(amazon, sku="CEL-001", **changes):
    connector = amazon.connector()
    outcome = connector.send_product(product_send(sku, **changes))
    assert outcome.status == Status.SUCCESS, outcome.message
    return connector, outcome


def test_it_lists_a_product_with_the_attributes_its_product_type_asks_for(amazon, contract_recorder):
    _, outcome = listed(amazon)
    contract_recorder.assert_reached("putListingsItem")
    assert outcome.listing == Listing(
        "CEL-001",
        {"product_type": "PRODUCT", "submission_id": outcome.listing.data["submission_id"], "asin": "B0ACMEX100"},
    )
    assert outcome.message.startswith("Accepted by Amazon for processing")
    attributes = amazon.listings("CEL-001")["CEL-001"]["attributes"]
    assert attributes["externally_assigned_product_identifier"] == [
        {"type": "ean", "value": EAN, "marketplace_id": BRAZIL}
    ]
    assert attributes["item_name"][0] == {
        "value": "Smartphone Acme X1 128 GB",
        "language_tag": "pt_BR",
        "marketplace_id": BRAZIL,
    }
    assert attributes["purchasable_offer"][0]["our_price"] == [{"schedule": [{"value_with_tax": 899}]}]
    assert attributes["fulfillment_availability"] == [{"fulfillment_channel_code": "DEFAULT", "quantity": 10}]
    assert attributes["item_package_dimensions"][0]["height"] == {"value": 15, "unit": "centimeters"}
    assert [b["value"] for b in attributes["bullet_point"]] == ["Cor: Preto", "MODEL: X1"]
    assert attributes["other_product_image_locator_1"][0]["media_location"].endswith("x1-back.png")
    sent = outcome.request
    assert "x-amz-access-token" not in str(sent) and "Atza|" not in str(sent)  # the token is never recorded


def test_a_warning_issue_makes_it_com_aviso_in_amazons_words(amazon, contract_recorder):
    outcome = amazon.connector().send_product(product_send(description=None))
    assert outcome.status == Status.WARNING
    assert outcome.code == "99300" and "'product_description' is recommended" in outcome.message
    assert outcome.listing is not None  # accepted all the same


@pytest.mark.parametrize(
    ("changes", "code", "category", "disposition"),
    [
        ({"brand": None}, "90220", "missing_attribute", Disposition.FIX),
        ({"brand": "Outra"}, "8541", "invalid_gtin", Disposition.FIX),
        ({"ean": "7891234567890"}, "90205", "invalid_gtin", Disposition.FIX),
        ({"marketplace_category": "TELEFONE"}, "4000003", "invalid_category", Disposition.FIX),
        ({"marketplace_category": "cellular_phone"}, "90220", "missing_attribute", Disposition.FIX),
        ({"price": 0}, "90205", "price_rejected", Disposition.FIX),
    ],
)
def test_a_refused_listing_fails_with_amazons_code_and_ponte_s_category(
    amazon, contract_recorder, changes, code, category, disposition
):
    outcome = amazon.connector().send_product(product_send(**changes))
    assert (outcome.status, outcome.code, outcome.category, outcome.disposition) == (
        Status.ERROR, code, category, disposition,
    )  # fmt: skip
    assert outcome.listing is None and amazon.listings("CEL-001") == {}
    assert outcome.http_status == 200  # INVALID comes in a success answer: its issues say why


def test_a_brand_amazon_must_approve_waits_on_amazon(amazon, contract_recorder):
    amazon.admin("sellers", seller_id=SELLER_ID, name="Loja Alice", restricted_brands=["Acme"])
    outcome = amazon.connector().send_product(product_send())
    assert (outcome.code, outcome.category, outcome.disposition) == (
        "5665",
        "seller_restricted",
        Disposition.MARKETPLACE,
    )
    assert "approval to list products of brand 'Acme'" in outcome.message


def test_a_validation_preview_judges_without_listing(amazon, contract_recorder):
    outcome = amazon.connector().preview(product_send())
    assert outcome.status == Status.SUCCESS and "would accept" in outcome.message
    assert outcome.response["body"]["status"] == "VALID"
    assert amazon.listings() == {}


def test_price_and_stock_patch_the_listing(amazon, contract_recorder):
    connector, outcome = listed(amazon)
    listing = outcome.listing
    price = connector.send_price(price_send("CEL-001", 999.0, 849.9, listing=listing))
    stock = connector.send_inventory(stock_send("CEL-001", 3, handling_days=2, listing=listing))
    assert (price.status, stock.status) == (Status.SUCCESS, Status.SUCCESS), (price.message, stock.message)
    contract_recorder.assert_reached("patchListingsItem")
    attributes = amazon.listings("CEL-001")["CEL-001"]["attributes"]
    assert attributes["purchasable_offer"][0]["our_price"] == [{"schedule": [{"value_with_tax": 849.9}]}]
    assert attributes["fulfillment_availability"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 3, "lead_time_to_ship_max_days": 2}
    ]
    again = connector.send_inventory(stock_send("CEL-001", 7, handling_days=2, listing=listing))
    assert again.status == Status.SUCCESS
    assert amazon.listings("CEL-001")["CEL-001"]["attributes"]["fulfillment_availability"][0]["quantity"] == 7


def test_a_price_of_a_sku_amazon_does_not_have_is_an_error(amazon, contract_recorder):
    outcome = amazon.connector().send_price(price_send("NOPE", 10.0, 9.0))
    assert (outcome.status, outcome.code, outcome.http_status) == (Status.ERROR, "NotFound", 404)
    assert outcome.category == "sku_not_linked"


def test_a_renamed_field_is_refused_by_the_models_and_by_the_emulation(amazon):
    body = {"productType": "PRODUCT", "requirements": "LISTING", "attributes": {}}
    target = f"/listings/2021-08-01/items/{SELLER_ID}/CEL-001?marketplaceIds={BRAZIL}"
    assert contract("amazon").validate_request("PUT", target, json=body) == []
    renamed = {"product_type": "PRODUCT", "requirements": "LISTING", "attributes": {}}
    problems = contract("amazon").validate_request("PUT", target, json=renamed)
    assert problems and "productType" in str(problems[0])
    wrong_type = {**body, "requirements": "EVERYTHING"}
    assert contract("amazon").validate_request("PUT", target, json=wrong_type)
    token = amazon.grant().access_token
    answer = httpx.put(f"{amazon.url}{target}", json=renamed, headers={"x-amz-access-token": token}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "InvalidInput" and "productType" in answer.text
    no_marketplace = httpx.put(
        f"{amazon.url}/listings/2021-08-01/items/{SELLER_ID}/CEL-001", json=body,
        headers={"x-amz-access-token": token}, timeout=10,
    )  # fmt: skip
    assert no_marketplace.status_code == 400 and "marketplaceIds" in no_marketplace.text


def test_a_429_pauses_the_operation_for_every_worker(amazon, contract_recorder):
    connector, outcome = listed(amazon)
    amazon.admin("config", rates={"patchListingsItem": [0.001, 1]})
    first = connector.send_inventory(stock_send("CEL-001", 1, listing=outcome.listing))
    refused = connector.send_inventory(stock_send("CEL-001", 2, listing=outcome.listing))
    assert first.status == Status.SUCCESS
    assert (refused.status, refused.code, refused.category, refused.transient) == (
        Status.ERROR, "QuotaExceeded", "rate_limited", True,
    )  # fmt: skip
    assert refused.retry_after == 1000  # one request back at the rate x-amzn-RateLimit-Limit says (0.001/s)
    assert connector.context.limits.available("patchListingsItem") == 0.0  # paused for everyone


def test_an_expired_token_is_renewed_once_and_a_revoked_grant_stops(amazon, contract_recorder):
    connector, outcome = listed(amazon)
    amazon.admin("tokens/expire")
    again = connector.send_inventory(stock_send("CEL-001", 5, listing=outcome.listing))
    assert again.status == Status.SUCCESS and connector.context.credentials.refreshes == 1
    amazon.admin("grants/revoke", seller_id=SELLER_ID)
    with pytest.raises(CredentialsRevoked, match="invalid or was revoked"):
        connector.send_inventory(stock_send("CEL-001", 6, listing=outcome.listing))


def test_a_private_apps_pasted_refresh_token_is_its_first_grant(amazon, contract_recorder):
    refresh = amazon.grant().refresh_token
    connector = amazon.connector(granted=False, refresh_token=refresh, seller_id=SELLER_ID)
    outcome = connector.test_connection()
    assert outcome.status == Status.SUCCESS
    assert outcome.message == f"Connected to Amazon as seller {SELLER_ID} (marketplace {BRAZIL}): 0 listing(s)"
    contract_recorder.assert_reached("searchListingsItems")


def test_without_a_seller_id_it_says_what_to_fill_in(amazon):
    connector = amazon.connector(grant=dataclasses.replace(amazon.grant(), extra={}))
    with pytest.raises(CallFailed) as failed:
        connector.send_product(product_send())
    assert failed.value.outcome.category == "integration_config"


def test_the_consent_page_gives_a_code_the_connector_trades_for_a_refresh_token(amazon):
    connector = amazon.connector(granted=False)
    redirect = "https://ponte.example/oauth/callback/amazon"
    url = connector.authorization_url(state="st-1", redirect_uri=redirect, code_challenge=None)
    assert url.startswith(f"{amazon.url}/sellercentral/apps/authorize/consent?application_id={APPLICATION_ID}")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200 and "Loja Alice" in page.text
    back = httpx.post(url, data={**query, "seller_id": SELLER_ID, "decision": "confirm"}, timeout=10)
    assert back.status_code == 302
    sent = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["location"]).query).items()}
    assert (sent["state"], sent["selling_partner_id"]) == ("st-1", SELLER_ID)
    grant = connector.exchange_code(code=sent["spapi_oauth_code"], redirect_uri=redirect, code_verifier=None)
    assert grant.refresh_token.startswith("Atzr|") and grant.access_token.startswith("Atza|")
    with pytest.raises(GrantRefused, match="invalid or has expired"):  # a code is used once
        connector.exchange_code(code=sent["spapi_oauth_code"], redirect_uri=redirect, code_verifier=None)


def test_the_consent_page_knows_only_registered_apps(amazon):
    connector = amazon.connector(granted=False, application_id="amzn1.sp.solution.unknown")
    url = connector.authorization_url(state="s", redirect_uri="https://x.example/cb", code_challenge=None)
    assert httpx.get(url, timeout=10).status_code == 400
    assert CLIENT_ID  # the app Alice's sandbox knows is registered by its client id


def test_every_error_code_in_the_table_has_a_known_category():
    from ponte.connectors.amazon.errors import table
    from ponte.knowledge.articles import categories

    known = {category["code"] for category in categories()}
    loaded = table()
    readings = [*loaded.api_codes.values(), *loaded.issue_codes.values(), *loaded.issue_categories.values()]
    readings += [*loaded.attributes.values(), *loaded.statuses.values()]
    assert readings and {r.category for r in readings} <= known


def test_prices_are_sent_as_numbers_never_text(amazon):
    from ponte.connectors.amazon.listings import offer
    from ponte.connectors.amazon.settings import AmazonSettings

    config = AmazonSettings(client_id="x", client_secret="y")
    assert offer(Decimal("10.50"), config)[0]["our_price"] == [{"schedule": [{"value_with_tax": 10.5}]}]


# -- many at once: JSON_LISTINGS_FEED --------------------------------------------------------------------------


def test_many_changes_go_as_one_feed_judged_sku_by_sku(amazon, contract_recorder):
    connector, outcome = listed(amazon)
    _, other = listed(amazon, "CEL-002", ean="7896543210982")
    sends = [
        price_send("CEL-001", 999.0, 799.0, listing=outcome.listing),
        stock_send("CEL-001", 4, listing=outcome.listing),
        stock_send("CEL-002", 6, listing=other.listing),
        price_send("GHOST", 10.0, 9.0),
        price_send("NO-PRICE", 10.0, None),
    ]
    result = connector.send_batch("price", sends)
    assert result.submission is not None and result.submission.operation == "JSON_LISTINGS_FEED"
    assert result.submission.refs == {"CEL-001": "1", "CEL-002": "2", "GHOST": "3"}  # one message a SKU
    assert {sku: o.status for sku, o in result.outcomes.items()} == {
        "CEL-001": Status.PENDING, "CEL-002": Status.PENDING, "GHOST": Status.PENDING, "NO-PRICE": Status.ERROR,
    }  # fmt: skip
    contract_recorder.assert_reached("createFeedDocument", "createFeed")
    ref = SubmissionRef(1, "JSON_LISTINGS_FEED", result.submission.external_id, result.submission.refs, {}, now())
    assert connector.poll_submission(ref).done is False  # processed a minute after it arrived
    amazon.advance(61)
    judged = connector.poll_submission(ref)
    assert judged.done and judged.outcomes["CEL-001"].status == Status.SUCCESS
    assert judged.outcomes["CEL-002"].status == Status.SUCCESS
    ghost = judged.outcomes["GHOST"]
    assert (ghost.status, ghost.code, ghost.category) == (Status.ERROR, "NotFound", "sku_not_linked")
    contract_recorder.assert_reached("getFeed", "getFeedDocument")
    attributes = amazon.listings("CEL-001")["CEL-001"]["attributes"]
    assert attributes["purchasable_offer"][0]["our_price"] == [{"schedule": [{"value_with_tax": 799}]}]
    assert attributes["fulfillment_availability"][0]["quantity"] == 4


def test_every_feed_document_is_held_to_the_listings_feed_schema(amazon):
    from ponte.connectors.amazon.feeds import document

    connector, outcome = listed(amazon)
    body, _, _ = document(connector, [price_send("CEL-001", 10.0, 9.0, listing=outcome.listing)])
    schema = json_schema("amazon", "listings-feed-schema-v2.json")
    assert schema.validate(body, strict=True) == []
    renamed = {
        **body,
        "messages": [{("messageID" if k == "messageId" else k): v for k, v in body["messages"][0].items()}],
    }
    assert schema.validate(renamed, strict=True)
    wrong = {**body, "messages": [{**body["messages"][0], "operationType": "REPLACE"}]}
    assert schema.validate(wrong)


def test_a_document_amazon_cannot_read_fails_the_feed_as_fatal(amazon):
    token = amazon.grant().access_token
    headers = {"x-amz-access-token": token}
    made = httpx.post(
        f"{amazon.url}/feeds/2021-06-30/documents", json={"contentType": "application/json"}, headers=headers
    ).json()
    assert (
        httpx.put(
            made["url"], content=b'{"header": {}, "messages": []}', headers={"Content-Type": "application/json"}
        ).status_code
        == 200
    )
    body = {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [BRAZIL], "inputFeedDocumentId": made["feedDocumentId"]}
    feed = httpx.post(f"{amazon.url}/feeds/2021-06-30/feeds", json=body, headers=headers).json()["feedId"]
    amazon.advance(61)
    assert (
        httpx.get(f"{amazon.url}/feeds/2021-06-30/feeds/{feed}", headers=headers).json()["processingStatus"] == "FATAL"
    )


# -- reconciliation: what Amazon holds, read back -------------------------------------------------------------


def test_the_listings_are_read_back_with_price_stock_and_status(amazon, contract_recorder):
    from ponte.connectors.base import ReadRequest

    connector, _ = listed(amazon)
    listed(amazon, "CEL-002", ean="7896543210982")
    issue = {
        "code": "18027",
        "message": "Image not downloadable.",
        "severity": "ERROR",
        "categories": ["INVALID_IMAGE"],
    }
    amazon.admin(f"listings/{SELLER_ID}/CEL-002/issues", issues=[issue])
    page = connector.read_listings(ReadRequest(mode="full"))
    contract_recorder.assert_reached("searchListingsItems")
    assert page.outcome is None and page.cursor is None
    held = {h.sku: h for h in page.listings}
    first = held["CEL-001"]
    assert (first.listing_id, first.price, first.quantity, first.status) == ("CEL-001", Decimal("899.00"), 10, "active")
    assert first.detail["asin"] == "B0ACMEX100"
    assert (held["CEL-002"].status, held["CEL-002"].cause) == ("inactive", "18027: Image not downloadable.")
    focused = connector.read_listings(ReadRequest(mode="focused", listing_ids=("CEL-001", "GONE")))
    assert [h.sku for h in focused.listings] == ["CEL-001"] and focused.missing == ("GONE",)


def test_a_full_read_pages_twenty_listings_at_a_time(amazon, contract_recorder):
    from ponte.connectors.base import ReadRequest

    amazon.admin("listings", seller_id=SELLER_ID, skus=[f"S-{n:02d}" for n in range(25)], price=12.5, quantity=3)
    connector = amazon.connector()
    first = connector.read_listings(ReadRequest(mode="full"))
    assert len(first.listings) == 20 and first.cursor
    rest = connector.read_listings(ReadRequest(mode="full", cursor=first.cursor))
    assert len(rest.listings) == 5 and rest.cursor is None
    assert {h.price for h in rest.listings} == {Decimal("12.50")}
