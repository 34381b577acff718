"""What every connector reads alike in a call that did not succeed, before its marketplace's own words matter.

- an address the outbound policy refused (outbound.py): the store's setting must change, retrying cannot help;
- no usable answer (timeout, dropped connection, broken body): the marketplace misbehaved, try again;
- 429: the marketplace paces us, try again after the pause it asks for (or the connector's default);
- 5xx: the marketplace is down or broken for now, try again.

Anything else is an answer in the marketplace's words, which each connector reads with its own table.
"""

from __future__ import annotations

from ponte.connectors.base import Outcome
from ponte.connectors.http import HttpResult, records
from ponte.domain import Disposition
from ponte.domain.messages import Message, say


def common_failure(
    result: HttpResult, message: str | Message, code: str | None, *, what: Message | None = None,
    pause: float | None = None,
    rate_limited: bool = False,
) -> Outcome | None:  # fmt: skip
    """The Outcome of a failed call when it is one of the above (`rate_limited`: the marketplace said so in its
    body, whatever the status); None when the marketplace's own words decide. `what` names the call for transport
    errors ("reading the orders (OR11): timed out", a message in each reader's language); `message` and `code` are
    what the answer's body said."""
    kept = records(result)
    if result.refused:  # the same words whatever was behind the address (outbound.refused_message)
        said = say("msg.outbound.refused", host=result.refused_host or "?")
        return Outcome.error(said, category="integration_config", disposition=Disposition.FIX, **kept)
    if result.error is not None:
        return Outcome.error(
            say("msg.call.failed", what=what, error=result.error) if what else result.error, transient=True,
            category="marketplace_unavailable", disposition=Disposition.TRANSIENT, **kept,
        )  # fmt: skip
    status = result.status or 0
    if status == 429 or rate_limited:
        return Outcome.error(
            message, code=code, transient=True, category="rate_limited", disposition=Disposition.TRANSIENT,
            retry_after=result.retry_after or pause, **kept,
        )  # fmt: skip
    if status >= 500:
        return Outcome.error(
            message, code=code, transient=True, category="marketplace_unavailable", disposition=Disposition.TRANSIENT,
            retry_after=result.retry_after, **kept,
        )  # fmt: skip
    return None
