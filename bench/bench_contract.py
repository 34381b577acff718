"""Benchmark: contract checks per second on the requests connectors send most (ponte.contract, strict mode).

Run: .venv/bin/python bench/bench_contract.py [--quick]
Prints one BENCH line; `run(quick)` returns it for the bench runner. Times are CPU time of this process.
The mix: an Amazon putListingsItem and patchListingsItem, a getOrders query, a Mirakl OF24 with one offer and with
twenty, an OR21 acceptance, a Bling product and sales order — each checked whole (operation found, parameters,
body, undeclared fields). The baseline is the least any check must do: parse the same bodies (orjson.loads).
The target is 2,000 checks/s, i.e. half a millisecond each ("well under a millisecond" for a typical body); the
specs are loaded and each operation's validators compiled before timing (a start-up cost, once per process).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson

from ponte.contract import HttpRequest, contract

TARGET = 2_000
BR = "A2Q3Y263D00KWC"


def _offer(i: int) -> dict[str, Any]:
    return {
        "shop_sku": f"SKU-{i}",
        "product_id": "7891234567895",
        "product_id_type": "EAN",
        "price": 99.9 + i,
        "quantity": i,
        "state_code": "11",
        "update_delete": "update",
    }


def requests() -> list[tuple[str, HttpRequest]]:
    """(contract, request) of the mix."""
    listing = f"/listings/2021-08-01/items/A3SELLER/SKU-1?marketplaceIds={BR}"
    attributes = {"item_name": [{"value": "Acme X1", "marketplace_id": BR}], "brand": [{"value": "Acme"}]}
    offer = {"marketplace_id": BR, "currency": "BRL", "our_price": [{"schedule": [{"value_with_tax": 99.9}]}]}
    patch = {"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]}
    item = {"codigo": "SKU-1", "descricao": "Acme X1", "quantidade": 1, "valor": 99.9, "valorLista": 99.9}
    sale = {
        "contato": {"id": 1},
        "data": "2026-01-10",
        "dataSaida": "2026-01-10",
        "dataPrevista": "2026-01-12",
        "itens": [item],
        "parcelas": [{"dataVencimento": "2026-01-10", "valor": 99.9, "formaPagamento": {"id": 1}}],
    }
    product = {"nome": "Acme X1", "codigo": "SKU-1", "preco": 99.9, "tipo": "P", "situacao": "A", "formato": "S"}
    build = HttpRequest.build
    return [
        ("amazon", build("PUT", listing, json={"productType": "PHONE", "attributes": attributes})),
        ("amazon", build("PATCH", listing, json={"productType": "PHONE", "patches": [patch]})),
        ("amazon", build("GET", f"/orders/v0/orders?MarketplaceIds={BR}&CreatedAfter=2026-01-01T00:00:00Z")),
        ("mirakl", build("POST", "/api/offers", json={"offers": [_offer(1)]})),
        ("mirakl", build("POST", "/api/offers", json={"offers": [_offer(i) for i in range(20)]})),
        ("mirakl", build("PUT", "/api/orders/O-1/accept", json={"order_lines": [{"id": "O-1-1", "accepted": True}]})),
        ("bling", build("POST", "/produtos", json=product)),
        ("bling", build("POST", "/pedidos/vendas", json=sale)),
    ]


def _rate(function: Any, mix: list[tuple[str, HttpRequest]], repeats: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(rounds):
            for name, request in mix:
                function(name, request)
        best = min(best, time.process_time() - started)
    return rounds * len(mix) / max(best, 1e-9)


def run(quick: bool = False) -> list[str]:
    """Measure and return the BENCH line."""
    mix = requests()
    contracts = {name: contract(name) for name, _ in mix}
    for name, request in mix:  # load the specs and compile the validators: not what is measured
        problems = contracts[name].check(request, strict=True)[1]
        if problems:
            raise AssertionError(f"the benchmark's own request fails its spec: {request}: {problems}")
    rounds, repeats = (50, 3) if quick else (500, 5)
    baseline = _rate(lambda name, request: orjson.loads(request.body) if request.body else None, mix, repeats, rounds)
    value = _rate(lambda name, request: contracts[name].check(request, strict=True), mix, repeats, rounds)
    verdict = "ok" if value >= TARGET else "MISS"
    return [
        f"BENCH contract - value={value:.0f} unit=checks/s baseline={baseline:.0f} ratio={value / baseline:.3f} "
        f"target={TARGET} {verdict}"
    ]


if __name__ == "__main__":
    print("\n".join(run("--quick" in sys.argv[1:])))
