"""The consistency check every chaos run ends with: what was lost, duplicated or stuck (see `bench.chaos`)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from ponte.clock import now
from ponte.store.db import Database
from ponte.store.tables import attempts, integrations, skus, stock

CATALOG_FLOWS = ("product", "price", "inventory")
FINAL = ("success", "warning", "error")


@dataclass
class Report:
    scenario: str
    db: str
    ops: int = 0
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.stuck or self.problems)

    def line(self) -> str:
        return (
            f"CHAOS {self.scenario} {self.db} ops={self.ops} faults={self.faults} "
            f"lost={self.lost} duplicated={self.duplicated} stuck={self.stuck}"
        )


def check_run(
    db: Database,
    account: int,
    codes: list[str],
    listings: Callable[[], dict[str, dict[str, Any]]],
    report: Report,
    *,
    expect_success: bool = True,
) -> Report:
    """Count what was lost, duplicated or stuck (see the package docstring) into `report`: the store's
    integrations and attempts of `account`, its SKUs `codes`, and the marketplace's own `listings()`."""
    with db.read() as conn:
        rows = conn.execute(select(integrations)).all()
        tries = conn.execute(
            select(attempts.c.integration_id, attempts.c.started_at, attempts.c.duration_ms, attempts.c.status)
        ).all()
        store = _store_view(conn, account)
    by_row: dict[int, list[Any]] = defaultdict(list)
    for attempt in tries:
        by_row[attempt.integration_id].append(attempt)
    report.ops = len(tries)
    keys = {(r.flow, r.entity) for r in rows}
    report.lost += sum(1 for code in codes for flow in CATALOG_FLOWS if (flow, code) not in keys)
    listed = listings()
    moment = now()
    for row in rows:
        _check_row(report, row, by_row[row.id], moment, expect_success)
        sent = row.status in ("success", "warning") and row.flow in CATALOG_FLOWS
        if sent and not _listing_matches(row.flow, store.get(row.entity), listed.get(row.entity)):
            report.lost += 1
            report.problems.append(f"{row.flow} {row.entity}: the marketplace does not hold the newest data")
    del report.problems[20:]  # the first few say enough
    return report


def _store_view(conn: Any, account_id: int) -> dict[str, dict[str, Any]]:
    available = func.coalesce(func.sum(stock.c.quantity - stock.c.reserved), 0)
    quantities = dict(conn.execute(select(stock.c.sku_id, available).group_by(stock.c.sku_id)).all())
    view = {}
    for r in conn.execute(
        select(skus.c.id, skus.c.sku, skus.c.name, skus.c.price).where(skus.c.account_id == account_id)
    ):
        view[r.sku] = {"name": r.name, "price": float(r.price), "quantity": max(0, int(quantities.get(r.id, 0)))}
    return view


def _listing_matches(flow: str, store: dict[str, Any] | None, listing: dict[str, Any] | None) -> bool:
    if store is None or listing is None:
        return False
    if flow == "product":
        return bool(listing["name"] == store["name"])
    if flow == "price":
        return listing["price"] is not None and abs(float(listing["price"]) - store["price"]) < 0.005
    return bool(listing["quantity"] == store["quantity"])


def _check_row(report: Report, row: Any, tries: list[Any], moment: Any, expect_success: bool) -> None:
    if row.attempt_count > len(tries):
        report.lost += row.attempt_count - len(tries)
        report.problems.append(f"{row.flow} {row.entity}: {row.attempt_count} attempts counted, {len(tries)} rows")
    elif row.attempt_count < len(tries):
        report.duplicated += len(tries) - row.attempt_count
        report.problems.append(f"{row.flow} {row.entity}: {len(tries)} attempt rows, {row.attempt_count} counted")
    ordered = sorted(tries, key=lambda a: a.started_at)
    for before, after in itertools.pairwise(ordered):
        if after.started_at < before.started_at + timedelta(milliseconds=before.duration_ms):
            report.duplicated += 1
            report.problems.append(f"{row.flow} {row.entity}: two attempts ran at once")
    if row.status in FINAL and not tries:
        report.lost += 1
        report.problems.append(f"{row.flow} {row.entity}: {row.status} without any attempt")
    if row.status == "pending":
        expired = row.lease_until is not None and row.lease_until < moment
        overdue = row.due_at is not None and row.due_at < moment - timedelta(seconds=10)
        report.stuck += int(expired or overdue)
    elif row.status not in FINAL:
        report.problems.append(f"{row.flow} {row.entity}: unknown status {row.status}")
    if expect_success and row.status == "error":
        report.problems.append(f"{row.flow} {row.entity}: error {row.category}: {(row.message or '')[:120]}")
