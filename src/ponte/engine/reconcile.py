"""Reconciliation: read back what each marketplace holds, compare it with the store, record and repair the drift.

A pass reads an affiliate's listings through its connector (`Connector.read_listings`), page by page, with a
context whose rate limits only spend spare quota (engine.ratelimits.SpareLimits): a busy queue of sends stops the
reads, an idle one lets them go at the whole rate. Each page is compared in one transaction: a difference is a
drift (store/reconcile.py) of one kind — stock higher on the marketplace than in the store (it oversells), stock
lower, price, a listing paused or closed outside Ponte, a listing missing, a listing Ponte does not know. A kind the
account repairs (stock higher by default) marks the integration that puts it right pending, with the trigger
"reconciliation", so that the history shows why it was sent.

A full pass reads everything (what a complete one did not see is missing); a focused one reads the listings whose
price or stock was sent lately or whose stock is low. Passes run in slices: a worker holds an affiliate's pass with
a lease for a few pages, then gives it back, so that a pass over 100,000 listings never holds a worker for long.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from ponte.clock import now as clock_now
from ponte.connectors.base import Connector, HeldListing, ReadBack, ReadRequest
from ponte.connectors.capabilities import reads_back
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked, Deferred
from ponte.connectors.registry import get_connector_class
from ponte.domain import Status, Trigger
from ponte.engine.connectors import connector_for
from ponte.engine.payloads import min_availability_rule
from ponte.metrics import DRIFTS_FOUND, DRIFTS_REPAIRED
from ponte.secrets import SecretBox
from ponte.settings import Settings
from ponte.store import reconcile as store
from ponte.store.affiliates import Affiliate, enabled_affiliates
from ponte.store.db import Database
from ponte.store.queue import mark_changed
from ponte.store.reconcile import Drift, ReconcileSettings

log = logging.getLogger("ponte.reconcile")

LEASE = timedelta(minutes=10)
PAGES_PER_SLICE = 50  # pages a worker reads before it gives the pass back (a scan page is 100 listings)
SLICE_SECONDS = 20.0  # …or this long, whichever comes first: a stopping worker waits for the slice it runs
FOCUS_LIMIT = 1_000  # listings a focused pass reads at most
RETRY_AFTER_ERROR = timedelta(minutes=15)
ACTOR = "reconciliation"
CENT = Decimal("0.01")  # prices closer than this are the same price


@dataclass
class SliceReport:
    """What one slice of a pass did."""

    affiliate_id: int
    mode: str
    read: int = 0
    found: Counter[str] = field(default_factory=Counter)  # drifts newly open, by kind
    repaired: Counter[str] = field(default_factory=Counter)  # repairs queued, by kind
    done: bool = False
    deferred: float | None = None
    error: str | None = None


# -- comparing ---------------------------------------------------------------------------------------------


@dataclass
class StoreView:
    """What the store says of the SKUs of a page, what Ponte is sending, and (for the SKUs that drift) what it last
    sent."""

    listing_skus: dict[str, str]  # listing id → SKU, for the listings Ponte keeps
    skus: dict[str, store.SkuFact]  # SKU → price, active, available stock
    offered: dict[str, int]  # SKU → the stock a send would offer now (after the minimum-availability rule)
    states: dict[tuple[str, str], str]  # (flow, SKU) → the integration's status
    sent: dict[tuple[str, str], Any] = field(default_factory=dict)  # (flow, SKU) → last_sent, where read


def store_view(conn: Connection, affiliate: Affiliate, held: Sequence[HeldListing], ids: Sequence[str]) -> StoreView:
    """The store's side of a page. A page of thousands reads the affiliate's rows whole rather than through IN
    lists of that length."""
    if len(ids) > store.WHOLE:
        view = whole_view(conn, affiliate)
        add_outsiders(conn, affiliate, view, held)
        return view
    listing_skus = store.listing_skus(conn, affiliate_id=affiliate.id, listing_ids=[*ids])
    codes = sorted(set(listing_skus.values()) | {h.sku for h in held if h.sku})
    skus = store.sku_facts(conn, account_id=affiliate.account_id, codes=codes)
    states = store.integration_statuses(conn, account_id=affiliate.account_id, affiliate_id=affiliate.id, codes=codes)
    rule = affiliate.min_availability
    offered = {code: min_availability_rule(fact.available, rule)[0] for code, fact in skus.items()}
    return StoreView(listing_skus, skus, offered, states)


def add_outsiders(conn: Connection, affiliate: Affiliate, view: StoreView, held: Sequence[HeldListing]) -> None:
    """Into a whole view: the store's facts of the held listings' SKUs the affiliate never had (a listing made
    outside Ponte of a SKU the store has)."""
    others = sorted({h.sku for h in held if h.sku and h.sku not in view.skus})
    if not others:
        return
    extra = store.sku_facts(conn, account_id=affiliate.account_id, codes=others)
    rule = affiliate.min_availability
    view.skus.update(extra)
    view.offered.update({code: min_availability_rule(f.available, rule)[0] for code, f in extra.items()})


def whole_view(conn: Connection, affiliate: Affiliate) -> StoreView:
    """The store's side of every listing of the affiliate."""
    listing_skus, skus = store.whole_shop(conn, account_id=affiliate.account_id, affiliate_id=affiliate.id)
    states = store.integration_statuses(conn, account_id=affiliate.account_id, affiliate_id=affiliate.id, codes=None)
    rule = affiliate.min_availability
    offered = {code: min_availability_rule(fact.available, rule)[0] for code, fact in skus.items()}
    return StoreView(listing_skus, skus, offered, states)


def _sent(view: StoreView, flow: str, sku: str, key: str) -> Any:
    sent = view.sent.get((flow, sku))
    return sent.get(key) if isinstance(sent, dict) else None


def _pending(view: StoreView, flow: str, sku: str) -> bool:
    return view.states.get((flow, sku)) == Status.PENDING.value


def _known_by_sku(view: StoreView, sku: str | None) -> bool:
    """A listing Ponte keeps no id of, whose SKU Ponte sends to this marketplace all the same (a Mirakl offer is
    addressed by its shop SKU)."""
    if not sku or sku not in view.skus:
        return False
    return any(
        view.states.get((flow, sku)) in (Status.SUCCESS.value, Status.WARNING.value) for flow in ("price", "inventory")
    )


def _why(held: HeldListing, sent: Any, now_value: Any) -> str:
    """The likely cause, as a word of the Drift page's vocabulary (`drift.cause.<word>`): the marketplace's own
    reason where it gives one, else whether it changed there or the store changed since Ponte's last send."""
    if held.cause:
        return held.cause
    if sent is not None and str(sent) != str(now_value):
        return "changed_after_send"
    if sent is not None:
        return "store_changed"
    return "changed_there"


def compare(held: HeldListing, sku: str, view: StoreView) -> list[Drift]:
    """The drifts of one listing Ponte knows."""
    row = view.skus.get(sku)
    if row is None:  # the SKU left the store's catalogue: nothing to hold the listing to
        return []
    found: list[Drift] = []
    store_qty = view.offered.get(sku, 0)
    if held.quantity is not None and held.quantity != store_qty and not _pending(view, "inventory", sku):
        kind = "stock_higher" if held.quantity > store_qty else "stock_lower"
        sent = _sent(view, "inventory", sku, "quantity")
        found.append(
            Drift(
                held.listing_id,
                sku,
                kind,
                str(store_qty),
                _text(sent),
                str(held.quantity),
                _why(held, sent, held.quantity),
            )
        )
    price = row.price
    differs = held.price is not None and price is not None and abs(held.price - Decimal(price)) >= CENT
    if differs and not _pending(view, "price", sku):
        sent = _sent(view, "price", sku, "price")
        found.append(
            Drift(
                held.listing_id,
                sku,
                "price",
                str(price),
                _text(sent),
                str(held.price),
                _why(held, sent, held.price),
            )
        )
    selling = held.status in ("active", "under_review")
    if selling != bool(row.active) and held.status != "under_review" and not _pending(view, "product", sku):
        store_status = "active" if row.active else "inactive"
        cause = held.cause or ("paused_outside" if row.active else "active_not_in_store")
        found.append(Drift(held.listing_id, sku, "status", store_status, None, held.status, cause))
    return found


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def compare_page(conn: Connection, affiliate: Affiliate, page: ReadBack) -> tuple[list[Drift], list[str]]:
    """The drifts of a page read back, and the listing ids it looked at (to resolve what it no longer finds)."""
    ids = [h.listing_id for h in page.listings]
    view = store_view(conn, affiliate, page.listings, [*ids, *page.missing])
    return with_causes(conn, affiliate, _compared(page, view), page.listings, view), [*ids, *page.missing]


def with_causes(
    conn: Connection, affiliate: Affiliate, drifts: list[Drift], held: Sequence[HeldListing], view: StoreView
) -> list[Drift]:
    """The drifts again, those of stock and price with what Ponte last sent (read for these few only: it tells the
    likely cause). `held` holds at least the listings that drift."""
    drifting = sorted({d.sku for d in drifts if d.sku and d.kind in ("stock_higher", "stock_lower", "price")})
    if not drifting:
        return drifts
    view.sent = store.last_sent(conn, account_id=affiliate.account_id, affiliate_id=affiliate.id, codes=drifting)
    again = {d.listing_id for d in drifts if d.sku in drifting}
    kept = [d for d in drifts if d.listing_id not in again]
    return kept + _compared(ReadBack([h for h in held if h.listing_id in again]), view)


MARK_EVERY = 20_000  # streamed listings marked as seen in one write


class StreamedComparison:
    """A whole shop compared while its file downloads: each batch of listings the connector hands over (its
    request's `sink`) is compared at once with the store's side, read meanwhile in another thread."""

    def __init__(self, db: Database, affiliate: Affiliate, whole: Future[StoreView]) -> None:
        self.db, self.affiliate, self.whole = db, affiliate, whole
        self.drifts: list[Drift] = []
        self.held: list[HeldListing] = []  # the listings that drift (their causes are read at the end)
        self.looked_at: list[str] = []
        self.waiting: list[list[HeldListing]] = []  # batches that came before the store's side was read
        self.unmarked: list[str] = []  # streamed listings not yet marked as seen

    def take(self, batch: list[HeldListing]) -> None:
        """A batch as it arrives: marked as seen, and compared now if the store's side is read, else kept until it
        is (the download does not wait for the database). Marking 100,000 listings after the last batch was a
        tenth of a second the download could have hidden."""
        self.unmarked += [h.listing_id for h in batch]
        if len(self.unmarked) >= MARK_EVERY:  # a write every 20,000: each holds the download up while it commits
            with self.db.write() as conn:
                store.mark_checked(conn, affiliate_id=self.affiliate.id, listing_ids=self.unmarked, now=clock_now())
            self.unmarked = []
        self.waiting.append(batch)
        if self.whole.done():
            self._compare_waiting()

    def _compare_waiting(self) -> None:
        waiting, self.waiting = self.waiting, []
        for batch in waiting:
            self._compare(batch)

    def _compare(self, batch: list[HeldListing]) -> None:
        view = self.view
        if any(h.sku and h.sku not in view.skus for h in batch):
            with self.db.read() as conn:
                add_outsiders(conn, self.affiliate, view, batch)
        found = _compared(ReadBack(batch), view)
        drifting = {d.listing_id for d in found}
        self.held += [h for h in batch if h.listing_id in drifting]
        self.drifts += found
        self.looked_at += [h.listing_id for h in batch]

    @property
    def view(self) -> StoreView:
        return self.whole.result()

    def finish(self, conn: Connection, page: ReadBack) -> tuple[list[Drift], list[str]]:
        """The drifts of the whole read (what it held and kept as well as what it streamed, and what it no longer
        lists) and every listing id it looked at."""
        self._compare_waiting()
        found = self.drifts + _compared(page, self.view)
        held = [*self.held, *page.listings]
        looked_at = [*self.looked_at, *(h.listing_id for h in page.listings), *page.missing]
        return with_causes(conn, self.affiliate, found, held, self.view), looked_at


def _compared(page: ReadBack, view: StoreView) -> list[Drift]:
    drifts: list[Drift] = []
    for held in page.listings:
        sku = view.listing_skus.get(held.listing_id)
        if sku is not None:
            drifts += compare(held, sku, view)
        elif _known_by_sku(view, held.sku):
            drifts += compare(held, str(held.sku), view)
        else:
            in_store = held.sku in view.skus if held.sku else False
            cause = "listed_outside" if in_store else "not_in_catalogue"
            drifts.append(Drift(held.listing_id, held.sku, "unknown", None, None, held.status, held.cause or cause))
    for listing_id in page.missing:
        sku = view.listing_skus.get(listing_id)
        if sku is not None:
            drifts.append(Drift(listing_id, sku, "missing", "listed", None, "missing", "not_found"))
    return drifts


# -- recording and repairing ------------------------------------------------------------------------------


def apply_drifts(
    conn: Connection,
    *,
    affiliate: Affiliate,
    connector: type[Connector],
    found: list[Drift],
    looked_at: Sequence[str],
    settings: ReconcileSettings,
    now: datetime,
    report: SliceReport,
) -> None:
    """Record the drifts found among `looked_at`, resolve those no longer there, queue the repairs the account
    wants."""
    opened = set(
        store.record_drifts(conn, account_id=affiliate.account_id, affiliate_id=affiliate.id, found=found, now=now)
    )
    keep = {(d.listing_id, d.kind) for d in found}
    store.resolve_drifts(conn, affiliate_id=affiliate.id, listing_ids=looked_at, keep=keep, now=now)
    rows = {(r.listing_id, r.kind): r for r in _open_rows(conn, affiliate, found)}
    repairs: dict[str, set[str]] = {}
    repaired_ids: list[int] = []
    for drift in found:
        row = rows.get((drift.listing_id, drift.kind))
        if row is None:
            continue
        if row.id in opened:
            report.found[drift.kind] += 1
            DRIFTS_FOUND.labels(affiliate.code, drift.kind).inc()
        flows = connector.repairs.get(drift.kind, ())
        # Repaired once per pass: a drift still there after its repair is repaired again by the next pass.
        again = row.status == "open" or (row.repaired_at is not None and row.repaired_at < now - timedelta(minutes=1))
        if drift.sku and flows and settings.repairs(drift.kind) and again:
            for flow in flows:
                repairs.setdefault(flow, set()).add(drift.sku)
            repaired_ids.append(row.id)
            report.repaired[drift.kind] += 1
            DRIFTS_REPAIRED.labels(affiliate.code, drift.kind).inc()
            if drift.kind == "status":
                # The connector's next product send learns what the marketplace holds (a paused one is reactivated).
                store.note_held_status(conn, affiliate_id=affiliate.id, listing_id=drift.listing_id,
                                       status=drift.held_value)  # fmt: skip
    for flow, codes in sorted(repairs.items()):
        mark_changed(
            conn, account_id=affiliate.account_id, flow=flow, keys=[(affiliate.id, c) for c in sorted(codes)],
            trigger=Trigger.RECONCILIATION, actor=ACTOR, now=now,
        )  # fmt: skip
    store.mark_repairing(conn, ids=repaired_ids, now=now)


def _open_rows(conn: Connection, affiliate: Affiliate, found: list[Drift]) -> list[store.DriftRow]:
    if not found:
        return []
    listing_ids = sorted({d.listing_id for d in found})
    return store.list_drifts(
        conn, account_id=affiliate.account_id, affiliate_id=affiliate.id, listing_ids=listing_ids, limit=None
    )


# -- passes ------------------------------------------------------------------------------------------------


class Reconciler:
    """Runs reconciliation passes for the affiliates whose connectors read back."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        box: SecretBox,
        *,
        owner: str,
        sends_waiting: Callable[[], bool] | None = None,
    ) -> None:
        self.db = db
        # Whether sends are waiting in this process (the worker's queue): a slice then stops after the page it
        # read, so that reading and comparing thousands of listings never holds back a repricing's sends.
        self.sends_waiting = sends_waiting
        self.settings = settings
        self.box = box
        self.owner = owner
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ponte-reconcile")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run_due(self, *, now: datetime | None = None) -> int:
        """A slice of every pass due (starting the passes whose time has come); returns the listings read."""
        at = now or clock_now()
        read = 0
        for affiliate in self._affiliates():
            try:
                read += self._due_slice(affiliate, at)
            except Exception:  # one store's broken settings never stop another's reconciliation
                log.exception("reconciliation of affiliate %s failed", affiliate.code)
        return read

    def _due_slice(self, affiliate: Affiliate, at: datetime) -> int:
        with self.db.read() as conn:
            state = store.passes_of(conn, [affiliate.id]).get(affiliate.id)
            config = store.get_settings(conn, account_id=affiliate.account_id)
        mode = _mode_due(state, config, at)
        if mode is None:
            return 0
        return self.run_slice(affiliate, mode=mode, now=at).read

    def run_pass(self, affiliate: Affiliate, *, mode: str = "full", slices: int = 1_000) -> list[SliceReport]:
        """Start a pass of `mode` (unless one is under way) and run it to its end or until it must wait (tests, the
        "Verificar agora" button, the CLI)."""
        reports = []
        for _ in range(slices):
            report = self.run_slice(affiliate, mode=mode)
            reports.append(report)
            if report.done or report.deferred is not None or report.error:
                break
        return reports

    def run_slice(self, affiliate: Affiliate, *, mode: str, now: datetime | None = None) -> SliceReport:
        at = now or clock_now()
        with self.db.write() as conn:
            if not store.lease_pass(
                conn, affiliate_id=affiliate.id, account_id=affiliate.account_id, owner=self.owner,
                until=at + LEASE, now=at,
            ):  # fmt: skip
                held = SliceReport(affiliate.id, mode)
                held.deferred = LEASE.total_seconds()  # another worker reads this pass now
                return held
            state = store.passes_of(conn, [affiliate.id])[affiliate.id]
            config = store.get_settings(conn, account_id=affiliate.account_id)
            if state.mode is None:
                state = self._start(conn, affiliate, mode, state, config, at)
        return self._read(affiliate, state, config)

    def _start(
        self, conn: Connection, affiliate: Affiliate, mode: str, state: store.PassRow, config: ReconcileSettings,
        at: datetime,
    ) -> store.PassRow:  # fmt: skip
        ids: tuple[str, ...] = ()
        last = state.last_focused_at or state.last_full_at
        if mode == "focused" and not get_connector_class(affiliate.connector).reads_changes_since:
            since = last or at - timedelta(minutes=config.focused_every_minutes)
            ids = tuple(_focus(conn, affiliate, since=since, low_stock=config.low_stock))
        values = {
            "mode": mode, "cursor": None, "started_at": at, "due_at": at, "read_count": 0, "found_count": 0,
            "listing_ids": list(ids), "since": last if mode == "focused" else None,
        }  # fmt: skip
        store.update_pass(conn, affiliate_id=affiliate.id, values=values)
        return store.passes_of(conn, [affiliate.id])[affiliate.id]

    def _read(self, affiliate: Affiliate, state: store.PassRow, config: ReconcileSettings) -> SliceReport:
        mode = str(state.mode)
        report = SliceReport(affiliate.id, mode)
        cursor, ids = state.cursor, list(state.listing_ids)
        values: dict[str, Any] = {}
        try:
            connector = connector_for(affiliate, db=self.db, box=self.box, settings=self.settings, low_priority=True)
        except Exception as exc:
            return self._failed(affiliate, state, report, f"{type(exc).__name__}: {exc}")
        started = time.monotonic()
        try:
            for page_number in range(PAGES_PER_SLICE):
                if time.monotonic() - started > SLICE_SECONDS:
                    break
                if page_number and self.sends_waiting is not None and self.sends_waiting():
                    break
                chunk = tuple(ids[:100])
                request = ReadRequest(mode="full" if mode == "full" else "focused", cursor=cursor, listing_ids=chunk,
                                      since=state.since)  # fmt: skip
                prefetch = self._prefetch(affiliate, connector, request)
                streamed = StreamedComparison(self.db, affiliate, prefetch) if prefetch is not None else None
                if streamed is not None:
                    request = replace(request, sink=streamed.take)
                page = connector.read_listings(request)
                if page.outcome is not None:
                    return self._failed(affiliate, state, report, page.outcome.message, cursor=cursor)
                self._compare(affiliate, type(connector), page, config, report, streamed=streamed)
                if mode == "full":
                    cursor = page.cursor
                    finished = cursor is None
                else:
                    ids = ids[len(chunk) :]
                    cursor = page.cursor
                    finished = (not ids and cursor is None) or (not chunk and cursor is None)
                if finished:
                    if mode == "full" and page.complete:
                        self._missing(affiliate, state, config, report)
                    report.done = True
                    break
        except Deferred as deferred:
            report.deferred = deferred.seconds
            values["due_at"] = clock_now() + timedelta(seconds=deferred.seconds)
        except (CredentialsMissing, CredentialsRevoked) as exc:
            return self._failed(affiliate, state, report, str(exc), cursor=cursor)
        finally:
            connector.close()
        at = clock_now()
        values |= {
            "cursor": cursor, "listing_ids": ids, "read_count": state.read_count + report.read,
            "found_count": state.found_count + sum(report.found.values()), "last_error": None,
        }  # fmt: skip
        if report.done:
            values |= {"mode": None, "cursor": None, "listing_ids": [], "due_at": None}
            values["last_full_at" if mode == "full" else "last_focused_at"] = state.started_at or at
        with self.db.write() as conn:
            store.save_pass(conn, affiliate_id=affiliate.id, owner=self.owner, values=values)
        return report

    def _prefetch(self, affiliate: Affiliate, connector: Connector, request: ReadRequest) -> Future[StoreView] | None:
        """A connector that reads the whole shop in one answer (Mirakl's OF51) keeps Ponte waiting for the file:
        the store's side is read meanwhile, in another thread, and the listings compared as they arrive."""
        if request.mode != "full" or not connector.reads_whole_shop:
            return None
        return self._pool.submit(self._whole_view, affiliate)

    def _whole_view(self, affiliate: Affiliate) -> StoreView:
        with self.db.read() as conn:
            return whole_view(conn, affiliate)

    def _compare(
        self, affiliate: Affiliate, connector: type[Connector], page: ReadBack, config: ReconcileSettings,
        report: SliceReport, streamed: StreamedComparison | None = None,
    ) -> None:  # fmt: skip
        at = clock_now()
        with self.db.write() as conn:
            if streamed is not None:
                found, looked_at = streamed.finish(conn, page)
                held = [*streamed.unmarked, *(h.listing_id for h in page.listings)]  # the rest was marked as it came
            else:
                found, looked_at = compare_page(conn, affiliate, page)
                held = looked_at[: len(looked_at) - len(page.missing)]  # the ids looked at end with those gone
            store.mark_checked(conn, affiliate_id=affiliate.id, listing_ids=held, now=at)
            apply_drifts(
                conn, affiliate=affiliate, connector=connector, found=found, looked_at=looked_at, settings=config,
                now=at, report=report,
            )  # fmt: skip
        report.read += len(page.listings) + page.streamed

    def _missing(
        self, affiliate: Affiliate, state: store.PassRow, config: ReconcileSettings, report: SliceReport
    ) -> None:
        """After a complete full pass: the listings Ponte keeps that no page held are missing on the marketplace."""
        started = state.started_at or clock_now()
        with self.db.write() as conn:
            gone = store.unchecked_listings(conn, affiliate_id=affiliate.id, before=started)
            if not gone:
                return
            view = store_view(conn, affiliate, [], [listing_id for listing_id, _ in gone])
            found = [
                Drift(listing_id, sku, "missing", "listed", None, "missing", "not_found")
                for listing_id, sku in gone
                if sku in view.skus and not _pending(view, "product", sku)
            ]
            apply_drifts(
                conn, affiliate=affiliate, connector=get_connector_class(affiliate.connector), found=found, looked_at=[d.listing_id for d in found],
                settings=config, now=clock_now(), report=report,
            )  # fmt: skip

    def _failed(
        self, affiliate: Affiliate, state: store.PassRow, report: SliceReport, message: str, cursor: str | None = None
    ) -> SliceReport:
        report.error = message[:500]
        log.warning("reconciliation of %s stopped: %s", affiliate.code, report.error)
        with self.db.write() as conn:
            store.save_pass(
                conn, affiliate_id=affiliate.id, owner=self.owner,
                values={"last_error": report.error, "due_at": clock_now() + RETRY_AFTER_ERROR, "cursor": cursor,
                        "read_count": state.read_count + report.read},
            )  # fmt: skip
        return report

    def _affiliates(self) -> list[Affiliate]:
        with self.db.read() as conn:
            found = enabled_affiliates(conn)
        return [a for a in found if a.kind == "marketplace" and reads_back(a.connector)]


def _mode_due(state: store.PassRow | None, config: ReconcileSettings, at: datetime) -> str | None:
    """The pass to run now: the one under way when due, else a full one when the last is older than the account's
    interval, else a focused one when that interval has passed."""
    if state is not None and state.mode is not None:
        return state.mode if state.due_at is None or state.due_at <= at else None
    if state is not None and state.due_at is not None and state.due_at > at:  # waiting after an error
        return None
    last_full = state.last_full_at if state else None
    if last_full is None or at - last_full >= timedelta(hours=config.full_every_hours):
        return "full"
    last_focused = (state.last_focused_at if state else None) or last_full
    if at - last_focused >= timedelta(minutes=config.focused_every_minutes):
        return "focused"
    return None


def _focus(conn: Connection, affiliate: Affiliate, *, since: datetime, low_stock: int) -> list[str]:
    """The listings a focused pass reads: those whose price or stock was sent since `since`, then low-stock ones."""
    recent = store.focus_candidates(
        conn, account_id=affiliate.account_id, affiliate_id=affiliate.id, sent_since=since, limit=FOCUS_LIMIT
    )
    low = store.low_stock_listings(
        conn, account_id=affiliate.account_id, affiliate_id=affiliate.id, at_most=low_stock, limit=FOCUS_LIMIT
    )
    return list(dict.fromkeys([*recent, *low]))[:FOCUS_LIMIT]
