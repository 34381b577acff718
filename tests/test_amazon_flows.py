"""End to end over real HTTP, on SQLite and PostgreSQL, with a real worker: a store selling on Amazon through the
Amazon connector and the sandbox's emulation of the Selling Partner API. The clock is moved, never waited for."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, update

from amazon_support import CLIENT_SECRET, EAN, SELLER_ID, AmazonWorld
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.connectors.base import Identity
from ponte.engine.credentials import StoredCredentials
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import PriceInput, SkuInput, StockInput, save_skus, set_prices, set_stocks
from ponte.services.notifications import receive_notification
from ponte.services.orders import set_tracking
from ponte.services.shipping import add_shipping_rule
from ponte.store.catalog import save_listings
from ponte.store.tables import attempts, integrations, orders, skus, stock
from sandbox_fixtures import nfe_key


class AmazonHub:
    """A store with Amazon as an affiliate, connected as Alice's seller account, and a worker that retries at once."""

    def __init__(self, db: Any, settings: Any, amazon: AmazonWorld, tmp_path: Any) -> None:
        self.db, self.amazon = db, amazon
        self.settings = dataclasses.replace(settings, retry_schedule=(0.0, 0.0, 0.0), http_timeout=10.0)
        self.box = SecretBox.from_environment(tmp_path / "secret.key")
        with db.write() as conn:
            self.account = get_or_create_account(conn, slug="loja-a")
            self.affiliate = create_affiliate(
                conn, box=self.box, account_id=self.account, code="AMZ", name="Amazon", connector="amazon",
                settings={**amazon.settings(), "client_secret": CLIENT_SECRET}, price_tolerance_pct=2,
            )  # fmt: skip
            add_shipping_rule(
                conn, account_id=self.account, sla="Normal", postal_from="01000000", postal_to="39999999",
                max_weight_g=30_000, days=5, price=Decimal("19.90"),
            )  # fmt: skip
        identity = Identity(SELLER_ID, "Amazon.com.br")
        StoredCredentials(db, self.box, self.affiliate).store(amazon.grant(), identity)
        self.worker = Worker(db, self.settings, owner="w-amazon", box=self.box)

    def save(self, *codes: str, quantity: int = 10, **changes: Any) -> None:
        base = {"brand": "Acme", "category": "celulares", "ean": EAN, "weight_g": 180, "description": "Tela 6,1''"}
        prices = {"list_price": "999.00", "price": "899.00", "stock": {"main": quantity}}
        items = [
            SkuInput.model_validate({"sku": code, "name": f"Smartphone {code}", **base, **prices, **changes})
            for code in codes
        ]
        with self.db.write() as conn:
            save_skus(conn, account_id=self.account, items=items)

    def drain(self) -> int:
        total = 0
        for _ in range(200):
            done = self.worker.run_once(due_by=now() + timedelta(seconds=3))
            total += done
            if not done:
                return total
        raise AssertionError("the worker never ran dry")

    def seeded(self, *codes: str) -> None:
        """The SKUs as if listed long ago: Amazon has their listings, Ponte knows them, nothing is due."""
        self.save(*codes)
        self.amazon.admin("listings", seller_id=SELLER_ID, skus=list(codes))
        found = {code: (code, {"product_type": "PRODUCT"}) for code in codes}
        with self.db.write() as conn:
            save_listings(conn, account_id=self.account, affiliate_id=self.affiliate, found=found, now=now())
            mine = (integrations.c.account_id == self.account, integrations.c.affiliate_id == self.affiliate)
            conn.execute(update(integrations).where(*mine).values(status="success", due_at=None))

    def reprice(self, codes: list[str], price: str) -> int:
        """Listed SKUs, Amazon processing feeds 120 s after they come, all repriced at once; returns how many calls
        the emulation had seen before."""
        self.seeded(*codes)
        self.amazon.admin("config", feed_seconds=120)
        before = len(self.amazon.calls())
        with self.db.write() as conn:
            prices = [PriceInput(sku=c, list_price=Decimal("999.00"), price=Decimal(price)) for c in codes]
            set_prices(conn, account_id=self.account, items=prices)
        return before

    def statuses(self, flow: str) -> dict[str, int]:
        with self.db.read() as conn:
            query = select(integrations.c.status, func.count()).where(integrations.c.flow == flow)
            return dict(conn.execute(query.group_by(integrations.c.status)).all())

    def row(self, flow: str, entity: str) -> Any:
        with self.db.read() as conn:
            query = select(integrations).where(integrations.c.flow == flow, integrations.c.entity == entity)
            return conn.execute(query).one()

    def attempts(self, flow: str, entity: str) -> list[Any]:
        with self.db.read() as conn:
            query = (
                select(attempts)
                .join(integrations, integrations.c.id == attempts.c.integration_id)
                .where(integrations.c.flow == flow, integrations.c.entity == entity)
                .order_by(attempts.c.id)
            )
            return list(conn.execute(query).all())

    def order(self, external_id: str) -> Any:
        with self.db.read() as conn:
            return conn.execute(select(orders).where(orders.c.external_id == external_id)).one()

    def reserved(self, code: str) -> int:
        with self.db.read() as conn:
            query = select(func.sum(stock.c.reserved)).join(skus, skus.c.id == stock.c.sku_id).where(skus.c.sku == code)
            return int(conn.execute(query).scalar() or 0)

    def notify(self, event: dict[str, Any]) -> None:
        """What the EventBridge API destination posts to /notifications/amazon, kept and then read by the worker."""
        with self.db.write() as conn:
            assert receive_notification(conn, kind="amazon", body=orjson.dumps(event), headers={})
        self.worker.process_notifications()


@pytest.fixture
def hub(db, settings, amazon, tmp_path):
    made = AmazonHub(db, settings, amazon, tmp_path)
    yield made
    made.worker.close()


def test_a_sku_is_listed_then_its_price_and_stock_follow_by_patches(hub, contract_recorder):
    hub.save("CEL-001")
    hub.drain()
    assert [hub.row(flow, "CEL-001").status for flow in ("product", "price", "inventory")] == ["success"] * 3
    assert hub.row("product", "CEL-001").external_ref == "B0ACMEX100"
    with hub.db.write() as conn:
        set_prices(
            conn,
            account_id=hub.account,
            items=[PriceInput(sku="CEL-001", list_price=Decimal("999"), price=Decimal("849.90"))],
        )
        set_stocks(conn, account_id=hub.account, items=[StockInput(sku="CEL-001", quantity=4)])
    hub.drain()
    attributes = hub.amazon.listings("CEL-001")["CEL-001"]["attributes"]
    assert attributes["purchasable_offer"][0]["our_price"] == [{"schedule": [{"value_with_tax": 849.9}]}]
    assert attributes["fulfillment_availability"][0]["quantity"] == 4
    contract_recorder.assert_reached("putListingsItem", "patchListingsItem")


def test_ten_thousand_price_changes_go_as_one_feed_and_each_sku_gets_its_own_attempt(hub, contract_recorder):
    codes = [f"SKU-{n:05d}" for n in range(10_000)]
    before = hub.reprice(codes, "799.00")
    assert hub.drain() == 10_000
    calls = [c["operation"] for c in hub.amazon.calls()[before:]]
    assert calls == ["createFeedDocument", "createFeed"]  # not 10,000 patches: the queue was too long for them
    assert hub.statuses("price") == {"pending": 10_000}
    hub.amazon.advance(125)
    hub.worker.poll_submissions()
    assert hub.statuses("price") == {"success": 10_000}
    assert [a.status for a in hub.attempts("price", codes[42])] == ["pending", "success"]
    assert hub.amazon.listings(codes[9_999])[codes[9_999]]["attributes"]["purchasable_offer"][0]["our_price"] == [
        {"schedule": [{"value_with_tax": 799}]}
    ]
    with hub.db.read() as conn:  # within the emulation's limits: nothing was ever refused for rate
        refused = select(func.count()).select_from(attempts).where(attempts.c.category == "rate_limited")
        assert conn.execute(refused).scalar() == 0


def test_a_catalog_with_known_defects_gets_amazons_codes_and_pontes_categories(hub, contract_recorder):
    hub.save("OK-1")
    hub.save("NO-BRAND", brand=None)
    hub.save("OTHER-BRAND", brand="Outra")
    hub.amazon.admin("sellers", seller_id=SELLER_ID, name="Loja Alice", restricted_brands=["Marca Restrita"])
    hub.save("RESTRICTED", brand="Marca Restrita", ean=None)
    hub.drain()
    assert hub.row("product", "OK-1").status == "success"
    found = {
        code: (hub.row("product", code).code, hub.row("product", code).category)
        for code in ("NO-BRAND", "OTHER-BRAND", "RESTRICTED")
    }
    assert found == {
        "NO-BRAND": ("90220", "missing_attribute"),
        "OTHER-BRAND": ("8541", "invalid_gtin"),
        "RESTRICTED": ("5665", "seller_restricted"),
    }
    assert "'brand' is required but not supplied" in hub.row("product", "NO-BRAND").message
    assert hub.row("price", "NO-BRAND").status != "success"  # a price waits for its listing


def test_a_notification_of_new_issues_turns_a_green_listing_red(hub, contract_recorder):
    hub.save("CEL-001")
    hub.drain()
    assert hub.row("product", "CEL-001").status == "success"
    issue = {
        "code": "18027", "message": "Error downloading the main image: unknown image type.", "severity": "ERROR",
        "categories": ["INVALID_IMAGE"], "attributeNames": ["main_product_image_locator"],
    }  # fmt: skip
    hub.amazon.admin(f"listings/{SELLER_ID}/CEL-001/issues", issues=[issue])
    (event,) = [n["event"] for n in hub.amazon.get("notifications")["notifications"]]
    hub.notify(event)
    hub.drain()
    row = hub.row("product", "CEL-001")
    assert (row.status, row.code, row.category) == ("error", "18027", "image_problem")
    assert [a.status for a in hub.attempts("product", "CEL-001")] == ["success", "error"]
    assert hub.attempts("product", "CEL-001")[-1].trigger == "external"
    hub.amazon.admin(f"listings/{SELLER_ID}/CEL-001/issues", issues=[])  # fixed on Amazon's side: green again
    hub.notify(hub.amazon.get("notifications")["notifications"][-1]["event"])
    hub.drain()
    assert hub.row("product", "CEL-001").status == "success"


def test_an_order_appears_once_however_often_it_is_seen_and_its_shipment_is_confirmed(hub, contract_recorder):
    hub.save("CEL-001")
    hub.drain()
    placed = hub.amazon.admin(
        "orders", seller_id=SELLER_ID, lines=[{"sku": "CEL-001", "quantity": 2, "price": 899.0}],
        postal_code="01310100", buyer={"name": "Ana Souza"}, shipping_total=19.9,
    )  # fmt: skip
    order_id = placed["order_id"]
    (event,) = [n["event"] for n in hub.amazon.get("notifications")["notifications"]]
    hub.notify(event)
    hub.notify(event)  # delivered twice
    hub.worker.poll_orders(force=True)  # and read by the poll as well
    hub.drain()
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar() == 1
    order = hub.order(order_id)
    assert order.status == "placed" and order.postal_code == "01310100"
    assert order.marketplace_data["order_item_ids"] == {"CEL-001": placed["order_item_ids"][0]}
    assert hub.reserved("CEL-001") == 2
    with hub.db.write() as conn:
        set_tracking(
            conn, account_id=hub.account, external_id=order_id,
            data={"invoice_key": nfe_key(), "carrier": "Correios", "tracking_number": "AA123456789BR"},
        )  # fmt: skip
    hub.drain()
    assert hub.row("tracking", order_id).status == "success"
    shipped = hub.amazon.get(f"orders/{order_id}")
    assert shipped["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    detail = shipped["shipments"][0]["packageDetail"]
    assert (detail["carrierCode"], detail["trackingNumber"]) == ("Correios", "AA123456789BR")
    contract_recorder.assert_reached("getOrder", "searchOrders", "confirmShipment")


def test_a_cancellation_reaches_the_store_and_gives_the_stock_back(hub, contract_recorder):
    hub.save("CEL-001")
    hub.drain()
    order_id = hub.amazon.admin(
        "orders", seller_id=SELLER_ID, lines=[{"sku": "CEL-001", "quantity": 3, "price": 899.0}], postal_code="01310100"
    )["order_id"]
    hub.worker.poll_orders(force=True)
    hub.drain()
    assert hub.order(order_id).status == "placed" and hub.reserved("CEL-001") == 3
    hub.amazon.admin(f"orders/{order_id}/status", status="CANCELLED")
    hub.notify(hub.amazon.get("notifications")["notifications"][-1]["event"])
    hub.drain()
    assert hub.order(order_id).status == "cancelled" and hub.reserved("CEL-001") == 0
    assert hub.amazon.listings("CEL-001")["CEL-001"]["attributes"]["fulfillment_availability"][0]["quantity"] == 10


def test_a_pending_order_waits_until_amazon_has_its_payment(hub):
    hub.save("CEL-001")
    hub.drain()
    order_id = hub.amazon.admin(
        "orders", seller_id=SELLER_ID, lines=[{"sku": "CEL-001", "quantity": 1, "price": 899.0}], status="PENDING"
    )["order_id"]
    hub.worker.poll_orders(force=True)
    hub.drain()
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar() == 0
    hub.amazon.admin(f"orders/{order_id}/status", status="UNSHIPPED")
    hub.amazon.advance(200)  # the next poll's turn (searchOrders: one call every 180 s)
    hub.worker.poll_orders(force=True)
    hub.drain()
    assert hub.order(order_id).status == "placed"


def test_the_notification_endpoint_reads_only_ids(hub):
    event = {
        "detail": {
            "NotificationType": "ORDER_CHANGE",
            "Payload": {
                "OrderChangeNotification": {"SellerId": SELLER_ID, "AmazonOrderId": "701-1", "Extra": "<script>"}
            },
        }
    }
    from ponte.connectors.amazon.notifications import read

    notice = read(orjson.dumps(event))
    assert (notice.subject, notice.topic, notice.resource) == (SELLER_ID, "ORDER_CHANGE", "701-1")
    assert read(orjson.dumps({"NotificationType": "FEED_PROCESSING_FINISHED", "Payload": {}})) is None
    with pytest.raises(ValueError):
        read(b"not json")
    with pytest.raises(ValueError):
        read(orjson.dumps({"NotificationType": "ORDER_CHANGE", "Payload": {"OrderChangeNotification": {}}}))
    assert httpx  # the real endpoint is exercised by the notify() helper through receive_notification


def test_the_sku_page_runs_amazons_validation_preview_before_anything_is_listed(db, settings, amazon):
    from fastapi.testclient import TestClient

    from factories import ALICE, add_account, login
    from ponte.app import create_app
    from ponte.domain import Role

    box = SecretBox.from_environment(settings.secret_key_file)
    with db.write() as conn:
        account = add_account(conn, "loja-a", {ALICE: Role.OPERATOR})
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="AMZ", name="Amazon", connector="amazon",
            settings={**amazon.settings(), "client_secret": CLIENT_SECRET},
        )  # fmt: skip
        item = {"sku": "CEL-001", "name": "Smartphone <b>X1</b>", "ean": EAN, "price": "899.00", "stock": {"main": 3}}
        save_skus(conn, account_id=account, items=[SkuInput.model_validate(item)])
    StoredCredentials(db, box, affiliate).store(amazon.grant(), Identity(SELLER_ID, "Alice"))
    with TestClient(create_app(settings, db=db), follow_redirects=True) as client:
        csrf = login(client, ALICE)
        page = client.get("/skus/CEL-001?lang=pt-BR").text
        assert "Validar em Amazon (prévia, nada é publicado)" in page
        answer = client.post("/skus/CEL-001/preview", data={"csrf": csrf, "affiliate": str(affiliate)})
        assert answer.status_code == 200
        assert "90220: &#39;brand&#39; is required but not supplied. [brand]" in answer.text
        assert "<b>X1</b>" not in answer.text  # the store's own text is escaped too
        refused = client.post("/skus/CEL-001/preview", data={"csrf": csrf, "affiliate": "x"})
        assert refused.status_code == 400
    assert amazon.listings() == {}  # nothing was listed


def test_more_changes_than_a_feed_holds_leave_as_feeds_in_a_row_before_any_is_recorded(hub, monkeypatch):
    """A lane that fills a feed and finds more waiting sends the next feed while createFeed has tokens (its burst
    is 15): every feed is in flight before the attempts of the first are written."""
    from ponte.connectors.amazon.connector import AmazonConnector
    from ponte.connectors.base import BatchSpec

    small = BatchSpec("createFeed", 400, "auto", 60.0, "patchListingsItem", together=True)
    monkeypatch.setattr(AmazonConnector, "batches", {"price": small, "inventory": small})
    codes = [f"SKU-{n:05d}" for n in range(1_000)]
    before = hub.reprice(codes, "749.00")
    assert hub.worker.run_once(due_by=now() + timedelta(seconds=3)) == 1_000  # one step: three feeds
    calls = [c["operation"] for c in hub.amazon.calls()[before:]]
    assert calls == ["createFeedDocument", "createFeed"] * 3
    assert hub.statuses("price") == {"pending": 1_000}
    with hub.db.read() as conn:
        parked = select(integrations.c.lease_owner, func.count()).where(integrations.c.flow == "price")
        owners = dict(conn.execute(parked.group_by(integrations.c.lease_owner)).all())
    assert sorted(owners.values()) == [200, 400, 400]  # each SKU waits under its own feed's submission
    hub.amazon.advance(125)
    hub.worker.poll_submissions()
    assert hub.statuses("price") == {"success": 1_000}
    assert [a.status for a in hub.attempts("price", codes[999])] == ["pending", "success"]
