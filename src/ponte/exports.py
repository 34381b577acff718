"""Excel and CSV exports of exactly what a Connections filter shows: every page, not just the visible one.

Both formats stream: rows are read in keyset batches and never held all at once. Dates are real dates
(Excel date cells; CSV in the locale's format) in the store's time zone, and every text cell that a
spreadsheet could take for a formula (starting with = + - @, tab or CR) is neutralised with a leading '.

At a million rows the cost is Python's work per row, so that work is kept to the minimum: one lean query
(only the exported columns, no join) read in big keyset batches; the few-valued columns (affiliate, flow,
status, category) are translated and neutralised once per distinct value, not once per row; only the
entity and the message (free text from marketplaces) are checked row by row; CSV rows go to the C writer a
batch at a time.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from typing import Any, Literal
from zoneinfo import ZoneInfo

import rustpy_xlsxwriter as xlsx
from sqlalchemy import Connection

from ponte.domain.messages import from_columns
from ponte.domain.privacy import mask_text
from ponte.i18n import DEFAULT_LOCALE, LOCALES, Translator
from ponte.metrics import timed_stream
from ponte.store.affiliates import account_affiliates, affiliates_by_id
from ponte.store.db import Database
from ponte.store.exports import ExportRow, count_matching, export_batches
from ponte.store.filters import IntegrationFilter

Format = Literal["xlsx", "csv"]
EXCEL_MAX_ROWS = 1_048_575  # 1,048,576 rows a sheet, less the header
CHUNK = 1024 * 1024
BATCH = 10_000  # rows a keyset query reads (and a CSV chunk holds): ~1 MB of text
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
    "es": {
        "columns": (
            "ID / SKU",
            "Afiliado",
            "Flujo",
            "Estado",
            "Fecha de procesamiento",
            "Categoría",
            "Mensaje",
            "Intentos",
        ),
        "sheet": "Integraciones",
        "date": "%d/%m/%Y %H:%M:%S",
        "excel_date": "dd/mm/yyyy hh:mm:ss",
        "delimiter": ";",  # ',' is the decimal separator in Spanish, as in Brazil
        "status": {"success": "Éxito", "warning": "Aviso", "error": "Error", "pending": "Pendiente"},
        "flow": {
            "order": "Pedidos",
            "product": "Productos",
            "tracking": "Seguimiento",
            "price": "Precio",
            "inventory": "Inventario",
        },
    },
}


def neutralise(value: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading ' so it shows as typed."""
    return "'" + value if value.startswith(_DANGEROUS) else value


def _text(locale: str) -> dict[str, Any]:
    return _TEXT.get(locale, _TEXT["pt-BR"])


# -- reading (the rows come from store/exports.py) --------------------------------------------------------


def _wall_clock(zone: ZoneInfo) -> Callable[[str], datetime]:
    """UTC text from the database -> the naive wall-clock time in `zone` (what the files show).

    The zone's offset is looked up once per hour of UTC time, not per row (`astimezone` was a tenth of an
    export); an hour in which the offset changes (a daylight-saving switch) is converted row by row.
    """
    offsets: dict[str, timedelta | None] = {}

    def steady_offset(when: datetime) -> timedelta | None:
        start = when.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
        first = start.astimezone(zone).utcoffset()
        last = (start + timedelta(hours=1, microseconds=-1)).astimezone(zone).utcoffset()
        return first if first == last else None

    def local(text: str) -> datetime:
        when = datetime.fromisoformat(text)
        hour = text[:13]
        if hour not in offsets:
            offsets[hour] = steady_offset(when)
        offset = offsets[hour]
        if offset is None:
            return when.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        return when + offset

    return local


class _Memo(dict[Any, str]):
    """Value -> its exported text, computed once per distinct value (a column with few values)."""

    def __init__(self, compute: Callable[[Any], str]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: Any) -> str:
        value = self[key] = self.compute(key)
        return value


class _Recent(_Memo):
    """A memo of the messages met lately: Ponte's messages repeat with their parameters (a SKU, a quantity), so it is
    emptied now and then rather than grow with the file."""

    def __missing__(self, key: Any) -> str:
        if len(self) > 10_000:
            self.clear()
        return super().__missing__(key)


def _translations(
    conn: Connection, account_id: int, text: dict[str, Any], titles: Mapping[str, str], locale: str
) -> tuple[_Memo, _Memo, _Memo, _Memo, _Memo]:
    """Memos for the affiliate, flow, status, category and (Ponte's own) message columns: translated and
    neutralised."""
    labels = {a.id: f"{a.code} · {a.name}" for a in account_affiliates(conn, account_id=account_id)}

    def affiliate(affiliate_id: int) -> str:
        if affiliate_id not in labels:  # added while the export ran: look it up
            found = affiliates_by_id(conn, [affiliate_id]).get(affiliate_id)
            labels[affiliate_id] = f"{found.code} · {found.name}" if found else ""
        return neutralise(labels[affiliate_id])

    t = Translator(locale if locale in LOCALES else DEFAULT_LOCALE)
    flows: Mapping[str, str] = text["flow"]
    statuses: Mapping[str, str] = text["status"]
    return (
        _Memo(affiliate),
        _Memo(lambda flow: neutralise(flows.get(flow, flow))),
        _Memo(lambda status: neutralise(statuses.get(status, status))),
        _Memo(lambda category: neutralise(titles.get(category, category)) if category else ""),
        _Recent(lambda said: neutralise(t.said(from_columns(said[0], said[1]), said[2]))),
    )


def count_rows(db: Database, *, account_id: int, filter: IntegrationFilter) -> int:
    with db.read() as conn:
        return count_matching(conn, account_id=account_id, filter=filter)


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
    batch: int = BATCH,
    masked: bool = False,
) -> Iterator[bytes]:
    """The integrations `filter` matches, as an iterator of file bytes (hand it to a streaming response).

    `db` rather than a Connection: the iterator opens its own read transaction when first advanced, since
    a response streams after the request's transaction is gone. CSV streams as it is read (UTF-8 with BOM,
    ';'-separated in pt-BR), a chunk per batch of rows. xlsx is a zip, so it is written with constant memory
    to a temporary file first and then streamed and deleted; past `rows_per_sheet` rows it continues on
    further sheets. `masked`: buyers' personal data in the messages masked (a viewer's export).
    """
    if fmt not in ("xlsx", "csv"):
        raise ValueError(f"unknown export format {fmt!r}")
    local = _wall_clock(ZoneInfo(tz))
    text, titles = _text(locale), category_titles or {}

    def batches(convert: Callable[..., list[Any]]) -> Iterator[list[Any]]:
        with db.read() as conn:
            memos = _translations(conn, account_id, text, titles, locale)
            for rows in export_batches(conn, account_id=account_id, filter=filter, batch=batch):
                yield convert(_masked(rows) if masked else rows, local, *memos)

    if fmt == "csv":
        return timed_stream(_csv(batches(_csv_rows(text["date"])), text), fmt)
    records = lambda: chain.from_iterable(batches(_excel_rows(text["columns"])))  # noqa: E731
    xlsx_bytes = _xlsx(records, text, lambda: count_rows(db, account_id=account_id, filter=filter), rows_per_sheet)
    return timed_stream(xlsx_bytes, fmt)


def _masked(rows: Sequence[ExportRow]) -> list[ExportRow]:
    return [(*r[:7], mask_text(r[7]) if r[7] else r[7], *r[8:]) for r in rows]


def _excel_rows(columns: Sequence[str]) -> Callable[..., list[dict[str, Any]]]:
    """Rows -> the writer's dicts; dates as the store's wall-clock time."""
    c0, c1, c2, c3, c4, c5, c6, c7 = columns
    danger = _DANGEROUS

    def convert(
        rows: Sequence[ExportRow],
        local: Callable[[str], datetime],
        affiliate: _Memo,
        flow: _Memo,
        status: _Memo,
        category: _Memo,
        said: _Memo,
    ) -> list[dict[str, Any]]:
        return [
            {
                c0: "'" + entity if entity.startswith(danger) else entity,
                c1: affiliate[affiliate_id],
                c2: flow[flow_],
                c3: status[status_],
                c4: local(when) if when is not None else None,
                c5: category[category_],
                c6: _message(message, key, params, said, danger),
                c7: attempts,
            }
            for _, when, entity, affiliate_id, flow_, status_, category_, message, attempts, key, params in rows
        ]

    return convert


def _message(message: str | None, key: str | None, params: str | None, said: _Memo, danger: tuple[str, ...]) -> str:
    """A row's message: Ponte's own in the file's language (once per distinct message), a marketplace's as it came;
    neutralised either way (a parameter may hold a marketplace's words)."""
    if key:
        return said[(key, params, message)]
    return ("'" + message if message.startswith(danger) else message) if message else ""


def _csv_rows(pattern: str) -> Callable[..., list[tuple[Any, ...]]]:
    """Rows -> CSV tuples, the date as text in `pattern` (the two locales' patterns without strftime)."""
    danger = _DANGEROUS

    def convert(
        rows: Sequence[ExportRow],
        local: Callable[[str], datetime],
        affiliate: _Memo,
        flow: _Memo,
        status: _Memo,
        category: _Memo,
        said: _Memo,
    ) -> list[tuple[Any, ...]]:
        return [
            (
                "'" + entity if entity.startswith(danger) else entity,
                affiliate[affiliate_id],
                flow[flow_],
                status[status_],
                when and date(local(when)),
                category[category_],
                _message(message, key, params, said, danger),
                attempts,
            )
            for _, when, entity, affiliate_id, flow_, status_, category_, message, attempts, key, params in rows
        ]

    date: Callable[[datetime], str]
    if pattern == "%Y-%m-%d %H:%M:%S":
        date = _iso_date
    elif pattern == "%d/%m/%Y %H:%M:%S":
        date = _brazilian_date
    else:
        date = lambda when: when.strftime(pattern)  # noqa: E731
    return convert


def _iso_date(when: datetime) -> str:
    return when.isoformat(" ", "seconds")[:19]


def _brazilian_date(when: datetime) -> str:
    iso = when.isoformat(" ", "seconds")
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}{iso[10:19]}"


def _csv(batches: Iterator[list[tuple[Any, ...]]], text: dict[str, Any]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=text["delimiter"], lineterminator="\r\n")
    writer.writerow(text["columns"])
    yield "\ufeff".encode() + buffer.getvalue().encode()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        yield buffer.getvalue().encode()


def _xlsx(
    records: Callable[[], Iterator[dict[str, Any]]],
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
    records: Iterator[dict[str, Any]],
    columns: tuple[str, ...],
    *,
    sheet: str,
    date_format: str,
    rows_per_sheet: int,
    expected: int,
) -> None:
    """Write records (dicts keyed by `columns`) to an .xlsx at `path`, `rows_per_sheet` rows a sheet.

    `expected` is how many records will come, so that the sheets can be declared before streaming; a
    last sheet takes whatever arrives beyond it. An empty sheet still gets its header row.
    """
    sheets = max(1, -(-expected // rows_per_sheet))
    book = xlsx.FastExcel(path).format(datetime_format=date_format, bold_headers=True).freeze(row=1)

    def part(limit: int | None) -> Iterator[dict[str, Any]]:
        # Lazy (declared before any row is read) and a thin delegation: islice pulls from the C iterator.
        produced = False
        for first in records:
            produced = True
            yield first
            yield from islice(records, None if limit is None else limit - 1)
            break
        if not produced:  # the writer takes its header from the first row
            yield dict.fromkeys(columns)

    widths = [18.0, 26.0, 14.0, 12.0, 20.0, 28.0, 80.0, 10.0]
    for n in range(sheets):
        last = n == sheets - 1
        name = sheet if n == 0 else f"{sheet} ({n + 1})"
        book.sheet(name, part(None if last else rows_per_sheet), column_widths=widths, autofilter=True)
    book.save()
