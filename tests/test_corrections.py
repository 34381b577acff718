"""Operators' corrections: a rule that moves an error out of Ponte's category is kept as a labelled example,
once per distinct message, per account, and exported as JSON lines with what identifies a buyer masked."""

from __future__ import annotations

import json

from sqlalchemy import insert
from typer.testing import CliRunner

from factories import add_affiliate
from ponte.auth import get_or_create_account
from ponte.cli import app
from ponte.clock import now
from ponte.services.corrections import export_corrections
from ponte.services.rules import add_rule, reclassify_errors
from ponte.store.corrections import list_corrections
from ponte.store.tables import integrations

ODD = "Erro 7781 no processamento do anúncio: consulte o suporte"
WITH_BUYER = "Erro 12 no processamento: comprador ana@example.com, CPF 123.456.789-09, pedido 2000004567891234"


def _errors(conn, account_id, messages, affiliate="MLB"):
    affiliate_id = add_affiliate(conn, account_id, affiliate, affiliate)
    conn.execute(
        insert(integrations),
        [
            {
                "account_id": account_id,
                "flow": "product",
                "affiliate_id": affiliate_id,
                "entity": f"{affiliate}-SKU-{k}",
                "status": "error",
                "message": message,
                "category": category,
                "created_at": now(),
            }
            for k, (message, category) in enumerate(messages)
        ],
    )


def test_it_keeps_each_message_a_rule_corrects_once(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        _errors(conn, account, [(ODD, "unmapped"), (ODD, "unmapped"), (WITH_BUYER, "buyer_data_invalid")])
        _errors(conn, account, [("SKU out of stock", "out_of_stock")], affiliate="AMZ")
        rule = add_rule(
            conn, account_id=account, actor="ana", pattern=r"erro \d+ no processamento", category="integration_config"
        )
        assert reclassify_errors(conn, account_id=account, actor="ana@loja") == 3
        assert reclassify_errors(conn, account_id=account, actor="ana@loja") == 0  # nothing left to move
        kept = list_corrections(conn, account_id=account)
    assert sorted((c.message, c.previous_category, c.category) for c in kept) == [
        (WITH_BUYER, "buyer_data_invalid", "integration_config"),
        (ODD, "unmapped", "integration_config"),
    ]
    assert {(c.rule_id, c.created_by, c.marketplace, c.flow, c.disposition) for c in kept} == {
        (rule, "ana@loja", "sandbox", "product", "fix")
    }


def test_the_same_correction_made_twice_is_kept_once(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        _errors(conn, account, [(ODD, "unmapped")])
        add_rule(
            conn, account_id=account, actor="ana", pattern=r"erro \d+ no processamento", category="integration_config"
        )
        reclassify_errors(conn, account_id=account)
        # The errors come back as Ponte saw them (a new attempt), and the rule moves them again.
        conn.execute(integrations.update().values(category="unmapped"))
        assert reclassify_errors(conn, account_id=account) == 1
        assert len(list_corrections(conn, account_id=account)) == 1


def test_corrections_belong_to_their_account_and_leave_buyers_out_of_the_export(db):
    with db.write() as conn:
        a = get_or_create_account(conn, slug="loja-a")
        b = get_or_create_account(conn, slug="loja-b")
        _errors(conn, a, [(WITH_BUYER, "unmapped")])
        add_rule(conn, account_id=a, actor="ana", pattern=r"erro \d+ no processamento", category="integration_config")
        reclassify_errors(conn, account_id=a, actor="ana")
        exported = export_corrections(conn, account_id=a)
        assert export_corrections(conn, account_id=b) == []
    (row,) = exported
    assert row["message"] == "Erro 12 no processamento: comprador <email>, CPF <n>, pedido <n>"
    assert (row["category"], row["previous_category"], row["marketplace"], row["flow"]) == (
        "integration_config",
        "unmapped",
        "sandbox",
        "product",
    )
    assert row["source_group"] == f"corrections:account-{a}"


def test_the_command_writes_json_lines_the_evaluation_reads(db, settings, tmp_path):
    from ponte.knowledge.evaluation import read_labelled

    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        _errors(conn, account, [(ODD, "unmapped")])
        add_rule(
            conn, account_id=account, actor="ana", pattern=r"erro \d+ no processamento", category="integration_config"
        )
        reclassify_errors(conn, account_id=account, actor="ana")
    out = tmp_path / "corrections.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "knowledge",
            "export-corrections",
            "--output",
            str(out),
            "--database-url",
            settings.database_url,
            "--data-dir",
            str(settings.data_dir),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "1 corrections exported" in result.output
    (row,) = read_labelled(out)
    assert (row.message, row.category, row.disposition) == (ODD, "integration_config", "fix")
    assert json.loads(out.read_text())["corrected_by"] == "ana"
