"""What a batch of external reports writes: its idempotency record, the integrations it names, their new state.

A batch costs a handful of statements whatever its size: the keys go in as arrays (PostgreSQL) or one JSON
array (SQLite), and every integration's state moves in one UPDATE.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from ponte.store.db import upsert
from ponte.store.tables import affiliates, external_batches, integrations


@dataclass(frozen=True)
class ReportedAffiliate:
    """An affiliate as a report names it (by code)."""

    id: int
    code: str
    name: str
    marketplace: str


@dataclass(frozen=True)
class ReportedState:
    """An integration's newest report in a batch, and how many attempts the batch brings it."""

    integration_id: int
    attempts: int
    at: datetime
    status: str
    message: str | None
    code: str | None
    category: str | None
    disposition: str | None
    cause: str | None
    search_text: str | None


# -- idempotency --------------------------------------------------------------------------------------


def find_batch(conn: Connection, *, account_id: int, key: str) -> dict[str, Any] | None:
    """The stored result of the batch with this (stored) idempotency key, or None."""
    row = conn.execute(
        select(external_batches.c.result).where(
            external_batches.c.account_id == account_id, external_batches.c.idempotency_key == key
        )
    ).first()
    return None if row is None else dict(row.result)


def insert_batch(conn: Connection, *, account_id: int, key: str, result: dict[str, Any], at: datetime) -> None:
    conn.execute(
        insert(external_batches).values(account_id=account_id, idempotency_key=key, result=result, created_at=at)
    )


def set_batch_result(conn: Connection, *, key: str, result: dict[str, Any]) -> None:
    conn.execute(update(external_batches).where(external_batches.c.idempotency_key == key).values(result=result))


# -- affiliates and integrations ----------------------------------------------------------------------


def affiliates_by_code(conn: Connection, *, account_id: int, codes: Iterable[str]) -> dict[str, ReportedAffiliate]:
    query = select(affiliates.c.id, affiliates.c.code, affiliates.c.name, affiliates.c.marketplace)
    rows = conn.execute(query.where(affiliates.c.account_id == account_id, affiliates.c.code.in_(set(codes))))
    return {r.code: ReportedAffiliate(r.id, r.code, r.name, r.marketplace) for r in rows}


def create_integrations(
    conn: Connection, *, account_id: int, keys: Sequence[tuple[str, int, str]], status: str, at: datetime
) -> None:
    """Create the (flow, affiliate_id, entity) integrations; one a concurrent batch created is left as it is."""
    conn.execute(
        upsert(conn, integrations).on_conflict_do_nothing(),
        [
            {"account_id": account_id, "flow": f, "affiliate_id": a, "entity": e, "status": status, "created_at": at}
            for f, a, e in keys
        ],
    )


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


def find_integrations(
    conn: Connection, *, account_id: int, keys: set[tuple[str, int, str]]
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


# -- current state ------------------------------------------------------------------------------------


def move_current_state(conn: Connection, changes: Sequence[ReportedState]) -> None:
    """Count the attempts, and give each integration the state of its newest report when that is newer
    than what it shows and Ponte has not queued or leased it — one UPDATE for the whole batch."""
    ordered = sorted(changes, key=lambda change: change.integration_id)
    ids = [change.integration_id for change in ordered]
    columns: dict[str, list[Any]] = {
        "id": ids,
        "n": [change.attempts for change in ordered],
        "at": [change.at for change in ordered],
    }
    for column in _STATE:
        columns[column] = [getattr(change, column) for change in ordered]
    if conn.dialect.name == "postgresql":
        _lock_in_order(conn, ids)
        conn.execute(_UPDATE_POSTGRES, columns)
        return
    stored_time = _sqlite_time(conn)
    columns["at"] = [stored_time(at) for at in columns["at"]]
    conn.execute(_UPDATE_SQLITE, {"changes": json.dumps(list(zip(*columns.values(), strict=True)))})


_STATE = ("status", "message", "code", "category", "disposition", "cause", "search_text")
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
