"""Bulk changes to the catalog (issue 21): set a marketplace category (as each SKU's own mapping on one affiliate),
an attribute or a field (brand, store category, active) for every SKU a filter matches. A preview says how many
match, how many would change and shows the first of them before → after; applying writes only the SKUs that
change, a chunk per transaction, marks only the integrations the change concerns pending (as the SKU editor does)
and writes who, why and the filter in the audit log. The catalog page and the API share the models below."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Connection

from ponte.connectors.registry import get_connector_class
from ponte.domain import Flow, Status
from ponte.domain.messages import say
from ponte.engine.mapping import target_category
from ponte.engine.queue import mark_catalog_changed, mark_changed
from ponte.services.catalog_edit import flows_of
from ponte.services.errors import InputError
from ponte.services.mapping import Leaf, affiliate_mapping, can_map, leaf_name, leaves_of
from ponte.store import mappings as stored
from ponte.store.affiliates import Affiliate, account_affiliates
from ponte.store.audit import record
from ponte.store.catalog import (
    SkuFilter,
    catalog_brands,
    count_skus,
    find_skus,
    set_sku_attributes,
    set_sku_field,
)
from ponte.store.db import Database
from ponte.store.skus import Sku

# SKUs a transaction reads and writes. 500 keeps each short (a few ms of locks on PostgreSQL) while a 20,000-SKU
# change is 40 of them; tests/test_catalog_bulk.py measures 2,000.
CHUNK = 500
SAMPLE = 10  # rows of the preview's before → after
FIELDS = ("brand", "category", "active")


class CatalogFilter(BaseModel):
    """The catalog page's filter, as the page's query and the API's JSON give it. Empty: the whole catalog."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str | None = Field(default=None, max_length=100, description="The SKU's beginning or words of its name")
    category: str | None = Field(default=None, max_length=120, description="The store category")
    brand: str | None = Field(default=None, max_length=120)
    active: bool | None = None
    affiliate: str | None = Field(default=None, max_length=40, description="An affiliate's code (with status)")
    status: Status | None = Field(default=None, description="The product flow's status (on `affiliate` if given)")


class BulkAction(BaseModel):
    """What to set. `category_mapping`: each SKU's own marketplace category `target` on `affiliate`; `attribute`:
    the store attribute `attribute` = `value` (empty removes it); `field`: `field` (brand, category or active) =
    `value` (active: true or false)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["category_mapping", "attribute", "field"]
    affiliate: str | None = Field(default=None, max_length=40)
    target: str | None = Field(default=None, max_length=120)
    attribute: str | None = Field(default=None, max_length=100)
    field: Literal["brand", "category", "active"] | None = None
    value: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _complete(self) -> BulkAction:
        needed = {"category_mapping": ("affiliate", "target"), "attribute": ("attribute",), "field": ("field",)}
        for name in needed[self.kind]:
            if not getattr(self, name):
                raise ValueError(f"{name} is required to set {self.kind}")
        return self


class BulkRequest(BaseModel):
    """A bulk change: which SKUs, what to set, why. `dry_run` (the default) only previews."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    filter: CatalogFilter = Field(default_factory=CatalogFilter)
    action: BulkAction
    reason: str = Field(default="", max_length=500, description="Why (kept in the audit log); required to apply")
    dry_run: bool = True


def parse(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """A page's form or query as one of the models above: empty fields left out, a bad value an InputError."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v not in ("", None)})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "action"
        raise InputError(say("msg.bulk.bad_value", field=name), field=name) from None


# -- resolving a request against the account ------------------------------------------------------------------


def _affiliate(conn: Connection, account_id: int, code: str) -> Affiliate:
    found = next((a for a in account_affiliates(conn, account_id=account_id) if a.code == code), None)
    if found is None:
        raise InputError(say("msg.bulk.unknown_affiliate", code=code), field="affiliate")
    return found


def sku_filter(conn: Connection, *, account_id: int, filter: CatalogFilter) -> SkuFilter:
    """The filter in the store's terms (InputError for an affiliate the account does not have)."""
    affiliate = _affiliate(conn, account_id, filter.affiliate) if filter.affiliate else None
    return SkuFilter(
        text=filter.text, category=filter.category, brand=filter.brand, active=filter.active,
        affiliate_id=affiliate.id if affiliate else None, status=filter.status.value if filter.status else None,
    )  # fmt: skip


@dataclass(frozen=True)
class Change:
    sku: str
    name: str
    before: Any
    after: Any


@dataclass
class _Plan:
    """An action checked against the account: how to read a SKU's current value, the new one, and how to write."""

    action: BulkAction
    new: Any
    affiliate: Affiliate | None = None
    target_name: str | None = None

    def current(self, rows: list[Sku], conn: Connection) -> dict[str, Any]:
        a = self.action
        if a.kind == "attribute":
            return {r.sku: (r.attributes or {}).get(str(a.attribute)) for r in rows}
        if a.kind == "field":
            return {r.sku: getattr(r, str(a.field)) or (False if a.field == "active" else None) for r in rows}
        assert self.affiliate is not None
        mapping = affiliate_mapping(conn, self.affiliate, [r.sku for r in rows])
        cls = get_connector_class(self.affiliate.connector)
        return {r.sku: target_category(r.sku, r.category, mapping, cls, self.affiliate.settings) for r in rows}


def _plan(conn: Connection, account_id: int, action: BulkAction) -> _Plan:
    if action.kind == "category_mapping":
        affiliate = _affiliate(conn, account_id, str(action.affiliate))
        if not can_map(affiliate):
            raise InputError(say("msg.bulk.not_mappable", code=affiliate.code), field="affiliate")
        return _Plan(action, action.target, affiliate, leaf_name(conn, affiliate, str(action.target)))
    if action.kind == "field" and action.field == "active":
        words = {"true": True, "1": True, "yes": True, "sim": True, "sí": True, "si": True,
                 "false": False, "0": False, "no": False, "não": False}  # fmt: skip
        if action.value.casefold() not in words:
            raise InputError(say("msg.bulk.bad_value", field="value"), field="value")
        return _Plan(action, words[action.value.casefold()])
    if action.kind == "field" and action.value and len(action.value) > 120:  # the brand and category columns
        raise InputError(say("msg.bulk.bad_value", field="value"), field="value")
    return _Plan(action, action.value or None)


def _chunks(conn: Connection, account_id: int, where: SkuFilter) -> Iterator[list[Sku]]:
    after = 0
    while rows := find_skus(conn, account_id=account_id, filter=where, after_id=after, limit=CHUNK):
        yield rows
        after = rows[-1].id


# -- preview and apply ------------------------------------------------------------------------------------------


@dataclass
class Preview:
    matched: int = 0
    changing: int = 0
    sample: list[Change] = field(default_factory=list)  # the first SKUs that change, before → after

    @property
    def unchanged(self) -> int:
        return self.matched - self.changing


def preview(conn: Connection, *, account_id: int, request: BulkRequest) -> Preview:
    """How many SKUs the filter matches and how many the action would change (nothing is written)."""
    where = sku_filter(conn, account_id=account_id, filter=request.filter)
    plan = _plan(conn, account_id, request.action)
    found = Preview()
    for rows in _chunks(conn, account_id, where):
        current = plan.current(rows, conn)
        found.matched += len(rows)
        for row in rows:
            if current[row.sku] != plan.new:
                found.changing += 1
                if len(found.sample) < SAMPLE:
                    found.sample.append(Change(row.sku, row.name, current[row.sku], plan.new))
    return found


@dataclass
class Applied:
    matched: int = 0
    changed: int = 0
    pending: int = 0  # integrations marked pending

    def add(self, chunk: Applied) -> None:
        self.matched, self.changed, self.pending = (
            self.matched + chunk.matched,
            self.changed + chunk.changed,
            self.pending + chunk.pending,
        )


@dataclass
class Run:
    """A bulk change under way: `steps` applies it a chunk at a time, yielding the running totals after each."""

    total: int  # SKUs the filter matched when it started
    steps: Iterator[Applied]


def start(db: Database, *, account_id: int, request: BulkRequest, actor: str) -> Run:
    """Check the change (InputError, with nothing written, for a bad filter or action or no reason) and return it
    ready to run. Each step is a transaction of `CHUNK` SKUs: a 20,000-SKU change never holds one long transaction,
    and the page shows its progress. SKUs are read by id, so a change to a filtered field (brand X → Y on a filter
    by brand X) still walks each SKU once; a run cut short (a closed page) is completed by running it again (what
    already changed is not written twice). Each chunk that changes SKUs writes its audit entry (who, why, the filter,
    the SKUs) in its own transaction: no change goes unrecorded, however the run ends."""
    if not request.reason.strip():
        raise InputError(say("msg.bulk.reason"), field="reason")
    with db.read() as conn:
        where = sku_filter(conn, account_id=account_id, filter=request.filter)
        plan = _plan(conn, account_id, request.action)
        total = count_skus(conn, account_id=account_id, filter=where)
    return Run(total, _steps(db, account_id, request, actor, where, plan))


def _steps(
    db: Database, account_id: int, request: BulkRequest, actor: str, where: SkuFilter, plan: _Plan
) -> Iterator[Applied]:
    done, after, run = Applied(), 0, secrets.token_hex(6)
    while True:
        with db.write() as conn:
            rows = find_skus(conn, account_id=account_id, filter=where, after_id=after, limit=CHUNK)
            chunk, codes = _apply_chunk(conn, account_id, plan, rows, actor)
            if codes:
                _audit(conn, account_id, request, actor, run=run, chunk=chunk, codes=codes)
        if not rows:
            return
        done.add(chunk)
        after = rows[-1].id
        yield done


def apply(db: Database, *, account_id: int, request: BulkRequest, actor: str) -> Applied:
    """Apply the change to every SKU the filter matches (`start`, run to the end); returns the totals."""
    done = Applied()
    for step in start(db, account_id=account_id, request=request, actor=actor).steps:
        done = step
    return done


def _apply_chunk(
    conn: Connection, account_id: int, plan: _Plan, rows: list[Sku], actor: str
) -> tuple[Applied, list[str]]:
    """Write the change to the chunk's SKUs that differ; their counts, and their codes."""
    if not rows:
        return Applied(), []
    current = plan.current(rows, conn)
    changing = [r for r in rows if current[r.sku] != plan.new]
    codes = [r.sku for r in changing]
    done = Applied(len(rows), len(changing))
    action = plan.action
    if not changing:
        return done, codes
    if action.kind == "category_mapping":
        assert plan.affiliate is not None
        stored.save_sku_overrides(
            conn, account_id=account_id, affiliate_id=plan.affiliate.id, skus=codes, target=str(plan.new),
            target_name=plan.target_name, actor=actor,
        )  # fmt: skip
        keys = [(plan.affiliate.id, code) for code in codes]  # this marketplace only
        done.pending = mark_changed(conn, account_id=account_id, flow=Flow.PRODUCT.value, keys=keys, actor=actor)
        return done, codes
    if action.kind == "attribute":
        name = str(action.attribute)
        attributes = {r.id: _with(dict(r.attributes or {}), name, plan.new) for r in changing}
        set_sku_attributes(conn, attributes=attributes)
        flows = {Flow.PRODUCT}
    else:
        set_sku_field(conn, account_id=account_id, sku_ids=[r.id for r in changing], name=str(action.field),
                      value=plan.new)  # fmt: skip
        flows = flows_of((str(action.field),))
    done.pending = mark_catalog_changed(conn, account_id, {flow: codes for flow in flows}, actor)
    return done, codes


def _with(attributes: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    if value is None:
        attributes.pop(name, None)
    else:
        attributes[name] = value
    return attributes


def _audit(
    conn: Connection, account_id: int, request: BulkRequest, actor: str, *, run: str, chunk: Applied, codes: list[str]
) -> None:
    record(
        conn, account_id=account_id, actor=actor, action="catalog.bulk",
        detail={"run": run, "reason": request.reason.strip(),
                "filter": request.filter.model_dump(exclude_none=True, mode="json"),
                "action": request.action.model_dump(exclude_none=True, mode="json"),
                "changed": chunk.changed, "pending": chunk.pending, "skus": codes},
    )  # fmt: skip


# -- the catalog page -------------------------------------------------------------------------------------------

PAGE = 50


@dataclass
class CatalogPage:
    rows: list[Sku]
    total: int  # SKUs the filter matches (every page)
    next_after: int | None  # the id the next page starts after
    categories: list[str]  # the filter's choices
    brands: list[str]
    affiliates: list[Affiliate]  # the marketplaces (status filter)
    mappable: list[Affiliate]  # those a SKU's category can be mapped on
    leaves: dict[int, list[Leaf]] = field(default_factory=dict)  # their cached trees' leaves


def catalog_page(conn: Connection, *, account_id: int, filter: CatalogFilter, after_id: int = 0) -> CatalogPage:
    """A page of the SKUs the filter matches, with the filter's and the bulk change's choices."""
    where = sku_filter(conn, account_id=account_id, filter=filter)
    rows = find_skus(conn, account_id=account_id, filter=where, after_id=after_id, limit=PAGE + 1)
    marketplaces = [a for a in account_affiliates(conn, account_id=account_id) if a.kind == "marketplace"]
    mappable = [a for a in marketplaces if can_map(a)]
    return CatalogPage(
        rows=rows[:PAGE],
        total=count_skus(conn, account_id=account_id, filter=where),
        next_after=rows[PAGE - 1].id if len(rows) > PAGE else None,
        categories=[c.category for c in stored.store_categories(conn, account_id=account_id)],
        brands=catalog_brands(conn, account_id=account_id),
        affiliates=marketplaces,
        mappable=mappable,
        leaves={a.id: leaves_of(conn, affiliate=a) for a in mappable},
    )
