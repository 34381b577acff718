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

# Where a published spec's own examples fail its own schemas: (contract, operation, "request" | "response") → what
# is wrong. The schemas are kept as published, since they are what the connectors are held to; a connector must not
# send numbers as text because an example does. tests/test_contract.py checks that every example not listed here
# passes and that each listed one still fails (so the list shrinks when a spec is updated). Examples Mirakl marks
# "-auto" ("Complete example with value types": "string" and 0 in every field) are placeholders and are not checked.
# Emulations that answer with an example should take one that passes (`Operation.example_response` gives examples in
# the spec's order; check with `validate_response`) or fill in what the schema requires.
KNOWN_EXAMPLE_FAULTS: dict[tuple[str, str, str], str] = {
    (
        "amazon",
        "getOrderItemsBuyerInfo",
        "response",
    ): "fields the schema requires are missing; fields the schema does not declare",
    ("mirakl", "A01", "response"): "fields the schema requires are missing",
    ("mirakl", "AF01", "response"): "fields the schema requires are missing",
    ("mirakl", "DR11", "response"): "fields the schema requires are missing",
    ("mirakl", "IV01", "response"): "fields the schema does not declare",
    ("mirakl", "M01", "response"): "fields the schema requires are missing",
    ("mirakl", "M10", "response"): "values of another type than the schema says",
    ("mirakl", "M11", "response"): "values of another type than the schema says",
    ("mirakl", "OF02", "response"): "fields the schema requires are missing",
    ("mirakl", "OF21", "response"): "fields the schema requires are missing",
    ("mirakl", "OF22", "response"): "fields the schema requires are missing",
    ("mirakl", "OF24", "request"): "values of another type than the schema says",
    ("mirakl", "OF54", "response"): "values of another type than the schema says",
    (
        "mirakl",
        "OR11",
        "response",
    ): "fields the schema requires are missing; values of another type than the schema says",
    (
        "mirakl",
        "OR12",
        "response",
    ): "fields the schema requires are missing; values of another type than the schema says",
    ("mirakl", "OR13", "request"): "fields the schema does not declare",
    ("mirakl", "OR26", "request"): "values of another type than the schema says",
    ("mirakl", "OR28", "request"): "values of another type than the schema says; fields the schema does not declare",
    ("mirakl", "OR28", "response"): "fields the schema does not declare",
    ("mirakl", "OR30", "request"): "values of another type than the schema says",
    ("mirakl", "OR30", "response"): "values of another type than the schema says",
    ("mirakl", "OR41", "response"): "fields the schema requires are missing",
    ("mirakl", "OR42", "request"): "values of another type than the schema says",
    ("mirakl", "OR74", "response"): "fields the schema does not declare",
    ("mirakl", "P11", "response"): "fields the schema requires are missing",
    ("mirakl", "P31", "response"): "fields the schema requires are missing",
    ("mirakl", "PC01", "response"): "fields the schema requires are missing",
    (
        "mirakl",
        "PM11",
        "response",
    ): "fields the schema requires are missing; values of another type than the schema says",
    ("mirakl", "PR01", "response"): "fields the schema requires are missing",
    ("mirakl", "RE01", "response"): "fields the schema requires are missing",
    ("mirakl", "RE02", "response"): "fields the schema requires are missing",
    ("mirakl", "RE11", "response"): "fields the schema requires are missing",
    ("mirakl", "RE12", "response"): "fields the schema requires are missing",
    ("mirakl", "RE14", "response"): "fields the schema requires are missing",
    ("mirakl", "RT01", "request"): "fields the schema requires are missing",
    ("mirakl", "RT01", "response"): "fields the schema requires are missing; fields the schema does not declare",
    ("mirakl", "RT04", "response"): "fields the schema requires are missing",
    ("mirakl", "RT11", "response"): "fields the schema requires are missing; fields the schema does not declare",
    ("mirakl", "S32", "response"): "fields the schema requires are missing; fields the schema does not declare",
    ("mirakl", "SH42", "response"): "fields the schema requires are missing",
    ("mirakl", "ST01", "request"): "values of another type than the schema says",
    ("mirakl", "ST01", "response"): "values of another type than the schema says",
    ("mirakl", "ST06", "response"): "fields the schema does not declare",
    ("mirakl", "ST11", "response"): "fields the schema does not declare",
    ("mirakl", "ST31", "request"): "values of another type than the schema says",
    ("mirakl", "ST31", "response"): "values of another type than the schema says",
    ("mirakl", "TL02", "response"): "fields the schema does not declare",
    ("mirakl", "TL03", "request"): "values of another type than the schema says; fields the schema does not declare",
    ("mirakl", "TL05", "response"): "fields the schema does not declare",
}


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
# Bling's ErrorResponse requires "error.type", "message" and "description" beside its one property `error`: the path of
# the nested field, and the nested object's own fields. Read as requiring `error`, whose schema (Error) requires
# type, message and description, as every error answer in Bling's pages has them (bling.md § 2).
DOTTED_REQUIRED = frozenset({"bling"})


@cache
def contract(name: str) -> Contract:
    """The contract of a bundled API: "amazon" (its SP-API models together), "mirakl" or "bling"."""
    folder = spec_dir(name)
    options = {
        "optional_nullable": name in OPTIONAL_NULLABLE,
        "read_only_phrase": READ_ONLY_PHRASE.get(name),
        "dotted_required": name in DOTTED_REQUIRED,
    }
    return Contract(name, [ApiSpec(folder / file, **options) for file in SPEC_FILES[name]])  # type: ignore[arg-type]


@cache
def json_schema(name: str, file: str) -> SchemaDocument:
    """A plain JSON Schema a connector ships, e.g. `json_schema("amazon", "listings-feed-schema-v2.json")`."""
    path = spec_dir(name) / file
    if not path.is_file():
        raise LookupError(f"{name} ships no schema {file!r}")
    return SchemaDocument(path)
