"""The command line: clear sentences, never tracebacks; data commands on the chosen database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponte.cli import app

runner = CliRunner()


@pytest.fixture
def data(settings):
    """CLI arguments that point at the test's database."""
    return ["--database-url", settings.database_url, "--data-dir", str(settings.data_dir)]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_it_creates_a_user_and_refuses_a_second_with_the_same_email(data):
    ok = invoke(
        "user",
        "create",
        "--account",
        "loja-a",
        "--email",
        "ana@loja.com",
        "--password",
        "s3nha-forte",
        "--role",
        "operator",
        *data,
    )
    assert ok.exit_code == 0 and "ana@loja.com" in ok.output
    again = invoke(
        "user", "create", "--account", "loja-a", "--email", "ANA@loja.com", "--password", "s3nha-forte", *data
    )
    assert again.exit_code == 1 and "already exists" in again.output and "Traceback" not in again.output


def test_it_imports_good_lines_and_reports_each_bad_one(data, tmp_path):
    invoke("user", "create", "--account", "loja-a", "--email", "ana@loja.com", "--password", "s3nha-forte", *data)
    csv = tmp_path / "catalogo.csv"
    csv.write_text(
        "sku,name,brand,category,ean,price,list_price,stock\n"
        "CEL-1,Smartphone X,Acme,1055,7891234567895,899.00,999.00,10\n"
        "CEL-2,Smartphone Y,Acme,1055,7891234567890,899.00,999.00,10\n"  # bad check digit
        "CEL-3,,Acme,1055,,10,10,1\n"  # no name
        "CEL-4,Capa,Acme,1055,,abc,10,1\n",  # price is not a number
        encoding="utf-8",
    )
    result = invoke("import", csv, *data)
    assert result.exit_code == 2
    assert "Imported 1 lines; rejected 3" in result.output
    assert "line 3: ean" in result.output and "line 4: name" in result.output and "line 5: price" in result.output
    status = invoke("status", "--json", *data)
    assert status.exit_code == 0 and json.loads(status.output) == []  # no marketplace yet: nothing to send


def test_it_counts_before_a_bulk_reprocess_on_a_dry_run(data):
    invoke("user", "create", "--account", "loja-a", "--email", "ana@loja.com", "--password", "s3nha-forte", *data)
    result = invoke("reprocess", "--flow", "product", "--dry-run", *data)
    assert result.exit_code == 0 and "0 integrations would be queued" in result.output


def test_it_explains_an_error_message_as_json():
    result = invoke("explain", "--connector", "mercadolivre", "--flow", "product", "--json", "item.category_id.invalid")
    body = json.loads(result.output)
    assert body["category"] == "invalid_category" and body["disposition"] == "fix"
    assert (
        set(body["fix"]) == {"pt-BR", "en", "es"} and body["help"] == "/help/marketplace/mercadolivre#invalid_category"
    )


def test_a_bad_database_url_is_a_sentence_not_a_traceback():
    result = invoke("status", "--database-url", "mysql://nope")
    assert result.exit_code == 1
    assert "PONTE_DATABASE_URL must be a sqlite" in result.output and "Traceback" not in result.output


def test_without_an_account_it_says_how_to_make_one(data):
    result = invoke("status", *data)
    assert result.exit_code == 1 and "ponte demo" in result.output


def test_a_csv_line_the_csv_module_cannot_read_is_reported_not_crashed(tmp_path):
    from ponte.services.importer import read_records

    huge = "x" * (200_000)  # above the csv module's field size limit
    records = list(read_records(f"sku,name\nA-1,Ok\nA-2,{huge}\nA-3,Fine\n", "csv"))
    assert records[0] == (2, {"sku": "A-1", "name": "Ok"})
    assert any(isinstance(r, str) and "not valid CSV" in r for _, r in records)
    assert records[-1][1] == {"sku": "A-3", "name": "Fine"}


def test_long_running_processes_collect_garbage_in_bigger_steps():
    """`ponte worker` and `ponte run` raise the collector's first threshold (a feed's 25,000 objects at a time)
    and freeze what lives until exit."""
    import gc

    from ponte.cli_common import tune_collector

    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold()[0] >= 50_000 and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
