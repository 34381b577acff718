"""A marketplace category's SKUs as a spreadsheet (issue 21): one line per SKU with the marketplace's attributes as
columns (required ones first, marked *), filled as Ponte would send them; edited in Excel and imported back, each
line's attributes saved on the SKU (by the marketplace's ids) or the line rejected with why. Sellers fix catalogs in
spreadsheets. Excel's .xlsx, or CSV with `;` and a BOM as Excel in Brazil opens it, both ways; text that would run as
a formula is neutralised in both."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from python_calamine import CalamineWorkbook
from sqlalchemy import Connection

from ponte.connectors.registry import get_connector_class
from ponte.domain import Flow
from ponte.domain.messages import Message, say
from ponte.engine import payloads
from ponte.engine.mapping import Requirement, requirements_from_cache
from ponte.engine.queue import mark_catalog_changed
from ponte.exports import neutralise, write_xlsx
from ponte.services.errors import InputError
from ponte.services.mapping import skus_in_target
from ponte.store import mappings as stored
from ponte.store.affiliates import Affiliate
from ponte.store.audit import record
from ponte.store.catalog import skus_by_code

FIXED = ("sku", "name")
MAX_LINES = 20_000


def _requirements(conn: Connection, affiliate: Affiliate, category: str) -> list[Requirement]:
    key = stored.attributes_key(category)
    cached = stored.taxonomy(conn, affiliate_ids=[affiliate.id], keys=[key]).get((affiliate.id, key))
    if cached is None:
        raise InputError(say("msg.mapping.attributes_unread", category=category), field="category")
    return sorted(requirements_from_cache(cached.data), key=lambda r: (not r.required, r.id))


def sheet_lines(conn: Connection, *, account_id: int, affiliate: Affiliate, category: str) -> list[list[str]]:
    """The sheet's header and a line per SKU of the category, valued as the mapping fills them now; every cell a
    spreadsheet would run as a formula neutralised (names and values are the seller's and the marketplace's text)."""
    requirements = _requirements(conn, affiliate, category)
    codes = skus_in_target(conn, account_id=account_id, affiliate=affiliate, target=category)
    catalog = payloads.Catalog(conn, [(account_id, affiliate.id, code) for code in codes])
    cls = get_connector_class(affiliate.connector)
    lines = [[*FIXED, *(f"{r.id}*" if r.required else r.id for r in requirements)]]
    for code in codes:
        send = catalog.product(affiliate, code)
        values = {k.casefold(): v for k, v in cls.sent_attributes(send, affiliate.settings).items()}
        row = [send.sku, send.name, *(values.get(r.id.casefold(), "") for r in requirements)]
        lines.append([neutralise(str(value)) for value in row])
    return [[neutralise(cell) for cell in lines[0]], *lines[1:]]


def export_csv(conn: Connection, *, account_id: int, affiliate: Affiliate, category: str) -> str:
    """The category's SKUs with its attributes as columns, `;`-separated with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows(sheet_lines(conn, account_id=account_id, affiliate=affiliate, category=category))
    return "\ufeff" + out.getvalue()


def export_xlsx(conn: Connection, *, account_id: int, affiliate: Affiliate, category: str) -> bytes:
    """The same sheet as an Excel workbook (every cell text: an EAN or a code keeps its leading zeros)."""
    header, *lines = sheet_lines(conn, account_id=account_id, affiliate=affiliate, category=category)
    fd, path = tempfile.mkstemp(prefix="ponte-sheet-", suffix=".xlsx")
    os.close(fd)
    try:
        records = (dict(zip(header, line, strict=True)) for line in lines)
        write_xlsx(path, iter(records), tuple(header), sheet=re.sub(r"[][:*?/\\]", "-", category)[:31] or "sheet", date_format="yyyy-mm-dd",
                   rows_per_sheet=MAX_LINES, expected=len(lines))  # fmt: skip
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def read_sheet(data: bytes, filename: str) -> list[list[str]]:
    """An uploaded sheet's lines as text cells: an .xlsx (its first sheet, read with calamine) or a CSV (`;` or `,`,
    with or without a BOM). InputError when an .xlsx cannot be read."""
    if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":  # a zip: Excel's own format
        try:
            sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
            rows = sheet.to_python(skip_empty_area=False, nrows=MAX_LINES + 2)
        except Exception as exc:  # calamine's errors are its own types: a damaged file, a password, not xlsx
            raise InputError(say("msg.sheet.unreadable", error=type(exc).__name__), field="file") from None
        return [[_cell(value) for value in row] for row in rows]
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=";" if text.count(";") >= text.count(",") else ",")
    return [row for _, row in zip(range(MAX_LINES + 2), reader, strict=False)]


def _cell(value: Any) -> str:
    """An Excel cell as the text typed: 7891234567895.0 → "7891234567895", a date as its ISO text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value)


@dataclass
class SheetReport:
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, Message]] = field(default_factory=list)  # (line, sku, why)


def import_csv(
    conn: Connection, *, account_id: int, affiliate: Affiliate, category: str, text: str, actor: str
) -> SheetReport:
    """`import_sheet` of a CSV's text."""
    return import_sheet(
        conn, account_id=account_id, affiliate=affiliate, category=category, actor=actor,
        lines=read_sheet(text.encode(), "sheet.csv"),
    )  # fmt: skip


def import_sheet(
    conn: Connection, *, account_id: int, affiliate: Affiliate, category: str, lines: list[list[str]], actor: str
) -> SheetReport:
    """Save each line's attribute values on its SKU; a line with an unknown SKU, a SKU of another category or a
    value the marketplace does not list is rejected whole, the others saved. The saved SKUs are sent again."""
    requirements = {r.id.casefold(): r for r in _requirements(conn, affiliate, category)}
    reader = iter(lines)
    header = [h.strip().rstrip("*").strip() for h in next(reader, [])]
    if not header or header[0].casefold() != "sku":
        raise InputError(say("msg.sheet.first_column"), field="file")
    columns = [(i, requirements[h.casefold()]) for i, h in enumerate(header) if h.casefold() in requirements]
    wanted = set(skus_in_target(conn, account_id=account_id, affiliate=affiliate, target=category))
    report, changes = SheetReport(), {}
    for line, row in enumerate(reader, start=2):
        if line > MAX_LINES + 1:
            report.rejected.append((line, "", say("msg.sheet.too_many_lines", n=MAX_LINES)))
            break
        sku = (row[0] if row else "").strip().lstrip("'")
        if not sku:
            continue
        if sku not in wanted:
            report.rejected.append((line, sku, say("msg.sheet.not_in_category", sku=sku, category=category)))
            continue
        values, why = _line_values(row, columns)
        if why:
            report.rejected.append((line, sku, why))
        elif values:
            changes[sku] = values
    rows = skus_by_code(conn, account_id, changes)
    updated = []
    for sku, values in sorted(changes.items()):
        current = dict(rows[sku].attributes or {})
        if {**current, **values} == current:
            report.unchanged += 1
            continue
        stored.set_attributes(conn, sku_id=rows[sku].id, attributes={**current, **values})
        updated.append(sku)
    report.updated = len(updated)
    mark_catalog_changed(conn, account_id, {Flow.PRODUCT: updated}, actor)
    record(
        conn, account_id=account_id, actor=actor, action="catalog.sheet_import",
        detail={"affiliate": affiliate.code, "category": category, "updated": report.updated,
                "rejected": len(report.rejected)},
    )  # fmt: skip
    return report


def _line_values(row: list[str], columns: list[tuple[int, Requirement]]) -> tuple[dict[str, str], Message | None]:
    values = {}
    for index, requirement in columns:
        value = (row[index] if index < len(row) else "").strip().lstrip("'")[:500]
        if not value:
            continue
        allowed = {v.casefold(): v for v in requirement.values}
        if allowed and value.casefold() not in allowed:
            allowed_list = ", ".join(requirement.values[:10])
            return {}, say("msg.sheet.value_not_allowed", attribute=requirement.id, value=value, allowed=allowed_list)
        values[requirement.id] = allowed.get(value.casefold(), value)
    return values, None
