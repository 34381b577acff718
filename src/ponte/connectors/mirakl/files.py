"""What Mirakl takes and gives as files: the offer import (OF01) and product import (P41) CSVs, the multipart body
that carries them, and the error reports (OF03, P44, P47) read back line by line.

Mirakl's CSVs are `;`-separated with every value quoted (spec OF01 `file`: "Csv format: "sku";"product-id";…").
A report is the file as sent, each refused line followed by why: OF03 adds "error-line" and "error-message"
columns (spec OF03 example); P44/P47 add an "errors" column (the operator's format; Mirakl's own connectors read
"ERRORS" and "errors" [secondary: OpenXE shopimporter_mirakl.php]). The header decides, case-insensitively.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ponte.connectors.base import ProductSend

# OF24 field → OF01 column, for the offer fields Ponte manages (spec OF01 `file` lists the columns).
OFFER_COLUMNS = {
    "shop_sku": "sku",
    "product_id": "product-id",
    "product_id_type": "product-id-type",
    "price": "price",
    "discount_price": "discount-price",
    "quantity": "quantity",
    "state_code": "state",
    "leadtime_to_ship": "leadtime-to-ship",
    "logistic_class": "logistic-class",
    "update_delete": "update-delete",
}
SKU_COLUMNS = ("sku", "shop-sku", "shop_sku", "offer-sku")
ERROR_COLUMNS = ("error-message", "error_message", "errors", "error", "message")
LINE_COLUMNS = ("error-line", "error_line", "line")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | float):
        return f"{Decimal(str(value)):f}"
    return str(value)


def cell(value: Any) -> str:
    """A value as a file's cell holds it."""
    return _text(value)


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A Mirakl CSV: `;`-separated, every value quoted, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_text(value) for value in row] for row in rows)
    return out.getvalue().encode("utf-8")


def offers_csv(offers: Sequence[Mapping[str, Any]]) -> bytes:
    """OF24 offers as the OF01 file: the discount's price in its own column."""
    used = [field for field in OFFER_COLUMNS if any(_offer_value(o, field) is not None for o in offers)]
    rows = [[_offer_value(offer, field) for field in used] for offer in offers]
    return write_csv([OFFER_COLUMNS[field] for field in used], rows)


def _offer_value(offer: Mapping[str, Any], field: str) -> Any:
    if field == "discount_price":
        return (offer.get("discount") or {}).get("price")
    return offer.get(field)


def product_row(send: ProductSend, category: str | None, product_id_type: str) -> dict[str, Any]:
    """One product of a P41 file: Ponte's catalog data under plain column names, its attributes by their names.
    The operator maps the seller's columns to its own (Mirakl's catalog transformation; P42's TRANSFORMATION_*)."""
    row: dict[str, Any] = {
        "sku": send.sku,
        "product-id": send.ean or send.sku,
        "product-id-type": product_id_type if send.ean else "SHOP_SKU",
        "title": send.name,
        "description": send.description,
        "brand": send.brand,
        "category": category,
        "weight": send.weight_g,
        "height": send.height_cm,
        "width": send.width_cm,
        "length": send.length_cm,
    }
    row.update({f"image-{n}": url for n, url in enumerate(send.images, start=1)})
    row.update({name: value for name, value in send.attributes.items() if name not in row})
    return row


def products_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    return write_csv(list(header), ([row.get(column) for column in header] for row in rows))


def multipart(file: bytes, filename: str, fields: Mapping[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body: the text fields, then the file part (`file`, as OF01 and P41 name it)."""
    boundary = f"ponte-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + file
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class ReportLine:
    sku: str
    message: str
    line: str | None  # the line of the file it refers to, where the report says


def read_report(text: str) -> list[ReportLine]:
    """The refused lines of an error report; lines naming no SKU or no error are skipped."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        return []
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    header = [column.strip().lower() for column in next(reader, [])]
    sku_at = _column(header, SKU_COLUMNS)
    error_at = _column(header, ERROR_COLUMNS)
    line_at = _column(header, LINE_COLUMNS)
    if sku_at is None or error_at is None:
        return []
    found = []
    for row in reader:
        if len(row) <= max(sku_at, error_at) or not row[sku_at].strip() or not row[error_at].strip():
            continue
        line = row[line_at].strip() if line_at is not None and line_at < len(row) else None
        found.append(ReportLine(row[sku_at].strip(), row[error_at].strip(), line or None))
    return found


def _column(header: list[str], names: Sequence[str]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None
