"""Orders: received from marketplaces (feed or webhook), invoiced and shipped by the store."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Connection, Row

from ponte.domain.checks import nfe_key_is_valid
from ponte.domain.messages import say
from ponte.engine.intake import IncomingOrder, receive_orders
from ponte.engine.invoices import invoice_order
from ponte.services.catalog import input_error
from ponte.services.errors import InputError, NotFound
from ponte.store.order_book import Order
from ponte.store.orders import find_order


class TrackingInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    invoice_key: str = Field(min_length=44, max_length=44)
    carrier: str = Field(min_length=1, max_length=64)
    tracking_number: str = Field(min_length=1, max_length=64)
    # The NF-e's XML, where the store has it: Mercado Livre takes the invoice as its XML (Mercado Envios).
    invoice_xml: str | None = Field(default=None, max_length=2_000_000)

    @field_validator("invoice_key")
    @classmethod
    def _nfe(cls, value: str) -> str:
        if not nfe_key_is_valid(value):
            raise ValueError("not a valid NF-e access key (44 digits with a correct check digit)")
        return value

    @model_validator(mode="after")
    def _xml_of_this_key(self) -> TrackingInput:
        if self.invoice_xml is not None:
            if "\x00" in self.invoice_xml or not self.invoice_xml.lstrip().startswith("<"):
                raise ValueError("invoice_xml must be the NF-e's XML document")
            if self.invoice_key not in self.invoice_xml:
                raise ValueError("invoice_xml is not the NF-e of invoice_key (its access key is not in it)")
        return self


def receive_order(
    conn: Connection, *, account_id: int, affiliate_id: int, data: dict[str, Any], actor: str | None = None
) -> tuple[str, bool]:
    """Record an order from a marketplace and queue its integration. Returns (order id, is_new).

    An order already received is recognised by (affiliate, marketplace id) and never created twice.
    """
    try:
        order = IncomingOrder.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc)
    new = receive_orders(conn, account_id=account_id, affiliate_id=affiliate_id, orders_in=[order], actor=actor)
    return order.id, order.id in new


def get_order(conn: Connection, *, account_id: int, external_id: str, affiliate_code: str | None = None) -> Row:
    row = find_order(conn, account_id=account_id, external_id=external_id, affiliate_code=affiliate_code)
    if row is None:
        raise NotFound(say("msg.not_found.order", order=external_id))
    return row


def set_tracking(
    conn: Connection, *, account_id: int, external_id: str, data: dict[str, Any], actor: str | None = None
) -> None:
    """Record an order's invoice and tracking and queue sending them to its marketplace."""
    try:
        tracking = TrackingInput.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc)
    order = get_order(conn, account_id=account_id, external_id=external_id)
    if order.status not in ("placed", "invoiced"):
        raise InputError(
            say("msg.input.not_invoiceable", order=external_id, state=say(f"order_state.{order.status}")),
            field="status",
        )
    invoice_order(conn, order=Order.from_row(order), values=tracking.model_dump(), actor=actor)


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InputError(say("msg.input.not_money", value=str(value)))
