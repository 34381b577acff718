"""A believable store catalog in Portuguese, with the defects real catalogs have.

Deterministic (seeded) so that the demo looks the same on every machine.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from ponte.domain.checks import gtin_is_valid

# (category id on the marketplaces, product line, brands, variants, price range, weight g, attributes)
LINES: list[tuple[str, str, list[str], list[str], tuple[int, int], int, dict[str, list[str]]]] = [
    (
        "1055",
        "Smartphone",
        ["Samsung", "Motorola", "Xiaomi"],
        ["Galaxy A15 128GB", "Moto G54 256GB", "Redmi Note 13 128GB"],
        (899, 2499),
        190,
        {"COLOR": ["Preto", "Azul", "Verde"]},
    ),
    (
        "1002",
        "Smart TV",
        ["Samsung", "LG", "TCL"],
        ['43" Full HD', '50" 4K UHD', '55" 4K QLED'],
        (1599, 4299),
        9800,
        {"VOLTAGE": ["BIVOLT", "127V", "220V"]},
    ),
    (
        "1652",
        "Notebook",
        ["Lenovo", "Dell", "Acer"],
        ["IdeaPad 3 i5 8GB", "Inspiron 15 i7 16GB", "Aspire 5 Ryzen 7"],
        (2799, 5999),
        1800,
        {"COLOR": ["Cinza", "Prata"]},
    ),
    (
        "1574",
        "Jogo de Cama",
        ["Santista", "Buddemeyer", "Altenburg"],
        ["Casal 200 Fios", "Queen 300 Fios", "Solteiro Percal"],
        (89, 399),
        1200,
        {"COLOR": ["Branco", "Bege", "Cinza", "Azul Marinho"]},
    ),
    (
        "1580",
        "Liquidificador",
        ["Philco", "Mondial", "Arno"],
        ["600W 2L", "1000W 3L", "1200W Turbo"],
        (99, 349),
        2600,
        {"VOLTAGE": ["127V", "220V"]},
    ),
    (
        "1580",
        "Air Fryer",
        ["Mondial", "Philco", "Britânia"],
        ["4L Digital", "5,5L Inox", "3,2L Compacta"],
        (279, 699),
        4200,
        {"VOLTAGE": ["127V", "220V"]},
    ),
    (
        "1292",
        "Whey Protein",
        ["Growth", "Max Titanium", "Integralmédica"],
        ["Concentrado 900g", "Isolado 900g", "3W 1kg"],
        (89, 249),
        950,
        {"SABOR": ["Baunilha", "Chocolate", "Morango"]},
    ),
    (
        "3697",
        "Camiseta",
        ["Hering", "Reserva", "Malwee"],
        ["Básica Algodão", "Gola V Premium", "Dry Fit Esporte"],
        (39, 149),
        180,
        {"COLOR": ["Branca", "Preta", "Azul"], "SIZE": ["P", "M", "G", "GG"]},
    ),
]

DEFECTS = (
    "missing_model",
    "parent_category",
    "missing_ean",
    "too_many_images",
    "gif_image",
    "no_description",
    "bad_voltage",
    "deep_discount",
    "no_weight",
    "low_stock",
    "zero_stock",
    "restricted_brand",
)
RESTRICTED_BRAND = "Apple"  # a brand the demo seller is not approved to list


def _ean(rng: random.Random) -> str:
    body = "789" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    for digit in "0123456789":
        if gtin_is_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable: one digit always checks")


def _images(sku: str, count: int, ext: str = "jpg") -> list[str]:
    return [f"https://cdn.casaecia.com.br/produtos/{sku.lower()}-{n}.{ext}" for n in range(1, count + 1)]


def demo_skus(count: int = 300, seed: int = 7) -> list[dict[str, Any]]:
    """`count` SKUs as dicts for `SkuInput`; about one in six carries a defect a marketplace will refuse."""
    rng = random.Random(seed)
    items = []
    for n in range(count):
        category, line, brands, variants, (low, high), weight, attrs = LINES[n % len(LINES)]
        brand, variant = rng.choice(brands), rng.choice(variants)
        values = {name: rng.choice(options) for name, options in attrs.items()}
        sku = f"CC-{n + 1:05d}"
        price = Decimal(rng.randint(low, high)) - Decimal("0.10")
        item: dict[str, Any] = {
            "sku": sku,
            "name": f"{line} {brand} {variant} {' '.join(values.values())}".strip(),
            "brand": brand,
            "category": category,
            "ean": _ean(rng),
            "description": f"{line} {brand} {variant}. Garantia de 12 meses. Nota fiscal em todas as compras.",
            "attributes": {"BRAND": brand, "MODEL": variant, **values},
            "images": _images(sku, rng.randint(2, 6)),
            "weight_g": weight,
            "height_cm": 20,
            "width_cm": 30,
            "length_cm": 40,
            "list_price": str(price + Decimal(rng.choice([0, 0, 50, 100]))),
            "price": str(price),
            "stock": {"CD São Paulo": rng.randint(8, 120), "CD Recife": rng.randint(0, 40)},
        }
        if n % 6 == 5:
            _add_defect(item, DEFECTS[(n // 6) % len(DEFECTS)])
        items.append(item)
    return items


def _add_defect(item: dict[str, Any], defect: str) -> None:
    """Spoil one SKU the way real catalogs are spoiled."""
    if defect == "missing_model":
        item["attributes"].pop("MODEL", None)
    elif defect == "parent_category":
        item["category"] = "1000" if item["category"] in ("1055", "1002") else "1500"
    elif defect == "missing_ean":
        item["ean"] = None
        item["category"] = "1055"
    elif defect == "too_many_images":
        item["images"] = _images(item["sku"], 14)
    elif defect == "gif_image":
        item["images"] = _images(item["sku"], 2, "gif")
    elif defect == "no_description":
        item["description"] = None
    elif defect == "bad_voltage":
        item["attributes"]["VOLTAGE"] = "110/220V"
    elif defect == "deep_discount":
        item["list_price"] = str(Decimal(item["price"]) * 3)
    elif defect == "no_weight":
        item["weight_g"] = None
    elif defect == "low_stock":
        item["stock"] = {"CD São Paulo": 2, "CD Recife": 0}
    elif defect == "zero_stock":
        item["stock"] = {"CD São Paulo": 0, "CD Recife": 0}
    elif defect == "restricted_brand":
        item["brand"] = item["attributes"]["BRAND"] = RESTRICTED_BRAND
