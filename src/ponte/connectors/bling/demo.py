"""The demo store's ERP on the emulated Bling: the app as registered in Bling's Central de Extensões, the demo company
that authorised it (its products are the demo catalog's, so that orders find their items by code), its payment
method and its stores, one per demo marketplace.

For the lead's runner::

    from ponte.connectors.bling.demo import demo_affiliate

    bling = demo_affiliate(sandbox_url)            # seeds the emulation (again: idempotent)
    create_affiliate(conn, box=box, account_id=account_id, code=bling["code"], name=bling["name"],
                     kind=bling["kind"], connector=bling["connector"],
                     settings={**bling["settings"], **bling["secrets"]})
    StoredCredentials(db, box, affiliate_id).store(*authorised(sandbox_url))

Bling then receives every placed demo order as a sales order and issues its NF-e at the next read of its notes
(the worker reads them every five minutes); the NF-e and tracking go back to the order's marketplace.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ponte.connectors.base import Grant, Identity
from ponte.demo.catalog import demo_skus

CODE = "BLING"
CLIENT_ID = "c0ffee5d3b1e4a9f8e7d"
CLIENT_SECRET = "demo-app-secret-bling"
COMPANY, COMPANY_NAME, CNPJ = "9f1c2b7a4d5e6f708192a3b4c5d6e7f8", "Casa & Cia Comércio LTDA", "12345678000195"
PAYMENT_METHOD = 1
STORES = {"MLB": 204100001, "CRF": 204100002, "MGZ": 204100003, "AMZ": 204100004}  # a Bling store per marketplace


def _admin(sandbox_url: str, path: str, **body: Any) -> Any:
    answer = httpx.post(f"{sandbox_url.rstrip('/')}/bling/_admin{path}", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()


def prepare(sandbox_url: str, ponte_url: str) -> None:
    """The app (its redirect link at this Ponte), the demo company with the demo catalog as its products."""
    _admin(
        sandbox_url, "/apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        redirect_uri=f"{ponte_url.rstrip('/')}/oauth/callback/bling",
    )  # fmt: skip
    _admin(
        sandbox_url, "/companies", id=COMPANY, nome=COMPANY_NAME, cnpj=CNPJ, payment_methods=[PAYMENT_METHOD],
        stores=list(STORES.values()),
    )  # fmt: skip
    products = [
        {"codigo": s["sku"], "nome": s["name"], "preco": float(s["price"]), "descricaoCurta": s["description"],
         "situacao": "A" if s.get("active", True) else "I"}
        for s in demo_skus()
    ]  # fmt: skip
    _admin(sandbox_url, "/products", company=COMPANY, products=products)
    _admin(sandbox_url, "/config", nfe_seconds=0)  # issued by the next read of the notes


def settings(sandbox_url: str) -> dict[str, Any]:
    """The affiliate's settings, its secret included: the real connector with only its URLs on the emulation."""
    base = f"{sandbox_url.rstrip('/')}/bling/Api/v3"
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "api_url": base,
        "auth_url": base,
        "payment_method_id": PAYMENT_METHOD,
        "store_ids": dict(STORES),
        # The demo's catalog is read from Bling's product list (names, prices, descriptions): the demo store's
        # attributes, images and stock per distribution centre are Ponte's own.
        "catalog_details": False,
    }


def demo_affiliate(sandbox_url: str, ponte_url: str = "http://127.0.0.1:8000") -> dict[str, Any]:
    """Seed the emulated Bling for the demo and give the affiliate's registration."""
    prepare(sandbox_url, ponte_url)
    values = settings(sandbox_url)
    secret = values.pop("client_secret")
    return {
        "code": CODE,
        "name": "Bling (ERP)",
        "kind": "erp",
        "connector": "bling",
        "settings": values,
        "secrets": {"client_secret": secret},
    }


def authorised(sandbox_url: str) -> tuple[Grant, Identity]:
    """Tokens as if the demo company had approved the app (the Affiliates page's "Reconectar" walks the real flow)."""
    answer = _admin(sandbox_url, "/grants", client_id=CLIENT_ID, company=COMPANY)
    expires = datetime.now(UTC) + timedelta(seconds=answer["expires_in"])
    grant = Grant(answer["access_token"], answer["refresh_token"], expires, {"scope": answer["scope"]})
    return grant, Identity(COMPANY, COMPANY_NAME, {"cnpj": CNPJ})
