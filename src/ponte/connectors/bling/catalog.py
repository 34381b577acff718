"""The store's catalog read from Bling: products (`GET /produtos`, `GET /produtos/{idProduto}`) as Ponte's SKUs and
their stock balances per deposit (`GET /estoques/saldos`), bling.md § 3–4; field names from the spec's
ProdutosDadosBaseDTO (the list), ProdutosDadosDTO (one product, its `variacoes`) and EstoquesSaldosDTO.

A read walks Bling's product list by page (`pagina`, `limite`; bling.md § 2), whole the first time (a first import),
then only what changed since the walk before began (`dataAlteracaoInicial`, Bling's `YYYY-MM-DD HH:MM:SS` in Brasília
time). Variations are SKUs of their own (their `codigo`); a product with variations (`formato` V) is not one. Each
page's balances come in one call for all its products (`idsProdutos[]`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from ponte.clock import now
from ponte.connectors.base import ErpProduct, FetchedCatalog
from ponte.domain.messages import say

PAGE = 100  # `limite`: Bling's default; its maximum is not documented (bling.md § 2)
# Products whose full record is read per fetch (one call each): at 3 calls a second a fetch stays under five
# seconds, and what it read is kept before the next one starts.
DETAILS_AT_ONCE = 10
BRASILIA = ZoneInfo("America/Sao_Paulo")
PRODUCT = "P"  # `tipo`: P produto (S and N are services: nothing a marketplace lists)
VARIED = "V"  # `formato`: V com variações
TO_CM = {0: Decimal(100), 1: Decimal(1), 2: Decimal("0.1")}  # dimensoes.unidadeMedida: 0 m, 1 cm, 2 mm


def warehouse(deposit: Any) -> str:
    """The store's warehouse of a Bling deposit."""
    return f"bling:{deposit}"


def bling_time(at: datetime) -> str:
    return at.astimezone(BRASILIA).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class CatalogCursor:
    """Where a read of Bling's catalog stands (the affiliate's catalog cursor, JSON): the page and how many of its
    products were taken, the change filter (`since`; None: the whole catalog), and when this walk began."""

    since: str | None = None
    page: int = 1
    skip: int = 0
    started: str | None = None
    sweep: int = 1  # the page of the list whose balances the next read of changes reads along

    @classmethod
    def read(cls, text: str | None) -> CatalogCursor:
        if not text:
            return cls()
        try:
            data = orjson.loads(text)
            return cls(data.get("since"), max(1, int(data.get("page") or 1)), max(0, int(data.get("skip") or 0)),
                       data.get("started"), max(1, int(data.get("sweep") or 1)))  # fmt: skip
        except (ValueError, TypeError, AttributeError):
            return cls()  # a cursor of another version: the whole catalog again (what did not change changes nothing)

    def dump(self) -> str:
        data = {"since": self.since, "page": self.page, "skip": self.skip, "started": self.started, "sweep": self.sweep}
        return orjson.dumps({k: v for k, v in data.items() if v}).decode()


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None or value == "" else Decimal(str(value))
    except InvalidOperation:
        return None


def _cm(value: Any, unit: Any) -> Decimal | None:
    number = _decimal(value)
    if not number:
        return None
    try:
        factor = TO_CM.get(int(unit), Decimal(1))
    except (TypeError, ValueError):
        factor = Decimal(1)
    return (number * factor).quantize(Decimal("0.01"))


def _images(product: dict[str, Any]) -> list[str] | None:
    images = ((product.get("midia") or {}).get("imagens")) or {}
    links = [i.get("link") for i in (images.get("externas") or []) + (images.get("internas") or [])]
    found = [str(link) for link in links if isinstance(link, str) and link]
    if not found and product.get("imagemURL"):
        found = [str(product["imagemURL"])]
    return found or None


def values_of(product: dict[str, Any], parent: dict[str, Any] | None = None, *, detailed: bool) -> dict[str, Any]:
    """The SKU fields a Bling product gives (a variation takes from its parent what it leaves empty). Only what the
    answer holds: a list row gives no GTIN, weight, dimensions or category, and those are left as Ponte has them."""
    base = parent or {}

    def pick(name: str) -> Any:
        value = product.get(name)
        return value if value not in (None, "", 0, {}) else base.get(name)

    price = _decimal(product.get("preco"))
    values: dict[str, Any] = {
        "name": str(product.get("nome") or base.get("nome") or "")[:300],
        "price": price if price else None,
        "active": product.get("situacao", "A") == "A",
    }
    description = pick("descricaoCurta")
    if description or detailed:
        values["description"] = str(description) if description else None
    if not detailed:  # the list names the first image only: the images are read with the whole record
        return values
    values["images"] = _images(product) or (_images(base) if parent else None) or []
    weight = _decimal(pick("pesoBruto")) or _decimal(pick("pesoLiquido"))  # kg
    dimensions = pick("dimensoes") or {}
    unit = dimensions.get("unidadeMedida", 1)
    category = (pick("categoria") or {}).get("id")
    values |= {
        "ean": str(product.get("gtin") or "").strip() or None,
        "brand": str(pick("marca") or "")[:120] or None,
        "weight_g": int(weight * 1000) if weight else None,
        "width_cm": _cm(dimensions.get("largura"), unit),
        "height_cm": _cm(dimensions.get("altura"), unit),
        "length_cm": _cm(dimensions.get("profundidade"), unit),
        "category": str(category) if category else None,
    }
    return values


def product_of(product: dict[str, Any], parent: dict[str, Any] | None = None, *, detailed: bool) -> ErpProduct:
    code = str(product.get("codigo") or "").strip()
    reference = str(product.get("id") or "")
    if not code:
        name = str(product.get("nome") or reference)
        return ErpProduct(sku=f"#{reference}", reference=reference, problem=say("msg.catalog.no_code", name=name))
    values = values_of(product, parent, detailed=detailed)
    problem = None if values["price"] is not None else say("msg.catalog.no_price")
    return ErpProduct(sku=code, values=values, reference=reference, problem=problem)


def balances_of(answer: Iterable[Any]) -> dict[str, dict[str, int]]:
    """Bling product id → quantity per warehouse: each deposit's physical balance (`saldoFisico`). The virtual one
    takes off Bling's reservations, which include the sales orders Ponte itself handed over and reserved already."""
    found: dict[str, dict[str, int]] = {}
    for row in answer:
        if not isinstance(row, dict) or not isinstance(row.get("produto"), dict):
            continue
        deposits = row.get("depositos") or []
        found[str(row["produto"].get("id"))] = {
            warehouse(d["id"]): max(0, int(float(d.get("saldoFisico") or 0)))
            for d in deposits
            if isinstance(d, dict) and d.get("id") is not None
        }
    return found


def read_page(get: Callable[[str, dict[str, Any]], Any], cursor: str | None, *, details: bool) -> FetchedCatalog:
    """One fetch of the catalog: a page of Bling's list (DETAILS_AT_ONCE of its products, each read whole, when
    `details`), and the balances of what it found. `get(path, params)` is the connector's call (its `data`, or
    CallFailed)."""
    at = CatalogCursor.read(cursor)
    if at.page == 1 and at.skip == 0:
        at.started = bling_time(now() - timedelta(seconds=1))  # a change in the second the walk began is read again
    params: dict[str, Any] = {"pagina": at.page, "limite": PAGE, "tipo": PRODUCT}
    if at.since:
        params["dataAlteracaoInicial"] = at.since
    rows = [r for r in get("/produtos", params) or [] if isinstance(r, dict) and r.get("id")]
    total = None
    if at.since is None and at.page == 1 and at.skip == 0:
        total = count(get, len(rows))
    chosen = rows[at.skip :]
    if details:
        chosen = chosen[:DETAILS_AT_ONCE]
        products = _detailed(get, chosen)
    else:
        products = [product_of(r, detailed=False) for r in chosen if r.get("formato") != VARIED]
    products = with_balances(get, products)
    taken = at.skip + len(chosen)
    full = at.since is None
    if taken < len(rows):
        at.skip = taken
        return FetchedCatalog(products, at.dump(), more=True, total=total, full=full)
    if len(rows) == PAGE:
        at.page, at.skip = at.page + 1, 0
        return FetchedCatalog(products, at.dump(), more=True, total=total, full=full)
    walked = CatalogCursor(since=at.started, sweep=at.sweep)  # the next read: what changed since this walk began
    if not full:
        products += _swept(get, at.sweep, {p.reference for p in products}, walked)
    return FetchedCatalog(products, walked.dump(), more=False, total=total, full=full)


def _swept(
    get: Callable[[str, dict[str, Any]], Any], page: int, read: set[str], walked: CatalogCursor
) -> list[ErpProduct]:
    """One page of the list read again with its balances, a page per read of changes, round and round: a balance
    that moves is not said to change its product's `dataAlteracao` (bling.md § 3–4 say nothing of it), and the
    webhook that tells it (§ 8) may not be configured. Two calls per read."""
    rows = [r for r in get("/produtos", {"pagina": page, "limite": PAGE, "tipo": PRODUCT}) or [] if isinstance(r, dict)]
    walked.sweep = page + 1 if len(rows) == PAGE else 1
    fresh = [r for r in rows if r.get("id") and str(r["id"]) not in read and r.get("formato") != VARIED]
    return with_balances(get, [product_of(r, detailed=False) for r in fresh])


def with_balances(get: Callable[[str, dict[str, Any]], Any], products: list[ErpProduct]) -> list[ErpProduct]:
    """The products with their balances per deposit, read in one call (`GET /estoques/saldos?idsProdutos[]=…`)."""
    ids = [p.reference for p in products if p.problem is None and p.reference]
    stock = balances_of(get("/estoques/saldos", {"idsProdutos[]": ids}) or []) if ids else {}
    return [
        ErpProduct(p.sku, p.values, stock.get(p.reference, {}), p.reference, p.problem) if p.problem is None else p
        for p in products
    ]


def read_products(get: Callable[[str, dict[str, Any]], Any], rows: list[dict[str, Any]]) -> list[ErpProduct]:
    """Products read whole, with their balances (a webhook's product)."""
    return with_balances(get, _detailed(get, rows))


def _detailed(get: Callable[[str, dict[str, Any]], Any], rows: list[dict[str, Any]]) -> list[ErpProduct]:
    """Each row read whole (`GET /produtos/{id}`): a simple product is a SKU, a product with variations gives one SKU
    per variation; a variation listed on its own is read through its parent."""
    found: list[ErpProduct] = []
    read: set[int] = set()
    for row in rows:
        target = int(row.get("idProdutoPai") or row["id"])
        if target in read:
            continue
        read.add(target)
        product = get(f"/produtos/{target}", {})
        if not isinstance(product, dict):
            continue
        if product.get("formato") == VARIED:
            found += [
                product_of(v, product, detailed=True) for v in product.get("variacoes") or [] if isinstance(v, dict)
            ]
        else:
            found.append(product_of(product, detailed=True))
    return found


def count(get: Callable[[str, dict[str, Any]], Any], first: int) -> int:
    """How many products the whole list holds, for a first import's progress (Bling's list gives no total): the
    last page is found by doubling then halving, a dozen calls for a catalog of 20 000."""
    if first < PAGE:
        return first

    def size(page: int) -> int:
        return len(get("/produtos", {"pagina": page, "limite": PAGE, "tipo": PRODUCT}) or [])

    low, high = 1, 2  # low: a full page; high: a page to try
    while (n := size(high)) == PAGE:
        low, high = high, high * 2
        if high > 100_000:
            return low * PAGE
    if n:
        return (high - 1) * PAGE + n
    while high - low > 1:  # low is full, high is empty
        middle = (low + high) // 2
        n = size(middle)
        if n == PAGE:
            low = middle
        elif n == 0:
            high = middle
        else:
            return (middle - 1) * PAGE + n
    return low * PAGE
