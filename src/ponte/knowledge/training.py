"""Training the statistical reader from labelled messages, and cross-validating it on the training side only.

`ponte knowledge train` calls `train_model` with the training side of the corpus (never the held-out side) and
writes `model.json` into the knowledge directory. The vocabulary's terms are added as small examples of their
category, so that a word the corpus never used in some language still points the right way.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ponte.knowledge.evaluation import Labelled, Outcome, Report, evaluate, knowledge_classifier
from ponte.knowledge.features import features
from ponte.knowledge.loader import Knowledge
from ponte.knowledge.model import Example, LinearModel, train

VOCABULARY_WEIGHT = 0.3  # a vocabulary term counts for a third of a real message


def examples_from(rows: Sequence[Labelled], kb: Knowledge) -> list[Example]:
    found = []
    for row in rows:
        feats = features(
            row.message,
            marketplace=kb.marketplace_for(row.marketplace),
            flow=row.flow,
            http_status=row.http_status,
            code=row.code,
            vocabulary=kb.vocabulary,
        )
        found.append(Example(feats, row.category))
    return found


def vocabulary_examples(kb: Knowledge) -> list[Example]:
    path = kb.path / "vocabulary.yaml"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        Example(features(term, vocabulary=kb.vocabulary), category, VOCABULARY_WEIGHT)
        for category, terms in data.items()
        for term in terms
    ]


def train_model(rows: Sequence[Labelled], kb: Knowledge, *, about: dict[str, Any] | None = None) -> LinearModel:
    """A model trained on `rows` (the training side) and the vocabulary of `kb`."""
    examples = examples_from(rows, kb) + vocabulary_examples(kb)
    return train(examples, about={"messages": len(rows), **(about or {})})


def fingerprint(rows: Sequence[Labelled]) -> str:
    """A short digest of what a model was trained on, kept in model.json so a stale model can be told."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.marketplace}|{row.flow}|{row.category}|{row.message}\n".encode())
    return digest.hexdigest()[:16]


def write_model(model: LinearModel, directory: Path) -> Path:
    path = directory / "model.json"
    path.write_bytes(model.to_json())
    return path


def cross_validate(rows: Sequence[Labelled], kb: Knowledge, *, folds: int = 5) -> Report:
    """Grouped k-fold on the training side: each source group is scored by a model that never saw it.

    What the thresholds and the vocabulary are tuned on, so that the held-out side stays untouched.
    """
    groups = sorted({row.source_group or f"row:{row.id}" for row in rows})
    fold_of = {group: int.from_bytes(hashlib.sha256(group.encode()).digest()[:4], "big") % folds for group in groups}
    outcomes: list[Outcome] = []
    for fold in range(folds):
        inside = [r for r in rows if fold_of[r.source_group or f"row:{r.id}"] != fold]
        outside = [r for r in rows if fold_of[r.source_group or f"row:{r.id}"] == fold]
        if not outside or not inside:
            continue
        trial = dataclasses.replace(kb, model=train_model(inside, kb))
        run = knowledge_classifier(knowledge=trial)
        outcomes.extend(run(row) for row in outside)
    by_row = {id(o.row): o for o in outcomes}
    return evaluate([o.row for o in outcomes], lambda row: by_row[id(row)])
