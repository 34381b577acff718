"""The emulated seller API, at the spec's paths (/api/…), answering in its shapes.

Every request is checked against the spec before it gets here (ContractMiddleware in __init__). Here: the shop
key (raw in Authorization, spec Shop-API-Key) and `shop_id` pick the shop; calls that come sooner than their
operation's "Maximum usage" are refused with 429 and Retry-After (state.INTERVALS); imports are judged when their
time comes (`settle`, on every request). Errors answer `{"status", "message"}`, with Mirakl's `code` where the
spec lists one (OR21), the shape its error answers have [secondary: api-evangelist/mirakl errors, "a JSON body
with a machine 'code'/'message'"].
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ponte.connectors.mirakl.emulation import answers, structure
from ponte.connectors.mirakl.emulation.judge import judge, offer_rows, read_csv, report
from ponte.connectors.mirakl.emulation.state import PAGE, Import, Operator, Shop, parse_iso

KEEP_CALLS = 50_000  # calls remembered for _admin/calls
KEEP_IMPORTS = 2 * 86_400.0  # seconds an import stays readable after it was judged


class Refusal(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.retry_after = status, message, code, retry_after

    def response(self) -> Response:
        body: dict[str, Any] = {"status": self.status, "message": self.message}
        if self.code:
            body["code"] = self.code
        headers = {"Retry-After": str(math.ceil(self.retry_after))} if self.retry_after is not None else None
        return JSONResponse(body, status_code=self.status, headers=headers)


class SellerApi:
    def __init__(self, operator: Operator) -> None:
        self.operator = operator

    # -- what every call goes through ---------------------------------------------------------------------

    def shop(self, request: Request, operation: str, scope: Any = None) -> Shop:
        """The shop the key opens (401 without a valid key, 403 for a shop it does not open), after the call's
        frequency is checked (429)."""
        self.settle()
        key = request.headers.get("authorization", "")
        raw = request.query_params.get("shop_id")
        shop_id = int(raw) if raw and raw.isdigit() else None
        shop = self.operator.shop_of_key(key, shop_id)
        if shop is None:
            if shop_id is not None and self.operator.shop_of_key(key, None) is not None:
                raise Refusal(403, f"Access denied to shop {shop_id}")
            raise Refusal(401, "Unauthorized: the API key is missing or unknown")
        wait = self.operator.too_soon(operation, shop.id, scope)
        if wait is not None:
            raise Refusal(
                429, f"Too many requests: {operation} is allowed once every {_every(operation)}", retry_after=wait
            )
        calls = self.operator.calls
        calls.append({"operation": operation, "shop_id": shop.id, "at": self.operator.now(), "path": request.url.path})
        if len(calls) > KEEP_CALLS:  # a sandbox left running for days keeps the recent ones
            del calls[: len(calls) - KEEP_CALLS]
        return shop

    def settle(self) -> None:
        """Judge the imports whose time has come; forget those judged two days ago (their files with them)."""
        now = self.operator.now()
        for imp in self.operator.imports.values():
            if imp.status == "WAITING" and imp.ready <= now:
                judge(self.operator, imp)
        old = [
            i for i, imp in self.operator.imports.items() if imp.status != "WAITING" and imp.ready < now - KEEP_IMPORTS
        ]
        for import_id in old:
            del self.operator.imports[import_id]

    def _import(self, shop: Shop, api: str, header: list[str], rows: list[dict[str, str]]) -> Response:
        operator = self.operator
        operator.next_import += 1
        now = operator.now()
        imp = Import(operator.next_import, shop.id, api, now, now + operator.import_seconds, header, rows)
        operator.imports[imp.id] = imp
        self.settle()  # an emulation told to judge at once does
        return JSONResponse({"import_id": imp.id}, status_code=201)

    def _imported(self, request: Request, shop: Shop, api: tuple[str, ...]) -> Import:
        raw = request.path_params["import"]
        imp = self.operator.imports.get(int(raw)) if str(raw).isdigit() else None
        if imp is None or imp.shop_id != shop.id or imp.api not in api:
            raise Refusal(404, f"Import {raw} not found")
        return imp

    # -- A01, V01 ------------------------------------------------------------------------------------------

    async def account(self, request: Request) -> Response:
        shop = self.shop(request, "A01")
        return JSONResponse(answers.account(self.operator, shop))

    async def version(self, request: Request) -> Response:
        self.shop(request, "V01")
        return JSONResponse({"version": "3.210.0"})

    # -- offers ---------------------------------------------------------------------------------------------

    async def offers(self, request: Request) -> Response:
        """OF24: the offers as JSON, judged later like a file."""
        shop = self.shop(request, "OF24")
        header, rows = offer_rows((await request.json())["offers"])
        return self._import(shop, "OF24", header, rows)

    async def offer_file(self, request: Request) -> Response:
        """OF01: an offer file (CSV) in NORMAL mode; XLSX, XML and REPLACE are not emulated."""
        shop = self.shop(request, "OF01")
        form = await request.form()
        upload = form.get("file")
        if form.get("import_mode") != "NORMAL" or isinstance(upload, str) or upload is None:
            raise Refusal(400, "The emulation takes CSV offer files in NORMAL mode only")
        header, rows = read_csv(await upload.read())
        return self._import(shop, "OF01", header, rows)

    async def offer_import(self, request: Request) -> Response:
        """OF02."""
        shop = self.shop(request, "OF02", scope=request.path_params["import"])
        return JSONResponse(answers.offer_import(self._imported(request, shop, ("OF24", "OF01"))))

    async def offer_report(self, request: Request) -> Response:
        """OF03: the refused lines of a judged import."""
        shop = self.shop(request, "OF03", scope=request.path_params["import"])
        imp = self._imported(request, shop, ("OF24", "OF01"))
        if imp.status != "COMPLETE" or not imp.errors:
            raise Refusal(404, f"No error report for import {imp.id}")
        return Response(report(imp), media_type="application/octet-stream")

    # -- products -------------------------------------------------------------------------------------------

    async def product_file(self, request: Request) -> Response:
        """P41: a product file (CSV)."""
        shop = self.shop(request, "P41")
        upload = (await request.form()).get("file")
        if isinstance(upload, str) or upload is None:
            raise Refusal(400, "The file is mandatory")
        header, rows = read_csv(await upload.read())
        return self._import(shop, "P41", header, rows)

    async def product_import(self, request: Request) -> Response:
        """P42."""
        shop = self.shop(request, "P42", scope=request.path_params["import"])
        return JSONResponse(answers.product_import(self._imported(request, shop, ("P41",))))

    async def product_report(self, request: Request) -> Response:
        """P44: the products not integrated, with why."""
        shop = self.shop(request, "P44")
        imp = self._imported(request, shop, ("P41",))
        if imp.status != "COMPLETE" or not imp.errors:
            raise Refusal(404, f"No error report for import {imp.id}")
        return Response(report(imp), media_type="application/octet-stream")

    async def transformation_report(self, request: Request) -> Response:
        """P47: the product lines the operator's transformation refused, with why."""
        shop = self.shop(request, "P47")
        imp = self._imported(request, shop, ("P41",))
        if imp.status != "COMPLETE" or not imp.transform_errors:
            raise Refusal(404, f"No transformation error report for import {imp.id}")
        return Response(report(imp, transformation=True), media_type="application/octet-stream")

    # -- the catalog's structure: H11, PM11, VL11 -------------------------------------------------------------

    async def hierarchies(self, request: Request) -> Response:
        self.shop(request, "H11")
        return JSONResponse({"hierarchies": structure.hierarchies(self.operator)})

    async def attributes(self, request: Request) -> Response:
        self.shop(request, "PM11")
        return JSONResponse({"attributes": structure.attributes(self.operator, request.query_params.get("hierarchy"))})

    async def values_lists(self, request: Request) -> Response:
        self.shop(request, "VL11")
        return JSONResponse({"values_lists": structure.values_lists(request.query_params.get("code"))})

    async def offers_export(self, request: Request) -> Response:
        """OF51: the shop's offers as a CSV file (`;`-separated, the spec's example's columns), sorted by offer id.
        Without `last_request_date`, every active offer (`include_inactive_offers` adds the others), at most once a
        day; with it, the offers changed since then, deleted ones included (only their ids and `deleted`), at most
        once a minute. `include_fields` keeps only the columns named."""
        query = request.query_params
        since = parse_iso(query["last_request_date"]) if query.get("last_request_date") else None
        shop = self.shop(request, "OF51" if since is None else "OF51-differential")
        inactive = since is not None or query.get("include_inactive_offers") == "true"
        chosen = [
            (sku, offer)
            for sku, offer in sorted(shop.offers.items(), key=lambda kv: answers.offer_id(kv[0]))
            if (since is None or shop.applied.get(sku, 0.0) >= since) and (inactive or offer.get("active", True))
        ]
        rows: Iterable[dict[str, str]] = (answers.export_row(shop, sku, offer) for sku, offer in chosen)
        if since is not None:
            gone = [answers.deleted_row(shop, sku) for sku, at in sorted(shop.deleted.items()) if at >= since]
            rows = itertools.chain(rows, gone)
        fields = [f for f in (query.get("include_fields") or "").split(",") if f]
        # Sent as it is written (chunked), as a big export is: the reader may start before the last line exists.
        return StreamingResponse(answers.export_csv(rows, fields), media_type="text/csv")

    # -- orders ---------------------------------------------------------------------------------------------

    async def orders(self, request: Request) -> Response:
        """OR11: the shop's orders, oldest first, filtered by state, ids and creation date; a page of 10."""
        shop = self.shop(request, "OR11")
        query = request.query_params
        states = set(filter(None, (query.get("order_state_codes") or "").split(",")))
        ids = set(filter(None, (query.get("order_ids") or "").split(",")))
        since = parse_iso(query["start_date"]) if query.get("start_date") else None
        found = [
            order
            for order in sorted(self.operator.orders.values(), key=lambda o: (o.created, o.id))
            if order.shop_id == shop.id
            and (not states or order.state in states)
            and (not ids or order.id in ids)
            and (since is None or order.created >= since)
        ]
        offset, size = _int(query.get("offset"), 0), min(100, _int(query.get("max"), PAGE))
        page = [answers.order(self.operator, order) for order in found[offset : offset + size]]
        return JSONResponse({"orders": page, "total_count": len(found)})

    def _order(self, request: Request, shop: Shop) -> Any:
        order = self.operator.orders.get(request.path_params["order_id"])
        if order is None or order.shop_id != shop.id:
            raise Refusal(404, "The requested order does not exist", "ORDER_NOT_FOUND")
        return order

    async def accept(self, request: Request) -> Response:
        """OR21: a decision for every line waiting for acceptance."""
        shop = self.shop(request, "OR21")
        order = self._order(request, shop)
        if order.state != "WAITING_ACCEPTANCE":
            raise Refusal(400, "Order is not in the expected state for this operation", "ORDER_INVALID_STATE")
        decisions = (await request.json())["order_lines"]
        ids = [d.get("id") for d in decisions if isinstance(d, dict)]
        if len(ids) != len(decisions):
            raise Refusal(400, "The order lines list contains a null element", "ORDER_LINE_NULL_ELEMENT")
        if len(set(ids)) != len(ids):
            raise Refusal(400, "The order lines list contains duplicate order line IDs", "ORDER_LINE_DUPLICATE_ID")
        lines = {line.id: line for line in order.lines}
        if any(i not in lines for i in ids):
            raise Refusal(400, "The requested order line does not exist", "ORDER_LINE_NOT_FOUND")
        if set(ids) != {line.id for line in order.lines if line.state == "WAITING_ACCEPTANCE"}:
            raise Refusal(
                400,
                "Some order lines are missing from the acceptance decision",
                "ORDER_LINE_ACCEPTANCE_DECISION_MISSING",
            )
        for decision in decisions:
            lines[decision["id"]].state = "SHIPPING" if decision["accepted"] else "REFUSED"
        accepted = any(line.state == "SHIPPING" for line in order.lines)
        order.state = "SHIPPING" if accepted else "REFUSED"  # the debit is immediate in the emulation
        order.decided = order.updated = self.operator.now()
        return Response(status_code=204)

    async def tracking(self, request: Request) -> Response:
        """OR23: the carrier (a registered one by code, another by name) and tracking number."""
        shop = self.shop(request, "OR23")
        order = self._order(request, shop)
        if order.state not in ("SHIPPING", "SHIPPED"):
            raise Refusal(400, "Order is not in the expected state for this operation", "ORDER_INVALID_STATE")
        body = await request.json()
        code = body.get("carrier_code")
        if code and code not in self.operator.carriers:
            raise Refusal(400, f"The carrier '{code}' is unknown")
        if not code and not body.get("carrier_name"):
            raise Refusal(400, "The carrier code or the carrier name is mandatory")
        order.tracking = dict(body)
        order.updated = self.operator.now()
        return Response(status_code=204)

    async def ship(self, request: Request) -> Response:
        """OR24: an order in SHIPPING is shipped."""
        shop = self.shop(request, "OR24")
        order = self._order(request, shop)
        if order.state != "SHIPPING":
            raise Refusal(400, "Order is not in the expected state for this operation", "ORDER_INVALID_STATE")
        order.state = "SHIPPED"
        for line in order.lines:
            if line.state == "SHIPPING":
                line.state = "SHIPPED"
        order.updated = self.operator.now()
        return Response(status_code=204)


def _every(operation: str) -> str:
    from ponte.connectors.mirakl.emulation.state import INTERVALS, PER_IMPORT

    seconds = INTERVALS.get(operation) or PER_IMPORT.get(operation) or 0
    return {60: "minute", 900: "15 minutes", 86_400: "day"}.get(int(seconds), f"{seconds:.0f} s")


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default
