"""The integration filter shared by the Connections screen, the API, the CLI, exports and bulk reprocess.

One filter, one SQL translation: what the operator sees is exactly what is exported or reprocessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Connection, and_, column, false, func, select, table, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from ponte.knowledge.wordsearch import search_terms
from ponte.store.db import plan_for_values
from ponte.store.tables import affiliates, integrations

# SQLite: the trigram index of the search texts (migrations 0010, 0016), and how many rows a word may be in to be
# looked up there. A rarer word's rows are read by id; a commoner one walks the list order, where its rows come soon.
SEARCH_INDEX = table("integrations_fts", column("rowid"), column("search_text"))
RARE_ROWS = 200
_HAS_SEARCH_INDEX = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'integrations_fts'")


@dataclass(frozen=True)
class IntegrationFilter:
    flow: str | None = None
    statuses: tuple[str, ...] = ()
    affiliates: tuple[str, ...] = ()  # affiliate codes
    categories: tuple[str, ...] = ()
    date_from: datetime | None = None  # processed_at >= date_from
    date_to: datetime | None = None  # processed_at < date_to
    entity_prefix: str | None = None  # id or SKU prefix
    words: str | None = None  # words of the message, its category's name (any accents, case or word form)
    cause: str | None = None  # one group of the causes view (the normalised message)
    extra: dict[str, Any] = field(default_factory=dict)

    def conditions_on(self, conn: Connection, account_id: int) -> list[ColumnElement[bool]]:
        """`conditions`, for a query about to run on `conn`.

        A word search on SQLite is narrowed to the rows the trigram index names, when the words are rare
        (`rows_that_may_hold`): it walked the list order to the end for a word no message holds.

        A word search on PostgreSQL gets a plan made for its words. psycopg prepares a statement after five
        runs, and PostgreSQL then settles on a generic plan that cannot know whether a word is rare: it walked
        the list order through the whole account (50 ms at 62,000 integrations) where the trigram index of
        migration 0008 answers in 2 ms. So `conn` prepares nothing until it goes back to the pool.
        """
        if self.words and conn.dialect.name == "postgresql":
            plan_for_values(conn)
        where = self.conditions(account_id)
        if self.words and conn.dialect.name == "sqlite":
            rows = rows_that_may_hold(conn, self.words.replace("\x00", ""))
            if rows == []:
                # A constant false, which SQLite checks once: an empty IN list is a subquery to it, and the
                # list order was walked to the end again, testing it on every row (0.1 s at a million).
                where.append(false())
            elif rows is not None:
                where.append(integrations.c.id.in_(rows))
        return where

    def conditions(self, account_id: int) -> list[ColumnElement[bool]]:
        """SQL conditions on `integrations` for this filter, always scoped to the account."""
        if _has_nul(self):
            # PostgreSQL refuses NUL in text parameters (a 500); stored text never holds one, so drop them.
            return _without_nul(self).conditions(account_id)
        i = integrations.c
        where: list[ColumnElement[bool]] = [i.account_id == account_id]
        if self.flow:
            where.append(i.flow == self.flow)
        if self.statuses:
            where.append(i.status.in_(self.statuses))
        if self.affiliates:
            codes = select(affiliates.c.id).where(
                affiliates.c.account_id == account_id, affiliates.c.code.in_(self.affiliates)
            )
            # One affiliate (the common case) as `= (scalar subquery)`: both planners then treat it as a
            # constant and walk the (flow, affiliate, status) index, instead of filtering another index's rows.
            one = len(self.affiliates) == 1
            where.append(i.affiliate_id == codes.scalar_subquery() if one else i.affiliate_id.in_(codes))
        if self.categories:
            where.append(i.category.in_(self.categories))
        if self.date_from:
            where.append(i.processed_at >= self.date_from)
        if self.date_to:
            where.append(i.processed_at < self.date_to)
        if self.entity_prefix:
            where.append(StartsWith(i.entity, self.entity_prefix))
        if self.cause is not None:
            # Rows recorded before causes existed group by their raw message (as the causes view does).
            where.append(func.coalesce(i.cause, i.message) == self.cause)
        if self.words:
            # search_text is folded and stemmed (ponte.knowledge.wordsearch): each word's stem must be in it.
            terms = search_terms(self.words)
            if terms:
                where.append(and_(*[i.search_text.like(f"%{_escape_like(t)}%", escape="\\") for t in terms]))
        return where


def rows_that_may_hold(conn: Connection, words: str) -> list[int] | None:
    """SQLite: the ids of the integrations whose search texts may hold every searched stem of three or more
    characters, from the trigram index; None when it cannot tell (no such stem, no index) or when RARE_ROWS or more
    may.

    The index only narrows: the words' own conditions still decide which of the rows it names match. Its
    triggers keep it in step with every write of a search text (tests/test_filters.py checks it with FTS5's own
    integrity check), for a row it missed would be missing from the answer.
    """
    # A trigram index cannot serve a shorter term; LIKE's wildcards and escape are kept out of its patterns.
    terms = [w for w in search_terms(words) if len(w) >= 3 and not any(c in w for c in "%_\\")]
    if not terms or conn.execute(_HAS_SEARCH_INDEX).first() is None:
        return None
    query = select(SEARCH_INDEX.c.rowid).where(*(SEARCH_INDEX.c.search_text.like(f"%{w}%") for w in terms))
    ids = [int(i) for i in conn.execute(query.limit(RARE_ROWS)).scalars()]
    return ids if len(ids) < RARE_ROWS else None


class StartsWith(ColumnElement[bool]):
    """`column` begins with `prefix`, written so that each database's index can serve it.

    PostgreSQL: `LIKE 'prefix%'` (served by the varchar_pattern_ops index). SQLite cannot use an index for a
    bound LIKE pattern, so there it is the range `prefix <= column < prefix + U+10FFFF` (binary collation).
    """

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison already: SQLite must not get "= 1" after it
    # Both parts belong to the statement cache key, so another prefix never reuses a compiled form.
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy declares it as a plain class attribute
        ("column", InternalTraversal.dp_clauseelement),
        ("prefix", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[str], prefix: str) -> None:
        self.column = column
        self.prefix = prefix


@compiles(StartsWith)
def _starts_with_like(element: StartsWith, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.startswith(element.prefix, autoescape=True), **kw))


@compiles(StartsWith, "sqlite")
def _starts_with_range(element: StartsWith, compiler: Any, **kw: Any) -> str:
    upper = element.prefix + "\U0010ffff"
    return str(compiler.process(and_(element.column >= element.prefix, element.column < upper), **kw))


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_nul(filt: IntegrationFilter) -> bool:
    texts = [filt.flow, filt.entity_prefix, filt.words, *filt.statuses, *filt.affiliates, *filt.categories]
    return any(t and "\x00" in t for t in texts)


def _without_nul(filt: IntegrationFilter) -> IntegrationFilter:
    def clean(text: str | None) -> str | None:
        return None if text is None else text.replace("\x00", "")

    def each(texts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(t.replace("\x00", "") for t in texts)

    return replace(
        filt,
        flow=clean(filt.flow),
        entity_prefix=clean(filt.entity_prefix),
        words=clean(filt.words),
        statuses=each(filt.statuses),
        affiliates=each(filt.affiliates),
        categories=each(filt.categories),
    )
