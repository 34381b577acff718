"""Ponte's tables, in SQLAlchemy Core. Every tenant table carries account_id so it can be sharded by account."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids on PostgreSQL; SQLite only auto-increments a plain INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(14, 2)


class UTCDateTime(TypeDecorator[datetime]):
    """Times are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use ponte.clock.now()")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


When = UTCDateTime()


def _id() -> Column:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _account() -> Column:
    return Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)


accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", When, nullable=False),
)

users = Table(
    "users",
    metadata,
    _id(),
    _account(),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("locale", String(8), nullable=False, server_default="pt-BR"),
    Column("created_at", When, nullable=False),
)

# A signed-in browser: the cookie holds a random token, the row its SHA-256, so that logout ends it on the server.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", When, nullable=False),
    Column("expires_at", When, nullable=False),
    Index("ix_web_sessions_expires", "expires_at"),
)

# Failed logins by "email:<address>" and "ip:<client address>", shared by every web process (throttling).
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_at", When, nullable=False),
    Column("locked_until", When),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    _account(),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("created_at", When, nullable=False),
    Column("last_used_at", When),
    Column("revoked_at", When),
)

affiliates = Table(
    "affiliates",
    metadata,
    _id(),
    _account(),
    Column("code", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False, server_default="marketplace"),  # marketplace | erp
    Column("connector", String(64), nullable=False),
    # Whose error vocabulary it speaks (the knowledge base's "connector"), as its connector says when it is saved:
    # "mercadolivre", or the operator behind a Mirakl affiliate ("carrefour").
    Column("marketplace", String(64), nullable=False),
    Column("settings", JSON, nullable=False),  # not secret: URLs, options
    Column("secrets", Text),  # Fernet token of a JSON object; never shown back
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    # Minimum-availability rule: send stock only when it crosses this line (None = always send).
    Column("min_availability", Integer),
    # Price-divergence rule for imported orders: tolerance in percent and what to do beyond it.
    Column("price_tolerance_pct", Numeric(5, 2), nullable=False, server_default="0"),
    Column("price_divergence_action", String(16), nullable=False, server_default="deny"),
    Column("created_at", When, nullable=False),
    Column("updated_at", When, nullable=False),
    UniqueConstraint("account_id", "code"),
)

skus = Table(
    "skus",
    metadata,
    _id(),
    _account(),
    Column("sku", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("brand", String(120)),
    Column("category", String(120)),
    Column("ean", String(14)),
    Column("description", Text),
    Column("attributes", JSON, nullable=False),
    Column("images", JSON, nullable=False),
    Column("weight_g", Integer),
    Column("height_cm", Numeric(8, 2)),
    Column("width_cm", Numeric(8, 2)),
    Column("length_cm", Numeric(8, 2)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("list_price", Money),
    Column("price", Money),
    Column("handling_days", Integer, nullable=False, server_default="1"),
    Column("created_at", When, nullable=False),
    Column("updated_at", When, nullable=False),
    UniqueConstraint("account_id", "sku"),
)

stock = Table(
    "stock",
    metadata,
    _account(),
    Column("sku_id", Id, ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True),
    Column("warehouse", String(64), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("updated_at", When, nullable=False),
)

shipping_rules = Table(
    "shipping_rules",
    metadata,
    _id(),
    _account(),
    Column("sla", String(64), nullable=False),
    Column("postal_from", String(8), nullable=False),
    Column("postal_to", String(8), nullable=False),
    Column("max_weight_g", Integer, nullable=False),
    Column("days", Integer, nullable=False),
    Column("price", Money, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    _id(),
    _account(),
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), nullable=False),
    Column("external_id", String(64), nullable=False),  # the marketplace's order id
    Column("status", String(16), nullable=False),  # received | placed | invoiced | cancelled | refused
    Column("buyer", JSON, nullable=False),
    Column("items", JSON, nullable=False),  # [{sku, quantity, price, ref?}]: the lines placed (ref: the marketplace's)
    Column("total", Money, nullable=False),
    Column("shipping_total", Money, nullable=False, server_default="0"),
    Column("postal_code", String(8), nullable=False),
    Column("sla", String(64)),
    Column("invoice_key", String(44)),
    Column("carrier", String(64)),
    Column("tracking_number", String(64)),
    Column("invoice_xml", Text),  # the NF-e XML, where the store gives it (Mercado Livre wants the file)
    # The marketplace's own facts about the order that its connector needs later (shipment id, pack, logistics
    # mode): given back to the connector for tracking, never read by the engine.
    Column("marketplace_data", JSON),
    Column("received_at", When, nullable=False),
    Column("placed_at", When),
    Column("updated_at", When, nullable=False),
    UniqueConstraint("account_id", "affiliate_id", "external_id"),
)

integrations = Table(
    "integrations",
    metadata,
    _id(),
    _account(),
    Column("flow", String(16), nullable=False),
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), nullable=False),
    Column("entity", String(64), nullable=False),  # SKU code or order id
    Column("status", String(16), nullable=False),
    # The queue: a pending row is due at due_at; a claimed one is leased until lease_until.
    Column("due_at", When),
    Column("lease_owner", String(64)),
    Column("lease_until", When),
    # change_seq grows with every change; claimed_seq is what the running attempt saw, so a change
    # that lands while it runs leaves the row pending instead of being lost.
    Column("change_seq", Integer, nullable=False, server_default="0"),
    Column("claimed_seq", Integer, nullable=False, server_default="0"),
    Column("retry_count", Integer, nullable=False, server_default="0"),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    Column("next_trigger", String(16)),
    Column("next_actor", String(254)),
    Column("next_reason", String(500)),
    Column("message", Text),  # in English when the message is Ponte's own (then message_key says which)
    Column("message_key", String(80)),  # Ponte's own message: its catalog key (ponte/locales), shown in each language
    Column("message_params", Text),  # … and its parameters, as JSON text
    Column("code", String(120)),
    Column("category", String(40)),
    Column("disposition", String(16)),
    Column("cause", String(200)),  # the error message normalised (ids, numbers stripped): groups errors by cause
    # What a word search looks in: the message folded and stemmed in three languages, with the category's names
    # (ponte.knowledge.wordsearch); written with the message. Trigram-indexed on both databases (migration 0018).
    Column("search_text", Text),
    Column("external_ref", String(120)),  # the marketplace's id for this entity, once known
    Column("last_sent", JSON),  # what the last successful attempt sent (e.g. stock, for min availability)
    Column("processed_at", When),
    Column("created_at", When, nullable=False),
    UniqueConstraint("account_id", "flow", "affiliate_id", "entity"),
    Index("ix_integrations_queue", "status", "due_at"),
    Index("ix_integrations_list", "account_id", "flow", "status", "processed_at", "id"),
    Index("ix_integrations_affiliate_list", "account_id", "flow", "affiliate_id", "status", "processed_at"),
    Index("ix_integrations_cause", "account_id", "status", "category", "cause", "processed_at"),
)

# Exact integration counts per (account, flow, affiliate, status), kept by database triggers, so that tab
# badges never count millions of rows. SQLite's triggers update status_counts directly (one writer at a
# time); PostgreSQL's append deltas instead — many workers never queue on one hot counter row nor
# deadlock — and `fold_status_deltas` moves them into status_counts now and then.
status_counts = Table(
    "status_counts",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("flow", String(16), primary_key=True),
    Column("affiliate_id", Id, primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

status_count_deltas = Table(
    "status_count_deltas",
    metadata,
    _id(),
    Column("account_id", Id, nullable=False),
    Column("flow", String(16), nullable=False),
    Column("affiliate_id", Id, nullable=False),
    Column("status", String(16), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Index("ix_status_count_deltas_account", "account_id"),
)

# Errors per cause, kept like the status counts (migration 0006): the causes view reads these, not the rows.
# category and cause are '' where the row has none.
cause_counts = Table(
    "cause_counts",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("flow", String(16), primary_key=True),
    Column("affiliate_id", Id, primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("cause", String(200), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

cause_count_deltas = Table(
    "cause_count_deltas",
    metadata,
    _id(),
    Column("account_id", Id, nullable=False),
    Column("flow", String(16), nullable=False),
    Column("affiliate_id", Id, nullable=False),
    Column("category", String(40), nullable=False),
    Column("cause", String(200), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Index("ix_cause_count_deltas_account", "account_id"),
)

attempts = Table(
    "attempts",
    metadata,
    _id(),
    _account(),
    Column("integration_id", Id, ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("actor", String(254)),
    Column("reason", String(500)),
    Column("system", String(200), nullable=False),  # who received it: affiliate code, ERP name
    Column("status", String(16), nullable=False),
    Column("message", Text),
    Column("message_key", String(80)),  # as on integrations
    Column("message_params", Text),
    Column("code", String(120)),
    Column("category", String(40)),
    Column("disposition", String(16)),
    Column("http_status", Integer),
    Column("started_at", When, nullable=False),
    Column("duration_ms", Integer, nullable=False, server_default="0"),
    Column("external_key", String(200)),
    Index("ix_attempts_integration", "integration_id", "id"),
    Index("ix_attempts_account_started", "account_id", "started_at"),
)

# Request and response bodies are kept apart: they are big and read only when a row is expanded.
# On PostgreSQL both attempt tables are partitioned by month of started_at (migration 0003).
attempt_bodies = Table(
    "attempt_bodies",
    metadata,
    # No foreign key: on PostgreSQL both tables are partitioned by month and dropped together.
    Column("attempt_id", Id, primary_key=True),
    Column("started_at", When),
    Column("request", Text),
    Column("response", Text),
)

# Idempotency keys of external attempt batches, so that a retried batch is recorded once.
external_batches = Table(
    "external_batches",
    metadata,
    _account(),
    Column("idempotency_key", String(200), primary_key=True),
    Column("result", JSON, nullable=False),
    Column("created_at", When, nullable=False),
)

# Per-account classification rules added from the UI/API (message pattern -> category).
error_rules = Table(
    "error_rules",
    metadata,
    _id(),
    _account(),
    Column("pattern", String(500), nullable=False),
    Column("category", String(40), nullable=False),
    Column("connector", String(64)),
    Column("flow", String(16)),
    Column("created_by", String(254)),
    Column("created_at", When, nullable=False),
)

# What an operator taught the knowledge base: a message Ponte had put in one category, and the category the
# account's rule moved it to. Exported as labelled examples (`ponte knowledge export-corrections`).
knowledge_corrections = Table(
    "knowledge_corrections",
    metadata,
    _id(),
    _account(),
    # "" rather than NULL where there is none, so that the unique key below holds for them too.
    Column("marketplace", String(64), nullable=False),
    Column("flow", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("code", String(200), nullable=False),
    Column("category", String(40), nullable=False),
    Column("disposition", String(16)),
    Column("previous_category", String(40)),
    Column("rule_id", Id),
    Column("created_by", String(254)),
    Column("created_at", When, nullable=False),
    Column("message_key", String(64), nullable=False),  # sha256 of the message; Text cannot be in a key
    # One row per distinct message and answer: re-running a rule does not pile up copies.
    UniqueConstraint(
        "account_id", "marketplace", "flow", "code", "message_key", "category", name="uq_knowledge_corrections_example"
    ),
    Index("ix_knowledge_corrections_account", "account_id", "id"),
)

# Webhook signatures already seen, so a replayed delivery is refused.
webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    Column("delivery_id", String(128), primary_key=True),
    Column("received_at", When, nullable=False),
)

# Order-feed position per affiliate, so polling resumes where it stopped.
feed_cursors = Table(
    "feed_cursors",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    Column("cursor", String(200)),
    Column("polled_at", When),
)

# The catalog an ERP (Bling) gives the store: each ERP affiliate's read — its cursor and claim (as feed_cursors), a
# first import's progress and the products it could not take (each {"sku", "reason": a message}, the latest first).
erp_catalogs = Table(
    "erp_catalogs",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    _account(),
    Column("cursor", String(400)),
    Column("polled_at", When),
    Column("importing", Boolean, nullable=False, server_default=text("false")),
    Column("total", Integer),
    Column("read_count", Integer, nullable=False, server_default="0"),
    Column("taken_count", Integer, nullable=False, server_default="0"),
    Column("rejected", JSON, nullable=False),
    Column("started_at", When),
    Column("finished_at", When),
    Column("last_error", Text),
)

# Per SKU, the values an ERP last gave (Ponte's field names) and its id there: a field whose value in Ponte is no
# longer this one was changed in Ponte; one whose new value from the ERP differs was changed in the ERP.
erp_products = Table(
    "erp_products",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    Column("sku", String(64), primary_key=True),
    _account(),
    Column("reference", String(40), nullable=False),
    Column("data", JSON, nullable=False),
    Column("read_at", When, nullable=False),
    Index("ix_erp_products_reference", "affiliate_id", "reference"),
)

# -- the connector platform (issue 17) ---------------------------------------------------------------

# One row of OAuth tokens per affiliate, shared by every web and worker process: the access token is used until
# it expires, and a refresh (single-use refresh tokens) runs under this row's lock, so that exactly one process
# refreshes and the others read its result. `version` moves with every new pair.
credentials = Table(
    "credentials",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    _account(),
    Column("connector", String(64), nullable=False),
    Column("subject", String(120)),  # the marketplace's id of the seller (routes its notifications)
    Column("identity", JSON),  # what the marketplace says about the seller: nickname, tags…
    Column("sealed", Text),  # Fernet token of {"access_token", "refresh_token"}; never shown
    Column("expires_at", When),  # when the access token stops working
    Column("status", String(16), nullable=False),  # active | revoked
    Column("problem", Text),  # why it was revoked, in the marketplace's words
    Column("version", Integer, nullable=False, server_default="0"),
    Column("refreshed_at", When),
    Column("updated_at", When, nullable=False),
    Index("ix_credentials_subject", "connector", "subject"),
)

# An authorisation under way: the `state` sent to the marketplace's consent page, checked at the callback.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(64), primary_key=True),
    _account(),
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), nullable=False),
    Column("actor", String(254), nullable=False),
    Column("sealed_verifier", Text),  # PKCE code_verifier, encrypted
    Column("redirect_uri", String(500), nullable=False),
    Column("created_at", When, nullable=False),
    Column("expires_at", When, nullable=False),
)

# Token buckets shared by every worker on every machine: one row per (scope, operation) a connector declares a
# rate for. `paused_until` is set from a 429's Retry-After, and every worker honours it.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("tokens", Numeric(16, 6), nullable=False),
    Column("updated_at", When, nullable=False),
    Column("paused_until", When),
)

# The marketplace's id of each listing (Mercado Livre item id, ASIN, Mirakl offer id), given to every send.
listings = Table(
    "listings",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    Column("sku", String(64), primary_key=True),
    _account(),
    Column("listing_id", String(120), nullable=False),
    Column("data", JSON),  # the connector's other ids and facts (user product id, status, listing type…)
    Column("updated_at", When, nullable=False),
    # When a reconciliation pass last read the listing back from the marketplace: what a complete pass did not see
    # (checked before it started) is missing there.
    Column("checked_at", When),
    Index("ix_listings_listing", "affiliate_id", "listing_id"),
)

# -- catalog mapping (issue 21) ------------------------------------------------------------------------

# What the store's categories are on each marketplace: a store category's mapping (scope "category", key the
# store's category) or one SKU's own (scope "sku", key the SKU code), which wins over its category's.
category_mappings = Table(
    "category_mappings",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String(8), primary_key=True),
    Column("key", String(120), primary_key=True),
    _account(),
    Column("target", String(120), nullable=False),  # the marketplace's category id
    Column("target_name", String(300)),
    Column("updated_by", String(254)),
    Column("updated_at", When, nullable=False),
)

# How one of a marketplace category's attributes is filled: from a store attribute (its values mapped through
# `value_map` where given) or a fixed value.
attribute_mappings = Table(
    "attribute_mappings",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(120), primary_key=True),  # the marketplace's category id
    Column("attribute", String(100), primary_key=True),  # the marketplace's attribute id
    _account(),
    Column("source", String(8), nullable=False),  # store | fixed
    Column("store_attribute", String(100)),
    Column("value", String(500)),
    Column("value_map", JSON, nullable=False),  # store value -> marketplace value
    Column("updated_by", String(254)),
    Column("updated_at", When, nullable=False),
)

# The marketplace's own tree and attribute lists, as its connector last fetched them: key "tree" or
# "attributes:<category id>". Checks before sending read only this, never the marketplace.
marketplace_taxonomy = Table(
    "marketplace_taxonomy",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(140), primary_key=True),
    _account(),
    Column("data", JSON, nullable=False),
    Column("fetched_at", When, nullable=False),
)

# Work the marketplace accepted and judges later (a feed, an import): polled until it resolves, then each item's
# result lands on its integration as an attempt.
submissions = Table(
    "submissions",
    metadata,
    _id(),
    _account(),
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), nullable=False),
    Column("flow", String(16), nullable=False),
    Column("operation", String(64), nullable=False),  # the connector's name for it: feed, offers, products
    Column("external_id", String(200), nullable=False),  # the marketplace's submission id
    Column("status", String(16), nullable=False),  # open | done | failed
    Column("items", JSON, nullable=False),  # [{integration_id, entity, seq, ref}]
    Column("detail", JSON),  # the connector's own state between polls
    Column("polls", Integer, nullable=False, server_default="0"),
    Column("next_poll_at", When),
    Column("lease_owner", String(64)),
    Column("lease_until", When),
    Column("created_at", When, nullable=False),
    Column("finished_at", When),
    Index("ix_submissions_due", "status", "next_poll_at"),
    Index("ix_submissions_affiliate", "account_id", "affiliate_id", "created_at"),
)

# Notifications marketplaces push (Mercado Livre's orders_v2…): kept at once, answered fast, processed by a
# worker. Nothing in the body is trusted but the ids: the resource is fetched with the seller's token. A
# resource notified again while it waits is one row.
notifications = Table(
    "notifications",
    metadata,
    _id(),
    Column("connector", String(64), nullable=False),
    Column("subject", String(120), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("resource", String(500), nullable=False),
    Column("status", String(16), nullable=False),  # new | done | failed | ignored
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("received_at", When, nullable=False),
    Column("due_at", When),
    Column("lease_until", When),
    Column("processed_at", When),
    Column("error", Text),
    UniqueConstraint("connector", "subject", "topic", "resource"),
    Index("ix_notifications_due", "status", "due_at"),
)

# When each periodic job shared by all workers last ran (alert evaluation): a worker claims a run by moving it.
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("ran_at", When, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    _account(),
    Column("actor", String(254), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("created_at", When, nullable=False),
    Index("ix_audit_log_account", "account_id", "id"),
)

# -- reconciliation (issue 25) ---------------------------------------------------------------------------

# Each account's reconciliation settings: how often a full pass reads every listing back, how often a focused
# pass reads the recently sent and low-stock ones, and per drift kind whether Ponte repairs or only reports it.
reconcile_settings = Table(
    "reconcile_settings",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("full_every_hours", Integer, nullable=False, server_default="24"),
    Column("focused_every_minutes", Integer, nullable=False, server_default="60"),
    Column("low_stock", Integer, nullable=False, server_default="5"),
    Column("actions", JSON, nullable=False),  # drift kind → "repair" | "report"
    Column("updated_at", When, nullable=False),
)

# One affiliate's reconciliation: the pass under way (mode, where to resume, when) and when the last ones ended. A
# worker holds it with a lease while it reads a slice of the pass.
reconcile_passes = Table(
    "reconcile_passes",
    metadata,
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), primary_key=True),
    _account(),
    Column("mode", String(8)),  # full | focused: the pass under way; None: none
    Column("cursor", Text),
    Column("since", When),  # a focused pass: changes since then
    Column("listing_ids", JSON),  # a focused pass: the listings to read
    Column("started_at", When),
    Column("due_at", When),
    Column("read_count", Integer, nullable=False, server_default="0"),
    Column("found_count", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(64)),
    Column("lease_until", When),
    Column("last_full_at", When),
    Column("last_focused_at", When),
    Column("last_error", Text),
)

# A difference between what the marketplace holds and what the store says (a drift), one row per listing and
# kind: found again it is refreshed, gone it is resolved. Values are kept as text as the screens show them.
drifts = Table(
    "drifts",
    metadata,
    _id(),
    _account(),
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE"), nullable=False),
    Column("listing_id", String(120), nullable=False),
    Column("sku", String(64)),
    Column("kind", String(16), nullable=False),  # stock_higher | stock_lower | price | status | missing | unknown
    Column("status", String(16), nullable=False),  # open | repairing | resolved
    Column("store_value", String(64)),
    Column("sent_value", String(64)),
    Column("held_value", String(64)),
    Column("cause", String(200)),
    Column("found_at", When, nullable=False),
    Column("seen_at", When, nullable=False),
    Column("repaired_at", When),
    Column("resolved_at", When),
    UniqueConstraint("affiliate_id", "listing_id", "kind"),
    Index("ix_drifts_account", "account_id", "affiliate_id", "status", "kind"),
    Index("ix_drifts_sku", "account_id", "sku"),
)

# -- alerts (issue 8) --------------------------------------------------------------------------------

# One rule per row: `kind` says which columns matter (see ponte.alerts.rules). Built-in rules (the defaults
# every account gets) can be changed or switched off but not deleted, so "no rules" means "never seeded".
alert_rules = Table(
    "alert_rules",
    metadata,
    _id(),
    _account(),
    Column("kind", String(24), nullable=False),  # error_rate | quiet_orders | pending_age | credentials
    Column("flow", String(16)),  # None: every flow
    Column("affiliate_id", Id, ForeignKey("affiliates.id", ondelete="CASCADE")),  # None: every affiliate
    Column("threshold", Numeric(8, 2)),  # error_rate: percent; quiet_orders: how many times the usual gap
    Column("window_minutes", Integer),  # error_rate: window; pending_age: max age; quiet_orders: floor
    Column("min_count", Integer),  # error_rate: attempts needed before a rate means anything
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("builtin", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", When, nullable=False),
    Column("updated_at", When, nullable=False),
    Index("ix_alert_rules_account", "account_id"),
)

alert_channels = Table(
    "alert_channels",
    metadata,
    _id(),
    _account(),
    Column("kind", String(16), nullable=False),  # email | webhook
    Column("name", String(100), nullable=False),
    Column("settings", JSON, nullable=False),  # not secret: SMTP host, port, from, to
    Column("secrets", Text),  # Fernet token: SMTP password, webhook URL
    Column("locale", String(8), nullable=False, server_default="pt-BR"),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", When, nullable=False),
    Index("ix_alert_channels_account", "account_id"),
)

# An incident is one condition of one rule (a flow × affiliate, an affiliate...) from when it fires until it
# clears: what is notified, throttled and resolved, however many failures it covers.
alert_incidents = Table(
    "alert_incidents",
    metadata,
    _id(),
    _account(),
    Column("rule_id", Id, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(120), nullable=False),  # rule id + subject: the same condition finds its incident
    Column("kind", String(24), nullable=False),
    Column("flow", String(16)),
    Column("affiliate_id", Id),
    Column("status", String(16), nullable=False),  # open | resolved
    Column("facts", JSON, nullable=False),  # the numbers now (rate, counts, gap…)
    Column("notified_facts", JSON),  # the numbers in the last message: the digest says what changed
    Column("opened_at", When, nullable=False),
    Column("last_seen_at", When, nullable=False),
    Column("notified_at", When),
    Column("resolved_at", When),
    Index("ix_alert_incidents_account_status", "account_id", "status", "key"),
    Index("ix_alert_incidents_account_opened", "account_id", "opened_at"),
)

# Messages to send and sent (an outbox): written with the incident's change, delivered after the commit.
alert_messages = Table(
    "alert_messages",
    metadata,
    _id(),
    _account(),
    Column("incident_id", Id, ForeignKey("alert_incidents.id", ondelete="CASCADE"), nullable=False),
    Column("channel_id", Id, ForeignKey("alert_channels.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(16), nullable=False),  # opened | update | resolved
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # queued | sent | failed
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("error", String(500)),  # why it was not delivered, in English (error_key: Ponte's message, as on attempts)
    Column("error_key", String(80)),
    Column("error_params", Text),
    Column("created_at", When, nullable=False),
    Column("sent_at", When),
    Column("claimed_at", When),  # when a deliverer took it (status sending): given back if it never finished
    Index("ix_alert_messages_status", "status", "id"),
    Index("ix_alert_messages_incident", "incident_id"),
)

# The quiet-orders rule reads each affiliate's recent order times.
Index("ix_orders_affiliate_received", orders.c.account_id, orders.c.affiliate_id, orders.c.received_at)

# Keyset order (processed_at DESC, id) without a status filter: flow tabs, the account-wide list, exports.
Index("ix_integrations_account_recent", integrations.c.account_id, integrations.c.processed_at, integrations.c.id)
Index(
    "ix_integrations_flow_recent",
    integrations.c.account_id,
    integrations.c.flow,
    integrations.c.processed_at,
    integrations.c.id,
)
# Lookups by entity. On PostgreSQL one index serves both equality and the id/SKU prefix search (LIKE 'x%'),
# whatever the database's collation; SQLite cannot use such an index and keeps a plain one (migration 0007).
Index("ix_integrations_entity", integrations.c.account_id, integrations.c.entity).ddl_if(dialect="sqlite")
Index(
    "ix_integrations_entity_prefix",
    integrations.c.account_id,
    integrations.c.entity,
    postgresql_ops={"entity": "varchar_pattern_ops"},
).ddl_if(dialect="postgresql")
