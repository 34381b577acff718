"""The connector interface. A connector turns one flow's send into HTTP calls and the answer into an Outcome.

Retry policy, attempt logging, rate limits across workers, credentials shared by every process and the
polling of work judged later live outside connectors, in the engine; a connector only says what happened,
as precisely as it can, and declares what it needs (its rates, its batches, its OAuth endpoints).

What a connector receives is typed (`ProductSend`, `PriceSend`…), built by the engine from the store's
current data; what it gives back is an `Outcome`, a `Submission` to poll, or `FetchedOrders`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from ponte.domain import Disposition, Status
from ponte.domain.messages import Message, SaidError, say
from ponte.i18n import english

if TYPE_CHECKING:
    from ponte.connectors.context import ConnectorContext
    from ponte.sandbox.emulation import Emulation


@dataclass
class Outcome:
    """What one call to a marketplace or ERP came to.

    `category` and `disposition` are the connector's own reading of an error when it is sure of it
    (a documented error code); otherwise leave them None and the knowledge base classifies `message`.
    `transient` is a hint for errors the connector knows are temporary (timeouts, 5xx, 429).
    The message is the marketplace's own text, verbatim, or Ponte's own words as a `Message` (a catalog key and
    its parameters): then `said` keeps it, shown in each reader's language, and `message` its English text.
    """

    status: Status
    message: str = ""
    code: str | None = None
    category: str | None = None
    disposition: Disposition | None = None
    transient: bool = False
    retry_after: float | None = None  # seconds, from a Retry-After header
    http_status: int | None = None
    request: Any = None
    response: Any = None
    external_ref: str | None = None  # the marketplace's id for the entity, when it gives one
    listing: Listing | None = None  # the listing a product send created, found or changed
    lines: tuple[LineDecision, ...] = ()  # an order's placement: each line accepted or refused (acknowledge_order)
    said: Message | None = None  # Ponte's own words, when `message` is their English text

    @classmethod
    def of(cls, status: Status, message: str | Message, **kwargs: Any) -> Outcome:
        if isinstance(message, Message):
            return cls(status, english(message), said=message, **kwargs)
        return cls(status, message, **kwargs)

    @classmethod
    def ok(cls, message: str | Message = "", **kwargs: Any) -> Outcome:
        return cls.of(Status.SUCCESS, message, **kwargs)

    @classmethod
    def warning(cls, message: str | Message, **kwargs: Any) -> Outcome:
        return cls.of(Status.WARNING, message, **kwargs)

    @classmethod
    def error(cls, message: str | Message, **kwargs: Any) -> Outcome:
        return cls.of(Status.ERROR, message, **kwargs)

    @classmethod
    def pending(cls, message: str | Message, **kwargs: Any) -> Outcome:
        """Accepted by the marketplace, judged later (a feed or an import): the item's result comes by polling."""
        return cls.of(Status.PENDING, message, **kwargs)

    def say(self, message: Message) -> None:
        """Replace the message with Ponte's own words."""
        self.message, self.said = english(message), message

    @property
    def words(self) -> Message:
        """The message as a parameter of another message: Ponte's own words, or the marketplace's verbatim."""
        return self.said or Message("msg.verbatim", {"text": self.message})


@dataclass(frozen=True)
class LineDecision:
    """What placing a marketplace order decided about one of its lines: accepted, or refused and why (Ponte's
    words: "SKU X out of stock: 2 ordered, 0 available"). `ref` is the marketplace's id of the line, as its
    connector read it with the order (Mirakl's order_line_id)."""

    sku: str
    quantity: int
    accepted: bool
    ref: str | None = None
    reason: str = ""
    category: str | None = None


# -- what the engine hands a connector ---------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """The marketplace's id of one SKU's listing, and the connector's other facts about it."""

    listing_id: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductSend:
    """A SKU's catalog data as the store holds it now, with its price and stock (a new listing needs both)."""

    sku: str
    name: str
    brand: str | None
    category: str | None  # the store's category
    ean: str | None
    description: str | None
    attributes: Mapping[str, str]
    images: tuple[str, ...]
    weight_g: int | None
    height_cm: Decimal | None
    width_cm: Decimal | None
    length_cm: Decimal | None
    active: bool
    price: Decimal | None
    list_price: Decimal | None
    quantity: int
    listing: Listing | None = None  # None: not listed yet (as far as Ponte knows)
    marketplace_category: str | None = None  # the store category mapped to the marketplace's, where mapped


@dataclass(frozen=True)
class PriceSend:
    """A SKU's price. `quantity` and `handling_days` are its offer's other half, for marketplaces whose offer
    update replaces every field (Mirakl's OF24 sets a quantity not sent to 0): None when not known."""

    sku: str
    price: Decimal | None
    list_price: Decimal | None
    listing: Listing | None = None
    quantity: int | None = None  # what a stock send would offer now (after the minimum-availability rule)
    handling_days: int | None = None


@dataclass(frozen=True)
class StockSend:
    """A SKU's stock. `price` and `list_price` are its offer's other half (see PriceSend)."""

    sku: str
    quantity: int  # what the marketplace should offer (after the minimum-availability rule)
    handling_days: int
    listing: Listing | None = None
    warehouses: Mapping[str, int] = field(default_factory=dict)  # available per warehouse, for multi-origin sellers
    price: Decimal | None = None
    list_price: Decimal | None = None


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class TrackingSend:
    """An order's invoice and shipment, to tell its marketplace."""

    order_id: str
    invoice_key: str | None
    invoice_xml: str | None
    carrier: str | None
    tracking_number: str | None
    items: tuple[OrderLine, ...]
    marketplace_data: Mapping[str, Any] = field(default_factory=dict)  # what the connector noted on import


@dataclass(frozen=True)
class OrderSend:
    """A placed store order, handed to an ERP."""

    order_id: str
    marketplace: str  # the code of the marketplace it came from
    status: str
    buyer: Mapping[str, Any]
    items: tuple[OrderLine, ...]
    total: Decimal
    shipping_total: Decimal
    postal_code: str
    sla: str | None
    placed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "marketplace": self.marketplace,
            "status": self.status,
            "buyer": dict(self.buyer),
            "items": [{"sku": i.sku, "quantity": i.quantity, "price": str(i.price)} for i in self.items],
            "total": float(self.total),
            "shipping_total": float(self.shipping_total),
            "postal_code": self.postal_code,
            "sla": self.sla,
            "placed_at": self.placed_at.isoformat() if self.placed_at else None,
        }


Send = ProductSend | PriceSend | StockSend | TrackingSend | OrderSend


# -- what a connector gives back ---------------------------------------------------------------------------


@dataclass
class FetchedOrders:
    """A page of the marketplace's orders: the orders (Ponte's incoming-order shape) and the cursor to resume from."""

    orders: list[dict[str, Any]]
    cursor: str | None
    outcome: Outcome | None = None  # set when the feed itself could not be read
    more: bool = False  # another page is ready now


@dataclass(frozen=True)
class Invoice:
    """An NF-e an ERP issued for one of the store's orders (`order_id`: the marketplace's order id, as Ponte handed
    it to the ERP), with the tracking the ERP has for it. `reference` is the ERP's own id of the note."""

    order_id: str
    invoice_key: str
    invoice_xml: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    reference: str | None = None
    message: Message | None = None  # what the ERP's answer said, for the order's history (Ponte's words)
    request: Any = None
    response: Any = None


@dataclass
class Tracking:
    """A tracking code an ERP has for an order it invoiced earlier without one (the carrier's code often comes after
    the NF-e)."""

    order_id: str
    tracking_number: str
    carrier: str | None = None
    request: Any = None
    response: Any = None


@dataclass
class FetchedInvoices:
    """A page of an ERP's issued invoices and the cursor to resume from."""

    invoices: list[Invoice]
    cursor: str | None
    outcome: Outcome | None = None  # set when the ERP could not be read
    more: bool = False  # another page is ready now


@dataclass(frozen=True)
class ErpProduct:
    """One SKU as an ERP holds it: its code, the catalog fields it gives in Ponte's names (those of the store's SKU:
    name, description, price, ean, weight_g, height_cm, width_cm, length_cm, images, category, brand, active), its
    quantity per warehouse (None: not read), and the ERP's own id. `problem`: why Ponte cannot take it (reported,
    never stops the read)."""

    sku: str
    values: Mapping[str, Any] = field(default_factory=dict)
    stock: Mapping[str, int] | None = None
    reference: str = ""
    problem: Message | None = None


@dataclass
class FetchedCatalog:
    """A page of an ERP's catalog (all of it, or what changed since the last read) and the cursor to resume from."""

    products: list[ErpProduct]
    cursor: str | None
    outcome: Outcome | None = None  # set when the ERP could not be read
    more: bool = False  # another page is ready now
    total: int | None = None  # products of the whole read, where the ERP tells (a first import's progress)
    full: bool = False  # the page is part of a read of the whole catalog


@dataclass
class Submission:
    """A batch the marketplace accepted for later judgement (a feed, an import): the engine polls it.

    `refs` gives each entity's reference inside the submission (a feed's messageId, a file's line), so that
    the poll's results can be matched back; `detail` is the connector's own state between polls.
    """

    operation: str
    external_id: str
    refs: dict[str, str]
    message: str | Message  # what each entity's pending attempt says meanwhile
    poll_after: float = 60.0
    detail: dict[str, Any] = field(default_factory=dict)
    request: Any = None
    response: Any = None


@dataclass
class BatchResult:
    """What a batch send came to: each entity's outcome now, or a submission judged later (or both: an entity
    refused at once has its outcome, the others wait for the submission)."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    submission: Submission | None = None


@dataclass
class SubmissionPoll:
    """One look at a submission: done with an outcome per entity (those missing succeeded), or not yet."""

    done: bool
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    poll_after: float = 60.0
    detail: dict[str, Any] | None = None
    failed: Outcome | None = None  # the whole submission failed: every entity gets this outcome


@dataclass(frozen=True)
class SubmissionRef:
    """A submission as the engine gives it back to its connector to poll."""

    id: int
    operation: str
    external_id: str
    refs: Mapping[str, str]  # entity → reference
    detail: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Notice:
    """A notification a marketplace pushed: who it concerns, what changed, where to read it. Only ids are kept:
    the body is unsigned, so the resource is fetched with the seller's token before anything is believed."""

    subject: str
    topic: str
    resource: str


def notice_body(body: bytes) -> dict[str, Any]:
    """A pushed notification's body as the JSON object it must be; ValueError (the receiver answers 400) else."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the body is not a JSON object")
    return data


@dataclass
class Resolved:
    """What reading a notified resource found: orders to record (Ponte's incoming-order shape)."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    outcome: Outcome | None = None  # the resource could not be read
    catalog: list[ErpProduct] = field(default_factory=list)  # an ERP's products the notification changed
    # (flow, entity) integrations the marketplace changed on its side (Amazon found issues in a listing it had
    # accepted): sent again with the store's current data, and the answer is their next attempt.
    resend: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class HeldListing:
    """One listing as the marketplace holds it now (reconciliation reads these back).

    `status` in Ponte's words: active, paused, closed, under_review or inactive (the marketplace's own word is in
    `detail`). `cause` is the marketplace's reason for a state, when it gives one, as a short word the Drift page
    translates (`promotion`, `discount`, Mercado Livre's `sub_status` words); an unknown word is shown as it is."""

    listing_id: str
    sku: str | None  # the seller's SKU as the marketplace knows it (SELLER_SKU, shop_sku)
    price: Decimal | None
    quantity: int | None
    status: str
    cause: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadRequest:
    """What a reconciliation pass asks a connector to read: the whole catalogue page by page (`full`, resumed from
    `cursor`), or some listings (`focused`: `listing_ids`, or what changed since `since` where the marketplace can
    say so more cheaply)."""

    mode: Literal["full", "focused"]
    cursor: str | None = None
    listing_ids: tuple[str, ...] = ()
    since: datetime | None = None
    # A connector that reads the whole shop in one answer (`reads_whole_shop`) hands its listings to `sink` in
    # batches as the answer arrives, and returns a ReadBack without them (`streamed` says how many): the engine
    # compares them while the rest downloads.
    sink: Callable[[list[HeldListing]], None] | None = field(default=None, compare=False)


@dataclass
class ReadBack:
    """A page of what the marketplace holds. `cursor` None: the read is complete. `missing`: listing ids asked for
    that the marketplace does not have. `complete`: the pages of a full read together hold every listing of the
    seller, so a listing Ponte knows and none of them holds is missing. `outcome`: the read failed."""

    listings: list[HeldListing] = field(default_factory=list)
    cursor: str | None = None
    missing: tuple[str, ...] = ()
    complete: bool = True
    outcome: Outcome | None = None
    streamed: int = 0  # listings handed to the request's sink instead of kept in `listings`


@dataclass(frozen=True)
class Grant:
    """OAuth tokens: the access token, until when it works, and the (often single-use) refresh token."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    extra: Mapping[str, Any] = field(default_factory=dict)  # what the token answer also said (user id, scope)


@dataclass(frozen=True)
class Identity:
    """Who the seller is on the marketplace: its id (routes its notifications) and a name people recognise."""

    subject: str
    name: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MarketplaceCategory:
    """A node of the marketplace's category tree (Mercado Livre's categories, Mirakl's hierarchies, Amazon's product
    types). Only leaves take products."""

    id: str
    name: str
    parent_id: str | None = None
    leaf: bool = True
    path: tuple[str, ...] = ()  # the names from the root down to this one


@dataclass(frozen=True)
class AttributeValue:
    id: str
    name: str


@dataclass(frozen=True)
class MarketplaceAttribute:
    """One attribute a marketplace category has: required or not, its allowed values where the marketplace lists
    them, and the unit a number is given in ("g", "kg", "cm", "mm") so that Ponte converts the store's."""

    id: str
    name: str
    required: bool = False
    values: tuple[AttributeValue, ...] = ()
    unit: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class ListingRules:
    """What the marketplace refuses in any listing, checked by Ponte before it spends a call (None: no limit)."""

    title_max: int | None = None
    pictures_min: int = 0
    pictures_max: int | None = None
    picture_extensions: tuple[str, ...] = ()  # lower-case, with the dot; empty: any


class CallFailed(Exception):
    """A call the connector needed before it could send (renewing a token, finding a listing) failed: the outcome
    says how, in the marketplace's words, and is recorded as the attempt's."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


class GrantRefused(Exception):
    """The marketplace refused the grant itself (revoked, expired, already used): only the seller can fix it by
    authorising again. The message is the marketplace's own words, or Ponte's (`said`)."""

    def __init__(self, said: str | Message) -> None:
        super().__init__(english(said) if isinstance(said, Message) else said)
        self.said = said


# -- what a connector declares -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """A rate the marketplace allows for one operation: `rate` requests a second, up to `burst` at once.

    `scope` says whose quota it is: the seller's ("affiliate"), or the application's, shared by every store
    connected through the same app ("app", Mercado Livre's per-Client-ID limits)."""

    rate: float
    burst: float
    scope: Literal["affiliate", "app"] = "affiliate"


@dataclass(frozen=True)
class BatchSpec:
    """A flow the marketplace takes in batches. `mode` "always": every send goes in a batch (Mirakl's OF24);
    "auto": the engine batches when the queue is longer than the single operation's rate can send within
    `latency` seconds (Amazon's feeds). `operation` is the rate limit the batch call spends."""

    operation: str
    max_items: int
    mode: Literal["always", "auto"] = "auto"
    latency: float = 300.0
    single_operation: str | None = None  # the rate of one-by-one sends, for the "auto" decision
    # The flows whose batches name this operation and say `together` go out in one call: a Mirakl offer carries
    # price and stock, so a price batch takes the stock changes waiting too. `send_batch` then gets sends of those
    # flows mixed (each send's type says its flow; its `flow` argument is the first's), and an entity's outcome is
    # every one of its flows' outcome.
    together: bool = False


def http_url(value: str) -> str:
    """A setting that must be an http(s) URL, without its trailing slash (settings validators share it)."""
    value = value.strip()
    if not value.startswith(("http://", "https://")):
        raise SaidError(say("msg.value.http_url"))
    return value.rstrip("/")


class ConnectorSettings(BaseModel):
    """Base of each connector's settings model. Fields typed SecretStr are stored encrypted."""

    model_config = ConfigDict(extra="forbid")


class Connector:
    """Base class of every connector. Subclasses set `kind`, `role`, `Settings`, `flows` and `labels`, and
    implement the calls they support.

    An instance is made per affiliate with its validated settings and a `ConnectorContext` (credentials, shared
    rate limits, timeouts); it may keep state between calls. The engine calls one instance from one thread at
    a time.
    """

    kind: ClassVar[str] = ""
    role: ClassVar[Literal["marketplace", "erp"]] = "marketplace"
    Settings: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    flows: ClassVar[frozenset[str]] = frozenset()  # flows it can do; "order" means it brings orders in (or takes them)
    # Words people read, per locale (pt-BR, en, es): "name", "connect" (the authorise button), "setting.<field>"…
    labels: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {}
    batches: ClassVar[Mapping[str, BatchSpec]] = {}  # flow → how it is batched
    order_poll_every: ClassVar[float | None] = None  # seconds between polls of the order feed; None: no feed
    # The marketplace accepts or refuses an order line by line (Mirakl's OR21): the lines that pass validation
    # are placed and the others refused, for good (the marketplace will not offer them again).
    accepts_lines: ClassVar[bool] = False
    # An ERP that issues the store's invoices: seconds between reads of what it issued (`fetch_invoices`); None: never.
    invoice_poll_every: ClassVar[float | None] = None
    # An ERP the store's catalog comes from: seconds between reads of what changed (`fetch_catalog`), once a first
    # import has started; None: never.
    catalog_poll_every: ClassVar[float | None] = None
    # Reconciliation: the flows that put each kind of drift right (a stock difference is repaired by sending the
    # stock again; a paused or missing listing by sending the product). A kind not here is only reported.
    repairs: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "stock_higher": ("inventory",),
        "stock_lower": ("inventory",),
        "price": ("price",),
        "status": ("product",),
        "missing": ("product",),
    }
    # A focused read asks the marketplace what changed since the last read (Mirakl's differential export), not for
    # listing ids: the engine sends one `ReadRequest(mode="focused", since=…)` instead of the ids.
    reads_changes_since: ClassVar[bool] = False
    # A full read comes in one answer holding every listing (Mirakl's OF51 file): the engine reads the store's side
    # while it downloads.
    reads_whole_shop: ClassVar[bool] = False
    oauth: ClassVar[bool] = False  # connected by the seller's authorisation (OAuth2)
    pkce: ClassVar[bool] = False  # the authorisation uses PKCE (S256)
    code_parameter: ClassVar[str] = "code"  # the callback's query parameter with the code (Amazon: spapi_oauth_code)
    # Other query parameters of the callback kept in the grant's `extra` (Amazon names the seller there:
    # selling_partner_id). They come through the seller's browser: only an authorisation whose state checks out keeps them.
    callback_extras: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: ConnectorSettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self.affiliate_code = context.affiliate_code
        self.timeout = context.timeout
        self.body_limit = context.body_limit

    @classmethod
    def word(cls, locale: str = "pt-BR", key: str = "name") -> str:
        """A word of the connector's in `locale` (falling back to English, then to the kind)."""
        for lang in (locale, "en"):
            text = cls.labels.get(lang, {}).get(key)
            if text:
                return text
        return cls.kind if key == "name" else ""

    @classmethod
    def marketplace_for(cls, settings: Mapping[str, Any]) -> str:
        """Whose error vocabulary an affiliate with these settings speaks, for the knowledge base."""
        return cls.kind

    @classmethod
    def consent_origin(cls, settings: Mapping[str, Any]) -> str | None:
        """The origin (`https://host[:port]`) of the marketplace's consent page for an affiliate with these settings:
        the Affiliates page lets its form go there (Content Security Policy `form-action`)."""
        return None

    @classmethod
    def emulation(cls) -> Emulation | None:
        """A new emulation of this marketplace's API for the sandbox (mounted at `/{kind}`), if it has one."""
        return None

    @classmethod
    def read_notification(cls, body: bytes, headers: Mapping[str, str]) -> Notice | None:
        """Parse a pushed notification (its ids only); None when the body is not one of ours."""
        return None

    # Each send_* receives the store's current data for one entity.
    def send_product(self, send: ProductSend) -> Outcome:
        raise NotImplementedError

    def send_price(self, send: PriceSend) -> Outcome:
        raise NotImplementedError

    def preview(self, send: ProductSend) -> Outcome:
        """The marketplace's verdict on `send` as a listing, nothing kept (Amazon's VALIDATION_PREVIEW): offered on
        the SKU page for connectors that implement it."""
        raise NotImplementedError

    def send_inventory(self, send: StockSend) -> Outcome:
        raise NotImplementedError

    def send_tracking(self, send: TrackingSend) -> Outcome:
        raise NotImplementedError

    def send_order(self, send: OrderSend) -> Outcome:
        """Hand a placed store order to this system (ERPs)."""
        raise NotImplementedError

    def send_batch(self, flow: str, sends: list[Send]) -> BatchResult:
        """Send many entities of one flow in one call (see `batches`)."""
        raise NotImplementedError

    def poll_submission(self, submission: SubmissionRef) -> SubmissionPoll:
        """Look at a submission once."""
        raise NotImplementedError

    def fetch_orders(self, cursor: str | None) -> FetchedOrders:
        """Read the next page of orders from the marketplace's feed, from `cursor` on."""
        raise NotImplementedError

    def fetch_invoices(self, cursor: str | None) -> FetchedInvoices:
        """Read the next page of invoices (NF-e) the ERP issued for the store's orders, from `cursor` on."""
        raise NotImplementedError

    def fetch_tracking(self, order_ids: list[str]) -> list[Tracking]:
        """The tracking codes the ERP has now for these orders (the marketplace's order ids), invoiced earlier
        without one; orders it has none for are left out."""
        raise NotImplementedError

    def fetch_catalog(self, cursor: str | None) -> FetchedCatalog:
        """Read the next page of the ERP's catalog from `cursor` on: the whole catalog when `cursor` is None (a first
        import), then what changed since the last read."""
        raise NotImplementedError

    @classmethod
    def counts_stock(cls, settings: Mapping[str, Any], marketplace: str, warehouse: str) -> bool | None:
        """Whether the quantity in `warehouse` counts for the marketplace affiliate coded `marketplace`, as an ERP
        affiliate with these settings says; None when the warehouse is not one of the ERP's."""
        return None

    def resolve(self, notice: Notice) -> Resolved:
        """Read what a notification points at, with the seller's credentials."""
        return Resolved()

    def acknowledge_order(self, external_id: str, outcome: Outcome) -> Outcome:
        """Tell the marketplace the order was integrated (or why not); `outcome.lines` says it line by line."""
        return Outcome.ok(say("msg.send.no_acknowledgement"))

    def read_listings(self, request: ReadRequest) -> ReadBack:
        """Read back what the marketplace holds of the seller's listings, in its cheapest way (reconciliation).
        Calls go through `context.limits` as any other; the engine gives a read a context whose limits only spend
        spare quota, so that it never starves the sends."""
        raise NotImplementedError

    def test_connection(self) -> Outcome:
        """Check the settings and credentials without changing anything."""
        raise NotImplementedError

    # -- the marketplace's catalog structure (category mapping, checks before sending) ------------------------
    # A connector that implements `category_tree` and `category_attributes` gets the category and attribute
    # mapping page and the checks before sending; `predict_category` where the marketplace has a predictor.
    def category_tree(self) -> list[MarketplaceCategory]:
        """The marketplace's categories (every level; `leaf` says which take products)."""
        raise NotImplementedError

    def category_attributes(self, category_ids: list[str]) -> dict[str, list[MarketplaceAttribute]]:
        """The attributes of each of these categories (asked together: some marketplaces list them in one call)."""
        raise NotImplementedError

    def predict_category(self, title: str) -> list[MarketplaceCategory]:
        """The marketplace's own guess of a product's category from its title, best first (empty: no predictor)."""
        return []

    @classmethod
    def listing_rules(cls, settings: Mapping[str, Any]) -> ListingRules:
        """What every listing must respect on this marketplace (title length, pictures), for these settings."""
        return ListingRules()

    @classmethod
    def default_category(cls, store_category: str, settings: Mapping[str, Any]) -> str:
        """The marketplace category an unmapped store category is sent as (Mercado Livre adds the site's prefix)."""
        return store_category

    @classmethod
    def sent_attributes(cls, send: ProductSend, settings: Mapping[str, Any]) -> Mapping[str, str]:
        """The attributes a product send carries, by the marketplace's ids, as this connector builds them (with
        those it fills from the product's own fields: brand, EAN, dimensions)."""
        return {name: str(value) for name, value in send.attributes.items()}

    # -- OAuth (connectors with `oauth = True`) --------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None) -> str:
        """Where to send the seller to authorise Ponte."""
        raise NotImplementedError

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> Grant:
        """Trade the authorisation code for tokens. Raises GrantRefused when the marketplace refuses the code."""
        raise NotImplementedError

    def refresh_grant(self, grant: Grant) -> Grant:
        """A new grant from `grant`'s refresh token. Raises GrantRefused when the marketplace refuses it."""
        raise NotImplementedError

    def identify(self) -> Identity:
        """Who the connected seller is (read with the stored credentials)."""
        raise NotImplementedError

    @classmethod
    def rates(cls, settings: ConnectorSettings) -> Mapping[str, RateLimit]:
        """The rates this affiliate's calls may go at (the declared ones; a connector may scale them by settings)."""
        return cls.rate_limits

    @classmethod
    def app_scope(cls, settings: ConnectorSettings) -> str:
        """The application's id, for rates whose scope is "app" (shared by every store the app serves)."""
        return ""

    def close(self) -> None:
        """Release connections; called when the engine drops the instance."""
