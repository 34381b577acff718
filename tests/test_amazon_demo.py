"""The demo's Amazon: seeded from the connector's demo module, registered as the demo does, and its catalog and
orders flowing through the real connector to the emulation."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from ponte.auth import get_or_create_account
from ponte.connectors.amazon.demo import CLASHING_SKU, authorised, buy, cancel, demo_affiliate
from ponte.demo.catalog import RESTRICTED_BRAND, demo_skus
from ponte.demo.marketplaces import by_code
from ponte.engine.credentials import StoredCredentials
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_skus
from ponte.services.shipping import add_shipping_rule
from ponte.store.tables import integrations, orders


def test_the_demo_amazon_sells_the_demo_catalog_through_the_real_connector(db, settings, sandbox, tmp_path):
    amazon = demo_affiliate(sandbox.url)
    assert demo_affiliate(sandbox.url) == amazon  # seeding again changes nothing
    assert by_code("AMZ").connector == "amazon" and by_code("AMZ").real is not None
    box = SecretBox.from_environment(tmp_path / "secret.key")
    catalog = demo_skus()
    skus = catalog[:30] + [s for s in catalog if s["brand"] == RESTRICTED_BRAND][:1]
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-demo")
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code=amazon["code"], name=amazon["name"], kind=amazon["kind"],
            connector=amazon["connector"], settings={**amazon["settings"], **amazon["secrets"]}, **amazon["options"],
        )  # fmt: skip
        add_shipping_rule(
            conn, account_id=account, sla="Normal", postal_from="01000000", postal_to="39999999",
            max_weight_g=200_000, days=5, price=10,
        )  # fmt: skip
        save_skus(conn, account_id=account, items=[SkuInput.model_validate(s) for s in skus])
    StoredCredentials(db, box, affiliate).store(*authorised(sandbox.url))
    worker = Worker(db, dataclasses.replace(settings, retry_schedule=(0.0,)), owner="demo", box=box)
    try:
        while worker.run_once():
            pass
        with db.read() as conn:
            rows = conn.execute(
                select(integrations.c.entity, integrations.c.status, integrations.c.code).where(
                    integrations.c.flow == "product"
                )
            ).all()
        found = {entity: (status, code) for entity, status, code in rows}
        assert found[CLASHING_SKU] == ("error", "8541")
        restricted = [s["sku"] for s in skus if s["brand"] == RESTRICTED_BRAND]
        assert restricted and all(found[sku] == ("error", "5665") for sku in restricted)
        assert sum(1 for status, _ in found.values() if status in ("success", "warning")) >= 25
        listed = next(s for s in skus if found[s["sku"]][0] == "success")
        order_id = buy(
            sandbox.url, sku=listed["sku"], listing_id=listed["sku"], quantity=1, price=float(listed["price"]),
            postal_code="01310100", buyer={"name": "Ana Souza"},
        )  # fmt: skip
        assert worker.poll_orders(force=True) >= 1
        while worker.run_once():
            pass
        with db.read() as conn:
            assert conn.execute(select(orders.c.status).where(orders.c.external_id == order_id)).scalar() == "placed"
        cancel(sandbox.url, order_id)
        worker.poll_orders(force=True)
        with db.read() as conn:
            count = conn.execute(select(func.count()).select_from(orders)).scalar()
        assert count == 1
    finally:
        worker.close()
