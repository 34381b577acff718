"""Attempts reported by systems outside Ponte (an ERP's own connector, a marketplace callback).

A batch is recorded with a handful of statements whatever its size: affiliates and integrations are looked
up in bulk, missing integrations created in one insert, attempts and bodies inserted in one go each, and
each integration's current state moved to its newest report in one executemany. Reports never queue work:
an integration Ponte has queued itself keeps its queued state; only its attempt log gets the report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection, insert, select, text, update

from ponte.clock import now as clock_now
from ponte.domain import Flow, Status, Trigger
from ponte.engine.queue import append_attempts
from ponte.knowledge import AccountRule, classify, normalise_message
from ponte.knowledge.wordsearch import search_text
from ponte.store.db import upsert
from ponte.store.rules import account_rules
from ponte.store.tables import affiliates, external_batches, integrations

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
    row = conn.execute(
        select(external_batches.c.result).where(
            external_batches.c.account_id == account_id,
            external_batches.c.idempotency_key == _stored_key(account_id, key),
        )
    ).first()
    return None if row is None else dict(row.result)


def reserve_batch(conn: Connection, *, account_id: int, key: str, digest: str) -> None:
    """Claim the key first: a concurrent retry of the same batch waits on it and then fails, never doubles."""
    conn.execute(
        insert(external_batches).values(
            account_id=account_id,
            idempotency_key=_stored_key(account_id, key),
            result={"fingerprint": digest, "done": False},
            created_at=clock_now(),
        )
    )


def finish_batch(conn: Connection, *, account_id: int, key: str, digest: str, result: dict[str, Any]) -> None:
    conn.execute(
        update(external_batches)
        .where(external_batches.c.idempotency_key == _stored_key(account_id, key))
        .values(result={"fingerprint": digest, "done": True, "response": result})
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
    by_code = _affiliates(conn, account_id, {i.affiliate.upper() for i in items})
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


def _affiliates(conn: Connection, account_id: int, codes: set[str]) -> dict[str, Any]:
    query = select(affiliates.c.id, affiliates.c.code, affiliates.c.name, affiliates.c.marketplace)
    rows = conn.execute(query.where(affiliates.c.account_id == account_id, affiliates.c.code.in_(codes)))
    return {r.code: r for r in rows}


def _check(index: int, item: ExternalAttempt, by_code: dict[str, Any], when: datetime) -> ItemOutcome:
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
    found = _find_integrations(conn, account_id, keys)
    # In key order: two batches creating the same integrations wait on each other in one order, never in a cycle.
    missing = sorted(k for k in keys if k not in found)
    if missing:
        conn.execute(
            upsert(conn, integrations).on_conflict_do_nothing(),  # a concurrent batch may create the same row
            [
                {
                    "account_id": account_id,
                    "flow": f,
                    "affiliate_id": a,
                    "entity": e,
                    "status": Status.PENDING.value,
                    "created_at": when,
                }
                for f, a, e in missing
            ],
        )
        found.update(_find_integrations(conn, account_id, set(missing)))
    return found


# By exact (flow, affiliate_id, entity) key, served by the unique index, one statement per batch: the keys go
# in as arrays (PostgreSQL) or one JSON array (SQLite) and each is looked up in the unique index. Both
# planners would rather scan the account's rows for a join (PostgreSQL hashed all of them: 32 ms a batch at
# 62,000 integrations, growing with the store), so the queries force one index probe per key: a LATERAL
# subquery with LIMIT 1 (not flattened into a join) and SQLite's CROSS JOIN, which keeps the keys outside.
_FIND_POSTGRES = text(
    """
    SELECT i.id, k.f, k.a, k.e
    FROM unnest(CAST(:flows AS text[]), CAST(:affiliates AS bigint[]), CAST(:entities AS text[])) AS k(f, a, e)
    CROSS JOIN LATERAL (
        SELECT id FROM integrations
        WHERE account_id = :account AND flow = k.f AND affiliate_id = k.a AND entity = k.e LIMIT 1
    ) AS i
    """
)
_FIND_SQLITE = text(
    """
    SELECT i.id, i.flow, i.affiliate_id, i.entity
    FROM json_each(:keys) AS k CROSS JOIN integrations AS i
    WHERE i.account_id = :account AND i.flow = k.value ->> 0 AND i.affiliate_id = k.value ->> 1
        AND i.entity = k.value ->> 2
    """
)


def _find_integrations(
    conn: Connection, account_id: int, keys: set[tuple[str, int, str]]
) -> dict[tuple[str, int, str], int]:
    """Ids of the integrations with these (flow, affiliate_id, entity) keys that exist."""
    ordered = sorted(keys)
    if conn.dialect.name == "postgresql":
        flows, affiliate_ids, entities = (list(column) for column in zip(*ordered, strict=True))
        params = {"account": account_id, "flows": flows, "affiliates": affiliate_ids, "entities": entities}
        rows = conn.execute(_FIND_POSTGRES, params)
    else:
        rows = conn.execute(_FIND_SQLITE, {"account": account_id, "keys": json.dumps(ordered)})
    return {(flow, int(affiliate_id), entity): int(id_) for id_, flow, affiliate_id, entity in rows}


def _attempt_row(
    account_id: int,
    actor: str,
    item: ExternalAttempt,
    affiliate: Any,
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
    """Count the attempts, and give each integration the state of its newest report when that is newer
    than what it shows and Ponte has not queued or leased it — one UPDATE for the whole batch."""
    counts: dict[int, int] = {}
    newest: dict[int, dict[str, Any]] = {}
    for row in rows:
        key = row["integration_id"]
        counts[key] = counts.get(key, 0) + 1
        if key not in newest or row["started_at"] >= newest[key]["started_at"]:
            newest[key] = row
    ids = sorted(newest)
    columns: dict[str, list[Any]] = {
        "id": ids,
        "n": [counts[key] for key in ids],
        "at": [newest[key]["started_at"] for key in ids],
    }
    for column in _STATE:
        columns[column] = [newest[key][_FROM_ROW.get(column, column)] for key in ids]
    if conn.dialect.name == "postgresql":
        _lock_in_order(conn, ids)
        conn.execute(_UPDATE_POSTGRES, columns)
        return
    stored_time = _sqlite_time(conn)
    columns["at"] = [stored_time(at) for at in columns["at"]]
    conn.execute(_UPDATE_SQLITE, {"changes": json.dumps(list(zip(*columns.values(), strict=True)))})


_STATE = ("status", "message", "code", "category", "disposition", "cause", "search_text")
_FROM_ROW = {"cause": "_cause", "search_text": "_search"}  # what the attempt row keeps them as
# A report moves the state only when it is newer than what the integration shows and Ponte has not queued
# (pending with a due time) or leased the integration itself.
_FRESH = (
    "((i.processed_at IS NULL OR i.processed_at <= v.at) AND i.lease_owner IS NULL"
    " AND NOT (i.status = 'pending' AND i.due_at IS NOT NULL))"
)
_SET = ",\n        ".join(
    [
        "attempt_count = i.attempt_count + v.n",
        f"processed_at = CASE WHEN {_FRESH} THEN v.at ELSE i.processed_at END",
        *(f"{c} = CASE WHEN {_FRESH} THEN v.{c} ELSE i.{c} END" for c in _STATE),
        # A report's message is the reporter's own words: no catalog key.
        *(f"{c} = CASE WHEN {_FRESH} THEN NULL ELSE i.{c} END" for c in ("message_key", "message_params")),
    ]
)
# `i.id = ANY(...)` beside the join: the planner then fetches just the batch's rows by primary key, where the
# join alone made it walk the whole primary key index to merge (time growing with the store, not the batch).
_UPDATE_POSTGRES = text(
    f"""
    UPDATE integrations AS i SET
        {_SET}
    FROM unnest(
        CAST(:id AS bigint[]), CAST(:n AS int[]), CAST(:at AS timestamptz[]), CAST(:status AS text[]),
        CAST(:message AS text[]), CAST(:code AS text[]), CAST(:category AS text[]), CAST(:disposition AS text[]),
        CAST(:cause AS text[]), CAST(:search_text AS text[])
    ) AS v(id, n, at, status, message, code, category, disposition, cause, search_text)
    WHERE i.id = v.id AND i.id = ANY(CAST(:id AS bigint[]))
    """
)
_UPDATE_SQLITE = text(
    f"""
    UPDATE integrations AS i SET
        {_SET}
    FROM (
        SELECT value ->> 0 AS id, value ->> 1 AS n, value ->> 2 AS at, value ->> 3 AS status,
            value ->> 4 AS message, value ->> 5 AS code, value ->> 6 AS category, value ->> 7 AS disposition,
            value ->> 8 AS cause, value ->> 9 AS search_text
        FROM json_each(:changes)
    ) AS v
    WHERE i.id = v.id
    """
)


def _sqlite_time(conn: Connection) -> Any:
    """How SQLite stores a time (the text the column's type writes), for times passed inside a JSON array."""
    return integrations.c.processed_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)


# Row locks in id order before the UPDATE, whose join over unnest() would take them in whatever order its plan
# visits the rows: two batches touching the same integrations in different orders then deadlocked (a 503).
# FOR NO KEY UPDATE is the lock the UPDATE itself takes: it does not conflict with the KEY SHARE locks that
# the attempts' foreign keys hold on the same rows.
_LOCK = text("SELECT id FROM integrations WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR NO KEY UPDATE")


def _lock_in_order(conn: Connection, ids: list[int]) -> None:
    conn.execute(_LOCK, {"ids": ids}).close()
