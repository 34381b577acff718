"""The `ponte` command line: run the hub, the worker and the sandbox, load data, reprocess, report."""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ponte.cli_catalog import catalog_app
from ponte.cli_common import (
    AccountOpt,
    CliError,
    DatabaseUrl,
    DataDir,
    clear_errors,
    console,
    err,
    open_account,
    open_db,
    setup_logging,
    tune_collector,
)
from ponte.cli_knowledge import Side, evaluate_file, knowledge_app
from ponte.cli_tokens import token_app
from ponte.domain import Flow, Role, Status
from ponte.settings import load_settings

app = typer.Typer(help="Ponte: marketplace integration hub.", no_args_is_help=True, pretty_exceptions_enable=False)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(catalog_app, name="catalog")


@app.callback()
def _root() -> None:
    """Ponte: marketplace integration hub."""


@app.command("run")
def run_command(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the demo store on first start")] = True,
    sandbox: Annotated[bool, typer.Option("--sandbox/--no-sandbox", help="Start the sandbox marketplace")] = True,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run a worker in this process")] = True,
) -> None:
    """Run Ponte: web app and API, a worker, and the sandbox marketplace with the demo store."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ponte.runner import RunOptions, serve

    setup_logging()
    logging.getLogger("ponte.worker").setLevel(logging.WARNING)
    with clear_errors():
        settings = load_settings(data_dir, database_url)
        tune_collector()
        columns = (TextColumn("Sending to the marketplaces"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("sync", total=None)
            serve(
                settings,
                RunOptions(host=host, port=port, demo=demo, sandbox=sandbox, worker=worker),
                say=lambda text: bar.console.print(text, highlight=False),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )


@app.command("sandbox")
def sandbox_command(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8765,
    profile: Annotated[str, typer.Option(help="Profile served without a path prefix")] = "magalu",
) -> None:
    """Serve the sandbox marketplace (every profile under /<profile>/…)."""
    from ponte.sandbox.server import serve

    console.print(
        f"Sandbox marketplace at http://{host}:{port}/ (test profile under /magalu; emulations of real APIs under /mercadolivre, /mirakl, /amazon)"
    )
    serve(host=host, port=port, profile=profile)


@app.command("demo")
def demo_command(
    sandbox_url: Annotated[str, typer.Option(help="URL of a running `ponte sandbox`")] = "http://127.0.0.1:8765",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Load the demo store against a running sandbox and play its first hours (catalog, orders, tracking)."""
    import httpx

    from ponte.runner import demo_login_lines, prepare_demo

    setup_logging()
    logging.getLogger("ponte.worker").setLevel(logging.WARNING)
    with clear_errors():
        settings, db = open_db(data_dir, database_url)
        try:
            loaded = prepare_demo(db, settings, sandbox_url.rstrip("/"), None)
        except httpx.HTTPError as exc:
            raise CliError(f"the sandbox at {sandbox_url} cannot be reached ({exc}); start it with `ponte sandbox`")
    if loaded:
        console.print("Demo store loaded. Logins (password for all):\n" + "\n".join(demo_login_lines()))
    else:
        console.print("The demo store was already loaded; its marketplaces now point at " + sandbox_url)


@app.command("migrate")
def migrate_command(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    with clear_errors():
        settings, _db = open_db(data_dir, database_url)
    console.print(f"Database is up to date ({'SQLite' if settings.is_sqlite else 'PostgreSQL'}).")


@app.command("worker")
def worker_command(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    once: Annotated[bool, typer.Option("--once", help="Handle what is due now, then stop")] = False,
) -> None:
    """Run a worker: claim due integrations and send them to the marketplaces."""
    from ponte.alerts import alerts_job
    from ponte.engine.worker import Worker
    from ponte.services.erp_catalog import catalog_job, keep_notified

    setup_logging()
    with clear_errors():
        settings, db = open_db(data_dir, database_url)
        worker = Worker(
            db, settings, periodic=[alerts_job(db, settings), catalog_job(db, settings)], keep_catalog=keep_notified
        )
        tune_collector()
        if once:
            total = worker.poll_orders()
            while done := worker.run_once():
                total += done
            worker.close()
            console.print(f"Handled {total} integrations.")
            return
        stop = threading.Event()
        _stop_on_signals(stop)
        worker.run(stop)


def _stop_on_signals(stop: threading.Event) -> None:
    import signal

    def handler(signum: int, _frame: object) -> None:
        logging.getLogger("ponte").info("signal %s: finishing the running attempts, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@app.command("status")
def status_command(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    account: AccountOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Counts of integrations by flow × affiliate × status."""
    from ponte.store.queries import status_counts

    with clear_errors():
        db, account_id = open_account(data_dir, database_url, account)
        with db.read() as conn:
            rows = status_counts(conn, account_id=account_id)
    if as_json:
        out = [{"flow": f, "affiliate": a, "status": s, "count": c} for f, a, s, c in rows]
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return
    table = Table("flow", "affiliate", *[s.value for s in Status], title="Integrations")
    grid: dict[tuple[str, str], dict[str, int]] = {}
    for flow, affiliate, status, count in rows:
        grid.setdefault((flow, affiliate), {})[status] = count
    for (flow, affiliate), counts in grid.items():
        table.add_row(flow, affiliate, *[str(counts.get(s.value, 0)) for s in Status])
    console.print(table)


@app.command("reprocess")
def reprocess_command(
    flow: Annotated[Flow | None, typer.Option(help="Only this flow")] = None,
    status: Annotated[
        list[Status] | None, typer.Option(help="Only these statuses (repeatable) [default: error]")
    ] = None,
    affiliate: Annotated[list[str] | None, typer.Option(help="Only these affiliate codes (repeatable)")] = None,
    category: Annotated[list[str] | None, typer.Option(help="Only these error categories (repeatable)")] = None,
    search: Annotated[str | None, typer.Option(help="Id or SKU prefix")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log")] = "reprocess from the command line",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say how many would be queued")] = False,
    account: AccountOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Queue every integration matching the filter to run again with the store's current data."""
    from ponte.engine.queue import count_reprocessable, reprocess_integrations
    from ponte.store.filters import IntegrationFilter

    with clear_errors():
        db, account_id = open_account(data_dir, database_url, account)
        filt = IntegrationFilter(
            flow=flow.value if flow else None,
            statuses=tuple(s.value for s in (status or [Status.ERROR])),
            affiliates=tuple(a.upper() for a in affiliate or ()),
            categories=tuple(category or ()),
            entity_prefix=search,
        )
        if dry_run:
            with db.read() as conn:
                count = count_reprocessable(conn, account_id=account_id, filter=filt)
            console.print(f"{count} integrations would be queued.")
            return
        with db.write() as conn:
            count = reprocess_integrations(conn, account_id=account_id, filter=filt, actor="cli", reason=reason)
    console.print(f"Queued {count} integrations for reprocessing.")


@user_app.command("create")
def user_create(
    account: Annotated[str, typer.Option(help="Account (store) slug; created if new")],
    email: Annotated[str, typer.Option(help="Login e-mail")],
    password: Annotated[str, typer.Option(help="At least 8 characters", prompt=True, hide_input=True)],
    role: Annotated[Role, typer.Option(help="viewer, operator or admin")] = Role.OPERATOR,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user who can log in to Ponte."""
    from ponte.auth import UserError, create_user, get_or_create_account

    with clear_errors():
        _settings, db = open_db(data_dir, database_url)
        try:
            with db.write() as conn:
                account_id = get_or_create_account(conn, slug=account)
                create_user(conn, account_id=account_id, email=email, password=password, role=role)
        except UserError as exc:
            raise CliError(str(exc))
    console.print(f"User {email} ({role.value}) created in account {account}.")


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A .csv or .jsonl file of SKUs, prices or stock")],
    kind: Annotated[str | None, typer.Option(help="sku, price or stock [default: guessed per line]")] = None,
    account: AccountOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import catalog data; bad lines are reported and change nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ponte.services.importer import detect_format, import_text

    with clear_errors():
        if not file.is_file():
            raise CliError(f"{file} is not a file")
        fmt = detect_format(file)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise CliError(f"{file} is not UTF-8 text")
        db, account_id = open_account(data_dir, database_url, account)
        columns = (TextColumn("Importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, disable=not err.is_terminal) as bar:
            task = bar.add_task("import", total=None)

            def advance(step: int, total: int) -> None:
                bar.update(task, advance=step, total=total)

            report = import_text(
                db.write,
                account_id=account_id,
                text=text,
                fmt=fmt,
                kind=kind,
                progress=advance,
                actor=f"import:{file.name}",
            )
    console.print(f"Imported {report.accepted} lines; rejected {len(report.rejected)}.")
    for rejected in report.rejected[:200]:
        console.print(f"  line {rejected.line}: {rejected.reason}", markup=False, highlight=False)
    if len(report.rejected) > 200:
        console.print(f"  … and {len(report.rejected) - 200} more")
    if report.rejected:
        raise typer.Exit(2)


@app.command("explain")
def explain_command(
    message: Annotated[str | None, typer.Argument(help="The error message, as the marketplace wrote it")] = None,
    connector: Annotated[str | None, typer.Option(help="Marketplace or connector, e.g. mercadolivre, amazon")] = None,
    flow: Annotated[Flow | None, typer.Option(help="The flow the message came from")] = None,
    http_status: Annotated[int | None, typer.Option("--http-status", help="HTTP status of the answer")] = None,
    code: Annotated[str | None, typer.Option(help="The marketplace's error code, if separate")] = None,
    locale: Annotated[str, typer.Option(help="pt-BR or en")] = "pt-BR",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
    evaluate: Annotated[
        Path | None,
        typer.Option("--evaluate", help="Measure on a JSON-lines file of labelled messages instead", dir_okay=False),
    ] = None,
    side: Annotated[
        Side, typer.Option("--split", help="With --evaluate: all rows, or one side of the split by source_group")
    ] = Side.ALL,
    misses: Annotated[int, typer.Option("--misses", min=0, help="With --evaluate: list this many misses")] = 0,
) -> None:
    """Explain an error message: its category, whether it fixes itself, what to do, and the help article.

    With --evaluate FILE: accuracy per category and per language and a confusion matrix on labelled messages."""
    from ponte.knowledge import KnowledgeError, classify, explain_text, explanation_json, with_marketplace_help

    if evaluate is not None:
        evaluate_file(evaluate, side, as_json, misses)
        return
    if message is None:
        err.print("[red]Error:[/red] give the MESSAGE to explain, or --evaluate FILE")
        raise typer.Exit(2)
    if locale not in ("pt-BR", "en"):
        err.print("[red]Error:[/red] --locale must be pt-BR or en")
        raise typer.Exit(1)
    try:
        explanation = classify(
            connector=connector, flow=flow.value if flow else None, message=message, http_status=http_status, code=code
        )
        explanation = with_marketplace_help(explanation, connector)
    except KnowledgeError as exc:
        err.print(f"[red]Error:[/red] the error knowledge base is invalid: {exc}")
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps(explanation_json(explanation), ensure_ascii=False) + "\n")
    else:
        console.print(explain_text(explanation, locale), markup=False, highlight=False)


def main() -> None:
    app()
