"""Test fixtures: a real database per test (SQLite file, and PostgreSQL when PONTE_TEST_POSTGRES_URL is set).

Migrations run once per session and database; each test then starts from empty tables
(SQLite: a copy of the migrated file; PostgreSQL: a private schema, truncated between tests).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from needs import IN_CI, missing
from ponte.settings import Settings, load_settings
from ponte.store.db import Database
from ponte.store.migrate import migrate
from ponte.store.tables import metadata

# The sandbox marketplace fixtures (sandbox_server, sandbox, make_connector) are shared by every test module.
pytest_plugins = [
    "sandbox_fixtures",
    "meli_fixtures",
    "mirakl_support",
    "bling_support",
    "amazon_support",
    "ponte.contract.testing",
]

PG_URL = os.environ.get("PONTE_TEST_POSTGRES_URL", "")
PG_SKIP_REASON = "PostgreSQL tests need PONTE_TEST_POSTGRES_URL (bash .ci/run sets it)"

# Without a server the PostgreSQL variants skip, except in CI (CI=true), where `pg_migrated` fails them instead.
DATABASES = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL and not IN_CI, reason=PG_SKIP_REASON)],
    ),
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    db = Database(load_settings(folder))
    migrate(db)
    db.dispose()
    return folder / "ponte.db"


def _pg_schema(worker: str) -> str:
    # The pid keeps concurrent test runs on one server (several developers, xdist workers) apart.
    return f"ponte_test_{worker}_{os.getpid()}"


def _pg_url(worker: str) -> str:
    schema = _pg_schema(worker)
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_migrated(worker_id: str) -> Iterator[str]:
    if not PG_URL:
        missing(PG_SKIP_REASON)
    schema = _pg_schema(worker_id)
    admin = Database(load_settings("/tmp", PG_URL))
    with admin.write() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _pg_url(worker_id)
    db = Database(load_settings("/tmp", url))
    migrate(db)
    db.dispose()
    yield url
    with admin.write() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def make_settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if kind == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "ponte.db")
        return load_settings(tmp_path)
    url = request.getfixturevalue("pg_migrated")
    settings = load_settings(tmp_path, url)
    db = Database(settings)
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with db.write() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.dispose()
    return settings


@pytest.fixture(params=DATABASES)
def settings(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a fresh, migrated database, on each database kind."""
    monkeypatch.setenv("PONTE_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    return make_settings(request.param, tmp_path, request)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    yield database
    database.dispose()
