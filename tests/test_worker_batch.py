"""The worker records a whole batch in a few statements: one attempt per item, each row its own right state."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select, update

from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.connectors.base import Outcome
from ponte.domain import Disposition
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.store.queue import Result, claim_due, finish, mark_changed, record_results
from ponte.store.tables import attempt_bodies, attempts, integrations


def _hub(db, tmp_path):
    box = SecretBox.from_environment(tmp_path / "secret.key")
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate = create_affiliate(
            conn,
            box=box,
            account_id=account,
            code="MLB",
            name="Mercado Livre",
            connector="sandbox",
            settings={
                "base_url": "http://127.0.0.1:9",
                "profile": "magalu",
                "client_id": "x",
                "client_secret": "y",
            },
        )
    return box, account, affiliate


def _rows(db):
    with db.read() as conn:
        found = conn.execute(select(integrations).where(integrations.c.flow == "price")).all()
        return {r.entity: r for r in found}


def _attempts(db):
    with db.read() as conn:
        return conn.execute(
            select(integrations.c.entity, attempts.c.status, attempts.c.category, attempt_bodies.c.request)
            .join(integrations, integrations.c.id == attempts.c.integration_id)
            .outerjoin(attempt_bodies, attempt_bodies.c.attempt_id == attempts.c.id)
            .order_by(attempts.c.id)
        ).all()


def test_a_batch_of_mixed_outcomes_records_one_attempt_each_and_the_right_states(db, settings, tmp_path, monkeypatch):
    box, account, affiliate = _hub(db, tmp_path)
    entities = ["OK", "FLAKY", "BAD", "LOST", "MOVED"]
    with db.write() as conn:
        mark_changed(conn, account_id=account, flow="price", keys=[(affiliate, e) for e in entities])
    settings = dataclasses.replace(settings, retry_schedule=(30.0, 60.0), worker_batch=10)
    worker = Worker(db, settings, owner="w1", box=box)

    def call(claim, _affiliate, _catalog=None):
        if claim.entity == "LOST":  # another worker took the row while this one sent it
            with db.write() as conn:
                conn.execute(update(integrations).where(integrations.c.id == claim.id).values(lease_owner="w2"))
        if claim.entity == "MOVED":  # the store changed it while it was being sent
            with db.write() as conn:
                mark_changed(conn, account_id=account, flow="price", keys=[(affiliate, "MOVED")])
        if claim.entity == "FLAKY":
            return Outcome.error("upstream timeout", transient=True, http_status=503, request={"n": 1}), None
        if claim.entity == "BAD":
            return Outcome.error("price below cost", category="invalid_price", disposition=Disposition.FIX), None
        return Outcome.ok("saved", request={"sku": claim.entity}, response={"ok": True}), None

    monkeypatch.setattr(worker, "_call", call)
    try:
        assert worker.run_once() == 5
    finally:
        worker.close()

    recorded = _attempts(db)
    assert sorted(r.entity for r in recorded) == sorted(entities)  # exactly one attempt each
    by_entity = {r.entity: r for r in recorded}
    assert by_entity["FLAKY"].status == "error" and by_entity["FLAKY"].request == '{"n":1}'
    assert by_entity["OK"].request == '{"sku":"OK"}' and by_entity["BAD"].request is None
    assert by_entity["BAD"].category == "invalid_price"

    rows = _rows(db)
    ok, flaky, bad, lost, moved = (rows[e] for e in entities)
    assert (ok.status, ok.due_at, ok.retry_count, ok.lease_owner, ok.next_trigger) == ("success", None, 0, None, None)
    assert (flaky.status, flaky.retry_count, flaky.next_trigger, flaky.lease_owner) == ("pending", 1, "retry", None)
    assert flaky.due_at > now()  # backed off, not due again at once
    assert (bad.status, bad.category, bad.disposition, bad.due_at) == ("error", "invalid_price", "fix", None)
    assert bad.cause
    # A lost lease: the attempt is counted, the row stays the new owner's and untouched otherwise.
    assert (lost.status, lost.lease_owner, lost.message, lost.processed_at) == ("pending", "w2", None, None)
    # A change landed meanwhile: the attempt's result is shown, the row stays pending for the newest data.
    assert (moved.status, moved.message, moved.next_trigger, moved.lease_owner) == ("pending", "saved", "change", None)
    assert all(r.attempt_count == 1 for r in rows.values())


def test_recording_a_batch_writes_what_finish_writes_one_at_a_time(db, tmp_path):
    _, account, affiliate = _hub(db, tmp_path)
    states: list[dict[str, Any]] = [
        {"status": "success", "due_at": None, "retry_count": 0, "message": "ok", "external_ref": "X-1"},
        {"status": "error", "due_at": None, "retry_count": 0, "message": "no", "category": "invalid_gtin"},
        {"status": "pending", "due_at": now(), "retry_count": 2, "message": "later", "next_trigger": "retry"},
    ]
    columns = ("status", "due_at", "retry_count", "message", "category", "external_ref", "next_trigger", "lease_owner")

    def run(prefix: str, batched: bool) -> list[tuple]:
        keys = [(affiliate, f"{prefix}{n}") for n in range(len(states))]
        with db.write() as conn:
            mark_changed(conn, account_id=account, flow="price", keys=keys)
            claimed = claim_due(conn, owner="w", limit=10, lease_seconds=60)
            claims = sorted((c for c in claimed if c.entity.startswith(prefix)), key=lambda c: c.entity)
            mark_changed(conn, account_id=account, flow="price", keys=keys[2:])  # the last changes meanwhile
            if batched:
                attempt = {"account_id": account, "trigger": "change", "system": "MLB", "status": "success"}
                results = [
                    Result(c, attempt | {"integration_id": c.id, "started_at": now()}, s)
                    for c, s in zip(claims, states, strict=True)
                ]
                assert record_results(conn, owner="w", results=results, body_limit=1000) == [True] * 3
            else:
                for claim, state in zip(claims, states, strict=True):
                    assert finish(conn, claim=claim, owner="w", state=state)
        found = _rows(db)
        return [tuple(getattr(found[e], c) for c in columns) for _, e in keys]

    one_by_one = run("A", batched=False)
    batched = run("B", batched=True)
    due = [row[1] is None for row in one_by_one]
    assert [row[:1] + row[2:] for row in batched] == [row[:1] + row[2:] for row in one_by_one]
    assert [row[1] is None for row in batched] == due
