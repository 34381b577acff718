"""The specifications Ponte ships (src/ponte/connectors/<name>/spec/), as contracts ready to check against.

Each is read on first use and kept for the life of the process: `contract("amazon")` twice is the same object.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ponte.contract.document import SchemaDocument
from ponte.contract.spec import ApiSpec, Contract

CONNECTORS = Path(__file__).resolve().parent.parent / "connectors"

# The Amazon models one emulation serves together (each is its own Swagger document with its own paths).
AMAZON_MODELS = (
    "listingsItems_2021-08-01.json",
    "feeds_2021-06-30.json",
    "ordersV0.json",
    "orders_2026-01-01.json",
    "notifications.json",
    "catalogItems_2022-04-01.json",
    "definitionsProductTypes_2020-09-01.json",
)
SPEC_FILES = {
    "amazon": AMAZON_MODELS,
    "mirakl": ("mirakl-mmp-seller-openapi.json",),
    "bling": ("bling-openapi-v3.json",),
}

# Where a published spec's own example fails its own schema. The schemas are kept as published (they are what the
# connectors are held to); these examples are known to disagree, and tests/test_contract.py checks that each one
# still fails for the reason given and that every example not listed here passes.
#   key: (contract, operation, "request" | status, example source) → what is wrong, in words
KNOWN_EXAMPLE_FAULTS: dict[tuple[str, str, str, str], str] = {}


def spec_dir(name: str) -> Path:
    """The folder of a connector's published specification (amazon, mirakl, bling)."""
    if name not in SPEC_FILES:
        raise LookupError(f"no bundled specification {name!r} (there are {', '.join(SPEC_FILES)})")
    return CONNECTORS / name / "spec"


# Mirakl's spec never says nullable (OpenAPI 3.1 would write `type: [string, "null"]`), yet its own examples answer
# null for optional fields by the dozen and its descriptions ask for it ("To set the default prices, set it to null",
# OF24 all_prices.channel_code): in Mirakl's contract an optional property may be null.
OPTIONAL_NULLABLE = frozenset({"mirakl"})
# Bling lists `id` as required in objects a POST creates (a sales order's installments) and says of it "Ignorado no
# método POST": it is the API's to give. Read as readOnly, `required` spares it in requests, as OpenAPI says.
READ_ONLY_PHRASE = {"bling": "Ignorado no método"}


@cache
def contract(name: str) -> Contract:
    """The contract of a bundled API: "amazon" (its SP-API models together), "mirakl" or "bling"."""
    folder = spec_dir(name)
    options = {"optional_nullable": name in OPTIONAL_NULLABLE, "read_only_phrase": READ_ONLY_PHRASE.get(name)}
    return Contract(name, [ApiSpec(folder / file, **options) for file in SPEC_FILES[name]])  # type: ignore[arg-type]


@cache
def json_schema(name: str, file: str) -> SchemaDocument:
    """A plain JSON Schema a connector ships, e.g. `json_schema("amazon", "listings-feed-schema-v2.json")`."""
    path = spec_dir(name) / file
    if not path.is_file():
        raise LookupError(f"{name} ships no schema {file!r}")
    return SchemaDocument(path)
