"""Test data: accounts, users of each role, affiliates, SKUs, orders, integrations and their attempts.

Personas (as in the access tests): alice, operator of store A; victor, viewer of store A; ada, admin of
store A; bob, admin of store B. Messages are real marketplace wordings from the knowledge examples.
Everything is written through services or plain table inserts, inside the caller's transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from ponte.auth import create_user, get_or_create_account
from ponte.clock import now
from ponte.domain import Role
from ponte.knowledge.wordsearch import search_text
from ponte.store.queue import insert_attempt
from ponte.store.tables import affiliates, integrations, orders, skus

PASSWORD = "correct horse battery"

ALICE = "alice@loja-a.com.br"  # operator, store A
VICTOR = "victor@loja-a.com.br"  # viewer, store A
ADA = "ada@loja-a.com.br"  # admin, store A
BOB = "bob@loja-b.com.br"  # admin, store B

try:  # the knowledge base's grouping key; plain text until it lands
    from ponte.knowledge.text import normalise_message
except ImportError:  # pragma: no cover

    def normalise_message(message: str) -> str:
        return message


# (flow, category, disposition, message) — wordings marketplaces really use (knowledge/examples.jsonl).
MESSAGES: dict[str, list[tuple[str, str, str]]] = {
    "order": [
        ("sla_unavailable", "fix", "Não há SLA disponível para o item do pedido"),
        ("out_of_stock", "fix", "Os skus não possuem estoque suficiente para integrar o pedido"),
        ("price_divergence", "fix", "O preço do pedido no marketplace é diferente do seu valor determinado na VTEX"),
    ],
    "product": [
        (
            "missing_attribute",
            "fix",
            "item.attributes.missing_required: The attributes [BRAND, MODEL] are required for category MLB1055",
        ),
        ("invalid_gtin", "fix", "SEM GTIN is not a valid EAN"),
        ("image_problem", "fix", "Items in category MLA3697 cannot exceeds 12 pictures."),
    ],
    "tracking": [("invoice_tracking_rejected", "fix", "Pedido com chave da nota inválida")],
    "price": [("price_rejected", "fix", "item.price.invalid: price is out of the allowed range for this category")],
    "inventory": [("auth_invalid", "fix", "Acesso Negado - Auth-token inválido ou inexistente")],
}
WARNINGS = {
    "tracking": "Rastreio aceito: transportadora informada não reconhecida, usado 'Outros'",
    "price": "Preço aceito com aviso: desconto acima de 50% do preço de lista",
}


@dataclass
class Store:
    account_id: int
    slug: str
    affiliates: dict[str, int] = field(default_factory=dict)  # code -> id
    skus: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)


def add_account(conn: Connection, slug: str, users: dict[str, Role]) -> int:
    account_id = get_or_create_account(conn, slug=slug, name=slug.replace("-", " ").title())
    for email, role in users.items():
        create_user(conn, account_id=account_id, email=email, password=PASSWORD, role=role)
    return account_id


def add_affiliate(
    conn: Connection, account_id: int, code: str, name: str, kind: str = "marketplace", marketplace: str = "sandbox"
) -> int:
    when = now()
    stmt = insert(affiliates).values(
        account_id=account_id,
        code=code,
        name=name,
        kind=kind,
        connector="sandbox",
        marketplace=marketplace,
        settings={"base_url": "http://127.0.0.1:1"},
        enabled=True,
        created_at=when,
        updated_at=when,
    )
    return int(conn.execute(stmt.returning(affiliates.c.id)).scalar_one())


def add_sku(conn: Connection, account_id: int, code: str, name: str, **values: Any) -> int:
    when = now()
    row = {
        "account_id": account_id,
        "sku": code,
        "name": name,
        "brand": "Ponte",
        "category": "Calçados",
        "ean": "7891234567895",
        "attributes": {"Cor": "Azul"},
        "images": ["https://cdn.loja.com/img/1.jpg"],
        "weight_g": 800,
        "list_price": 199.90,
        "price": 179.90,
        "created_at": when,
        "updated_at": when,
        **values,
    }
    return int(conn.execute(insert(skus).values(**row).returning(skus.c.id)).scalar_one())


def add_order(
    conn: Connection, account_id: int, affiliate_id: int, external_id: str, *, status: str = "received"
) -> None:
    when = now()
    conn.execute(
        insert(orders).values(
            account_id=account_id,
            affiliate_id=affiliate_id,
            external_id=external_id,
            status=status,
            buyer={"name": "Maria Silva", "email": "maria@example.com"},
            items=[{"sku": "TEN-001", "quantity": 1, "price": "179.90"}],
            total=179.90,
            postal_code="01310100",
            received_at=when,
            updated_at=when,
        )
    )


def add_orders_every(
    conn: Connection, account_id: int, affiliate_id: int, *, every: timedelta, until: datetime, days: int = 14
) -> None:
    """A marketplace's orders, one each `every` over `days` days up to `until`: the rhythm the alerts learn."""
    rows, when, n = [], until - timedelta(days=days), 0
    while when <= until:
        external_id = f"O-{affiliate_id}-{until:%Y%m%d%H%M}-{n}"
        rows.append(
            {
                "account_id": account_id,
                "affiliate_id": affiliate_id,
                "external_id": external_id,
                "status": "placed",
                "buyer": {},
                "items": [],
                "total": 10,
                "postal_code": "01310100",
                "received_at": when,
                "updated_at": when,
            }
        )
        when += every
        n += 1
    conn.execute(insert(orders), rows)


def add_integration(
    conn: Connection,
    account_id: int,
    *,
    flow: str,
    affiliate_id: int,
    entity: str,
    status: str,
    message: str | None = None,
    category: str | None = None,
    disposition: str | None = None,
    processed_at: datetime | None = None,
    attempts: int = 1,
    system: str = "MLB · Mercado Livre",
) -> int:
    """An integration in `status` with `attempts` attempts (the newest carries the current message)."""
    when = processed_at or now()
    failed = status in ("error", "warning")
    values = {
        "account_id": account_id,
        "flow": flow,
        "affiliate_id": affiliate_id,
        "entity": entity,
        "status": status,
        "message": message,
        "category": category if failed else None,
        "disposition": disposition if failed else None,
        "cause": normalise_message(message) if message and status == "error" else None,
        "search_text": search_text(message, category=category if failed else None),
        "processed_at": None if status == "pending" and attempts == 0 else when,
        "attempt_count": attempts,
        "due_at": when if status == "pending" else None,
        "created_at": when - timedelta(hours=attempts),
    }
    integration_id = int(conn.execute(insert(integrations).values(**values).returning(integrations.c.id)).scalar_one())
    for n in range(attempts):
        newest = n == attempts - 1
        started = when - timedelta(minutes=30 * (attempts - 1 - n))
        attempt_status = status if newest and status != "pending" else "error"
        insert_attempt(
            conn,
            values={
                "account_id": account_id,
                "integration_id": integration_id,
                "trigger": "change" if n == 0 else "retry",
                "actor": None,
                "system": system,
                "status": attempt_status,
                "message": message if attempt_status != "success" else "OK",
                "category": category if attempt_status == "error" else None,
                "http_status": 400 if attempt_status == "error" else 200,
                "started_at": started,
                "duration_ms": 120 + n,
            },
            request={"sku": entity, "flow": flow, "price": 179.9},
            response={"error": message} if attempt_status == "error" else {"status": "ok"},
            body_limit=16_384,
        )
    return integration_id


def build_store(conn: Connection, slug: str, users: dict[str, Role]) -> Store:
    """An account with three marketplaces and an ERP, and no integrations yet."""
    store = Store(account_id=add_account(conn, slug, users), slug=slug)
    for code, name, kind in (
        ("MLB", "Mercado Livre", "marketplace"),
        ("AMZ", "Amazon", "marketplace"),
        ("B2W", "Americanas", "marketplace"),
        ("BLING", "Bling ERP", "erp"),
    ):
        store.affiliates[code] = add_affiliate(conn, store.account_id, code, name, kind)
    return store


def seed_connections(conn: Connection, store: Store, *, per_flow: int = 6, base: datetime | None = None) -> None:
    """A realistic mix in every flow: successes, errors with real messages, warnings and pending rows."""
    start = base or now() - timedelta(days=1)
    mlb, amz = store.affiliates["MLB"], store.affiliates["AMZ"]
    for n in range(per_flow):
        code = f"TEN-{n + 1:03d}"
        add_sku(conn, store.account_id, code, f"Tênis de corrida Ponte {n + 1}")
        store.skus.append(code)
    for n in range(per_flow):
        order_id = f"{1400 + n}-01"
        add_order(conn, store.account_id, mlb if n % 2 == 0 else amz, order_id)
        store.orders.append(order_id)
    for f_index, flow in enumerate(("order", "product", "tracking", "price", "inventory")):
        keys = store.orders if flow in ("order", "tracking") else store.skus
        for n, entity in enumerate(keys):
            affiliate = mlb if n % 2 == 0 else amz
            when = start + timedelta(minutes=7 * n + f_index)
            status, message, category, disposition = _pick(flow, n)
            add_integration(
                conn,
                store.account_id,
                flow=flow,
                affiliate_id=affiliate,
                entity=entity,
                status=status,
                message=message,
                category=category,
                disposition=disposition,
                processed_at=when,
                attempts=2 if status == "error" else 1,
                system="MLB · Mercado Livre" if affiliate == mlb else "AMZ · Amazon",
            )


def _pick(flow: str, n: int) -> tuple[str, str | None, str | None, str | None]:
    errors = MESSAGES[flow]
    if n % 3 == 0:
        category, disposition, message = errors[(n // 3) % len(errors)]
        return "error", message, category, disposition
    if n % 3 == 1 and flow in WARNINGS:
        return "warning", WARNINGS[flow], None, None
    if n == 5:
        return "pending", None, None, None
    return "success", "OK", None, None


def two_stores(conn: Connection) -> tuple[Store, Store]:
    """Store A (alice operator, victor viewer, ada admin) and store B (bob admin), both seeded."""
    a = build_store(conn, "loja-a", {ALICE: Role.OPERATOR, VICTOR: Role.VIEWER, ADA: Role.ADMIN})
    b = build_store(conn, "loja-b", {BOB: Role.ADMIN})
    seed_connections(conn, a)
    seed_connections(conn, b, per_flow=2)
    return a, b


def integration_id(conn: Connection, store: Store, flow: str, entity: str) -> int:
    i = integrations.c
    query = select(i.id).where(i.account_id == store.account_id, i.flow == flow, i.entity == entity)
    return int(conn.execute(query).scalar_one())


def login_form_token(client: Any) -> str:
    """The login form's CSRF token, as a browser gets it: by opening the login page (which sets its cookie)."""
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert found, "no CSRF token on the login form"
    return found.group(1)


def login(client: Any, email: str, password: str = PASSWORD) -> str:
    """Sign `client` (a Starlette TestClient) in as `email`; returns the session's CSRF token."""
    import re

    data = {"email": email, "password": password, "next": "/connections/order", "csrf": login_form_token(client)}
    answer = client.post("/login", data=data)
    assert answer.status_code == 200, answer.text[:500]
    found = re.search(r'name="csrf" value="([^"]+)"', answer.text)
    assert found, "no CSRF token on the page after login"
    return found.group(1)


def complete(
    conn: Connection, account_id: int, integration_id: int, *, status: str = "success", message: str = "OK"
) -> None:
    """What the worker does when it runs a pending integration: one more attempt and the row's new state."""
    from sqlalchemy import update

    when = now()
    row = conn.execute(select(integrations).where(integrations.c.id == integration_id)).one()
    insert_attempt(
        conn,
        values={
            "account_id": account_id,
            "integration_id": integration_id,
            "trigger": row.next_trigger or "change",
            "actor": row.next_actor,
            "reason": row.next_reason,
            "system": "MLB · Mercado Livre",
            "status": status,
            "message": message,
            "started_at": when,
            "duration_ms": 95,
            "http_status": 200,
        },
        request={"entity": row.entity},
        response={"status": status},
        body_limit=16_384,
    )
    conn.execute(
        update(integrations)
        .where(integrations.c.id == integration_id)
        .values(
            status=status,
            message=message,
            search_text=search_text(message),
            category=None,
            processed_at=when,
            due_at=None,
            attempt_count=integrations.c.attempt_count + 1,
            next_trigger=None,
            next_actor=None,
            next_reason=None,
        )
    )


def run_together(*calls: Callable[[], Any]) -> None:
    """Run the calls at once, each in its own thread, and wait for all (races: two writers on the same rows)."""
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@contextmanager
def knowledge_unsure_of(word: str, category: str, folder: Path, monkeypatch: Any) -> Iterator[Path]:
    """The shipped knowledge, with a model that reads one `word` as a weak sign of `category` (a "likely" guess)."""
    import shutil

    from ponte.knowledge import clear_knowledge_cache
    from ponte.knowledge.loader import DEFAULT_DIR
    from ponte.knowledge.model import LinearModel

    copy = folder / "knowledge"
    shutil.copytree(DEFAULT_DIR, copy, ignore=shutil.ignore_patterns("corpus"))
    classes = tuple(sorted({"auth_invalid", "image_problem", "out_of_stock", "rate_limited", "unmapped", category}))
    model = LinearModel(classes, (0.0,) * len(classes), {f"w:{word}": ((classes.index(category), 1.0),)})
    (copy / "model.json").write_bytes(model.to_json())
    monkeypatch.setenv("PONTE_KNOWLEDGE_DIR", str(copy))
    clear_knowledge_cache()
    try:
        yield copy
    finally:
        monkeypatch.delenv("PONTE_KNOWLEDGE_DIR")
        clear_knowledge_cache()


def sqlite_steps(db: Any, read: Callable[[Connection], Any]) -> tuple[int, Any]:
    """How many steps SQLite takes (its progress handler, every 100 instructions) while `read` runs on a read
    connection, and what it returned: a query's cost that does not depend on the machine's speed."""
    counted = 0

    def count() -> int:
        nonlocal counted
        counted += 1
        return 0

    with db.read() as conn:
        raw = conn.connection.driver_connection
        raw.set_progress_handler(count, 100)
        try:
            found = read(conn)
        finally:
            raw.set_progress_handler(None, 100)
    return counted, found
