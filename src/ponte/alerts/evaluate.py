"""The alerting step: evaluate every account's rules, move incidents, deliver queued messages.

`evaluate_alerts` is one step that returns what it did; the worker calls it about once a minute and tests
call it directly with a chosen `now`. Findings are read without locks; incidents are changed under one
PostgreSQL advisory lock, so two workers evaluating at once never open the same incident twice; messages go
out after the commit (an outbox), each claimed by exactly one process.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ponte.alerts import conditions, incidents, rules
from ponte.alerts.channels import DeliveryError, Message, sender_for
from ponte.clock import now as clock_now
from ponte.domain.messages import as_columns
from ponte.engine.worker import Periodic
from ponte.secrets import SecretBox, SecretsError
from ponte.settings import Settings
from ponte.store.alerts import (
    Outgoing,
    accounts_without_rules,
    claim_messages,
    record_delivery,
    try_evaluation_lock,
)
from ponte.store.db import Database
from ponte.store.jobs import claim_run

log = logging.getLogger("ponte.alerts")
ADVISORY_LOCK = 727276
MAX_TRIES = 3
DELIVER_BATCH = 100
# A message still `sending` this long after it was claimed was held by a process that died: it goes back.
# Far above a delivery's own bound (the SMTP and HTTP timeouts, 10 s each).
CLAIM_TIMEOUT = timedelta(minutes=10)


def _seed_defaults(conn: Connection) -> None:
    """Default rules for accounts that never had any (new accounts)."""
    for account_id in accounts_without_rules(conn):
        rules.ensure_defaults(conn, account_id=account_id)


def evaluate_alerts(
    db: Database, settings: Settings, *, now: datetime | None = None, box: SecretBox | None = None
) -> int:
    """Evaluate every account's alert rules once and deliver what is queued. Returns the incident events
    (opened, updated, resolved) plus the messages delivered."""
    when = now or clock_now()
    with db.write() as conn:
        _seed_defaults(conn)
    with db.read() as conn:
        found = conditions.findings(conn, rules.all_enabled_rules(conn), when)
    with db.write() as conn:
        if not try_evaluation_lock(conn, key=ADVISORY_LOCK):
            return 0  # another process is evaluating right now; its result stands
        events = incidents.reconcile(conn, found=found, now=when)
    sealed = box or SecretBox.from_environment(settings.secret_key_file)
    return events + deliver(db, sealed, now=when)


def evaluate_alerts_when_due(
    db: Database, settings: Settings, *, every: timedelta, now: datetime | None = None, box: SecretBox | None = None
) -> int:
    """What workers call: evaluate unless another worker has in the last `every` (one worker evaluates each
    run, where each used to read every store's findings and all but one threw them away); deliver what is
    queued either way. Returns what `evaluate_alerts` or `deliver` did."""
    when = now or clock_now()
    with db.write() as conn:
        mine = claim_run(conn, job="alerts", now=when, every=every)
    if mine:
        return evaluate_alerts(db, settings, now=when, box=box)
    return deliver(db, box or SecretBox.from_environment(settings.secret_key_file), now=when)


ALERTS_EVERY = 60.0  # seconds between a worker's evaluations of the alert rules
ALERTS_CLAIM = timedelta(seconds=ALERTS_EVERY * 0.9)  # a little less: workers' loops drift


def alerts_job(db: Database, settings: Settings, box: SecretBox | None = None) -> Periodic:
    """Alert evaluation as one of the worker's periodic jobs (what `ponte worker` and `ponte run` give it)."""
    return Periodic("alerts", ALERTS_EVERY, lambda: evaluate_alerts_when_due(db, settings, every=ALERTS_CLAIM, box=box))


def deliver(db: Database, box: SecretBox, *, now: datetime, limit: int = DELIVER_BATCH) -> int:
    """Send queued messages; a failure is retried on the next steps, up to MAX_TRIES. Returns how many went out.

    Each message is its own item: whatever one store's channel does (a refused address, a line break in an
    address, a secret that no longer opens, a bug), that message records why and the loop goes on to the other
    stores' messages. A message left `sending` by a process that died is given back after CLAIM_TIMEOUT."""
    rows = _claim(db, now=now, limit=limit)
    sent = 0
    for row in rows:
        status, error, said = "sent", None, None
        try:
            sender_for(row, box).send(Message(row.subject, row.body))
            sent += 1
        except Exception as exc:
            reason = str(exc) if isinstance(exc, DeliveryError | SecretsError) else f"{type(exc).__name__}: {exc}"
            said = exc.said if isinstance(exc, DeliveryError) else None
            status, error = ("failed" if row.tries >= MAX_TRIES else "queued"), reason[:500]
            log.warning("alert message %s not delivered (try %s): %s", row.id, row.tries, error)
        key = as_columns(said)
        with db.write() as conn:
            record_delivery(
                conn,
                message_id=row.id,
                status=status,
                error=error,
                error_key=key["message_key"],
                error_params=key["message_params"],
                sent_at=now if status == "sent" else None,
            )
    return sent


def _claim(db: Database, *, now: datetime, limit: int) -> list[Outgoing]:
    """Take up to `limit` queued messages for this process (and give back those a dead process held)."""
    with db.write() as conn:
        return claim_messages(conn, now=now, stale_before=now - CLAIM_TIMEOUT, limit=limit)
