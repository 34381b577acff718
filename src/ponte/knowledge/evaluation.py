"""Measuring the classifier honestly: labelled messages, a fixed split by source, and accuracy reports.

A labelled file is JSON lines with `marketplace`, `flow`, `message`, `category` and `disposition` (and, in the
corpus, `id`, `language`, `source`, `source_group`, optional `code` and `http_status`).

The corpus (`data/corpus/*.jsonl`) is split by `source_group`: all messages of one source fall on one side, so a
held-out message never has a sibling from the same page in training. The side is a hash of the group's name
(`is_held_out`), fixed in code: adding messages never moves a source to the other side, and nothing can be tuned
on the held-out side without changing this file.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ponte.knowledge.features import language_of, words

CORPUS_DIR = Path(__file__).parent / "data" / "corpus"
HELD_OUT_PERCENT = 30  # of source groups; about 30 % of the messages, whatever the sizes of the groups
SPLIT_SALT = "ponte-corpus-split-1"
REQUIRED_FIELDS = ("marketplace", "flow", "message", "category", "disposition")


class LabelledFileError(ValueError):
    """A labelled file cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Labelled:
    marketplace: str | None
    flow: str | None
    message: str
    category: str
    disposition: str
    language: str | None = None
    source_group: str | None = None
    code: str | None = None
    http_status: int | None = None
    id: str | None = None


@dataclass(frozen=True)
class Outcome:
    row: Labelled
    category: str
    disposition: str
    likely: bool
    rule: str | None


def read_labelled(path: Path) -> list[Labelled]:
    """The rows of one JSON-lines file; a LabelledFileError names the first bad line and what is wrong."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise LabelledFileError(f"{path}: cannot be read: {error.strerror or error}")
    except UnicodeDecodeError:
        raise LabelledFileError(f"{path}: not UTF-8 text")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise LabelledFileError(f"{path.name} line {number}: not JSON: {error}")
        rows.append(_labelled(data, f"{path.name} line {number}"))
    return rows


def _labelled(data: Any, where: str) -> Labelled:
    if not isinstance(data, dict):
        raise LabelledFileError(f"{where}: expected a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in data]
    if missing or not isinstance(data.get("message"), str) or not data.get("category"):
        raise LabelledFileError(f"{where}: needs {', '.join(REQUIRED_FIELDS)} (missing: {', '.join(missing) or '-'})")
    status = data.get("http_status")
    if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
        raise LabelledFileError(f"{where}: http_status must be an HTTP status number, got {status!r}")
    text = lambda name: str(data[name]) if data.get(name) not in (None, "") else None  # noqa: E731
    return Labelled(
        marketplace=text("marketplace"),
        flow=text("flow"),
        message=data["message"],
        category=str(data["category"]),
        disposition=str(data["disposition"]),
        language=text("language"),
        source_group=text("source_group") or text("source"),
        code=text("code"),
        http_status=status,
        id=text("id"),
    )


def read_corpus(directory: Path = CORPUS_DIR) -> list[Labelled]:
    """Every row of every corpus file, in file and line order (an absent directory is an empty corpus)."""
    if not directory.is_dir():
        return []
    return [row for path in sorted(directory.glob("*.jsonl")) for row in read_labelled(path)]


def is_held_out(source_group: str | None) -> bool:
    """Whether a source's messages are kept out of training. Rows without a source are always training."""
    if not source_group:
        return False
    digest = hashlib.sha256(f"{SPLIT_SALT}:{source_group}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def split(rows: Iterable[Labelled]) -> tuple[list[Labelled], list[Labelled]]:
    """(training, held_out) by source group."""
    training: list[Labelled] = []
    held_out: list[Labelled] = []
    for row in rows:
        (held_out if is_held_out(row.source_group) else training).append(row)
    return training, held_out


def language(row: Labelled) -> str:
    return row.language or language_of(words(row.message))


@dataclass
class Tally:
    total: int = 0
    categories: int = 0
    dispositions: int = 0

    def add(self, outcome: Outcome) -> None:
        self.total += 1
        self.categories += outcome.category == outcome.row.category
        self.dispositions += outcome.disposition == outcome.row.disposition

    def category_rate(self) -> float:
        return self.categories / self.total if self.total else 0.0

    def disposition_rate(self) -> float:
        return self.dispositions / self.total if self.total else 0.0


@dataclass
class Report:
    overall: Tally = field(default_factory=Tally)
    by_category: dict[str, Tally] = field(default_factory=dict)
    by_language: dict[str, Tally] = field(default_factory=dict)
    by_marketplace: dict[str, Tally] = field(default_factory=dict)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected, given) -> count
    likely: int = 0
    unmapped: int = 0
    misses: list[Outcome] = field(default_factory=list)

    def worst_category(self) -> tuple[str, float] | None:
        if not self.by_category:
            return None
        code, tally = min(self.by_category.items(), key=lambda item: (item[1].category_rate(), item[0]))
        return code, tally.category_rate()


Classifier = Callable[[Labelled], Outcome]


def evaluate(rows: Sequence[Labelled], classify_row: Classifier) -> Report:
    report = Report()
    for row in rows:
        outcome = classify_row(row)
        report.overall.add(outcome)
        report.by_category.setdefault(row.category, Tally()).add(outcome)
        report.by_language.setdefault(language(row), Tally()).add(outcome)
        report.by_marketplace.setdefault(row.marketplace or "-", Tally()).add(outcome)
        report.confusion[(row.category, outcome.category)] += 1
        report.likely += outcome.likely
        report.unmapped += outcome.category == "unmapped"
        if outcome.category != row.category or outcome.disposition != row.disposition:
            report.misses.append(outcome)
    return report


def knowledge_classifier(**options: Any) -> Classifier:
    """Classify labelled rows with the knowledge base (`options` go to classify, e.g. knowledge=)."""
    from ponte.knowledge.classifier import classify

    def run(row: Labelled) -> Outcome:
        explanation = classify(
            connector=row.marketplace,
            flow=row.flow,
            message=row.message,
            http_status=row.http_status,
            code=row.code,
            **options,
        )
        return Outcome(row, explanation.category, explanation.disposition.value, explanation.likely, explanation.rule)

    return run


def report_json(report: Report) -> dict[str, Any]:
    def tally(t: Tally) -> dict[str, Any]:
        return {
            "messages": t.total,
            "category_accuracy": round(t.category_rate(), 4),
            "disposition_accuracy": round(t.disposition_rate(), 4),
        }

    return {
        **tally(report.overall),
        "likely": report.likely,
        "unmapped": report.unmapped,
        "by_category": {k: tally(v) for k, v in sorted(report.by_category.items())},
        "by_language": {k: tally(v) for k, v in sorted(report.by_language.items())},
        "by_marketplace": {k: tally(v) for k, v in sorted(report.by_marketplace.items())},
        "confusion": [
            {"expected": e, "given": g, "count": n} for (e, g), n in sorted(report.confusion.items()) if e != g
        ],
    }
