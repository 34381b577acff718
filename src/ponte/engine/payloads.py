"""What each flow sends, built from the store's current data at the moment of sending (never a stale copy),
as the typed records connectors take (ponte.connectors.base)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from ponte.connectors.base import (
    Connector,
    Listing,
    OrderLine,
    OrderSend,
    Outcome,
    PriceSend,
    ProductSend,
    StockSend,
    TrackingSend,
)
from ponte.connectors.registry import get_connector_class
from ponte.domain import Status
from ponte.domain.messages import Message, say
from ponte.engine import mapping as mapping_rules
from ponte.i18n import english
from ponte.store import mappings as stored
from ponte.store.affiliates import Affiliate, affiliate_code, affiliates_by_id, enabled_erps
from ponte.store.catalog import (
    SendFacts,
    available_stocks,
    listings_of,
    send_facts_by_code,
    skus_by_code,
    warehouse_stocks,
)
from ponte.store.order_book import Order, find_order
from ponte.store.skus import Sku


class EntityGone(LookupError):
    """The SKU or order behind an integration no longer exists in the store."""

    def __init__(self, message: Message) -> None:
        super().__init__(english(message))
        self.message = message


def min_availability_rule(quantity: int, min_availability: int | None) -> tuple[int, Message | None]:
    """The stock to offer, and a warning when the affiliate's minimum-availability rule replaced it with 0."""
    if min_availability is not None and 0 < quantity <= min_availability:
        # Below the line, sell nothing rather than oversell.
        return 0, say("msg.send.below_minimum", quantity=quantity, minimum=min_availability)
    return quantity, None


def warned(outcome: Outcome, warning: Message | None) -> Outcome:
    """A send the marketplace accepted but that carried a warning of Ponte's (the minimum-availability rule sent 0
    instead of the stock) is recorded as a warning saying so: the same for a single send and a batch's item."""
    if warning is None or outcome.status != Status.SUCCESS:
        return outcome
    marked = replace(outcome, status=Status.WARNING)
    marked.say(warning)
    return marked


def _listing(found: tuple[str, dict[str, Any]] | None) -> Listing | None:
    return None if found is None else Listing(found[0], dict(found[1]))


class Catalog:
    """The SKUs, their available stock and their listings that a batch of sends needs, read in one transaction
    with a few queries.

    Built right after the batch is claimed: a change landing after this read moves the integration's change
    number, so the row stays pending and the newer data is sent next (see `queue.finish`).
    """

    def __init__(
        self,
        conn: Connection,
        keys: Iterable[tuple[int, int, str]],
        products: Iterable[tuple[int, int, str]] | None = None,
    ):
        """`keys`: (account_id, affiliate_id, sku) of every catalog send of the batch; `products`: those of its
        product sends (all of them when not given), the only ones the catalog mapping is read for."""
        wanted = list(keys)
        product_keys = None if products is None else list(products)
        by_account: dict[int, set[str]] = {}
        for account_id, _, code in wanted:
            by_account.setdefault(account_id, set()).add(code)
        read = send_facts_by_code if product_keys == [] else skus_by_code  # price and stock sends: what they carry
        self.skus: dict[tuple[int, str], Sku | SendFacts] = {}
        for account_id, codes in by_account.items():
            found: Mapping[str, Sku | SendFacts] = read(conn, account_id, codes)
            self.skus.update({(account_id, code): row for code, row in found.items()})
        ids = {row.id for row in self.skus.values() if row.active}
        self.stock = available_stocks(conn, sku_ids=ids)
        self.per_warehouse = warehouse_stocks(conn, sku_ids=ids)
        self.listings = listings_of(conn, [(affiliate_id, code) for _, affiliate_id, code in wanted])
        # What each account's ERPs say of which warehouses count for which marketplace (Bling's deposits).
        self.erps: dict[int, list[tuple[type[Connector], Mapping[str, Any]]]] = {}
        for erp in enabled_erps(conn, account_ids=by_account):
            cls = _connector_class(erp)
            if cls is not None and cls.counts_stock is not Connector.counts_stock:
                self.erps.setdefault(erp.account_id, []).append((cls, erp.settings))
        self.mappings = load_mappings(conn, wanted if product_keys is None else product_keys, self.skus)

    def _sku(self, account_id: int, code: str) -> Sku | SendFacts:
        row = self.skus.get((account_id, code))
        if row is None:
            raise EntityGone(say("msg.send.sku_gone", sku=code))
        return row

    def _counted(self, affiliate: Affiliate, row: Sku | SendFacts) -> dict[str, int] | None:
        """The SKU's available stock in the warehouses that count for this marketplace, when an ERP of the account
        says which count (None: every warehouse counts)."""
        erps = self.erps.get(affiliate.account_id)
        if not erps:
            return None
        return {
            warehouse: free
            for warehouse, free in self.per_warehouse.get(row.id, {}).items()
            if all(cls.counts_stock(settings, affiliate.code, warehouse) is not False for cls, settings in erps)
        }

    def _quantity(self, row: Sku | SendFacts, affiliate: Affiliate | None = None) -> int:
        if not row.active:
            return 0
        counted = self._counted(affiliate, row) if affiliate is not None else None
        return self.stock.get(row.id, 0) if counted is None else sum(counted.values())

    def product(self, affiliate: Affiliate, code: str) -> ProductSend:
        row = self._sku(affiliate.account_id, code)
        if not isinstance(row, Sku):  # a Catalog made for price and stock sends only
            raise ValueError(f"the catalog read only the send facts of {code}: product sends name their SKUs")
        quantity, _ = min_availability_rule(self._quantity(row, affiliate), affiliate.min_availability)
        send = ProductSend(
            sku=row.sku,
            name=row.name,
            brand=row.brand,
            category=row.category,
            ean=row.ean,
            description=row.description,
            attributes=dict(row.attributes or {}),
            images=tuple(row.images or ()),
            weight_g=row.weight_g,
            height_cm=row.height_cm,
            width_cm=row.width_cm,
            length_cm=row.length_cm,
            active=row.active,
            price=row.price,
            list_price=row.list_price,
            quantity=quantity,
            listing=_listing(self.listings.get((affiliate.id, code))),
        )
        return self._mapped(affiliate, send)

    def _mapped(self, affiliate: Affiliate, send: ProductSend) -> ProductSend:
        mapping = self.mappings.get(affiliate.id)
        cls = _connector_class(affiliate)
        if mapping is None or cls is None:
            return send
        return mapping_rules.apply(send, mapping, cls, affiliate.settings)

    def check(self, affiliate: Affiliate, send: ProductSend) -> Outcome | None:
        """Why the marketplace would certainly refuse this (mapped) product send, known without asking it."""
        cls = _connector_class(affiliate)
        if cls is None:
            return None
        mapping = self.mappings.get(affiliate.id) or mapping_rules.AffiliateMapping()
        rules = cls.listing_rules(affiliate.settings)
        return mapping_rules.check(send, mapping, rules, cls.sent_attributes(send, affiliate.settings))

    def price(self, affiliate: Affiliate, code: str) -> PriceSend:
        row = self._sku(affiliate.account_id, code)
        listing = _listing(self.listings.get((affiliate.id, code)))
        quantity, _ = min_availability_rule(self._quantity(row, affiliate), affiliate.min_availability)
        return PriceSend(
            sku=row.sku,
            price=row.price,
            list_price=row.list_price,
            listing=listing,
            quantity=quantity,
            handling_days=row.handling_days,
        )

    def inventory(self, affiliate: Affiliate, code: str) -> tuple[StockSend, Message | None]:
        """The stock to send, and a warning when the minimum-availability rule replaced it with 0."""
        row = self._sku(affiliate.account_id, code)
        quantity, warning = min_availability_rule(self._quantity(row, affiliate), affiliate.min_availability)
        counted = self._counted(affiliate, row)
        send = StockSend(
            sku=row.sku,
            quantity=quantity,
            handling_days=row.handling_days,
            listing=_listing(self.listings.get((affiliate.id, code))),
            warehouses=(dict(self.per_warehouse.get(row.id, {})) if counted is None else counted) if row.active else {},
            price=row.price,
            list_price=row.list_price,
        )
        return send, warning


def _connector_class(affiliate: Affiliate) -> type[Connector] | None:
    try:
        return get_connector_class(affiliate.connector)
    except LookupError:
        return None


def load_mappings(
    conn: Connection, keys: list[tuple[int, int, str]], sku_rows: Mapping[tuple[int, str], Sku | SendFacts]
) -> dict[int, mapping_rules.AffiliateMapping]:
    """Each affiliate's mapping and cached marketplace structure that these (account, affiliate, SKU) sends need,
    in a few queries for the whole batch."""
    affiliate_ids = {affiliate_id for _, affiliate_id, _ in keys}
    if not affiliate_ids:
        return {}
    found = {affiliate_id: mapping_rules.AffiliateMapping() for affiliate_id in affiliate_ids}
    for (affiliate_id, scope, key), m in stored.category_mappings(
        conn, affiliate_ids=affiliate_ids, skus_wanted=[code for _, _, code in keys]
    ).items():
        (found[affiliate_id].skus if scope == "sku" else found[affiliate_id].categories)[key] = m
    for (affiliate_id, category), rules in stored.attribute_mappings_of(conn, affiliate_ids=affiliate_ids).items():
        found[affiliate_id].attributes[category] = rules
    for (affiliate_id, _), cached in stored.taxonomy(conn, affiliate_ids=affiliate_ids, keys=[stored.TREE]).items():
        found[affiliate_id].tree = mapping_rules.tree_from_cache(cached.data)
    # The attribute lists of the categories these sends go to.
    by_id = affiliates_by_id(conn, affiliate_ids)
    wanted: set[str] = set()
    for account_id, affiliate_id, code in keys:
        row, affiliate = sku_rows.get((account_id, code)), by_id.get(affiliate_id)
        cls = _connector_class(affiliate) if affiliate else None
        if row is None or affiliate is None or cls is None:
            continue
        target = mapping_rules.target_category(code, row.category, found[affiliate_id], cls, affiliate.settings)
        if target:
            wanted.add(stored.attributes_key(target))
    for (affiliate_id, key), cached in stored.taxonomy(conn, affiliate_ids=affiliate_ids, keys=wanted).items():
        category = key.removeprefix("attributes:")
        found[affiliate_id].requirements[category] = mapping_rules.requirements_from_cache(cached.data)
    return found


def order_row(conn: Connection, account_id: int, affiliate_id: int | None, external_id: str) -> Order:
    row = find_order(conn, account_id=account_id, external_id=external_id, affiliate_id=affiliate_id)
    if row is None:
        raise EntityGone(say("msg.send.order_gone", order=external_id))
    return row


def _lines(items: list[dict[str, Any]]) -> tuple[OrderLine, ...]:
    return tuple(OrderLine(i["sku"], int(i["quantity"]), Decimal(str(i["price"]))) for i in items)


def tracking_send(conn: Connection, account_id: int, affiliate_id: int, external_id: str) -> TrackingSend:
    row = order_row(conn, account_id, affiliate_id, external_id)
    return TrackingSend(
        order_id=row.external_id,
        invoice_key=row.invoice_key,
        invoice_xml=row.invoice_xml,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        items=_lines(row.items),
        marketplace_data=dict(row.marketplace_data or {}),
    )


def erp_order_send(conn: Connection, account_id: int, external_id: str) -> OrderSend:
    """A placed order as handed to an ERP; `marketplace` is the code of the marketplace it came from."""
    row = order_row(conn, account_id, None, external_id)
    source = affiliate_code(conn, affiliate_id=row.affiliate_id)
    return OrderSend(
        order_id=row.external_id,
        marketplace=source,
        status=row.status,
        buyer=dict(row.buyer or {}),
        items=_lines(row.items),
        total=row.total,
        shipping_total=row.shipping_total,
        postal_code=row.postal_code,
        sla=row.sla,
        placed_at=row.placed_at,
    )
