"""The alert rule "stock drift that can oversell": one incident (and one message) per affiliate however many SKUs
drift and however often the rules are evaluated; it resolves when the last of them is repaired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from factories import ALICE, build_store
from ponte.alerts import evaluate_alerts
from ponte.alerts.channels import create_channel
from ponte.domain import Role
from ponte.secrets import SecretBox
from ponte.store import reconcile as store
from ponte.store.tables import alert_incidents, alert_messages

T = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _drift(sku: str, kind: str = "stock_higher") -> store.Drift:
    return store.Drift(f"MLB-{sku}", sku, kind, "1", "1", "5", "changed_there")


def test_an_oversell_opens_one_incident_with_one_message_until_it_is_repaired(
    db: Any, settings: Any, tmp_path: Any
) -> None:
    box = SecretBox.from_environment(tmp_path / "secret.key")
    with db.write() as conn:
        shop = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        values = {"host": "127.0.0.1", "port": 9, "to": "ops@loja-a.com.br"}  # nothing listens: messages stay written
        create_channel(conn, box=box, account_id=shop.account_id, kind="email", name="Ops", values=values, locale="en")
        mlb = shop.affiliates["MLB"]
        store.record_drifts(conn, account_id=shop.account_id, affiliate_id=mlb, found=[_drift("A"), _drift("B"),
                            _drift("C", "price")], now=T)  # fmt: skip
    evaluate_alerts(db, settings, now=T, box=box)
    with db.write() as conn:  # a third SKU drifts an hour later: the same incident
        store.record_drifts(conn, account_id=shop.account_id, affiliate_id=mlb, found=[_drift("D")], now=T)
    evaluate_alerts(db, settings, now=T + timedelta(hours=1), box=box)
    with db.read() as conn:
        (incident,) = conn.execute(select(alert_incidents).where(alert_incidents.c.kind == "stock_drift")).all()
        messages = conn.execute(select(alert_messages.c.subject, alert_messages.c.body)).all()
    assert incident.status == "open" and incident.affiliate_id == mlb and incident.facts == {"count": 3}
    assert [m.subject for m in messages] == ["[Ponte] Alert: MLB: more stock on the marketplace than in the store"]
    assert f"/affiliates/{mlb}/drift?kind=stock_higher" in messages[0].body
    with db.write() as conn:  # every one repaired: the next pass finds them no more
        store.resolve_drifts(conn, affiliate_id=mlb, listing_ids=["MLB-A", "MLB-B", "MLB-D"], keep=set(), now=T)
    evaluate_alerts(db, settings, now=T + timedelta(hours=2), box=box)
    with db.read() as conn:
        assert conn.execute(select(alert_incidents.c.status)).scalar_one() == "resolved"


def test_the_metrics_show_open_drift_by_kind(db: Any) -> None:
    from ponte.metrics import DRIFTS_FOUND, render_metrics

    with db.write() as conn:
        shop = build_store(conn, "loja-m", {})
        mlb = shop.affiliates["MLB"]
        store.record_drifts(conn, account_id=shop.account_id, affiliate_id=mlb,
                            found=[_drift("A"), _drift("B"), _drift("C", "price")], now=T)  # fmt: skip
    DRIFTS_FOUND.labels("MLB", "stock_higher").inc(0)  # the series exists once a pass has run
    text = render_metrics(db).decode()
    assert 'ponte_drifts_open{affiliate="MLB",kind="stock_higher"} 2.0' in text
    assert 'ponte_drifts_open{affiliate="MLB",kind="price"} 1.0' in text
    assert "ponte_drifts_found_total" in text and "ponte_drifts_repaired_total" in text
