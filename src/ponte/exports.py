"""Excel and CSV exports of exactly what a Connections filter shows: every page, not just the visible one.

Both formats stream: rows are read in keyset batches and never held all at once. Dates are real dates
(Excel date cells; CSV in the locale's format) in the store's time zone, and every text cell that a
spreadsheet could take for a formula (starting with = + - @, tab or CR) is neutralised with a leading '.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any, Literal
from zoneinfo import ZoneInfo

import rustpy_xlsxwriter as xlsx
from sqlalchemy import func, select

from ponte.metrics import timed_stream
from ponte.services.connections import IntegrationRow, iter_integrations
from ponte.store.db import Database
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import integrations

Format = Literal["xlsx", "csv"]
EXCEL_MAX_ROWS = 1_048_575  # 1,048,576 rows a sheet, less the header
CHUNK = 64 * 1024
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

_TEXT = {
    "pt-BR": {
        "columns": (
            "ID / SKU",
            "Afiliado",
            "Fluxo",
            "Status",
            "Data de processamento",
            "Categoria",
            "Mensagem",
            "Tentativas",
        ),
        "sheet": "Integrações",
        "date": "%d/%m/%Y %H:%M:%S",
        "excel_date": "dd/mm/yyyy hh:mm:ss",
        "delimiter": ";",  # what Excel in Brazil expects: ',' is the decimal separator there
        "status": {"success": "Sucesso", "warning": "Aviso", "error": "Erro", "pending": "Pendente"},
        "flow": {
            "order": "Pedidos",
            "product": "Produtos",
            "tracking": "Rastreamento",
            "price": "Preço",
            "inventory": "Inventário",
        },
    },
    "en": {
        "columns": ("ID / SKU", "Affiliate", "Flow", "Status", "Processed at", "Category", "Message", "Attempts"),
        "sheet": "Integrations",
        "date": "%Y-%m-%d %H:%M:%S",
        "excel_date": "yyyy-mm-dd hh:mm:ss",
        "delimiter": ",",
        "status": {"success": "Success", "warning": "Warning", "error": "Error", "pending": "Pending"},
        "flow": {
            "order": "Orders",
            "product": "Products",
            "tracking": "Tracking",
            "price": "Price",
            "inventory": "Inventory",
        },
    },
}


def neutralise(value: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading ' so it shows as typed."""
    return "'" + value if value.startswith(_DANGEROUS) else value


def _text(locale: str) -> dict[str, Any]:
    return _TEXT.get(locale, _TEXT["pt-BR"])


def _record(
    row: IntegrationRow, text: dict[str, Any], tz: ZoneInfo, titles: Mapping[str, str]
) -> tuple[str, str, str, str, datetime | None, str, str, int]:
    local = row.processed_at.astimezone(tz).replace(tzinfo=None) if row.processed_at else None
    category = titles.get(row.category, row.category) if row.category else ""
    return (
        neutralise(row.entity),
        neutralise(f"{row.affiliate_code} · {row.affiliate_name}"),
        text["flow"].get(row.flow, row.flow),
        text["status"].get(row.status, row.status),
        local,
        neutralise(category),
        neutralise(row.message or ""),
        row.attempt_count,
    )


def count_rows(db: Database, *, account_id: int, filter: IntegrationFilter) -> int:
    with db.read() as conn:
        where = filter.conditions(account_id)
        return int(conn.execute(select(func.count()).select_from(integrations).where(*where)).scalar_one())


def export_integrations(
    db: Database,
    *,
    account_id: int,
    filter: IntegrationFilter,
    fmt: Format,
    locale: str = "pt-BR",
    tz: str = "America/Sao_Paulo",
    category_titles: Mapping[str, str] | None = None,
    rows_per_sheet: int = EXCEL_MAX_ROWS,
) -> Iterator[bytes]:
    """The integrations `filter` matches, as an iterator of file bytes (hand it to a streaming response).

    `db` rather than a Connection: the iterator opens its own read transaction when first advanced, since
    a response streams after the request's transaction is gone. CSV streams as it is read (UTF-8 with BOM,
    ';'-separated in pt-BR). xlsx is a zip, so it is written with constant memory to a temporary file first
    and then streamed and deleted; past `rows_per_sheet` rows it continues on further sheets.
    """
    if fmt not in ("xlsx", "csv"):
        raise ValueError(f"unknown export format {fmt!r}")
    zone = ZoneInfo(tz)
    text, titles = _text(locale), category_titles or {}

    def records() -> Iterator[tuple[Any, ...]]:
        with db.read() as conn:
            for row in iter_integrations(conn, account_id=account_id, filter=filter):
                yield _record(row, text, zone, titles)

    if fmt == "csv":
        return timed_stream(_csv(records(), text), fmt)
    xlsx_bytes = _xlsx(records, text, lambda: count_rows(db, account_id=account_id, filter=filter), rows_per_sheet)
    return timed_stream(xlsx_bytes, fmt)


def _csv(records: Iterator[tuple[Any, ...]], text: dict[str, Any]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=text["delimiter"], lineterminator="\r\n")
    writer.writerow(text["columns"])
    yield "\ufeff".encode() + buffer.getvalue().encode()
    for batch in iter(lambda: list(islice(records, 500)), []):
        buffer.seek(0)
        buffer.truncate()
        for record in batch:
            when = record[4].strftime(text["date"]) if record[4] else ""
            writer.writerow((*record[:4], when, *record[5:]))
        yield buffer.getvalue().encode()


def _xlsx(
    records: Callable[[], Iterator[tuple[Any, ...]]],
    text: dict[str, Any],
    count: Callable[[], int],
    rows_per_sheet: int,
) -> Iterator[bytes]:
    fd, path = tempfile.mkstemp(prefix="ponte-export-", suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(
            path,
            records(),
            text["columns"],
            sheet=text["sheet"],
            date_format=text["excel_date"],
            rows_per_sheet=rows_per_sheet,
            expected=count(),
        )
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def write_xlsx(
    path: str,
    records: Iterator[tuple[Any, ...]],
    columns: tuple[str, ...],
    *,
    sheet: str,
    date_format: str,
    rows_per_sheet: int,
    expected: int,
) -> None:
    """Write records (tuples in `columns` order) to an .xlsx at `path`, `rows_per_sheet` rows a sheet.

    `expected` is how many records will come, so that the sheets can be declared before streaming; a
    last sheet takes whatever arrives beyond it. An empty export still gets its header row.
    """
    sheets = max(1, -(-expected // rows_per_sheet))
    book = xlsx.FastExcel(path).format(datetime_format=date_format, bold_headers=True).freeze(row=1)

    def part(limit: int | None) -> Iterator[dict[str, Any]]:
        produced = False
        for record in islice(records, limit):
            produced = True
            yield dict(zip(columns, record, strict=True))
        if not produced:  # the writer takes its header from the first row
            yield dict.fromkeys(columns)

    widths = [18.0, 26.0, 14.0, 12.0, 20.0, 28.0, 80.0, 10.0]
    for n in range(sheets):
        last = n == sheets - 1
        name = sheet if n == 0 else f"{sheet} ({n + 1})"
        book.sheet(name, part(None if last else rows_per_sheet), column_widths=widths, autofilter=True)
    book.save()
