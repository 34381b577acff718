"""The worker: claim due integrations, send them through their connectors, record every attempt.

`run_once()` is one step that returns how many integrations it handled; `run()` is the trivial loop
around it and the periodic steps (order feeds, notifications, submissions, alerts, housekeeping). Tests call
the steps.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors import outbound
from ponte.connectors.base import CallFailed, Connector, Outcome
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked, Deferred
from ponte.domain import Disposition, Flow, Status
from ponte.domain.messages import Message, from_columns, say
from ponte.engine import batches, payloads
from ponte.engine.connectors import connector_for
from ponte.engine.feeds import poll_order_feeds
from ponte.engine.invoices import poll_invoice_feeds
from ponte.engine.notifications import KeepCatalog, process_notifications
from ponte.engine.orders import place_order
from ponte.engine.reconcile import Reconciler
from ponte.engine.recording import DEPENDENT_FLOWS, Work, record_works
from ponte.knowledge import AccountRule
from ponte.secrets import SecretBox
from ponte.settings import Settings
from ponte.store.affiliates import Affiliate, affiliates_by_id
from ponte.store.counters import fold_status_deltas
from ponte.store.db import Database
from ponte.store.partitions import create_month_partitions, prune_attempts
from ponte.store.queue import Claim, claim_due, release, unlisted_products
from ponte.store.ratelimits import pause_bucket, paused_keys
from ponte.store.rules import rules_by_account
from ponte.store.sessions import forget_expired

log = logging.getLogger("ponte.worker")

CATALOG_FLOWS = (Flow.PRODUCT.value, *DEPENDENT_FLOWS)  # sends built from the SKU alone (payloads.Catalog)
PRODUCT_WAIT = 0.05  # a held price or stock send is due this long after its product's send
MAINTENANCE_EVERY = 3600.0  # seconds between partition and retention housekeeping
RECONCILE_EVERY = 30.0  # seconds between looks at the reconciliation passes due (each reads a slice, then yields)
# A worker evaluates when no worker has for this long: a little under its own period, so that with one worker
# it is every minute, and with many, whichever comes first after it.


def start_window(lease_seconds: float, http_timeout: float) -> float:
    """Seconds after claiming during which a send may still start: it must end (token + request, each bounded
    by the HTTP timeout) before the lease expires, or a second worker could take the row while it runs."""
    return max(lease_seconds * 0.25, lease_seconds - 2.5 * http_timeout)


def affiliate_pause_key(affiliate: Affiliate) -> str:
    """The shared pause of an affiliate whose connector declares no rates: a 429 stops all its sends for a while.
    (Connectors that declare rates pause the one operation the marketplace refused, in their own buckets.)"""
    return f"{affiliate.connector}:affiliate:{affiliate.id}:*"


def _unlisted(claim: Claim, affiliate: Affiliate, product_error: Message) -> Work:
    """The attempt of a price or stock send that cannot be made: the marketplace refused the product itself."""
    outcome = Outcome.error(
        say("msg.send.not_listed", affiliate=affiliate.code, product_error=product_error),
        category="sku_not_linked",
        disposition=Disposition.FIX,
        code="product_not_listed",
    )
    return Work(claim, affiliate, outcome, now(), 0)


def not_connected(error: CredentialsMissing | CredentialsRevoked, affiliate: Affiliate) -> Outcome:
    """No call is made for an affiliate the seller has not authorised, or whose authorisation was refused: one
    error per send, fixed by connecting again (not retried: a refused grant does not come back by itself)."""
    if isinstance(error, CredentialsMissing):
        text = say("msg.affiliate.not_connected", affiliate=affiliate.code)
    else:
        text = say("msg.affiliate.authorisation_refused", affiliate=affiliate.code, error=str(error))
    return Outcome.error(text, category="auth_invalid", disposition=Disposition.FIX, code="not_connected")


@dataclass(frozen=True)
class Periodic:
    """A job the worker's loop runs every `every` seconds besides the sends (alert evaluation, given by the
    command that starts the worker: the engine does not know what the jobs are)."""

    name: str
    every: float
    run: Callable[[], int]  # what it did, as the worker's other steps report it


class Worker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        owner: str | None = None,
        box: SecretBox | None = None,
        periodic: Sequence[Periodic] = (),
        keep_catalog: KeepCatalog | None = None,
    ):
        self.db = db
        self.settings = settings
        outbound.allow(settings.outbound_allow)  # the operator's exceptions to the outbound address policy
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.box = box or SecretBox.from_environment(settings.secret_key_file)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(settings.worker_concurrency, thread_name_prefix="ponte-send")
        self._last_poll = 0.0
        self._last_maintenance = 0.0
        self.periodic = tuple(periodic)
        self.keep_catalog = keep_catalog  # an ERP's products its webhooks name, into the catalog
        self._last_periodic = dict.fromkeys((job.name for job in self.periodic), 0.0)
        self._last_reconcile = 0.0
        self._reconciling: Future[int] | None = None
        self._sending = False  # the last step claimed work: reconciliation yields (one page a slice, a slice a while)
        self.reconciler = Reconciler(db, settings, self.box, owner=self.owner, sends_waiting=lambda: self._sending)
        self._stop: threading.Event | None = None  # set by run(): a stop request leaves unstarted sends

    @property
    def stopping(self) -> bool:
        """Whether run() was asked to stop: what has not started yet is left for the next worker."""
        return self._stop is not None and self._stop.is_set()

    # -- the step ---------------------------------------------------------------------------------
    def run_once(self, *, due_by: datetime | None = None) -> int:
        """Claim a batch of integrations due by `due_by` (now), execute them, record the attempts. Returns how many."""
        with self.db.write() as conn:
            claims = claim_due(
                conn,
                owner=self.owner,
                limit=self.settings.worker_batch,
                lease_seconds=self.settings.lease_seconds,
                now=due_by,
            )
        self._sending = bool(claims)
        if not claims:
            return 0
        window = time.monotonic() + start_window(self.settings.lease_seconds, self.settings.http_timeout)
        with self.db.read() as conn:
            by_id = affiliates_by_id(conn, {c.affiliate_id for c in claims})
            rules = rules_by_account(conn, account_ids={c.account_id for c in claims})
            held = self._paused(conn, claims, by_id)
            waiting, refused = self._blocked_by_product(conn, claims, self.owner)
            local, remote, unlisted = [], [], []
            for claim in claims:
                affiliate = by_id[claim.affiliate_id]
                if claim.id in held or claim.id in waiting:
                    held[claim.id] = max(held.get(claim.id, now()), waiting.get(claim.id, now()))
                elif claim.id in refused:
                    unlisted.append(_unlisted(claim, affiliate, refused[claim.id]))
                elif claim.flow == Flow.ORDER.value and affiliate.kind == "marketplace":
                    local.append(claim)
                else:
                    remote.append(claim)
            lanes, remote = batches.split_lanes(conn, remote, by_id, self._connector)
            # What the catalog sends carry, for the whole batch in this transaction, not one per send.
            catalog = payloads.Catalog(
                conn,
                [(c.account_id, c.affiliate_id, c.entity) for c in remote if c.flow in CATALOG_FLOWS],
                [(c.account_id, c.affiliate_id, c.entity) for c in remote if c.flow == Flow.PRODUCT.value],
            )
        lane_futures = [self._pool.submit(self._send_lane, lane) for lane in lanes]
        sent = list(self._pool.map(lambda c: self._send_in_time(c, by_id[c.affiliate_id], window, catalog), remote))
        works: list[Work] = []
        for claim, outcome in zip(remote, sent, strict=True):
            if isinstance(outcome, Work):
                works.append(outcome)
            else:  # not started, or deferred by a rate limit: due again when it said
                held[claim.id] = outcome
        handled = len(claims) + sum(self._lane_done(f) for f in lane_futures)
        with self.db.write() as conn:
            release(conn, owner=self.owner, due=[(c, held[c.id]) for c in claims if c.id in held])
            self._record(conn, [*works, *unlisted], rules)
            # Placing an order reads what was just recorded (is the product listed?): it comes after.
            placed = [self._place(conn, claim, by_id[claim.affiliate_id]) for claim in local]
            self._record(conn, placed, rules)
        self._acknowledge([(work.affiliate, work.claim.entity, work.outcome) for work in placed])
        return handled

    # -- executing ----------------------------------------------------------------------------------
    def _send_in_time(
        self, claim: Claim, affiliate: Affiliate, window: float, catalog: payloads.Catalog
    ) -> Work | datetime:
        """Send unless the worker is stopping or the lease is too near its end; otherwise when it is due again."""
        if self.stopping or time.monotonic() > window:
            return now()  # given back unexecuted: no attempt, the next worker (or this one, later) sends it
        try:
            return self._send(claim, affiliate, catalog)
        except Deferred as deferred:
            return now() + timedelta(seconds=deferred.seconds)

    def _send(self, claim: Claim, affiliate: Affiliate, catalog: payloads.Catalog) -> Work:
        started, t0 = now(), time.perf_counter()
        last_sent = None
        try:
            if not affiliate.enabled:
                outcome = Outcome.error(
                    say("msg.affiliate.disabled", affiliate=affiliate.code),
                    category="integration_config",
                    disposition=Disposition.FIX,
                )
            else:
                outcome, last_sent = self._call(claim, affiliate, catalog)
        except Deferred:
            raise
        except payloads.EntityGone as exc:
            outcome = Outcome.error(exc.message, category="state_conflict", disposition=Disposition.TERMINAL)
        except (CredentialsMissing, CredentialsRevoked) as exc:
            outcome = not_connected(exc, affiliate)
        except CallFailed as failed:
            outcome = failed.outcome
        except NotImplementedError:  # queued before its connector's capabilities were checked: never retried
            outcome = Outcome.error(
                say(
                    "msg.connector.cannot_send",
                    connector=affiliate.connector,
                    flow=say(f"alert.msg.flow.{claim.flow}"),
                ),
                category="integration_config",
                disposition=Disposition.FIX,
            )
        except Exception as exc:  # a connector bug must cost one attempt, not the worker
            log.error(
                "connector %s failed on %s %s: %s",
                affiliate.connector,
                claim.flow,
                claim.entity,
                traceback.format_exc(),
            )
            outcome = Outcome.error(
                say("msg.internal.connector", connector=affiliate.connector, error=str(exc)), transient=True
            )
        return Work(claim, affiliate, outcome, started, int((time.perf_counter() - t0) * 1000), last_sent)

    def _call(self, claim: Claim, affiliate: Affiliate, catalog: payloads.Catalog) -> tuple[Outcome, Any]:
        connector = self._connector(affiliate)
        flow, code = claim.flow, claim.entity
        if flow == Flow.PRODUCT.value:
            product = catalog.product(affiliate, code)
            stopped = catalog.check(affiliate, product)  # a product that would certainly be refused is not sent
            return (stopped or connector.send_product(product)), None
        if flow == Flow.PRICE.value:
            priced = catalog.price(affiliate, code)
            sent = {"sku": priced.sku, "price": None if priced.price is None else str(priced.price)}
            return connector.send_price(priced), sent  # what reconciliation holds the marketplace's price to
        if flow == Flow.INVENTORY.value:
            send, warning = catalog.inventory(affiliate, code)
            return self._inventory_sent(connector, send, warning), {"sku": send.sku, "quantity": send.quantity}
        with self.db.read() as conn:
            if flow == Flow.TRACKING.value:
                tracking = payloads.tracking_send(conn, claim.account_id, affiliate.id, code)
            else:  # an order handed to an ERP
                order = payloads.erp_order_send(conn, claim.account_id, code)
        if flow == Flow.TRACKING.value:
            return connector.send_tracking(tracking), None
        return connector.send_order(order), None

    @staticmethod
    def _inventory_sent(connector: Connector, send: Any, warning: Message | None) -> Outcome:
        return payloads.warned(connector.send_inventory(send), warning)

    def _send_lane(self, lane: batches.Lane) -> int:
        """Send one batch lane (a Mirakl offer batch, an Amazon feed) and record it; returns the rows swept in."""
        return batches.send_lane(self, lane)

    @staticmethod
    def _lane_done(future: Future[int]) -> int:
        try:
            return future.result()
        except Exception:
            log.error("a batch send failed: %s", traceback.format_exc())
            return 0

    def _place(self, conn: Connection, claim: Claim, affiliate: Affiliate) -> Work:
        started, t0 = now(), time.perf_counter()
        try:
            with conn.begin_nested():  # one bad order rolls back alone, never the batch
                outcome = place_order(conn, account_id=claim.account_id, affiliate=affiliate, external_id=claim.entity)
        except payloads.EntityGone as exc:
            outcome = Outcome.error(exc.message, category="state_conflict", disposition=Disposition.TERMINAL)
        except Exception as exc:
            log.error("placing order %s failed: %s", claim.entity, traceback.format_exc())
            outcome = Outcome.error(say("msg.internal.placing", error=str(exc)), transient=True)
        return Work(claim, affiliate, outcome, started, int((time.perf_counter() - t0) * 1000))

    # -- recording ----------------------------------------------------------------------------------
    def _record(self, conn: Connection, works: list[Work], rules: dict[int, list[AccountRule]]) -> None:
        """Record the attempts and the states they lead to; one attempt that cannot be recorded (whatever a store's
        marketplace answered) is recorded alone as an internal error, and never holds back the others'. A 429 from a
        connector that declares no rates pauses that affiliate for every worker."""
        try:
            with conn.begin_nested():
                held = self.record(conn, works, rules)
        except Exception:
            log.exception("recording a batch of %s attempts failed; recording them one by one", len(works))
            held = [self._record_alone(conn, work, rules) for work in works]
        for work, kept in zip(works, held, strict=True):
            if not kept:
                log.warning(
                    "lease on integration %s was lost; its attempt is recorded, its state left alone", work.claim.id
                )
        for work in works:
            outcome = work.outcome
            if outcome.http_status == 429 and outcome.retry_after and not self._declares_rates(work.affiliate):
                pause_bucket(
                    conn, key=affiliate_pause_key(work.affiliate), burst=0, seconds=outcome.retry_after, now=now()
                )

    def record(self, conn: Connection, works: list[Work], rules: dict[int, list[AccountRule]]) -> list[bool]:
        return record_works(conn, works, owner=self.owner, rules=rules, settings=self.settings)

    def _record_alone(self, conn: Connection, work: Work, rules: dict[int, list[AccountRule]]) -> bool:
        try:
            with conn.begin_nested():
                return self.record(conn, [work], rules)[0]
        except Exception as exc:
            log.exception("recording the attempt of integration %s failed", work.claim.id)
            failed = Outcome.error(say("msg.internal.recording", error=type(exc).__name__), transient=True)
            with conn.begin_nested():
                return self.record(conn, [Work(work.claim, work.affiliate, failed, work.started_at, 0)], rules)[0]

    def _acknowledge(self, placed: list[tuple[Affiliate, str, Outcome]]) -> None:
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

    # -- periodic steps -----------------------------------------------------------------------------
    def poll_orders(self, *, force: bool = False) -> int:
        """Read the order feeds whose interval has passed (every one with `force`); returns how many orders were new."""
        return poll_order_feeds(self.db, self._connector, force=force)

    def poll_invoices(self, *, force: bool = False) -> int:
        """Read the invoices ERPs issued (whose interval has passed; every one with `force`); returns how many were new."""
        return poll_invoice_feeds(self.db, self._connector, force=force)

    def process_notifications(self) -> int:
        """Read what marketplaces notified (orders…) with each seller's token; returns how many were handled."""
        return process_notifications(self.db, self._connector, self.keep_catalog)

    def reconcile(self) -> int:
        """A slice of every reconciliation pass due (full passes at the account's interval, focused ones between);
        returns the listings read back."""
        return self.reconciler.run_due()

    def _reconcile_beside(self) -> None:
        """Reconciliation reads in one of the send threads, beside the loop: a slice takes seconds (its reads wait
        for spare quota), and the loop must go on claiming sends meanwhile. One slice at a time; a slice that read
        something is followed at once by the next, an idle one waits RECONCILE_EVERY, and so does every slice while
        sends are waiting (each then reads a single page: the sends come first)."""
        running = self._reconciling
        if running is not None and not running.done():
            return
        busy = running is not None and running.exception() is None and running.result() > 0
        if (busy and not self._sending) or time.monotonic() - self._last_reconcile >= RECONCILE_EVERY:
            self._last_reconcile = time.monotonic()
            self._reconciling = self._pool.submit(self._guarded, self.reconcile)

    def poll_submissions(self, *, force: bool = False) -> int:
        """Look at submissions due a poll (every open one with `force`); returns how many were looked at."""
        return batches.poll_submissions(self, force=force)

    def maintain(self) -> int:
        """Hourly housekeeping: make next months' attempt partitions, prune attempts past retention, forget
        expired sessions and login failures. Returns attempts pruned. Each step on its own: one that fails is
        logged and the others still run."""
        cutoff = now() - timedelta(days=self.settings.attempt_retention_days)
        self._housekeep("creating partitions", self._make_partitions)
        removed = self._housekeep("pruning attempts", lambda: prune_attempts(self.db, older_than=cutoff))
        if removed:
            log.info("pruned %s attempts older than %s days", removed, self.settings.attempt_retention_days)
        self._housekeep("forgetting expired sessions", self._forget_sessions)
        return removed

    @staticmethod
    def _housekeep(name: str, step: Callable[[], int]) -> int:
        try:
            return step()
        except Exception:
            log.exception("housekeeping failed (%s); the other steps go on", name)
            return 0

    def _make_partitions(self) -> int:
        with self.db.write() as conn:
            return len(create_month_partitions(conn))

    def _forget_sessions(self) -> int:
        with self.db.write() as conn:
            return forget_expired(conn, now=now())

    def fold_counters(self) -> int:
        """Fold the status counters' deltas (PostgreSQL), so that tab counts stay a short read."""
        with self.db.write() as conn:
            return fold_status_deltas(conn)

    # -- helpers ------------------------------------------------------------------------------------
    def connector(self, affiliate: Affiliate) -> Connector:
        """The affiliate's connector as this thread of the worker keeps it (for a step run beside the loop)."""
        return self._connector(affiliate)

    def _connector(self, affiliate: Affiliate) -> Connector:
        # One instance per thread and affiliate version: a settings change builds a new one.
        cache: dict[tuple[int, datetime], Connector] = self._local.__dict__.setdefault("connectors", {})
        key = (affiliate.id, affiliate.updated_at)
        if key not in cache:
            for old in [k for k in cache if k[0] == affiliate.id]:
                cache.pop(old).close()
            cache[key] = connector_for(affiliate, db=self.db, box=self.box, settings=self.settings)
        return cache[key]

    def _declares_rates(self, affiliate: Affiliate) -> bool:
        from ponte.connectors.registry import get_connector_class

        try:
            return bool(get_connector_class(affiliate.connector).rate_limits)
        except LookupError:
            return False

    def _paused(self, conn: Connection, claims: list[Claim], by_id: dict[int, Affiliate]) -> dict[int, datetime]:
        """Claims of affiliates paused by a 429 (those whose connector declares no rates), and until when."""
        keys = {a.id: affiliate_pause_key(a) for a in by_id.values() if not self._declares_rates(a)}
        paused = paused_keys(conn, list(keys.values()), now())
        return {c.id: paused[keys[c.affiliate_id]] for c in claims if keys.get(c.affiliate_id) in paused}

    @staticmethod
    def _blocked_by_product(
        conn: Connection, claims: list[Claim], owner: str = ""
    ) -> tuple[dict[int, datetime], dict[int, Message]]:
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
        rows = unlisted_products(
            conn,
            account_ids={account_id for account_id, _, _ in keys},
            affiliate_ids={affiliate_id for _, affiliate_id, _ in keys},
            entities={entity for _, _, entity in keys},
        )
        waiting: dict[int, datetime] = {}
        refused: dict[int, Message] = {}
        at = now()
        soon = at + timedelta(seconds=PRODUCT_WAIT)
        for r in rows:
            # A product another worker is sending now is looked at again in a second, not in a tight loop; one in
            # this very batch is recorded before the batch ends, so its price and stock follow it at once.
            leased = r.lease_until is not None and r.lease_until > at and r.lease_owner != owner
            if r.status == Status.PENDING.value and r.due_at is None and not leased:
                after = at + timedelta(seconds=30)  # the product is in a submission the marketplace is judging
            else:
                after = at + timedelta(seconds=1) if leased else max(r.due_at or soon, soon)
            for claim_id in keys.get((r.account_id, r.affiliate_id, r.entity), []):
                if r.status == Status.PENDING.value:
                    waiting[claim_id] = after
                else:
                    refused[claim_id] = from_columns(r.message_key, r.message_params) or Message(
                        "msg.verbatim", {"text": (r.message or "")[:300]}
                    )
        return waiting, refused

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
                self._guarded(self.process_notifications)
                self._guarded(self.poll_invoices)
                self._guarded(self.poll_submissions)
                self._guarded(self.fold_counters)
            if time.monotonic() - self._last_maintenance >= MAINTENANCE_EVERY:
                self._last_maintenance = time.monotonic()
                self._guarded(self.maintain)
            for job in self.periodic:
                if time.monotonic() - self._last_periodic[job.name] >= job.every:
                    self._last_periodic[job.name] = time.monotonic()
                    self._guarded(job.run)
            self._reconcile_beside()
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
        self.reconciler.close()
        cache = self._local.__dict__.get("connectors", {})
        for connector in cache.values():
            connector.close()
