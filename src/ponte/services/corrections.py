"""Operators' corrections of the knowledge base, written out as labelled examples for the shared data.

`reclassify_errors` (services/rules.py) keeps them; `export_corrections` gives them in the corpus's format, with
what may identify a buyer (e-mails, documents, phones, long ids) masked: they are meant to leave the store.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from ponte.store.corrections import list_corrections

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven digits or more, alone or grouped by . - / or spaces (CPF 123.456.789-09, phones, NF-e keys, order ids).
_LONG_DIGITS = re.compile(r"(?<![\w])\d(?:[\d.\-/ ]*\d)?(?![\w])|\d{7,}")


def _mask(message: str) -> str:
    message = _EMAIL.sub("<email>", message)
    return _LONG_DIGITS.sub(lambda m: "<n>" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), message)


def export_corrections(conn: Connection, *, account_id: int) -> list[dict[str, Any]]:
    """The account's corrections as JSON-lines rows (fields of the corpus), oldest first."""
    return [
        {
            "message": _mask(c.message),
            "marketplace": c.marketplace,
            "flow": c.flow,
            "code": c.code,
            "category": c.category,
            "disposition": c.disposition,
            "previous_category": c.previous_category,
            "source": f"operator correction (account {account_id}, rule {c.rule_id or '-'})",
            "source_group": f"corrections:account-{account_id}",
            "corrected_by": c.created_by,
            "corrected_at": c.created_at.isoformat() if c.created_at else None,
        }
        for c in list_corrections(conn, account_id=account_id)
    ]
