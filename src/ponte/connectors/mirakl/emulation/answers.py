"""The emulation's answers in the spec's shapes (every field the spec requires, none it does not declare): A01's
shop, OF02's and P42's import statuses, OR11's orders. tests/test_mirakl_emulation.py holds each to the spec."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from ponte.connectors.mirakl.emulation.state import Import, Operator, Order, Shop, iso


def account(operator: Operator, shop: Shop) -> dict[str, Any]:
    """A01: the shop's information (the fields the spec requires, with a Brazilian shop's values)."""
    created = iso(operator.now() - 400 * 86_400)
    return {
        "billing_info": {"bank_name": "Banco do Brasil", "owner": shop.name},
        "channels": ["BR"],
        "contact_informations": {
            "city": "São Paulo",
            "country": "BRA",
            "email": f"loja{shop.id}@example.com",
            "lastname": "Souza",
            "street1": "Avenida Paulista, 1000",
        },
        "currency_iso_code": "BRL",
        "date_created": created,
        "default_billing_information": {
            "corporate_information": {"company_registration_name": shop.name},
            "default_language": "pt_BR",
            "fiscal_information": {"tax_identification_country": "BRA"},
            "id": f"billing-{shop.id}",
            "registration_address": {
                "city": "São Paulo",
                "country_iso_code": "BRA",
                "street_1": "Avenida Paulista, 1000",
            },
        },
        "domains": ["PRODUCT"],
        "evaluations_count": 0,
        "free_shipping": False,
        "is_professional": True,
        "last_updated_date": created,
        "offers_count": len(shop.offers),
        "orders_count": sum(1 for order in operator.orders.values() if order.shop_id == shop.id),
        "payment_details": {"paid_balance": 0, "payable_balance": 0, "pending_balance": 0},
        "payment_method_mandatory": False,
        "premium": False,
        "pro_details": {"corporate_name": shop.name},
        "shipping": {"lead_time_to_ship": 2},
        "shipping_types": ["STANDARD"],
        "shipping_zones": ["BR"],
        "shop_additional_fields": [],
        "shop_id": shop.id,
        "shop_name": shop.name,
        "shop_state": shop.state,
    }


def offer_import(imp: Import) -> dict[str, Any]:
    """OF02: an offer import's status and counts."""
    done = imp.status in ("COMPLETE", "FAILED")
    read = len(imp.rows) if done else 0
    return {
        "date_created": iso(imp.created),
        "has_error_report": bool(imp.errors),
        "import_id": imp.id,
        "lines_in_error": len(imp.errors),
        "lines_in_pending": 0,
        "lines_in_success": read - len(imp.errors) if imp.status == "COMPLETE" else 0,
        "lines_read": read,
        "mode": "NORMAL",
        "offer_deleted": imp.deleted,
        "offer_inserted": imp.inserted,
        "offer_updated": imp.updated,
        "reason_status": imp.reason,
        "status": imp.status,
        "type": "AUTO",
    }


def product_import(imp: Import) -> dict[str, Any]:
    """P42: a product import's status; its reports once it is judged (P47's for the lines the transformation
    refused, P44's for those not integrated)."""
    done = imp.status not in ("WAITING", "RUNNING", "TRANSFORMATION_WAITING", "TRANSFORMATION_RUNNING")
    transformed = len(imp.rows) - len(imp.transform_errors) if done else 0
    body: dict[str, Any] = {
        "date_created": iso(imp.created),
        "has_error_report": imp.status == "COMPLETE" and bool(imp.errors),
        "has_new_product_report": imp.status == "COMPLETE" and imp.inserted > 0,
        "has_transformation_error_report": done and bool(imp.transform_errors),
        "has_transformed_file": done and imp.status != "TRANSFORMATION_FAILED",
        "import_id": imp.id,
        "import_status": imp.status,
        "shop_id": imp.shop_id,
        "transform_lines_in_error": len(imp.transform_errors) if done else 0,
        "transform_lines_in_success": transformed,
        "transform_lines_read": len(imp.rows) if done else 0,
        "transform_lines_with_warning": 0,
    }
    if imp.reason:
        body["reason_status"] = imp.reason
    return body


def _address(customer: dict[str, Any]) -> dict[str, Any]:
    return {
        "city": customer["city"],
        "country": "Brasil",
        "country_iso_code": "BRA",
        "firstname": customer["firstname"],
        "lastname": customer["lastname"],
        "phone": customer["phone"],
        "state": customer["state"],
        "street_1": customer["street"],
        "zip_code": customer["zip_code"],
    }


def _line(order: Order, line: Any) -> dict[str, Any]:
    return {
        "can_refund": False,
        "cancelations": [],
        "category_code": "celulares",
        "category_label": "Celulares",
        "commission_fee": round(line.price * line.quantity * 0.12, 2),
        "commission_rate_vat": 0,
        "commission_vat": 0,
        "created_date": iso(order.created),
        "description": line.title,
        "last_updated_date": iso(order.updated or order.created),
        "offer_id": 3000 + line.index,
        "offer_sku": line.sku,
        "offer_state_code": "11",
        "order_line_additional_fields": [],
        "order_line_id": line.id,
        "order_line_index": line.index,
        "order_line_state": line.state,
        "price": round(line.price * line.quantity, 2),
        "price_unit": line.price,
        "product_medias": [],
        "product_sku": f"MKP{line.sku}",
        "product_title": line.title or line.sku,
        "quantity": line.quantity,
        "refunds": [],
        "shipping_price": line.shipping,
        "total_commission": round(line.price * line.quantity * 0.12, 2),
        "total_price": round(line.price * line.quantity + line.shipping, 2),
    }


def order(operator: Operator, order: Order) -> dict[str, Any]:
    """OR11: one order, its lines and, as the operator's setting allows, the customer's addresses."""
    customer = order.customer
    price = round(sum(line.price * line.quantity for line in order.lines), 2)
    shipping = round(sum(line.shipping for line in order.lines), 2)
    body: dict[str, Any] = {
        "can_cancel": order.state == "WAITING_ACCEPTANCE",
        "can_shop_ship": order.state == "SHIPPING",
        "commercial_id": order.commercial_id,
        "created_date": iso(order.created),
        "currency_iso_code": "BRL",
        "customer": {
            "billing_address": _address(customer),
            "customer_id": customer["customer_id"],
            "firstname": customer["firstname"],
            "lastname": customer["lastname"],
            "shipping_address": _address(customer),
        },
        "customer_notification_email": f"notification+{order.commercial_id.lower()}@notification.example.com",
        "fulfillment": {"center": {"code": "DEFAULT"}},
        "fully_refunded": False,
        "has_customer_message": False,
        "has_incident": False,
        "has_invoice": False,
        "last_updated_date": iso(order.updated or order.created),
        "leadtime_to_ship": 2,
        "order_id": order.id,
        "order_lines": [_line(order, line) for line in order.lines],
        "order_state": order.state,
        "order_tax_mode": "TAX_INCLUDED",
        "paymentType": "CREDIT_CARD",
        "payment_type": "CREDIT_CARD",
        "price": price,
        "shipping_deadline": iso(order.created + 2 * 86_400),
        "shipping_price": shipping,
        "shipping_type_code": "STANDARD",
        "shipping_type_label": "Entrega normal",
        "shipping_zone_code": "BR",
        "shipping_zone_label": "Brasil",
        "total_commission": round(price * 0.12, 2),
        "total_price": round(price + shipping, 2),
    }
    if order.decided is not None:
        body["acceptance_decision_date"] = iso(order.decided)
    if order.tracking:
        body["shipping_tracking"] = order.tracking.get("tracking_number")
        body["shipping_carrier_code"] = order.tracking.get("carrier_code")
        body["shipping_company"] = order.tracking.get("carrier_name")
    return body


# OF51's columns, in the order of the spec's example (the channel and custom columns left out).
EXPORT_COLUMNS = (
    "offer-id", "product-sku", "price", "total-price", "quantity", "state-code", "shop-id", "shop-name", "active",
    "deleted", "origin-price", "discount-price", "currency-iso-code", "leadtime-to-ship", "logistic-class",
    "shop-sku", "date-created", "last-updated",
)  # fmt: skip


def offer_id(sku: str) -> int:
    """A stable offer id per shop SKU (Mirakl numbers offers; the emulation derives one)."""
    return int.from_bytes(sku.encode()[:7].ljust(7, b"\0"), "big") % 9_000_000 + 1000


def export_row(shop: Any, sku: str, offer: dict[str, Any]) -> dict[str, str]:
    """One offer as OF51 lists it: `price` is what the customer pays (the discount price, when one applies),
    `origin-price` the price before it."""
    price = offer.get("price") or 0.0
    paid = offer.get("discount_price") or price
    changed = iso(shop.applied.get(sku, 0.0))
    return {
        "offer-id": str(offer_id(sku)), "product-sku": str(offer.get("product_id") or sku), "price": f"{paid:.2f}",
        "total-price": f"{paid:.2f}", "quantity": str(offer.get("quantity") or 0),
        "state-code": str(offer.get("state_code") or ""), "shop-id": str(shop.id), "shop-name": shop.name,
        "active": "true" if offer.get("active", True) else "false", "deleted": "false",
        "origin-price": f"{price:.2f}", "discount-price": f"{offer['discount_price']:.2f}" if offer.get("discount_price") else "",
        "currency-iso-code": "BRL", "leadtime-to-ship": str(offer.get("leadtime_to_ship") or ""),
        "logistic-class": str(offer.get("logistic_class") or ""), "shop-sku": sku, "date-created": changed,
        "last-updated": changed,
    }  # fmt: skip


def deleted_row(shop: Any, sku: str) -> dict[str, str]:
    """A deleted offer in a differential export: "only offer-id, product-sku, shop-id, shop-sku, active and deleted"."""
    return {"offer-id": str(offer_id(sku)), "product-sku": sku, "shop-id": str(shop.id), "shop-sku": sku,
            "active": "false", "deleted": "true"}  # fmt: skip


def export_csv(rows: Iterable[dict[str, str]], fields: list[str], *, lines: int = 1_000) -> Iterator[bytes]:
    """The file in pieces of `lines` rows, the header first, as a server sends a big export while it writes it."""
    columns = [c for c in EXPORT_COLUMNS if not fields or c in fields]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([row.get(c, "") for c in columns])
        if n % lines == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")
