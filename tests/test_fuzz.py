"""Property-based tests (Hypothesis): whatever comes in, no crash, and a clear error for every bad input.

Covered: the CSV/JSON-lines importer, the integration filter, the error classifier and its message
normaliser, the Connections cursor, and the webhook receiver (the service and the HTTP endpoint).
"""

from __future__ import annotations

import json
import string
import time
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from ponte.auth import get_or_create_account
from ponte.knowledge import classify, normalise_message
from ponte.services.connections import decode_cursor
from ponte.services.errors import InputError
from ponte.services.importer import import_text, read_records
from ponte.services.webhooks import WebhookRefused, parse_order, signature
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import integrations

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | CELL,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(CELL, inner, max_size=4),
    max_leaves=12,
)
COLUMNS = st.sampled_from(["sku", "name", "price", "list_price", "quantity", "stock", "images", "attributes", "ean"])


def _csv(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join([",".join(header), *(",".join(r) for r in rows)])


# -- the importer ------------------------------------------------------------------------------------


@FAST
@given(text=st.text(max_size=400))
def test_reading_any_json_lines_gives_records_or_a_reason_per_line(text):
    for number, record in read_records(text, "jsonl"):
        assert number >= 1
        assert isinstance(record, dict) or (isinstance(record, str) and record)


@FAST
@given(text=st.text(max_size=400))
def test_reading_any_csv_gives_records_a_reason_per_line_or_one_input_error(text):
    try:
        for number, record in read_records(text, "csv"):
            assert number >= 1
            assert isinstance(record, dict) or (isinstance(record, str) and record)
    except InputError as exc:
        assert exc.message


@FAST
@given(
    header=st.lists(COLUMNS, min_size=1, max_size=5, unique=True), rows=st.lists(st.lists(CELL, max_size=6), max_size=5)
)
def test_importing_any_csv_accepts_or_rejects_each_line_and_never_crashes(db, header, rows):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-fuzz")
    text = _csv(header, [[c.replace(",", " ").replace("\n", " ").replace("\r", " ") for c in r] for r in rows])
    try:
        report = import_text(db.write, account_id=account, text=text, fmt="csv")
    except InputError as exc:
        assert "sku" in exc.message  # the only whole-file refusal: no sku column
        return
    assert report.accepted + len(report.rejected) <= len(rows)
    assert all(r.reason for r in report.rejected)


@FAST
@given(records=st.lists(st.dictionaries(COLUMNS, JSONISH, max_size=5) | JSONISH, max_size=5))
def test_importing_any_json_lines_accepts_or_rejects_each_line_and_never_crashes(db, records):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-fuzz")
    text = "\n".join(json.dumps(r) for r in records)
    report = import_text(db.write, account_id=account, text=text, fmt="jsonl")
    assert report.accepted + len(report.rejected) == len([r for r in records if json.dumps(r).strip()])
    assert all(r.reason for r in report.rejected)


# -- the filter --------------------------------------------------------------------------------------


@FAST
@given(
    words=st.none() | st.text(max_size=40),
    prefix=st.none() | st.text(max_size=20),
    statuses=st.lists(st.text(max_size=10), max_size=3),
    affiliates=st.lists(st.text(max_size=8), max_size=3),
)
@example(words="a\x00b", prefix="\x00", statuses=["\x00"], affiliates=[])  # PostgreSQL refuses NUL in text
def test_any_filter_runs_and_matches_only_the_accounts_rows(db, words, prefix, statuses, affiliates):
    filt = IntegrationFilter(words=words, entity_prefix=prefix, statuses=tuple(statuses), affiliates=tuple(affiliates))
    with db.read() as conn:
        rows = conn.execute(select(integrations.c.account_id).where(*filt.conditions(7))).scalars().all()
    assert set(rows) <= {7}


# -- the classifier ------------------------------------------------------------------------------------


@FAST
@given(
    message=st.text(max_size=300),
    connector=st.none() | st.sampled_from(["mercadolivre", "magalu", "amazon", "webhook", "nope"]),
    flow=st.none() | st.sampled_from(["product", "price", "inventory", "tracking", "order", "x"]),
    http_status=st.none() | st.integers(min_value=-1, max_value=999),
    code=st.none() | st.text(max_size=30),
)
def test_the_classifier_explains_any_message_without_raising(message, connector, flow, http_status, code):
    explanation = classify(connector=connector, flow=flow, message=message, http_status=http_status, code=code)
    assert explanation.category
    assert explanation.disposition is not None


@FAST
@given(message=st.text(max_size=300), digits=st.randoms(use_true_random=False))
def test_the_cause_key_ignores_which_numbers_a_message_holds(message, digits):
    key = normalise_message(message)
    assert isinstance(key, str) and len(key) <= len(message) * 3 + 10
    other = "".join(str(digits.randrange(10)) if ch in string.digits else ch for ch in message)
    assert normalise_message(other) == key


# -- the cursor ----------------------------------------------------------------------------------------


@FAST
@given(cursor=st.text(max_size=80) | st.binary(max_size=60).map(lambda b: b.hex()))
def test_any_cursor_is_read_or_refused_with_a_clear_error(cursor):
    try:
        when, last_id = decode_cursor(cursor)
    except InputError as exc:
        assert exc.field == "cursor" and "cursor" in exc.message
        return
    assert isinstance(last_id, int)
    assert when is None or when.tzinfo is not None


# -- the webhook receiver --------------------------------------------------------------------------------


@FAST
@given(body=st.binary(max_size=200) | JSONISH.map(lambda v: json.dumps(v).encode()))
def test_any_webhook_body_is_an_order_object_or_a_400(body):
    try:
        order = parse_order(body)
    except WebhookRefused as exc:
        assert exc.status == 400 and str(exc) and exc.said.key.startswith("msg.")
        return
    assert isinstance(order, dict)


@pytest.fixture
def webhook_secret(client, world) -> str:
    r = client.post(f"/api/v1/affiliates/{world.a.affiliates['MLB']}/webhook-secret", headers=world.auth("ada"))
    return str(r.json()["webhook_secret"])


@FAST
@given(body=JSONISH, signed=st.booleans(), stamp=st.none() | st.text(max_size=12))
def test_the_webhook_endpoint_answers_any_delivery_with_a_4xx_or_accepts_it(
    client, webhook_secret, body, signed, stamp
):
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time())) if stamp is None else stamp
    sign = signature(webhook_secret, timestamp, raw) if signed else "sha256=" + "0" * 64
    headers = {"X-Ponte-Timestamp": timestamp, "X-Ponte-Signature": sign, "X-Ponte-Delivery": uuid.uuid4().hex}
    try:
        r = client.post("/api/v1/webhooks/MLB/orders", content=raw, headers=headers)
    except UnicodeEncodeError:
        return  # a header that HTTP cannot carry never reaches the server
    assert r.status_code in (200, 400, 401, 409, 413, 422), r.text
    if r.status_code != 200:
        assert r.json().get("detail")
