"""What every `ponte` command shares: options, consoles, opening the database, choosing the account,
and turning expected failures into one clear sentence."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ponte.secrets import SecretsError
from ponte.services.errors import InputError, NotFound
from ponte.settings import Settings, SettingsError, load_settings
from ponte.store.accounts import list_accounts
from ponte.store.db import Database
from ponte.store.migrate import migrate

console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for the SQLite database and the secret key [default: ponte-data]"),
]
DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Database URL (overrides PONTE_DATABASE_URL), e.g. postgresql://…")
]
AccountOpt = Annotated[str | None, typer.Option("--account", help="Account (store) slug; optional when there is one")]


class CliError(Exception):
    """A failure to report as one clear sentence."""


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn expected failures into one sentence on stderr and exit code 1, never a traceback."""
    try:
        yield
    except (CliError, InputError, NotFound, SettingsError, SecretsError) as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1)
    except OperationalError as exc:
        err.print(f"[red]Error:[/red] the database cannot be reached or used: {exc.orig}")
        raise typer.Exit(1)
    except SQLAlchemyError as exc:
        err.print(f"[red]Error:[/red] database error: {exc}")
        raise typer.Exit(1)


def open_db(
    data_dir: Path | None, database_url: str | None, *, migrate_first: bool = True
) -> tuple[Settings, Database]:
    settings = load_settings(data_dir, database_url)
    db = Database(settings)
    if migrate_first:
        migrate(db)
        seal_plain_secrets_of(db, settings)
    return settings, db


def seal_plain_secrets_of(db: Database, settings: Settings) -> None:
    """After migrating: secrets an older Ponte kept in plain text are sealed (services.affiliates)."""
    from ponte.secrets import SecretBox
    from ponte.services.affiliates import seal_plain_secrets

    with db.write() as conn:
        seal_plain_secrets(conn, box=SecretBox.from_environment(settings.secret_key_file))


def open_account(data_dir: Path | None, database_url: str | None, account: str | None) -> tuple[Database, int]:
    """The migrated database and the id of the account a command works on."""
    _settings, db = open_db(data_dir, database_url)
    return db, resolve_account(db, account)


def resolve_account(db: Database, slug: str | None) -> int:
    with db.read() as conn:
        rows = list_accounts(conn)
    if slug:
        for row in rows:
            if row.slug == slug:
                return int(row.id)
        raise CliError(f"no account {slug!r}; accounts here: {', '.join(r.slug for r in rows) or 'none'}")
    if len(rows) == 1:
        return int(rows[0].id)
    if not rows:
        raise CliError("there is no account yet: run `ponte demo` or `ponte user create --account SLUG …`")
    raise CliError(f"several accounts exist ({', '.join(r.slug for r in rows)}): choose one with --account")


def tune_collector() -> None:
    """For the long-running processes (`ponte worker`, `ponte run`), once their modules are loaded.

    A worker allocates in bursts: a feed's 25,000 claims, rows, patches and outcomes. With the cyclic collector's
    first threshold at its default (700 allocations) it ran every few hundred objects and, over a heap of
    100,000 claims, took 60 % of building a feed (0.21 s → 0.08 s a feed at 50,000). What lives until exit
    (modules, settings, the knowledge base) is frozen out of its passes."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One line per marketplace request would drown what matters; attempts are recorded in the database.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "running upgrade …" says nothing to an operator
