"""The sandbox marketplace itself, spoken to with plain HTTP: auth, limits, faults, orders, check digits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ponte.sandbox import SandboxServer, create_app
from ponte.sandbox.catalog import gtin_is_valid, nfe_check_digit, nfe_key_is_valid
from sandbox_fixtures import SELLER, admin_get, product


def token(
    sandbox: SandboxServer, profile: str = "magalu", client_id: str = SELLER, secret: str = "secret"
) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return httpx.post(f"{sandbox.url}/{profile}/oauth/token", json=body)


def authed(sandbox: SandboxServer, profile: str = "magalu") -> httpx.Client:
    access = token(sandbox, profile).raise_for_status().json()["access_token"]
    return httpx.Client(base_url=f"{sandbox.url}/{profile}", headers={"Authorization": f"Bearer {access}"})


# -- check digits -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["7891234567895", "96385074", "036000291452", "10012345678902", "4006381333931"])
def test_it_accepts_gtins_with_a_right_check_digit(code: str) -> None:
    assert gtin_is_valid(code)


@pytest.mark.parametrize("code", ["7891234567890", "SEM GTIN", "789123456789", "", None, "78912345678955", "12345"])
def test_it_refuses_gtins_with_a_bad_check_digit_or_length(code: Any) -> None:
    assert not gtin_is_valid(code)


def test_it_checks_the_nfe_key_digit_as_the_sefaz_manual_does() -> None:
    # The worked example of the NF-e taxpayer manual: 43 digits whose check digit is 5.
    assert nfe_check_digit("5206043300991100250655012000000780026730161") == 5
    assert nfe_key_is_valid("52060433009911002506550120000007800267301615")
    assert not nfe_key_is_valid("52060433009911002506550120000007800267301614")
    assert not nfe_key_is_valid("5206043300991100250655012000000780026730161")  # 43 digits
    assert not nfe_key_is_valid("5206043300991100250655012000000780026730161X")


def test_the_nfe_check_digit_is_zero_when_the_remainder_is_zero_or_one() -> None:
    # Brute-force a few keys whose weighted sum leaves 0 or 1, computed independently of the sandbox.
    for n in range(200):
        first43 = f"{n:043d}"
        total = sum(int(d) * w for d, w in zip(reversed(first43), [2, 3, 4, 5, 6, 7, 8, 9] * 6, strict=False))
        if total % 11 in (0, 1):
            assert nfe_check_digit(first43) == 0
        else:
            assert nfe_check_digit(first43) == 11 - total % 11


# -- auth ---------------------------------------------------------------------------------------------


def test_it_issues_a_token_to_a_new_client_with_the_sandbox_secret(sandbox: SandboxServer) -> None:
    answer = token(sandbox)
    assert answer.status_code == 200
    assert answer.json()["access_token"].startswith("APP_USR-")
    assert answer.json()["user_id"] == SELLER


def test_it_refuses_a_wrong_secret_for_a_registered_seller(sandbox: SandboxServer) -> None:
    sandbox.register_seller("magalu", "loja-bob", "s3cr3t-bob")
    answer = token(sandbox, client_id="loja-bob", secret="nope")
    assert answer.status_code == 401
    assert answer.json()["message"] == "Acesso Negado - client_id ou client_secret inválido"
    assert token(sandbox, client_id="loja-bob", secret="s3cr3t-bob").status_code == 200


def test_it_refuses_an_expired_token_in_the_marketplace_language(sandbox: SandboxServer) -> None:
    client = authed(sandbox, "magalu")
    assert client.get("/me").status_code == 200
    sandbox.control("faults", expire_tokens=True)
    answer = client.get("/me")
    assert answer.status_code == 401
    assert answer.json()["message"] == "Acesso Negado - Auth-token inválido ou inexistente"


def test_tokens_expire_after_their_ttl(sandbox: SandboxServer) -> None:
    sandbox.control("config", token_ttl=0.2)
    client = authed(sandbox)
    assert client.get("/me").status_code == 200
    import time

    time.sleep(0.3)
    assert client.get("/me").json()["message"] == "Acesso Negado - Auth-token inválido ou inexistente"


def test_an_inactive_seller_is_not_authorized(sandbox: SandboxServer) -> None:
    sandbox.register_seller("magalu", "loja-carol", "secret-carol", active=False)
    access = token(sandbox, client_id="loja-carol", secret="secret-carol").json()["access_token"]
    answer = httpx.get(f"{sandbox.url}/magalu/me", headers={"Authorization": f"Bearer {access}"})
    assert answer.status_code == 403
    assert answer.json()["message"] == "O seller está inativo e não pode publicar ofertas"


# -- limits, faults, stats ----------------------------------------------------------------------------


def test_it_answers_429_with_retry_after_over_the_sellers_rate(sandbox: SandboxServer) -> None:
    sandbox.control("config", rate=0.5, burst=2)
    client = authed(sandbox, "magalu")
    assert [client.get("/me").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/me")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["message"] == "Limite de requisições excedido. Aguarde alguns segundos e tente novamente"


def test_rate_limits_are_per_seller(sandbox: SandboxServer) -> None:
    sandbox.control("config", rate=0.1, burst=1)
    alice = authed(sandbox)
    assert alice.get("/me").status_code == 200
    assert alice.get("/me").status_code == 429
    bob_token = token(sandbox, client_id="loja-bob").json()["access_token"]
    bob = httpx.get(f"{sandbox.url}/magalu/me", headers={"Authorization": f"Bearer {bob_token}"})
    assert bob.status_code == 200


def test_it_fails_with_the_chosen_5xx_in_the_marketplace_words(sandbox: SandboxServer) -> None:
    sandbox.control("faults", error_rate=1.0, status=502)
    answer = httpx.get(f"{sandbox.url}/magalu/me")
    assert answer.status_code == 502
    assert answer.json()["message"] == "Serviço temporariamente indisponível (502 Bad Gateway)"


def test_faults_spare_the_test_helpers(sandbox: SandboxServer) -> None:
    sandbox.control("faults", error_rate=1.0, drop_rate=1.0)
    assert httpx.get(f"{sandbox.url}/_control/health").status_code == 200
    assert sandbox.register_seller("magalu", "loja-dan", "secret")["seller_id"] == "loja-dan"


def test_faults_can_be_limited_to_matching_paths(sandbox: SandboxServer) -> None:
    sandbox.control("faults", error_rate=1.0, path_contains="/price")
    client = authed(sandbox)
    assert client.get("/me").status_code == 200
    assert client.put("/items/X/price", json={"list_price": 10, "price": 10}).status_code == 503


def test_seeded_faults_strike_the_same_requests_every_run(sandbox: SandboxServer) -> None:
    def run() -> list[int]:
        sandbox.control("reset")
        sandbox.control("faults", error_rate=0.5)
        return [httpx.get(f"{sandbox.url}/magalu/categories").status_code for _ in range(20)]

    first = run()
    assert 200 in first and 503 in first
    assert run() == first


def test_it_refuses_nonsense_fault_settings(sandbox: SandboxServer) -> None:
    assert httpx.post(f"{sandbox.url}/_control/faults", json={"error_rate": 3}).status_code == 400
    assert httpx.post(f"{sandbox.url}/_control/faults", json={"status": 404}).status_code == 400
    assert httpx.post(f"{sandbox.url}/_control/faults", json={"flood": 1}).status_code == 400


def test_it_counts_requests_by_profile_endpoint_and_status(sandbox: SandboxServer) -> None:
    client = authed(sandbox, "magalu")
    client.put("/items/A-1/stock", json={"quantity": 1})
    client.put("/items/A-2/stock", json={"quantity": 1})
    stats = sandbox.stats()["by_profile"]["magalu"]
    assert stats["POST /oauth/token"] == {"200": 1}
    assert stats["PUT /items/*/stock"] == {"404": 2}


def test_it_serves_the_default_profile_without_a_prefix(sandbox: SandboxServer) -> None:
    answer = httpx.post(f"{sandbox.url}/oauth/token", json={"client_id": SELLER, "client_secret": "secret"})
    access = answer.json()["access_token"]
    me = httpx.get(f"{sandbox.url}/magalu/me", headers={"Authorization": f"Bearer {access}"})
    assert me.json()["marketplace"] == "Magalu"


def test_an_unknown_profile_or_route_is_a_404(sandbox: SandboxServer) -> None:
    assert httpx.post(f"{sandbox.url}/shopee/oauth/token", json={}).status_code == 404
    assert httpx.get(f"{sandbox.url}/magalu/nothing/here").status_code == 404


def test_create_app_refuses_an_unknown_profile() -> None:
    with pytest.raises(ValueError, match="unknown sandbox profile"):
        create_app("shopee")


# -- catalog and orders over HTTP ---------------------------------------------------------------------


def test_the_category_tree_names_leaves_and_required_attributes(sandbox: SandboxServer) -> None:
    tree = {c["id"]: c for c in httpx.get(f"{sandbox.url}/magalu/categories").json()}
    assert tree["MGLU1055"]["leaf"] and tree["MGLU1055"]["required_attributes"] == ["BRAND", "MODEL"]
    assert not tree["MGLU1000"]["leaf"]


def test_a_reposted_product_keeps_its_item_id(sandbox: SandboxServer) -> None:
    client = authed(sandbox)
    first = client.put("/items/CEL-001", json=product()).json()["id"]
    again = client.put("/items/CEL-001", json=product(name="Renamed")).json()["id"]
    other = client.put("/items/CEL-002", json=product("CEL-002", ean="7896543210982")).json()["id"]
    assert first == again and first.startswith("MGLU") and first != other


def test_an_ean_used_by_another_sku_conflicts(sandbox: SandboxServer) -> None:
    client = authed(sandbox, "magalu")
    assert client.put("/items/CEL-001", json=product()).status_code == 200
    clash = client.put("/items/CEL-009", json=product("CEL-009"))
    assert clash.status_code == 409
    assert clash.json()["code"] == "ean_duplicado"


def place(sandbox: SandboxServer, profile: str = "magalu", seller: str = SELLER, sku: str = "CEL-001") -> str:
    return sandbox.place_order(profile, seller, [{"sku": sku, "quantity": 1, "price": 1999.9}], shipping_total=20.0)


def test_the_order_feed_pages_with_a_cursor_and_only_shows_the_sellers_orders(sandbox: SandboxServer) -> None:
    ids = [place(sandbox), place(sandbox, seller="loja-bob"), place(sandbox), place(sandbox)]
    client = authed(sandbox)
    page = client.get("/orders", params={"limit": 2}).json()
    assert [str(o["codigo"]) for o in page["pedidos"]] == [ids[0], ids[2]]
    rest = client.get("/orders", params={"since": page["proximo_cursor"]}).json()
    assert [str(o["codigo"]) for o in rest["pedidos"]] == [ids[3]]
    empty = client.get("/orders", params={"since": rest["proximo_cursor"]}).json()
    assert empty["pedidos"] == [] and empty["proximo_cursor"] == rest["proximo_cursor"]
    assert client.get("/orders", params={"since": "abc"}).status_code == 400


def test_a_cancelled_order_cannot_be_acknowledged_or_shipped(sandbox: SandboxServer) -> None:
    order_id = place(sandbox, "magalu")
    httpx.post(f"{sandbox.url}/magalu/_buyer/orders/{order_id}/cancel").raise_for_status()
    client = authed(sandbox, "magalu")
    ack = client.post(f"/orders/{order_id}/ack", json={"status": "integrated", "message": "ok"})
    assert ack.status_code == 409
    assert ack.json()["message"] == f"O pedido {order_id} já está cancelado e não pode ser alterado"
    assert admin_get(sandbox, f"/magalu/_admin/orders/{order_id}")["status"] == "cancelled"


def test_a_listing_in_review_can_be_released_by_the_admin_helper(sandbox: SandboxServer) -> None:
    client = authed(sandbox)
    supplement = product("SUP-1", category="MGLU1292", ean=None, attributes={})
    assert client.put("/items/SUP-1", json=supplement).json()["status"] == "under_review"
    assert client.put("/items/SUP-1/stock", json={"quantity": 3}).status_code == 409
    httpx.post(f"{sandbox.url}/magalu/_admin/items/SUP-1/status", json={"seller": SELLER, "status": "active"})
    assert client.put("/items/SUP-1/stock", json={"quantity": 3}).status_code == 200
    assert admin_get(sandbox, "/magalu/_admin/items/SUP-1", seller=SELLER)["quantity"] == 3


def test_a_sku_that_changes_its_ean_frees_the_old_one(sandbox: SandboxServer) -> None:
    client = authed(sandbox)
    assert client.put("/items/CEL-001", json=product()).status_code == 200
    assert client.put("/items/CEL-001", json=product(ean="7896543210982")).status_code == 200
    assert client.put("/items/CEL-002", json=product("CEL-002")).status_code == 200
    assert client.put("/items/CEL-003", json=product("CEL-003", ean="7896543210982")).status_code == 409
