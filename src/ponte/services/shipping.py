"""Shipping rules (SLAs): which delivery options cover a postal-code range up to a weight."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection

from ponte.domain.messages import say
from ponte.services.errors import InputError
from ponte.store.shipping import insert_shipping_rule


def add_shipping_rule(
    conn: Connection,
    *,
    account_id: int,
    sla: str,
    postal_from: str,
    postal_to: str,
    max_weight_g: int,
    days: int,
    price: Decimal,
) -> int:
    for name, value in (("postal_from", postal_from), ("postal_to", postal_to)):
        if not (value.isdigit() and len(value) == 8):
            raise InputError(say("msg.shipping.postal_code", field=name), field=name)
    if postal_from > postal_to:
        raise InputError(say("msg.shipping.postal_range"), field="postal_from")
    if max_weight_g <= 0 or days < 0:
        raise InputError(say("msg.shipping.weight_days"), field="max_weight_g")
    return insert_shipping_rule(
        conn,
        account_id=account_id,
        sla=sla,
        postal_from=postal_from,
        postal_to=postal_to,
        max_weight_g=max_weight_g,
        days=days,
        price=price,
    )
