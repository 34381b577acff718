"""The SQL of exports (ponte.exports): the integrations a filter matches, read in keyset batches, and their count.

The rows are the export's hot path (a million of them is benchmarked): one lean query with only the exported
columns and no join, read in big keyset batches and handed over as they come, typed as plain tuples
(`ExportRow`). At runtime they are SQLAlchemy's Rows, which are tuples in all but name; copying each into a
tuple would cost a tenth of the export.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, String, func, select, type_coerce

# The Connections list's order and its keyset condition: exports follow the list.
from ponte.store.connections import in_list_order
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import integrations

# (id, processed_at as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]" or None, entity, affiliate_id, flow, status, category,
#  message, attempt_count, message_key, message_params)
ExportRow = tuple[int, str | None, str, int, str, str, str | None, str | None, int, str | None, str | None]

_i = integrations.c

# After id and processed_at (the keyset), the exported columns; affiliate_id rather than a join.
_COLUMNS = (
    _i.entity,
    _i.affiliate_id,
    _i.flow,
    _i.status,
    _i.category,
    _i.message,
    _i.attempt_count,
    _i.message_key,
    _i.message_params,
)


def export_batches(
    conn: Connection, *, account_id: int, filter: IntegrationFilter, batch: int
) -> Iterator[Sequence[ExportRow]]:
    """The rows `filter` matches in the account, in the Connections list's order, as lists of up to `batch`.

    processed_at comes as UTC text on both databases (SQLite keeps it so; PostgreSQL formats it), not
    through the column type's conversion per row: the caller turns it into the store's local time.
    """
    if conn.dialect.name == "sqlite":
        when: ColumnElement[Any] = type_coerce(_i.processed_at, String())
    else:
        # to_char, not a cast: a cast's text follows the server's DateStyle, which may not be ISO.
        when = func.to_char(func.timezone("UTC", _i.processed_at), "YYYY-MM-DD HH24:MI:SS.US")
    query = select(_i.id, when, *_COLUMNS).where(*filter.conditions_on(conn, account_id))
    after: tuple[datetime | None, int] | None = None
    while True:
        rows = cast("Sequence[ExportRow]", in_list_order(conn, query, after, batch))
        if rows:
            yield rows
        if len(rows) < batch:
            return
        last_id, last_when = rows[-1][:2]
        after = (datetime.fromisoformat(last_when).replace(tzinfo=UTC) if last_when else None), last_id


def count_matching(conn: Connection, *, account_id: int, filter: IntegrationFilter) -> int:
    """How many integrations of the account `filter` matches (exact: an export declares its sheets with it)."""
    where = filter.conditions_on(conn, account_id)
    return int(conn.execute(select(func.count()).select_from(integrations).where(*where)).scalar_one())
