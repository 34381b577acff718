"""The Feeds API 2021-06-30 as the emulation plays it, for JSON_LISTINGS_FEED: a document is created, its content
uploaded to the (pre-signed) url the answer gives, the feed created on it; `feed_seconds` of the emulation's clock
later it is processed — the document checked against listings-feed-schema-v2.json, each message applied or refused
as the Listings Items API would (listings.py) — and its processing report, a result document, tells each
message's issues (`issues[{messageId, sku, code, severity, message, attributeName}]`, `summary`).

The upload and download urls stand for Amazon's pre-signed S3 urls: `/amazon/_documents/{id}`, outside SP-API's
paths (S3 is not part of the models).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.amazon.emulation.api import Api, Refused, answer
from ponte.connectors.amazon.emulation.listings import apply_patches, asin_for, iso, judge
from ponte.connectors.amazon.emulation.state import Document, Feed, Listing, Market, Seller
from ponte.contract import json_schema

FEED_TYPES = {"JSON_LISTINGS_FEED"}


def _url(request: Request, document_id: str) -> str:
    root = request.scope.get("root_path", "")
    return f"{request.url.scheme}://{request.url.netloc}{root}/_documents/{document_id}"


def _issue(message_id: int, sku: str, issue: dict[str, Any]) -> dict[str, Any]:
    found = {"messageId": message_id, "sku": sku, "code": issue["code"], "severity": issue["severity"]}
    found["message"] = issue["message"]
    if issue.get("attributeNames"):
        found["attributeName"] = issue["attributeNames"][0]
    return found


def _apply(market: Market, seller: Seller, message: dict[str, Any], at: float) -> list[dict[str, Any]]:
    """One message applied as the Listings Items API would, at `at`; the issues it met."""
    sku, kind = str(message["sku"]), message["operationType"]
    key = (seller.seller_id, sku)
    if kind == "DELETE":
        market.listings.pop(key, None)
        return []
    if kind == "UPDATE":
        attributes = dict(message.get("attributes") or {})
        issues = judge(market, seller, str(message.get("productType")), attributes)
        if not any(i["severity"] == "ERROR" for i in issues):
            old, now = market.listings.get(key), at
            market.listings[key] = Listing(
                seller.seller_id, sku, str(message.get("productType")), attributes,
                asin_for(market, seller.seller_id, sku, attributes), old.created if old else now, now,
                [i for i in issues if i["severity"] != "ERROR"], old.later if old else [],
            )  # fmt: skip
        return issues
    listing = market.listings.get(key)
    if listing is None:
        return [{"code": "NotFound", "message": f"SKU '{sku}' not found.", "severity": "ERROR", "categories": []}]
    patches = message.get("patches") or []
    if kind == "PARTIAL_UPDATE":
        patches = [
            {"op": "replace", "path": f"/attributes/{k}", "value": v}
            for k, v in (message.get("attributes") or {}).items()
        ]
    trial = Listing(**{**listing.__dict__, "attributes": dict(listing.attributes)})
    issues = apply_patches(trial, patches)
    if not issues:
        listing.attributes, listing.updated = trial.attributes, at
    return issues


def process(market: Market, feed: Feed) -> None:
    """Process a feed whose time has come and leave its report as a result document. Amazon processes a feed at its
    own pace, whoever asks: what it changes is dated when its time came, not when someone next looked."""
    at = feed.created + market.feed_seconds
    document = market.documents[feed.document_id]
    seller = market.sellers[feed.seller_id]
    report: dict[str, Any] = {"header": {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.feed_id}}
    try:
        content = orjson.loads(document.content or b"")
    except orjson.JSONDecodeError:
        content = None
    problems = json_schema("amazon", "listings-feed-schema-v2.json").validate(content) if content is not None else []
    if content is None or problems:
        reason = "the document is not JSON" if content is None else "; ".join(str(p) for p in problems[:5])
        report["issues"] = [
            {"code": "InvalidInput", "severity": "ERROR", "message": f"Invalid feed document: {reason}"}
        ]
        report["summary"] = {
            "errors": 1,
            "warnings": 0,
            "messagesProcessed": 0,
            "messagesAccepted": 0,
            "messagesInvalid": 0,
        }
        feed.status = "FATAL"
    else:
        issues, invalid = [], 0
        for message in content["messages"]:
            found = _apply(market, seller, message, at)
            issues += [_issue(int(message["messageId"]), str(message["sku"]), i) for i in found]
            invalid += any(i["severity"] == "ERROR" for i in found)
        total = len(content["messages"])
        report["issues"] = issues
        report["summary"] = {
            "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
            "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
            "messagesProcessed": total, "messagesAccepted": total - invalid, "messagesInvalid": invalid,
        }  # fmt: skip
        feed.status = "DONE"
    result = Document(f"amzn1.tortuga.4.na.result{market.next_id()}", feed.seller_id, "application/json")
    result.content = orjson.dumps(report)
    market.documents[result.document_id] = result
    feed.result_document_id = result.document_id


class Feeds(Api):
    def settle(self) -> None:
        market = self.market
        with market.lock:
            for feed in market.feeds.values():
                if feed.status == "IN_QUEUE" and feed.created + market.feed_seconds <= market.now():
                    process(market, feed)

    def _feed_view(self, feed: Feed) -> dict[str, Any]:
        view: dict[str, Any] = {
            "feedId": feed.feed_id, "feedType": feed.feed_type, "marketplaceIds": feed.marketplace_ids,
            "createdTime": iso(feed.created), "processingStatus": feed.status,
        }  # fmt: skip
        if feed.status in ("DONE", "FATAL"):
            view["processingStartTime"] = iso(feed.created + self.market.feed_seconds)
            view["processingEndTime"] = iso(feed.created + self.market.feed_seconds)
            if feed.result_document_id:
                view["resultFeedDocumentId"] = feed.result_document_id
        return view

    async def create_document(self, request: Request) -> Response:
        seller, headers = self.seller(request, "createFeedDocument")
        body = await self.json(request)
        document = Document(f"amzn1.tortuga.4.na.{self.market.next_id()}", seller.seller_id, str(body["contentType"]))
        self.market.documents[document.document_id] = document
        reply = {"feedDocumentId": document.document_id, "url": _url(request, document.document_id)}
        return answer(reply, 201, headers)

    async def create_feed(self, request: Request) -> Response:
        seller, headers = self.seller(request, "createFeed")
        body = await self.json(request)
        document = self.market.documents.get(str(body["inputFeedDocumentId"]))
        if document is None or document.seller_id != seller.seller_id:
            raise Refused(400, "InvalidInput", f"Feed document {body['inputFeedDocumentId']} not found.")
        if body["feedType"] not in FEED_TYPES:
            raise Refused(400, "InvalidInput", f"The emulation takes JSON_LISTINGS_FEED, not {body['feedType']}.")
        if document.content is None:
            raise Refused(400, "InvalidInput", "The feed document has no content: upload it to its url first.")
        market = self.market
        feed = Feed(
            f"{50_000 + market.next_id()}", seller.seller_id, str(body["feedType"]), list(body["marketplaceIds"]),
            document.document_id, market.now(),
        )  # fmt: skip
        market.feeds[feed.feed_id] = feed
        self.settle()
        return answer({"feedId": feed.feed_id}, 202, headers)

    async def get_feed(self, request: Request) -> Response:
        seller, headers = self.seller(request, "getFeed")
        self.settle()
        feed = self.market.feeds.get(request.path_params["feedId"])
        if feed is None or feed.seller_id != seller.seller_id:
            raise Refused(404, "NotFound", f"Feed {request.path_params['feedId']} not found.")
        return answer(self._feed_view(feed), headers=headers)

    async def get_document(self, request: Request) -> Response:
        seller, headers = self.seller(request, "getFeedDocument")
        document = self.market.documents.get(request.path_params["feedDocumentId"])
        if document is None or document.seller_id != seller.seller_id:
            raise Refused(404, "NotFound", f"Feed document {request.path_params['feedDocumentId']} not found.")
        return answer(
            {"feedDocumentId": document.document_id, "url": _url(request, document.document_id)}, headers=headers
        )

    async def upload(self, request: Request) -> Response:
        """The pre-signed url: PUT the content, GET it back."""
        document = self.market.documents.get(request.path_params["document_id"])
        if document is None:
            return Response(b"<Error><Code>NoSuchKey</Code></Error>", 404, media_type="application/xml")
        if request.method == "GET":
            return Response(document.content or b"", media_type=document.content_type)
        if request.headers.get("content-type", "") != document.content_type:
            return Response(b"<Error><Code>SignatureDoesNotMatch</Code></Error>", 403, media_type="application/xml")
        document.content = await request.body()
        return Response(b"", 200)
