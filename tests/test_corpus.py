"""The real-message corpus (src/ponte/knowledge/data/corpus/*.jsonl): every line is a labelled, sourced message.

The classifier's honest evaluation splits this corpus by `source_group`, so these checks keep it usable for that:
well-formed lines, labels from categories.yaml, unique ids and messages, a source on every line, enough messages in
every category and language, no source dominating, and none of the shared examples copied in.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

from ponte.knowledge.loader import DEFAULT_DIR

CORPUS_DIR = DEFAULT_DIR / "corpus"
SHARED_EXAMPLES = Path("/work/shared/knowledge/examples.jsonl")

REQUIRED = {"id", "message", "marketplace", "flow", "language", "category", "disposition", "source", "source_group"}
OPTIONAL = {"code", "http_status"}
FLOWS = {"order", "product", "price", "inventory", "tracking"}
LANGUAGES = {"pt", "en", "es"}
DISPOSITIONS = {"transient", "fix", "marketplace", "wait", "terminal"}
# Floors the corpus meets today; a change that drops below them fails. Issue 22's targets are 900+ lines, 25 per
# category, 80 in each language, at least 20 sources and none above 15%. The categories still short of 25 are named
# with the count they have, so the gap is visible and cannot silently widen. Raise these as sources are added.
MIN_TOTAL = 1344
MIN_PER_CATEGORY = 25
SHORT_CATEGORIES: dict[str, int] = {
    "buyer_data_invalid": 24,
    "price_divergence": 12,
    "rate_limited": 23,
    "sku_not_sellable": 11,
}
MIN_PER_LANGUAGE = 80
SHORT_LANGUAGES: dict[str, int] = {}
MAX_GROUP_SHARE = 0.15
MIN_GROUPS = 42


def _category_names() -> set[str]:
    return set(yaml.safe_load((DEFAULT_DIR / "categories.yaml").read_text(encoding="utf-8")))


def _normalised(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", ascii_text).strip()


def _lines() -> list[tuple[str, int, dict]]:
    out = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert raw.strip(), f"{path.name}:{number}: blank line"
            out.append((path.name, number, json.loads(raw)))
    return out


LINES = _lines()


def test_the_corpus_is_there_and_big_enough() -> None:
    assert len(LINES) >= MIN_TOTAL


@pytest.mark.parametrize("where,number,record", LINES, ids=[f"{w}:{n}" for w, n, _ in LINES])
def test_every_line_is_well_formed(where: str, number: int, record: dict) -> None:
    keys = set(record)
    assert keys >= REQUIRED, f"missing {sorted(REQUIRED - keys)}"
    assert keys <= REQUIRED | OPTIONAL, f"unknown fields {sorted(keys - REQUIRED - OPTIONAL)}"
    for field in REQUIRED:
        assert isinstance(record[field], str) and record[field].strip() == record[field] != "", field
    assert record["category"] in _category_names()
    assert record["disposition"] in DISPOSITIONS
    assert record["language"] in LANGUAGES
    assert record["flow"] in FLOWS
    assert re.fullmatch(r"[a-z0-9_]+", record["marketplace"]), record["marketplace"]
    assert len(record["source"]) >= 10, "a source precise enough to find the message again"
    if "code" in record:
        assert isinstance(record["code"], str) and record["code"].strip()
    if "http_status" in record:
        assert isinstance(record["http_status"], int) and 100 <= record["http_status"] <= 599


def test_ids_and_messages_are_unique() -> None:
    ids = Counter(r["id"] for _, _, r in LINES)
    assert [i for i, n in ids.items() if n > 1] == []
    messages = Counter(_normalised(r["message"]) for _, _, r in LINES)
    assert [m for m, n in messages.items() if n > 1] == []


def test_no_shared_example_is_copied_in() -> None:
    if not SHARED_EXAMPLES.exists():
        pytest.skip("shared/knowledge/examples.jsonl is not beside this checkout")
    examples = {_normalised(json.loads(line)["message"]) for line in SHARED_EXAMPLES.read_text().splitlines() if line}
    copied = [r["message"] for _, _, r in LINES if _normalised(r["message"]) in examples]
    assert copied == []


def test_every_category_has_enough_messages() -> None:
    counts = Counter(r["category"] for _, _, r in LINES)
    short = {c: counts[c] for c in _category_names() if counts[c] < SHORT_CATEGORIES.get(c, MIN_PER_CATEGORY)}
    assert short == {}


def test_every_language_is_represented() -> None:
    counts = Counter(r["language"] for _, _, r in LINES)
    floor = {lang: SHORT_LANGUAGES.get(lang, MIN_PER_LANGUAGE) for lang in LANGUAGES}
    assert {lang: counts[lang] for lang in LANGUAGES if counts[lang] < floor[lang]} == {}


def test_no_source_group_dominates() -> None:
    counts = Counter(r["source_group"] for _, _, r in LINES)
    assert len(counts) >= MIN_GROUPS, "too few sources for a split by source"
    too_big = {g: n for g, n in counts.items() if n > MAX_GROUP_SHARE * len(LINES)}
    assert too_big == {}


def test_a_source_group_lives_in_one_file() -> None:
    # One file per source family keeps a by-source split a matter of choosing files.
    files_per_group: dict[str, set[str]] = {}
    for where, _, record in LINES:
        files_per_group.setdefault(record["source_group"], set()).add(where)
    assert {g: f for g, f in files_per_group.items() if len(f) > 1} == {}
