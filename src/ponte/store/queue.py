"""The integrations table as the work queue: its SQL (ponte.engine.queue decides what to queue).

A pending row with a due time is work; a worker claims it with a lease; the attempt and the row's new
state are written in one transaction. Coalescing, per-key serialisation and backoff all come from
that one row: ten changes before the worker gets there are one pending row, sent once with the newest data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Update, and_, bindparam, func, insert, or_, select, text, update

from ponte.clock import now as clock_now
from ponte.domain import Flow, Status, Trigger
from ponte.store.db import insert_many
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import When, attempt_bodies, attempts, integrations


@dataclass(frozen=True)
class Claim:
    """One integration a worker holds the lease on."""

    id: int
    account_id: int
    flow: str
    affiliate_id: int
    entity: str
    seq: int
    retry_count: int
    trigger: str
    actor: str | None
    reason: str | None
    external_ref: str | None
    last_sent: Any


def mark_changed(
    conn: Connection,
    *,
    account_id: int,
    flow: str,
    keys: Iterable[tuple[int, str]],
    trigger: Trigger = Trigger.CHANGE,
    actor: str | None = None,
    now: datetime | None = None,
) -> int:
    """Mark (affiliate_id, entity) integrations of a flow pending, creating them when new. Returns rows touched.

    A row already pending just gets a newer change number: the worker sends the current data once.
    """
    when = now or clock_now()
    ordered = sorted(set(keys))
    if not ordered:
        return 0
    params = {"account": account_id, "flow": flow, "when": when, "trigger": trigger.value, "actor": actor}
    if conn.dialect.name == "postgresql":
        affiliate_ids, entities = (list(column) for column in zip(*ordered, strict=True))
        keys_params = params | {"affiliates": affiliate_ids, "entities": entities}
        conn.execute(_LOCK_MARKED_POSTGRES, keys_params).close()
        conn.execute(_MARK_POSTGRES, keys_params)
    else:
        conn.execute(_MARK_SQLITE, params | {"keys": orjson.dumps(ordered).decode()})
    return len(ordered)


# All the keys in one statement, not an executemany: on PostgreSQL each row of one was a statement of its own
# that fired the counters' statement triggers (1,000 prices for five marketplaces: 676 ms, most of a bulk
# write), and on SQLite SQLAlchemy converted each row's parameters (two times a row) in Python. A row already
# there goes back to pending with a newer change number.
#
# On PostgreSQL the rows that exist are locked first, in id order, as every other batch write locks them (the
# worker recording its sends, external reports, releases): locked in key order, an ERP's price push and the
# worker recording sends of the same SKUs waited on each other in a cycle. The rows that are new are inserted
# in key order, so two transactions creating the same ones wait in one order too. The ids are found by one
# index probe per key (a LATERAL with LIMIT 1): a plain join made the planner read all the account's rows.
_LOCK_MARKED_POSTGRES = text(
    """
    SELECT id FROM integrations WHERE id = ANY(ARRAY(
        SELECT i.id
        FROM unnest(CAST(:affiliates AS bigint[]), CAST(:entities AS text[])) AS k(a, e)
        CROSS JOIN LATERAL (
            SELECT id FROM integrations
            WHERE account_id = :account AND flow = :flow AND affiliate_id = k.a AND entity = k.e LIMIT 1
        ) AS i
    ))
    ORDER BY id FOR NO KEY UPDATE
    """
)
_MARK = """
    INSERT INTO integrations (
        account_id, flow, affiliate_id, entity, status, due_at, change_seq, next_trigger, next_actor, created_at
    )
    SELECT :account, :flow, {affiliate}, {entity}, 'pending', :when, 1, :trigger, :actor, :when
    FROM {keys}
    ON CONFLICT (account_id, flow, affiliate_id, entity) DO UPDATE SET
        status = 'pending', due_at = excluded.due_at, change_seq = integrations.change_seq + 1, retry_count = 0,
        next_trigger = excluded.next_trigger, next_actor = excluded.next_actor, next_reason = NULL
"""
_MARK_POSTGRES = text(
    _MARK.format(
        affiliate="k.a",
        entity="k.e",
        keys="unnest(CAST(:affiliates AS bigint[]), CAST(:entities AS text[])) WITH ORDINALITY AS k(a, e, n)"
        " ORDER BY k.n",
    )
).bindparams(bindparam("when", type_=When))
# SQLite needs the WHERE to read ON CONFLICT as the upsert's, not as part of the SELECT's join.
_MARK_SQLITE = text(
    _MARK.format(
        affiliate="k.value ->> 0", entity="k.value ->> 1", keys="json_each(:keys) AS k WHERE true ORDER BY k.key"
    )
).bindparams(bindparam("when", type_=When))


@dataclass(frozen=True)
class LaneKey:
    """One affiliate's pending work of one flow: what a batch sweeps up."""

    account_id: int
    affiliate_id: int
    flow: str


def claim_due(
    conn: Connection,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    now: datetime | None = None,
    lane: LaneKey | None = None,
) -> list[Claim]:
    """Lease up to `limit` due integrations to `owner` (only `lane`'s, when given). Rows leased by another live
    worker are skipped."""
    when = now or clock_now()
    i = integrations.c
    query = (
        select(
            i.id,
            i.account_id,
            i.flow,
            i.affiliate_id,
            i.entity,
            i.change_seq,
            i.retry_count,
            i.next_trigger,
            i.next_actor,
            i.next_reason,
            i.external_ref,
            i.last_sent,
        )
        .where(i.status == Status.PENDING.value, i.due_at <= when, or_(i.lease_until.is_(None), i.lease_until < when))
        .order_by(i.due_at)
        .limit(limit)
    )
    if lane is not None:
        query = query.where(i.account_id == lane.account_id, i.flow == lane.flow, i.affiliate_id == lane.affiliate_id)
    if conn.dialect.name == "postgresql":
        # Workers on many machines: each skips rows another is claiming right now, none waits.
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query).all()
    if not rows:
        return []
    conn.execute(
        update(integrations)
        .where(i.id.in_([r.id for r in rows]))
        .values(lease_owner=owner, lease_until=when + timedelta(seconds=lease_seconds), claimed_seq=i.change_seq)
    )
    return [
        Claim(
            id=r.id,
            account_id=r.account_id,
            flow=r.flow,
            affiliate_id=r.affiliate_id,
            entity=r.entity,
            seq=r.change_seq,
            retry_count=r.retry_count,
            trigger=r.next_trigger or Trigger.CHANGE.value,
            actor=r.next_actor,
            reason=r.next_reason,
            external_ref=r.external_ref,
            last_sent=r.last_sent,
        )
        for r in rows
    ]


def release(conn: Connection, *, owner: str, due: Sequence[tuple[Claim, datetime]]) -> None:
    """Give claimed rows back unexecuted, each due again at its time (its affiliate is paused, it waits for its
    product, or the worker is stopping): one executemany, in id order like every batch write."""
    if not due:
        return
    i = integrations.c
    conn.execute(
        update(integrations)
        .where(i.id == bindparam("claim_id"), i.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, due_at=bindparam("due")),
        [{"claim_id": claim.id, "due": due_at} for claim, due_at in sorted(due, key=lambda pair: pair[0].id)],
    )


def count_due(conn: Connection, *, lane: LaneKey, up_to: int, now: datetime) -> int:
    """How many of `lane`'s integrations are due now, counting no further than `up_to` (a bounded read)."""
    i = integrations.c
    due = (
        select(i.id)
        .where(
            i.account_id == lane.account_id,
            i.flow == lane.flow,
            i.affiliate_id == lane.affiliate_id,
            i.status == Status.PENDING.value,
            i.due_at <= now,
        )
        .limit(up_to)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(due)).scalar_one())


def postpone_due(conn: Connection, *, lane: LaneKey, due: datetime, now: datetime) -> int:
    """Make `lane`'s work that is due now (and leased by nobody) due at `due` instead: a batch that waits for its
    operation's next token takes every one of them then, instead of each being claimed and given back meanwhile
    (5,000 waiting price changes were 100 claims of 50 a minute). Returns how many rows moved."""
    i = integrations.c
    stmt = (
        update(integrations)
        .where(
            i.account_id == lane.account_id,
            i.flow == lane.flow,
            i.affiliate_id == lane.affiliate_id,
            i.status == Status.PENDING.value,
            i.due_at <= now,
            or_(i.lease_until.is_(None), i.lease_until < now),
        )
        .values(due_at=due)
    )
    return int(conn.execute(stmt).rowcount or 0)


def extend_lease(conn: Connection, *, ids: Sequence[int], owner: str, until: datetime) -> None:
    """Keep holding rows a long piece of work claimed (a lane sweeping several feeds), while this owner holds them."""
    if not ids:
        return
    i = integrations.c
    ordered = sorted(ids)
    for start in range(0, len(ordered), 10_000):
        chunk = ordered[start : start + 10_000]
        conn.execute(update(integrations).where(i.id.in_(chunk), i.lease_owner == owner).values(lease_until=until))


def park(conn: Connection, *, ids: Sequence[int], owner: str) -> None:
    """Hand rows just recorded as submitted (pending, not due) to their submission, which holds them until its poll
    settles them. A row a change made due again meanwhile is not parked: it goes out again with the newer data."""
    if not ids:
        return
    i = integrations.c
    ordered = sorted(ids)
    for start in range(0, len(ordered), 10_000):
        chunk = ordered[start : start + 10_000]
        conn.execute(
            update(integrations)
            .where(i.id.in_(chunk), i.status == Status.PENDING.value, i.due_at.is_(None), i.lease_owner.is_(None))
            .values(lease_owner=owner)
        )


def bounded(value: Any, limit: int) -> str | None:
    """Serialise a request or response for the attempt log, cut to `limit` characters."""
    if value is None:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    text = text.replace("\x00", "")  # PostgreSQL keeps no NUL in text; an answer holding one is still recorded
    if len(text) > limit:
        return text[:limit] + f"… [{len(text) - limit} more characters cut]"
    return text


def insert_attempt(conn: Connection, *, values: dict[str, Any], request: Any, response: Any, body_limit: int) -> int:
    """Append one attempt row (and its bodies) to the log; returns its id."""
    attempt_id = int(conn.execute(insert(attempts).values(**values).returning(attempts.c.id)).scalar_one())
    if request is not None or response is not None:
        conn.execute(
            insert(attempt_bodies).values(
                attempt_id=attempt_id,
                started_at=values["started_at"],
                request=bounded(request, body_limit),
                response=bounded(response, body_limit),
            )
        )
    return attempt_id


# What an attempt may change on its integration besides status, due time and retry count (see `finish`).
STATE_KEYS = (
    "message",
    "message_key",
    "message_params",
    "code",
    "category",
    "disposition",
    "cause",
    "search_text",
    "processed_at",
    "external_ref",
    "last_sent",
    "next_trigger",
)


def _released() -> dict[str, Any]:
    """What every recorded attempt does to its row while the lease is held: give the lease back, count it."""
    return {
        "lease_owner": None,
        "lease_until": None,
        "attempt_count": integrations.c.attempt_count + 1,
        "next_trigger": None,
        "next_actor": None,
        "next_reason": None,
    }


def finish(
    conn: Connection,
    *,
    claim: Claim,
    owner: str,
    state: dict[str, Any],
) -> bool:
    """Write the integration's new state after an attempt, if this worker still holds the lease.

    When a change arrived while the attempt ran (change_seq moved on), the row stays pending and due,
    so the newest data is sent next; the attempt's own result is still shown. Returns False when the
    lease was lost (the row belongs to another worker now): only its attempt count moves, to match the attempt rows.
    """
    return _write_states(conn, owner=owner, items=[(claim, state)])[0]


@dataclass
class Result:
    """One attempt to record (`attempt`: its attempts row, with the request and response it carried) and the
    state it leads its integration to (`state`: as for `finish`)."""

    claim: Claim
    attempt: dict[str, Any]
    state: dict[str, Any]
    request: Any = None
    response: Any = None


def record_results(conn: Connection, *, owner: str, results: Sequence[Result], body_limit: int) -> list[bool]:
    """Record a batch of attempts and their integrations' new states in a few set-based statements.

    Per item it does what `insert_attempt` + `finish` do: every attempt is appended; a row whose lease
    `owner` still holds takes its new state, or, when a change landed while it ran, stays pending with the
    newest change to send; a row whose lease was lost only counts the attempt. Returns, in the order
    given, whether each row's state was written (False: the lease was lost).
    """
    if not results:
        return []
    append_attempts(conn, [(r.attempt, r.request, r.response) for r in results], body_limit)
    return _write_states(conn, owner=owner, items=[(r.claim, r.state) for r in results])


def _write_states(conn: Connection, *, owner: str, items: Sequence[tuple[Claim, dict[str, Any]]]) -> list[bool]:
    """The states half of `record_results` (and all of `finish`): one UPDATE per kind of outcome, in id order."""
    i = integrations.c
    # Lock the rows (in id order, as any other batch does) and split them by what became of them meanwhile.
    query = select(i.id, i.lease_owner, i.change_seq).where(i.id.in_([claim.id for claim, _ in items])).order_by(i.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    current = {row.id: (row.lease_owner, row.change_seq) for row in conn.execute(query)}
    done: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    lost: list[dict[str, Any]] = []
    held: list[bool] = []
    for claim, state in items:
        lease_owner, seq = current.get(claim.id, (None, None))
        keys = tuple(key for key in STATE_KEYS if key in state)
        params = {"b_id": claim.id, "b_owner": owner} | {f"v_{key}": state[key] for key in keys}
        if lease_owner != owner:
            lost.append({"b_id": claim.id})
        elif seq == claim.seq:
            extra = {"b_seq": claim.seq, "v_status": state["status"], "v_due_at": state["due_at"]}
            done.setdefault(keys, []).append(params | extra | {"v_retry_count": state["retry_count"]})
        else:
            keys = tuple(key for key in keys if key != "next_trigger")
            changed.setdefault(keys, []).append({k: v for k, v in params.items() if k != "v_next_trigger"})
        held.append(lease_owner == owner)
    for keys, rows in done.items():
        conn.execute(_finish_statement(keys, changed=False), rows)
    for keys, rows in changed.items():
        conn.execute(_finish_statement(keys, changed=True), rows)
    if lost:
        # The attempts happened and are recorded: count them, change nothing else of rows now another's.
        conn.execute(
            update(integrations).where(i.id == bindparam("b_id")).values(attempt_count=i.attempt_count + 1), lost
        )
    return held


def append_attempts(conn: Connection, entries: Sequence[tuple[dict[str, Any], Any, Any]], body_limit: int) -> list[int]:
    """Append attempts and their bodies, (attempt row, request, response) each; returns their ids in order.

    Ids are reserved first, so that attempts and bodies both go in as plain batches (COPY on PostgreSQL).
    The workers' results and external reports both record through it.
    """
    ids = _reserve_attempt_ids(conn, len(entries))
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for attempt_id, (row, _, _) in zip(ids, entries, strict=True):
        groups.setdefault(tuple(sorted(row)), []).append(row | {"id": attempt_id})
    for rows in groups.values():  # insert_many wants the same columns in every row
        insert_many(conn, attempts, rows)
    bodies = [
        {
            "attempt_id": attempt_id,
            "started_at": row["started_at"],
            "request": bounded(request, body_limit),
            "response": bounded(response, body_limit),
        }
        for attempt_id, (row, request, response) in zip(ids, entries, strict=True)
        if request is not None or response is not None
    ]
    insert_many(conn, attempt_bodies, bodies)
    return ids


def _reserve_attempt_ids(conn: Connection, count: int) -> list[int]:
    """Reserve `count` attempt ids, so that attempts and bodies go in as plain batched inserts (no RETURNING)."""
    if conn.dialect.name == "postgresql":
        query = text("SELECT nextval(pg_get_serial_sequence('attempts', 'id')) FROM generate_series(1, :n)")
        return [int(r[0]) for r in conn.execute(query, {"n": count})]
    # SQLite: write transactions begin IMMEDIATE, so no other writer can take ids until this one commits.
    top = conn.execute(select(func.coalesce(func.max(attempts.c.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def _finish_statement(keys: tuple[str, ...], *, changed: bool) -> Update:
    """The UPDATE of `finish` with bound parameters, to run once per batch (executemany).

    Parameters: b_id, b_owner, v_<key> for each key; unless `changed`, also b_seq, v_status, v_due_at, v_retry_count.
    """
    i = integrations.c
    values = _released() | {key: bindparam(f"v_{key}", type_=i[key].type) for key in keys}
    where = [i.id == bindparam("b_id"), i.lease_owner == bindparam("b_owner")]
    if changed:  # a change landed while the attempt ran: the row stays pending and due, for the newest data
        values |= {"next_trigger": Trigger.CHANGE.value, "retry_count": 0}
    else:
        values |= {key: bindparam(f"v_{key}", type_=i[key].type) for key in ("status", "due_at", "retry_count")}
        where.append(i.change_seq == bindparam("b_seq"))
    return update(integrations).where(*where).values(values)


def requeue(
    conn: Connection,
    *,
    account_id: int,
    actor: str,
    ids: Sequence[int] | None,
    filter: IntegrationFilter | None,
    reason: str | None,
    now: datetime,
) -> int:
    """Make the integrations of `ids` and/or `filter` (everything it matches) pending and due at `now`, to run
    again with the store's current data; rows already pending are left as they are. Returns how many moved."""
    i = integrations.c
    where = (filter or IntegrationFilter()).conditions_on(conn, account_id)
    if ids is not None:
        where.append(i.id.in_(list(ids)))
    where.append(i.status != Status.PENDING.value)
    result = conn.execute(
        update(integrations)
        .where(*where)
        .values(
            status=Status.PENDING.value,
            due_at=now,
            retry_count=0,
            change_seq=i.change_seq + 1,
            next_trigger=Trigger.REPROCESS.value,
            next_actor=actor,
            next_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def count_reprocessable(conn: Connection, *, account_id: int, filter: IntegrationFilter) -> int:
    """How many integrations a bulk reprocess of `filter` would queue (its dry run): matches not already pending."""
    where = [*filter.conditions_on(conn, account_id), integrations.c.status != Status.PENDING.value]
    return int(conn.execute(select(func.count()).select_from(integrations).where(*where)).scalar_one())


@dataclass(frozen=True)
class ProductState:
    """Where a SKU's product send to a marketplace stands, as its price and stock sends wait on it."""

    account_id: int
    affiliate_id: int
    entity: str
    status: str
    message: str | None
    message_key: str | None
    message_params: Any
    due_at: datetime | None
    lease_until: datetime | None
    lease_owner: str | None


def unlisted_products(
    conn: Connection, *, account_ids: set[int], affiliate_ids: set[int], entities: set[str]
) -> list[ProductState]:
    """The product integrations among these accounts, affiliates and SKUs that are pending, or failed without the
    marketplace ever listing them (no external ref)."""
    i = integrations.c
    rows = conn.execute(
        select(
            i.account_id,
            i.affiliate_id,
            i.entity,
            i.status,
            i.message,
            i.message_key,
            i.message_params,
            i.due_at,
            i.lease_until,
            i.lease_owner,
        ).where(
            # Every column of the (account, flow, affiliate, entity) key, so the lookup is by that index.
            i.account_id.in_(account_ids),
            i.flow == Flow.PRODUCT.value,
            i.affiliate_id.in_(affiliate_ids),
            i.entity.in_(entities),
            or_(i.status == Status.PENDING.value, and_(i.status == Status.ERROR.value, i.external_ref.is_(None))),
        )
    )
    return [ProductState(**row._mapping) for row in rows]
