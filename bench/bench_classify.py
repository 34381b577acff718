"""Benchmark: error classification throughput on a realistic mix of failure messages, and accuracy on the
held-out side of the corpus (messages from sources the classifier was not built from).

Run: .venv/bin/python bench/bench_classify.py [--quick]
Prints messages/s and ends with BENCH lines; `run(quick)` returns them for a bench runner.
Times are CPU time of this process (time.process_time), so a busy machine does not distort them.
The baseline of speed is the cheapest possible classifier: one bare re.search of one pattern per message;
It also prints, without a target, the rate when every message has its own ids and no answer is remembered.
The baseline of accuracy is the same knowledge without its model (rules, codes and patterns alone).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import sys
import time
from pathlib import Path

from ponte.knowledge import classify, load_knowledge
from ponte.knowledge.classifier import forget_answers
from ponte.knowledge.evaluation import evaluate, knowledge_classifier, read_corpus, split

try:
    from bench.common import bench_line
except ImportError:  # run as a script: bench/ is not a package on the path then
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.common import bench_line

TARGET = 50_000
SHARED_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "knowledge" / "examples.jsonl"

# Wordings seen in the field, with ids and numbers to fill in: {n} a number, {sku} a SKU, {ml} an MLB id.
TEMPLATES = [
    (
        "mercadolivre",
        "product",
        "item.attributes.missing_required: The attributes [BRAND, MODEL] are required for category MLB{n}",
    ),
    ("mercadolivre", "product", "item.category_id.invalid: category MLB{n} does not exist or is not a leaf"),
    ("mercadolivre", "inventory", "Cannot update item {ml} [status:under_review] available quantity is not modifiable"),
    ("mercadolivre", "price", "item.price.invalid: price {n}.90 is out of the allowed range for this category"),
    ("mercadolivre", "order", "Sorry, we couldn't process this request. Please, wait a few minutes and reprocess it"),
    ("amazon", "product", "{n}: Amazon must approve your brand before you can use it to list products"),
    ("amazon", "price", "429 QuotaExceeded: You exceeded your quota for the requested resource."),
    ("amazon", "product", "Missing required attribute 'item_package_weight' for SKU {sku}"),
    ("amazon", "inventory", "Item {sku} is out of stock"),
    ("magalu", "order", "Os skus não possuem estoque suficiente para integrar o pedido {n}"),
    ("magalu", "product", "Valor '{sku}' inválido para o atributo Cor"),
    ("magalu", "product", "O EAN 789{n} é inválido"),
    ("vtex", "order", "O SKU {n} não possui preço vigente para o canal de vendas configurado"),
    ("vtex", "order", "Não há SLA disponível para o item do pedido v{n}-01"),
    ("via", "order", "O pedido com marketplace id {n} para o afiliado VIA já está cancelado e não pode ser recriado"),
    ("b2w", "tracking", "Pedido com chave da nota inválida ({n}{n}{n})"),
    (
        "carrefour",
        "inventory",
        "Produto {sku} ainda não foi catalogado no Carrefour. Para reprocessar essa oferta, aguarde.",
    ),
    ("shopee", "price", "Cannot update price for [item variation {n}] because the product has promotion."),
    (
        "dafiti",
        "product",
        "Error downloading the following url: https://cdn.loja.com/img/{n}.jpg. Error: unsupported image type.",
    ),
    ("netshoes", "order", "Este pedido possui Produto(s) que não existe(m) na VTEX"),
    ("sandbox", "price", "timeout"),
    ("sandbox", "inventory", "connection failed: [Errno 111] Connection refused"),
    ("sandbox", "product", "HttpServerErrorException: 503 Service Unavailable"),
    (None, "order", "Sin stock disponible para la publicación MLA{n}"),
    (None, "product", "La categoría MLA{n} no existe"),
    (None, "order", "Token de acesso expirado para o seller {n}"),
    (None, "product", "Lorem ipsum dolor {n} sit amet, nothing we know about {sku}"),
]


def messages(count: int, seed: int = 7, unique: bool = False) -> list[tuple[str | None, str, str]]:
    """A mix of real examples and templates filled with random ids, `count` long."""
    rng = random.Random(seed)
    pool = list(TEMPLATES)
    if SHARED_EXAMPLES.exists():
        for line in SHARED_EXAMPLES.read_text(encoding="utf-8").splitlines():
            example = json.loads(line)
            pool.append(
                (example["marketplace"], example["flow"], example["message"].replace("{", "(").replace("}", ")"))
            )
    mix = []
    for _ in range(count):
        connector, flow, template = rng.choice(pool)
        fill = {
            "n": rng.randint(1, 10**9),
            "sku": f"SKU-{rng.randint(1, 99999)}-{rng.choice('ABCXYZ')}",
            "ml": f"MLB{rng.randint(10**8, 10**10)}",
        }
        message = template.format(**fill)
        mix.append((connector, flow, f"{message} (ref {rng.random():.6f})" if unique else message))
    return mix


def _rate(function, mix: list[tuple[str | None, str, str]], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        # Each round starts cold: answers remembered by the previous round would make it a lookup benchmark.
        forget_answers()
        started = time.process_time()
        for connector, flow, message in mix:
            function(connector, flow, message)
        best = min(best, time.process_time() - started)
    return len(mix) / max(best, 1e-9)


def run(quick: bool = False) -> list[str]:
    """Measure and return the BENCH lines."""
    load_knowledge()  # loading and compiling is a start-up cost, not a per-message one
    mix = messages(2_000 if quick else 20_000)
    unique = messages(2_000 if quick else 20_000, unique=True)
    repeats = 3 if quick else 5
    baseline_pattern = re.compile(r"estoque insuficiente|out of stock", re.IGNORECASE)
    baseline = _rate(lambda c, f, m: baseline_pattern.search(m), mix, repeats)
    value = _rate(lambda c, f, m: classify(connector=c, flow=f, message=m), mix, repeats)
    worst = _rate(lambda c, f, m: classify(connector=c, flow=f, message=m), unique, repeats)
    lines = [
        bench_line(
            "classify", "-", value=value, unit="msg/s", baseline=baseline, target=str(TARGET), ok=value >= TARGET
        )
    ]
    # Not a target: every message with its own ids is the worst case, where nothing is remembered.
    print(f"every message distinct: {worst:.0f} msg/s (ratio to the baseline {worst / baseline:.3f})", flush=True)
    return lines + held_out_lines()


def _ratio(value: float, baseline: float) -> float:
    # A weakest category at 0 % for both would read "inf": say "no change" instead.
    return value / baseline if baseline else (1.0 if not value else 999.0)


def held_out_lines() -> list[str]:
    """Accuracy on the held-out side of the corpus; the baseline is the knowledge base without its model."""
    _, held_out = split(read_corpus())
    if not held_out:
        return []
    kb = load_knowledge()
    report = evaluate(held_out, knowledge_classifier())
    rules_only = evaluate(held_out, knowledge_classifier(knowledge=dataclasses.replace(kb, model=None)))
    worst = report.worst_category()
    worst_rate = worst[1] if worst else 0.0
    rules_worst = rules_only.worst_category()
    print(f"held-out side: {len(held_out)} messages; weakest category {worst[0] if worst else '-'}")
    for name, tally in sorted(report.by_category.items()):
        print(
            f"  category {name}: {tally.total} messages, {tally.category_rate():.1%} / {tally.disposition_rate():.1%}"
        )
    languages = [
        bench_line(
            f"classify_held_out_categories_{language}",
            "-",
            value=tally.category_rate(),
            unit="share",
            baseline=rules_only.by_language[language].category_rate() if language in rules_only.by_language else 0.0,
            target=">=0.90",
            ok=tally.category_rate() >= 0.90,
            ratio=_ratio(
                tally.category_rate(),
                rules_only.by_language[language].category_rate() if language in rules_only.by_language else 0.0,
            ),
        )
        for language, tally in sorted(report.by_language.items())
        if tally.total >= 10  # a language with a handful of held-out messages says nothing yet
    ]
    overall = [
        bench_line(
            "classify_held_out_categories",
            "-",
            value=report.overall.category_rate(),
            unit="share",
            baseline=rules_only.overall.category_rate(),
            target=">=0.90",
            ok=report.overall.category_rate() >= 0.90,
        ),
        bench_line(
            "classify_held_out_dispositions",
            "-",
            value=report.overall.disposition_rate(),
            unit="share",
            baseline=rules_only.overall.disposition_rate(),
            target=">=0.90",
            ok=report.overall.disposition_rate() >= 0.90,
        ),
        bench_line(
            "classify_held_out_weakest_category",
            "-",
            value=worst_rate,
            unit="share",
            baseline=rules_worst[1] if rules_worst else 0.0,
            target=">=0.75",
            ok=worst_rate >= 0.75,
            ratio=_ratio(worst_rate, rules_worst[1] if rules_worst else 0.0),
        ),
    ]
    return [*languages, *overall]


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    lines = run(quick)
    mix = messages(2_000)
    categories: dict[str, int] = {}
    for connector, flow, message in mix:
        category = classify(connector=connector, flow=flow, message=message).category
        categories[category] = categories.get(category, 0) + 1
    print(f"mix of {len(mix)} messages by category: " + ", ".join(f"{k}={v}" for k, v in sorted(categories.items())))
    print("\n".join(lines))  # again at the end, together


if __name__ == "__main__":
    main(sys.argv[1:])
