"""Amazon's errors read the way Ponte reads errors: the connector's table (errors.yaml) first, the knowledge base
after.

Two kinds of words: the error envelope every SP-API operation answers with, `{"errors":[{"code","message",
"details"}]}` (amazon-sp-api.md § 5), and a listing's `issues[]` (`code`, `message`, `severity`, `categories`,
`attributeNames`), which come in a submission's answer, a feed's processing report or a later notification.
An issue of severity ERROR fails the attempt; WARNING makes it "com aviso"; INFO is kept in the response only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ponte.connectors.base import Outcome
from ponte.connectors.error_table import Reading, reading
from ponte.connectors.failures import common_failure
from ponte.connectors.http import HttpResult, records
from ponte.domain.messages import Message, say

TABLE = Path(__file__).with_name("errors.yaml")
# A 429 whose answer says nothing of when to come back holds the operation this long; the models document no
# Retry-After (amazon-sp-api.md § 5), and the engine's own backoff does the rest.
DEFAULT_PAUSE = 2.0


@dataclass(frozen=True)
class Table:
    api_codes: dict[str, Reading]
    issue_codes: dict[str, Reading]
    issue_categories: dict[str, Reading]
    statuses: dict[int, Reading]
    attributes: dict[str, Reading]
    family_codes: frozenset[str]

    def issue(self, issue: Mapping[str, Any]) -> Reading | None:
        """An issue by the attribute it names when its code says only "required" or "not valid" (a family code),
        else by its code, else by the first of its categories the table knows."""
        code = str(issue.get("code") or "")
        names = [str(n) for n in issue.get("attributeNames") or []] + [str(issue.get("attributeName") or "")]
        named = next((self.attributes[n] for n in names if n in self.attributes), None)
        if named is not None and (code in self.family_codes or code not in self.issue_codes):
            return named
        found = self.issue_codes.get(code)
        if found is not None:
            return found
        categories = issue.get("categories") or []
        return next((self.issue_categories[c] for c in categories if c in self.issue_categories), None)


def _readings(raw: Mapping[Any, Any] | None) -> dict[Any, Reading]:
    return {key: reading(v) for key, v in (raw or {}).items()}


@cache
def table() -> Table:
    """The connector's error table, read once."""
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return Table(
        api_codes={str(k): v for k, v in _readings(data.get("api_codes")).items()},
        issue_codes={str(k): v for k, v in _readings(data.get("issue_codes")).items()},
        issue_categories={str(k): v for k, v in _readings(data.get("issue_categories")).items()},
        statuses={int(k): v for k, v in _readings(data.get("statuses")).items()},
        attributes={str(k): v for k, v in _readings(data.get("attributes")).items()},
        family_codes=frozenset(str(c) for c in data.get("family_codes") or []),
    )


def envelope(body: Any) -> list[dict[str, Any]]:
    """The `errors[]` of an answer (an LWA error answer, `{"error","error_description"}`, read as one of them)."""
    if not isinstance(body, dict):
        return []
    errors = body.get("errors")
    if isinstance(errors, list):
        return [e for e in errors if isinstance(e, dict)]
    if body.get("error"):
        return [{"code": str(body["error"]), "message": str(body.get("error_description") or body["error"])}]
    return []


def failure(result: HttpResult, what: Message) -> Outcome:
    """A call that did not succeed, in Amazon's words: what every connector reads alike (connectors/failures.py; a
    429 or QuotaExceeded with the pause it asks for), else the table's codes, then its statuses."""
    errors = envelope(result.body)
    message: str | Message
    if errors:
        message = "; ".join(_said(e) for e in errors)
        code: str | None = str(errors[0].get("code") or "") or None
    else:
        message, code = say("msg.call.failed", what=what, error=f"HTTP {result.status}"), None
    throttled = result.status == 429 or code == "QuotaExceeded"
    common = common_failure(
        result, message, code or ("QuotaExceeded" if throttled else None), what=what, pause=pause_for(result),
        rate_limited=code == "QuotaExceeded",
    )  # fmt: skip
    if common is not None:
        return common
    known = table().api_codes.get(code or "") or table().statuses.get(result.status or 0)
    outcome = Outcome.error(message, code=code, **records(result))
    if known is not None:
        outcome.category, outcome.disposition = known.category, known.disposition
    return outcome


def pause_for(result: HttpResult) -> float:
    """How long a 429 holds its operation: a Retry-After if one came (the models document none), else the time
    the rate in `x-amzn-RateLimit-Limit` (requests a second for this operation) takes to give one request back."""
    if result.retry_after:
        return result.retry_after
    try:
        rate = float(result.headers.get("x-amzn-ratelimit-limit") or 0)
    except ValueError:
        rate = 0.0
    return max(DEFAULT_PAUSE, 1 / rate) if rate > 0 else DEFAULT_PAUSE


def _said(error: Mapping[str, Any]) -> str:
    message, details = str(error.get("message") or error.get("code") or ""), error.get("details")
    return f"{message} ({details})" if details and str(details) not in message else message


def _issue_text(issue: Mapping[str, Any]) -> str:
    names = issue.get("attributeNames") or ([issue["attributeName"]] if issue.get("attributeName") else [])
    where = f" [{', '.join(map(str, names))}]" if names else ""
    return f"{issue.get('code')}: {issue.get('message')}{where}"


def issues_outcome(issues: Iterable[Mapping[str, Any]], ok: str | Message, **kept: Any) -> Outcome:
    """A listing's issues as one outcome: its ERROR issues fail it (each in Amazon's words, the first one's code
    and category), WARNING ones make it "com aviso", and without either it is `ok`."""
    listed = [i for i in issues if isinstance(i, Mapping)]
    errors = [i for i in listed if i.get("severity") == "ERROR"]
    if errors:
        outcome = Outcome.error("; ".join(map(_issue_text, errors)), code=str(errors[0].get("code") or ""), **kept)
        reading = next((r for r in map(table().issue, errors) if r is not None), None)
        if reading is not None:
            outcome.category, outcome.disposition = reading.category, reading.disposition
        return outcome
    warnings = [i for i in listed if i.get("severity") == "WARNING"]
    if warnings:
        return Outcome.warning("; ".join(map(_issue_text, warnings)), code=str(warnings[0].get("code") or ""), **kept)
    return Outcome.ok(ok, **kept)
