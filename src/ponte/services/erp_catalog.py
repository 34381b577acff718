"""The store's catalog from its ERP (Bling): a first import of the whole catalog with its progress, then what
changed — read by the worker at the connector's interval, or at once when the ERP's webhook names a product.

Each product the ERP gives is taken as any other change to the catalog (`save_skus`): only the integrations the
changed fields concern are marked pending (a new price is a price send). What the ERP last gave is remembered per
SKU (`erp_products`), so that a field is known to have changed in Ponte, in the ERP, or in both: where both changed,
the ERP's value wins unless the ERP affiliate's `ponte_wins` names the field, and each overwrite of what was typed
in Ponte is written in the audit log. A product Ponte cannot take (no code, no price, an invalid EAN) is reported
with its reason and the read goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors.base import Connector, ErpProduct, FetchedCatalog
from ponte.connectors.registry import get_connector_class
from ponte.domain import Flow
from ponte.domain.messages import say
from ponte.engine.connectors import connector_for
from ponte.engine.feeds import read_each, read_pages
from ponte.engine.worker import Periodic
from ponte.secrets import SecretBox
from ponte.services.catalog import SkuInput, input_error, save_skus
from ponte.services.catalog_edit import FIELDS, differs, flows_of
from ponte.services.errors import InputError
from ponte.settings import Settings
from ponte.store import erp_catalog as stored
from ponte.store.affiliates import Affiliate, affiliates_by_id, find_affiliate
from ponte.store.audit import record
from ponte.store.catalog import skus_by_code, stock_quantities_of
from ponte.store.db import Database
from ponte.store.skus import Sku
from ponte.store.tables import erp_catalogs

# While a first import is under way, a worker holds the read this long (others leave it), reads WORKER_PAGES pages,
# and lets it go for the next loop: an import goes on page after page without holding the worker's other steps.
IMPORT_LEASE = 120.0
WORKER_PAGES = 5
JOB_EVERY = 5.0  # seconds between the worker's looks at the catalogs due a read
ALL_FLOWS = frozenset({Flow.PRODUCT, Flow.PRICE, Flow.INVENTORY})


@dataclass
class Taken:
    """What taking a page of the ERP's products came to."""

    taken: int = 0  # products taken (changed or not)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"sku", "reason": a message as JSON}
    pending: int = 0  # SKUs written with a change to send


def reads_catalog(affiliate: Affiliate) -> bool:
    try:
        cls = get_connector_class(affiliate.connector)
    except LookupError:
        return False
    return affiliate.kind == "erp" and cls.fetch_catalog is not Connector.fetch_catalog


def _json(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))


def _current(row: Sku, stock: dict[str, int]) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in FIELDS if name != "stock"}
    values["attributes"] = dict(row.attributes or {})
    values["images"] = list(row.images or [])
    values["stock"] = stock
    return values


def take(conn: Connection, *, erp: Affiliate, products: Sequence[ErpProduct]) -> Taken:
    """Take a page of the ERP's products into the catalog (see the module's words)."""
    done = Taken()
    latest = {p.sku: p for p in products if p.problem is None}
    done.rejected = [{"sku": p.sku, "reason": p.problem.as_json()} for p in products if p.problem is not None]
    rows = skus_by_code(conn, erp.account_id, latest)
    stocks = stock_quantities_of(conn, sku_ids=[r.id for r in rows.values()])
    last = stored.last_values(conn, affiliate_id=erp.id, skus=latest)
    ponte_wins = set(erp.settings.get("ponte_wins") or ())
    actor = f"erp:{erp.code}"
    by_flows: dict[frozenset[Flow], list[SkuInput]] = {}
    remembered: dict[str, tuple[str, dict[str, Any]]] = {}
    for code, product in latest.items():
        row = rows.get(code)
        given = {**product.values, **({"stock": dict(product.stock)} if product.stock is not None else {})}
        overwrites: list[tuple[str, Any, Any]] = []
        if row is None:
            merged, changed = {**given}, list(given)
        else:
            merged, changed, overwrites = _merge(
                _current(row, stocks.get(row.id, {})), given, last.get(code), ponte_wins
            )
        price, list_price = merged.get("price"), merged.get("list_price")
        if price is not None and (list_price is None or Decimal(str(list_price)) < Decimal(str(price))):
            merged["list_price"] = price  # the ERP gives one price: the list price is never below it
        stock = merged.pop("stock", None) if "stock" in changed else None
        merged.pop("stock", None)
        try:
            item = SkuInput.model_validate({**merged, "sku": code, "stock": stock})
        except ValidationError as exc:
            problem = input_error(exc)
            reason = say("msg.catalog.invalid", field=problem.field or "", problem=problem.message)
            done.rejected.append({"sku": code, "reason": reason.as_json()})
            continue
        done.taken += 1
        remembered[code] = (product.reference, {**last.get(code, {}), **_json(given)})  # a list row gives fewer fields
        flows = ALL_FLOWS if row is None else frozenset(flows_of(tuple(changed)))
        if flows:
            by_flows.setdefault(flows, []).append(item)
        if overwrites:
            detail = {"sku": code, "source": erp.code, "fields": {f: [_json(mine), _json(theirs)]
                                                                 for f, mine, theirs in overwrites}}  # fmt: skip
            record(conn, account_id=erp.account_id, actor=actor, action="catalog.erp_overwrite", detail=detail)
    for flows, items in sorted(by_flows.items(), key=lambda pair: sorted(f.value for f in pair[0])):
        save_skus(conn, account_id=erp.account_id, items=items, actor=actor, flows=flows)
        done.pending += len(items)
    stored.keep_values(conn, affiliate_id=erp.id, account_id=erp.account_id, given=remembered, now=now())
    return done


def _merge(
    current: dict[str, Any], given: dict[str, Any], last: dict[str, Any] | None, ponte_wins: Collection[str]
) -> tuple[dict[str, Any], list[str], list[tuple[str, Any, Any]]]:
    """The SKU's values after the ERP's: (values, fields changed, overwrites of what was typed in Ponte)."""
    merged, changed, overwrites = dict(current), [], []
    for name, theirs in given.items():
        mine = current.get(name)
        if name == "stock":  # only the ERP's own warehouses are its to say
            mine = {w: q for w, q in (mine or {}).items() if w in theirs}
        if not differs(mine, theirs):
            continue
        before = (last or {}).get(name)
        if last is not None and name in last and not differs(before, theirs):
            continue  # the ERP did not change it since its last read: what Ponte has was typed there
        typed_in_ponte = last is None or name not in last or differs(mine, before)
        if typed_in_ponte and name in ponte_wins:
            continue
        if typed_in_ponte:
            overwrites.append((name, mine, theirs))
        merged[name] = {**(current.get("stock") or {}), **theirs} if name == "stock" else theirs
        changed.append(name)
    return merged, changed, overwrites


# -- reading ------------------------------------------------------------------------------------------------------
def start_import(conn: Connection, *, account_id: int, affiliate_id: int, actor: str) -> Affiliate:
    """Start (again) a first import of an ERP affiliate's catalog: the whole catalog is read, then what changes."""
    affiliate = find_affiliate(conn, account_id=account_id, affiliate_id=affiliate_id)
    if affiliate is None or not reads_catalog(affiliate):
        raise InputError(say("msg.catalog.not_an_erp_catalog"))
    stored.start_import(conn, affiliate_id=affiliate.id, account_id=account_id, now=now())
    record(conn, account_id=account_id, actor=actor, action="catalog.erp_import", detail={"affiliate": affiliate.code})
    return affiliate


def read_catalog(
    db: Database,
    affiliate: Affiliate,
    every: float,
    connector_of: Callable[[Affiliate], Connector],
    *,
    force: bool = False,
    max_pages: int = WORKER_PAGES,
    progress: Callable[[stored.CatalogRead], None] | None = None,
) -> int:
    """Read an ERP affiliate's catalog from where it stands; returns the products taken."""

    def keep(conn: Connection, page: FetchedCatalog) -> int:
        done = take(conn, erp=affiliate, products=page.products)
        stored.note_page(
            conn, affiliate_id=affiliate.id, read=len(page.products), taken=done.taken, rejected=done.rejected,
            total=page.total, done=page.full and not page.more, now=now(),
        )  # fmt: skip
        if progress is not None:
            state = stored.catalog_read(conn, affiliate_id=affiliate.id)
            if state is not None:
                progress(state)
        return done.taken

    def fetch(connector: Connector, cursor: str | None) -> FetchedCatalog:
        page = connector.fetch_catalog(cursor)
        if page.outcome is not None:
            with db.write() as conn:
                stored.note_error(conn, affiliate_id=affiliate.id, error=page.outcome.message[:2000])
        return page

    taken = read_pages(
        db, affiliate, every, force, "catalog", connector_of, fetch, keep, table=erp_catalogs, max_pages=max_pages
    )
    with db.write() as conn:
        state = stored.catalog_read(conn, affiliate_id=affiliate.id)
        if state is not None and state.importing and not force:
            stored.release(conn, affiliate_id=affiliate.id)  # the next loop reads on
    return taken


def poll_catalogs(db: Database, connector_of: Callable[[Affiliate], Connector], *, force: bool = False) -> int:
    """Read every enabled ERP catalog due a read: an import under way at once, the others at their connector's
    interval. Returns the products taken."""
    with db.read() as conn:
        reading = stored.reading_affiliates(conn)
        found = affiliates_by_id(conn, reading)
    candidates = []
    for affiliate_id, importing in reading.items():
        affiliate = found.get(affiliate_id)
        if affiliate is None or not affiliate.enabled or not reads_catalog(affiliate):
            continue
        every = get_connector_class(affiliate.connector).catalog_poll_every
        if every is not None:
            candidates.append((affiliate, IMPORT_LEASE if importing else every))
    return read_each(candidates, "catalog", lambda a, every: read_catalog(db, a, every, connector_of, force=force))


def run_import(
    db: Database,
    affiliate: Affiliate,
    connector_of: Callable[[Affiliate], Connector],
    progress: Callable[[stored.CatalogRead], None] | None = None,
) -> stored.CatalogRead:
    """A first import read to its end here (the command line): page after page, its progress told as it goes.
    Raises InputError when the ERP stops answering (its reason is kept on the read)."""
    stalled = 0
    while True:
        with db.read() as conn:
            before = stored.catalog_read(conn, affiliate_id=affiliate.id)
        if before is None or not before.importing:
            break
        read_catalog(db, affiliate, IMPORT_LEASE, connector_of, force=True, max_pages=1_000, progress=progress)
        with db.read() as conn:
            after = stored.catalog_read(conn, affiliate_id=affiliate.id)
        moved = after is not None and (after.read_count, after.importing) != (before.read_count, before.importing)
        stalled = 0 if moved else stalled + 1
        if stalled >= 3:
            reason = (after.last_error if after else None) or "-"
            raise InputError(say("msg.catalog.import_stalled", reason=reason))
    assert before is not None
    return before


def catalog_job(db: Database, settings: Settings, box: SecretBox | None = None) -> Periodic:
    """The ERP catalogs' reads as one of the worker's periodic jobs (`ponte worker`, `ponte run`)."""
    opened = box or SecretBox.from_environment(settings.secret_key_file)

    def run() -> int:
        made: list[Connector] = []

        def connector_of(affiliate: Affiliate) -> Connector:
            made.append(connector_for(affiliate, db=db, box=opened, settings=settings))
            return made[-1]

        try:
            return poll_catalogs(db, connector_of)
        finally:
            for connector in made:
                connector.close()

    return Periodic("erp-catalog", JOB_EVERY, run)


def keep_notified(conn: Connection, affiliate: Affiliate, products: list[ErpProduct]) -> int:
    """Products an ERP's webhook named, read again (the worker's notifications): taken as any page, for an ERP whose
    catalog is read."""
    if stored.catalog_read(conn, affiliate_id=affiliate.id) is None:
        return 0  # the store does not take its catalog from this ERP
    return take(conn, erp=affiliate, products=products).taken
