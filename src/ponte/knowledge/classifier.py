"""Placeholder classifier: HTTP status only. Replaced by the data-driven knowledge base (issue 5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ponte.domain import Disposition


@dataclass(frozen=True)
class AccountRule:
    """An account's own rule: a message pattern (regular expression) that means this category."""

    pattern: str
    category: str
    connector: str | None = None
    flow: str | None = None


@dataclass(frozen=True)
class Explanation:
    category: str
    disposition: Disposition
    fix: dict[str, str] = field(default_factory=dict)  # {"pt-BR": ..., "en": ...}
    title: dict[str, str] = field(default_factory=dict)
    help: str = ""  # path of the help article served by Ponte, e.g. /help/out_of_stock
    rule: str | None = None  # which rule matched, for "why this category?"


def classify(
    *,
    connector: str | None,
    flow: str | None,
    message: str,
    http_status: int | None = None,
    code: str | None = None,
    account_rules: Sequence[AccountRule] = (),
) -> Explanation:
    if http_status == 429:
        return Explanation("rate_limited", Disposition.TRANSIENT, help="/help/rate_limited")
    if http_status is not None and http_status >= 500:
        return Explanation("marketplace_unavailable", Disposition.TRANSIENT, help="/help/marketplace_unavailable")
    return Explanation("unmapped", Disposition.FIX, help="/help/unmapped")
