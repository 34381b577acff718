"""Order feeds: a safety-net poll of each marketplace's orders, at the interval its connector declares,
claimed by one worker per affiliate per interval, resuming where the last read stopped.

Each affiliate is read in its own try: one store's broken settings, revoked grant or failing marketplace is
logged on that affiliate and the loop goes on to the others.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy import Connection, Table

from ponte.clock import now
from ponte.connectors.base import CallFailed, Connector, FetchedOrders, Outcome
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked, Deferred
from ponte.connectors.registry import get_connector_class
from ponte.domain import Flow, Status
from ponte.engine.intake import record_incoming
from ponte.store.affiliates import Affiliate, enabled_affiliates
from ponte.store.db import Database
from ponte.store.feeds import claim_feed, save_cursor
from ponte.store.tables import feed_cursors

log = logging.getLogger("ponte.worker")

MAX_PAGES = 20  # pages read per affiliate per poll: a long backlog is read over several polls


def _feed_interval(affiliate: Affiliate) -> float | None:
    try:
        cls = get_connector_class(affiliate.connector)
    except LookupError:
        return None
    if affiliate.kind != "marketplace" or Flow.ORDER.value not in cls.flows:
        return None
    return cls.order_poll_every


def poll_order_feeds(db: Database, connector_for: Callable[[Affiliate], Connector], *, force: bool = False) -> int:
    """Read the order feed of every enabled marketplace whose interval has passed; returns how many orders were new."""
    with db.read() as conn:
        candidates = [(a, every) for a in enabled_affiliates(conn) if (every := _feed_interval(a)) is not None]
    return read_each(candidates, "order feed", lambda a, every: _poll_one(db, a, every, connector_for, force))


def read_each(candidates: list[tuple[Affiliate, float]], what: str, read_one: Callable[[Affiliate, float], int]) -> int:
    """Read one feed (orders, an ERP's invoices) of each affiliate, each on its own: a grant refused, a rate limit
    spent, a failed call or a bug is logged on that affiliate and the loop goes on to the others. Returns the sum."""
    new = 0
    for affiliate, every in candidates:
        try:
            new += read_one(affiliate, every)
        except (CredentialsMissing, CredentialsRevoked) as exc:
            log.info("%s of %s not read: %s", what, affiliate.code, exc)
        except Deferred:
            pass  # its rate limit is spent: the next interval reads it
        except CallFailed as failed:
            log.warning("%s of %s: %s", what, affiliate.code, failed.outcome.message)
        except Exception:  # one affiliate's broken feed or settings must not stop the others
            log.warning("reading the %s of %s failed: %s", what, affiliate.code, traceback.format_exc())
    return new


def _poll_one(
    db: Database, affiliate: Affiliate, every: float, connector_for: Callable[[Affiliate], Connector], force: bool
) -> int:
    def keep(conn: Connection, page: FetchedOrders) -> int:
        return record_incoming(
            conn, affiliate_id=affiliate.id, account_id=affiliate.account_id, code=affiliate.code,
            raw_orders=page.orders,
        )  # fmt: skip

    return read_pages(
        db, affiliate, every, force, "order feed", connector_for, lambda c, cursor: c.fetch_orders(cursor), keep
    )


class Page(Protocol):
    """One page of a feed a connector reads (orders, an ERP's invoices)."""

    @property
    def cursor(self) -> str | None: ...
    @property
    def more(self) -> bool: ...
    @property
    def outcome(self) -> Outcome | None: ...


P = TypeVar("P", bound=Page)


def read_pages(
    db: Database,
    affiliate: Affiliate,
    every: float,
    force: bool,
    what: str,
    connector_for: Callable[[Affiliate], Connector],
    fetch: Callable[[Connector, str | None], P],
    keep: Callable[[Connection, P], int],
    *,
    table: Table = feed_cursors,
    max_pages: int = MAX_PAGES,
    after: Callable[[Connector], object] | None = None,
) -> int:
    """Claim the affiliate's feed for this interval, then read its pages from the saved cursor: each page is kept
    and its cursor saved in one transaction, so a crash reads on from the last page kept. Returns what `keep` counted.
    `table`: where the feed's cursor is kept (another feed of the same affiliate: an ERP's catalog)."""
    with db.write() as conn:
        claimed, cursor = claim_feed(conn, affiliate_id=affiliate.id, every=every, now=now(), force=force, table=table)
    if not claimed:
        return 0
    connector = connector_for(affiliate)
    new = 0
    for _ in range(max_pages):
        page = fetch(connector, cursor)
        if page.outcome is not None and page.outcome.status == Status.ERROR:
            # A 429 is the marketplace pacing the reads, not a fault: the next interval reads on.
            level = logging.INFO if page.outcome.http_status == 429 else logging.WARNING
            log.log(level, "%s of %s: %s", what, affiliate.code, page.outcome.message)
            return new
        with db.write() as conn:
            new += keep(conn, page)
            save_cursor(conn, affiliate_id=affiliate.id, cursor=page.cursor, table=table)
        cursor = page.cursor
        if not page.more:
            break
    if after is not None:  # what else the interval reads with the same connector (an ERP's late tracking codes)
        after(connector)
    return new
