"""The demo store: a believable catalog, marketplaces on the sandbox, shipping rules, orders and their defects.

`load_demo` writes the store once; `place_demo_orders` plays buyers on the sandbox marketplaces;
`invoice_demo_orders` invoices some placed orders so tracking flows too.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Connection, select

from ponte.auth import create_user, get_or_create_account
from ponte.domain import Role
from ponte.domain.checks import nfe_check_digit
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_skus
from ponte.services.orders import set_tracking
from ponte.services.shipping import add_shipping_rule
from ponte.store.tables import accounts, affiliates, orders

from .catalog import demo_skus

ACCOUNT = "loja-demo"
PASSWORD = "ponte-demo"
USERS = (("admin@demo.ponte", Role.ADMIN), ("operador@demo.ponte", Role.OPERATOR), ("leitor@demo.ponte", Role.VIEWER))
# (code, name, sandbox profile, options)
MARKETPLACES: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("MLB", "Mercado Livre", "mercadolivre", {"price_tolerance_pct": 1}),
    ("MGZ", "Magalu", "magalu", {"min_availability": 3, "price_tolerance_pct": 2, "price_divergence_action": "hold"}),
    ("AMZ", "Amazon", "amazon", {"price_tolerance_pct": 5, "price_divergence_action": "approve"}),
)
SHIPPING = (
    ("Expressa SP", "01000000", "19999999", 30_000, 1, "19.90"),
    ("Normal", "01000000", "68999999", 30_000, 6, "24.90"),
    ("Normal", "70000000", "99999999", 30_000, 8, "29.90"),
    ("Transportadora", "01000000", "39999999", 200_000, 5, "89.90"),
)  # No rule covers 69000000–69999999 (Amazonas, Roraima, Acre): orders there meet an SLA error.


def is_loaded(conn: Connection) -> bool:
    return conn.execute(select(accounts.c.id).where(accounts.c.slug == ACCOUNT)).first() is not None


def seller_credentials(profile: str) -> tuple[str, str]:
    return f"casaecia-{profile}", f"demo-secret-{profile}"


def register_sellers(sandbox_url: str) -> None:
    """Make the demo seller known to each sandbox marketplace (the sandbox keeps nothing between runs)."""
    with httpx.Client(base_url=sandbox_url, timeout=10) as client:
        for _code, _name, profile, _opts in MARKETPLACES:
            client_id, secret = seller_credentials(profile)
            client.post(
                f"/{profile}/_admin/sellers", json={"client_id": client_id, "client_secret": secret}
            ).raise_for_status()


def load_demo(conn: Connection, *, box: SecretBox, sandbox_url: str, erp_url: str | None = None) -> int:
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
    for code, name, profile, options in MARKETPLACES:
        client_id, secret = seller_credentials(profile)
        create_affiliate(
            conn,
            box=box,
            account_id=account_id,
            code=code,
            name=name,
            connector="sandbox",
            settings={
                "base_url": sandbox_url,
                "profile": profile,
                "client_id": client_id,
                "client_secret": secret,
            },
            **options,
        )
    if erp_url:
        create_affiliate(
            conn,
            box=box,
            account_id=account_id,
            code="ERP",
            name="ERP Bling (demo)",
            kind="erp",
            connector="webhook",
            settings={"url": erp_url, "secret": "demo-erp-secret"},
        )
    save_skus(conn, account_id=account_id, items=[SkuInput.model_validate(s) for s in demo_skus()], actor="demo")
    return account_id


def point_at_sandbox(conn: Connection, *, box: SecretBox, sandbox_url: str) -> None:
    """The sandbox port may change between runs: point the demo affiliates at the running one."""
    from ponte.services.affiliates import update_affiliate

    rows = conn.execute(select(affiliates).where(affiliates.c.connector.in_(["sandbox", "webhook"]))).all()
    for row in rows:
        if row.connector == "webhook":
            if row.code == "ERP" and row.settings.get("url") != f"{sandbox_url}/_erp/orders":
                update_affiliate(
                    conn,
                    box=box,
                    account_id=row.account_id,
                    affiliate_id=row.id,
                    changes={"settings": {"url": f"{sandbox_url}/_erp/orders"}},
                )
        elif row.settings.get("base_url") != sandbox_url:
            update_affiliate(
                conn,
                box=box,
                account_id=row.account_id,
                affiliate_id=row.id,
                changes={"settings": {"base_url": sandbox_url}},
            )


def place_demo_orders(sandbox_url: str, *, count: int = 60, seed: int = 11) -> int:
    """Play buyers: orders on each marketplace, some of them doomed (stock, price, SLA, unknown SKU)."""
    rng = random.Random(seed)
    skus = [s for s in demo_skus() if s["sku"][-1] != "6"]
    placed = 0
    with httpx.Client(base_url=sandbox_url, timeout=10) as client:
        for n in range(count):
            _code, _name, profile, _opts = MARKETPLACES[n % len(MARKETPLACES)]
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
            seller, _ = seller_credentials(profile)
            body = {
                "seller": seller,
                "postal_code": postal,
                "items": [{"sku": sku["sku"], "quantity": quantity, "price": float(price)}],
                "buyer": {
                    "name": rng.choice(["Ana Souza", "Bruno Lima", "Carla Dias", "Diego Rocha"]),
                    "document": "52998224725",
                    "email": "comprador@example.com",
                    "phone": "11987654321",
                },
            }
            if client.post(f"/{profile}/_buyer/orders", json=body).status_code < 300:
                placed += 1
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
    rows = conn.execute(
        select(orders.c.external_id, affiliates.c.settings)
        .join(affiliates, affiliates.c.id == orders.c.affiliate_id)
        .where(orders.c.account_id == account_id, orders.c.status == "placed")
        .order_by(orders.c.id)
    ).all()
    if sandbox_url:
        with httpx.Client(base_url=sandbox_url, timeout=10) as client:
            for row in rows[:cancelled]:
                client.post(f"/{row.settings.get('profile')}/_buyer/orders/{row.external_id}/cancel")
    done = 0
    for n, row in enumerate(rows):
        if n >= len(rows) * share:
            break
        set_tracking(
            conn,
            account_id=account_id,
            external_id=row.external_id,
            actor="demo",
            data={"invoice_key": demo_invoice_key(n + 1), "carrier": "Correios", "tracking_number": f"BR{n:09d}BR"},
        )
        done += 1
    return done
