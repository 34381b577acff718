"""An account's own error rules (this message pattern means this category), and re-classifying errors with them.

When an operator meets an unmapped message, a rule added here applies from the next attempt on, and
`reclassify_errors` applies it to the errors already shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection

from ponte.clock import now
from ponte.domain import Flow
from ponte.domain.messages import from_columns, say
from ponte.knowledge import (
    AccountRule,
    Explanation,
    KnowledgeError,
    classify,
    normalise_message,
    validate_account_rule,
)
from ponte.knowledge.text import fold, fold_pattern
from ponte.knowledge.user_patterns import PatternError, compile_pattern
from ponte.knowledge.wordsearch import search_text
from ponte.services.errors import InputError, NotFound
from ponte.store import rules as store
from ponte.store.audit import record
from ponte.store.corrections import Correction, add_corrections
from ponte.store.rules import Reclassified, StoredRule, account_rules


def add_rule(
    conn: Connection,
    *,
    account_id: int,
    actor: str,
    pattern: str,
    category: str,
    connector: str | None = None,
    flow: str | None = None,
) -> int:
    """Validate and store a rule; returns its id. A bad pattern or unknown category is an InputError."""
    pattern = pattern.strip()
    if not pattern or len(pattern) > 500:
        raise InputError(say("msg.input.pattern_length"), field="pattern")
    if flow is not None and flow not in {f.value for f in Flow}:
        raise InputError(say("msg.input.one_of", field="flow", choices=", ".join(f.value for f in Flow)), field="flow")
    try:
        validate_account_rule(AccountRule(pattern, category, connector, flow))
    except KnowledgeError as exc:
        raise InputError(str(exc), field="pattern" if "regular" in str(exc) or "empty" in str(exc) else "category")
    rule_id = store.insert_rule(
        conn,
        account_id=account_id,
        pattern=pattern,
        category=category,
        connector=connector,
        flow=flow,
        created_by=actor,
        created_at=now(),
    )
    record(
        conn,
        account_id=account_id,
        actor=actor,
        action="rule.create",
        detail={"id": rule_id, "pattern": pattern, "category": category},
    )
    return rule_id


_ESCAPED = re.compile(r"\\d\+|\\.")
_META = set(".^$*+?{}[]|()\\")


def pattern_from_words(words: str) -> str:
    """The rule pattern for "the message contains these words": the words as they are, any number standing for
    any other number. Nobody has to write a regular expression."""
    escaped = re.escape(words.strip()[:400]).replace("\\ ", " ")
    return re.sub(r"\d+", r"\\d+", escaped)


def readable_pattern(pattern: str) -> str | None:
    """The words a `pattern_from_words` pattern stands for ("#" for any number), or None for a real regular
    expression (shown as it is)."""
    if set(_ESCAPED.sub("", pattern)) & _META:
        return None
    return _ESCAPED.sub(lambda m: "#" if m.group(0) == "\\d+" else m.group(0)[1], pattern)


@dataclass(frozen=True)
class RuleReach:
    """What a rule matches among the account's current errors: how many, and one of their messages."""

    errors: int
    example: str | None


def rules_reach(
    conn: Connection, *, account_id: int, rules: Iterable[StoredRule], limit: int = 2000
) -> dict[int, RuleReach]:
    """{rule id: its reach} over the account's distinct current error messages (the `limit` most frequent)."""
    messages = store.error_messages(conn, account_id=account_id, limit=limit)
    folded = [(fold(message), message, flow, n) for message, flow, n in messages]
    reach = {}
    for rule in rules:
        try:
            regex = compile_pattern(fold_pattern(rule.pattern))
        except PatternError:
            continue
        hits = [
            (text, n) for key, text, flow, n in folded if (not rule.flow or flow == rule.flow) and regex.search(key)
        ]
        reach[int(rule.id)] = RuleReach(sum(n for _, n in hits), hits[0][0] if hits else None)
    return reach


def delete_rule(conn: Connection, *, account_id: int, actor: str, rule_id: int) -> None:
    if not store.delete_rule(conn, account_id=account_id, rule_id=rule_id):
        raise NotFound(say("msg.not_found.rule", id=rule_id))
    record(conn, account_id=account_id, actor=actor, action="rule.delete", detail={"id": rule_id})


def reclassify_errors(conn: Connection, *, account_id: int, actor: str | None = None) -> int:
    """Classify the account's current errors again (after a rule changed); returns how many changed category.

    A big store has a hundred thousand errors and a few hundred distinct messages: each distinct (marketplace,
    flow, message, code) is classified once, and the changes are written in one executemany.
    Each distinct message a rule of the account moves out of the category Ponte had given it is kept as a
    correction (a labelled example for the shared knowledge data, `ponte knowledge export-corrections`).
    """
    rules = account_rules(conn, account_id=account_id)
    marketplaces = store.affiliate_marketplaces(conn, account_id=account_id)
    rows = store.current_errors(conn, account_id=account_id)
    explained: dict[tuple[str, str, str, str | None], tuple[Explanation, str]] = {}
    changes = []
    corrections: dict[tuple[str, str, str, str | None], Correction] = {}
    for row in rows:
        if row.affiliate_id not in marketplaces:  # not the account's: never so, but a join would skip it
            continue
        key = (marketplaces[row.affiliate_id], row.flow, row.message or "", row.code)
        if key not in explained:
            explanation = classify(connector=key[0], flow=row.flow, message=key[2], code=row.code, account_rules=rules)
            explained[key] = explanation, normalise_message(key[2])[:200]
        explanation, cause = explained[key]
        # Only what a rule of the account now explains, or what nothing explained before, changes:
        # categories Ponte set itself (order validation) stay as they are.
        by_rule = (explanation.rule or "").startswith("account")
        if by_rule and explanation.category != row.category and key not in corrections:
            corrections[key] = _correction(key, row.category, explanation, actor)
        if explanation.category != row.category and (by_rule or row.category == "unmapped"):
            changes.append(
                Reclassified(
                    integration_id=row.id,
                    category=explanation.category,
                    disposition=explanation.disposition.value,
                    cause=cause,
                    search_text=search_text(
                        row.message,
                        said=from_columns(row.message_key, row.message_params),
                        category=explanation.category,
                    ),
                )
            )
    store.reclassify(conn, changes)
    add_corrections(conn, account_id=account_id, corrections=list(corrections.values()), now=now())
    return len(changes)


def _correction(
    key: tuple[str, str, str, str | None], previous: str | None, explanation: Explanation, actor: str | None
) -> Correction:
    marketplace, flow, message, code = key
    rule = (explanation.rule or "").removeprefix("account:")
    return Correction(
        marketplace=marketplace,
        flow=flow,
        message=message,
        code=code,
        category=explanation.category,
        disposition=explanation.disposition.value,
        previous_category=previous,
        rule_id=int(rule) if rule.isdigit() else None,
        created_by=actor,
    )


def is_likely_guess(
    conn: Connection,
    *,
    account_id: int,
    affiliate_id: int,
    flow: str,
    message: str | None,
    code: str | None,
    category: str | None,
    http_status: int | None = None,
) -> bool:
    """Whether an error's category is the knowledge base's low-confidence guess (the screens say "provável").

    Read again rather than stored: the same answer for the same message, data and rules, and no column for it
    in the hottest tables. False when the category came from elsewhere (order validation, a rule, a connector).
    """
    if not message or not category:
        return False
    marketplace = store.affiliate_marketplace(conn, account_id=account_id, affiliate_id=affiliate_id)
    if marketplace is None:
        return False
    explanation = classify(
        connector=marketplace,
        flow=flow,
        message=message,
        code=code,
        http_status=http_status,
        account_rules=account_rules(conn, account_id=account_id),
    )
    return explanation.likely and explanation.category == category
