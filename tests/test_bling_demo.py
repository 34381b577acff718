"""The demo's ERP: the emulated Bling seeded from the connector's demo module, as the demo loader registers it, with
the demo catalog's products, receiving a demo marketplace's orders and sending their NF-e back."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import httpx
from sqlalchemy import select

from ponte.auth import get_or_create_account
from ponte.connectors.bling import demo as bling_demo
from ponte.demo.catalog import demo_skus
from ponte.domain.checks import nfe_key_is_valid
from ponte.engine.credentials import StoredCredentials
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_skus
from ponte.services.shipping import add_shipping_rule
from ponte.store.tables import orders


def test_the_demo_erp_is_bling_and_takes_the_demo_orders(db, settings, sandbox, tmp_path):
    erp = bling_demo.demo_affiliate(sandbox.url)
    # The limit is not what is under test (test_bling_flows paces it): a busy machine's stall between a token and
    # its request must not turn into a 429 that leaves the order for a later round than this test's.
    httpx.post(f"{sandbox.url}/bling/_admin/config", json={"rate": 1000}).raise_for_status()
    assert bling_demo.demo_affiliate(sandbox.url) == erp  # seeding again changes nothing
    box = SecretBox.from_environment(tmp_path / "secret.key")
    sandbox.register_seller("magalu", "casaecia-magalu", "demo-secret-magalu")
    skus = [s for s in demo_skus()[:12] if s["sku"][-1] != "6"]
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-demo")
        create_affiliate(
            conn, box=box, account_id=account, code="MGZ", name="Magalu", connector="sandbox",
            settings={"base_url": sandbox.url, "profile": "magalu", "client_id": "casaecia-magalu",
                      "client_secret": "demo-secret-magalu"}, price_tolerance_pct=2,
        )  # fmt: skip
        erp_id = create_affiliate(
            conn, box=box, account_id=account, code=erp["code"], name=erp["name"], kind=erp["kind"],
            connector=erp["connector"], settings={**erp["settings"], **erp["secrets"]},
        )  # fmt: skip
        add_shipping_rule(
            conn, account_id=account, sla="Normal", postal_from="01000000", postal_to="39999999",
            max_weight_g=200_000, days=5, price=Decimal("10"),
        )  # fmt: skip
        save_skus(conn, account_id=account, items=[SkuInput.model_validate(s) for s in skus])
    StoredCredentials(db, box, erp_id).store(*bling_demo.authorised(sandbox.url))
    worker = Worker(db, dataclasses.replace(settings, retry_schedule=(0.0,)), owner="demo", box=box)
    try:
        while worker.run_once():
            pass
        sold = next(s for s in skus if s["sku"] == "CC-00001")
        body = {
            "seller": "casaecia-magalu", "postal_code": "01310100",
            "items": [{"sku": sold["sku"], "quantity": 1, "price": float(sold["price"])}],
            "buyer": {"name": "Ana Souza", "document": "52998224725"},
        }  # fmt: skip
        httpx.post(f"{sandbox.url}/magalu/_buyer/orders", json=body).raise_for_status()
        assert worker.poll_orders(force=True) == 1
        while worker.run_once():
            pass
        sales = httpx.get(f"{sandbox.url}/bling/_admin/sales", params={"company": bling_demo.COMPANY}).json()["sales"]
        assert len(sales) == 1 and sales[0]["loja"] == {"id": bling_demo.STORES["MGZ"]}
        assert [i["codigo"] for i in sales[0]["itens"]] == ["CC-00001"]
        assert worker.poll_invoices(force=True) == 1  # the demo's Bling issues at the next read
        with db.read() as conn:
            order = conn.execute(select(orders)).one()
        assert order.status == "invoiced" and nfe_key_is_valid(order.invoice_key)
    finally:
        worker.close()
