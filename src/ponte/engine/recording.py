"""Recording what sends came to: each attempt's row, and the state it leads its integration to (retry, backoff,
wait), with the error explained by the connector's own code table or, failing that, the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors.base import Outcome
from ponte.domain import Disposition, Flow, Status, Trigger
from ponte.domain.messages import as_columns
from ponte.engine.retry import next_step
from ponte.knowledge import AccountRule, classify, normalise_message
from ponte.knowledge.wordsearch import search_text
from ponte.metrics import CLASSIFIER_SECONDS, observe_attempt, timed
from ponte.settings import Settings
from ponte.store.affiliates import Affiliate
from ponte.store.catalog import save_listings
from ponte.store.queue import Claim, Result, mark_changed, record_results

# Price and stock need the listing to exist: they wait for a pending product send, then follow it.
DEPENDENT_FLOWS = (Flow.PRICE.value, Flow.INVENTORY.value)


@dataclass
class Work:
    """One claim carried out: what came back and how long it took."""

    claim: Claim
    affiliate: Affiliate
    outcome: Outcome
    started_at: datetime
    duration_ms: int
    last_sent: Any = None


def storable(text: str | None, limit: int) -> str | None:
    """A marketplace's words as a column can hold them: no NUL (PostgreSQL refuses it in text), at most `limit`
    characters. Whatever one store's marketplace answers, the batch it is recorded with goes in."""
    return None if text is None else text.replace("\x00", "")[:limit]


def system_name(affiliate: Affiliate) -> str:
    return f"{affiliate.code} · {affiliate.name}"


def explain(work: Work, rules: list[AccountRule]) -> tuple[str | None, Disposition | None]:
    """The category and disposition of a failed attempt: the connector's when it is sure (a documented code),
    else the knowledge base's reading of the message."""
    outcome = work.outcome
    if outcome.status != Status.ERROR:
        return None, None
    if outcome.category and outcome.disposition:
        return outcome.category, outcome.disposition
    with timed(CLASSIFIER_SECONDS):
        explanation = classify(
            connector=work.affiliate.marketplace,
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


def result_for(work: Work, rules: list[AccountRule], settings: Settings) -> Result:
    """What one attempt records: its row, and its integration's next state (retry, backoff, wait)."""
    claim, outcome = work.claim, work.outcome
    category, disposition = explain(work, rules)
    step = next_step(
        status=outcome.status,
        disposition=disposition,
        category=category,
        retry_count=claim.retry_count,
        retry_after=outcome.retry_after,
        schedule=settings.retry_schedule,
        wait_delay=settings.wait_delay,
        now=now(),
    )
    observe_attempt(
        flow=claim.flow, affiliate=work.affiliate.code, status=outcome.status.value, seconds=work.duration_ms / 1000
    )
    attempt = {
        "account_id": claim.account_id,
        "integration_id": claim.id,
        "trigger": claim.trigger,
        "actor": claim.actor,
        "reason": claim.reason,
        "system": system_name(work.affiliate),
        "status": outcome.status.value,
        "message": storable(outcome.message, 4000),
        **as_columns(outcome.said),
        "code": storable(outcome.code, 120),
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
        "message": storable(outcome.message, 4000),
        **as_columns(outcome.said),
        "code": storable(outcome.code, 120),
        "category": category,
        "disposition": disposition.value if disposition else None,
        "processed_at": now(),
        "cause": normalise_message(storable(outcome.message, 4000) or "")[:200] if category else None,
        "search_text": search_text(storable(outcome.message, 4000), said=outcome.said, category=category),
    }
    if step.status == Status.PENDING and step.due_at is not None:
        state["next_trigger"] = Trigger.RETRY.value  # the next attempt is an automatic retry
    ref = outcome.external_ref or (outcome.listing.listing_id if outcome.listing else None)
    if ref:
        state["external_ref"] = storable(ref, 120)
    if work.last_sent is not None and outcome.status not in (Status.ERROR, Status.PENDING):
        state["last_sent"] = work.last_sent
    return Result(claim, attempt, state, request=outcome.request, response=outcome.response)


def record_works(
    conn: Connection,
    works: list[Work],
    *,
    owner: str,
    rules: dict[int, list[AccountRule]],
    settings: Settings,
) -> list[bool]:
    """Record a batch's attempts and the states they lead to, in a few statements for the whole batch; keep the
    listings the sends found or made, and give a listing just created its price and stock. Returns, per work,
    whether its lease was still held."""
    if not works:
        return []
    results = [result_for(work, rules.get(work.claim.account_id, []), settings) for work in works]
    held = record_results(conn, owner=owner, results=results, body_limit=settings.body_limit)
    listed: dict[tuple[int, str], list[tuple[int, str]]] = {}
    found: dict[tuple[int, int], dict[str, tuple[str, Any]]] = {}
    for work, kept in zip(works, held, strict=True):
        claim, outcome = work.claim, work.outcome
        if outcome.listing is not None:
            # Kept even when the lease was lost: the marketplace has this listing, whoever records the state.
            key = (claim.account_id, claim.affiliate_id)
            found.setdefault(key, {})[claim.entity] = (outcome.listing.listing_id, dict(outcome.listing.data))
        new_ref = outcome.external_ref or (outcome.listing.listing_id if outcome.listing else None)
        if (
            kept
            and claim.flow == Flow.PRODUCT.value
            and outcome.status in (Status.SUCCESS, Status.WARNING)
            and new_ref != claim.external_ref
        ):
            # A listing just created on the marketplace gets the store's current price and stock.
            for flow in DEPENDENT_FLOWS:
                listed.setdefault((claim.account_id, flow), []).append((claim.affiliate_id, claim.entity))
    for (account_id, affiliate_id), by_sku in found.items():
        save_listings(conn, account_id=account_id, affiliate_id=affiliate_id, found=by_sku, now=now())
    for (account_id, flow), keys in listed.items():
        mark_changed(conn, account_id=account_id, flow=flow, keys=keys)
    return held
