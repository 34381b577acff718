"""Bad input never answers 500: every page route and form is walked with out-of-range and malformed values, and
the API's known offenders (nulls in a PATCH, a NUL in a report) answer a clear 4xx that changes nothing."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from api_fixtures import World, client_fixture, world_fixture  # noqa: F401
from factories import ADA, login, two_stores
from ponte import auth
from ponte.app import create_app
from ponte.store.tables import affiliates, integrations

HUGE = "9" * 40
PATH_VALUES = [HUGE, "0", "-1", "abc", "²", "1.5", "x" * 3000, "%F0%9F%92%A9", "..%2F..%2Fetc"]
# Every form field a page reads, each given values a careless or hostile user could send.
FORM = {
    "affiliate": [HUGE, "MLB\r\nX: y"],
    "affiliate_id": [HUGE, "-1", "²"],
    "all": ["1", HUGE],
    "category": ["x" * 5000, "'; DROP TABLE x; --"],
    "cause": ["x" * 5000],
    "code": ["x" * 300, "ÇÃO", "A"],
    "connector": ["nope", "webhook", "sandbox"],
    "enabled": ["1", "maybe"],
    "expand": [HUGE],
    "flow": ["nope", "order"],
    "ids": [HUGE, "-1", "abc", "²", "1"],
    "kind": ["email", "webhook", "marketplace", "erp", "nope"],
    "locale": ["xx", "en"],
    "min_availability": [HUGE, "-5", "1e9", "²"],
    "name": ["x" * 5000, ""],
    "next": ["//evil.example", "/x" * 3000],
    "none_cat": ["1"],
    "pattern": ["(" * 400, "(a+)+$", "x{99999}"],
    "price_divergence_action": ["nope"],
    "price_tolerance_pct": ["1e999", "nan", "-inf", "abc"],
    "reason": ["x" * 20000],
    "step": ["run"],
    "threshold": ["nan", "1e999", HUGE],
    "window_minutes": [HUGE, "-1", "1.5"],
    "min_count": [HUGE],
    "host": ["smtp.x.com\r\n", "x" * 400],
    "port": [HUGE, "0", "vinte"],
    "to": ["a@b.com\nBcc: c@d.com", "nope"],
    "from_addr": ["x\r\n@y"],
    "url": ["javascript:alert(1)", "http://[::1", "gopher://x"],
    "settings.headers": ["[" * 5000, '{"X": {"nested": [1, 2]}}', "[1, 2]", '{"X-Key": "a\\r\\nb"}'],
    "settings.base_url": ["x", "http://[::1"],
    "settings.url": ["ftp://x", "http://" + "a" * 3000],
    "settings.secret": ["s"],
    "settings.client_id": ["x" * 3000],
    "settings.client_secret": ["x"],
    "settings.profile": ["../../x", "magalu"],
}
QUERY = {
    "edit": HUGE,
    "s": f"{HUGE}.abc,²,1.x,-5.y",
    "status": "nope",
    "affiliate": "\u00e7" * 300,
    "cursor": "not-a-cursor",
    "from": "2026-13-45",
    "to": "yesterday",
    "limit": HUGE,
    "page": "-1",
    "q": "x" * 5000,
    "lang": "zz",
    "category": "x" * 400,
}


@pytest.fixture
def page_client(settings, db, monkeypatch):
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with db.write() as conn:
        two_stores(conn)
    with TestClient(create_app(settings, db=db), raise_server_exceptions=False) as client:
        yield client


def _routes(routes, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, routers included (FastAPI keeps an included router whole, as its own route)."""
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += _routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            found += [(method, prefix + route.path) for method in sorted(route.methods - {"HEAD"})]
    return found


def _page_routes(app) -> list[tuple[str, str]]:
    # Logout is left for last: walked in the middle, it would end the session and every later page would only
    # redirect to the login page.
    pages = [(method, path) for method, path in _routes(app.routes) if not path.startswith("/api")]
    return sorted(pages, key=lambda route: route[1] == "/logout")


def _paths(template: str, existing: str) -> list[str]:
    params = re.findall(r"{(\w+)(?::\w+)?}", template)
    if not params:
        return [template]
    made = []
    for value in [*PATH_VALUES, existing]:
        path = template
        for name in params:
            given = "product" if name == "flow" else value
            path = re.sub(r"\{" + name + r"(?::\w+)?\}", lambda _match, given=given: given, path)
        made.append(path)
    return made


def test_every_page_and_form_answers_malformed_values_without_a_server_error(page_client, db):
    csrf = login(page_client, ADA)
    with db.read() as conn:
        existing = str(conn.execute(select(integrations.c.id).limit(1)).scalar_one())
    routes = _page_routes(page_client.app)
    assert len(routes) > 25, "the walk found too few routes: the route listing is wrong"
    failures = []
    for method, template in routes:
        for path in _paths(template, existing):
            if method == "GET":
                answers = [page_client.get(path, params=QUERY, follow_redirects=False)]
            else:
                answers = []
                for n in range(max(len(v) for v in FORM.values())):
                    form = {name: values[n % len(values)] for name, values in FORM.items()}
                    answers.append(
                        page_client.post(path, data={**form, "csrf": csrf}, params=QUERY, follow_redirects=False)
                    )
            failures += [f"{method} {path[:80]} -> {a.status_code}" for a in answers if a.status_code >= 500]
            signed_in = page_client.get("/overview", follow_redirects=False).status_code == 200
            assert signed_in or template == "/logout", f"{method} {template} ended the session: the walk proves nothing"
    assert failures == []


def test_a_page_for_an_id_past_any_row_is_not_found(page_client):
    login(page_client, ADA)
    assert page_client.get(f"/integrations/{HUGE}").status_code == 404
    assert page_client.get("/integrations/abc").status_code == 404


def test_nested_json_in_the_headers_field_is_a_clear_error(page_client, db):
    csrf = login(page_client, ADA)
    form = {
        "csrf": csrf, "code": "ERP", "name": "ERP", "kind": "erp", "connector": "webhook",
        "settings.url": "https://erp.example.com/h", "settings.secret": "s",
    }  # fmt: skip
    for headers in ("[" * 5000, '{"X": {"nested": 1}}', "[1, 2]"):
        answer = page_client.post("/affiliates", data={**form, "settings.headers": headers})
        assert answer.status_code == 400 and "headers" in answer.text
    with db.read() as conn:
        assert conn.execute(select(affiliates).where(affiliates.c.code == "ERP")).first() is None


def test_patching_an_affiliate_with_nulls_is_refused_and_changes_nothing(client, world: World, db):
    affiliate = world.a.affiliates["MLB"]
    body = {"enabled": None, "kind": None, "settings": None, "name": None, "price_tolerance_pct": None}
    with db.read() as conn:
        before = conn.execute(select(affiliates).where(affiliates.c.id == affiliate)).one()
    answer = client.patch(f"/api/v1/affiliates/{affiliate}", json=body, headers=world.auth("ada"))
    assert answer.status_code == 422 and "cannot be null" in answer.json()["detail"]
    with db.read() as conn:
        assert conn.execute(select(affiliates).where(affiliates.c.id == affiliate)).one() == before
    ok = client.patch(f"/api/v1/affiliates/{affiliate}", json={"min_availability": None}, headers=world.auth("ada"))
    assert ok.status_code == 200  # null means "always send" there


@pytest.mark.parametrize(
    "raw",
    [
        b'{"attempts": [{"flow": "order", "entity": "A\\u0000B", "affiliate": "MLB", "status": "success"}]}',
        b'{"attempts": [{"flow": "order", "entity": "A\x00B", "affiliate": "MLB", "status": "success"}]}',
    ],
)
def test_a_nul_in_an_external_report_is_refused(client, world: World, raw):
    headers = {**world.auth("ada"), "Content-Type": "application/json", "Idempotency-Key": "k-1"}
    answer = client.post("/api/v1/attempts", content=raw, headers=headers)
    assert answer.status_code == 400 and "NUL" in answer.json()["detail"]


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(client, world: World):
    # "\\u0000" in JSON is a backslash followed by "u0000": lawful text, not refused as a NUL.
    raw = b'{"message": "C:\\\\u0000 folder", "flow": "product"}'
    answer = client.post(
        "/api/v1/explain", content=raw, headers={**world.auth("ada"), "Content-Type": "application/json"}
    )
    assert answer.status_code != 400 or "NUL" not in answer.text


# -- the importer -----------------------------------------------------------------------------------------


def test_an_unclosed_quote_is_one_rejected_line_and_the_next_lines_are_read():
    from ponte.services.importer import read_records

    records = list(read_records('sku,name\nA-1,"Unclosed\nA-2,Two\nA-3,"Multi\nline"\n', "csv"))
    assert records[0][0] == 2 and records[0][1].startswith("not valid CSV")
    assert records[1:] == [(3, {"sku": "A-2", "name": "Two"}), (5, {"sku": "A-3", "name": "Multi\nline"})]


def test_unicode_line_separators_inside_a_cell_or_a_string_do_not_split_a_line():
    """Only \\r and \\n end a line of CSV or JSON; \\x85 (NEL) and \\u2028 are text (a fuzzer found the numbering
    off by one when an unclosed quote restarted reading after a NEL)."""
    from ponte.services.importer import read_records

    assert list(read_records("sku,name\nA-1,um\x85dois\nA-2,tr\u2028es\n", "csv")) == [
        (2, {"sku": "A-1", "name": "um\x85dois"}),
        (3, {"sku": "A-2", "name": "tr\u2028es"}),
    ]
    records = list(read_records('sku,name\nA-1,"aberto\x85A-9,x\nA-2,Two\n', "csv"))
    assert records[0][0] == 2 and records[0][1].startswith("not valid CSV")
    assert records[1:] == [(3, {"sku": "A-2", "name": "Two"})]
    jsonl = '{"sku": "A-1", "name": "um\u2028dois\x85tres"}\r\n{"sku": "A-2"}'
    assert list(read_records(jsonl, "jsonl")) == [
        (1, {"sku": "A-1", "name": "um\u2028dois\x85tres"}),
        (2, {"sku": "A-2"}),
    ]


def test_deep_json_and_nul_bytes_are_rejected_lines_not_tracebacks():
    from ponte.services.importer import read_records

    jsonl = "[" * 100_000 + '\n{"sku": "A\\u0000"}\n{"sku": "B-1", "name": "ok"}\n'
    assert list(read_records(jsonl, "jsonl")) == [
        (1, "not valid JSON: nested too deeply"),
        (2, "a NUL character (\\u0000) is not accepted in any field"),
        (3, {"sku": "B-1", "name": "ok"}),
    ]
    csv_text = 'sku,attributes\nA-1,"' + '{""a"":' * 5000 + '"\nA-2,cor=x\x00y\nA-3,cor=azul\n'
    lines = list(read_records(csv_text, "csv"))
    assert [n for n, r in lines if isinstance(r, str)] == [2, 3] and lines[-1] == (
        4,
        {"sku": "A-3", "attributes": {"cor": "azul"}},
    )
