"""Contract checks: requests and answers held to the marketplaces' published specifications.

(API reference below is filled in once the pieces settle.)
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
