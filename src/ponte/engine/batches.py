"""Batches and submissions: flows a marketplace takes many at a time, and work it judges later.

A connector declares which flows it batches (`Connector.batches`): always (Mirakl's OF24 offers, once a
minute) or when the queue is too long to send one by one within the batch's latency (Amazon's feeds). When a
claimed send belongs to a batched flow, the worker takes the batch operation's token; if there is none yet, the
claims go back to the queue due when the token will be there, so that every change waiting at that moment
rides in the batch. With the token, it sweeps up the rest of that affiliate's due work of the flow and sends
it in one call.

What the marketplace accepts for later judgement is a submission: each item's attempt is recorded as pending,
its integration is parked (pending, not due) under the submission, and the periodic poll settles each item
with its own outcome when the marketplace has judged it.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors.base import (
    BatchResult,
    BatchSpec,
    CallFailed,
    Connector,
    Outcome,
    ProductSend,
    Send,
    SubmissionRef,
)
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked, Deferred
from ponte.connectors.registry import get_connector_class
from ponte.domain import Disposition, Flow, Status
from ponte.domain.messages import Message, say
from ponte.engine import payloads
from ponte.engine.recording import Work, record_works
from ponte.store.affiliates import Affiliate, affiliates_by_id
from ponte.store.queue import Claim, LaneKey, claim_due, count_due, extend_lease, park, postpone_due, release
from ponte.store.rules import rules_by_account
from ponte.store.submissions import (
    DONE,
    FAILED,
    SubmissionRow,
    claim_submissions,
    create_submission,
    finish_submission,
    poll_later,
)

if TYPE_CHECKING:
    from ponte.engine.worker import Worker

log = logging.getLogger("ponte.worker")

MAX_CALLS = 8  # batch calls one lane makes in a row while its operation has tokens (8 Amazon feeds: 200,000 SKUs)
LANE_LEASE = 600.0  # seconds a swept batch is held: building and sending thousands of items takes a while
POLL_LEASE = 120.0
POLL_BATCH = 20  # submissions looked at per step
GIVE_UP_AFTER = timedelta(hours=24)  # a submission still unjudged after this fails its items (transient: resent)


@dataclass
class Lane:
    """Claims of one affiliate and flow (or of the flows whose batches go `together`) that go out together."""

    affiliate: Affiliate
    flow: str
    spec: BatchSpec
    claims: list[Claim]
    flows: tuple[str, ...] = ()  # every flow the lane sweeps: its own, and those it goes together with

    def lane_keys(self) -> list[LaneKey]:
        return [LaneKey(self.affiliate.account_id, self.affiliate.id, flow) for flow in self.flows or (self.flow,)]


def _batch_spec(affiliate: Affiliate, flow: str) -> BatchSpec | None:
    try:
        return get_connector_class(affiliate.connector).batches.get(flow)
    except LookupError:
        return None


def split_lanes(
    conn: Connection,
    claims: list[Claim],
    affiliates: dict[int, Affiliate],
    connector_of: Callable[[Affiliate], Connector],
) -> tuple[list[Lane], list[Claim]]:
    """Split claims into batch lanes and sends made one by one."""
    groups: dict[tuple[int, str], list[Claim]] = {}
    singles: list[Claim] = []
    for claim in claims:
        affiliate = affiliates[claim.affiliate_id]
        spec = _batch_spec(affiliate, claim.flow) if affiliate.enabled else None
        if spec is not None:
            # Flows that go together share one lane per operation; the others have a lane each.
            groups.setdefault((affiliate.id, spec.operation if spec.together else claim.flow), []).append(claim)
        else:
            singles.append(claim)
    lanes = []
    for (affiliate_id, _), group in groups.items():
        affiliate = affiliates[affiliate_id]
        flow = min(claim.flow for claim in group)
        spec = _batch_spec(affiliate, flow)
        assert spec is not None
        if spec.mode == "always" or _queue_too_long(conn, affiliate, flow, spec):
            lanes.append(Lane(affiliate, flow, spec, group, _together(affiliate, flow, spec)))
        else:
            singles.extend(group)
    return lanes, singles


def _together(affiliate: Affiliate, flow: str, spec: BatchSpec) -> tuple[str, ...]:
    """The flows a lane sweeps: those whose batches spend the same operation together with it, or its own."""
    if not spec.together:
        return (flow,)
    batches = get_connector_class(affiliate.connector).batches
    return tuple(sorted(f for f, s in batches.items() if s.together and s.operation == spec.operation))


def _queue_too_long(conn: Connection, affiliate: Affiliate, flow: str, spec: BatchSpec) -> bool:
    """Whether one-by-one sends at the single operation's declared rate would take longer than the batch."""
    limit = get_connector_class(affiliate.connector).rate_limits.get(spec.single_operation or "")
    if limit is None:
        return True
    enough = int(limit.rate * spec.latency) + 1
    lane = LaneKey(affiliate.account_id, affiliate.id, flow)
    return count_due(conn, lane=lane, up_to=enough + 1, now=now()) > enough


def send_lane(worker: Worker, lane: Lane) -> int:
    """Send one lane (when its batch operation's token is there) and record it; returns how many more rows it
    swept up besides the claims it started with.

    A lane that fills a batch and finds more waiting makes the next batch call at once while the operation has
    tokens left (Amazon's createFeed has a burst of 15), up to MAX_CALLS; every call's attempts are recorded after
    the last one left, so 100,000 changes are four feeds in flight, not four rounds of send-then-record."""
    affiliate = lane.affiliate
    connector = worker._connector(affiliate)
    limits, operation = connector.context.limits, lane.spec.operation
    try:
        limits.acquire(operation)
    except Deferred as deferred:
        due = now() + timedelta(seconds=deferred.seconds)
        with worker.db.write() as conn:
            release(conn, owner=worker.owner, due=[(c, due) for c in lane.claims])
            # The rest of the lane waits for the same token: all of it leaves then, in one batch.
            for key in lane.lane_keys():
                postpone_due(conn, lane=key, due=due, now=now())
        return 0
    if lane.claims:  # claimed for one step's lease: the lane's calls and their recording may take longer
        with worker.db.write() as conn:
            until = now() + timedelta(seconds=LANE_LEASE)
            extend_lease(conn, ids=[c.id for c in lane.claims], owner=worker.owner, until=until)
    swept = 0
    calls: list[tuple[list[Work], tuple[Any, list[dict[str, Any]]] | None]] = []
    claims = lane.claims
    while True:
        more = _sweep(worker, lane, room=lane.spec.max_items - len(claims))
        swept += len(more)
        claims = claims + more
        calls.append(_send(worker, connector, affiliate, lane.flow, claims))
        if len(claims) < lane.spec.max_items or len(calls) >= MAX_CALLS or worker.stopping:
            break
        if limits.available(operation) < 1 or not _waiting(worker, lane):
            break
        try:
            limits.acquire(operation)
        except Deferred:
            break
        claims = []
    with worker.db.read() as conn:
        rules = rules_by_account(conn, account_ids=[affiliate.account_id])
    with worker.db.write() as conn:
        for works, submitted in calls:
            submission_id = None
            if submitted is not None:
                submission, items = submitted
                submission_id = create_submission(
                    conn,
                    account_id=affiliate.account_id,
                    affiliate_id=affiliate.id,
                    flow=lane.flow,
                    operation=submission.operation,
                    external_id=submission.external_id,
                    items=items,
                    detail=submission.detail,
                    poll_at=now() + timedelta(seconds=submission.poll_after),
                    now=now(),
                )
            worker._record(conn, works, rules)
            if submission_id is not None:
                parked = [w.claim.id for w in works if w.outcome.status == Status.PENDING]
                park(conn, ids=parked, owner=f"submission:{submission_id}")
    return swept


def _sweep(worker: Worker, lane: Lane, *, room: int) -> list[Claim]:
    """The lane's other due work, up to `room` items (its flows' in turn)."""
    more: list[Claim] = []
    if room <= 0:
        return more
    with worker.db.write() as conn:
        for key in lane.lane_keys():
            more += claim_due(
                conn, owner=worker.owner, limit=max(0, room - len(more)), lease_seconds=LANE_LEASE, lane=key
            )
    return more


def _waiting(worker: Worker, lane: Lane) -> bool:
    """Whether any of the lane's work is due now (a token is not spent on an empty call)."""
    with worker.db.read() as conn:
        return any(count_due(conn, lane=key, up_to=1, now=now()) for key in lane.lane_keys())


def _send(
    worker: Worker, connector: Connector, affiliate: Affiliate, flow: str, claims: list[Claim]
) -> tuple[list[Work], tuple[Any, list[dict[str, Any]]] | None]:
    """Build the sends, make the batch call, and give each claim its outcome (pending for the submitted)."""
    started, t0 = now(), time.perf_counter()
    sends: dict[tuple[str, str], Send] = {}  # (flow, entity): a lane of flows that go together holds both
    outcomes: dict[str, Outcome] = {}
    sent: dict[tuple[str, str], Any] = {}
    warnings: dict[tuple[str, str], Message] = {}  # the minimum-availability rule's, as a single send gives them
    with worker.db.read() as conn:
        catalog = payloads.Catalog(
            conn,
            [(c.account_id, c.affiliate_id, c.entity) for c in claims],
            [(c.account_id, c.affiliate_id, c.entity) for c in claims if c.flow == Flow.PRODUCT.value],
        )
    for claim in claims:
        key = (claim.flow, claim.entity)
        try:
            sends[key], warning, sent[key] = _build(catalog, affiliate, claim.flow, claim.entity)
            if warning is not None:
                warnings[key] = warning
            made = sends[key]
            stopped = catalog.check(affiliate, made) if isinstance(made, ProductSend) else None
            if stopped is not None:  # would certainly be refused: not sent (engine/mapping.py)
                outcomes[claim.entity] = stopped
                del sends[key]
        except payloads.EntityGone as exc:
            outcomes[claim.entity] = Outcome.error(
                exc.message, category="state_conflict", disposition=Disposition.TERMINAL
            )
    result = BatchResult()
    if sends:
        try:
            result = connector.send_batch(flow, list(sends.values()))
        except (CredentialsMissing, CredentialsRevoked) as exc:
            from ponte.engine.worker import not_connected

            result = BatchResult({entity: not_connected(exc, affiliate) for _, entity in sends})
        except CallFailed as call:
            result = BatchResult({entity: call.outcome for _, entity in sends})
        except Exception as exc:
            log.error("batch send of %s %s failed: %s", affiliate.code, flow, traceback.format_exc())
            failed = Outcome.error(
                say("msg.internal.connector", connector=affiliate.connector, error=str(exc)), transient=True
            )
            result = BatchResult({entity: failed for _, entity in sends})
    outcomes.update(result.outcomes)
    submission = result.submission
    if submission is not None:
        waiting = None
        for entity in submission.refs:
            if entity not in outcomes:  # (setdefault would make 25,000 outcomes to keep none)
                waiting = waiting or Outcome.pending(submission.message)
                outcomes[entity] = replace(waiting)
    duration = int((time.perf_counter() - t0) * 1000)
    works, items = [], []
    for claim in claims:
        outcome = outcomes.get(claim.entity) or Outcome.error(say("msg.batch.not_mentioned"), transient=True)
        warning = warnings.get((claim.flow, claim.entity))  # the stock's, not its price's of the same offer
        outcome = payloads.warned(outcome, warning)
        works.append(Work(claim, affiliate, outcome, started, duration, sent.get((claim.flow, claim.entity))))
        if submission is not None and outcome.status == Status.PENDING:
            item = {name: getattr(claim, name) for name in _CLAIM_FIELDS} | {
                "ref": submission.refs.get(claim.entity, "")
            }
            if warning is not None:  # said when the marketplace's verdict comes (`_settle`)
                item["warning"] = warning.as_json()
            items.append(item)
    return works, (None if submission is None else (submission, items))


_CLAIM_FIELDS = tuple(f.name for f in fields(Claim))  # a submission's item: the claim, flat (asdict copies deeply)


def _build(catalog: payloads.Catalog, affiliate: Affiliate, flow: str, entity: str) -> tuple[Send, Message | None, Any]:
    if flow == Flow.PRODUCT.value:
        return catalog.product(affiliate, entity), None, None
    if flow == Flow.PRICE.value:
        return catalog.price(affiliate, entity), None, None
    if flow == Flow.INVENTORY.value:
        send, warning = catalog.inventory(affiliate, entity)
        return send, warning, {"sku": send.sku, "quantity": send.quantity}
    raise ValueError(f"the {flow} flow is not sent in batches")


# -- polling submissions -----------------------------------------------------------------------------------


def poll_submissions(worker: Worker, *, force: bool = False) -> int:
    """Look once at each submission whose poll is due; settle the ones the marketplace has judged."""
    with worker.db.write() as conn:
        due = claim_submissions(
            conn, owner=worker.owner, now=now(), lease_seconds=POLL_LEASE, limit=POLL_BATCH, force=force
        )
    if not due:
        return 0
    with worker.db.read() as conn:
        by_id = affiliates_by_id(conn, {s.affiliate_id for s in due})
        rules = rules_by_account(conn, account_ids={s.account_id for s in due})
    for submission in due:
        try:
            _poll(worker, submission, by_id[submission.affiliate_id], rules)
        except Exception:  # one submission's trouble never stops the others
            log.error("polling submission %s failed: %s", submission.id, traceback.format_exc())
            with worker.db.write() as conn:
                poll_later(conn, submission_id=submission.id, at=now() + timedelta(seconds=60), detail=None)
    return len(due)


def _poll(worker: Worker, submission: SubmissionRow, affiliate: Affiliate, rules: dict[int, Any]) -> None:
    started, t0 = now(), time.perf_counter()
    refs = {item["entity"]: item.get("ref", "") for item in submission.items}
    ref = SubmissionRef(
        submission.id, submission.operation, submission.external_id, refs, submission.detail, submission.created_at
    )
    try:
        poll = worker._connector(affiliate).poll_submission(ref)
    except Deferred as deferred:
        with worker.db.write() as conn:
            poll_later(conn, submission_id=submission.id, at=now() + timedelta(seconds=deferred.seconds), detail=None)
        return
    except (CredentialsMissing, CredentialsRevoked) as exc:
        from ponte.engine.worker import not_connected

        _settle(worker, submission, affiliate, rules, dict.fromkeys(refs, not_connected(exc, affiliate)), started, t0)
        return
    except CallFailed as failed:  # the poll itself failed: look again later, the submission is still judged
        with worker.db.write() as conn:
            poll_later(conn, submission_id=submission.id, at=now() + timedelta(seconds=60), detail=None)
        log.info("polling submission %s: %s", submission.id, failed.outcome.message)
        return
    if not poll.done:
        if now() - submission.created_at > GIVE_UP_AFTER:
            gave_up = Outcome.error(
                say("msg.batch.not_judged", affiliate=affiliate.code, submission=submission.external_id),
                transient=True,
                category="marketplace_unavailable",
                disposition=Disposition.TRANSIENT,
            )
            _settle(worker, submission, affiliate, rules, dict.fromkeys(refs, gave_up), started, t0, status=FAILED)
            return
        with worker.db.write() as conn:
            poll_later(
                conn, submission_id=submission.id, at=now() + timedelta(seconds=poll.poll_after), detail=poll.detail
            )
        return
    accepted = say(
        "msg.batch.accepted",
        affiliate=affiliate.code,
        operation=submission.operation,
        submission=submission.external_id,
    )
    outcomes = {
        entity: poll.failed or poll.outcomes.get(entity) or Outcome.ok(accepted, external_ref=None) for entity in refs
    }
    _settle(worker, submission, affiliate, rules, outcomes, started, t0, status=FAILED if poll.failed else DONE)


def _settle(
    worker: Worker,
    submission: SubmissionRow,
    affiliate: Affiliate,
    rules: dict[int, Any],
    outcomes: dict[str, Outcome],
    started: Any,
    t0: float,
    *,
    status: str = DONE,
) -> None:
    """Record each item's outcome as an attempt on its integration, and close the submission."""
    duration = int((time.perf_counter() - t0) * 1000)
    works = []
    for item in submission.items:
        claim = Claim(**{name: item[name] for name in Claim.__dataclass_fields__})
        outcome = payloads.warned(outcomes[claim.entity], Message.from_json(item.get("warning")))
        works.append(Work(claim, affiliate, outcome, started, duration))
    with worker.db.write() as conn:
        record_works(conn, works, owner=f"submission:{submission.id}", rules=rules, settings=worker.settings)
        finish_submission(conn, submission_id=submission.id, status=status, now=now())
