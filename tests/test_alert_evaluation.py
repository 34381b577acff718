"""Alert evaluation across many stores: each account gets the incidents and messages of its own rules and data, as
it would alone; and as each kind of rule is read for every account at once, one store more costs no statement
more."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from factories import ALICE, BOB, Store, add_account, add_integration, add_orders_every, build_store
from ponte.alerts import conditions, evaluate_alerts, rhythm
from ponte.alerts.channels import create_channel
from ponte.alerts.rules import create_rule, list_rules, update_rule
from ponte.domain import Role
from ponte.secrets import SecretBox
from ponte.store.tables import alert_incidents, alert_messages, attempts, integrations

T = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # a Friday afternoon in the stores' time zone


@pytest.fixture(autouse=True)
def _fresh_rhythms() -> Iterator[None]:
    rhythm.forget()
    yield
    rhythm.forget()


@pytest.fixture
def box(tmp_path) -> SecretBox:
    return SecretBox.from_environment(tmp_path / "secret.key")


# -- data --------------------------------------------------------------------------------------------------


def _attempts(conn, store: Store, code: str, flow: str, outcomes: list[tuple[str, timedelta]], **more: Any) -> None:
    """One integration of `flow` to affiliate `code`, with an attempt per (status, how long before T)."""
    integration = add_integration(
        conn,
        store.account_id,
        flow=flow,
        affiliate_id=store.affiliates[code],
        entity=f"SKU-{flow}-{len(outcomes)}-{outcomes[0][0]}",
        status=outcomes[-1][0],
        processed_at=T - min(ago for _, ago in outcomes),
        attempts=0,
    )
    rows = [
        {
            "account_id": store.account_id,
            "integration_id": integration,
            "trigger": "retry",
            "system": code,
            "status": status,
            "message": more.get("message", "HTTP 503" if status == "error" else "OK"),
            "category": more.get("category", "marketplace_unavailable") if status == "error" else None,
            "started_at": T - ago,
            "duration_ms": 5,
        }
        for status, ago in outcomes
    ]
    conn.execute(insert(attempts), rows)


def _stuck(conn, store: Store, code: str, flow: str, since: timedelta) -> None:
    iid = add_integration(
        conn,
        store.account_id,
        flow=flow,
        affiliate_id=store.affiliates[code],
        entity=f"SKU-stuck-{flow}",
        status="pending",
        attempts=0,
    )
    conn.execute(integrations.update().where(integrations.c.id == iid).values(due_at=T - since))


def _orders(conn, store: Store, code: str, *, every: timedelta, until: datetime, days: int = 14) -> None:
    add_orders_every(conn, store.account_id, store.affiliates[code], every=every, until=until, days=days)


def _channel(conn, box: SecretBox, store: Store) -> None:
    # Nothing listens on port 9: messages are written and their sending fails, which is all these tests read.
    values = {"host": "127.0.0.1", "port": 9, "to": f"ops@{store.slug}.com.br"}
    create_channel(conn, box=box, account_id=store.account_id, kind="email", name="Ops", values=values, locale="en")


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _failing(n: int, ago: float = 1) -> list[tuple[str, timedelta]]:
    return [("error", _minutes(ago))] * n


def _busy_store(conn, box: SecretBox, slug: str) -> Store:
    """A store where every default rule finds something: MLB prices failing, AMZ products stuck, AMZ refusing
    our credentials, MLB quiet for three hours; and an e-mail channel."""
    store = build_store(conn, slug, {})
    _attempts(conn, store, "MLB", "price", _failing(25))
    _stuck(conn, store, "AMZ", "product", timedelta(hours=2))
    _attempts(conn, store, "AMZ", "inventory", [("error", _minutes(2))], category="auth_invalid", message="Token")
    _orders(conn, store, "MLB", every=_minutes(20), until=T - timedelta(hours=3))
    _orders(conn, store, "AMZ", every=_minutes(20), until=T - _minutes(5))
    _channel(conn, box, store)
    list_rules(conn, account_id=store.account_id)  # the default rules, as the first evaluation would make them
    return store


def _platform(conn, box: SecretBox) -> dict[str, Store]:
    """Four stores that differ in rules and data.

    A: the defaults plus an error-rate rule for AMZ prices (15 min, 5 %, 5 attempts) and a pending rule for MLB
    (10 min); B: its default error-rate rule switched off and one for products (60 min, 50 %, 1 attempt); its
    credentials recovered an hour ago; C: affiliates but no data; D: no affiliates at all.
    """
    a = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
    b = build_store(conn, "loja-b", {BOB: Role.ADMIN})
    c = build_store(conn, "loja-c", {})
    d = Store(account_id=add_account(conn, "loja-d", {}), slug="loja-d")
    for store in (a, b, c, d):
        list_rules(conn, account_id=store.account_id)
    create_rule(
        conn,
        account_id=a.account_id,
        kind="error_rate",
        flow="price",
        affiliate_id=a.affiliates["AMZ"],
        threshold=5,
        window_minutes=15,
        min_count=5,
    )
    create_rule(conn, account_id=a.account_id, kind="pending_age", affiliate_id=a.affiliates["MLB"], window_minutes=10)
    default_rate = next(r for r in list_rules(conn, account_id=b.account_id) if r.kind == "error_rate")
    update_rule(conn, account_id=b.account_id, rule_id=default_rate.id, changes={"enabled": False})
    create_rule(
        conn, account_id=b.account_id, kind="error_rate", flow="product", threshold=50, window_minutes=60, min_count=1
    )

    _attempts(conn, a, "MLB", "price", _failing(25))
    # AMZ prices: 3 of 6 failed in the last 10 minutes, 20 successes 20 minutes ago: 50 % over 15 minutes,
    # 11.5 % over 30 minutes.
    _attempts(conn, a, "AMZ", "price", [("error", _minutes(4))] * 3 + [("success", _minutes(5))] * 3)
    _attempts(conn, a, "AMZ", "price", [("success", _minutes(20))] * 20)
    _stuck(conn, a, "MLB", "product", _minutes(30))  # past A's 10-minute MLB rule only
    _stuck(conn, a, "AMZ", "price", timedelta(hours=2))  # past the default hour
    _attempts(conn, a, "AMZ", "inventory", [("error", _minutes(1))], category="auth_invalid", message="Token inválido")
    _orders(conn, a, "MLB", every=_minutes(20), until=T - timedelta(hours=3))
    _orders(conn, a, "AMZ", every=_minutes(20), until=T - _minutes(5))

    _attempts(conn, b, "MLB", "price", _failing(25))  # its error-rate rule for every flow is off
    _attempts(conn, b, "MLB", "product", [("error", _minutes(40)), ("error", _minutes(41)), ("success", _minutes(42))])
    _stuck(conn, b, "B2W", "product", timedelta(hours=2))
    _attempts(conn, b, "MLB", "inventory", [("error", timedelta(hours=2))], category="auth_invalid", message="Token")
    _attempts(conn, b, "MLB", "inventory", [("success", timedelta(hours=1))])
    for store in (a, b):
        _channel(conn, box, store)
    return {"A": a, "B": b, "C": c, "D": d}


def _incidents(db) -> list[tuple[Any, ...]]:
    with db.read() as conn:
        rows = conn.execute(select(alert_incidents).order_by(alert_incidents.c.id)).all()
    return [(r.account_id, r.kind, r.key, r.flow, r.affiliate_id, r.status, r.facts) for r in rows]


def _messages(db) -> list[tuple[Any, ...]]:
    with db.read() as conn:
        rows = conn.execute(select(alert_messages).order_by(alert_messages.c.id)).all()
    return [(r.account_id, r.incident_id, r.event, r.subject, r.body) for r in rows]


@contextmanager
def _counting(db) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# -- what each account finds ----------------------------------------------------------------------------------


def test_each_account_gets_the_incidents_and_messages_of_its_own_rules_and_data(db, settings, box):
    with db.write() as conn:
        p = _platform(conn, box)
        every = [r for store in p.values() for r in list_rules(conn, account_id=store.account_id)]
        rule_ids = {(r.account_id, r.kind, r.flow, r.affiliate_id): r.id for r in every}
    a, b = p["A"], p["B"]
    a_mlb, a_amz, b_b2w, b_mlb = a.affiliates["MLB"], a.affiliates["AMZ"], b.affiliates["B2W"], b.affiliates["MLB"]

    def rule(store: Store, kind: str, flow: str | None = None, affiliate: int | None = None) -> int:
        return rule_ids[(store.account_id, kind, flow, affiliate)]

    evaluate_alerts(db, settings, box=box, now=T)

    last_mlb_order = (T - timedelta(hours=3)).isoformat()
    expected = [
        (a.account_id, "error_rate", f"{rule(a, 'error_rate')}:price:{a_mlb}", "price", a_mlb, "open", {
            "attempts": 25, "errors": 25, "rate": 100.0, "window": 30, "threshold": 20.0}),
        (a.account_id, "pending_age", f"{rule(a, 'pending_age')}:price:{a_amz}", "price", a_amz, "open", {
            "count": 1, "oldest_minutes": 120, "limit": 60}),
        (a.account_id, "credentials", f"{rule(a, 'credentials')}:{a_amz}", None, a_amz, "open", {
            "errors": 1, "message": "Token inválido", "since": (T - _minutes(1)).isoformat()}),
        (a.account_id, "quiet_orders", f"{rule(a, 'quiet_orders')}:{a_mlb}", "order", a_mlb, "open", {
            "gap_minutes": 180, "usual_minutes": 20, "last_order_at": last_mlb_order}),
        (a.account_id, "error_rate", f"{rule(a, 'error_rate', 'price', a_amz)}:price:{a_amz}", "price", a_amz, "open", {
            "attempts": 6, "errors": 3, "rate": 50.0, "window": 15, "threshold": 5.0}),
        (a.account_id, "pending_age", f"{rule(a, 'pending_age', None, a_mlb)}:product:{a_mlb}", "product", a_mlb,
            "open", {"count": 1, "oldest_minutes": 30, "limit": 10}),
        (b.account_id, "pending_age", f"{rule(b, 'pending_age')}:product:{b_b2w}", "product", b_b2w, "open", {
            "count": 1, "oldest_minutes": 120, "limit": 60}),
        (b.account_id, "error_rate", f"{rule(b, 'error_rate', 'product')}:product:{b_mlb}", "product", b_mlb, "open", {
            "attempts": 3, "errors": 2, "rate": 66.7, "window": 60, "threshold": 50.0}),
    ]  # fmt: skip
    assert _incidents(db) == expected
    opened = _messages(db)
    assert [(account, event) for account, _, event, _, _ in opened] == [(a.account_id, "opened")] * 6 + [
        (b.account_id, "opened")
    ] * 2
    assert opened[0][3] == "[Ponte] Alert: MLB · price: 100% errors"
    assert opened[3][3] == "[Ponte] Alert: MLB: no order for 3h00"
    assert opened[4][4].startswith("3 of 6 price attempts to AMZ failed in the last 15 min (50%; the limit is 5%).")

    evaluate_alerts(db, settings, box=box, now=T + _minutes(1))  # the same a minute later: nothing new to say
    assert [i[:6] for i in _incidents(db)] == [e[:6] for e in expected] and _messages(db)[: len(opened)] == opened
    assert len(_messages(db)) == len(opened)
    assert [i[6]["oldest_minutes"] for i in _incidents(db) if i[1] == "pending_age"] == [121, 31, 121]

    with db.write() as conn:  # A's products move; B's stuck work too
        stuck = select(integrations.c.id).where(integrations.c.status == "pending")
        conn.execute(integrations.update().where(integrations.c.id.in_(stuck)).values(status="success", due_at=None))
    evaluate_alerts(db, settings, box=box, now=T + _minutes(2))
    resolved = [(i[0], i[2]) for i in _incidents(db) if i[5] == "resolved"]
    assert resolved == [(e[0], e[2]) for e in expected if e[1] == "pending_age"]
    assert [m[2] for m in _messages(db)[len(opened) :]] == ["resolved"] * 3


def test_findings_of_accounts_read_together_are_those_each_finds_alone(db, box):
    with db.write() as conn:
        p = _platform(conn, box)
    with db.read() as conn:
        rules = {s.account_id: list_rules(conn, account_id=s.account_id) for s in p.values()}  # disabled ones too
        every = [r for account_rules in rules.values() for r in account_rules]
        together = conditions.findings(conn, every, T)
        alone = {}
        for account_rules in rules.values():
            rhythm.forget()  # learnt again for the account alone
            alone.update(conditions.findings(conn, account_rules, T))
    assert together == alone
    assert {s: len(together[p[s].account_id]) for s in "ABCD"} == {"A": 6, "B": 2, "C": 0, "D": 0}


# -- what it costs -------------------------------------------------------------------------------------------


def _statements_of_a_quiet_minute(db, settings, box, when: datetime) -> int:
    """Statements of an evaluation at `when` where every store's incidents go on: nothing to open, resolve or
    send, every incident touched; the marketplaces' rhythms are learnt again, as each hour."""
    evaluate_alerts(db, settings, box=box, now=when - _minutes(1))  # opens what is new
    with db.write() as conn:  # the messages went out
        conn.execute(alert_messages.update().values(status="sent"))
    rhythm.forget()
    with _counting(db) as statements:
        evaluate_alerts(db, settings, box=box, now=when)
    with db.read() as conn:
        assert conn.execute(select(alert_messages).where(alert_messages.c.status != "sent")).first() is None
    return len(statements)


def test_one_store_more_costs_the_evaluation_no_statement_more(db, settings, box):
    with db.write() as conn:
        for n in range(2):
            _busy_store(conn, box, f"loja-{n}")
    two = _statements_of_a_quiet_minute(db, settings, box, T + _minutes(1))
    assert len(_incidents(db)) == 2 * 4
    with db.write() as conn:
        _busy_store(conn, box, "loja-2")
    three = _statements_of_a_quiet_minute(db, settings, box, T + _minutes(3))
    assert [i[1] for i in _incidents(db)] == ["error_rate", "pending_age", "credentials", "quiet_orders"] * 3
    assert all(i[5] == "open" for i in _incidents(db))
    assert three == two
