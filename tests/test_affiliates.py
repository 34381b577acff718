"""Affiliates: settings validated, secrets sealed and kept, every change audited without secret values."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ponte.auth import get_or_create_account
from ponte.i18n import Translator
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate, get_affiliate, public_settings, update_affiliate
from ponte.services.errors import InputError
from ponte.store.tables import affiliates, audit_log

SETTINGS = {"base_url": "http://127.0.0.1:9", "profile": "magalu", "client_id": "loja", "client_secret": "s3cr3t"}


@pytest.fixture
def box(tmp_path):
    return SecretBox.from_environment(tmp_path / "secret.key")


def test_a_settings_change_keeps_the_connector_secret_and_the_webhook_secret(db, box):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = create_affiliate(
            conn,
            box=box,
            account_id=account,
            code="MLB",
            name="ML",
            connector="sandbox",
            settings=SETTINGS,
            actor="ada@loja",
        )
        row = get_affiliate(conn, account_id=account, affiliate_id=affiliate_id)
        conn.execute(
            affiliates.update().values(secrets=box.seal({**box.open(row.secrets), "webhook_secret": "whsec_1"}))
        )
        update_affiliate(
            conn,
            box=box,
            account_id=account,
            affiliate_id=affiliate_id,
            actor="ada@loja",
            changes={"settings": {"profile": "magalu", "client_secret": ""}},
        )
        row = get_affiliate(conn, account_id=account, affiliate_id=affiliate_id)
        audit = conn.execute(select(audit_log.c.action, audit_log.c.actor, audit_log.c.detail)).all()
    assert box.open(row.secrets) == {"client_secret": "s3cr3t", "webhook_secret": "whsec_1"}
    assert row.settings["profile"] == "magalu" and "client_secret" not in row.settings
    assert public_settings(row)["client_secret"] == "••••••"
    assert [(a.action, a.actor) for a in audit] == [("affiliate.create", "ada@loja"), ("affiliate.update", "ada@loja")]
    assert "s3cr3t" not in str([a.detail for a in audit])


def test_bad_connector_settings_are_refused_with_the_field(db, box):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        with pytest.raises(InputError) as refused:
            create_affiliate(
                conn,
                box=box,
                account_id=account,
                code="MLB",
                name="ML",
                connector="sandbox",
                settings={**SETTINGS, "base_url": "ftp://x"},
            )
    assert refused.value.field == "settings.base_url"
    said = [Translator(lang).message(refused.value.said) for lang in ("pt-BR", "es", "en")]
    assert said == [
        "configuração do conector base_url: deve começar com http:// ou https://",
        "configuración del conector base_url: debe comenzar con http:// o https://",
        "connector setting base_url: must start with http:// or https://",
    ]


@pytest.mark.parametrize(
    ("values", "field", "pt"),
    [
        ({"base_url": "http://x", "client_id": "c", "client_secret": "s", "profile": "p", "unknown": 1}, "unknown",
         "não é uma configuração deste conector"),
        ({"base_url": "http://x", "client_secret": "s", "profile": "p"}, "client_id", "obrigatório"),
    ],
)  # fmt: skip
def test_pydantic_refusals_are_said_in_the_readers_language(db, box, values, field, pt):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        with pytest.raises(InputError) as refused:
            create_affiliate(
                conn, box=box, account_id=account, code="MLB", name="ML", connector="sandbox", settings=values
            )
    assert refused.value.field == f"settings.{field}"
    assert Translator("pt-BR").message(refused.value.said).endswith(f"{field}: {pt}")


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"X-Key": "abc\r\nX-Injected: 1"}, "line break"),
        ({"X-Key": "preço 🙂"}, "cannot carry"),
        ({"X Key": "abc"}, "not an HTTP header name"),
        ({"": "abc"}, "not an HTTP header name"),
    ],
)
def test_a_webhook_header_that_cannot_travel_is_refused_when_saved(db, box, headers, words):
    settings = {"url": "https://erp.example.com/hook", "secret": "whsec_1", "headers": headers}
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        with pytest.raises(InputError) as refused:
            create_affiliate(
                conn, box=box, account_id=account, code="ERP", name="ERP", connector="webhook", settings=settings
            )
        assert conn.execute(select(affiliates)).first() is None
    assert refused.value.field == "settings.headers" and words in str(refused.value)


WEBHOOK = {"url": "https://erp.example.com/hook", "secret": "whsec_1", "headers": {"X-Api-Key": "erp-key-123"}}


def test_webhook_headers_are_sealed_at_rest_and_shown_only_as_set(db, box):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = create_affiliate(
            conn, box=box, account_id=account, code="ERP", name="ERP", kind="erp", connector="webhook", settings=WEBHOOK
        )
        row = get_affiliate(conn, account_id=account, affiliate_id=affiliate_id)
        raw = conn.exec_driver_sql("SELECT settings, secrets FROM affiliates").one()
        update_affiliate(  # a change that leaves the headers out keeps them
            conn, box=box, account_id=account, affiliate_id=affiliate_id, changes={"settings": {"url": WEBHOOK["url"]}}
        )
        kept = box.open(get_affiliate(conn, account_id=account, affiliate_id=affiliate_id).secrets)
    assert "erp-key-123" not in str(raw[0]) and "erp-key-123" not in str(raw[1]) and "X-Api-Key" not in str(raw[0])
    assert box.open(row.secrets)["headers"] == {"X-Api-Key": "erp-key-123"} and kept["headers"] == WEBHOOK["headers"]
    assert public_settings(row)["headers"] == "••••••"


def test_headers_an_older_ponte_kept_in_plain_text_are_sealed_after_migrating(db, box, settings):
    from ponte.engine.connectors import connector_for
    from ponte.services.affiliates import seal_plain_secrets

    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = create_affiliate(
            conn, box=box, account_id=account, code="ERP", name="ERP", kind="erp", connector="webhook", settings=WEBHOOK
        )
        conn.execute(  # as an older Ponte stored it
            affiliates.update().values(settings={"url": WEBHOOK["url"], "headers": WEBHOOK["headers"]})
        )
        assert seal_plain_secrets(conn, box=box) == 1
        assert seal_plain_secrets(conn, box=box) == 0
        row = get_affiliate(conn, account_id=account, affiliate_id=affiliate_id)
    assert row.settings == {"url": WEBHOOK["url"]}
    assert box.open(row.secrets)["headers"] == WEBHOOK["headers"]
    connector = connector_for(row, db=db, box=box, settings=settings, timeout=1)
    assert connector.http.redact("key erp-key-123") == "key ***"  # never recorded in an attempt either
    connector.close()
