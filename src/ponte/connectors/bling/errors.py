"""Bling's errors read the way Ponte reads errors: its code table (errors.yaml) first, the knowledge base after.

Every API v3 error comes in one envelope (spec `ErrorResponse`; bling.md § 2)::

    {"error": {"type": "VALIDATION_ERROR", "message": "Não foi possível salvar a venda",
               "description": "…", "fields": [{"code": 49, "msg": "…", "element": "parcelas",
               "collection": [{"index": 1, "code": 12, "msg": "Id da forma de pagamento inválido."}]}]}}

The OAuth endpoint answers in it too (`type` = `invalid_grant`…). 429 (`TOO_MANY_REQUESTS`) and 5xx are transient.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ponte.connectors.base import Outcome
from ponte.connectors.error_table import Table, load_table
from ponte.connectors.failures import common_failure
from ponte.connectors.http import HttpResult, records
from ponte.domain import Disposition
from ponte.domain.messages import Message

TABLE = Path(__file__).with_name("errors.yaml")
# A 429 without Retry-After (Bling sends none that its pages document) holds the operation this long: the limit is
# per second, so a second clears it.
DEFAULT_RETRY = 1.0


def table(path: Path = TABLE) -> Table:
    """The connector's error table (errors.yaml), read once."""
    return load_table(path)


def _field_messages(fields: Any) -> list[str]:
    """Each field's message, its collection's (an installment's, an item's) after it, in Bling's words."""
    found: list[str] = []
    for field in fields if isinstance(fields, list) else []:
        if not isinstance(field, dict):
            continue
        if field.get("msg"):
            found.append(str(field["msg"]))
        found += _field_messages(field.get("collection"))
    return found


def body_message(body: Any, status: int | None) -> tuple[str, str | None]:
    """(message, code) of an error answer: the envelope's message, then its fields' messages (or its description);
    the code is the envelope's `type`."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        head = str(error.get("message") or error.get("type") or f"HTTP {status}")
        details = _field_messages(error.get("fields"))
        if not details and error.get("description"):
            details = [str(error["description"])]
        text = f"{head.rstrip('.')}: {'; '.join(details)}" if details and details != [head] else head
        return text, None if error.get("type") is None else str(error["type"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:1000], None
    return f"HTTP {status}", None


def explained(outcome: Outcome) -> Outcome:
    """The outcome with the table's category and disposition, when it knows the error."""
    reading = table().read(message=outcome.message, code=outcome.code, status=outcome.http_status)
    if reading is not None:
        outcome.category, outcome.disposition = reading.category, reading.disposition
        outcome.transient = reading.disposition == Disposition.TRANSIENT
    return outcome


def failure(result: HttpResult, what: Message | None = None) -> Outcome:
    """The error Outcome of a call that did not succeed, in Bling's words (a 429 without Retry-After holds
    DEFAULT_RETRY)."""
    message, code = body_message(result.body, result.status)
    common = common_failure(result, message, code, what=what, pause=DEFAULT_RETRY)
    return common or explained(Outcome.error(message, code=code, **records(result)))
