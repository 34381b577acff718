"""Mirakl's errors read the way Ponte reads errors: its code table (errors.yaml) first, the knowledge base after.

Mirakl answers an error with a JSON body holding a `message` (and, for some operations, a `code` such as
OR21's ORDER_INVALID_STATE) [secondary: api-evangelist/mirakl errors/mirakl-problem-types.yml, "a JSON body with a
machine 'code'/'message'"]; import errors come as report lines (OF03, P44, P47), each with its own message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ponte.connectors.base import Outcome
from ponte.connectors.error_table import Table, load_table
from ponte.connectors.failures import common_failure
from ponte.connectors.http import HttpResult, records
from ponte.domain.messages import Message

TABLE = Path(__file__).with_name("errors.yaml")
DEFAULT_RETRY = 60.0  # seconds to hold an operation Mirakl refused with 429 and no Retry-After: its usual period


def table(path: Path = TABLE) -> Table:
    """The connector's error table (errors.yaml), read once."""
    return load_table(path)


def explained(outcome: Outcome) -> Outcome:
    """The outcome with the table's category and disposition, when it knows the error (else left to the
    knowledge base)."""
    reading = table().read(message=outcome.message, code=outcome.code, status=outcome.http_status)
    if reading is not None:
        outcome.category, outcome.disposition = reading.category, reading.disposition
    return outcome


def line_error(message: str, **kwargs: Any) -> Outcome:
    """One import report line's error, in Mirakl's own words, read with the table."""
    return explained(Outcome.error(message, **kwargs))


def body_message(body: Any, status: int | None) -> tuple[str, str | None]:
    """(message, code) of an error answer, verbatim."""
    if isinstance(body, dict):
        message = body.get("message") or body.get("error_description") or body.get("error")
        errors = body.get("errors")
        if not message and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message, code = errors[0].get("message"), errors[0].get("code")
            return str(message or f"HTTP {status}"), None if code is None else str(code)
        code = body.get("code")
        if message:
            return str(message), None if code is None else str(code)
    if isinstance(body, str) and body.strip():
        return body.strip()[:1000], None
    return f"HTTP {status}", None


def failure(result: HttpResult, what: Message) -> Outcome:
    """The error Outcome of a call that did not succeed: what every connector reads alike (connectors/failures.py;
    a 429 without Retry-After holds DEFAULT_RETRY), else Mirakl's words read with the table."""
    message, code = body_message(result.body, result.status)
    common = common_failure(result, message, code, what=what, pause=DEFAULT_RETRY)
    return common or explained(Outcome.error(message, code=code, **records(result)))
