"""`ponte knowledge train|cross-validate|export-corrections`, and the report of `ponte explain --evaluate FILE`.

Register with `app.add_typer(knowledge_app, name="knowledge")` (cli.py does).
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ponte.cli_common import AccountOpt, DatabaseUrl, DataDir, clear_errors, console, err, open_account
from ponte.knowledge.evaluation import Report

knowledge_app = typer.Typer(help="The error knowledge base: train its model, measure it, export corrections.")


class Side(enum.StrEnum):
    ALL = "all"
    TRAINING = "training"
    HELD_OUT = "held-out"


def evaluate_file(path: Path, side: Side, as_json: bool, show_misses: int) -> None:
    """Print accuracy per category and language, and the confusion matrix, for a labelled JSON-lines file."""
    from ponte.knowledge import KnowledgeError
    from ponte.knowledge.evaluation import (
        LabelledFileError,
        evaluate,
        knowledge_classifier,
        read_labelled,
        report_json,
        split,
    )

    try:
        rows = read_labelled(path)
        if side is not Side.ALL:
            training, held_out = split(rows)
            rows = training if side is Side.TRAINING else held_out
        report = evaluate(rows, knowledge_classifier())
    except (LabelledFileError, KnowledgeError) as exc:
        err.print(f"[red]Error:[/red] {exc}", markup=False, highlight=False)
        raise typer.Exit(1)
    if not rows:
        err.print(f"[red]Error:[/red] no labelled messages in {path} ({side.value})", highlight=False)
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps(report_json(report), ensure_ascii=False) + "\n")
        return
    print_report(report, title=f"{path.name} ({side.value}, {report.overall.total} messages)")
    for miss in report.misses[:show_misses]:
        console.print(
            f"  expected {miss.row.category}/{miss.row.disposition}, got {miss.category}/{miss.disposition}"
            f"{' (likely)' if miss.likely else ''} [{miss.rule or '-'}]: {miss.row.message[:140]}",
            markup=False,
            highlight=False,
        )


def print_report(report: Report, title: str) -> None:
    from ponte.knowledge.evaluation import Tally

    def rates(tally: Tally) -> tuple[str, str, str]:
        return str(tally.total), f"{tally.category_rate():.1%}", f"{tally.disposition_rate():.1%}"

    overall = report.overall
    console.print(
        f"{title}: categories {overall.category_rate():.1%}, dispositions {overall.disposition_rate():.1%}; "
        f"{report.likely} likely guesses, {report.unmapped} unmapped",
        highlight=False,
    )
    for name, groups in (("category", report.by_category), ("language", report.by_language)):
        table = Table(name, "messages", "category", "disposition", title=f"by {name}")
        for key, tally in sorted(groups.items()):
            table.add_row(key, *rates(tally))
        console.print(table)
    console.file.flush()
    _print_confusion(report)


def _print_confusion(report: Report) -> None:
    # Plain text, not a Rich table: 20-odd columns must not be folded to the terminal's width.
    labels = sorted({e for e, _ in report.confusion} | {g for _, g in report.confusion})
    width = max(len(label) for label in labels) + 4
    lines = [
        "confusion matrix (rows: expected, columns: given)",
        " " * width + "".join(f"{n:>4}" for n in range(1, len(labels) + 1)),
    ]
    for number, expected in enumerate(labels, start=1):
        cells = "".join(f"{report.confusion.get((expected, given), 0) or '.':>4}" for given in labels)
        lines.append(f"{number:>2} {expected}".ljust(width) + cells)
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


@knowledge_app.command("train")
def train_command(
    extra: Annotated[
        list[Path] | None, typer.Option("--extra", help="More labelled JSON-lines files, e.g. exported corrections")
    ] = None,
    knowledge_dir: Annotated[
        Path | None, typer.Option("--knowledge-dir", help="Knowledge directory to write model.json into")
    ] = None,
) -> None:
    """Train the model on the training side of the corpus (never the held-out side) and write model.json."""
    from ponte.knowledge import KnowledgeError, clear_knowledge_cache, load_knowledge
    from ponte.knowledge.evaluation import LabelledFileError, read_corpus, read_labelled, split
    from ponte.knowledge.training import fingerprint, train_model, write_model

    try:
        kb = load_knowledge(knowledge_dir)
        training, held_out = split(read_corpus(kb.path / "corpus"))
        for path in extra or []:
            training.extend(split(read_labelled(path))[0])
        if not training:
            raise LabelledFileError("no training messages: the corpus is empty")
        model = train_model(training, kb, about={"trained_on": fingerprint(training), "held_out": len(held_out)})
        path = write_model(model, kb.path)
    except (LabelledFileError, KnowledgeError) as exc:
        err.print(f"[red]Error:[/red] {exc}", markup=False, highlight=False)
        raise typer.Exit(1)
    clear_knowledge_cache()
    console.print(
        f"Trained on {len(training)} messages ({len(held_out)} held out): {len(model.weights)} features, "
        f"{len(model.classes)} categories → {path}",
        highlight=False,
    )


@knowledge_app.command("cross-validate")
def cross_validate_command(
    folds: Annotated[int, typer.Option(min=2, max=20, help="Number of folds (by source group)")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Grouped k-fold on the training side of the corpus: what to tune on, leaving the held-out side alone."""
    from ponte.knowledge import load_knowledge
    from ponte.knowledge.evaluation import read_corpus, report_json, split
    from ponte.knowledge.training import cross_validate

    kb = load_knowledge()
    training, _ = split(read_corpus(kb.path / "corpus"))
    report = cross_validate(training, kb, folds=folds)
    if as_json:
        sys.stdout.write(json.dumps(report_json(report), ensure_ascii=False) + "\n")
    else:
        print_report(report, title=f"training side, {folds}-fold by source")


@knowledge_app.command("export-corrections")
def export_corrections_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of standard output", dir_okay=False),
    ] = None,
    account: AccountOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the categories operators corrected (with account rules) as labelled JSON lines, ids and e-mails masked."""
    from ponte.services.corrections import export_corrections

    with clear_errors():
        db, account_id = open_account(data_dir, database_url, account)
        with db.read() as conn:
            rows = export_corrections(conn, account_id=account_id)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            err.print(f"[red]Error:[/red] cannot write {output}: {exc.strerror or exc}", highlight=False)
            raise typer.Exit(1)
    err.print(f"{len(rows)} corrections exported.", highlight=False)
