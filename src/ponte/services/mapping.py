"""Category and attribute mapping per affiliate (issue 21): the marketplace's tree and attribute lists fetched
through its connector and cached, a suggestion for each unmapped store category (the marketplace's predictor where
it has one, text similarity otherwise), mappings saved with the audit log, and the products they concern marked
pending so that the worker sends them again (a product a check before sending stopped goes again by itself)."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ponte.connectors.base import CallFailed, Connector, MarketplaceAttribute, MarketplaceCategory
from ponte.connectors.capabilities import maps_catalog
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked, Deferred
from ponte.connectors.registry import InvalidConnectorSettings, get_connector_class
from ponte.domain import Flow
from ponte.domain.messages import Message, say
from ponte.engine import payloads
from ponte.engine.connectors import connector_for
from ponte.engine.mapping import AffiliateMapping, Requirement, requirements_from_cache, target_category
from ponte.engine.queue import mark_changed
from ponte.secrets import SecretBox
from ponte.services.errors import InputError
from ponte.settings import Settings
from ponte.store import mappings as stored
from ponte.store.affiliates import Affiliate
from ponte.store.audit import record
from ponte.store.catalog import skus_by_code
from ponte.store.db import Database

log = logging.getLogger(__name__)
SUGGESTIONS = "suggestions"


def can_map(affiliate: Affiliate) -> bool:
    """Whether the affiliate's connector reads its marketplace's tree (the mapping page is for it)."""
    try:
        return affiliate.kind == "marketplace" and maps_catalog(get_connector_class(affiliate.connector))
    except LookupError:
        return False


# -- fetching the marketplace's structure ------------------------------------------------------------------


@dataclass
class Fetched:
    """What one fetch came to: the counts read, or why it could not read (the cache stays as it was)."""

    categories: int = 0
    attributes: int = 0
    suggestions: int = 0
    error: Message | None = None  # Ponte's words, or the marketplace's verbatim (msg.verbatim)


def fetch_structure(
    db: Database, *, box: SecretBox, settings: Settings, affiliate: Affiliate, account_id: int
) -> Fetched:
    """Read the marketplace's tree, the attributes of the categories the store maps to (or would be sent to) and
    the predictor's suggestions for unmapped store categories, and cache them. Talks to the marketplace outside any
    transaction; writes the cache in one."""
    try:
        connector = connector_for(affiliate, db=db, box=box, settings=settings)
    except (LookupError, InvalidConnectorSettings):
        return Fetched(error=say("msg.affiliate.settings_invalid"))
    try:
        return _fetch(db, connector, affiliate, account_id)
    except Deferred as deferred:
        minutes = max(1, round(deferred.seconds / 60))
        return Fetched(error=say("msg.mapping.deferred", minutes=minutes))
    except (CredentialsMissing, CredentialsRevoked):
        return Fetched(error=say("msg.mapping.not_connected", affiliate=affiliate.code))
    except CallFailed as failed:
        return Fetched(error=failed.outcome.said or say("msg.verbatim", text=failed.outcome.message[:500]))
    except Exception as exc:  # a connector bug, or a marketplace down: the page says so, the cache stays
        log.warning("fetching the structure of affiliate %s failed: %r", affiliate.code, exc)
        return Fetched(error=say("msg.connector.failed", error=type(exc).__name__))
    finally:
        connector.close()


def _fetch(db: Database, connector: Connector, affiliate: Affiliate, account_id: int) -> Fetched:
    tree = connector.category_tree()
    leaves = {c.id: c for c in tree if c.leaf}
    with db.read() as conn:
        page = _targets(conn, account_id=account_id, affiliate=affiliate)
    targets = sorted({t for t in page.values() if t in leaves})
    attributes = connector.category_attributes(targets) if targets else {}
    suggestions: dict[str, list[str]] = {}
    with db.read() as conn:
        categories = stored.store_categories(conn, account_id=account_id)
        mapped = stored.category_mappings(conn, affiliate_ids=[affiliate.id], skus_wanted=[])
    for c in categories:
        if (affiliate.id, "category", c.category) in mapped or page.get(c.category) in leaves:
            continue
        predicted = [p for p in connector.predict_category(c.sample or c.category) if p.id in leaves]
        if predicted:
            suggestions[c.category] = [predicted[0].id, predicted[0].name]
    with db.write() as conn:
        save = {"account_id": account_id, "affiliate_id": affiliate.id}
        stored.save_taxonomy(conn, **save, key=stored.TREE, data=[_node(c) for c in tree])
        for category_id, listed in attributes.items():
            stored.save_taxonomy(
                conn, **save, key=stored.attributes_key(category_id), data=[_attribute(a) for a in listed]
            )
        stored.save_taxonomy(conn, **save, key=SUGGESTIONS, data=suggestions)
    return Fetched(len(tree), sum(len(a) for a in attributes.values()), len(suggestions))


def _node(c: MarketplaceCategory) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "parent": c.parent_id, "leaf": c.leaf, "path": " › ".join(c.path or (c.name,))}


def _attribute(a: MarketplaceAttribute) -> dict[str, Any]:
    found = asdict(a)
    found["values"] = [[v.id, v.name] for v in a.values]
    return found


def _targets(conn: Connection, *, account_id: int, affiliate: Affiliate) -> dict[str, str | None]:
    """Each store category's marketplace category (mapped, or as the connector would send it)."""
    mapping = affiliate_mapping(conn, affiliate)
    cls = get_connector_class(affiliate.connector)
    return {
        c.category: target_category("", c.category, mapping, cls, affiliate.settings)
        for c in stored.store_categories(conn, account_id=account_id)
    }


def affiliate_mapping(conn: Connection, affiliate: Affiliate, skus_wanted: list[str] | None = None) -> AffiliateMapping:
    """The affiliate's category mappings and SKU overrides (only `skus_wanted`'s when given)."""
    mapping = AffiliateMapping()
    found = stored.category_mappings(conn, affiliate_ids=[affiliate.id], skus_wanted=skus_wanted)
    for (_, scope, key), m in found.items():
        (mapping.skus if scope == "sku" else mapping.categories)[key] = m
    return mapping


# -- the category page --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    id: str
    name: str
    path: str


@dataclass
class CategoryRow:
    category: str
    skus: int
    sample: str
    target: str | None  # mapped, or what the connector would send
    mapped: bool
    valid: bool | None  # the target is a leaf of the cached tree (None: no tree yet)
    suggestion: Leaf | None
    suggested_by: str | None  # predictor | similarity


@dataclass
class CategoryPage:
    rows: list[CategoryRow]
    leaves: list[Leaf]
    fetched_at: datetime | None
    overrides: list[stored.CategoryMapping] = field(default_factory=list)


def _leaves(tree: stored.Cached | None) -> list[Leaf]:
    nodes = list(tree.data) if tree else []
    return [Leaf(str(n["id"]), str(n["name"]), str(n.get("path") or n["name"])) for n in nodes if n.get("leaf")]


def leaves_of(conn: Connection, *, affiliate: Affiliate) -> list[Leaf]:
    """The leaves of the affiliate's cached tree (what a SKU may be mapped to); empty before the first fetch."""
    return _leaves(
        stored.taxonomy(conn, affiliate_ids=[affiliate.id], keys=[stored.TREE]).get((affiliate.id, stored.TREE))
    )


def category_page(conn: Connection, *, account_id: int, affiliate: Affiliate) -> CategoryPage:
    cached = stored.taxonomy(conn, affiliate_ids=[affiliate.id], keys=[stored.TREE, SUGGESTIONS])
    tree = cached.get((affiliate.id, stored.TREE))
    leaves = _leaves(tree)
    by_id = {leaf.id: leaf for leaf in leaves}
    predicted = dict(cached[(affiliate.id, SUGGESTIONS)].data) if (affiliate.id, SUGGESTIONS) in cached else {}
    mapping = affiliate_mapping(conn, affiliate)
    cls = get_connector_class(affiliate.connector)
    rows = []
    for c in stored.store_categories(conn, account_id=account_id):
        target = target_category("", c.category, mapping, cls, affiliate.settings)
        valid = (target in by_id) if tree else None
        suggestion, by = None, None
        if not valid and leaves:
            guess = predicted.get(c.category)
            if guess and guess[0] in by_id:
                suggestion, by = by_id[guess[0]], "predictor"
            else:
                suggestion, by = similar(f"{c.category} {c.sample}", leaves), "similarity"
        rows.append(
            CategoryRow(c.category, c.skus, c.sample, target, c.category in mapping.categories, valid, suggestion, by)
        )
    rows.sort(key=lambda r: (r.valid is not False, r.category))  # the ones to fix first
    return CategoryPage(rows, leaves, tree.fetched_at if tree else None, list(mapping.skus.values()))


def _words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()
    return {w[:5] for w in re.findall(r"[a-z0-9]+", plain) if len(w) > 2}


def similar(text: str, leaves: Iterable[Leaf]) -> Leaf | None:
    """The leaf whose path shares the most words (their first five letters) with `text`; an id equal to a word wins."""
    words = _words(text)
    best, score = None, 0.0
    for leaf in leaves:
        if leaf.id.casefold() in text.casefold().split():
            return leaf
        theirs = _words(leaf.path)
        common = len(words & theirs)
        if common and common / len(words | theirs) > score:
            best, score = leaf, common / len(words | theirs)
    return best


# -- saving mappings ------------------------------------------------------------------------------------------


def leaf_name(conn: Connection, affiliate: Affiliate, target: str) -> str | None:
    """The target's name when it is a leaf of the cached tree; InputError when the tree is cached and it is not."""
    cached = stored.taxonomy(conn, affiliate_ids=[affiliate.id], keys=[stored.TREE]).get((affiliate.id, stored.TREE))
    if cached is None:
        return None
    for node in cached.data:
        if str(node["id"]) == target:
            if not node.get("leaf"):
                raise InputError(say("msg.mapping.not_leaf", target=target), field="target")
            return str(node.get("path") or node["name"])
    raise InputError(say("msg.mapping.unknown_category", target=target), field="target")


def map_category(
    conn: Connection,
    *,
    account_id: int,
    affiliate: Affiliate,
    store_category: str,
    target: str | None,
    actor: str,
    sku: str | None = None,
) -> int:
    """Map a store category (or, with `sku`, one SKU) to a marketplace leaf; an empty target removes the mapping.
    Marks the products concerned pending on this affiliate; returns how many."""
    target = (target or "").strip() or None
    if target and len(target) > 120:
        raise InputError(say("msg.mapping.id_too_long"), field="target")
    name = leaf_name(conn, affiliate, target) if target else None
    scope, key = ("sku", sku) if sku else ("category", store_category)
    if not key:
        raise InputError(say("msg.mapping.no_store_category"), field="category")
    stored.save_category_mapping(
        conn, account_id=account_id, affiliate_id=affiliate.id, scope=scope, key=key, target=target,
        target_name=name, actor=actor,
    )  # fmt: skip
    codes = [sku] if sku else stored.skus_with_categories(conn, account_id=account_id, categories=[store_category])
    record(
        conn, account_id=account_id, actor=actor, action="mapping.category",
        detail={"affiliate": affiliate.code, scope: key, "target": target, "skus": len(codes)},
    )  # fmt: skip
    return _requeue(conn, account_id, affiliate, codes, actor)


def _requeue(conn: Connection, account_id: int, affiliate: Affiliate, codes: list[str], actor: str) -> int:
    return mark_changed(
        conn, account_id=account_id, flow=Flow.PRODUCT.value, keys=[(affiliate.id, c) for c in codes], actor=actor
    )


def target_of(conn: Connection, *, account_id: int, affiliate: Affiliate, sku: str) -> str | None:
    """The marketplace category this SKU goes to on the affiliate."""
    row = skus_by_code(conn, account_id, [sku]).get(sku)
    if row is None:
        return None
    cls = get_connector_class(affiliate.connector)
    return target_category(sku, row.category, affiliate_mapping(conn, affiliate), cls, affiliate.settings)


def skus_in_target(conn: Connection, *, account_id: int, affiliate: Affiliate, target: str) -> list[str]:
    """The SKUs that go to the marketplace category `target` on this affiliate."""
    categories = [c for c, t in _targets(conn, account_id=account_id, affiliate=affiliate).items() if t == target]
    mapping = affiliate_mapping(conn, affiliate)
    own = {code for code, m in mapping.skus.items() if m.target == target}
    moved = set(mapping.skus) - own
    found = [
        c for c in stored.skus_with_categories(conn, account_id=account_id, categories=categories) if c not in moved
    ]
    return sorted({*found, *own})


# -- attributes -------------------------------------------------------------------------------------------------


@dataclass
class AttributeRow:
    requirement: Requirement
    rule: stored.AttributeMapping | None
    missing: int = 0  # SKUs of the category that would be sent without it


@dataclass
class AttributePage:
    category: str
    rows: list[AttributeRow]
    store_attributes: list[str]
    store_values: dict[str, list[str]]  # store attribute → the values the store's SKUs of this category have
    skus: int
    cached: bool


def attribute_page(conn: Connection, *, account_id: int, affiliate: Affiliate, category: str) -> AttributePage:
    key = stored.attributes_key(category)
    cached = stored.taxonomy(conn, affiliate_ids=[affiliate.id], keys=[key]).get((affiliate.id, key))
    requirements = requirements_from_cache(cached.data) if cached else []
    rules = {
        r.attribute: r
        for r in stored.attribute_mappings_of(conn, affiliate_ids=[affiliate.id], categories=[category]).get(
            (affiliate.id, category), []
        )
    }
    codes = skus_in_target(conn, account_id=account_id, affiliate=affiliate, target=category)
    missing = _missing(conn, account_id, affiliate, codes[:MISSING_SAMPLE], requirements)
    rows = sorted(
        (AttributeRow(r, rules.get(r.id), missing.get(r.id, 0)) for r in requirements),
        key=lambda row: (not row.requirement.required, not row.missing, row.requirement.name),
    )
    values: dict[str, set[str]] = {}
    for attributes in stored.attributes_of(conn, account_id=account_id, skus=codes):
        for name, value in attributes.items():
            values.setdefault(name, set()).add(str(value))
    return AttributePage(
        category,
        rows,
        sorted(values),
        {name: sorted(v)[:50] for name, v in values.items()},
        len(codes),
        cached is not None,
    )


MISSING_SAMPLE = 2000  # SKUs looked at to count what each attribute lacks (a large category's first ones)


def _missing(
    conn: Connection, account_id: int, affiliate: Affiliate, codes: list[str], requirements: list[Requirement]
) -> dict[str, int]:
    """How many of these SKUs would be sent without each attribute (after the mapping)."""
    cls = get_connector_class(affiliate.connector)
    catalog = payloads.Catalog(conn, [(account_id, affiliate.id, code) for code in codes])
    counts: dict[str, int] = {}
    for code in codes:
        try:
            send = catalog.product(affiliate, code)
        except payloads.EntityGone:
            continue
        sent = {k.casefold() for k, v in cls.sent_attributes(send, affiliate.settings).items() if v}
        for r in requirements:
            if r.id.casefold() not in sent:
                counts[r.id] = counts.get(r.id, 0) + 1
    return counts


def map_attribute(
    conn: Connection,
    *,
    account_id: int,
    affiliate: Affiliate,
    category: str,
    attribute: str,
    source: str,
    store_attribute: str | None,
    value: str | None,
    value_map: Mapping[str, str],
    actor: str,
) -> int:
    """Say how a marketplace attribute is filled (source "store", "fixed", or "" to stop filling it); values must be
    among the attribute's allowed ones where the marketplace lists them. Marks the category's products pending."""
    page = attribute_page(conn, account_id=account_id, affiliate=affiliate, category=category)
    found = next((r.requirement for r in page.rows if r.requirement.id == attribute), None)
    if found is None:
        raise InputError(
            say("msg.mapping.unknown_attribute", attribute=attribute, category=category), field="attribute"
        )
    allowed = {v.casefold(): v for v in found.values}
    cleaned = {k.strip()[:500]: v.strip()[:500] for k, v in value_map.items() if k.strip() and v.strip()}
    if source == "fixed":
        given = (value or "").strip()[:500]
        if not given:
            raise InputError(say("msg.mapping.fixed_value"), field="value")
        value = _allowed(allowed, given, found)
    elif source == "store":
        if not store_attribute:
            raise InputError(say("msg.mapping.store_attribute"), field="store_attribute")
        cleaned = {k: _allowed(allowed, v, found) for k, v in cleaned.items()}
    elif source:
        raise InputError(say("msg.input.one_of", field="source", choices="store, fixed"), field="source")
    rule = stored.AttributeMapping(
        affiliate.id, category, attribute, source or "store", (store_attribute or "")[:100] or None, value, cleaned
    )
    stored.save_attribute_mapping(conn, account_id=account_id, mapping=rule, actor=actor, remove=not source)
    record(
        conn, account_id=account_id, actor=actor, action="mapping.attribute",
        detail={"affiliate": affiliate.code, "category": category, "attribute": attribute, "source": source or None,
                "store_attribute": store_attribute, "value": value, "value_map": cleaned},
    )  # fmt: skip
    return _requeue(conn, account_id, affiliate, skus_in_target(conn, account_id=account_id, affiliate=affiliate,
                                                                 target=category), actor)  # fmt: skip


def _allowed(allowed: dict[str, str], value: str, found: Requirement) -> str:
    if not allowed:
        return value
    if value.casefold() not in allowed:
        said = say(
            "msg.mapping.value_not_allowed", value=value, attribute=found.id, allowed=", ".join(found.values[:20])
        )
        raise InputError(said, field="value")
    return allowed[value.casefold()]
