"""A connector that cannot do a flow is never given it; an affiliate whose kind asks for what its connector cannot
do is refused when saved."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import insert, select

from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.connectors.capabilities import supported_flows
from ponte.connectors.sandbox import SandboxConnector
from ponte.connectors.webhook import WebhookConnector
from ponte.engine.queue import mark_changed
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate, update_affiliate
from ponte.services.catalog import SkuInput, save_sku
from ponte.services.errors import InputError
from ponte.store.tables import affiliates, integrations
from sandbox_fixtures import product

HOOK = {"url": "https://erp.example.com/hook", "secret": "whsec_1"}
MARKET = {"base_url": "https://api.example.com", "client_id": "loja", "client_secret": "s3cr3t"}


@pytest.fixture
def box(tmp_path):
    return SecretBox.from_environment(tmp_path / "secret.key")


def test_what_each_connector_is_given_follows_what_it_implements():
    assert supported_flows(SandboxConnector, "marketplace") == {"product", "price", "inventory", "tracking", "order"}
    assert supported_flows(WebhookConnector, "marketplace") == {"tracking", "order"}  # never the catalog
    assert supported_flows(WebhookConnector, "erp") == {"order", "tracking"}
    assert supported_flows(SandboxConnector, "erp") == {"tracking"}  # it cannot receive the store's orders


@pytest.mark.parametrize(
    ("connector", "values", "kind"), [("webhook", HOOK, "marketplace"), ("sandbox", MARKET, "erp")]
)
def test_an_affiliate_whose_kind_its_connector_cannot_serve_is_refused_when_saved(db, box, connector, values, kind):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        with pytest.raises(InputError) as refused:
            create_affiliate(
                conn,
                box=box,
                account_id=account,
                code="X1",
                name="X",
                connector=connector,
                settings=values,
                kind=kind,
            )
        assert refused.value.field == "kind" and "cannot be" in refused.value.message
        assert conn.execute(select(affiliates)).all() == []
        erp = create_affiliate(
            conn, box=box, account_id=account, code="ERP", name="ERP", connector="webhook", settings=HOOK, kind="erp"
        )
        with pytest.raises(InputError, match="cannot be a marketplace"):
            update_affiliate(conn, box=box, account_id=account, affiliate_id=erp, changes={"kind": "marketplace"})


def _legacy_webhook_marketplace(conn, account: int, box: SecretBox) -> int:
    """A webhook saved as a marketplace before capabilities were checked."""
    when = now()
    row = {
        "account_id": account, "code": "HOOK", "name": "Hook", "kind": "marketplace", "connector": "webhook",
        "marketplace": "webhook",
        "settings": {"url": HOOK["url"]}, "secrets": box.seal({"secret": HOOK["secret"]}), "enabled": True,
        "created_at": when, "updated_at": when,
    }  # fmt: skip
    return int(conn.execute(insert(affiliates).values(**row).returning(affiliates.c.id)).scalar_one())


def test_a_catalog_change_is_queued_only_for_marketplaces_that_can_receive_it(db, box):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        market = create_affiliate(
            conn, box=box, account_id=account, code="MLB", name="ML", connector="sandbox", settings=MARKET
        )
        _legacy_webhook_marketplace(conn, account, box)
        item = {**product(), "list_price": "10.00", "price": "9.00", "stock": {"main": 1}}
        item.pop("active", None)
        save_sku(conn, account_id=account, item=SkuInput.model_validate(item))
        queued = {(r.affiliate_id, r.flow) for r in conn.execute(select(integrations))}
    assert queued == {(market, "product"), (market, "price"), (market, "inventory")}


def test_a_send_queued_for_a_connector_that_cannot_do_it_is_a_settings_error_not_retried(db, settings, box):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        hook = _legacy_webhook_marketplace(conn, account, box)
        item = {**product(), "list_price": "10.00", "price": "9.00", "stock": {"main": 1}}
        item.pop("active", None)
        save_sku(conn, account_id=account, item=SkuInput.model_validate(item))
        mark_changed(conn, account_id=account, flow="price", keys=[(hook, "CEL-001")])
    worker = Worker(db, dataclasses.replace(settings, retry_schedule=(0.0,)), owner="w", box=box)
    try:
        assert worker.run_once() == 1
    finally:
        worker.close()
    with db.read() as conn:
        row = conn.execute(select(integrations)).one()
    assert (row.status, row.category, row.disposition, row.due_at) == ("error", "integration_config", "fix", None)
    assert "cannot send price" in row.message
