"""End to end over real HTTP: the store's catalog and orders flowing to and from the sandbox marketplace."""

from __future__ import annotations

import dataclasses
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from ponte.auth import get_or_create_account
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import PriceInput, SkuInput, StockInput, save_sku, set_price, set_stock
from ponte.services.orders import receive_order, set_tracking
from ponte.services.shipping import add_shipping_rule
from ponte.store.tables import attempts, integrations, orders, stock
from sandbox_fixtures import admin_get, nfe_key, product

SELLER, SECRET = "loja-alice", "alice-secret"


class Hub:
    """A store with one marketplace on the sandbox, and a worker that retries at once."""

    def __init__(self, db, settings, sandbox, tmp_path, profile="magalu"):
        self.db, self.sandbox, self.profile = db, sandbox, profile
        self.settings = dataclasses.replace(settings, retry_schedule=(0.0, 0.0, 0.0), http_timeout=3.0)
        self.box = SecretBox.from_environment(tmp_path / "secret.key")
        sandbox.register_seller(profile, SELLER, SECRET)
        with db.write() as conn:
            self.account = get_or_create_account(conn, slug="loja-a")
            self.affiliate = create_affiliate(
                conn,
                box=self.box,
                account_id=self.account,
                code="MLB",
                name="Mercado Livre",
                connector="sandbox",
                settings={"base_url": sandbox.url, "profile": profile, "client_id": SELLER, "client_secret": SECRET},
                price_tolerance_pct=2,
            )
            add_shipping_rule(
                conn,
                account_id=self.account,
                sla="Normal",
                postal_from="01000000",
                postal_to="39999999",
                max_weight_g=30_000,
                days=5,
                price=Decimal("19.90"),
            )
        self.worker = Worker(db, self.settings, owner="w-test", box=self.box)

    def save(self, **changes):
        item = {**product(**changes), "list_price": "999.00", "price": "899.00", "stock": {"main": 10}}
        item.pop("active", None)
        with self.db.write() as conn:
            save_sku(conn, account_id=self.account, item=SkuInput.model_validate(item))

    def drain(self) -> int:
        total = 0
        for _ in range(20):
            done = self.worker.run_once()
            total += done
            if not done:
                break
        return total

    def row(self, flow, entity="CEL-001"):
        with self.db.read() as conn:
            return conn.execute(
                select(integrations).where(integrations.c.flow == flow, integrations.c.entity == entity)
            ).one()

    def attempts(self, flow, entity="CEL-001"):
        with self.db.read() as conn:
            return conn.execute(
                select(attempts)
                .join(integrations, integrations.c.id == attempts.c.integration_id)
                .where(integrations.c.flow == flow, integrations.c.entity == entity)
                .order_by(attempts.c.id)
            ).all()

    def listing(self, sku="CEL-001"):
        return admin_get(self.sandbox, f"/{self.profile}/_admin/items/{sku}", seller=SELLER)


@pytest.fixture
def hub(db, settings, sandbox, tmp_path):
    made = Hub(db, settings, sandbox, tmp_path)
    yield made
    made.worker.close()


def test_it_lists_a_good_product_with_its_price_and_stock(hub):
    hub.save()
    hub.drain()
    assert [hub.row(f).status for f in ("product", "price", "inventory")] == ["success"] * 3
    listing = hub.listing()
    assert listing["price"] == 899.0 and listing["quantity"] == 10
    assert hub.row("product").external_ref


@pytest.mark.parametrize(
    ("defect", "category"),
    [
        ({"category": "1000"}, "invalid_category"),
        ({"ean": None}, "invalid_gtin"),
        ({"attributes": {"Cor": "Preto"}}, "missing_attribute"),
        ({"images": [f"https://cdn.example.com/{n}.jpg" for n in range(30)]}, "image_problem"),
    ],
)
def test_a_catalog_defect_gives_an_error_of_its_category(hub, defect, category):
    hub.save(**defect)
    hub.drain()
    row = hub.row("product")
    assert (row.status, row.category, row.disposition) == ("error", category, "fix")
    assert row.due_at is None  # needs a fix: never retried by itself


def test_fixing_the_data_and_reprocessing_sends_the_new_data(hub):
    from ponte.engine.queue import reprocess_integrations

    hub.save(category="1000")
    hub.drain()
    assert hub.row("product").status == "error"
    with hub.db.write() as conn:  # the operator fixes the category... without a catalog change event
        conn.execute(integrations.update().values(change_seq=integrations.c.change_seq))
        from ponte.store.tables import skus

        conn.execute(skus.update().where(skus.c.sku == "CEL-001").values(category="1055"))
        queued = reprocess_integrations(
            conn, account_id=hub.account, actor="ana@loja", ids=[hub.row("product").id], reason="category fixed"
        )
    assert queued == 1
    hub.drain()
    row = hub.row("product")
    assert row.status == "success"
    last = hub.attempts("product")[-1]
    assert (last.trigger, last.actor, last.reason) == ("reprocess", "ana@loja", "category fixed")
    assert hub.listing()["category"].endswith("1055")


def test_ten_stock_changes_before_the_worker_runs_are_sent_once_with_the_last_value(hub):
    hub.save()
    hub.drain()
    before = len(hub.attempts("inventory"))
    with hub.db.write() as conn:
        for quantity in range(1, 11):
            set_stock(conn, account_id=hub.account, item=StockInput(sku="CEL-001", quantity=quantity * 3))
    hub.drain()
    assert len(hub.attempts("inventory")) == before + 1
    assert hub.listing()["quantity"] == 30


def test_a_5xx_is_retried_automatically_and_succeeds(hub):
    hub.save()
    hub.sandbox.control("faults", error_rate=1.0, status=503, path_contains="/items/CEL-001")
    hub.worker.run_once()
    row = hub.row("product")
    assert (row.status, row.category, row.retry_count) == ("pending", "marketplace_unavailable", 1)
    hub.sandbox.control("faults", error_rate=0.0)
    hub.drain()
    statuses = [a.status for a in hub.attempts("product")]
    assert statuses[0] == "error" and statuses[-1] == "success"
    assert [a.trigger for a in hub.attempts("product")][:2] == ["change", "retry"]


def _requests(sandbox, method="PUT"):
    calls = sandbox.stats()["by_profile"].get("magalu", {})
    return sum(n for route, by_status in calls.items() if route.startswith(method) for n in by_status.values())


def test_a_429_pauses_the_affiliate_for_retry_after_without_a_request_storm(hub):
    from ponte.clock import now
    from ponte.store.ratelimits import paused_keys

    hub.sandbox.control("config", rate=0.01, burst=1)
    for n in range(5):
        hub.save(sku=f"CEL-{n:03d}")
    hub.worker.run_once()
    refused = [a for n in range(5) for a in hub.attempts("product", f"CEL-{n:03d}") if a.http_status == 429]
    assert refused and {a.category for a in refused} == {"rate_limited"}
    with hub.db.read() as conn:  # the pause is shared: kept in the database, for every worker
        assert paused_keys(conn, [f"sandbox:affiliate:{hub.affiliate}:*"], now())
    sent = _requests(hub.sandbox)
    with hub.db.write() as conn:  # make the retries due now: the pause alone must hold them back
        conn.execute(integrations.update().values(due_at=integrations.c.created_at))
    other = Worker(hub.db, hub.settings, owner="another-machine", box=hub.worker.box)
    other.run_once()
    other.close()
    hub.worker.run_once()
    assert _requests(hub.sandbox) == sent
    rows = [hub.row("product", f"CEL-{n:03d}") for n in range(5)]
    assert all(r.status in ("pending", "success") for r in rows)


def test_a_worker_killed_mid_attempt_loses_nothing(hub):
    from datetime import timedelta

    from ponte.clock import now
    from ponte.store.queue import claim_due

    hub.save()
    with hub.db.write() as conn:  # a worker claims everything and dies before writing anything
        claimed = claim_due(conn, owner="dead-worker", limit=10, lease_seconds=0.5)
    assert claimed
    assert hub.worker.run_once() == 0  # the lease still holds
    import time

    time.sleep(0.6)
    hub.drain()
    assert hub.row("product").status == "success"
    assert now() - hub.row("product").processed_at < timedelta(seconds=30)


def _order(order_id="MLB-1001", sku="CEL-001", quantity=1, price=899.0, postal="01310100"):
    return {
        "id": order_id,
        "items": [{"sku": sku, "quantity": quantity, "price": price}],
        "postal_code": postal,
        "buyer": {"name": "Ana", "document": "52998224725"},
    }


@pytest.mark.parametrize(
    ("order", "category"),
    [
        (_order(sku="NOPE-1"), "sku_not_linked"),
        (_order(quantity=50), "out_of_stock"),
        (_order(price=500.0), "price_divergence"),
        (_order(postal="69005010"), "sla_unavailable"),
    ],
)
def test_each_order_validation_failure_has_its_category(hub, order, category):
    hub.save()
    hub.drain()
    with hub.db.write() as conn:
        receive_order(conn, account_id=hub.account, affiliate_id=hub.affiliate, data=order)
    hub.drain()
    row = hub.row("order", order["id"])
    assert (row.status, row.category) == ("error", category)


def test_a_valid_order_is_placed_once_with_stock_reserved_even_when_received_twice(hub):
    hub.save()
    hub.drain()
    with hub.db.write() as conn:
        _, first = receive_order(conn, account_id=hub.account, affiliate_id=hub.affiliate, data=_order(quantity=2))
        _, second = receive_order(conn, account_id=hub.account, affiliate_id=hub.affiliate, data=_order(quantity=2))
    assert (first, second) == (True, False)
    hub.drain()
    with hub.db.read() as conn:
        placed = conn.execute(select(orders)).all()
        reserved = conn.execute(select(stock.c.reserved)).scalar_one()
    assert [o.status for o in placed] == ["placed"] and reserved == 2
    assert hub.listing()["quantity"] == 8  # the marketplace heard the new available stock


def test_orders_arrive_from_the_marketplace_feed_and_tracking_goes_back(hub):
    hub.save()
    hub.drain()
    body = {
        "seller": SELLER,
        "postal_code": "01310100",
        "items": [{"sku": "CEL-001", "quantity": 1, "price": 899.0}],
        "buyer": {"name": "Bruno", "document": "52998224725", "email": "b@example.com"},
    }
    import httpx

    order_id = httpx.post(f"{hub.sandbox.url}/{hub.profile}/_buyer/orders", json=body).raise_for_status().json()["id"]
    assert hub.worker.poll_orders() == 1
    assert hub.worker.poll_orders() == 0  # the feed cursor moved on: nothing imported twice
    hub.drain()
    assert hub.row("order", order_id).status == "success"
    with hub.db.write() as conn:
        set_tracking(
            conn,
            account_id=hub.account,
            external_id=order_id,
            data={"invoice_key": nfe_key(), "carrier": "Correios", "tracking_number": "BR123456789BR"},
        )
    hub.drain()
    assert hub.row("tracking", order_id).status == "success"


def test_a_price_change_sends_the_current_price(hub):
    hub.save()
    hub.drain()
    with hub.db.write() as conn:
        set_price(
            conn,
            account_id=hub.account,
            item=PriceInput(sku="CEL-001", list_price=Decimal("999"), price=Decimal("849.90")),
        )
    hub.drain()
    assert hub.listing()["price"] == 849.9


@pytest.mark.postgres
def test_two_workers_never_run_one_integration_at_the_same_time(hub):
    if hub.db.dialect != "postgresql":
        pytest.skip("SKIP LOCKED is the PostgreSQL path; SQLite serialises writers")
    for n in range(60):
        hub.save(sku=f"CEL-{n:03d}")
    second = Worker(hub.db, dataclasses.replace(hub.settings, worker_batch=7), owner="w-second", box=hub.box)
    first = Worker(hub.db, dataclasses.replace(hub.settings, worker_batch=7), owner="w-first", box=hub.box)

    def work(worker):
        while worker.run_once():
            pass

    threads = [threading.Thread(target=work, args=(w,)) for w in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with hub.db.read() as conn:
        product_ids = conn.execute(select(integrations.c.id).where(integrations.c.flow == "product")).scalars().all()
        per_row = conn.execute(
            select(attempts.c.integration_id, attempts.c.system).where(attempts.c.integration_id.in_(product_ids))
        ).all()
    assert len(product_ids) == 60
    assert sorted(r.integration_id for r in per_row) == sorted(product_ids)  # exactly one attempt each
    first.close()
    second.close()


def test_a_placed_order_is_handed_to_the_erp_and_its_refusal_explained(hub):
    import httpx

    with hub.db.write() as conn:
        create_affiliate(
            conn,
            box=hub.box,
            account_id=hub.account,
            code="ERP",
            name="ERP",
            kind="erp",
            connector="webhook",
            settings={"url": f"{hub.sandbox.url}/_erp/orders", "secret": "erp-secret"},
        )
        add_shipping_rule(
            conn,
            account_id=hub.account,
            sla="Transportadora",
            postal_from="40000000",
            postal_to="49999999",
            max_weight_g=30_000,
            days=9,
            price=Decimal("59.90"),
        )
    httpx.post(f"{hub.sandbox.url}/_erp/config", json={"secret": "erp-secret"}).raise_for_status()
    hub.save()
    hub.drain()
    with hub.db.write() as conn:
        receive_order(conn, account_id=hub.account, affiliate_id=hub.affiliate, data=_order("MLB-1"))
        receive_order(conn, account_id=hub.account, affiliate_id=hub.affiliate, data=_order("MLB-2", postal="40010000"))
    hub.drain()
    with hub.db.read() as conn:
        handed = dict(
            conn.execute(
                select(integrations.c.entity, integrations.c.status).where(
                    integrations.c.flow == "order", integrations.c.affiliate_id != hub.affiliate
                )
            ).all()
        )
    assert handed == {"MLB-1": "success", "MLB-2": "error"}
    erp_orders = httpx.get(f"{hub.sandbox.url}/_erp/orders").json()["orders"]
    assert [o["order_id"] for o in erp_orders] == ["MLB-1"]
    assert erp_orders[0]["marketplace"] == "MLB"  # the marketplace it came from, not the ERP's own code
    refused = [a for a in hub.attempts("order", "MLB-2") if a.system.startswith("ERP")][-1]
    assert "transportadora" in refused.message and refused.category == "integration_config"


def test_price_and_stock_of_a_refused_product_say_so_without_calling_the_marketplace(hub):
    hub.save(category="1000")  # not a leaf: the marketplace refuses the product
    hub.drain()
    puts_before = _requests(hub.sandbox)
    with hub.db.write() as conn:
        set_stock(conn, account_id=hub.account, item=StockInput(sku="CEL-001", quantity=4))
    hub.drain()
    assert _requests(hub.sandbox) == puts_before  # nothing sent: there is no listing to update
    row = hub.row("inventory")
    assert (row.status, row.category, row.code) == ("error", "sku_not_linked", "product_not_listed")
    assert "Fix the product" in row.message
    with hub.db.write() as conn:  # the product is fixed: it is listed, and stock follows it
        fixed = {**product(category="1055"), "list_price": "999.00", "price": "899.00", "stock": {"main": 4}}
        fixed.pop("active")
        save_sku(conn, account_id=hub.account, item=SkuInput.model_validate(fixed))
    hub.drain()
    assert [hub.row(f).status for f in ("product", "price", "inventory")] == ["success"] * 3
    assert hub.listing()["quantity"] == 4
