"""`ponte token create|list|revoke`: API tokens from the command line.

`ponte token create --account A --role R` prints the token alone on stdout, so a script can capture it.
Register with `app.add_typer(token_app, name="token")` after cli.py's own definitions (this module imports them).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from ponte.cli_common import AccountOpt, DatabaseUrl, DataDir, clear_errors, console, err, open_account
from ponte.domain import Role
from ponte.services import tokens

token_app = typer.Typer(help="Manage API tokens (shown once, stored hashed, revocable).", no_args_is_help=True)
CLI_ACTOR = "cli"


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(help="viewer, operator or admin")] = Role.OPERATOR,
    name: Annotated[str, typer.Option(help="What will use it, e.g. 'ERP sync'")] = "cli",
    account: AccountOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token and print it (alone, on stdout). It is not shown again: store it now."""
    with clear_errors():
        db, account_id = open_account(data_dir, database_url, account)
        with db.write() as conn:
            made = tokens.create_token(conn, account_id=account_id, name=name, role=role, actor=CLI_ACTOR)
    sys.stdout.write(made.token + "\n")
    err.print(f"Token {made.id} ({role.value}) created; it will not be shown again.")


@token_app.command("list")
def token_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
    account: AccountOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The account's tokens: id, name, prefix and role (never the token itself)."""
    with clear_errors():
        db, account_id = open_account(data_dir, database_url, account)
        with db.read() as conn:
            rows = tokens.list_tokens(conn, account_id=account_id, include_revoked=include_revoked)
    if as_json:
        out = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(r).items()} for r in rows]
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return
    table = Table("id", "name", "prefix", "role", "created", "last used", "revoked", title="API tokens")
    for r in rows:
        table.add_row(
            str(r.id), r.name, r.prefix + "…", r.role, _when(r.created_at), _when(r.last_used_at), _when(r.revoked_at)
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `ponte token list`)")],
    account: AccountOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a token: the next call with it is refused."""
    with clear_errors():
        db, account_id = open_account(data_dir, database_url, account)
        with db.write() as conn:
            tokens.revoke_token(conn, account_id=account_id, token_id=token_id, actor=CLI_ACTOR)
    console.print(f"Token {token_id} revoked.")


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else "—"
