"""A simulated ERP beside the marketplaces: it receives orders from Ponte's webhook connector.

`POST /_erp/orders` checks the signature with the secret given by `?secret=` at setup time
(`POST /_erp/config {"secret": ...}`), and refuses orders the way real ERPs do: a carrier it does not
know, a buyer document it cannot read. `GET /_erp/orders` lists what it accepted.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.webhook import SIGNATURE_HEADER, verify
from ponte.sandbox.answers import json_response

# Carriers this ERP has registered; an order shipped by another is refused, as ERPs do.
KNOWN_SLAS = {"Normal", "Expressa SP"}


class Erp:
    def __init__(self, secret: str = "demo-erp-secret") -> None:
        self.secret = secret
        self.orders: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    async def configure(self, request: Request) -> Response:
        body = orjson.loads(await request.body() or b"{}")
        if isinstance(body, dict) and isinstance(body.get("secret"), str):
            self.secret = body["secret"]
        return json_response({"secret_set": True})

    async def receive(self, request: Request) -> Response:
        raw = await request.body()
        if not verify(self.secret, raw, request.headers.get(SIGNATURE_HEADER, "")):
            return json_response({"message": "Assinatura inválida: pedido recusado pelo ERP"}, 401)
        try:
            delivery = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return json_response({"message": "JSON inválido"}, 400)
        order = delivery.get("data") or {} if isinstance(delivery, dict) else {}
        if delivery.get("event") == "ping":
            return json_response({"message": "pong"})
        order_id = str(order.get("order_id") or "")
        if order.get("sla") not in KNOWN_SLAS:
            message = (
                f"PEDIDO {order_id} Interface = 15 Msg = transportadora / servico de entrega "
                f"({order.get('sla')} - {order.get('sla')}) nao cadastrados"
            )
            return json_response({"message": message}, 422)
        with self.lock:
            known = order_id in self.orders
            self.orders[order_id] = order
        return json_response({"message": f"Pedido {order_id} {'atualizado' if known else 'importado'} no ERP"})

    async def list_orders(self, request: Request) -> Response:
        with self.lock:
            return json_response({"orders": list(self.orders.values())})
