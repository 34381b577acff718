"""Attempts reported by systems outside Ponte (an ERP's own connector, a marketplace callback).

A batch is recorded with a handful of statements whatever its size: affiliates and integrations are looked
up in bulk, missing integrations created in one insert, attempts and bodies inserted in one go each, and
each integration's current state moved to its newest report in one executemany. Reports never queue work:
an integration Ponte has queued itself keeps its queued state; only its attempt log gets the report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from ponte.clock import now as clock_now
from ponte.domain import Flow, Status, Trigger
from ponte.engine.queue import append_attempts
from ponte.knowledge import AccountRule, classify, normalise_message
from ponte.knowledge.wordsearch import search_text
from ponte.store import external as store
from ponte.store.external import ReportedAffiliate, ReportedState
from ponte.store.rules import account_rules

MAX_BATCH = 1000
# A report dated further ahead than this is a clock or date bug on the reporter's side.
FUTURE_SKEW = timedelta(minutes=5)


class ExternalAttempt(BaseModel):
    """One attempt made outside Ponte."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    flow: Flow
    affiliate: str = Field(min_length=1, max_length=16, description="Code of the affiliate it concerns")
    entity: str = Field(min_length=1, max_length=64, description="SKU code or order id")
    status: Status
    message: str | None = Field(default=None, max_length=4000)
    code: str | None = Field(default=None, max_length=120, description="The receiving system's error code")
    system: str | None = Field(default=None, max_length=200, description="Who received it [default: the affiliate]")
    occurred_at: AwareDatetime = Field(description="When it happened, with a time zone")
    http_status: int | None = Field(default=None, ge=100, le=599)
    duration_ms: int = Field(default=0, ge=0, le=86_400_000)
    request: Any = Field(default=None, description="What was sent (kept up to the body limit)")
    response: Any = Field(default=None, description="What came back (kept up to the body limit)")


@dataclass
class ItemOutcome:
    index: int
    entity: str
    ok: bool
    integration_id: int | None = None
    attempt_id: int | None = None
    error: str | None = None
    field: str | None = None


# -- idempotency --------------------------------------------------------------------------------------


def fingerprint(items: Sequence[ExternalAttempt]) -> str:
    """A digest of a batch's content: the same key with another batch is a client error, not a replay."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(item.model_dump_json().encode())
    return digest.hexdigest()


def _stored_key(account_id: int, key: str) -> str:
    # The table's key is global; prefixing the account keeps one store's keys from meeting another's.
    return f"{account_id}:{key}"


def find_batch(conn: Connection, *, account_id: int, key: str) -> dict[str, Any] | None:
    """The stored result of an earlier batch with this idempotency key, or None."""
    return store.find_batch(conn, account_id=account_id, key=_stored_key(account_id, key))


def reserve_batch(conn: Connection, *, account_id: int, key: str, digest: str) -> None:
    """Claim the key first: a concurrent retry of the same batch waits on it and then fails, never doubles."""
    store.insert_batch(
        conn,
        account_id=account_id,
        key=_stored_key(account_id, key),
        result={"fingerprint": digest, "done": False},
        at=clock_now(),
    )


def finish_batch(conn: Connection, *, account_id: int, key: str, digest: str, result: dict[str, Any]) -> None:
    store.set_batch_result(
        conn, key=_stored_key(account_id, key), result={"fingerprint": digest, "done": True, "response": result}
    )


# -- recording ----------------------------------------------------------------------------------------


def record_attempts(
    conn: Connection,
    *,
    account_id: int,
    actor: str,
    items: Sequence[ExternalAttempt],
    body_limit: int,
    now: datetime | None = None,
) -> list[ItemOutcome]:
    """Record a batch of external attempts; each item gets an outcome, and a refused item writes nothing."""
    when = now or clock_now()
    by_code = store.affiliates_by_code(conn, account_id=account_id, codes={i.affiliate.upper() for i in items})
    outcomes = [_check(index, item, by_code, when) for index, item in enumerate(items)]
    good = [(o, items[o.index]) for o in outcomes if o.ok]
    if not good:
        return outcomes
    keys = {(i.flow.value, by_code[i.affiliate.upper()].id, i.entity) for _, i in good}
    ids = _integration_ids(conn, account_id, keys, when)
    rules = tuple(account_rules(conn, account_id=account_id))
    rows = []
    for outcome, item in good:
        affiliate = by_code[item.affiliate.upper()]
        outcome.integration_id = ids[(item.flow.value, affiliate.id, item.entity)]
        rows.append(_attempt_row(account_id, actor, item, affiliate, outcome.integration_id, rules))
    values = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
    entries = [(row, item.request, item.response) for row, (_, item) in zip(values, good, strict=True)]
    attempt_ids = append_attempts(conn, entries, body_limit)
    for (outcome, _), attempt_id in zip(good, attempt_ids, strict=True):
        outcome.attempt_id = attempt_id
    _move_current_state(conn, rows)
    return outcomes


def _check(index: int, item: ExternalAttempt, by_code: dict[str, ReportedAffiliate], when: datetime) -> ItemOutcome:
    outcome = ItemOutcome(index=index, entity=item.entity, ok=False)
    if item.affiliate.upper() not in by_code:
        outcome.error, outcome.field = f"no affiliate with code {item.affiliate} in this account", "affiliate"
    elif item.occurred_at > when + FUTURE_SKEW:
        outcome.error, outcome.field = "occurred_at is in the future", "occurred_at"
    else:
        outcome.ok = True
    return outcome


def _integration_ids(
    conn: Connection, account_id: int, keys: set[tuple[str, int, str]], when: datetime
) -> dict[tuple[str, int, str], int]:
    """Ids of the (flow, affiliate_id, entity) integrations, creating the missing ones."""
    found = store.find_integrations(conn, account_id=account_id, keys=keys)
    # In key order: two batches creating the same integrations wait on each other in one order, never in a cycle.
    missing = sorted(k for k in keys if k not in found)
    if missing:
        store.create_integrations(conn, account_id=account_id, keys=missing, status=Status.PENDING.value, at=when)
        found.update(store.find_integrations(conn, account_id=account_id, keys=set(missing)))
    return found


def _attempt_row(
    account_id: int,
    actor: str,
    item: ExternalAttempt,
    affiliate: ReportedAffiliate,
    integration_id: int,
    rules: tuple[AccountRule, ...],
) -> dict[str, Any]:
    category = disposition = cause = None
    if item.status == Status.ERROR:
        category, disposition, cause = _classify(
            affiliate.marketplace,
            item.flow.value,
            item.message or "",
            item.http_status,
            item.code,
            rules,
        )
    return {
        "account_id": account_id,
        "integration_id": integration_id,
        "trigger": Trigger.EXTERNAL.value,
        "actor": actor,
        "reason": None,
        "system": item.system or f"{affiliate.code} · {affiliate.name}",
        "status": item.status.value,
        "message": item.message,
        "code": item.code,
        "category": category,
        "disposition": disposition,
        "http_status": item.http_status,
        "started_at": item.occurred_at,
        "duration_ms": item.duration_ms,
        "_cause": cause,
        "_search": search_text(item.message, category=category),
    }


_memo: dict[tuple[Any, ...], tuple[str | None, str, str]] = {}


def _classify(
    connector: str, flow: str, message: str, http_status: int | None, code: str | None, rules: tuple[AccountRule, ...]
) -> tuple[str | None, str, str]:
    """(category, disposition, cause) of an error report."""
    # Batches repeat the same few messages; classifying (and normalising) each distinct one once keeps big
    # batches cheap.
    key = (connector, flow, message, http_status, code, rules)
    found = _memo.get(key)
    if found is None:
        if len(_memo) > 10_000:
            _memo.clear()
        explanation = classify(
            connector=connector, flow=flow, message=message, http_status=http_status, code=code, account_rules=rules
        )
        found = _memo[key] = (
            explanation.category,
            explanation.disposition.value,
            normalise_message(message)[:200],
        )
    return found


def _move_current_state(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Each integration's newest report in the batch, and its count of reports, moved into its current state."""
    counts: dict[int, int] = {}
    newest: dict[int, dict[str, Any]] = {}
    for row in rows:
        key = row["integration_id"]
        counts[key] = counts.get(key, 0) + 1
        if key not in newest or row["started_at"] >= newest[key]["started_at"]:
            newest[key] = row
    changes = [
        ReportedState(
            integration_id=key,
            attempts=counts[key],
            at=row["started_at"],
            status=row["status"],
            message=row["message"],
            code=row["code"],
            category=row["category"],
            disposition=row["disposition"],
            cause=row["_cause"],  # what the attempt row keeps them as
            search_text=row["_search"],
        )
        for key, row in newest.items()
    ]
    store.move_current_state(conn, changes)
