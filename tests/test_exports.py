"""Excel and CSV exports: what the filter shows, every page, real dates, no formula injection."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import update

from factories import add_integration, two_stores
from ponte.exports import _wall_clock, export_integrations, neutralise
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import integrations


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


def _xlsx(db, account_id, flt, **kwargs):
    data = b"".join(export_integrations(db, account_id=account_id, filter=flt, fmt="xlsx", **kwargs))
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_it_neutralises_text_a_spreadsheet_would_run(text):
    assert neutralise(text) == "'" + text
    assert neutralise("Preço 10") == "Preço 10"


def test_it_exports_exactly_the_filtered_rows_with_real_dates(db, stores):
    a, _ = stores
    sheets = _xlsx(db, a.account_id, IntegrationFilter(flow="product", statuses=("error",)))
    (rows,) = sheets.values()
    assert rows[0][:4] == ["ID / SKU", "Afiliado", "Fluxo", "Status"]
    assert {r[0] for r in rows[1:]} == {"TEN-001", "TEN-004"}
    assert all(r[3] == "Erro" for r in rows[1:])
    assert isinstance(rows[1][4], datetime)


def test_it_neutralises_marketplace_messages_in_excel(db, stores):
    a, _ = stores
    with db.write() as conn:
        add_integration(
            conn,
            a.account_id,
            flow="price",
            affiliate_id=a.affiliates["MLB"],
            entity="EVIL-1",
            status="error",
            message='=cmd|" /C calc"!A0',
            category="unmapped",
        )
    (rows,) = _xlsx(db, a.account_id, IntegrationFilter(entity_prefix="EVIL")).values()
    assert rows[1][6] == '\'=cmd|" /C calc"!A0'


def test_it_continues_on_further_sheets_past_the_row_limit(db, stores):
    a, _ = stores
    sheets = _xlsx(db, a.account_id, IntegrationFilter(flow="order"), rows_per_sheet=4, locale="en")
    assert list(sheets) == ["Integrations", "Integrations (2)"]
    first, second = sheets.values()
    assert first[0][1] == "Affiliate" and second[0] == first[0]
    assert len(first) - 1 + len(second) - 1 == 6


def test_it_writes_a_header_for_an_empty_export(db, stores):
    a, _ = stores
    (rows,) = _xlsx(db, a.account_id, IntegrationFilter(entity_prefix="nothing-here")).values()
    assert rows[0][0] == "ID / SKU"


def test_it_streams_csv_for_excel_in_brazil(db, stores):
    a, _ = stores
    chunks = list(export_integrations(db, account_id=a.account_id, filter=IntegrationFilter(flow="order"), fmt="csv"))
    text = b"".join(chunks).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 7
    assert rows[1][4][2] == "/"  # dd/mm/aaaa


def test_it_never_exports_another_accounts_rows(db, stores):
    _, b = stores
    (rows,) = _xlsx(db, b.account_id, IntegrationFilter()).values()
    assert len(rows) - 1 == 10  # store B: 2 rows in each of 5 flows


def test_small_batches_export_the_same_rows_in_the_same_order(db, stores):
    """The keyset reading continues across batches, never-processed rows (no date) included."""
    a, _ = stores
    with db.write() as conn:
        conn.execute(
            update(integrations)
            .where(integrations.c.account_id == a.account_id, integrations.c.flow == "order")
            .values(processed_at=None)
        )

    def rows(batch):
        data = b"".join(
            export_integrations(db, account_id=a.account_id, filter=IntegrationFilter(), fmt="csv", batch=batch)
        )
        return list(csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff")), delimiter=";"))

    whole = rows(10_000)
    assert len(whole) - 1 == 30 and sum(1 for r in whole[1:] if r[4] == "") >= 2
    assert rows(1) == whole and rows(3) == whole


def test_excel_dates_are_the_store_zones_wall_clock_and_entities_are_neutralised(db, stores):
    a, _ = stores
    with db.write() as conn:
        add_integration(
            conn,
            a.account_id,
            flow="order",
            affiliate_id=a.affiliates["MLB"],
            entity="=1+1",
            status="success",
            processed_at=datetime(2026, 5, 3, 12, 13, 14, tzinfo=UTC),
        )
    (rows,) = _xlsx(db, a.account_id, IntegrationFilter(entity_prefix="=1"), tz="America/Sao_Paulo").values()
    assert rows[1][0] == "'=1+1"
    assert rows[1][4] == datetime(2026, 5, 3, 9, 13, 14)


@pytest.mark.parametrize("zone", ["America/Sao_Paulo", "America/New_York", "America/St_Johns", "Australia/Lord_Howe"])
def test_wall_clock_matches_astimezone_across_daylight_saving_switches(zone: str) -> None:
    """The per-hour offset memo gives exactly what astimezone gives, in the hours a zone switches too
    (New York's 1-hour switch, St John's at half past a UTC hour, Lord Howe's half-hour shift)."""
    local, tz = _wall_clock(ZoneInfo(zone)), ZoneInfo(zone)
    starts = [datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 4, 4, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC),
              datetime(2026, 10, 31, tzinfo=UTC), datetime(2018, 11, 3, tzinfo=UTC)]  # fmt: skip
    checked = 0
    for start in starts:
        for minutes in range(0, 3 * 24 * 60, 7):
            when = start + timedelta(minutes=minutes, microseconds=123)
            text = when.replace(tzinfo=None).isoformat(" ")
            assert local(text) == when.astimezone(tz).replace(tzinfo=None), text
            checked += 1
    assert checked > 3000
