"""Category and attribute mapping with Mercado Livre's own tree, and the checks before sending (issue 21): a store
selling on the emulated Mercado Livre through the real connector and a real worker, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from ponte.app import create_app
from ponte.i18n import Translator, english
from ponte.services import mapping
from ponte.services.affiliates import get_affiliate
from ponte.services.errors import InputError
from ponte.store.tables import attempts, audit_log, skus
from servers import serving
from test_mercadolivre_flows import MeliHub


@pytest.fixture(name="hub")
def hub_fixture(db: Any, settings: Any, meli: Any, tmp_path: Any) -> Iterator[MeliHub]:
    with serving(create_app(settings, db=db)) as ponte_url:
        made = MeliHub(db, settings, meli, tmp_path, ponte_url)
        yield made
        made.worker.close()


def fetch(hub: MeliHub) -> mapping.Fetched:
    with hub.db.read() as conn:
        affiliate = get_affiliate(conn, account_id=hub.account, affiliate_id=hub.affiliate)
    return mapping.fetch_structure(
        hub.db, box=hub.box, settings=hub.settings, affiliate=affiliate, account_id=hub.account
    )


def affiliate(hub: MeliHub) -> Any:
    with hub.db.read() as conn:
        return get_affiliate(conn, account_id=hub.account, affiliate_id=hub.affiliate)


def saved_calls(hub: MeliHub) -> int:
    return hub.count(select(func.count()).select_from(attempts).where(attempts.c.code.like("ponte.check.%")))


def test_a_parent_category_is_stopped_before_sending_and_goes_green_once_mapped(hub: MeliHub) -> None:
    hub.save(category="1000")  # a parent category on Mercado Livre (the store's tree mirrors its ids)
    hub.save("CEL-002", category="1000")
    fetched = fetch(hub)
    assert fetched.error is None and fetched.categories >= 12
    hub.drain()
    stopped = hub.row("product")
    assert (stopped.status, stopped.category, stopped.code) == ("error", "invalid_category", "ponte.check.category")
    assert "MLB1000" in stopped.message and "not a leaf" in stopped.message
    assert hub.meli.items() == []  # no marketplace call was spent on it
    assert saved_calls(hub) == 2
    with hub.db.read() as conn:
        page = mapping.category_page(conn, account_id=hub.account, affiliate=affiliate(hub))
    (row,) = page.rows
    assert (row.category, row.skus, row.valid, row.mapped) == ("1000", 2, False, False)
    assert row.suggestion is not None and row.suggestion.id == "MLB1055"  # the predictor's, from the SKU's name
    with hub.db.write() as conn:
        marked = mapping.map_category(
            conn, account_id=hub.account, affiliate=affiliate(hub), store_category="1000", target="MLB1055",
            actor="alice@example.com",
        )  # fmt: skip
    assert marked == 2
    hub.drain()
    assert hub.row("product").status == "success" and hub.row("product", "CEL-002").status == "success"
    assert {item["category_id"] for item in hub.meli.items()} == {"MLB1055"}
    with hub.db.read() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "mapping.category")).one()
    assert entry.actor == "alice@example.com" and entry.detail["target"] == "MLB1055"


def test_a_mapping_to_a_parent_or_unknown_category_is_refused_and_changes_nothing(hub: MeliHub) -> None:
    hub.save(category="1000")
    fetch(hub)
    for target in ("MLB1000", "MLB999999"):
        with pytest.raises(InputError), hub.db.write() as conn:
            mapping.map_category(
                conn, account_id=hub.account, affiliate=affiliate(hub), store_category="1000", target=target,
                actor="alice@example.com",
            )  # fmt: skip
    with hub.db.read() as conn:
        assert mapping.category_page(conn, account_id=hub.account, affiliate=affiliate(hub)).rows[0].mapped is False


def test_a_missing_required_attribute_is_filled_by_a_value_map_and_goes_green(hub: MeliHub) -> None:
    # Televisores (MLB1002) require VOLTAGE, from Mercado Livre's list (110V, 127V, 220V, BIVOLT).
    hub.save("TV-1", category="1002", attributes={"MODEL": "T50", "Tensão": "220 volts"})
    fetch(hub)
    hub.drain()
    stopped = hub.row("product", "TV-1")
    assert (stopped.category, stopped.code) == ("missing_attribute", "ponte.check.attribute")
    assert "VOLTAGE" in stopped.message
    with hub.db.read() as conn:
        page = mapping.attribute_page(conn, account_id=hub.account, affiliate=affiliate(hub), category="MLB1002")
    assert (page.rows[0].requirement.id, page.rows[0].missing, page.skus) == ("VOLTAGE", 1, 1)  # what to fix first
    assert next(r for r in page.rows if r.requirement.id == "BRAND").missing == 0  # the connector fills it
    voltage = next(r.requirement for r in page.rows if r.requirement.id == "VOLTAGE")
    assert voltage.values == ("110V", "127V", "220V", "BIVOLT")
    assert page.store_values["Tensão"] == ["220 volts"]
    with pytest.raises(InputError), hub.db.write() as conn:  # a value Mercado Livre does not list
        mapping.map_attribute(
            conn, account_id=hub.account, affiliate=affiliate(hub), category="MLB1002", attribute="VOLTAGE",
            source="store", store_attribute="Tensão", value=None, value_map={"220 volts": "220 V"}, actor="alice",
        )  # fmt: skip
    with hub.db.write() as conn:
        mapping.map_attribute(
            conn, account_id=hub.account, affiliate=affiliate(hub), category="MLB1002", attribute="VOLTAGE",
            source="store", store_attribute="Tensão", value=None, value_map={"220 volts": "220v"}, actor="alice",
        )  # fmt: skip
    hub.drain()
    assert hub.row("product", "TV-1").status == "success"
    (item,) = hub.meli.items("TV-1")
    assert {"id": "VOLTAGE", "value_name": "220V"} in [
        {"id": a["id"], "value_name": a["value_name"]} for a in item["attributes"]
    ]


def test_a_title_too_long_and_a_bad_picture_are_stopped_with_their_categories(hub: MeliHub) -> None:
    hub.save("LONG-1", name="Smartphone " + "muito " * 12)
    hub.save("PIC-1", images=["https://cdn.example.com/x1.gif"])
    hub.drain()
    assert (hub.row("product", "LONG-1").category, hub.row("product", "LONG-1").code) == (
        "invalid_attribute_value",
        "ponte.check.title",
    )
    assert hub.row("product", "PIC-1").category == "image_problem"
    assert hub.meli.items() == []


def test_one_sku_may_go_to_its_own_category_over_its_store_categorys(hub: MeliHub) -> None:
    hub.save(category="1000")
    hub.save("CEL-002", category="1000")
    fetch(hub)
    with hub.db.write() as conn:
        marked = mapping.map_category(
            conn, account_id=hub.account, affiliate=affiliate(hub), store_category="", target="MLB1055",
            actor="alice", sku="CEL-002",
        )  # fmt: skip
    assert marked == 1
    hub.drain()
    assert hub.row("product", "CEL-002").status == "success"
    assert hub.row("product", "CEL-001").code == "ponte.check.category"
    with hub.db.read() as conn:
        assert mapping.target_of(conn, account_id=hub.account, affiliate=affiliate(hub), sku="CEL-002") == "MLB1055"


def test_a_spreadsheet_of_the_category_is_exported_fixed_and_imported_with_its_rejected_lines(hub: MeliHub) -> None:
    from ponte.services import catalog_sheet

    hub.save("TV-1", category="1002", attributes={"MODEL": "T50"})
    hub.save("TV-2", category="1002", attributes={"MODEL": "T55"})
    fetch(hub)
    with hub.db.read() as conn:
        text = catalog_sheet.export_csv(conn, account_id=hub.account, affiliate=affiliate(hub), category="MLB1002")
    lines = text.lstrip("\ufeff").splitlines()
    header = lines[0].split(";")
    assert header[:2] == ["sku", "name"] and "VOLTAGE*" in header and "MODEL*" in header
    assert header.index("VOLTAGE*") < header.index("SABOR")  # required ones first
    column = header.index("VOLTAGE*")
    rows = [line.split(";") for line in lines[1:]]
    assert sorted(r[0] for r in rows) == ["TV-1", "TV-2"] and all(r[column] == "" for r in rows)
    for r in rows:
        r[column] = "220v" if r[0] == "TV-1" else "300V"  # the second is not in Mercado Livre's list
    edited = "\n".join([";".join(header), *(";".join(r) for r in rows), "NOPE-1;x" + ";" * (len(header) - 2)])
    with hub.db.write() as conn:
        report = catalog_sheet.import_csv(
            conn, account_id=hub.account, affiliate=affiliate(hub), category="MLB1002", text=edited, actor="alice"
        )
    assert report.updated == 1
    assert [(sku, english(why).split(":")[0]) for _, sku, why in report.rejected] == [
        ("TV-2", "VOLTAGE"), ("NOPE-1", "SKU NOPE-1 is not in category MLB1002")
    ]  # fmt: skip
    assert Translator("pt-BR").message(report.rejected[1][2]) == "O SKU NOPE-1 não está na categoria MLB1002"
    hub.drain()
    assert hub.row("product", "TV-1").status == "success"
    assert hub.row("product", "TV-2").code == "ponte.check.attribute"


def test_the_spreadsheet_goes_both_ways_as_xlsx_with_formulas_neutralised(hub: MeliHub) -> None:
    import io
    import os
    import tempfile

    from python_calamine import CalamineWorkbook

    from ponte.exports import write_xlsx
    from ponte.services import catalog_sheet

    hub.save("TV-1", category="1002", name='=HYPERLINK("http://x")', attributes={"MODEL": "@T50"})
    hub.save("TV-2", category="1002", attributes={"MODEL": "T55"})
    fetch(hub)
    with hub.db.read() as conn:
        book = catalog_sheet.export_xlsx(conn, account_id=hub.account, affiliate=affiliate(hub), category="MLB1002")
        text = catalog_sheet.export_csv(conn, account_id=hub.account, affiliate=affiliate(hub), category="MLB1002")
    header, *rows = CalamineWorkbook.from_filelike(io.BytesIO(book)).get_sheet_by_index(0).to_python()
    assert header[:2] == ["sku", "name"] and "VOLTAGE*" in header
    by_sku = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_sku["TV-1"]["name"] == '\'=HYPERLINK("http://x")' and by_sku["TV-1"]["MODEL*"] == "'@T50"
    assert "'=HYPERLINK" in text and ";'@T50;" in text  # the CSV neutralises the same cells
    by_sku["TV-1"]["VOLTAGE*"], by_sku["TV-2"]["VOLTAGE*"] = "220V", "300V"  # the second is not in the list
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(path, iter(by_sku.values()), tuple(header), sheet="x", date_format="yyyy-mm-dd", rows_per_sheet=100, expected=2)  # fmt: skip
        with open(path, "rb") as fh:
            edited = fh.read()
    finally:
        os.unlink(path)
    lines = catalog_sheet.read_sheet(edited, "MLB-MLB1002.xlsx")
    with hub.db.write() as conn:
        report = catalog_sheet.import_sheet(
            conn, account_id=hub.account, affiliate=affiliate(hub), category="MLB1002", lines=lines, actor="alice"
        )
    assert report.updated == 1 and [(line, sku) for line, sku, _ in report.rejected] == [(3, "TV-2")]
    with hub.db.read() as conn:
        saved = conn.execute(select(skus.c.attributes).where(skus.c.sku == "TV-1")).scalar_one()
    assert saved["VOLTAGE"] == "220V" and saved["MODEL"] == "@T50"  # the neutralising ' is not saved
    with pytest.raises(InputError) as unreadable:
        catalog_sheet.read_sheet(b"PK\x03\x04 not really a workbook", "x.xlsx")
    assert unreadable.value.field == "file"
