"""The demo store: a believable catalog, marketplaces on the sandbox, shipping rules, orders and their defects.

`load_demo` writes the store once; `place_demo_orders` plays buyers on the sandbox marketplaces. The store's ERP is
the emulated Bling (`ponte.connectors.bling.demo`): placed orders go there, and its NF-e come back so that tracking
flows too; `invoice_demo_orders` invoices orders from the store itself, for a demo without its ERP.
"""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import Connection

from ponte.auth import create_user, get_or_create_account
from ponte.connectors.bling import demo as bling_demo
from ponte.domain import Role
from ponte.domain.checks import nfe_check_digit
from ponte.engine.credentials import StoredCredentials
from ponte.i18n import english
from ponte.secrets import SecretBox
from ponte.services import mapping
from ponte.services.affiliates import create_affiliate, update_affiliate
from ponte.services.catalog import SkuInput, save_skus
from ponte.services.orders import set_tracking
from ponte.services.shipping import add_shipping_rule
from ponte.settings import Settings
from ponte.store import accounts
from ponte.store.affiliates import account_affiliates
from ponte.store.db import Database
from ponte.store.demo import every_affiliate, listing_ids, placed_orders

from .catalog import demo_skus
from .marketplaces import MARKETPLACES, by_code

ACCOUNT = "loja-demo"
PASSWORD = "ponte-demo"
USERS = (("admin@demo.ponte", Role.ADMIN), ("operador@demo.ponte", Role.OPERATOR), ("leitor@demo.ponte", Role.VIEWER))
SHIPPING = (
    ("Expressa SP", "01000000", "19999999", 30_000, 1, "19.90"),
    ("Normal", "01000000", "68999999", 30_000, 6, "24.90"),
    ("Normal", "70000000", "99999999", 30_000, 8, "29.90"),
    ("Transportadora", "01000000", "39999999", 200_000, 5, "89.90"),
)  # No rule covers 69000000–69999999 (Amazonas, Roraima, Acre): orders there meet an SLA error.


def is_loaded(conn: Connection) -> bool:
    return accounts.account_id(conn, slug=ACCOUNT) is not None


def register_sellers(sandbox_url: str, ponte_url: str = "http://127.0.0.1:8000") -> None:
    """Make the demo seller known to each marketplace (the sandbox keeps nothing between runs), with this Ponte's
    address as the callback of the apps that notify."""
    for marketplace in MARKETPLACES:
        marketplace.prepare(sandbox_url, ponte_url)
    bling_demo.prepare(sandbox_url, ponte_url)


def load_demo(conn: Connection, *, box: SecretBox, sandbox_url: str, erp: bool = True) -> int:
    """Write the demo store (account, users, affiliates, shipping, catalog); returns the account id."""
    account_id = get_or_create_account(conn, slug=ACCOUNT, name="Casa & Cia (demo)")
    for email, role in USERS:
        create_user(conn, account_id=account_id, email=email, password=PASSWORD, role=role)
    for sla, start, end, weight, days, price in SHIPPING:
        add_shipping_rule(
            conn,
            account_id=account_id,
            sla=sla,
            postal_from=start,
            postal_to=end,
            max_weight_g=weight,
            days=days,
            price=Decimal(price),
        )
    for marketplace in MARKETPLACES:
        create_affiliate(
            conn,
            box=box,
            account_id=account_id,
            code=marketplace.code,
            name=marketplace.name,
            connector=marketplace.connector,
            settings=marketplace.settings(sandbox_url),
            **marketplace.options,
        )
    if erp:  # the store's ERP: the emulated Bling, through the real connector
        create_affiliate(
            conn,
            box=box,
            account_id=account_id,
            code=bling_demo.CODE,
            name="Bling (ERP)",
            kind="erp",
            connector="bling",
            settings=bling_demo.settings(sandbox_url),
        )
    save_skus(conn, account_id=account_id, items=[SkuInput.model_validate(s) for s in demo_skus()], actor="demo")
    return account_id


def point_at_sandbox(conn: Connection, *, box: SecretBox, sandbox_url: str) -> None:
    """The sandbox port may change between runs: point the demo affiliates at the running one."""
    for row in every_affiliate(conn):
        marketplace = by_code(row.code)
        if row.connector == "webhook" and row.code == "ERP":  # the ERP of demos loaded before Bling's connector
            wanted = {"url": f"{sandbox_url}/_erp/orders"}
        elif row.connector == "bling" and row.code == bling_demo.CODE:
            wanted = {k: v for k, v in bling_demo.settings(sandbox_url).items() if k.endswith("url")}
        elif marketplace is not None and marketplace.connector == row.connector:
            wanted = {k: v for k, v in marketplace.settings(sandbox_url).items() if k.endswith("url")}
        else:
            continue
        if any(row.settings.get(k) != v for k, v in wanted.items()):
            update_affiliate(
                conn, box=box, account_id=row.account_id, affiliate_id=row.id, changes={"settings": wanted}
            )


def connect_demo_sellers(db: Database, *, box: SecretBox, settings: Settings, sandbox_url: str) -> None:
    """The demo seller authorised Ponte on each marketplace connected by authorisation (as the consent page would
    leave it): its tokens go to the credential store."""
    with db.read() as conn:
        found = {a.code: a for a in account_affiliates(conn, account_id=demo_account_id(conn))}
    for marketplace in MARKETPLACES:
        module, affiliate = marketplace.real, found.get(marketplace.code)
        if module is None or affiliate is None or not hasattr(module, "authorised"):
            continue
        grant, identity = module.authorised(sandbox_url)
        StoredCredentials(db, box, affiliate.id).store(grant, identity)
    erp = found.get(bling_demo.CODE)
    if erp is not None and erp.connector == "bling":
        StoredCredentials(db, box, erp.id).store(*bling_demo.authorised(sandbox_url))


def read_marketplace_structures(db: Database, *, box: SecretBox, settings: Settings) -> list[str]:
    """Read the category tree and attributes of every demo marketplace that has them (Mercado Livre, Carrefour), as
    an operator would with "Ler a árvore" on the mapping page: the checks before sending then stop the demo's
    products filed under parent categories or missing attributes, and "Corrigir" leads to the mapping. Returns what
    could not be read (the demo goes on without it)."""
    with db.read() as conn:
        demo_id = demo_account_id(conn)
        found = [a for a in account_affiliates(conn, account_id=demo_id) if mapping.can_map(a)]
    problems = []
    for affiliate in found:
        fetched = mapping.fetch_structure(db, box=box, settings=settings, affiliate=affiliate, account_id=demo_id)
        if fetched.error:
            problems.append(f"{affiliate.code}: {english(fetched.error)}")
    return problems


def demo_account_id(conn: Connection) -> int:
    """The demo store's account id (the demo must be loaded)."""
    found = accounts.account_id(conn, slug=ACCOUNT)
    if found is None:
        raise LookupError(f"the demo store ({ACCOUNT}) is not loaded")
    return found


def place_demo_orders(db: Database, sandbox_url: str, *, count: int = 60, seed: int = 11) -> int:
    """Play buyers: orders on each marketplace, some of them doomed (stock, price, SLA, unknown SKU)."""
    rng = random.Random(seed)
    skus = [s for s in demo_skus() if s["sku"][-1] != "6"]
    with db.read() as conn:
        listed = listing_ids(conn)
    placed = 0
    for n in range(count):
        marketplace = MARKETPLACES[n % len(MARKETPLACES)]
        sku = rng.choice(skus)
        price, quantity, postal = (
            Decimal(sku["price"]),
            rng.choice([1, 1, 1, 2]),
            rng.choice(["01310100", "04538133", "20040002", "30130010", "80010000", "90010150", "50030230"]),
        )
        if n % 10 == 3:
            quantity = 500  # far more than in stock
        elif n % 10 == 6:
            price = (price * Decimal("0.8")).quantize(Decimal("0.01"))  # marketplace price diverges
        elif n % 10 == 8:
            postal = "69005010"  # Manaus: no shipping rule covers it
        elif n % 17 == 9:
            sku = {"sku": "CC-99999"}  # a SKU the store does not have
        buyer = {
            "name": rng.choice(["Ana Souza", "Bruno Lima", "Carla Dias", "Diego Rocha"]),
            "document": "52998224725",
            "email": "comprador@example.com",
            "phone": "11987654321",
        }
        order = marketplace.buy(
            sandbox_url,
            sku=sku["sku"],
            listing_id=listed.get((marketplace.code, sku["sku"])),
            quantity=quantity,
            price=float(price),
            postal_code=postal,
            buyer=buyer,
        )
        placed += order is not None
    return placed


def demo_invoice_key(seed: int) -> str:
    rng = random.Random(seed)
    body = "35" + "2611" + "12345678000195" + "55" + "001" + f"{seed:09d}" + "1" + f"{rng.randint(0, 99999999):08d}"
    return body + str(nfe_check_digit(body))


def invoice_demo_orders(
    conn: Connection, *, account_id: int, sandbox_url: str | None = None, share: float = 0.6, cancelled: int = 2
) -> int:
    """Invoice and ship part of the placed orders, so that tracking goes back to the marketplaces.

    With `sandbox_url`, the buyers first cancel `cancelled` of them on their marketplace, as happens:
    their tracking is then refused (the order cannot be shipped any more).
    """
    rows = placed_orders(conn, account_id=account_id)
    if sandbox_url:
        cancel_demo_orders(conn, account_id=account_id, sandbox_url=sandbox_url, count=cancelled)
    done = 0
    for n, row in enumerate(rows):
        if n >= len(rows) * share:
            break
        key = demo_invoice_key(n + 1)
        set_tracking(
            conn,
            account_id=account_id,
            external_id=row.external_id,
            actor="demo",
            data={
                "invoice_key": key,
                "invoice_xml": demo_invoice_xml(key),
                "carrier": "Correios",
                "tracking_number": f"BR{n:09d}BR",
            },
        )
        done += 1
    return done


def cancel_demo_orders(conn: Connection, *, account_id: int, sandbox_url: str, count: int = 2) -> None:
    """The buyers cancel `count` placed orders on their marketplace, as happens: their tracking is then refused (the
    order cannot be shipped any more)."""
    for row in placed_orders(conn, account_id=account_id)[:count]:
        marketplace = by_code(row.affiliate_code)
        if marketplace is not None:
            marketplace.cancel(sandbox_url, row.external_id)


def demo_invoice_xml(key: str) -> str:
    """A minimal NF-e document carrying its access key, as an ERP hands the XML over (Mercado Livre wants it)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="http://www.portalfiscal.inf.br/nfe" versao="4.00">'
        f'<NFe><infNFe Id="NFe{key}" versao="4.00"><ide><cUF>35</cUF><mod>55</mod></ide></infNFe></NFe>'
        f"<protNFe><infProt><chNFe>{key}</chNFe><cStat>100</cStat></infProt></protNFe></nfeProc>"
    )
