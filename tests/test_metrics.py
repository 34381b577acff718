"""/metrics: Prometheus text with ponte_… series from the database and from this process, optionally behind a token."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from factories import two_stores
from ponte.app import create_app
from ponte.clock import now
from ponte.metrics import ATTEMPTS, observe_attempt
from ponte.store.tables import integrations


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


def _samples(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scrape(settings, db, **headers):
    with TestClient(create_app(settings, db=db)) as client:
        return client.get("/metrics", headers=headers)


def test_it_reports_integrations_by_status_from_the_counters(settings, db, stores):
    answer = _scrape(settings, db)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    key = (
        "ponte_integrations",
        (("account", "loja-a"), ("affiliate", "MLB"), ("flow", "product"), ("status", "error")),
    )
    assert samples[key] == 1
    assert all(name.startswith("ponte_") or name.startswith("python_") for name, _ in samples)


def test_it_reports_queue_depth_and_the_age_of_the_oldest_due_work(settings, db, stores):
    with db.write() as conn:
        conn.execute(
            update(integrations).where(integrations.c.status == "pending").values(due_at=now() - timedelta(minutes=42))
        )
    samples = _samples(_scrape(settings, db).text)
    labels = (("account", "loja-a"), ("affiliate", "AMZ"), ("flow", "price"))  # TEN-006 waits for Amazon
    assert samples[("ponte_queue_depth", labels)] >= 1
    assert 42 * 60 <= samples[("ponte_oldest_pending_age_seconds", labels)] < 50 * 60


def test_it_reports_zero_for_every_flow_and_affiliate_when_nothing_waits(settings, db, stores):
    with db.write() as conn:
        conn.execute(update(integrations).where(integrations.c.status == "pending").values(status="success"))
    samples = _samples(_scrape(settings, db).text)
    depth = {labels: n for (name, labels), n in samples.items() if name == "ponte_queue_depth"}
    ages = {labels: n for (name, labels), n in samples.items() if name == "ponte_oldest_pending_age_seconds"}
    for flow in ("order", "product", "price", "inventory", "tracking"):
        assert depth[(("account", "loja-a"), ("affiliate", "MLB"), ("flow", flow))] == 0
        assert ages[(("account", "loja-a"), ("affiliate", "MLB"), ("flow", flow))] == 0
    assert ("loja-b" in str(depth)) and set(depth.values()) == {0} and set(ages.values()) == {0}


def test_it_counts_attempts_and_their_latency_in_this_process(settings, db, stores):
    before = ATTEMPTS.labels("price", "ZZ", "error")._value.get()
    observe_attempt(flow="price", affiliate="ZZ", status="error", seconds=0.2)
    samples = _samples(_scrape(settings, db).text)
    assert (
        samples[("ponte_attempts_total", (("affiliate", "ZZ"), ("flow", "price"), ("status", "error")))] == before + 1
    )
    assert samples[("ponte_attempt_duration_seconds_count", (("flow", "price"),))] >= 1
    assert ("ponte_classifier_duration_seconds_count", ()) in samples


def test_it_wants_the_bearer_token_when_one_is_set(settings, db, stores):
    guarded = dataclasses.replace(settings, metrics_token="s3cret-token")
    assert _scrape(guarded, db).status_code == 401
    assert _scrape(guarded, db, authorization="Bearer wrong").status_code == 401
    answer = _scrape(guarded, db, authorization="Bearer s3cret-token")
    assert answer.status_code == 200 and "ponte_integrations" in answer.text
