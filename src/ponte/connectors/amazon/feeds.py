"""Many price and stock changes as one JSON_LISTINGS_FEED (Feeds API 2021-06-30), and its processing report split
back into one outcome per SKU (amazon-sp-api.md § 3).

Sending: createFeedDocument, the document uploaded to the url it gives, createFeed (the engine has taken
createFeed's token before `send_batch`). Each SKU is one message: a PATCH with its price and/or stock patches,
the same bodies patchListingsItem takes. Every document is checked against listings-feed-schema-v2.json before it
leaves. Polling: getFeed until DONE, then getFeedDocument and the report at its url; a message's ERROR issues fail
its SKU in Amazon's words, WARNING ones make it "com aviso", a SKU without issues succeeded.

The content type of a JSON feed document is not in the sources read (the model's only example is a flat file's
`text/tab-separated-values; charset=UTF-8`, amazon-sp-api.md § 3): JSON's own media type is sent, and the upload
carries the same Content-Type the document was created with, as a pre-signed url requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from ponte.connectors.amazon import listings
from ponte.connectors.amazon.errors import failure, issues_outcome
from ponte.connectors.base import (
    BatchResult,
    Outcome,
    PriceSend,
    Send,
    StockSend,
    Submission,
    SubmissionPoll,
    SubmissionRef,
)
from ponte.connectors.context import Deferred
from ponte.connectors.http import HttpClient
from ponte.contract import json_schema
from ponte.domain import Status
from ponte.domain.messages import say
from ponte.i18n import english

if TYPE_CHECKING:
    from ponte.connectors.amazon.connector import AmazonConnector

CONTENT_TYPE = "application/json; charset=UTF-8"
FEEDS = "/feeds/2021-06-30"
FEED_TYPE = "JSON_LISTINGS_FEED"
POLL = 60.0  # seconds between looks at a feed (getFeed allows 2 a second; feeds take minutes)
REPORT_LIMIT = 64 * 1024 * 1024  # a report of 25,000 messages with an issue each runs to ~10 MB
MAX_MESSAGES = 25_000  # listings-feed-schema-v2.json: messages maxItems


def document(
    connector: AmazonConnector, sends: list[Send]
) -> tuple[dict[str, Any], dict[str, str], dict[str, Outcome]]:
    """The feed document, each SKU's messageId, and the SKUs refused before sending (no price to send)."""
    config = connector.config
    patches: dict[str, list[dict[str, Any]]] = {}
    product_types: dict[str, str] = {}
    refused: dict[str, Outcome] = {}
    for send in sends:
        if isinstance(send, PriceSend):
            if send.price is None:
                refused[send.sku] = Outcome.error(say("msg.send.no_price", sku=send.sku), category="price_rejected")
                continue
            patches.setdefault(send.sku, []).append(listings.price_patch(send.price, config))
        elif isinstance(send, StockSend):
            patches.setdefault(send.sku, []).append(listings.stock_patch(send.quantity, send.handling_days, config))
        else:
            continue
        listing = send.listing
        product_types[send.sku] = str((listing.data if listing else {}).get("product_type") or config.product_type)
    messages, refs = [], {}
    for n, (sku, found) in enumerate(sorted(patches.items()), start=1):
        messages.append(
            {"messageId": n, "sku": sku, "operationType": "PATCH", "productType": product_types[sku], "patches": found}
        )
        refs[sku] = str(n)
    header = {"sellerId": connector.seller_id(), "version": "2.0", "issueLocale": config.language_tag}
    return {"header": header, "messages": messages}, refs, refused


def send(connector: AmazonConnector, sends: list[Send]) -> BatchResult:
    """Create the document, upload it, create the feed: each SKU pending under it, or all refused at once."""
    body, refs, refused = document(connector, sends)
    if not refs:
        return BatchResult(refused)
    # The schema's own verdict (0.5 s for 10,000 messages); the contract tests also check undeclared fields, which
    # costs six times that and would delay every feed.
    problems = json_schema("amazon", "listings-feed-schema-v2.json").validate(body)
    if problems:  # Ponte's own mistake: never sent, and said plainly
        wrong = Outcome.error(say("msg.amazon.feed_schema", problem=problems[0]), transient=False)
        return BatchResult({**dict.fromkeys(refs, wrong), **refused})
    made = connector.call("createFeedDocument", "POST", f"{FEEDS}/documents", json={"contentType": CONTENT_TYPE})
    if not made.ok or not isinstance(made.body, dict) or not made.body.get("url"):
        return BatchResult(
            {
                **dict.fromkeys(refs, failure(made, say("msg.op.create_feed_document", api="createFeedDocument"))),
                **refused,
            }
        )
    content = orjson.dumps(body)
    uploaded = _at(connector, str(made.body["url"]), "PUT", content)
    if not uploaded.ok:
        return BatchResult({**dict.fromkeys(refs, failure(uploaded, say("msg.op.upload_feed_document"))), **refused})
    spec = {
        "feedType": FEED_TYPE,
        "marketplaceIds": [connector.config.marketplace_id],
        "inputFeedDocumentId": made.body["feedDocumentId"],
    }
    created = connector.call("createFeed", "POST", f"{FEEDS}/feeds", json=spec, limited=False)
    feed_id = created.body.get("feedId") if created.ok and isinstance(created.body, dict) else None
    if not feed_id:
        return BatchResult(
            {**dict.fromkeys(refs, failure(created, say("msg.op.create_feed", api="createFeed"))), **refused}
        )
    waiting = say("msg.amazon.feed_sent", feed=str(feed_id), feed_type=FEED_TYPE)
    text = english(waiting)  # once, not 25,000 times
    outcomes = {
        m["sku"]: Outcome(
            Status.PENDING, text, said=waiting, request={"feed": feed_id, "message": m},
            response=created.body, http_status=created.status,
        )
        for m in body["messages"]
    }  # fmt: skip
    submission = Submission(FEED_TYPE, str(feed_id), refs, waiting, poll_after=POLL, request={"messages": len(refs)})
    return BatchResult({**outcomes, **refused}, submission)


def _at(connector: AmazonConnector, url: str, method: str, content: bytes | None = None) -> Any:
    """A pre-signed document url (S3): no SP-API token, its own host."""
    parts = urlsplit(url)
    client = HttpClient(f"{parts.scheme}://{parts.netloc}", timeout=connector.timeout * 3, body_limit=REPORT_LIMIT)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": CONTENT_TYPE} if content is not None else None
        return client.request(method, path, content=content, headers=headers)
    finally:
        client.close()


def poll(connector: AmazonConnector, submission: SubmissionRef) -> SubmissionPoll:
    """getFeed; once DONE, its report read into one outcome per SKU."""
    feed_id = submission.external_id
    try:
        result = connector.call("getFeed", "GET", f"{FEEDS}/feeds/{feed_id}")
        if not result.ok or not isinstance(result.body, dict):
            return _not_yet(failure(result, say("msg.op.read_feed", feed=feed_id, api="getFeed")))
        status = str(result.body.get("processingStatus"))
        if status in ("IN_QUEUE", "IN_PROGRESS"):
            return SubmissionPoll(done=False, poll_after=POLL, detail={"status": status})
        report = _report(connector, result.body.get("resultFeedDocumentId"))
    except Deferred as deferred:  # getFeedDocument allows one call every 45 s: the poll comes back then
        return SubmissionPoll(done=False, poll_after=max(POLL, deferred.seconds))
    if isinstance(report, Outcome):
        return _not_yet(report)
    if status != "DONE":
        said = "; ".join(str(i.get("message")) for i in report.get("issues") or [] if isinstance(i, dict))
        refused = say("msg.amazon.feed_not_processed", feed=feed_id, status=status, reply=said)
        return SubmissionPoll(done=True, failed=Outcome.error(refused))
    by_message: dict[str, list[dict[str, Any]]] = {}
    for issue in report.get("issues") or []:
        if isinstance(issue, dict):
            by_message.setdefault(str(issue.get("messageId")), []).append(issue)
    kept = {"response": {"feed": feed_id, "summary": report.get("summary")}}
    outcomes = {
        sku: issues_outcome(by_message.get(ref, []), say("msg.amazon.feed_accepted", feed=feed_id), **kept)
        for sku, ref in submission.refs.items()
    }
    return SubmissionPoll(done=True, outcomes=outcomes)


def _not_yet(outcome: Outcome) -> SubmissionPoll:
    if outcome.transient:
        return SubmissionPoll(done=False, poll_after=max(POLL, outcome.retry_after or POLL))
    return SubmissionPoll(done=True, failed=outcome)


def _report(connector: AmazonConnector, document_id: Any) -> dict[str, Any] | Outcome:
    if not document_id:
        return {"issues": []}
    found = connector.call("getFeedDocument", "GET", f"{FEEDS}/documents/{document_id}")
    if not found.ok or not isinstance(found.body, dict) or not found.body.get("url"):
        return failure(found, say("msg.op.read_feed_report", api="getFeedDocument"))
    fetched = _at(connector, str(found.body["url"]), "GET")
    if not fetched.ok or not isinstance(fetched.body, dict):
        return Outcome.error(say("msg.amazon.report_unreadable"), transient=True, http_status=fetched.status)
    return dict(fetched.body)
