"""An account's own error rules: validated, applied from the next attempt on and to existing errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import add_affiliate
from ponte.auth import get_or_create_account
from ponte.services.errors import InputError
from ponte.services.rules import add_rule, reclassify_errors
from ponte.store.queue import claim_due, finish, mark_changed
from ponte.store.rules import account_rules
from ponte.store.tables import audit_log, integrations

ODD = "Erro 7781 no processamento do anúncio: consulte o suporte"


def _error_row(conn, account_id, message, category):
    affiliate_id = add_affiliate(conn, account_id, "MLB", "MLB")
    mark_changed(conn, account_id=account_id, flow="product", keys=[(affiliate_id, "SKU-1"), (affiliate_id, "SKU-2")])
    c1, c2 = claim_due(conn, owner="w", limit=10, lease_seconds=60)
    finish(
        conn,
        claim=c1,
        owner="w",
        state={"status": "error", "due_at": None, "retry_count": 0, "message": message, "category": category},
    )
    finish(
        conn,
        claim=c2,
        owner="w",
        state={
            "status": "error",
            "due_at": None,
            "retry_count": 0,
            "message": "SKU out of stock",
            "category": "out_of_stock",
        },
    )


def test_a_rule_reclassifies_an_unmapped_error_and_leaves_the_others(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        _error_row(conn, account, ODD, "unmapped")
        add_rule(
            conn,
            account_id=account,
            actor="ana@loja",
            pattern=r"erro \d+ no processamento",
            category="integration_config",
        )
        assert reclassify_errors(conn, account_id=account) == 1
        rows = dict(conn.execute(select(integrations.c.entity, integrations.c.category)).all())
        logged = conn.execute(select(audit_log.c.action)).scalars().all()
    assert rows == {"SKU-1": "integration_config", "SKU-2": "out_of_stock"}
    assert "rule.create" in logged


def test_rules_belong_to_their_account(db):
    with db.write() as conn:
        a = get_or_create_account(conn, slug="loja-a")
        b = get_or_create_account(conn, slug="loja-b")
        add_rule(conn, account_id=a, actor="ana", pattern="foo bar", category="out_of_stock")
        assert account_rules(conn, account_id=b) == []
        assert [r.category for r in account_rules(conn, account_id=a)] == ["out_of_stock"]


@pytest.mark.parametrize(
    ("pattern", "category", "field"),
    [
        ("(unclosed", "out_of_stock", "pattern"),
        (".*", "out_of_stock", "pattern"),
        ("foo", "no_such_category", "category"),
        (r"(erro)\1", "out_of_stock", "pattern"),  # a back-reference: RE2 cannot run it
        (r"(?<!nao )aprovado", "out_of_stock", "pattern"),  # look-behind
        ("a{2000}", "out_of_stock", "pattern"),
    ],
)
def test_a_bad_rule_is_refused_with_the_field(db, pattern, category, field):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        with pytest.raises(InputError) as refused:
            add_rule(conn, account_id=account, actor="ana", pattern=pattern, category=category)
    assert refused.value.field == field


def test_reclassifying_takes_the_same_statements_for_ten_errors_as_for_a_hundred(db):
    from sqlalchemy import event, insert

    from ponte.clock import now
    from ponte.knowledge import normalise_message

    def store_with_errors(slug, n):
        account = get_or_create_account(conn, slug=slug)
        affiliate_id = add_affiliate(conn, account, "MLB", "MLB")
        messages = [ODD, ODD.replace("7781", "12"), "qqq zzz 42"]  # the third, nothing explains
        conn.execute(
            insert(integrations),
            [
                {
                    "account_id": account,
                    "flow": "product",
                    "affiliate_id": affiliate_id,
                    "entity": f"SKU-{k}",
                    "status": "error",
                    "message": messages[k % 3],
                    "category": "unmapped",
                    "created_at": now(),
                }
                for k in range(n)
            ],
        )
        add_rule(
            conn, account_id=account, actor="ana", pattern=r"erro \d+ no processamento", category="integration_config"
        )
        return account

    statements = []
    with db.write() as conn:
        small, big = store_with_errors("loja-a", 10), store_with_errors("loja-b", 100)
        event.listen(conn, "before_cursor_execute", lambda *args: statements.append(1))
        assert reclassify_errors(conn, account_id=small) == 7  # the two messages the rule explains
        few, statements[:] = len(statements), []
        assert reclassify_errors(conn, account_id=big) == 67
        many = len(statements)
        causes = set(conn.execute(select(integrations.c.cause).where(integrations.c.category == "integration_config")))
    assert few == many
    assert {c for (c,) in causes} == {normalise_message(ODD)}  # both wordings, one cause


EXPLOSIVE = "(a+)+$"  # on a backtracking engine, each extra "a" in a message doubles the time to give up


def _finishes(work, seconds: float = 30.0):
    """Runs `work` in a thread and returns its result; fails when it has not finished after `seconds`. Not a
    speed test: on Python's engine the 60-character message below would take 2^60 steps, about forever, and on
    RE2 it takes microseconds; the bound only keeps a regression from hanging the suite."""
    import threading

    done: list = []
    thread = threading.Thread(target=lambda: done.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert done, "the pattern is still running: user patterns must not backtrack"
    return done[0]


def test_a_catastrophic_pattern_cannot_freeze_the_worker_or_the_reclassification(db):
    from ponte.knowledge import AccountRule, classify

    message = "a" * 60 + "!"
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        _error_row(conn, account, message, "unmapped")
        add_rule(conn, account_id=account, actor="ana", pattern=EXPLOSIVE, category="integration_config")
        rules = account_rules(conn, account_id=account)
        # What the worker asks for each failed attempt, with the account's rules.
        explained = _finishes(
            lambda: classify(connector="sandbox", flow="product", message=message, account_rules=rules)
        )
        assert explained.category != "integration_config"  # "!" ends it: no match, and no freeze
        assert _finishes(lambda: reclassify_errors(conn, account_id=account)) == 0
    hit = classify(
        connector="sandbox",
        flow="product",
        message="a" * 60,
        account_rules=[AccountRule(EXPLOSIVE, "integration_config")],
    )
    assert hit.category == "integration_config"


def test_a_refused_pattern_says_what_to_change(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        with pytest.raises(InputError, match="back-references"):
            add_rule(conn, account_id=account, actor="ana", pattern=r"(x)\1", category="out_of_stock")
        with pytest.raises(InputError, match="look-ahead"):
            add_rule(conn, account_id=account, actor="ana", pattern=r"x(?!y)", category="out_of_stock")
