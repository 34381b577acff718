"""Property-based tests of the whole API against its own OpenAPI document (schemathesis, SQLite only).

Every operation gets generated valid and invalid requests, sent with a token of store A's admin: no answer may
be a server error, and every answer must be documented (status, content type, body schema).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from factories import two_stores
from ponte import auth
from ponte.app import create_app
from ponte.domain import Role
from ponte.services.tokens import create_token
from ponte.settings import load_settings
from ponte.store.db import Database

MAX_EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_world(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PONTE_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    shutil.copy(sqlite_template, tmp_path / "ponte.db")
    app_settings = load_settings(tmp_path)
    db = Database(app_settings)
    with db.write() as conn:
        a, _b = two_stores(conn)
        token = create_token(conn, account_id=a.account_id, name="fuzz", role=Role.ADMIN, actor="setup").token
    yield create_app(app_settings, db=db), token
    db.dispose()


def _operations(app):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


# pytest-9 no longer has what schemathesis' pytest plugin (lazy schemas) relies on, so each operation is driven
# through Hypothesis directly: positive and negative cases, a bounded number of each.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_every_generated_request_as_documented(api_world, mode):
    app, token = api_world
    headers = {"Authorization": f"Bearer {token}"}
    failures = []
    for operation in _operations(app):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_sequences_of_calls_that_follow_the_apis_links_find_no_server_error(api_world):
    """The stateful phase: schemathesis chains calls along the links it infers between operations (create an
    affiliate, then read, change, test and rotate it; create a rule, then change and delete it...), so that what
    one call leaves behind is what the next is made of. No answer may be a server error or undocumented."""
    app, token = api_world
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    machine = schema.as_state_machine()
    assert len(machine.bundles) >= 10, "schemathesis found too few links between operations: the phase tests little"

    class Calls(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))

    Calls.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
