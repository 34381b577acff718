"""The worker: claim due integrations, send them through their connectors, record every attempt.

`run_once()` is one step that returns how many integrations it handled; `run()` is the trivial loop
around it. Tests call the step.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select

from ponte.alerts import evaluate_alerts_when_due
from ponte.clock import now
from ponte.connectors.base import Connector, Outcome
from ponte.domain import Disposition, Flow, Status, Trigger
from ponte.engine import payloads
from ponte.engine.feeds import poll_order_feeds
from ponte.engine.orders import place_order
from ponte.engine.queue import Claim, Result, claim_due, mark_changed, record_results, release
from ponte.engine.retry import next_step
from ponte.knowledge import AccountRule, classify, normalise_message
from ponte.metrics import CLASSIFIER_SECONDS, observe_attempt, timed
from ponte.secrets import SecretBox
from ponte.services.affiliates import connector_for, marketplace_of
from ponte.services.rules import rules_by_account
from ponte.settings import Settings
from ponte.store.counters import fold_status_deltas
from ponte.store.db import Database
from ponte.store.partitions import create_month_partitions, prune_attempts
from ponte.store.tables import affiliates, integrations

log = logging.getLogger("ponte.worker")

# Price and stock need the listing to exist: they wait for a pending product send, then follow it.
DEPENDENT_FLOWS = (Flow.PRICE.value, Flow.INVENTORY.value)
CATALOG_FLOWS = (Flow.PRODUCT.value, *DEPENDENT_FLOWS)  # sends built from the SKU alone (payloads.Catalog)
PRODUCT_WAIT = 0.05  # a held price or stock send is due this long after its product's send
MAINTENANCE_EVERY = 3600.0  # seconds between partition and retention housekeeping
ALERTS_EVERY = 60.0  # seconds between evaluations of the alert rules
# A worker evaluates when no worker has for this long: a little under its own period, so that with one worker
# it is every minute, and with many, whichever comes first after it.
ALERTS_CLAIM = timedelta(seconds=ALERTS_EVERY * 0.9)


def start_window(lease_seconds: float, http_timeout: float) -> float:
    """Seconds after claiming during which a send may still start: it must end (token + request, each bounded
    by the HTTP timeout) before the lease expires, or a second worker could take the row while it runs."""
    return max(lease_seconds * 0.25, lease_seconds - 2.5 * http_timeout)


@dataclass
class Work:
    """One claim carried out: what came back and how long it took."""

    claim: Claim
    affiliate: Row
    outcome: Outcome
    started_at: datetime
    duration_ms: int
    last_sent: Any = None


@dataclass
class Pauses:
    """Affiliates that asked us to slow down (429 + Retry-After): no request to them until the time given."""

    until: dict[int, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pause(self, affiliate_id: int, seconds: float) -> None:
        with self.lock:
            end = now() + timedelta(seconds=seconds)
            self.until[affiliate_id] = max(end, self.until.get(affiliate_id, end))

    def paused_until(self, affiliate_id: int) -> datetime | None:
        end = self.until.get(affiliate_id)
        return end if end and end > now() else None


def _unlisted(claim: Claim, affiliate: Row, product_error: str) -> Work:
    """The attempt of a price or stock send that cannot be made: the marketplace refused the product itself."""
    outcome = Outcome.error(
        f"Not sent: {affiliate.code} has not listed this product yet. Fix the product's error and reprocess it "
        f"(price and stock follow it). Product error: {product_error[:300]}",
        category="sku_not_linked",
        disposition=Disposition.FIX,
        code="product_not_listed",
    )
    return Work(claim, affiliate, outcome, now(), 0)


def system_name(affiliate: Row) -> str:
    return f"{affiliate.code} · {affiliate.name}"


class Worker:
    def __init__(self, db: Database, settings: Settings, *, owner: str | None = None, box: SecretBox | None = None):
        self.db = db
        self.settings = settings
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.box = box or SecretBox.from_environment(settings.secret_key_file)
        self.pauses = Pauses()
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(settings.worker_concurrency, thread_name_prefix="ponte-send")
        self._last_poll = 0.0
        self._last_maintenance = 0.0
        self._last_alerts = 0.0
        self._stop: threading.Event | None = None  # set by run(): a stop request leaves unstarted sends

    # -- the step ---------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Claim a batch of due integrations, execute them, record the attempts. Returns how many."""
        with self.db.write() as conn:
            claims = claim_due(
                conn, owner=self.owner, limit=self.settings.worker_batch, lease_seconds=self.settings.lease_seconds
            )
        if not claims:
            return 0
        window = time.monotonic() + start_window(self.settings.lease_seconds, self.settings.http_timeout)
        with self.db.read() as conn:
            by_id = self._affiliates(conn, {c.affiliate_id for c in claims})
            rules = rules_by_account(conn, account_ids={c.account_id for c in claims})
            waiting, refused = self._blocked_by_product(conn, claims)
            held, local, remote, unlisted = [], [], [], []
            for claim in claims:
                affiliate = by_id[claim.affiliate_id]
                if self.pauses.paused_until(affiliate.id) or claim.id in waiting:
                    held.append(claim)
                elif claim.id in refused:
                    unlisted.append(_unlisted(claim, affiliate, refused[claim.id]))
                elif claim.flow == Flow.ORDER.value and affiliate.kind == "marketplace":
                    local.append(claim)
                else:
                    remote.append(claim)
            # What the catalog sends carry, for the whole batch in this transaction, not one per send.
            catalog = payloads.Catalog(
                conn,
                [(c.account_id, c.entity) for c in remote if c.flow in CATALOG_FLOWS],
                stock_of=[(c.account_id, c.entity) for c in remote if c.flow == Flow.INVENTORY.value],
            )
        sent = list(self._pool.map(lambda c: self._send_in_time(c, by_id[c.affiliate_id], window, catalog), remote))
        works = [w for w in sent if w is not None]
        held += [claim for claim, work in zip(remote, sent, strict=True) if work is None]
        with self.db.write() as conn:
            later = now() + timedelta(seconds=PRODUCT_WAIT)
            due = [(c, self.pauses.paused_until(c.affiliate_id) or (later if c.id in waiting else now())) for c in held]
            release(conn, owner=self.owner, due=due)
            self._record(conn, [*works, *unlisted], rules)
            # Placing an order reads what was just recorded (is the product listed?): it comes after.
            placed = [self._place(conn, claim, by_id[claim.affiliate_id]) for claim in local]
            self._record(conn, placed, rules)
        self._acknowledge([(work.affiliate, work.claim.entity, work.outcome) for work in placed])
        return len(claims)

    # -- executing ----------------------------------------------------------------------------------
    def _send_in_time(
        self, claim: Claim, affiliate: Row, window: float, catalog: payloads.Catalog | None = None
    ) -> Work | None:
        """Send unless the worker is stopping or the lease is too near its end; None means "not started"."""
        if (self._stop is not None and self._stop.is_set()) or time.monotonic() > window:
            return None  # given back unexecuted: no attempt, the next worker (or this one, later) sends it
        return self._send(claim, affiliate, catalog)

    def _send(self, claim: Claim, affiliate: Row, catalog: payloads.Catalog | None = None) -> Work:
        started, t0 = now(), time.perf_counter()
        last_sent = None
        try:
            if not affiliate.enabled:
                outcome = Outcome.error(
                    f"Affiliate {affiliate.code} is disabled",
                    category="integration_config",
                    disposition=Disposition.FIX,
                )
            else:
                outcome, last_sent = self._call(claim, affiliate, catalog)
        except payloads.EntityGone as exc:
            outcome = Outcome.error(str(exc), category="state_conflict", disposition=Disposition.TERMINAL)
        except Exception as exc:  # a connector bug must cost one attempt, not the worker
            log.error(
                "connector %s failed on %s %s: %s",
                affiliate.connector,
                claim.flow,
                claim.entity,
                traceback.format_exc(),
            )
            outcome = Outcome.error(f"Internal error in connector {affiliate.connector}: {exc}", transient=True)
        return Work(claim, affiliate, outcome, started, int((time.perf_counter() - t0) * 1000), last_sent)

    def _call(self, claim: Claim, affiliate: Row, catalog: payloads.Catalog | None = None) -> tuple[Outcome, Any]:
        connector = self._connector(affiliate)
        flow, account, code = claim.flow, claim.account_id, claim.entity
        if catalog is not None and flow in CATALOG_FLOWS:  # the batch read its SKUs already
            if flow == Flow.PRODUCT.value:
                return connector.send_product(catalog.product(account, code)), None
            if flow == Flow.PRICE.value:
                return connector.send_price(catalog.price(account, code)), None
            body, warning = catalog.inventory(account, code, affiliate.min_availability)
            return self._inventory_sent(connector, body, warning), body
        with self.db.read() as conn:
            if flow == Flow.PRODUCT.value:
                return connector.send_product(payloads.product_payload(conn, account, code)), None
            if flow == Flow.PRICE.value:
                return connector.send_price(payloads.price_payload(conn, account, code)), None
            if flow == Flow.INVENTORY.value:
                body, warning = payloads.inventory_payload(conn, account, code, affiliate.min_availability)
            elif flow == Flow.TRACKING.value:
                body, warning = payloads.tracking_payload(conn, account, affiliate.id, code), None
            else:  # an order handed to an ERP
                order = payloads.order_row(conn, account, None, code)
                body, warning = payloads.erp_order_payload(order, affiliate.code), None
        if flow == Flow.INVENTORY.value:
            return self._inventory_sent(connector, body, warning), body
        if flow == Flow.TRACKING.value:
            return connector.send_tracking(body), None
        return connector.send_order(body), None

    @staticmethod
    def _inventory_sent(connector: Connector, body: dict[str, Any], warning: str | None) -> Outcome:
        outcome = connector.send_inventory(body)
        if warning and outcome.status == Status.SUCCESS:
            outcome.status, outcome.message = Status.WARNING, warning
        return outcome

    def _place(self, conn: Connection, claim: Claim, affiliate: Row) -> Work:
        started, t0 = now(), time.perf_counter()
        try:
            with conn.begin_nested():  # one bad order rolls back alone, never the batch
                outcome = place_order(conn, account_id=claim.account_id, affiliate=affiliate, external_id=claim.entity)
        except payloads.EntityGone as exc:
            outcome = Outcome.error(str(exc), category="state_conflict", disposition=Disposition.TERMINAL)
        except Exception as exc:
            log.error("placing order %s failed: %s", claim.entity, traceback.format_exc())
            outcome = Outcome.error(f"Internal error placing the order: {exc}", transient=True)
        return Work(claim, affiliate, outcome, started, int((time.perf_counter() - t0) * 1000))

    # -- recording ----------------------------------------------------------------------------------
    def _explain(self, work: Work, rules: list[AccountRule]) -> tuple[str | None, Disposition | None]:
        outcome = work.outcome
        if outcome.status != Status.ERROR:
            return None, None
        if outcome.category and outcome.disposition:
            return outcome.category, outcome.disposition
        with timed(CLASSIFIER_SECONDS):
            explanation = classify(
                connector=marketplace_of(work.affiliate),
                flow=work.claim.flow,
                message=outcome.message,
                http_status=outcome.http_status,
                code=outcome.code,
                account_rules=rules,
            )
        # The connector saw a timeout or a 5xx: a message nothing knows, or only guessed at, must not stop retries.
        if outcome.transient and (explanation.category == "unmapped" or explanation.likely):
            return "marketplace_unavailable", Disposition.TRANSIENT
        return outcome.category or explanation.category, explanation.disposition

    def _record(self, conn: Connection, works: list[Work], rules: dict[int, list[AccountRule]]) -> None:
        """Record the batch's attempts and the states they lead to, in a few statements for the whole batch."""
        if not works:
            return
        results = [self._result(work, rules.get(work.claim.account_id, [])) for work in works]
        held = record_results(conn, owner=self.owner, results=results, body_limit=self.settings.body_limit)
        listed: dict[tuple[int, str], list[tuple[int, str]]] = {}
        for work, kept in zip(works, held, strict=True):
            claim, outcome = work.claim, work.outcome
            if not kept:
                log.warning("lease on integration %s was lost; its attempt is recorded, its state left alone", claim.id)
            elif (
                claim.flow == Flow.PRODUCT.value
                and outcome.status != Status.ERROR
                and outcome.external_ref != claim.external_ref
            ):
                # A listing just created on the marketplace gets the store's current price and stock.
                for flow in DEPENDENT_FLOWS:
                    listed.setdefault((claim.account_id, flow), []).append((claim.affiliate_id, claim.entity))
        for (account_id, flow), keys in listed.items():
            mark_changed(conn, account_id=account_id, flow=flow, keys=keys)

    def _result(self, work: Work, rules: list[AccountRule]) -> Result:
        """What one attempt records: its row, and its integration's next state (retry, backoff, pause)."""
        claim, outcome = work.claim, work.outcome
        category, disposition = self._explain(work, rules)
        step = next_step(
            status=outcome.status,
            disposition=disposition,
            category=category,
            retry_count=claim.retry_count,
            retry_after=outcome.retry_after,
            schedule=self.settings.retry_schedule,
            wait_delay=self.settings.wait_delay,
            now=now(),
        )
        observe_attempt(
            flow=claim.flow, affiliate=work.affiliate.code, status=outcome.status.value, seconds=work.duration_ms / 1000
        )
        if outcome.retry_after and (outcome.http_status == 429 or category == "rate_limited"):
            self.pauses.pause(work.affiliate.id, outcome.retry_after)
        attempt = {
            "account_id": claim.account_id,
            "integration_id": claim.id,
            "trigger": claim.trigger,
            "actor": claim.actor,
            "reason": claim.reason,
            "system": system_name(work.affiliate),
            "status": outcome.status.value,
            "message": outcome.message[:4000],
            "code": outcome.code,
            "category": category,
            "disposition": disposition.value if disposition else None,
            "http_status": outcome.http_status,
            "started_at": work.started_at,
            "duration_ms": work.duration_ms,
        }
        state: dict[str, Any] = {
            "status": step.status.value,
            "due_at": step.due_at,
            "retry_count": step.retry_count,
            "message": outcome.message[:4000],
            "code": outcome.code,
            "category": category,
            "disposition": disposition.value if disposition else None,
            "processed_at": now(),
            "cause": normalise_message(outcome.message)[:200] if category else None,
        }
        if step.status == Status.PENDING:
            state["next_trigger"] = Trigger.RETRY.value  # the next attempt is an automatic retry
        if outcome.external_ref:
            state["external_ref"] = outcome.external_ref
        if work.last_sent is not None and outcome.status != Status.ERROR:
            state["last_sent"] = work.last_sent
        return Result(claim, attempt, state, request=outcome.request, response=outcome.response)

    def _acknowledge(self, placed: list[tuple[Row, str, Outcome]]) -> None:
        """Tell marketplaces which orders were integrated. Best effort: the order is already recorded."""
        for affiliate, external_id, outcome in placed:
            try:
                self._connector(affiliate).acknowledge_order(external_id, outcome)
            except NotImplementedError:
                pass
            except Exception:
                log.warning(
                    "acknowledging order %s to %s failed: %s", external_id, affiliate.code, traceback.format_exc()
                )

    # -- order feeds --------------------------------------------------------------------------------
    def poll_orders(self) -> int:
        """Read every enabled marketplace's order feed once and record new orders. Returns how many were new."""
        return poll_order_feeds(self.db, self._connector)

    def maintain(self) -> int:
        """Hourly housekeeping: make next months' attempt partitions, prune attempts past retention."""
        cutoff = now() - timedelta(days=self.settings.attempt_retention_days)
        with self.db.write() as conn:
            create_month_partitions(conn)
        removed = prune_attempts(self.db, older_than=cutoff)
        if removed:
            log.info("pruned %s attempts older than %s days", removed, self.settings.attempt_retention_days)
        return removed

    def fold_counters(self) -> int:
        """Fold the status counters' deltas (PostgreSQL), so that tab counts stay a short read."""
        with self.db.write() as conn:
            return fold_status_deltas(conn)

    # -- helpers ------------------------------------------------------------------------------------
    def _connector(self, affiliate: Row) -> Connector:
        # One instance per thread and affiliate version: a settings change builds a new one.
        cache: dict[tuple[int, datetime], Connector] = self._local.__dict__.setdefault("connectors", {})
        key = (affiliate.id, affiliate.updated_at)
        if key not in cache:
            for old in [k for k in cache if k[0] == affiliate.id]:
                cache.pop(old).close()
            cache[key] = connector_for(
                affiliate, box=self.box, timeout=self.settings.http_timeout, body_limit=self.settings.body_limit
            )
        return cache[key]

    @staticmethod
    def _blocked_by_product(conn: Connection, claims: list[Claim]) -> tuple[dict[int, datetime], dict[int, str]]:
        """Price and stock claims whose listing does not exist on the marketplace yet.

        A listing must exist before its price or stock can be set. While the product's send is pending they
        are held back until just after it is due (first: claim id -> when); when the marketplace refused a
        product it never listed, they fail here with that reason instead of a pointless "item not found"
        (second: claim id -> the product's error).
        """
        keys: dict[tuple[int, int, str], list[int]] = {}
        for c in claims:  # price and stock of one SKU share a key: both wait
            if c.flow in DEPENDENT_FLOWS:
                keys.setdefault((c.account_id, c.affiliate_id, c.entity), []).append(c.id)
        if not keys:
            return {}, {}
        i = integrations.c
        rows = conn.execute(
            select(i.account_id, i.affiliate_id, i.entity, i.status, i.message, i.due_at, i.lease_until).where(
                # Every column of the (account, flow, affiliate, entity) key, so the lookup is by that index.
                i.account_id.in_({account_id for account_id, _, _ in keys}),
                i.flow == Flow.PRODUCT.value,
                i.affiliate_id.in_({affiliate_id for _, affiliate_id, _ in keys}),
                i.entity.in_({entity for _, _, entity in keys}),
                or_(i.status == Status.PENDING.value, and_(i.status == Status.ERROR.value, i.external_ref.is_(None))),
            )
        )
        waiting: dict[int, datetime] = {}
        refused: dict[int, str] = {}
        at = now()
        soon = at + timedelta(seconds=PRODUCT_WAIT)
        for r in rows:
            # A product another worker is sending now is looked at again in a second, not in a tight loop.
            leased = r.lease_until is not None and r.lease_until > at
            after = at + timedelta(seconds=1) if leased else max(r.due_at or soon, soon)
            for claim_id in keys.get((r.account_id, r.affiliate_id, r.entity), []):
                if r.status == Status.PENDING.value:
                    waiting[claim_id] = after
                else:
                    refused[claim_id] = r.message or ""
        return waiting, refused

    @staticmethod
    def _affiliates(conn: Connection, ids: set[int]) -> dict[int, Row]:
        return {r.id: r for r in conn.execute(select(affiliates).where(affiliates.c.id.in_(ids)))}

    # -- the loop -----------------------------------------------------------------------------------
    def run(
        self,
        stop: threading.Event,
        *,
        idle_sleep: float = 0.5,
        order_poll_every: float = 5.0,
        on_step: Callable[[int], None] | None = None,
    ) -> None:
        """Work until `stop` is set. Sends already started finish (bounded by the HTTP timeouts) and are
        recorded; claims of the batch not yet started are released for another worker."""
        log.info("worker %s started", self.owner)
        self._stop = stop
        while not stop.is_set():
            if time.monotonic() - self._last_poll >= order_poll_every:
                self._last_poll = time.monotonic()
                self._guarded(self.poll_orders)
                self._guarded(self.fold_counters)
            if time.monotonic() - self._last_maintenance >= MAINTENANCE_EVERY:
                self._last_maintenance = time.monotonic()
                self._guarded(self.maintain)
            if time.monotonic() - self._last_alerts >= ALERTS_EVERY:
                self._last_alerts = time.monotonic()
                self._guarded(
                    lambda: evaluate_alerts_when_due(self.db, self.settings, every=ALERTS_CLAIM, box=self.box)
                )
            done = self._guarded(self.run_once)
            if on_step:
                on_step(done)
            if not done:
                stop.wait(idle_sleep)
        self.close()
        log.info("worker %s stopped", self.owner)

    def _guarded(self, step: Callable[[], int]) -> int:
        # The database may be restarting: log, wait a little, and try again rather than die.
        try:
            return step()
        except Exception as exc:
            log.error("worker step failed (will retry): %s", exc)
            time.sleep(1.0)
            return 0

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        cache = self._local.__dict__.get("connectors", {})
        for connector in cache.values():
            connector.close()
