"""Mirakl's imports, from the answer that starts them to one outcome per SKU.

OF24, OF01 and P41 all answer with an `import_id` and judge the import later (OF24: "Returns the import identifier
to track the status of the update"). Ponte records each SKU's attempt as pending under a submission and polls:
OF02 for offers (OF24's imports too) and OF03 for their error report; P42 for products, P44 for the products that
were not integrated and P47 for lines the operator's transformation refused. Polls are a minute apart at least
(OF02, P42: "Maximum usage: Once per minute").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ponte.connectors.base import BatchResult, Listing, Outcome, Submission, SubmissionPoll, SubmissionRef
from ponte.connectors.mirakl.errors import explained, line_error, records
from ponte.connectors.mirakl.files import read_report
from ponte.domain.messages import Message, say

if TYPE_CHECKING:
    from ponte.connectors.http import HttpResult
    from ponte.connectors.mirakl.connector import MiraklConnector

POLL = 60.0  # seconds between polls of one import (OF02, P42: once a minute at most)
REVIEW_POLL = 300.0  # a product import the operator is integrating (SENT): looked at every 5 minutes
OFFER_RUNNING = {"WAITING_SYNCHRONIZATION_PRODUCT", "WAITING", "RUNNING"}
PRODUCT_RUNNING = {"TRANSFORMATION_WAITING", "TRANSFORMATION_RUNNING", "WAITING", "RUNNING"}


def submitted(
    connector: MiraklConnector, api: str, result: HttpResult, sent: dict[str, tuple[str, Any]]
) -> BatchResult:
    """The batch's result: each SKU pending under the import Mirakl started, or each refused with the answer.
    `sent` gives each SKU's reference in the import and what was sent for it (its own request in the log)."""
    import_id = result.body.get("import_id") if result.ok and isinstance(result.body, dict) else None
    if import_id is None:
        refused = (
            connector.failed(result, say("msg.op.start_import", operation=say(f"msg.mirakl.op.{api}"), api=api), api)
            if not result.ok
            else Outcome.error(say("msg.mirakl.no_import_id", api=api), transient=True, **records(result))
        )
        return BatchResult(dict.fromkeys(sent, refused))
    what = say("msg.mirakl.import", operation=say(f"msg.mirakl.op.{api}"), import_id=str(import_id), api=api)
    waiting = say(
        "msg.mirakl.sent_for_review" if api == "P41" else "msg.mirakl.sent_for_report",
        operator=connector.operator,
        what=what,
    )
    answer = {"status": result.status, "body": result.body}
    outcomes = {
        sku: Outcome.pending(waiting, request={"api": api, "item": item}, response=answer, http_status=result.status)
        for sku, (_, item) in sent.items()
    }
    submission = Submission(
        operation=api,
        external_id=str(import_id),
        refs={sku: ref for sku, (ref, _) in sent.items()},
        message=waiting,
        poll_after=POLL,
    )
    return BatchResult(outcomes, submission)


def _not_yet(result: HttpResult, connector: MiraklConnector, what: Message) -> SubmissionPoll:
    """A poll that could not read the import: looked at again later (after Mirakl's Retry-After on a 429)."""
    outcome = connector.failed(result, what)
    if outcome.transient:
        return SubmissionPoll(done=False, poll_after=max(POLL, outcome.retry_after or POLL))
    return SubmissionPoll(done=True, failed=outcome)


def _report(connector: MiraklConnector, path: str, what: Message) -> dict[str, Outcome] | SubmissionPoll:
    """A report's refused lines, one Outcome per SKU (several errors of one SKU joined), in Mirakl's words."""
    result = connector.call("GET", path, report=True)
    if not result.ok:
        return _not_yet(result, connector, what)
    text = result.body if isinstance(result.body, str) else ""
    messages: dict[str, list[str]] = {}
    lines: dict[str, str | None] = {}
    for line in read_report(text):
        messages.setdefault(line.sku, []).append(line.message)
        lines.setdefault(line.sku, line.line)
    return {
        sku: line_error(
            "; ".join(dict.fromkeys(texts)),
            response={"report": path, "line": lines[sku], "errors": texts},
            http_status=result.status,
        )
        for sku, texts in messages.items()
    }


def poll_offers(connector: MiraklConnector, submission: SubmissionRef) -> SubmissionPoll:
    """OF02 on the import (OF24's or OF01's); once COMPLETE, OF03's refused lines are each SKU's error."""
    import_id = submission.external_id
    result = connector.call("GET", f"/api/offers/imports/{import_id}")
    if not result.ok or not isinstance(result.body, dict):
        return _not_yet(result, connector, say("msg.op.read_offer_import", import_id=import_id, api="OF02"))
    status = str(result.body.get("status"))
    if status in OFFER_RUNNING:
        return SubmissionPoll(done=False, poll_after=POLL, detail={"status": status})
    if status != "COMPLETE":
        reason = result.body.get("reason_status") or status
        said = say("msg.mirakl.offers_not_imported", operator=connector.operator, import_id=import_id, reason=reason)
        refused = explained(Outcome.error(said))
        return SubmissionPoll(done=True, failed=refused)
    outcomes: dict[str, Outcome] = {}
    if result.body.get("has_error_report"):
        path = f"/api/offers/imports/{import_id}/error_report"
        report = _report(connector, path, say("msg.op.read_error_report", api="OF03"))
        if isinstance(report, SubmissionPoll):
            return report
        outcomes = report
    updated = say("msg.mirakl.offer_updated", operator=connector.operator, import_id=import_id)
    for sku in submission.refs:
        outcomes.setdefault(sku, Outcome.ok(updated))
    return SubmissionPoll(done=True, outcomes=outcomes)


def poll_products(connector: MiraklConnector, submission: SubmissionRef) -> SubmissionPoll:
    """P42 on the product import; P47 when its transformation refused lines, P44 for those not integrated.
    A product that went through is listed under its product id, for its offers to name."""
    import_id = submission.external_id
    result = connector.call("GET", f"/api/products/imports/{import_id}")
    if not result.ok or not isinstance(result.body, dict):
        return _not_yet(result, connector, say("msg.op.read_product_import", import_id=import_id, api="P42"))
    body = result.body
    status = str(body.get("import_status"))
    if status in PRODUCT_RUNNING:
        return SubmissionPoll(done=False, poll_after=POLL, detail={"status": status})
    if status == "SENT":  # with the operator, who integrates (and may review) the products
        return SubmissionPoll(done=False, poll_after=REVIEW_POLL, detail={"status": status})
    outcomes: dict[str, Outcome] = {}
    reports = []
    if body.get("has_transformation_error_report"):
        reports.append(("transformation_error_report", say("msg.op.read_transformation_report", api="P47")))
    if body.get("has_error_report"):
        reports.append(("error_report", say("msg.op.read_not_integrated_report", api="P44")))
    for name, what in reports:
        found = _report(connector, f"/api/products/imports/{import_id}/{name}", what)
        if isinstance(found, SubmissionPoll):
            return found
        for sku, outcome in found.items():
            outcomes.setdefault(sku, outcome)
    if status != "COMPLETE":  # TRANSFORMATION_FAILED, FAILED, CANCELLED: nothing of it was integrated
        reason = body.get("reason_status") or status
        said = say("msg.mirakl.products_not_imported", operator=connector.operator, import_id=import_id, reason=reason)
        refused = explained(Outcome.error(said))
        if not outcomes:
            return SubmissionPoll(done=True, failed=refused)
        return SubmissionPoll(done=True, outcomes={sku: outcomes.get(sku, refused) for sku in submission.refs})
    for sku, ref in submission.refs.items():
        if sku not in outcomes:
            id_type, _, product_id = ref.partition(":")
            listing = Listing(sku, {"product_id": product_id, "product_id_type": id_type})
            outcomes[sku] = Outcome.ok(
                say("msg.mirakl.product_integrated", operator=connector.operator, import_id=import_id), listing=listing
            )
    return SubmissionPoll(done=True, outcomes=outcomes)
