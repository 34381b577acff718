"""The demo store's "Carrefour (Mirakl)": the emulated operator seeded with the demo shop, its categories (the demo
catalog's, each with the attribute it requires) and a few products kept for review, and the affiliate that sells
there through the real connector.

For the lead's runner::

    from ponte.connectors.mirakl.demo import demo_affiliate, place_demo_orders

    carrefour = demo_affiliate(sandbox_url)                 # seeds the emulation (again: idempotent)
    create_affiliate(conn, box=box, account_id=account_id, code=carrefour["code"], name=carrefour["name"],
                     kind=carrefour["kind"], connector=carrefour["connector"],
                     settings={**carrefour["settings"], **carrefour["secrets"]}, **carrefour["options"])
    ...
    place_demo_orders(sandbox_url)                          # buyers' orders waiting for the shop's acceptance

The affiliate's base URL is `<sandbox>/mirakl`: when the sandbox's port changes between runs, point it there again
(`update_affiliate(..., changes={"settings": {"base_url": f"{sandbox_url}/mirakl"}})`).

What the demo then shows: the catalog goes as product imports (P41, one every 15 minutes at most, judged 30 seconds
later); SKUs in a category Carrefour does not have, or without the attribute their category requires, turn red
with Carrefour's words; three wait for Carrefour's review ("aguardando"); the others' offers follow, price and stock
together, once a minute. Orders wait for acceptance: one asks for more than the stock and has that line refused.
"""

from __future__ import annotations

import random
from typing import Any

import httpx

from ponte.demo.catalog import demo_skus

CODE = "CRF"
SHOP_ID, SHOP_NAME, API_KEY = 2001, "Casa & Cia", "demo-mirakl-casaecia-key"
# The demo catalog's categories as Carrefour has them, each with the attribute it requires (1000 and 1500, the
# parents some demo SKUs are wrongly filed under, are not among them).
CATEGORIES = {
    "1055": ["MODEL"],
    "1002": ["VOLTAGE"],
    "1652": ["MODEL"],
    "1574": ["COLOR"],
    "1580": ["VOLTAGE"],
    "1292": ["SABOR"],
    "3697": ["SIZE"],
}
IN_REVIEW = ("CC-00004", "CC-00011", "CC-00023")  # new products Carrefour's catalogue team has not reviewed yet


def demo_affiliate(sandbox_url: str) -> dict[str, Any]:
    """Seed the emulated operator for the demo and give the affiliate's registration."""
    base = f"{sandbox_url.rstrip('/')}/mirakl"
    with httpx.Client(base_url=base, timeout=10) as client:
        client.post(
            "/_admin/shops", json={"shop_id": SHOP_ID, "shop_name": SHOP_NAME, "api_key": API_KEY}
        ).raise_for_status()
        client.post("/_admin/catalog", json={"categories": CATEGORIES}).raise_for_status()
        client.post("/_admin/config", json={"operator": "Carrefour", "review": list(IN_REVIEW)}).raise_for_status()
    return {
        "code": CODE,
        "name": "Carrefour (Mirakl)",
        "kind": "marketplace",
        "connector": "mirakl",
        "settings": {
            "operator": "Carrefour",
            "base_url": base,
            "shop_id": SHOP_ID,
            "carriers": {"Correios": "CORREIOS", "Jadlog": "JADLOG"},
        },
        "secrets": {"api_key": API_KEY},
        "options": {"price_tolerance_pct": 2, "price_divergence_action": "deny"},
    }


def place_demo_orders(sandbox_url: str, *, count: int = 12, seed: int = 19) -> list[str]:
    """Buyers' orders on Carrefour, waiting for the shop's acceptance; every fourth asks for more than the demo's
    stock on one line (that line is refused, the others accepted). Returns the orders' ids."""
    rng = random.Random(seed)
    skus = [s for s in demo_skus() if s["sku"][-1] != "6" and s["sku"] not in IN_REVIEW]
    placed = []
    with httpx.Client(base_url=f"{sandbox_url.rstrip('/')}/mirakl", timeout=10) as client:
        for n in range(count):
            lines = []
            for sku in rng.sample(skus, rng.choice([1, 1, 2])):
                lines.append({"sku": sku["sku"], "quantity": 1, "price": float(sku["price"]), "title": sku["name"]})
            if n % 4 == 3:
                lines.append({"sku": skus[n]["sku"], "quantity": 500, "price": float(skus[n]["price"])})
            answer = client.post("/_admin/orders", json={"shop_id": SHOP_ID, "lines": lines})
            placed.append(str(answer.raise_for_status().json()["order_id"]))
    return placed


# -- the demo runner's interface (ponte.demo.marketplaces) -------------------------------------------------------


def prepare(sandbox_url: str, ponte_url: str) -> None:
    """The demo shop, its key and Carrefour's categories on the emulated operator (Mirakl calls no one back).
    The demo's imports are judged at once, so that the store's first screen already shows Carrefour's answers."""
    demo_affiliate(sandbox_url)
    answer = httpx.post(f"{sandbox_url.rstrip('/')}/mirakl/_admin/config", json={"import_seconds": 0}, timeout=10)
    answer.raise_for_status()


def settings(sandbox_url: str) -> dict[str, Any]:
    """The affiliate's settings, its key included: the real connector with only its base URL on the emulation."""
    base = f"{sandbox_url.rstrip('/')}/mirakl"
    return {
        "operator": "Carrefour",
        "base_url": base,
        "shop_id": SHOP_ID,
        "carriers": {"Correios": "CORREIOS", "Jadlog": "JADLOG"},
        "api_key": API_KEY,
    }


def buy(
    sandbox_url: str,
    *,
    sku: str,
    listing_id: str,
    quantity: int,
    price: float,
    postal_code: str,
    buyer: dict[str, Any],
) -> str:
    """A buyer's order of the shop's offer `sku`, waiting for the shop's acceptance."""
    first, _, last = str(buyer.get("name") or "Ana Souza").partition(" ")
    customer = {"firstname": first, "lastname": last, "zip_code": f"{postal_code[:5]}-{postal_code[5:]}"}
    body = {"shop_id": SHOP_ID, "lines": [{"sku": sku, "quantity": quantity, "price": price}], "customer": customer}
    base = f"{sandbox_url.rstrip('/')}/mirakl/_admin"
    answer = httpx.post(f"{base}/orders", json=body, timeout=10)
    order_id = str(answer.raise_for_status().json()["order_id"])
    # The orders waiting for acceptance are read once a minute (OR11): the demo moves the operator's clock on, so
    # that the store's first screen already has them rather than a minute later.
    httpx.post(f"{base}/clock", json={"advance": 60}, timeout=10).raise_for_status()
    return order_id


def cancel(sandbox_url: str, order_id: str) -> None:
    """Mirakl's buyers cannot cancel an order the shop has accepted before it ships: the demo leaves it be."""
