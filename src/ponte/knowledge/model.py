"""The reader of last resort: a multinomial logistic regression over the features of `features.py`.

Trained offline (`ponte knowledge train`) on the training side of the corpus and shipped as data
(`data/model.json`): per feature, the weights it gives the categories it speaks for. Scoring a message is a few
dictionary look-ups and a softmax; nothing is downloaded, and loading takes milliseconds.
Written by hand because the model is small (tens of thousands of sparse weights) and the whole of scikit-learn
would be a heavy dependency for a dot product.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

FORMAT = 1


@dataclass(frozen=True)
class Prediction:
    category: str
    probability: float  # the softmax probability of `category`, 0-1
    runner_up: str | None = None


@dataclass(frozen=True, eq=False)
class LinearModel:
    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: Mapping[str, tuple[tuple[int, float], ...]]  # feature -> ((class index, weight), ...)
    about: Mapping[str, Any] = field(default_factory=dict)  # what it was trained on, for `ponte knowledge`

    def predict(self, features: Sequence[str]) -> Prediction:
        scores = list(self.bias)
        weights = self.weights
        for feature in features:
            entries = weights.get(feature)
            if entries:
                for index, weight in entries:
                    scores[index] += weight
        top = max(scores)
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        runner_up = self.classes[order[1]] if len(order) > 1 else None
        return Prediction(self.classes[order[0]], exps[order[0]] / total, runner_up)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "format": FORMAT,
                "classes": list(self.classes),
                "bias": [round(b, 4) for b in self.bias],
                "weights": {f: [[i, round(w, 4)] for i, w in entries] for f, entries in sorted(self.weights.items())},
                "about": dict(self.about),
            }
        )


class ModelError(ValueError):
    """The model file cannot be used; the message says why."""


def load_model(path: Path, known_categories: Sequence[str]) -> LinearModel:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise ModelError(f"{path.name}: cannot be read as JSON: {error}")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{path.name}: not a model of format {FORMAT}; train it again (ponte knowledge train)")
    classes = tuple(str(c) for c in data.get("classes") or ())
    unknown = [c for c in classes if c not in known_categories]
    if unknown:
        raise ModelError(f"{path.name}: categories not in categories.yaml: {', '.join(unknown)}; train it again")
    bias = tuple(float(b) for b in data.get("bias") or ())
    if not classes or len(bias) != len(classes):
        raise ModelError(f"{path.name}: classes and bias differ in length")
    weights: dict[str, tuple[tuple[int, float], ...]] = {}
    for feature, entries in (data.get("weights") or {}).items():
        pairs = tuple((int(i), float(w)) for i, w in entries)
        if any(not 0 <= i < len(classes) for i, _ in pairs):
            raise ModelError(f"{path.name}: feature {feature!r} names a class that does not exist")
        weights[feature] = pairs
    return LinearModel(classes, bias, weights, dict(data.get("about") or {}))


@dataclass(frozen=True)
class Example:
    features: Sequence[str]
    category: str
    weight: float = 1.0


def train(
    examples: Sequence[Example],
    *,
    epochs: int = 15,
    rate: float = 0.5,
    l2: float = 1e-2,
    seed: int = 7,
    prune: float = 0.01,
    about: Mapping[str, Any] | None = None,
) -> LinearModel:
    """Fit by stochastic gradient descent with AdaGrad steps and L2 shrinkage, classes balanced.

    Deterministic for a given seed and input order, so a retrained model diffs cleanly. The epochs and the L2
    shrinkage were chosen by grouped cross-validation on the training side (15 epochs score as 30 or 40 do;
    1e-3 gained 1.4 points over 1e-4, and 1e-2 another 1.3-1.9 points over 1e-3 with three seeds, the
    dispositions 1.0-1.8; 2e-2 and 5e-2 no more). Weights smaller than `prune` are dropped: they change no
    answer and would only make the file bigger.
    """
    classes = tuple(sorted({e.category for e in examples}))
    index = {c: i for i, c in enumerate(classes)}
    counts = {c: 0.0 for c in classes}
    for example in examples:
        counts[example.category] += example.weight
    # Balance the classes (damped): a category with few examples still gets heard.
    mean = sum(counts.values()) / max(len(counts), 1)
    balance = {c: math.sqrt(mean / counts[c]) if counts[c] else 1.0 for c in classes}
    n = len(classes)
    weights: dict[str, list[float]] = {}
    squares: dict[str, list[float]] = {}
    bias = [0.0] * n
    bias_squares = [1e-8] * n
    order = list(range(len(examples)))
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for position in order:
            example = examples[position]
            feats = list(dict.fromkeys(example.features))
            scores = list(bias)
            for feature in feats:
                row = weights.get(feature)
                if row is not None:
                    for i in range(n):
                        scores[i] += row[i]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            target = index[example.category]
            scale = example.weight * balance[example.category]
            gradient = [scale * (exps[i] / total - (1.0 if i == target else 0.0)) for i in range(n)]
            for i in range(n):
                bias_squares[i] += gradient[i] ** 2
                bias[i] -= rate * gradient[i] / math.sqrt(bias_squares[i])
            for feature in feats:
                row = weights.setdefault(feature, [0.0] * n)
                square = squares.setdefault(feature, [1e-8] * n)
                for i in range(n):
                    g = gradient[i] + l2 * row[i]
                    square[i] += g * g
                    row[i] -= rate * g / math.sqrt(square[i])
    kept = {
        feature: tuple((i, w) for i, w in enumerate(row) if abs(w) >= prune)
        for feature, row in weights.items()
        if any(abs(w) >= prune for w in row)
    }
    return LinearModel(classes, tuple(bias), kept, dict(about or {}))
