"""End to end over real HTTP, on SQLite and PostgreSQL, with a real worker: a store selling on Carrefour through the
Mirakl connector and the sandbox's Mirakl emulation. The clock is moved, never waited for (mirakl.advance)."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from mirakl_support import KEY, SHOP
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.connectors.mirakl import errors as mirakl_errors
from ponte.engine.queue import reprocess_integrations
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import check_connection, create_affiliate
from ponte.services.catalog import PriceInput, SkuInput, StockInput, save_skus, set_prices, set_stocks
from ponte.services.orders import set_tracking
from ponte.services.shipping import add_shipping_rule
from ponte.store.affiliates import affiliates_by_id
from ponte.store.catalog import save_listings
from ponte.store.tables import affiliates, attempts, integrations, orders
from sandbox_fixtures import nfe_key


class MiraklHub:
    """A store with Carrefour on Mirakl, and a worker that retries at once."""

    def __init__(self, db, settings, mirakl, tmp_path):
        self.db, self.mirakl = db, mirakl
        self.settings = dataclasses.replace(settings, retry_schedule=(0.0, 0.0, 0.0), http_timeout=10.0)
        self.box = SecretBox.from_environment(tmp_path / "secret.key")
        with db.write() as conn:
            self.account = get_or_create_account(conn, slug="loja-a")
            self.affiliate = create_affiliate(
                conn,
                box=self.box,
                account_id=self.account,
                code="CRF",
                name="Carrefour (Mirakl)",
                connector="mirakl",
                settings={"operator": "Carrefour", "base_url": mirakl.url, "shop_id": SHOP, "api_key": KEY},
                price_tolerance_pct=2,
            )
            add_shipping_rule(
                conn, account_id=self.account, sla="Normal", postal_from="01000000", postal_to="39999999",
                max_weight_g=30_000, days=5, price=Decimal("19.90"),
            )  # fmt: skip
        self.worker = Worker(db, self.settings, owner="w-mirakl", box=self.box)

    def save(self, *codes: str, quantity: int = 10, **changes) -> None:
        base = {"brand": "Acme", "category": "celulares", "attributes": {"Cor": "Preto"}, "weight_g": 180}
        prices = {"list_price": "999.00", "price": "899.00", "stock": {"main": quantity}}
        items = [
            SkuInput.model_validate({"sku": code, "name": f"Smartphone {code}", **base, **prices, **changes})
            for code in codes
        ]
        with self.db.write() as conn:
            save_skus(conn, account_id=self.account, items=items)

    def drain(self) -> int:
        """Run the worker until nothing is due (what waits for a token or an import stays for later)."""
        total = 0
        for _ in range(1000):
            done = self.worker.run_once()
            total += done
            if not done:
                return total
        raise AssertionError("the worker never ran dry")

    def minute(self, seconds: float = 62) -> None:
        """A minute passes (and the 3 % Ponte leaves unspent of each rate): imports are judged, polls come due, tokens refill."""
        self.mirakl.advance(seconds)
        self.worker.poll_submissions()
        self.drain()

    def listed(self, *codes: str) -> None:
        """The SKUs' products integrated by the operator, and their first offers sent and judged."""
        self.save(*codes)
        self.drain()
        self.minute()  # the product import is judged; price and stock follow, one offer batch a minute
        self.minute()
        self.minute()
        assert self.statuses("product") == {"success": len(codes)}, self.statuses("product")

    def seeded(self, *codes: str) -> None:
        """The SKUs as if listed long ago: the operator has their products, Ponte their listings, nothing is due."""
        self.save(*codes)
        self.mirakl.admin(f"shops/{SHOP}/products", skus=list(codes))
        found = {code: (code, {"product_id": code, "product_id_type": "SHOP_SKU"}) for code in codes}
        with self.db.write() as conn:
            save_listings(conn, account_id=self.account, affiliate_id=self.affiliate, found=found, now=now())
            mine = (integrations.c.account_id == self.account, integrations.c.affiliate_id == self.affiliate)
            conn.execute(update(integrations).where(*mine).values(status="success", due_at=None))
            conn.execute(
                update(integrations)
                .where(*mine, integrations.c.flow == "product")
                .values(external_ref=integrations.c.entity)
            )

    def row(self, flow: str, entity: str):
        with self.db.read() as conn:
            query = select(integrations).where(integrations.c.flow == flow, integrations.c.entity == entity)
            return conn.execute(query).one()

    def statuses(self, flow: str) -> dict[str, int]:
        with self.db.read() as conn:
            query = select(integrations.c.status, func.count()).where(integrations.c.flow == flow)
            return dict(conn.execute(query.group_by(integrations.c.status)).all())

    def attempt_counts(self, *flows: str) -> dict[int, int]:
        """How many attempts each of the affiliate's integrations of these flows has, by integration."""
        with self.db.read() as conn:
            query = (
                select(attempts.c.integration_id, func.count())
                .join(integrations, integrations.c.id == attempts.c.integration_id)
                .where(integrations.c.affiliate_id == self.affiliate, integrations.c.flow.in_(flows))
                .group_by(attempts.c.integration_id)
            )
            return dict(conn.execute(query).all())

    def attempts(self, flow: str, entity: str):
        with self.db.read() as conn:
            query = (
                select(attempts)
                .join(integrations, integrations.c.id == attempts.c.integration_id)
                .where(integrations.c.flow == flow, integrations.c.entity == entity)
                .order_by(attempts.c.id)
            )
            return conn.execute(query).all()


@pytest.fixture
def hub(db, settings, mirakl, tmp_path):
    made = MiraklHub(db, settings, mirakl, tmp_path)
    yield made
    made.worker.close()


def _spaced(calls: list[dict], seconds: float = 60.0) -> bool:
    times = sorted(call["at"] for call in calls)
    return all(later - earlier >= seconds - 2 for earlier, later in itertools.pairwise(times))


def test_the_affiliate_speaks_its_operators_words_and_its_test_names_the_shop(hub):
    with hub.db.read() as conn:
        affiliate = affiliates_by_id(conn, [hub.affiliate])[hub.affiliate]
    assert (affiliate.marketplace, affiliate.connector) == ("carrefour", "mirakl")
    with hub.db.read() as conn:  # the shop key is stored only sealed: not among the settings, not in clear
        stored = conn.execute(select(affiliates).where(affiliates.c.id == hub.affiliate)).one()
    assert "api_key" not in stored.settings and KEY not in stored.secrets
    assert hub.box.open(stored.secrets)["api_key"] == KEY
    first = check_connection(hub.db, box=hub.box, settings=hub.settings, affiliate=affiliate)
    assert first.message == "Connected to Carrefour: shop Loja Alice (id 2001, OPEN)"
    again = check_connection(hub.db, box=hub.box, settings=hub.settings, affiliate=affiliate)
    assert "once a day (A01)" in again.message  # the day's read is shared by every process, through the database
    assert [call["operation"] for call in hub.mirakl.calls()] == ["A01", "V01"]


def test_a_new_product_is_imported_then_its_offer_follows_with_price_and_stock(hub):
    hub.listed("CEL-001")
    offer = hub.mirakl.offers("CEL-001")["offers"]["CEL-001"]
    assert (offer["product_id_type"], offer["product_id"]) == ("SHOP_SKU", "CEL-001")
    assert (offer["price"], offer["discount_price"], offer["quantity"]) == (999.0, 899.0, 10)
    assert [hub.row(flow, "CEL-001").status for flow in ("product", "price", "inventory")] == ["success"] * 3
    statuses = [a.status for a in hub.attempts("product", "CEL-001")]
    assert statuses == ["pending", "success"]  # accepted in an import, then judged: each SKU its own attempt


def test_thousands_of_price_and_stock_changes_leave_in_one_call_and_each_sku_is_judged_alone(hub):
    codes = [f"SKU-{n:05d}" for n in range(5000)]
    hub.seeded(*codes)
    refused = {codes[7]: "Preço abaixo do mínimo", codes[4242]: "The product does not exist"}
    hub.mirakl.admin("config", refuse=refused)
    before = len(hub.mirakl.calls())
    with hub.db.write() as conn:
        set_prices(
            conn,
            account_id=hub.account,
            items=[PriceInput(sku=c, list_price=Decimal("999.00"), price=Decimal("799.00")) for c in codes],
        )
        set_stocks(conn, account_id=hub.account, items=[StockInput(sku=c, quantity=4) for c in codes])
    handled = hub.drain()
    sent = [c for c in hub.mirakl.calls()[before:] if c["operation"] in ("OF24", "OF01")]
    assert [c["operation"] for c in sent] == ["OF01"]  # 5,000 offers, each carrying its price and its stock
    assert handled == 10_000  # every change waiting rode in it: both flows of every SKU
    hub.minute()  # the import is judged, each SKU's two integrations settled from its line
    hub.minute()
    assert len([c for c in hub.mirakl.calls()[before:] if c["operation"] in ("OF24", "OF01")]) == 1
    for flow in ("price", "inventory"):
        assert hub.statuses(flow) == {"success": 4998, "error": 2}
        for code, message in refused.items():
            row = hub.row(flow, code)
            assert (row.status, row.message) == ("error", message)
    assert hub.row("price", codes[4242]).category == "sku_not_linked"
    # "Preço abaixo do mínimo" is not in the connector's table: the classifier read it, on the stored row
    assert mirakl_errors.table().read(message=refused[codes[7]]) is None
    below = hub.row("price", codes[7])
    assert (below.category, below.disposition) == ("price_rejected", "fix")
    last = hub.attempts("price", codes[1])[-2:]
    assert [a.status for a in last] == ["pending", "success"]  # its own attempts: submitted, then judged
    per_sku = hub.attempt_counts("price", "inventory")
    assert len(per_sku) == 10_000 and set(per_sku.values()) == {2}  # every SKU's two integrations: sent, then judged
    offer = hub.mirakl.offers(codes[1])["offers"][codes[1]]
    assert (offer["price"], offer["quantity"]) == (999.0, 4) and offer["discount_price"] == 799.0


def test_a_stock_below_the_minimum_sent_in_a_batch_is_a_warning_as_a_single_send_makes_it(hub):
    codes = ["SKU-1", "SKU-2"]
    hub.seeded(*codes)
    with hub.db.write() as conn:  # the affiliate offers nothing of a SKU with 5 or fewer in stock
        conn.execute(update(affiliates).where(affiliates.c.id == hub.affiliate).values(min_availability=5))
        set_stocks(conn, account_id=hub.account, items=[StockInput(sku="SKU-1", quantity=3), StockInput(sku="SKU-2", quantity=9)])  # fmt: skip
    hub.drain()
    hub.minute()
    hub.minute()
    low, plenty = hub.row("inventory", "SKU-1"), hub.row("inventory", "SKU-2")
    assert (low.status, low.message_key) == ("warning", "msg.send.below_minimum")
    assert "3" in low.message and "5" in low.message
    assert plenty.status == "success" and plenty.message_key != "msg.send.below_minimum"
    offers = hub.mirakl.offers(*codes)["offers"]
    assert (offers["SKU-1"]["quantity"], offers["SKU-2"]["quantity"]) == (0, 9)


def test_changes_made_after_a_batch_left_wait_for_the_next_minute_and_leave_together(hub):
    codes = [f"SKU-{n}" for n in range(10)]
    hub.seeded(*codes)
    with hub.db.write() as conn:
        set_prices(
            conn, account_id=hub.account, items=[PriceInput(sku=codes[0], list_price=Decimal("5"), price=Decimal("5"))]
        )
    hub.drain()
    assert [c["operation"] for c in hub.mirakl.calls()] == ["OF24"]
    with hub.db.write() as conn:  # more changes, seconds later: the minute's call is spent
        set_stocks(conn, account_id=hub.account, items=[StockInput(sku=c, quantity=1) for c in codes])
        set_prices(
            conn, account_id=hub.account, items=[PriceInput(sku=codes[1], list_price=Decimal("7"), price=Decimal("7"))]
        )
    assert hub.drain() == 11 and len(hub.mirakl.calls("OF24")) == 1  # each claimed once, then held for the token
    hub.minute()
    offers = hub.mirakl.calls("OF24")
    assert len(offers) == 2 and _spaced(offers)
    hub.minute()
    assert hub.statuses("inventory") == {"success": 10} and hub.statuses("price") == {"success": 10}
    assert hub.mirakl.offers(codes[1])["offers"][codes[1]]["price"] == 7.0


def test_an_order_is_validated_then_each_line_accepted_or_refused_and_placed_once(hub):
    hub.listed("CEL-001", "CEL-002")
    with hub.db.write() as conn:
        set_stocks(conn, account_id=hub.account, items=[StockInput(sku="CEL-002", quantity=0)])
    placed = hub.mirakl.place_order(
        [{"sku": "CEL-001", "quantity": 2, "price": 899.0}, {"sku": "CEL-002", "quantity": 1, "price": 899.0}]
    )
    order_id, (good, short) = placed["order_id"], placed["lines"]
    assert hub.worker.poll_orders(force=True) == 1
    hub.drain()
    row = hub.row("order", order_id)
    assert row.status == "warning"
    assert "line CEL-002 refused: SKU CEL-002 out of stock: 1 ordered, 0 available" in row.message
    assert hub.mirakl.order(order_id)["lines"] == {
        good: {"sku": "CEL-001", "state": "SHIPPING"},
        short: {"sku": "CEL-002", "state": "REFUSED"},
    }
    with hub.db.read() as conn:
        order = conn.execute(select(orders)).one()
    assert (order.status, [i["sku"] for i in order.items], order.total) == ("placed", ["CEL-001"], Decimal("1798"))
    hub.mirakl.advance(62)
    assert hub.worker.poll_orders(force=True) == 0  # accepted: no longer waiting, never recorded twice
    with hub.db.write() as conn:  # someone reprocesses it: placed already, nothing is decided or sent again
        reprocess_integrations(conn, account_id=hub.account, actor="ana@loja", ids=[row.id], reason="check")
    hub.drain()
    assert hub.row("order", order_id).message.endswith("was already placed; nothing done again")
    assert hub.mirakl.order(order_id)["calls"] == ["OR21"]

    with hub.db.write() as conn:
        set_tracking(
            conn, account_id=hub.account, external_id=order_id,
            data={"invoice_key": nfe_key(), "carrier": "Correios", "tracking_number": "AA123456789BR"},
        )  # fmt: skip
    hub.drain()
    assert hub.row("tracking", order_id).status == "success"
    shipped = hub.mirakl.order(order_id)
    assert shipped["state"] == "SHIPPED" and shipped["tracking"]["tracking_number"] == "AA123456789BR"
    hub.minute()
    assert hub.mirakl.order(order_id)["calls"] == ["OR21", "OR23", "OR24"]  # tracking and shipment once each


def test_an_order_none_of_whose_lines_can_be_sold_is_refused_for_good(hub):
    hub.listed("CEL-001")
    placed = hub.mirakl.place_order([{"sku": "CEL-001", "quantity": 50, "price": 899.0}])
    hub.worker.poll_orders(force=True)
    hub.drain()
    row = hub.row("order", placed["order_id"])
    assert (row.status, row.category, row.disposition) == ("error", "out_of_stock", "terminal")
    assert row.message.startswith("Refused on CRF: SKU CEL-001 out of stock")
    assert hub.mirakl.order(placed["order_id"])["state"] == "REFUSED"


def test_a_product_awaiting_the_operators_review_is_waiting_not_an_error(hub):
    hub.mirakl.admin("config", review=["CEL-009"])
    hub.save("CEL-009")
    hub.drain()
    hub.minute()
    row = hub.row("product", "CEL-009")
    assert (row.status, row.category, row.disposition) == ("pending", "sku_not_linked", "wait")
    assert row.message == "The product is waiting for the operator's validation"
    assert hub.row("price", "CEL-009").status == "pending"  # its offer waits for it, it is not refused
    hub.mirakl.admin("config", approve=["CEL-009"])
    hub.minute(hub.settings.wait_delay * 1.3)  # the review's long schedule: sent again in the next product import
    hub.minute()
    assert hub.row("product", "CEL-009").status == "success"


def test_a_line_priced_beyond_the_tolerance_is_refused_and_an_order_no_shipping_rule_reaches_is_refused_whole(hub):
    hub.listed("CEL-001", "CEL-002")
    placed = hub.mirakl.place_order(  # the store sells both at 899.00; the affiliate tolerates 2 %
        [{"sku": "CEL-001", "quantity": 1, "price": 899.0}, {"sku": "CEL-002", "quantity": 1, "price": 700.0}]
    )
    far = hub.mirakl.place_order(  # Porto Alegre: the only shipping rule covers 01000-000 to 39999-999
        [{"sku": "CEL-001", "quantity": 1, "price": 899.0}], customer={"zip_code": "90010-000"}
    )
    assert hub.worker.poll_orders(force=True) == 2
    hub.drain()

    row = hub.row("order", placed["order_id"])
    assert row.status == "warning"
    assert "line CEL-002 refused: Order price 700" in row.message and "(tolerance 2" in row.message
    good, diverging = placed["lines"]
    assert hub.mirakl.order(placed["order_id"])["lines"] == {
        good: {"sku": "CEL-001", "state": "SHIPPING"},
        diverging: {"sku": "CEL-002", "state": "REFUSED"},
    }

    refused = hub.row("order", far["order_id"])
    assert (refused.status, refused.category, refused.disposition) == ("error", "sla_unavailable", "terminal")
    assert refused.message.startswith("Refused on CRF: No shipping rule (SLA) delivers 180 g to postal code 90010")
    answer = hub.mirakl.order(far["order_id"])
    assert answer["state"] == "REFUSED" and [line["state"] for line in answer["lines"].values()] == ["REFUSED"]
    with hub.db.read() as conn:
        statuses = dict(conn.execute(select(orders.c.external_id, orders.c.status)).all())
    assert statuses == {placed["order_id"]: "placed", far["order_id"]: "refused"}
