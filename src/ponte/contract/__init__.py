"""Contract checks: requests and answers held to the marketplaces' published specifications.

The specs live in the connector packages (src/ponte/connectors/{amazon,mirakl,bling}/spec/, copied unchanged, each
with its source). Nothing is read at import: a spec is read and indexed on first use, each operation compiles its
validators the first time it checks something, and both are kept for the life of the process.

Checking a request (what a connector sends, what an emulation receives)::

    from ponte.contract import contract

    amazon = contract("amazon")            # "amazon" (its SP-API models together), "mirakl", "bling"
    problems = amazon.validate_request(
        "PUT", "/listings/2021-08-01/items/A3SELLER/CEL-001?marketplaceIds=A2Q3Y263D00KWC",
        json={"productType": "CELLULAR_PHONE", "attributes": {...}},   # or body=b"..." with headers={...}
        strict=True,                       # also every field / query parameter the spec does not declare
    )
    for problem in problems:               # Problem(part, path, message, strict)
        print(problem)                     # "body $.attributes: [] is not of type object"

- `Contract.validate_request(method, target, *, headers=None, body=None, json=UNSET, strict=False)` → `list[Problem]`
  (`target`: a URL or a path with its query; the spec's base path or server path, e.g. Bling's `/Api/v3`, may be
  included or not). No operation at that path gives one Problem of part "operation".
- `Contract.check(request: HttpRequest, *, strict=False)` → `(Operation | None, list[Problem])`.
- `Contract.validate_response(method, target, status, *, headers=None, body=None, json=UNSET, strict=False)`.
- `Contract.match(method, target)` → `Match(operation, path_values)` or None; `Contract.operation(name)` by
  operationId ("putListingsItem", "OF24"), "spec:operationId" where two specs share one
  ("orders_2026-01-01:getOrder"), or "METHOD /template" ("POST /pedidos/vendas").
- `Operation.validate_body(instance, *, media="application/json", strict=False)`: a body already in hand.
- `Operation.validate_response(status, *, headers=None, body=None, json=UNSET, strict=False)`: a success status the
  spec does not list is a problem; an error status it does not list (429, 503) is not judged.
- `Operation.example_response(status=None, *, parameters=None)` → `Example | None`: an answer in the spec's shape
  (Amazon's x-amzn-api-sandbox example matching the request's parameters, OpenAPI `example`/`examples`, else one
  built from the schema's property examples); `Operation.response_examples(status=None)`,
  `Operation.request_examples()`; `Operation.request_schema()`, `Operation.response_schema(status)`.
- `json_schema("amazon", "listings-feed-schema-v2.json")` → `SchemaDocument` with `.validate(instance, strict=)`,
  `.validate_json(data, strict=)`, `.examples()`.
- `Contract.load(name, *paths)`, `ApiSpec(path | document=...)`, `SchemaDocument(path | document=...)`: any other
  Swagger 2.0 / OpenAPI 3.0 / 3.1 document or JSON Schema.

In an emulation (one middleware around its app; refusals in the marketplace's own error shape)::

    from ponte.contract import ContractMiddleware, contract

    def amazon_error(operation, problems):           # -> (status, JSON body)
        return 400, {"errors": [{"code": "InvalidInput", "message": p.message, "details": str(p)} for p in problems]}

    app = ContractMiddleware(app, contract("amazon"), reject=amazon_error, mount="/amazon", skip=("/auth/o2/",))

`ContractMiddleware(app, contract, *, reject=None, strict=False, mount="", skip=(), recorder=None)`: requests the spec
refuses get `reject`'s answer and never reach the emulation; undeclared fields are refused only with `strict=True`
(real APIs mostly ignore them); paths no operation answers are let through to the emulation (its 404) but recorded;
`skip` prefixes (OAuth endpoints, test helpers) are neither checked nor recorded. `check_request(request, contract,
*, mount="", strict=False)` does the same check on a Starlette request inside a handler.

In contract tests (tests/conftest.py lists `ponte.contract.testing` in `pytest_plugins`)::

    def test_it_sends_offers(contract_recorder, ...):
        ...                                              # the connector talks to the emulation over real HTTP
        contract_recorder.assert_reached("OF24")         # it did send what the test is about

The `contract_recorder` fixture is a `ContractRecorder(strict=True, responses=True)` listening to every
ContractMiddleware in the process; at the end of the test it fails the test with every violation listed (requests,
undeclared fields included, and the emulation's answers). `with recording() as recorder:` does the same by hand;
`recorder.exchanges`, `.violations()`, `.report()`, `.operations()`, `.assert_clean()`, `.assert_reached(*names)`.

What the checks read, and how (details in the modules): parameters in the spec's style (`schemas`, `messages`:
Amazon's comma-separated arrays, Bling's repeated `codigos[]`, Mirakl's comma-separated lists typed as one
string); JSON, form and multipart bodies (a `format: binary` field must come as a file part); Swagger's `x-nullable`
and OpenAPI 3.0's `nullable`; readOnly / writeOnly spared from `required` by direction; Mirakl's discriminators;
strict mode (`strict`). Where a spec is loose or wrong, `bundled` says what is read otherwise and why (Mirakl's
optional fields may be null; Bling's "Ignorado no método POST" ids are readOnly, and its ErrorResponse's dotted
"error.type" requires `error`), and `KNOWN_EXAMPLE_FAULTS` lists the examples that disagree with their own schemas. `jsonschema_rs` gives the verdict and `jsonschema` the reasons
(`schemas.Checker`): a valid request costs tens of microseconds (`bench/bench_contract.py`).
"""

from ponte.contract.asgi import ContractMiddleware, ContractRecorder, Exchange, check_request, recording
from ponte.contract.bundled import AMAZON_MODELS, KNOWN_EXAMPLE_FAULTS, contract, json_schema, spec_dir
from ponte.contract.document import SchemaDocument
from ponte.contract.operation import Example, Operation
from ponte.contract.problems import UNSET, HttpRequest, Problem
from ponte.contract.spec import ApiSpec, Contract, Match

__all__ = [
    "AMAZON_MODELS",
    "KNOWN_EXAMPLE_FAULTS",
    "UNSET",
    "ApiSpec",
    "Contract",
    "ContractMiddleware",
    "ContractRecorder",
    "Example",
    "Exchange",
    "HttpRequest",
    "Match",
    "Operation",
    "Problem",
    "SchemaDocument",
    "check_request",
    "contract",
    "json_schema",
    "recording",
    "spec_dir",
]
