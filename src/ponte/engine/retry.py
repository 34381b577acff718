"""When to try again: exponential backoff with jitter, honouring Retry-After, by disposition."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from ponte.domain import Disposition, Status

# A "wait" error clears by itself (catalog review); re-check it this many times before giving up.
WAIT_LIMIT = 48
JITTER = 0.2


@dataclass(frozen=True)
class NextStep:
    """The integration's state after an attempt: its status and, if pending, when it is due."""

    status: Status
    due_at: datetime | None
    retry_count: int
    gave_up: bool = False


def next_step(
    *,
    status: Status,
    disposition: Disposition | None,
    category: str | None,
    retry_count: int,
    retry_after: float | None,
    schedule: tuple[float, ...],
    wait_delay: float,
    now: datetime,
    rng: random.Random | None = None,
) -> NextStep:
    """Decide what follows an attempt. Success and warning end the work; errors retry or stay by disposition."""
    if status in (Status.SUCCESS, Status.WARNING):
        return NextStep(status, None, 0)
    if status == Status.PENDING:
        # Accepted and judged later (a feed, an import): not due again; its submission's poll settles it.
        return NextStep(Status.PENDING, None, retry_count)
    draw = rng.uniform if rng else random.uniform  # a test may pass a seeded generator
    if disposition == Disposition.TRANSIENT or (category == "unmapped" and retry_count == 0):
        # Unmapped errors are retried once: an unknown message may be a passing hiccup.
        limit = len(schedule) if category != "unmapped" else min(1, len(schedule))
        if retry_count >= limit:
            return NextStep(Status.ERROR, None, retry_count, gave_up=True)
        delay = schedule[retry_count] * draw(1 - JITTER, 1 + JITTER)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return NextStep(Status.PENDING, now + timedelta(seconds=delay), retry_count + 1)
    if disposition == Disposition.WAIT:
        if retry_count >= WAIT_LIMIT:
            return NextStep(Status.ERROR, None, retry_count, gave_up=True)
        delay = wait_delay * draw(1 - JITTER, 1 + JITTER)
        return NextStep(Status.PENDING, now + timedelta(seconds=delay), retry_count + 1)
    return NextStep(Status.ERROR, None, retry_count)
