"""Mirakl's orders in Ponte's shape, and what goes back: each line accepted or refused (OR21), the tracking
(OR23) and the shipment (OR24).

The feed reads the orders waiting for the shop's acceptance (OR11 `order_state_codes=WAITING_ACCEPTANCE`). Each
line keeps its Mirakl id (`order_line_id`) as the item's `ref`, so that Ponte's decision about it goes back to
that line. The customer's address may be hidden until acceptance ("Null before shipping (or acceptance,
depending on platform setting)", spec OR11 `customer.shipping_address`): the billing address is read then, and an
order with neither cannot be checked against a shipping rule (the feed logs it and Mirakl refuses it when the
acceptance delay ends) — the operator's setting that shows the address at acceptance is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ponte.connectors.base import LineDecision, TrackingSend

WAITING = "WAITING_ACCEPTANCE"


def incoming_order(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One OR11 order in Ponte's incoming-order shape: its lines waiting for acceptance, each with its id."""
    customer = raw.get("customer") or {}
    address = customer.get("shipping_address") or customer.get("billing_address") or {}
    lines = [line for line in raw.get("order_lines") or [] if line.get("order_line_state") == WAITING]
    name = " ".join(part for part in (customer.get("firstname"), customer.get("lastname")) if part)
    return {
        "id": str(raw["order_id"]),
        "created_at": raw.get("created_date"),
        "items": [
            {
                "sku": line.get("offer_sku"),
                "quantity": line.get("quantity"),
                "price": line.get("price_unit"),
                "ref": line.get("order_line_id"),
            }
            for line in lines
        ],
        "postal_code": address.get("zip_code"),
        "buyer": {
            "name": name or None,
            "email": raw.get("customer_notification_email"),
            "phone": address.get("phone"),
            "city": address.get("city"),
            "state": address.get("state"),
        },
        "total": sum(float(line.get("price") or 0) + float(line.get("shipping_price") or 0) for line in lines),
        "shipping_total": sum(float(line.get("shipping_price") or 0) for line in lines),
        "marketplace_data": {
            "commercial_id": raw.get("commercial_id"),
            "shipping_deadline": raw.get("shipping_deadline"),
            "shipping_type_code": raw.get("shipping_type_code"),
            "currency": raw.get("currency_iso_code"),
        },
    }


def acceptance(decisions: tuple[LineDecision, ...]) -> dict[str, Any] | None:
    """OR21's body: every line Ponte decided about, accepted or not (Mirakl wants a decision for each line:
    ORDER_LINE_ACCEPTANCE_DECISION_MISSING). None when no line carries Mirakl's id (nothing to tell)."""
    lines = [{"id": line.ref, "accepted": line.accepted} for line in decisions if line.ref]
    return {"order_lines": lines} if lines else None


def tracking(send: TrackingSend, carriers: Mapping[str, str]) -> dict[str, Any]:
    """OR23's body: a carrier the operator knows goes by its code (`carrier_code`, "mandatory for a registered
    carrier"), any other by its name (`carrier_name`, "mandatory for an unregistered carrier")."""
    codes = {name.strip().lower(): code for name, code in carriers.items()}
    body: dict[str, Any] = {}
    carrier = (send.carrier or "").strip()
    code = codes.get(carrier.lower())
    if code:
        body["carrier_code"] = code
    elif carrier:
        body["carrier_name"] = carrier
    if send.tracking_number:
        body["tracking_number"] = send.tracking_number
    return body
