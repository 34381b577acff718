"""The Connections screen's queries: integration rows, their attempts, capped counts, cause groups, histories.

Every query is scoped to `account_id`; lists follow LIST_ORDER (never processed first, then processed_at DESC; id
DESC) and page by keyset (`in_list_order`), never OFFSET, so page 1000 costs what page 1 costs.
services.connections turns them into pages, counts and causes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Integer, Text, and_, func, or_, select, text

from ponte.domain import Flow, Status
from ponte.domain.messages import Message, from_columns
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import When, affiliates, attempt_bodies, attempts, integrations


@dataclass(slots=True)  # not frozen: a frozen dataclass sets each field through object.__setattr__, 9 × slower
class IntegrationRow:
    """One line of a Connections list: an integration's current state (read it, never change it)."""

    id: int
    flow: str
    entity: str
    affiliate_id: int
    affiliate_code: str
    affiliate_name: str
    affiliate_kind: str
    status: str
    message: str | None
    code: str | None
    category: str | None
    disposition: str | None
    cause: str | None
    processed_at: datetime | None
    attempt_count: int
    next_trigger: str | None
    next_actor: str | None
    message_key: str | None = None
    message_params_json: str | None = None

    @property
    def said(self) -> Message | None:
        """Ponte's own message, to show in the reader's language (None: `message` is a marketplace's words)."""
        return from_columns(self.message_key, self.message_params_json)

    @property
    def stamp(self) -> str:
        """Changes whenever the row would look different: what live refresh compares."""
        when = self.processed_at.isoformat() if self.processed_at else ""
        return f"{self.status}|{when}|{self.attempt_count}"


@dataclass(frozen=True)
class Attempt:
    id: int
    integration_id: int
    trigger: str
    actor: str | None
    reason: str | None
    system: str
    status: str
    message: str | None
    code: str | None
    category: str | None
    disposition: str | None
    http_status: int | None
    started_at: datetime
    duration_ms: int
    request: str | None = None
    response: str | None = None
    flow: str | None = None  # filled in by order_history / sku history, which mix integrations
    message_key: str | None = None
    message_params_json: str | None = None

    @property
    def said(self) -> Message | None:
        return from_columns(self.message_key, self.message_params_json)


@dataclass(frozen=True)
class CauseGroup:
    """Failing integrations of one (category, cause key, flow, affiliate): a part of a cause."""

    category: str | None
    cause_key: str | None  # the normalised message, or the raw one for rows classified before causes
    flow: str
    affiliate_code: str
    count: int
    last_at: datetime | None
    sample: str | None


# The list's order, which exports follow too: the never-processed rows first, then newest processing first; among
# rows of one time, the newest id first.
LIST_ORDER = (integrations.c.processed_at.desc().nulls_first(), integrations.c.id.desc())


def in_list_order(conn: Connection, query: Any, after: tuple[datetime | None, int] | None, limit: int) -> list[Any]:
    """Up to `limit` rows of `query` (a select on integrations, unordered) in LIST_ORDER after the (processed_at, id)
    key of the previous page, when given.

    Read as two walks down the (…, processed_at, id) indexes: the never-processed rows (processed_at IS NULL, by id
    backwards), then the processed ones (both columns backwards). One ORDER BY with NULLS FIRST cannot follow an
    index on SQLite, whose indexes hold NULL first in ascending order: it sorted every row of the flow for each
    page, 60 ms a view when a repricing left 100,000 rows waiting.
    """
    i = integrations.c
    rows: list[Any] = []
    if after is None or after[0] is None:
        waiting = query.where(i.processed_at.is_(None))
        if after is not None:
            waiting = waiting.where(i.id < after[1])
        rows = list(conn.execute(waiting.order_by(i.id.desc()).limit(limit)))
        if len(rows) >= limit:
            return rows
        later: ColumnElement[bool] = i.processed_at.is_not(None)
    else:
        when, last_id = after
        later = and_(i.processed_at <= when, or_(i.processed_at < when, i.id < last_id))
    done = query.where(later).order_by(i.processed_at.desc(), i.id.desc()).limit(limit - len(rows))
    return rows + list(conn.execute(done))


# -- integration rows -------------------------------------------------------------------------------

_ROW_COLUMNS = (
    integrations.c.id,
    integrations.c.flow,
    integrations.c.entity,
    integrations.c.affiliate_id,
    affiliates.c.code.label("affiliate_code"),
    affiliates.c.name.label("affiliate_name"),
    affiliates.c.kind.label("affiliate_kind"),
    integrations.c.status,
    integrations.c.message,
    integrations.c.code,
    integrations.c.category,
    integrations.c.disposition,
    integrations.c.cause,
    integrations.c.processed_at,
    integrations.c.attempt_count,
    integrations.c.next_trigger,
    integrations.c.next_actor,
    integrations.c.message_key,
    integrations.c.message_params.label("message_params_json"),
)


def _row(r: Any) -> IntegrationRow:
    return IntegrationRow(*r)  # positional: _ROW_COLUMNS are in the dataclass's field order (asserted below)


assert [c.key for c in _ROW_COLUMNS] == [f.name for f in fields(IntegrationRow)]


def _rows_query(where: Iterable[ColumnElement[bool]]) -> Any:
    return select(*_ROW_COLUMNS).join(affiliates, affiliates.c.id == integrations.c.affiliate_id).where(*where)


def filtered_rows(
    conn: Connection,
    *,
    account_id: int,
    filter: IntegrationFilter,
    after: tuple[datetime | None, int] | None,
    limit: int,
) -> list[IntegrationRow]:
    """Up to `limit` integrations matching `filter` in LIST_ORDER, after the (processed_at, id) key when given."""
    query = _rows_query(filter.conditions_on(conn, account_id))
    return [_row(r) for r in in_list_order(conn, query, after, limit)]


def rows_by_id(conn: Connection, *, account_id: int, ids: Sequence[int]) -> list[IntegrationRow]:
    """These integrations of the account in LIST_ORDER; unknown ids are left out."""
    where = [integrations.c.account_id == account_id, integrations.c.id.in_(list(ids))]
    return [_row(r) for r in conn.execute(_rows_query(where).order_by(*LIST_ORDER))]


def find_row(conn: Connection, *, account_id: int, integration_id: int) -> IntegrationRow | None:
    where = [integrations.c.account_id == account_id, integrations.c.id == integration_id]
    found = conn.execute(_rows_query(where)).first()
    return None if found is None else _row(found)


def entity_rows(conn: Connection, *, account_id: int, entity: str, flows: Sequence[str]) -> list[IntegrationRow]:
    """The integrations of one order or SKU in these flows, in LIST_ORDER."""
    return [_row(r) for r in conn.execute(_rows_query(_entity_where(account_id, entity, flows)).order_by(*LIST_ORDER))]


def _entity_where(account_id: int, entity: str, flows: Sequence[str]) -> list[ColumnElement[bool]]:
    i = integrations.c
    return [i.account_id == account_id, i.entity == entity, i.flow.in_(list(flows))]


# -- attempts ---------------------------------------------------------------------------------------

_ATTEMPT_COLUMNS = (
    attempts.c.id,
    attempts.c.integration_id,
    attempts.c.trigger,
    attempts.c.actor,
    attempts.c.reason,
    attempts.c.system,
    attempts.c.status,
    attempts.c.message,
    attempts.c.code,
    attempts.c.category,
    attempts.c.disposition,
    attempts.c.http_status,
    attempts.c.started_at,
    attempts.c.duration_ms,
    attempts.c.message_key,
    attempts.c.message_params.label("message_params_json"),
)


def _attempt(r: Any, *, flow: str | None = None) -> Attempt:
    m = r._mapping
    return Attempt(
        **{k: m[k] for k in Attempt.__dataclass_fields__ if k in m and k not in ("request", "response", "flow")},
        request=m.get("request"),
        response=m.get("response"),
        flow=flow or m.get("flow"),
    )


def integration_attempts(conn: Connection, *, account_id: int, integration_id: int, limit: int) -> list[Attempt]:
    """Up to `limit` attempts of one integration, newest first, bodies included."""
    query = (
        select(*_ATTEMPT_COLUMNS, attempt_bodies.c.request, attempt_bodies.c.response)
        .outerjoin(attempt_bodies, attempt_bodies.c.attempt_id == attempts.c.id)
        .where(attempts.c.account_id == account_id, attempts.c.integration_id == integration_id)
        .order_by(attempts.c.id.desc())
        .limit(limit)
    )
    return [_attempt(r) for r in conn.execute(query)]


def recent_attempts(
    conn: Connection, *, account_id: int, integration_ids: Sequence[int], per_integration: int = 10
) -> dict[int, list[Attempt]]:
    """The newest attempts (with bodies) of several integrations at once: "expand all" in one query."""
    if not integration_ids:
        return {}
    ranked = (
        select(
            *_ATTEMPT_COLUMNS,
            func.row_number().over(partition_by=attempts.c.integration_id, order_by=attempts.c.id.desc()).label("rn"),
        )
        .where(attempts.c.account_id == account_id, attempts.c.integration_id.in_(list(integration_ids)))
        .subquery()
    )
    query = (
        select(ranked, attempt_bodies.c.request, attempt_bodies.c.response)
        .outerjoin(attempt_bodies, attempt_bodies.c.attempt_id == ranked.c.id)
        .where(ranked.c.rn <= per_integration)
        .order_by(ranked.c.integration_id, ranked.c.id.desc())
    )
    result: dict[int, list[Attempt]] = {int(i): [] for i in integration_ids}
    for r in conn.execute(query):
        result[r.integration_id].append(_attempt(r))
    return result


def entity_history(
    conn: Connection, *, account_id: int, entity: str, flows: Sequence[str], limit: int
) -> list[Attempt]:
    """Every attempt of one order's or SKU's integrations in these flows, newest first (with their flow)."""
    query = (
        select(*_ATTEMPT_COLUMNS, integrations.c.flow, attempt_bodies.c.request, attempt_bodies.c.response)
        .join(integrations, integrations.c.id == attempts.c.integration_id)
        .outerjoin(attempt_bodies, attempt_bodies.c.attempt_id == attempts.c.id)
        .where(attempts.c.account_id == account_id, *_entity_where(account_id, entity, flows)[1:])
        .order_by(attempts.c.started_at.desc(), attempts.c.id.desc())
        .limit(limit)
    )
    return [_attempt(r) for r in conn.execute(query)]


# -- counts -----------------------------------------------------------------------------------------


def capped_status_counts(
    conn: Connection, *, account_id: int, filter: IntegrationFilter, statuses: Sequence[str], cap: int
) -> dict[str, int]:
    """Rows per status under `filter`, each counted up to cap + 1 (more than `cap` means "at least")."""
    where = filter.conditions_on(conn, account_id)
    counts: dict[str, int] = {}
    for status in statuses:
        capped_rows = select(integrations.c.id).where(*where, integrations.c.status == status).limit(cap + 1).subquery()
        counts[status] = int(conn.execute(select(func.count()).select_from(capped_rows)).scalar_one())
    return counts


def affiliate_ids(conn: Connection, *, account_id: int, codes: Sequence[str]) -> set[int]:
    query = select(affiliates.c.id).where(affiliates.c.account_id == account_id, affiliates.c.code.in_(list(codes)))
    return {int(r.id) for r in conn.execute(query)}


def affiliate_codes(conn: Connection, *, account_id: int) -> dict[int, str]:
    """{affiliate id: code} of the account's affiliates."""
    query = select(affiliates.c.id, affiliates.c.code).where(affiliates.c.account_id == account_id)
    return {int(r.id): r.code for r in conn.execute(query)}


# -- causes -----------------------------------------------------------------------------------------


def cause_groups(conn: Connection, *, account_id: int, filter: IntegrationFilter) -> list[CauseGroup]:
    """The rows under `filter` grouped by (category, cause key, flow, affiliate), with count, newest and a sample."""
    i = integrations.c
    # Rows classified before causes existed have no normalised message; their raw message groups them.
    key = func.coalesce(i.cause, i.message).label("cause_key")
    query = (
        select(
            i.category,
            key,
            i.flow,
            affiliates.c.code,
            func.count().label("n"),
            func.max(i.processed_at).label("last_at"),
            func.min(i.message).label("sample"),
        )
        .join(affiliates, affiliates.c.id == i.affiliate_id)
        .where(*filter.conditions_on(conn, account_id))
        .group_by(i.category, key, i.flow, affiliates.c.code)
    )
    return [
        CauseGroup(r.category, r.cause_key, r.flow, r.code, int(r.n), r.last_at, r.sample) for r in conn.execute(query)
    ]


# The newest error of each (category, cause) group, for all the groups in one statement: per group one step
# down the cause index (account, status, category, cause, processed_at), newest first. A query per group cost
# about a quarter of a millisecond each in SQLAlchemy, 18 ms for 65 causes, where the step itself takes 11 µs.
# The groups go in as one JSON array (SQLite) or arrays (PostgreSQL), like the keys of a batch of reports.
# PostgreSQL cannot look up `category IS NOT DISTINCT FROM` in an index, so a group without a category takes
# the second branch, which is switched off for the others by its condition on the group alone.
_EXAMPLE_FILTERS = """account_id = :account AND status = 'error' AND cause = k.cause
            AND (CAST(:flow AS text) IS NULL OR flow = :flow)"""
_NEWEST_EXAMPLES_POSTGRES = text(
    f"""
    SELECT k.n, e.message, e.processed_at
    FROM unnest(CAST(:categories AS text[]), CAST(:causes AS text[])) WITH ORDINALITY AS k(category, cause, n)
    CROSS JOIN LATERAL (
        (SELECT message, processed_at FROM integrations
         WHERE {_EXAMPLE_FILTERS} AND category = k.category
            AND (CAST(:affiliates AS bigint[]) IS NULL OR affiliate_id = ANY(CAST(:affiliates AS bigint[])))
         ORDER BY processed_at DESC LIMIT 1)
        UNION ALL
        (SELECT message, processed_at FROM integrations
         WHERE k.category IS NULL AND {_EXAMPLE_FILTERS} AND category IS NULL
            AND (CAST(:affiliates AS bigint[]) IS NULL OR affiliate_id = ANY(CAST(:affiliates AS bigint[])))
         ORDER BY processed_at DESC LIMIT 1)
    ) AS e
    """
).columns(n=Integer(), message=Text(), processed_at=When)
_NEWEST_EXAMPLES_SQLITE = text(
    f"""
    SELECT k.n, e.message, e.processed_at
    FROM (SELECT key + 1 AS n, value ->> 0 AS category, value ->> 1 AS cause FROM json_each(:groups)) AS k
    JOIN integrations AS e ON e.id = (
        SELECT id FROM integrations
        WHERE {_EXAMPLE_FILTERS} AND category IS k.category
            AND (:affiliates IS NULL OR affiliate_id IN (SELECT value FROM json_each(:affiliates)))
        ORDER BY processed_at DESC LIMIT 1
    )
    """
).columns(n=Integer(), message=Text(), processed_at=When)


def newest_examples(
    conn: Connection,
    *,
    account_id: int,
    flow: str | None,
    affiliate_ids: Sequence[int] | None,
    groups: list[tuple[str | None, str | None]],
) -> dict[int, tuple[str | None, datetime | None]]:
    """Position in `groups` -> (message, processed_at) of its newest error (under the flow and affiliates)."""
    if not groups:
        return {}
    params: dict[str, Any] = {"account": account_id, "flow": flow}
    if conn.dialect.name == "postgresql":
        params |= {
            "categories": [category for category, _ in groups],
            "causes": [cause for _, cause in groups],
            "affiliates": affiliate_ids,
        }
        rows = conn.execute(_NEWEST_EXAMPLES_POSTGRES, params)
    else:
        params |= {
            "groups": orjson.dumps(groups).decode(),
            "affiliates": None if affiliate_ids is None else orjson.dumps(affiliate_ids).decode(),
        }
        rows = conn.execute(_NEWEST_EXAMPLES_SQLITE, params)
    return {int(r.n) - 1: (r.message, r.processed_at) for r in rows}


def follow_on_groups(
    conn: Connection, *, account_id: int, filter: IntegrationFilter, code: str
) -> list[tuple[str | None, str | None, str | None, str | None, str, int]]:
    """(follow-on category, follow-on key, root category, root key, flow, n) for the errors under `filter` with
    this code whose product integration (same affiliate and SKU) is in error."""
    root_table = integrations.alias("root")
    follow, root = integrations.c, root_table.c
    key = func.coalesce(follow.cause, follow.message)
    root_key = func.coalesce(root.cause, root.message)
    query = (
        select(follow.category, key, root.category, root_key, follow.flow, func.count())
        .join_from(
            integrations,
            root_table,
            and_(
                root.account_id == follow.account_id,
                root.affiliate_id == follow.affiliate_id,
                root.entity == follow.entity,
                root.flow == Flow.PRODUCT.value,
                root.status == Status.ERROR.value,
            ),
        )
        .where(*filter.conditions_on(conn, account_id), follow.code == code)
        .group_by(follow.category, key, root.category, root_key, follow.flow)
    )
    return [(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in conn.execute(query)]
