"""The one place Ponte reads the time: always timezone-aware UTC.

Tests and benchmarks move it forward with `advance()` instead of sleeping: every due time, lease, rate-limit
bucket and submission poll of this process reads the same clock, so "a minute later" is one call. Nothing in
production calls `advance`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
_lock = threading.Lock()


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(seconds: float) -> None:
    """Move this process's clock `seconds` forward (tests, benchmarks): what was due in a minute is due now."""
    global _offset
    with _lock:
        _offset += timedelta(seconds=seconds)


def reset() -> None:
    """Back to the real time."""
    global _offset
    with _lock:
        _offset = timedelta(0)


@contextmanager
def travelling() -> Iterator[None]:
    """A block in which the clock may be moved with `advance`; it is put back when the block ends."""
    try:
        yield
    finally:
        reset()
