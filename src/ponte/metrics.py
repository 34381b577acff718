"""Prometheus metrics, every series named `ponte_…`.

Two kinds:
- read from the database at scrape time by `DatabaseCollector` (integrations by status from the kept counters,
  queue depth, age of the oldest due pending work): every API process answers the same truth, whichever
  scrapes it, and nothing is lost when a worker restarts;
- measured in this process (attempts sent, attempt latency, classifier and export timings): counters and
  histograms, as each process sees them — Prometheus sums them over the processes it scrapes.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ponte.clock import now
from ponte.connectors.capabilities import supports
from ponte.domain import Flow, Status
from ponte.store import gauges
from ponte.store.db import Database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

PROCESS = CollectorRegistry(auto_describe=True)
ATTEMPTS = Counter(
    "ponte_attempts",
    "Attempts executed by this process, by flow, affiliate and status",
    ["flow", "affiliate", "status"],
    registry=PROCESS,
)
ATTEMPT_SECONDS = Histogram(
    "ponte_attempt_duration_seconds",
    "Time to send one integration to its marketplace or ERP",
    ["flow"],
    buckets=LATENCY_BUCKETS,
    registry=PROCESS,
)
CLASSIFIER_SECONDS = Histogram(
    "ponte_classifier_duration_seconds",
    "Time to classify one error message",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
    registry=PROCESS,
)
EXPORT_SECONDS = Histogram(
    "ponte_export_duration_seconds",
    "Time to produce a whole export file",
    ["format"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
    registry=PROCESS,
)
DRIFTS_FOUND = Counter(
    "ponte_drifts_found",
    "Drifts reconciliation found newly open (the marketplace holds something else than the store), by kind",
    ["affiliate", "kind"],
    registry=PROCESS,
)
DRIFTS_REPAIRED = Counter(
    "ponte_drifts_repaired",
    "Drifts reconciliation queued a repair for (an attempt with trigger reconciliation), by kind",
    ["affiliate", "kind"],
    registry=PROCESS,
)


def observe_attempt(*, flow: str, affiliate: str, status: str, seconds: float) -> None:
    ATTEMPTS.labels(flow, affiliate, status).inc()
    ATTEMPT_SECONDS.labels(flow).observe(seconds)


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe how long the block took (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - started)


def timed_stream(chunks: Iterator[bytes], fmt: str) -> Iterator[bytes]:
    """Pass an export's bytes through, observing the time from the first read to the last byte."""
    started = time.perf_counter()
    yield from chunks
    EXPORT_SECONDS.labels(fmt).observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    """Gauges read from the database on every scrape: three short queries, none counting rows of attempts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        integrations_gauge = GaugeMetricFamily(
            "ponte_integrations",
            "Integrations by current status (exact, from the kept counters)",
            labels=["account", "flow", "affiliate", "status"],
        )
        labels = ["account", "flow", "affiliate"]
        depth = GaugeMetricFamily("ponte_queue_depth", "Pending integrations, by flow and affiliate", labels=labels)
        oldest = GaugeMetricFamily(
            "ponte_oldest_pending_age_seconds",
            "How long the oldest due pending integration has waited, by flow and affiliate",
            labels=labels,
        )
        open_drifts = GaugeMetricFamily(
            "ponte_drifts_open", "Open drifts (found, not resolved yet), by affiliate and kind",
            labels=["affiliate", "kind"],
        )  # fmt: skip
        moment = now()
        with self.db.read() as conn:
            named = gauges.named_affiliates(conn)
            slugs = gauges.account_slugs(conn)
            totals = gauges.status_totals(conn)
            due = gauges.oldest_due_pending(conn, at=moment)
            drifting = gauges.open_drift_counts(conn)
        # Every flow of every enabled affiliate starts at 0: "nothing waits" must be a sample, not a missing series.
        pending = dict.fromkeys(_flows_served(named.values()), 0)
        ages = dict.fromkeys(pending, 0.0)
        for (account_id, flow, affiliate_id, status), n in totals.items():
            key = (slugs.get(account_id, str(account_id)), flow, _code(named, affiliate_id))
            integrations_gauge.add_metric([*key, status], n)
            if status == Status.PENDING.value:
                pending[key] = pending.get(key, 0) + n
        for affiliate_id, flow, since in due:
            found = named.get(affiliate_id)
            key = (found.account_slug if found else "?", flow, _code(named, affiliate_id))
            ages[key] = max(0.0, (moment - since).total_seconds()) if since else 0.0
        for key, n in sorted(pending.items()):
            depth.add_metric(list(key), n)
        for key, age in sorted(ages.items()):
            oldest.add_metric(list(key), age)
        for affiliate_id, kind, n in drifting:
            open_drifts.add_metric([_code(named, affiliate_id), kind], n)
        yield integrations_gauge
        yield depth
        yield oldest
        yield open_drifts


def _code(named: dict[int, gauges.Named], affiliate_id: int) -> str:
    found = named.get(affiliate_id)
    return found.code if found else str(affiliate_id)


def _flows_served(named: Iterable[gauges.Named]) -> list[tuple[str, str, str]]:
    """(account slug, flow, affiliate code) for each flow each enabled affiliate is given."""
    return [
        (a.account_slug, flow.value, a.code)
        for a in named
        if a.enabled
        for flow in Flow
        if supports(a.connector, flow.value, a.kind)
    ]


def render_metrics(db: Database) -> bytes:
    """The exposition text: this process's series, then the database's."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(DatabaseCollector(db))
    return generate_latest(PROCESS) + generate_latest(scrape)


def token_allows(expected: str | None, authorization: str | None) -> bool:
    """True when no token is configured, or the request carries `Authorization: Bearer <that token>`."""
    if not expected:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())
