"""The SKU page's catalog editor over HTTP: what it saves, which integrations it marks pending, the audit log,
the checks as typed, and who may save (an operator and a viewer of store A)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import ALICE, VICTOR, add_sku, build_store, login
from ponte.app import create_app
from ponte.auth import Role
from ponte.services import catalog_edit
from ponte.store.tables import audit_log, integrations, skus

SKU = "TEN-900"


@pytest.fixture
def store(db: Any) -> Any:
    with db.write() as conn:
        made = build_store(conn, "loja-a", {ALICE: Role.OPERATOR, VICTOR: Role.VIEWER})
        add_sku(
            conn,
            made.account_id,
            SKU,
            "Tênis Corrida",
            images=["https://cdn.loja.com/1.jpg", "https://cdn.loja.com/2.jpg"],
        )
    return made


@pytest.fixture
def client(settings: Any, db: Any) -> Any:
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def form(csrf: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf": csrf, "sku": SKU, "name": "Tênis Corrida", "description": "", "brand": "Ponte", "category": "Calçados",
        "ean": "7891234567895", "price": "179.90", "list_price": "199.90", "weight_g": "800", "height_cm": "",
        "width_cm": "", "length_cm": "", "handling_days": "1", "active": "on",
        "attr_name": ["Cor", ""], "attr_value": ["Azul", ""],
        "image_url": ["https://cdn.loja.com/1.jpg", "https://cdn.loja.com/2.jpg"], "image_order": ["1", "2"],
        "wh_name": [""], "wh_qty": [""], "reason": "preço da campanha",
    }  # fmt: skip
    data.update(changes)
    return data


def pending(db: Any) -> set[str]:
    with db.read() as conn:
        query = select(integrations.c.flow).where(integrations.c.entity == SKU, integrations.c.status == "pending")
        return set(conn.execute(query).scalars())


def test_a_new_price_marks_only_the_price_sends_pending_and_is_in_the_audit_log(
    client: Any, db: Any, store: Any
) -> None:
    csrf = login(client, ALICE)
    answer = client.post("/catalog/sku/save", data=form(csrf, price="149.90"))
    assert answer.status_code == 200 and "149.90" in answer.text
    assert pending(db) == {"price"}
    with db.read() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "sku.edit")).one()
    assert entry.actor == ALICE and entry.detail["reason"] == "preço da campanha"
    assert entry.detail["changes"] == {"price": ["179.90", "149.90"]}


def test_images_are_reordered_removed_and_added_and_the_product_is_sent_again(client: Any, db: Any, store: Any) -> None:
    csrf = login(client, ALICE)
    data = form(csrf, image_order=["2", "1"], image_remove=["0"], image_new="https://cdn.loja.com/3.png")
    assert client.post("/catalog/sku/save", data=data).status_code == 200
    with db.read() as conn:
        images = conn.execute(select(skus.c.images).where(skus.c.sku == SKU)).scalar_one()
    assert images == ["https://cdn.loja.com/2.jpg", "https://cdn.loja.com/3.png"]
    assert pending(db) == {"product"}


def test_a_bad_ean_or_a_price_above_the_list_price_changes_nothing(client: Any, db: Any, store: Any) -> None:
    csrf = login(client, ALICE)
    answer = client.post("/catalog/sku/save?lang=pt-BR", data=form(csrf, ean="7891234567890", price="250"))
    assert answer.status_code == 400
    assert "EAN/GTIN inválido" in answer.text and "não pode ser maior que o preço de tabela" in answer.text
    assert client.post("/catalog/sku/save", data=form(csrf, weight_g="0")).status_code == 400
    assert client.post("/catalog/sku/save", data=form(csrf, price="149.90", reason=" ")).status_code == 400
    with db.read() as conn:
        row = conn.execute(select(skus).where(skus.c.sku == SKU)).one()
        assert str(row.price) == "179.90" and row.ean == "7891234567895" and row.weight_g == 800
        assert conn.execute(select(audit_log)).first() is None
    assert pending(db) == set()


def test_the_check_as_typed_names_each_field_in_the_user_language(client: Any, store: Any) -> None:
    csrf = login(client, ALICE)
    client.get("/overview?lang=en")
    answer = client.post("/catalog/sku/check", data=form(csrf, ean="123", weight_g="-5"))
    assert 'id="err-ean"' in answer.text and "Invalid EAN/GTIN" in answer.text
    assert "2 field(s) to fix" in answer.text
    assert "Invalid" not in client.post("/catalog/sku/check", data=form(csrf)).text


def test_a_viewer_sees_the_editor_read_only_and_cannot_save(client: Any, db: Any, store: Any) -> None:
    csrf = login(client, VICTOR)
    page = client.get(f"/skus/{SKU}").text
    assert 'id="sku-readonly"' in page and 'id="sku-save"' not in page and "<fieldset disabled>" in page
    assert client.post("/catalog/sku/save", data=form(csrf, price="1.00")).status_code == 403
    assert pending(db) == set()


def test_every_field_the_flows_send_is_in_the_editor() -> None:
    sent = {"name", "description", "brand", "category", "ean", "attributes", "images", "weight_g", "height_cm",
            "width_cm", "length_cm", "price", "list_price", "stock", "active", "handling_days"}  # fmt: skip
    assert set(catalog_edit.FIELDS) == sent


@pytest.mark.parametrize("article", ["invalid_category", "missing_attribute"])
def test_the_help_article_points_to_the_mapping_screen_that_exists(client: Any, store: Any, article: str) -> None:
    import re

    login(client, ALICE)
    for lang in ("pt-BR", "en"):
        text = client.get(f"/help/{article}?lang={lang}").text
        links = re.findall(r'href="(/catalog/[^"]*)"', text)
        assert links == ["/catalog/mapping"]
        assert client.get(links[0]).status_code == 200
