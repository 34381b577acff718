"""Measuring the classifier: labelled files, the fixed split by source, reports and `ponte explain --evaluate`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponte.cli import app
from ponte.knowledge.evaluation import (
    LabelledFileError,
    evaluate,
    is_held_out,
    knowledge_classifier,
    read_corpus,
    read_labelled,
    split,
)

ROWS = [
    # Two a rule knows, one nothing knows (expected state_conflict, given something else), one wrong disposition.
    {
        "marketplace": "amazon",
        "flow": "order",
        "message": "Order with SKU out of stock",
        "category": "out_of_stock",
        "disposition": "fix",
        "language": "en",
    },
    {
        "marketplace": "magalu",
        "flow": "product",
        "message": "O EAN 7891234567895 é inválido",
        "category": "invalid_gtin",
        "disposition": "fix",
        "language": "pt",
    },
    {
        "marketplace": "vtex",
        "flow": "order",
        "message": "Lorem ipsum dolor sit amet",
        "category": "state_conflict",
        "disposition": "terminal",
        "language": "es",
    },
    {
        "marketplace": "amazon",
        "flow": "price",
        "message": "429 QuotaExceeded: You exceeded your quota",
        "category": "rate_limited",
        "disposition": "wait",
        "language": "en",
    },
]


@pytest.fixture
def labelled(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in ROWS), encoding="utf-8")
    return path


def test_it_counts_categories_dispositions_languages_and_confusions(labelled):
    report = evaluate(read_labelled(labelled), knowledge_classifier())
    assert (report.overall.total, report.overall.categories, report.overall.dispositions) == (4, 3, 2)
    assert report.by_language["en"].categories == 2 and report.by_language["es"].categories == 0
    assert report.by_category["state_conflict"].category_rate() == 0.0
    assert report.confusion[("out_of_stock", "out_of_stock")] == 1
    assert sum(n for (e, g), n in report.confusion.items() if e != g) == 1
    assert report.worst_category() == ("state_conflict", 0.0)


def test_the_command_prints_the_tables_and_the_matrix(labelled):
    result = CliRunner().invoke(app, ["explain", "--evaluate", str(labelled), "--misses", "5"])
    assert result.exit_code == 0, result.output
    assert "categories 75.0%, dispositions 50.0%" in result.output
    assert "by category" in result.output and "by language" in result.output
    assert "confusion matrix (rows: expected, columns: given)" in result.output
    assert "expected state_conflict/terminal" in result.output  # the misses listed
    as_json = json.loads(CliRunner().invoke(app, ["explain", "--evaluate", str(labelled), "--json"]).output)
    assert (as_json["messages"], as_json["category_accuracy"], as_json["disposition_accuracy"]) == (4, 0.75, 0.5)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "line 2: not JSON"),
        (
            '{"message": "x", "category": "out_of_stock"}',
            "line 2: needs marketplace, flow, message, category, disposition",
        ),
        (
            '{"marketplace": "a", "flow": "order", "message": "x", "category": "c", "disposition": "fix", "http_status": 42}',
            "line 2: http_status must be",
        ),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_measured(tmp_path, line, error):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(LabelledFileError, match=error):
        read_labelled(path)
    result = CliRunner().invoke(app, ["explain", "--evaluate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output and "bad.jsonl" in result.output


def test_a_missing_file_is_a_sentence(tmp_path):
    result = CliRunner().invoke(app, ["explain", "--evaluate", str(tmp_path / "nope.jsonl")])
    # The terminal wraps long lines (a long temporary path pushes "cannot be read" across a line end).
    assert result.exit_code == 1 and "cannot be read" in " ".join(result.output.split())


def test_explain_wants_a_message_or_a_file():
    result = CliRunner().invoke(app, ["explain"])
    assert result.exit_code == 2 and "--evaluate FILE" in result.output


def test_the_split_keeps_each_source_on_one_side_and_never_moves():
    rows = read_corpus()
    assert len(rows) >= 500
    training, held_out = split(rows)
    assert held_out and training
    assert {r.source_group for r in training}.isdisjoint({r.source_group for r in held_out})
    # The side is a function of the source's name alone (fixed in code): adding rows moves nothing.
    assert [is_held_out(r.source_group) for r in held_out] == [True] * len(held_out)
    assert is_held_out("some new source") == is_held_out("some new source")
    assert not is_held_out(None)  # a row without a source is never held out


def test_the_shipped_model_was_trained_on_the_training_side_of_this_corpus():
    from ponte.knowledge import load_knowledge
    from ponte.knowledge.training import fingerprint

    training, held_out = split(read_corpus())
    about = load_knowledge().model.about
    assert about["trained_on"] == fingerprint(training), "the corpus changed: run `ponte knowledge train`"
    assert about["held_out"] == len(held_out)
