"""Invoices read back from an ERP: the NF-e it issued for an order Ponte handed it, and the tracking it has.

An ERP connector that declares `invoice_poll_every` is read at that interval (`fetch_invoices`), claimed by one
worker per affiliate per interval and resumed where the last read stopped (the ERP affiliate's feed cursor: an ERP
has no order feed of its own). Each invoice is checked (a 44-digit key with a valid check digit, the XML of that
key), kept on the order, written in the order's history as an attempt of the ERP's order integration, and the
tracking flow takes it to the order's marketplace. An invoice already kept is recognised and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors.base import CallFailed, Connector, FetchedInvoices, Invoice
from ponte.connectors.capabilities import supports
from ponte.connectors.context import Deferred
from ponte.connectors.registry import get_connector_class
from ponte.domain import Disposition, Flow, Status, Trigger
from ponte.domain.checks import nfe_key_is_valid
from ponte.domain.messages import Message, as_columns, say
from ponte.engine.feeds import read_each, read_pages
from ponte.engine.recording import storable, system_name
from ponte.i18n import english
from ponte.knowledge import normalise_message
from ponte.knowledge.wordsearch import search_text
from ponte.store.affiliates import Affiliate, enabled_affiliates
from ponte.store.db import Database
from ponte.store.invoices import (
    affiliate_connector,
    awaiting_tracking,
    integration_of,
    note_state,
    save_invoice,
)
from ponte.store.order_book import Order, find_order
from ponte.store.queue import append_attempts, mark_changed

log = logging.getLogger("ponte.worker")

BODY_LIMIT = 16_384
TRACKING_WINDOW = timedelta(days=15)  # invoiced orders whose tracking code is still asked for
TRACKING_BATCH = 10  # orders asked for at each interval (Bling: two calls each, at 3 a second)


def invoice_order(conn: Connection, *, order: Order, values: dict[str, Any], actor: str | None = None) -> None:
    """Keep an order's invoice and shipment and queue telling its marketplace (the tracking flow)."""
    save_invoice(conn, order_id=order.id, values=values, now=now())
    connector, kind = affiliate_connector(conn, affiliate_id=order.affiliate_id)
    if supports(connector, Flow.TRACKING.value, kind):  # a connector that cannot is never asked
        mark_changed(
            conn,
            account_id=order.account_id,
            flow=Flow.TRACKING.value,
            keys=[(order.affiliate_id, order.external_id)],
            actor=actor,
        )


def _interval(affiliate: Affiliate) -> float | None:
    try:
        cls = get_connector_class(affiliate.connector)
    except LookupError:
        return None
    if affiliate.kind != "erp" or cls.fetch_invoices is Connector.fetch_invoices:
        return None
    return cls.invoice_poll_every


def poll_invoice_feeds(db: Database, connector_for: Callable[[Affiliate], Connector], *, force: bool = False) -> int:
    """Read the invoices of every enabled ERP whose interval has passed; returns how many invoices were new."""
    with db.read() as conn:
        candidates = [(a, every) for a in enabled_affiliates(conn) if (every := _interval(a)) is not None]
    return read_each(candidates, "invoices", lambda a, every: _poll_one(db, a, every, connector_for, force))


def _poll_one(
    db: Database, affiliate: Affiliate, every: float, connector_for: Callable[[Affiliate], Connector], force: bool
) -> int:
    def keep(conn: Connection, page: FetchedInvoices) -> int:
        new = 0
        for invoice in page.invoices:
            with conn.begin_nested():  # one bad invoice rolls back alone
                new += record_invoice(conn, erp=affiliate, invoice=invoice)
        return new

    late = (lambda c: late_tracking(db, affiliate, c)) if _reads_tracking(affiliate) else None
    return read_pages(
        db, affiliate, every, force, "invoices", connector_for, lambda c, cursor: c.fetch_invoices(cursor), keep,
        after=late,
    )  # fmt: skip


def _reads_tracking(affiliate: Affiliate) -> bool:
    return get_connector_class(affiliate.connector).fetch_tracking is not Connector.fetch_tracking


def late_tracking(db: Database, affiliate: Affiliate, connector: Connector) -> int:
    """Ask the ERP again for the tracking codes of orders it invoiced without one (a carrier's code often comes
    hours after the NF-e), a few at a time; each code found is kept on its order and the tracking flow tells the
    marketplace again. Returns how many were found. The rate limit spent or a failed call leaves it to the next
    interval."""
    with db.read() as conn:
        waiting = awaiting_tracking(
            conn, account_id=affiliate.account_id, erp_id=affiliate.id, since=now() - TRACKING_WINDOW,
            limit=TRACKING_BATCH,
        )  # fmt: skip
    if not waiting:
        return 0
    try:
        found = connector.fetch_tracking(waiting)
    except (Deferred, CallFailed) as stopped:
        log.info("late tracking codes of %s not read now: %s", affiliate.code, stopped)
        return 0
    for tracking in found:
        with db.write() as conn:
            order = find_order(conn, account_id=affiliate.account_id, external_id=tracking.order_id)
            handed = integration_of(
                conn, account_id=affiliate.account_id, flow=Flow.ORDER.value, affiliate_id=affiliate.id,
                entity=tracking.order_id,
            )  # fmt: skip
            if order is None or handed is None or order.tracking_number or order.status != "invoiced":
                continue
            values = {"carrier": (tracking.carrier or order.carrier or "")[:64] or None,
                      "tracking_number": tracking.tracking_number[:64]}  # fmt: skip
            invoice_order(conn, order=order, values=values)
            late = Invoice(
                order_id=tracking.order_id, invoice_key=order.invoice_key or "", request=tracking.request,
                response=tracking.response,
            )  # fmt: skip
            _note(conn, affiliate, handed.id, Status.SUCCESS, say("msg.invoice.late_tracking",
                  erp=affiliate.code, tracking=tracking.tracking_number), late)  # fmt: skip
    return len(found)


def _problem(invoice: Invoice) -> Message | None:
    if not nfe_key_is_valid(invoice.invoice_key):
        return say("msg.invoice.key_invalid", nfe=repr(invoice.invoice_key))
    if invoice.invoice_xml is not None and invoice.invoice_key not in invoice.invoice_xml:
        return say("msg.invoice.xml_mismatch")
    return None


def record_invoice(conn: Connection, *, erp: Affiliate, invoice: Invoice) -> bool:
    """Keep one invoice an ERP issued; True when it was new. Only an order Ponte handed to this ERP takes it."""
    order = find_order(conn, account_id=erp.account_id, external_id=invoice.order_id)
    handed = integration_of(
        conn, account_id=erp.account_id, flow=Flow.ORDER.value, affiliate_id=erp.id, entity=invoice.order_id
    )
    if order is None or handed is None:
        log.info("%s issued NF-e %s for order %s, which Ponte did not hand it", erp.code, invoice.reference,
                 invoice.order_id)  # fmt: skip
        return False
    if order.invoice_key == invoice.invoice_key:
        return False
    if order.invoice_key:  # invoiced by another source (the API, a file): the marketplace already has that NF-e
        text = say("msg.invoice.already_invoiced", erp=erp.code, nfe=invoice.invoice_key, kept=order.invoice_key)
        _note(conn, erp, handed.id, Status.WARNING, text, invoice)
        return False
    problem = _problem(invoice)
    if problem is None and order.status not in ("placed", "invoiced"):
        problem = say("msg.invoice.order_state", order=invoice.order_id, state=say(f"order_state.{order.status}"))
    if problem is not None:
        _note(conn, erp, handed.id, Status.ERROR, say("msg.invoice.unusable", erp=erp.code, problem=problem), invoice)
        return False
    values = {
        "invoice_key": invoice.invoice_key,
        "invoice_xml": invoice.invoice_xml,
        "carrier": (invoice.carrier or "")[:64] or None,
        "tracking_number": (invoice.tracking_number or "")[:64] or None,
    }
    invoice_order(conn, order=order, values=values)
    tracking = say("msg.invoice.tracking", tracking=invoice.tracking_number) if invoice.tracking_number else ""
    text = invoice.message or say("msg.invoice.issued", nfe=invoice.invoice_key, erp=erp.code, tracking=tracking)
    _note(conn, erp, handed.id, Status.SUCCESS, text, invoice)
    return True


def _note(
    conn: Connection, erp: Affiliate, integration_id: int, status: Status, said: Message, invoice: Invoice
) -> None:
    """The order's history gets the invoice as an attempt of the ERP's order integration (what the ERP reported)."""
    at, text = now(), storable(english(said), 4000) or ""
    failed = status == Status.ERROR
    category = "invoice_tracking_rejected" if failed else None
    disposition = Disposition.FIX.value if failed else None
    row = {
        "account_id": erp.account_id,
        "integration_id": integration_id,
        "trigger": Trigger.EXTERNAL.value,
        "actor": None,
        "reason": None,
        "system": system_name(erp),
        "status": status.value,
        "message": text,
        **as_columns(said),
        "code": "nfe_invalid" if failed else None,
        "category": category,
        "disposition": disposition,
        "http_status": None,
        "started_at": at,
        "duration_ms": 0,
    }
    append_attempts(conn, [(row, invoice.request, invoice.response)], BODY_LIMIT)
    state = {"status": status.value, "message": text, **as_columns(said), "code": row["code"], "category": category,
             "disposition": disposition, "cause": normalise_message(text)[:200] if failed else None,
             "search_text": search_text(text, said=said, category=category)}  # fmt: skip
    note_state(conn, integration_id=integration_id, state=state, now=at)
