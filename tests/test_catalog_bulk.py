"""Bulk changes to the catalog (issue 21 item 6): the preview's counts, exactly the matched SKUs changed, only the
integrations the change concerns marked pending, the audit log, who may apply, bad filters, and 2,000 SKUs in
chunks; over the service, the catalog page and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from factories import ALICE, VICTOR, add_integration, add_sku, build_store, login
from ponte.app import create_app
from ponte.auth import Role
from ponte.services import catalog_bulk
from ponte.services.catalog_bulk import BulkAction, BulkRequest, CatalogFilter
from ponte.services.errors import InputError
from ponte.services.tokens import create_token
from ponte.store import mappings as stored
from ponte.store.tables import affiliates, audit_log, category_mappings, integrations, skus

# A Mercado Livre tree as its connector caches it (services/mapping.py `_node`): two leaves under a parent.
TREE = [
    {"id": "MLB1000", "name": "Celulares", "parent": None, "leaf": False, "path": "Celulares"},
    {"id": "MLB1055", "name": "Smartphones", "parent": "MLB1000", "leaf": True, "path": "Celulares › Smartphones"},
    {"id": "MLB1056", "name": "Capas", "parent": "MLB1000", "leaf": True, "path": "Celulares › Capas"},
]


@pytest.fixture
def store(db: Any) -> Any:
    """Store A: six Ponte SKUs (four blue, two black), four Acme ones; MLB on Mercado Livre with its tree cached."""
    with db.write() as conn:
        made = build_store(conn, "loja-a", {ALICE: Role.OPERATOR, VICTOR: Role.VIEWER})
        for n in range(1, 7):
            add_sku(conn, made.account_id, f"PON-{n:03d}", f"Tênis Ponte {n}", attributes={"Cor": "Azul" if n <= 4 else "Preto"})  # fmt: skip
        for n in range(1, 5):
            add_sku(conn, made.account_id, f"ACM-{n:03d}", f"Celular Acme {n}", brand="Acme", category="Celulares")
        mlb = made.affiliates["MLB"]
        conn.execute(
            update(affiliates)
            .where(affiliates.c.id == mlb)
            .values(connector="mercadolivre", settings={"site_id": "MLB"})
        )
        stored.save_taxonomy(conn, account_id=made.account_id, affiliate_id=mlb, key=stored.TREE, data=TREE)
    return made


def bulk(action: dict[str, Any], reason: str = "campanha de verão", **filter: Any) -> BulkRequest:
    return BulkRequest(filter=CatalogFilter(**filter), action=BulkAction(**action), reason=reason)


def pending(db: Any) -> set[tuple[str, str, int]]:
    i = integrations.c
    with db.read() as conn:
        return {(r.entity, r.flow, r.affiliate_id) for r in conn.execute(select(i.entity, i.flow, i.affiliate_id).where(i.status == "pending"))}  # fmt: skip


def colours(db: Any) -> dict[str, str | None]:
    with db.read() as conn:
        return {r.sku: (r.attributes or {}).get("Cor") for r in conn.execute(select(skus.c.sku, skus.c.attributes))}


SET_BLACK = {"kind": "attribute", "attribute": "Cor", "value": "Preto"}


def test_the_preview_counts_what_matches_and_what_would_change_and_writes_nothing(db: Any, store: Any) -> None:
    with db.read() as conn:
        found = catalog_bulk.preview(conn, account_id=store.account_id, request=bulk(SET_BLACK, brand="Ponte"))
    assert (found.matched, found.changing, found.unchanged) == (6, 4, 2)
    assert [(c.sku, c.before, c.after) for c in found.sample] == [
        (f"PON-{n:03d}", "Azul", "Preto") for n in range(1, 5)
    ]
    assert colours(db)["PON-001"] == "Azul" and pending(db) == set()


def test_applying_changes_exactly_the_matched_skus_and_marks_only_their_product_sends(db: Any, store: Any) -> None:
    done = catalog_bulk.apply(db, account_id=store.account_id, request=bulk(SET_BLACK, brand="Ponte"), actor=ALICE)
    assert (done.matched, done.changed) == (6, 4)
    assert colours(db) == {
        **{f"PON-{n:03d}": "Preto" for n in range(1, 7)},
        **{f"ACM-{n:03d}": "Azul" for n in range(1, 5)},
    }
    marketplaces = {store.affiliates[code] for code in ("MLB", "AMZ", "B2W")}
    assert pending(db) == {(f"PON-{n:03d}", "product", a) for n in range(1, 5) for a in marketplaces}
    assert done.pending == 12
    with db.read() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "catalog.bulk")).one()
    assert entry.actor == ALICE and entry.detail["reason"] == "campanha de verão"
    assert entry.detail["filter"] == {"brand": "Ponte"} and entry.detail["action"]["value"] == "Preto"
    assert (entry.detail["changed"], entry.detail["pending"]) == (4, 12)
    assert entry.detail["skus"] == [f"PON-{n:03d}" for n in range(1, 5)]


def test_a_category_mapping_marks_only_that_marketplace_and_counts_skus_already_there(db: Any, store: Any) -> None:
    mlb = store.affiliates["MLB"]
    with db.write() as conn:
        stored.save_sku_overrides(conn, account_id=store.account_id, affiliate_id=mlb, skus=["ACM-004"], target="MLB1055", target_name=None, actor="setup")  # fmt: skip
    request = bulk({"kind": "category_mapping", "affiliate": "MLB", "target": "MLB1055"}, category="Celulares")
    with db.read() as conn:
        found = catalog_bulk.preview(conn, account_id=store.account_id, request=request)
    assert (found.matched, found.changing, found.unchanged) == (4, 3, 1)
    assert (found.sample[0].before, found.sample[0].after) == ("Celulares", "MLB1055")  # as sent unmapped
    catalog_bulk.apply(db, account_id=store.account_id, request=request, actor=ALICE)
    assert pending(db) == {(f"ACM-{n:03d}", "product", mlb) for n in range(1, 4)}
    with db.read() as conn:
        mapped = stored.category_mappings(conn, affiliate_ids=[mlb])
    assert {key for (_, scope, key) in mapped if scope == "sku"} == {f"ACM-{n:03d}" for n in range(1, 5)}
    assert mapped[(mlb, "sku", "ACM-001")].target_name == "Celulares › Smartphones"


def test_pausing_skus_marks_their_product_price_and_stock_sends(db: Any, store: Any) -> None:
    request = bulk({"kind": "field", "field": "active", "value": "não"}, text="acm-00")
    done = catalog_bulk.apply(db, account_id=store.account_id, request=request, actor=ALICE)
    assert done.changed == 4
    with db.read() as conn:
        paused = set(conn.execute(select(skus.c.sku).where(skus.c.active.is_(False))).scalars())
    assert paused == {f"ACM-{n:03d}" for n in range(1, 5)}
    assert {(flow) for _, flow, _ in pending(db)} == {"product", "price", "inventory"}


def test_the_status_filter_takes_the_product_status_on_the_chosen_affiliate(db: Any, store: Any) -> None:
    with db.write() as conn:
        add_integration(conn, store.account_id, flow="product", affiliate_id=store.affiliates["MLB"], entity="PON-002", status="error")  # fmt: skip
        add_integration(conn, store.account_id, flow="product", affiliate_id=store.affiliates["AMZ"], entity="PON-003", status="error")  # fmt: skip
        add_integration(conn, store.account_id, flow="price", affiliate_id=store.affiliates["MLB"], entity="PON-004", status="error")  # fmt: skip
    with db.read() as conn:
        on_mlb = catalog_bulk.preview(conn, account_id=store.account_id, request=bulk(SET_BLACK, affiliate="MLB", status="error"))  # fmt: skip
        anywhere = catalog_bulk.preview(conn, account_id=store.account_id, request=bulk(SET_BLACK, status="error"))
    assert [c.sku for c in on_mlb.sample] == ["PON-002"]
    assert [c.sku for c in anywhere.sample] == ["PON-002", "PON-003"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (lambda: bulk(SET_BLACK, affiliate="XYZ"), "affiliate"),
        (lambda: bulk({"kind": "category_mapping", "affiliate": "MLB", "target": "MLB1000"}), "target"),  # a parent
        (lambda: bulk({"kind": "category_mapping", "affiliate": "AMZ", "target": "X1"}), "affiliate"),  # no tree
        (lambda: bulk({"kind": "field", "field": "active", "value": "talvez"}), "value"),
        (lambda: bulk(SET_BLACK, reason="  "), "reason"),
    ],
)
def test_a_bad_filter_or_action_is_refused_whole_and_changes_nothing(
    db: Any, store: Any, request_: Any, field: str
) -> None:
    with pytest.raises(InputError) as refused:
        catalog_bulk.apply(db, account_id=store.account_id, request=request_(), actor=ALICE)
    assert refused.value.field == field
    assert colours(db)["PON-001"] == "Azul" and pending(db) == set()
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(category_mappings)).scalar_one() == 0


def test_another_store_s_bulk_change_never_reaches_this_store(db: Any, store: Any) -> None:
    with db.write() as conn:
        other = build_store(conn, "loja-b", {})
        add_sku(conn, other.account_id, "PON-001", "Tênis da loja B", attributes={"Cor": "Azul"})
    done = catalog_bulk.apply(db, account_id=other.account_id, request=bulk(SET_BLACK, brand="Ponte"), actor="bob")
    assert (done.matched, done.changed) == (1, 1)
    with db.read() as conn:
        rows = conn.execute(select(skus.c.account_id, skus.c.attributes).where(skus.c.sku == "PON-001")).all()
    assert {account: a["Cor"] for account, a in rows} == {store.account_id: "Azul", other.account_id: "Preto"}
    assert {entity for entity, _, _ in pending(db)} == {"PON-001"}
    with db.read() as conn:
        marked = conn.execute(select(integrations.c.account_id).where(integrations.c.status == "pending")).scalars()
        assert set(marked) == {other.account_id}
    with pytest.raises(InputError):  # an affiliate code of store A means nothing to store B
        catalog_bulk.apply(db, account_id=other.account_id, request=bulk(SET_BLACK, affiliate="XYZ"), actor="bob")


def test_two_thousand_skus_change_in_chunks_even_when_the_change_leaves_the_filter(db: Any, store: Any) -> None:
    with db.write() as conn:
        conn.execute(skus.insert(), [{"account_id": store.account_id, "sku": f"LOT-{n:05d}", "name": f"Meia {n}", "brand": "Lote", "category": "Meias", "attributes": {}, "images": [], "created_at": store_now(), "updated_at": store_now()} for n in range(2000)])  # fmt: skip
    request = bulk({"kind": "field", "field": "brand", "value": "Lote 2"}, brand="Lote")
    started = time.perf_counter()
    run = catalog_bulk.start(db, account_id=store.account_id, request=request, actor=ALICE)
    chunks = []
    for done in run.steps:  # the same running totals, after each transaction
        chunks.append(done.matched)
    took = time.perf_counter() - started
    print(f"bulk change of 2000 SKUs on {db.engine.dialect.name}: {took:.2f} s")
    assert (done.matched, done.changed, done.pending) == (2000, 2000, 6000)
    assert run.total == 2000 and chunks == [500, 1000, 1500, 2000]  # four transactions
    # The filter's SKUs are walked by id, though each chunk's change takes them out of it.
    with db.read() as conn:
        assert conn.execute(select(func.count()).where(skus.c.brand == "Lote 2")).scalar_one() == 2000
        entries = conn.execute(select(audit_log.c.detail).order_by(audit_log.c.id)).scalars().all()
    assert [len(e["skus"]) for e in entries] == [500] * 4  # each chunk's change recorded with it, one run
    assert len({e["run"] for e in entries}) == 1 and entries[0]["skus"][0] == "LOT-00000"
    # Measured on the shared 2-core machine: SQLite 0.3 s; PostgreSQL 4.5-9 s, most of it marking the 6,000
    # integrations pending. So the page streams a progress bar a chunk at a time rather than wait in silence.
    assert took < 60


def store_now() -> Any:
    from ponte.clock import now

    return now()


# -- the catalog page and the API -------------------------------------------------------------------------------


@pytest.fixture
def client(settings: Any, db: Any) -> Any:
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


FORM = {"brand": "Ponte", "kind": "attribute", "attribute": "Cor", "value": "Preto"}


def test_an_operator_filters_previews_and_confirms_on_the_catalog_page(client: Any, db: Any, store: Any) -> None:
    csrf = login(client, ALICE)
    listed = client.get("/catalog?brand=Ponte")
    assert listed.status_code == 200 and "PON-006" in listed.text and "ACM-001" not in listed.text
    assert 'id="bulk-attribute"' in listed.text
    shown = client.post("/catalog/bulk/preview", data={**FORM, "csrf": csrf})
    assert shown.status_code == 200 and 'id="bulk-changing">4<' in shown.text and 'id="bulk-unchanged">2<' in shown.text
    refused = client.post("/catalog/bulk/apply", data={**FORM, "csrf": csrf})  # no reason
    assert refused.status_code == 400 and colours(db)["PON-001"] == "Azul"
    applied = client.post("/catalog/bulk/apply", data={**FORM, "csrf": csrf, "reason": "nova coleção"})
    assert applied.status_code == 200 and 'id="bulk-result">4 SKUs alterados' in applied.text
    assert '<progress value="6" max="6">' in applied.text and "12 integrações marcadas como pendentes" in applied.text
    assert 'href="/catalog?brand=Ponte" id="bulk-back"' in applied.text
    assert colours(db)["PON-001"] == "Preto" and colours(db)["ACM-001"] == "Azul"


def test_a_bad_filter_on_the_page_says_why(client: Any, db: Any, store: Any) -> None:
    csrf = login(client, ALICE)
    answer = client.get("/catalog?status=quebrado")
    assert answer.status_code == 400 and "o valor de status não é válido" in answer.text
    answer = client.post("/catalog/bulk/preview", data={**FORM, "affiliate": "XYZ", "csrf": csrf})
    assert answer.status_code == 400 and "não há afiliado XYZ nesta loja" in answer.text


def test_a_viewer_sees_the_catalog_without_the_bulk_forms_and_cannot_apply(client: Any, db: Any, store: Any) -> None:
    csrf = login(client, VICTOR)
    listed = client.get("/catalog")
    assert listed.status_code == 200 and "PON-001" in listed.text and "/catalog/bulk/preview" not in listed.text
    for path in ("/catalog/bulk/preview", "/catalog/bulk/apply"):
        assert client.post(path, data={**FORM, "csrf": csrf, "reason": "x"}).status_code == 403
    assert colours(db)["PON-001"] == "Azul" and pending(db) == set()


def test_the_api_previews_with_dry_run_applies_and_refuses_a_viewer(client: Any, db: Any, store: Any) -> None:
    with db.write() as conn:
        tokens = {
            role: create_token(conn, account_id=store.account_id, name=role.value, role=role, actor="setup").token
            for role in (Role.OPERATOR, Role.VIEWER)
        }
    body = {"filter": {"brand": "Ponte"}, "action": SET_BLACK}
    operator = {"Authorization": f"Bearer {tokens[Role.OPERATOR]}"}
    dry = client.post("/api/v1/catalog/bulk", json=body, headers=operator)
    assert dry.status_code == 200, dry.text
    assert dry.json()["matched"] == 6 and dry.json()["changed"] == 4 and len(dry.json()["sample"]) == 4
    assert colours(db)["PON-001"] == "Azul"
    viewer = {"Authorization": f"Bearer {tokens[Role.VIEWER]}"}
    assert client.post("/api/v1/catalog/bulk", json={**body, "dry_run": False, "reason": "x"}, headers=viewer).status_code == 403  # fmt: skip
    bad = client.post("/api/v1/catalog/bulk", json={**body, "filter": {"affiliate": "XYZ"}}, headers=operator)
    assert bad.status_code == 422 and bad.json()["field"] == "affiliate"
    done = client.post("/api/v1/catalog/bulk", json={**body, "dry_run": False, "reason": "coleção"}, headers=operator)
    assert done.status_code == 200 and (done.json()["changed"], done.json()["pending"]) == (4, 12)
    assert colours(db)["PON-004"] == "Preto"


def test_the_sheet_import_takes_a_binary_workbook_but_no_nul_in_its_fields(client: Any, db: Any, store: Any) -> None:
    csrf = login(client, ALICE)
    url = f"/catalog/mapping/{store.affiliates['MLB']}/import"
    workbook = ("sheet.xlsx", b"PK\x03\x04\x00\x00 a zip's NUL bytes", "application/octet-stream")
    read = client.post(url, data={"csrf": csrf, "category": "MLB1055"}, files={"file": workbook})
    assert read.status_code == 400 and "não foi possível ler a planilha .xlsx" in read.text  # reached the route
    nul = client.post(url, data={"csrf": csrf, "category": "MLB1055\x00"}, files={"file": workbook})
    assert nul.status_code == 400 and "o valor de category não é válido" in nul.text
    elsewhere = client.post("/catalog/bulk/preview", data={**FORM, "csrf": csrf, "value": "a\x00b"})
    assert elsewhere.status_code == 400 and "NUL" in elsewhere.text  # every other form is still searched
