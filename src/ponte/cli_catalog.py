"""`ponte catalog import-erp --affiliate CODE`: the store's catalog imported from its ERP (Bling), with a progress
bar and the report of the products it could not take.

Register with `app.add_typer(catalog_app, name="catalog")` after cli.py's own definitions (this module imports them).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ponte.cli_common import AccountOpt, CliError, DatabaseUrl, DataDir, clear_errors, console, err, open_account
from ponte.connectors.base import Connector
from ponte.domain.messages import Message, say
from ponte.i18n import DEFAULT_LOCALE, Translator, pick_locale
from ponte.store.affiliates import Affiliate

catalog_app = typer.Typer(help="The store's catalog from its ERP.", no_args_is_help=True)
SHOWN = 200  # rejected products listed; the rest counted


@catalog_app.command("import-erp")
def import_erp(
    affiliate: Annotated[str, typer.Option("--affiliate", help="The ERP affiliate's code, e.g. BLING")],
    account: AccountOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    locale: Annotated[str | None, typer.Option(help="pt-BR, en or es [default: from LANG]")] = None,
) -> None:
    """Import the whole catalog from an ERP (its products, prices and stock), then keep reading what changes there.
    Products that cannot be taken are reported; they never stop the import."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ponte.engine.connectors import connector_for
    from ponte.secrets import SecretBox
    from ponte.services import erp_catalog
    from ponte.store.affiliates import account_affiliates
    from ponte.store.erp_catalog import CatalogRead

    t = Translator(pick_locale(locale or os.environ.get("LANG")) or DEFAULT_LOCALE)

    def tell(message: Message) -> str:
        return t.message(message)

    with clear_errors():
        db, account_id = open_account(data_dir, database_url, account)
        settings = db.settings
        box = SecretBox.from_environment(settings.secret_key_file)
        with db.read() as conn:
            found = [a for a in account_affiliates(conn, account_id=account_id) if a.code == affiliate.upper()]
        if not found:
            raise CliError(tell(say("msg.catalog.no_such_affiliate", affiliate=affiliate)))
        with db.write() as conn:
            erp = erp_catalog.start_import(conn, account_id=account_id, affiliate_id=found[0].id, actor="cli")
        made: list[Connector] = []

        def connector_of(chosen: Affiliate) -> Connector:
            made.append(connector_for(chosen, db=db, box=box, settings=settings))
            return made[-1]

        columns = (
            TextColumn(tell(say("msg.catalog.cli_importing", affiliate=erp.code))),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, disable=not err.is_terminal) as bar:
            task = bar.add_task("import", total=None)

            def advance(state: CatalogRead) -> None:
                bar.update(task, completed=state.read_count, total=state.total)

            try:
                done = erp_catalog.run_import(db, erp, connector_of, progress=advance)
            finally:
                for connector in made:
                    connector.close()
    rejected = done.rejected
    console.print(
        tell(say("msg.catalog.cli_done", taken=done.taken_count, affiliate=erp.code, rejected=len(rejected))),
        highlight=False,
    )
    for item in rejected[:SHOWN]:
        reason = Message.from_json(item.get("reason"))
        line = f"  {item.get('sku')}: {tell(reason) if reason else item.get('reason')}"
        console.print(line, markup=False, highlight=False)
    if len(rejected) > SHOWN:
        console.print("  " + tell(say("msg.catalog.cli_more", n=len(rejected) - SHOWN)), highlight=False)
    if rejected:
        raise typer.Exit(2)
