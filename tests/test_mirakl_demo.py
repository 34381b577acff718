"""The demo's "Carrefour (Mirakl)": seeded from the connector's demo module, registered as the lead's runner does,
and its catalog and orders flowing through the real connector to the emulation."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from ponte.auth import get_or_create_account
from ponte.connectors.mirakl.demo import IN_REVIEW, demo_affiliate, place_demo_orders
from ponte.demo.catalog import demo_skus
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_skus
from ponte.services.shipping import add_shipping_rule
from ponte.store.tables import integrations


def test_the_demo_carrefour_sells_the_demo_catalog_through_the_real_connector(db, settings, sandbox, mirakl, tmp_path):
    carrefour = demo_affiliate(sandbox.url)
    assert demo_affiliate(sandbox.url) == carrefour  # seeding again changes nothing
    box = SecretBox.from_environment(tmp_path / "secret.key")
    skus = demo_skus()[:30]
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-demo")
        create_affiliate(
            conn, box=box, account_id=account, code=carrefour["code"], name=carrefour["name"],
            kind=carrefour["kind"], connector=carrefour["connector"],
            settings={**carrefour["settings"], **carrefour["secrets"]}, **carrefour["options"],
        )  # fmt: skip
        add_shipping_rule(
            conn, account_id=account, sla="Normal", postal_from="01000000", postal_to="39999999",
            max_weight_g=200_000, days=5, price=10,
        )  # fmt: skip
        save_skus(conn, account_id=account, items=[SkuInput.model_validate(s) for s in skus])
    worker = Worker(db, dataclasses.replace(settings, retry_schedule=(0.0,)), owner="demo", box=box)
    try:
        for _ in range(4):  # the product import is judged, then the offers follow, a minute apart
            while worker.run_once():
                pass
            mirakl.advance(62)
            worker.poll_submissions()
        with db.read() as conn:
            rows = conn.execute(
                select(integrations.c.flow, integrations.c.status, integrations.c.category, func.count()).group_by(
                    integrations.c.flow, integrations.c.status, integrations.c.category
                )
            ).all()
        products = {(status, category): n for flow, status, category, n in rows if flow == "product"}
        assert products[("success", None)] >= 20
        assert products[("error", "invalid_category")] >= 1  # a demo SKU filed under a parent category
        assert products[("pending", "sku_not_linked")] == len([s for s in skus if s["sku"] in IN_REVIEW])
        assert mirakl.offers(shop_id=2001)["count"] == products[("success", None)]
        ids = place_demo_orders(sandbox.url, count=4)
        assert worker.poll_orders(force=True) == 4
        while worker.run_once():
            pass
        refused = [
            line for order in ids for line in mirakl.order(order)["lines"].values() if line["state"] == "REFUSED"
        ]
        assert refused  # the fourth order asked for more than the stock on one line
    finally:
        worker.close()
