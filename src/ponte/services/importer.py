"""Importing catalog files: CSV or JSON lines of SKUs, prices or stock, validated line by line.

A bad line is reported with its number and reason and changes nothing; good lines are written in batches.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from ponte.domain.messages import say
from ponte.services import catalog
from ponte.services.errors import InputError

KINDS = ("sku", "price", "stock")
BATCH = 500
MAX_LINE = 1_000_000


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass
class ImportReport:
    kind: str
    accepted: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise InputError(say("msg.import.format", file=path.name))


def _csv_value(column: str, value: str) -> Any:
    """CSV cells are text; turn list- and map-like columns into what the models expect."""
    if value == "":
        return None
    if column == "images":
        return [v.strip() for v in value.split("|") if v.strip()]
    if column == "attributes":
        if value.lstrip().startswith("{"):
            return json.loads(value)
        return dict(part.split("=", 1) for part in value.split(";") if "=" in part)
    if column == "stock" and not value.lstrip().startswith("{"):
        return {"main": value}
    if column == "stock":
        return json.loads(value)
    if column == "active":
        return value.strip().lower() in ("1", "true", "sim", "yes", "s", "y")
    return value


def read_records(text: str, fmt: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, record) pairs; a record that cannot be read at all comes as an error string. A record holding
    a NUL character is refused: no field of Ponte has a use for one (and PostgreSQL keeps none in text)."""
    records = _json_lines(text) if fmt == "jsonl" else _csv_records(text)
    for number, record in records:
        try:
            refused = isinstance(record, dict) and _holds_nul(record)
        except RecursionError:
            yield number, "nested too deeply"
            continue
        yield number, "a NUL character (\\u0000) is not accepted in any field" if refused else record


# A line ends at \r\n, \r or \n only: str.splitlines also breaks at \x85, \u2028 and other Unicode separators, which
# CSV and JSON hold inside a cell or a string, so its line numbers were not the csv module's.
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


def _lines(text: str, *, keepends: bool = False) -> list[str]:
    found = _LINE.findall(text)
    return found if keepends else [line.rstrip("\r\n") for line in found]


def _json_lines(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON: {exc.msg} at column {exc.colno}"
            continue
        except RecursionError:
            yield number, "not valid JSON: nested too deeply"
            continue
        yield number, record if isinstance(record, dict) else "a line must be a JSON object"


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """CSV records, numbered by their last physical line (the header is line 1).

    Quoted cells may hold line breaks, so a quote left open would swallow every later line into one cell: the
    reader is strict, and when a record cannot be read it is reported and reading starts again on the line after
    the one the bad record began on. A line the csv module refuses (a NUL, an over-long cell) is reported alike.
    """
    lines = _lines(text, keepends=True)
    try:
        header = next(csv.reader(lines[:1]), None)
    except csv.Error as exc:
        raise InputError(say("msg.import.header_unreadable", problem=str(exc)))
    if not header or "sku" not in header:
        raise InputError(say("msg.import.header_sku"))
    offset = 1  # lines[offset:] are read next; absolute line numbers start at 1 with the header
    while offset < len(lines):
        # newline="" lets the csv module see line ends itself, so quoted cells may hold line breaks.
        reader = csv.DictReader(io.StringIO("".join(lines[offset:]), newline=""), fieldnames=header, strict=True)
        done = 0  # physical lines of this reader taken by good records
        try:
            for row in reader:
                yield offset + reader.line_num, _csv_record(row, header)
                done = reader.line_num
            return
        except csv.Error as exc:
            bad = offset + done + 1
            yield bad, f"not valid CSV: {exc}"
            offset = bad


def _csv_record(row: dict[str | Any, Any], header: list[str]) -> dict[str, Any] | str:
    if None in row:
        return f"line has {len(row) - 1 + len(row[None])} cells, the header has {len(header)}"
    try:
        return {k: v for k, v in ((k, _csv_value(k, (v or "").strip())) for k, v in row.items()) if v is not None}
    except (ValueError, RecursionError) as exc:
        return f"unreadable cell: {exc}" if isinstance(exc, ValueError) else "unreadable cell: nested too deeply"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def guess_kind(record: dict[str, Any]) -> str:
    if "name" in record:
        return "sku"
    if "quantity" in record:
        return "stock"
    if "price" in record:
        return "price"
    return "sku"


def import_text(
    begin: Callable[[], Any],
    *,
    account_id: int,
    text: str,
    fmt: str,
    kind: str | None = None,
    actor: str = "import",
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import records; `begin()` opens one write transaction (a context manager yielding a Connection) per batch.

    `progress(advance, total)` is called after each batch.
    """
    if kind is not None and kind not in KINDS:
        raise InputError(say("msg.input.one_of", field="kind", choices=", ".join(KINDS)), field="kind")
    records = list(read_records(text, fmt))
    if kind is None and fmt == "csv":
        # A CSV file holds one kind of line, told by its header (an empty cell must not change it).
        kind = guess_kind(dict.fromkeys(next(csv.reader(io.StringIO(text, newline="")), [])))
    report = ImportReport(kind=kind or "auto")
    for start in range(0, len(records), BATCH):
        with begin() as conn:
            _import_batch(conn, account_id, records[start : start + BATCH], kind, actor, report)
        if progress:
            progress(min(BATCH, len(records) - start), len(records))
    return report


def _import_batch(
    conn: Connection,
    account_id: int,
    records: list[tuple[int, dict[str, Any] | str]],
    kind: str | None,
    actor: str,
    report: ImportReport,
) -> None:
    """Validate each line, then write each run of consecutive lines of one kind together, in file order."""
    rejected: list[Rejected] = []
    runs: list[tuple[str, list[tuple[int, Any]]]] = []
    for number, record in records:
        if isinstance(record, str):
            rejected.append(Rejected(number, record))
            continue
        line_kind = kind or guess_kind(record)
        try:
            item = catalog.INPUTS[line_kind].model_validate(record)
        except ValidationError as exc:
            rejected.append(Rejected(number, catalog.input_error(exc).message))
            continue
        if not runs or runs[-1][0] != line_kind:
            runs.append((line_kind, []))
        runs[-1][1].append((number, item))
    for line_kind, lines in runs:
        items = [item for _, item in lines]
        unknown = catalog.write_items(conn, kind=line_kind, account_id=account_id, items=items, actor=actor)
        rejected += [Rejected(number, f"SKU {item.sku} not found") for number, item in lines if item.sku in unknown]
        report.accepted += sum(1 for _, item in lines if item.sku not in unknown)
    report.rejected += sorted(rejected, key=lambda r: r.line)
