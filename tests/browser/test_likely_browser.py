"""A category the model only guessed says so on the screen ("provável"), in headless Chromium."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from factories import ALICE, add_integration, knowledge_unsure_of, two_stores

pytestmark = pytest.mark.browser


def test_the_details_mark_a_guessed_category_as_likely(server, page, tmp_path, monkeypatch):
    with server.db.write() as conn:
        a, _ = two_stores(conn)
        guessed = add_integration(
            conn,
            a.account_id,
            flow="order",
            affiliate_id=a.affiliates["MLB"],
            entity="PED-ZORB-1",
            status="error",
            message="Pedido travado: zorblax na integração",
            category="state_conflict",
            disposition="fix",
        )
    with knowledge_unsure_of("zorblax", "state_conflict", tmp_path, monkeypatch):
        sign_in(page, server.url, ALICE)
        page.goto(f"{server.url}/integrations/{guessed}")
        chip = page.locator(".explain .chip-likely")
        expect(chip).to_have_text("provável")
        expect(chip).to_have_attribute(
            "title",
            "Um palpite pela redação: nenhuma regra ou código do marketplace confirma. Confira; uma regra para esta mensagem torna-o certo.",
        )
        shot(page, "likely-guess-details")
