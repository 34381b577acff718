"""How the knowledge base reads messages it has no rule for: code tables (Ponte's and the connectors'), the
multilingual vocabulary, and the statistical model with its confidence ("provável" below the threshold)."""

from __future__ import annotations

import dataclasses
import shutil
import sys

import pytest

from ponte.domain import Disposition
from ponte.knowledge import KnowledgeError, classify, clear_knowledge_cache, explain_text, load_knowledge
from ponte.knowledge.classifier import MODEL_CONFIDENT, MODEL_GUESS
from ponte.knowledge.codes import register_code_table, unregister_code_tables
from ponte.knowledge.features import Vocabulary, features, language_of, spell_codes, stem, words
from ponte.knowledge.loader import DEFAULT_DIR
from ponte.knowledge.model import Example, LinearModel, load_model, train

# -- code tables --------------------------------------------------------------------------------------


def test_a_documented_code_decides_whatever_the_wording(tmp_path):
    found = classify(connector="amazon", flow="product", message="8541: something we never saw worded so")
    assert (found.category, found.rule, found.likely, found.confidence) == (
        "invalid_gtin",
        "code:amazon:8541",
        False,
        1.0,
    )
    # The same number from another marketplace means nothing: tables are per marketplace.
    assert (
        classify(connector="magalu", flow="product", message="8541: something we never saw").rule != "code:amazon:8541"
    )


def test_a_family_code_lets_the_message_say_which_attribute():
    # "A required attribute is missing" is a family: the attribute named decides when it is an identifier.
    gtin = classify(connector="amazon", flow="product", message="8058: The attributes [GTIN] are required")
    brand = classify(connector="amazon", flow="product", message="8058: zzz qqq")
    assert (gtin.category, brand.category, brand.rule) == ("invalid_gtin", "missing_attribute", "code:amazon:8058")


def test_a_code_given_apart_is_found_in_any_case():
    found = classify(connector="mirakl", flow="order", message="Bad request", code="ORDER_INVALID_STATE")
    assert (found.category, found.disposition) == ("state_conflict", Disposition.TERMINAL)


@pytest.mark.parametrize(
    ("connector", "message", "code", "category", "disposition"),
    [
        ("bling", "Rejeição 204: Duplicidade de NF-e [nRec:351000012345678]", None, "state_conflict", "terminal"),
        ("tiny", "Rejeicao: 280 - Certificado Transmissor invalido", None, "auth_invalid", "fix"),
        ("bling", "cStat=611 xMotivo=Rejeicao: cEAN invalido", None, "invalid_gtin", "fix"),
        ("bling", "cStat 108 - Servico Paralisado Momentaneamente", None, "marketplace_unavailable", "transient"),
        ("bling", "[611] Rejeição: cEAN inválido", None, "invalid_gtin", "fix"),
        ("tiny", "Código 204 - Rejeição: Duplicidade de NF-e", None, "state_conflict", "terminal"),
        ("bling", "Rejeição: Duplicidade de NF-e", "204", "state_conflict", "terminal"),
        ("tiny", "692-Rejeição: Existe EPEC registrado para esta Série e Número", None, "state_conflict", "terminal"),
        ("tiny", "Rejeição 635: NF-e com mesmo número e série já transmitida", None, "state_conflict", "wait"),
        ("bling", "Rejeição 233: anything the ERP abbreviated", None, "buyer_data_invalid", "marketplace"),
        ("sefaz", "Rejeição: Emissor não habilitado", "203", "seller_restricted", "marketplace"),
    ],
)
def test_a_sefaz_rejection_is_read_by_its_cstat_whoever_relays_it(connector, message, code, category, disposition):
    found = classify(connector=connector, flow="order", message=message, code=code)
    assert (found.category, found.disposition.value, found.likely) == (category, disposition, False)
    assert found.rule and found.rule.startswith("code:sefaz:")


def test_the_nfe_table_never_reads_another_fiscal_documents_numbers():
    # CT-e's 252 is not NF-e's 252; a number with no SEFAZ wording around it is not a cStat either.
    assert not (classify(connector="bling", flow="order", message="CT-e Rejeição 252: xyz").rule or "").startswith(
        "code:sefaz"
    )
    assert not (classify(connector="bling", flow="order", message="204: qqq").rule or "").startswith("code:sefaz")
    assert not (
        classify(connector="bling", flow="product", message="Anúncio rejeitado 204 vezes").rule or ""
    ).startswith("code:sefaz")
    # An HTTP status from SEFAZ's gateway is not the cStat with the same number (503 is a series outside SCAN's).
    relayed = classify(connector="bling", flow="order", message="503 Service Unavailable - SEFAZ NF-e", code="503")
    assert (relayed.category, relayed.disposition) == ("marketplace_unavailable", Disposition.TRANSIENT)


@pytest.fixture
def connector_table(tmp_path):
    path = tmp_path / "mymarket.yaml"
    path.write_text(
        "marketplace: mymarket\n"
        "codes:\n"
        "  E-1001: {category: out_of_stock}\n"
        "  E-1002: {category: seller_restricted, disposition: wait}\n",
        encoding="utf-8",
    )
    yield path
    unregister_code_tables()
    clear_knowledge_cache()


def test_a_connector_brings_its_own_code_table(connector_table):
    assert classify(connector="mymarket", flow="inventory", message="x", code="E-1001").category != "out_of_stock"
    register_code_table(connector_table)
    clear_knowledge_cache()
    assert classify(connector="mymarket", flow="inventory", message="x", code="e-1001").category == "out_of_stock"
    waited = classify(connector="mymarket", flow="product", message="E-1002: brand", code=None)
    assert (waited.category, waited.disposition, waited.rule) == (
        "seller_restricted",
        Disposition.WAIT,
        "code:mymarket:e-1002",
    )


def test_a_connector_table_wins_over_pontes_own_for_the_same_code(tmp_path, connector_table):
    own = tmp_path / "amazon-own.yaml"
    own.write_text("marketplace: amazon\ncodes:\n  '8541': {category: invalid_attribute_value}\n", encoding="utf-8")
    register_code_table(own)
    clear_knowledge_cache()
    assert classify(connector="amazon", flow="product", message="8541: conflict").category == "invalid_attribute_value"


def test_a_connector_package_gives_tables_through_an_entry_point(tmp_path, monkeypatch, connector_table):
    # A real (if tiny) installed distribution: metadata with an entry point, found on sys.path.
    package = tmp_path / "site"
    (package / "mymarket_codes").mkdir(parents=True)
    (package / "mymarket_codes" / "__init__.py").write_text(
        f"def tables():\n    return [{str(connector_table)!r}]\n", encoding="utf-8"
    )
    info = package / "mymarket_codes-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mymarket-codes\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[ponte.error_codes]\nmymarket = mymarket_codes:tables\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(package))
    clear_knowledge_cache()
    try:
        assert classify(connector="mymarket", flow="inventory", message="E-1001: out").category == "out_of_stock"
    finally:
        sys.modules.pop("mymarket_codes", None)
        monkeypatch.undo()
        clear_knowledge_cache()


def test_a_wrong_code_table_names_the_file_and_the_code(tmp_path, connector_table):
    bad = tmp_path / "bad.yaml"
    bad.write_text("marketplace: amazon\ncodes:\n  '1234': {category: no_such_thing}\n", encoding="utf-8")
    register_code_table(bad)
    clear_knowledge_cache()
    with pytest.raises(KnowledgeError, match=r"bad.yaml: code '1234': unknown category 'no_such_thing'"):
        load_knowledge()


# -- words, stems and vocabulary ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("O produto não possui estoque suficiente", "pt"),
        ("La publicación no tiene existencias disponibles", "es"),
        ("The item is out of stock", "en"),
        ("QuotaExceeded", "en"),
    ],
)
def test_it_tells_the_language_by_its_function_words(message, language):
    assert language_of(words(message)) == language


def test_codes_are_split_into_words():
    assert words("QuotaExceeded: item.price.invalid MISSING_REQUIRED") == [
        "quota",
        "exceeded",
        "item",
        "price",
        "invalid",
        "missing",
        "required",
    ]


@pytest.mark.parametrize(
    ("message", "spelled"),
    [
        ("item.price.invalid", "item price invalid"),
        ("INVALID_SKU", "invalid sku"),
        ("QuotaExceeded", "quota exceeded"),
        ("seller-not-authorized", "seller not authorized"),
        ("SKUNotFound", "sku not found"),
        ("E-mail inválido na NF-e", ""),  # hyphenated words are words, not codes
        ("price 10.5 invalid", ""),
    ],
)
def test_machine_codes_are_spelled_out_for_rules_and_patterns(message, spelled):
    assert spell_codes(message) == spelled


@pytest.mark.parametrize(
    ("message", "category", "disposition"),
    [
        ("SELLER_NOT_AUTHORIZED", "seller_restricted", "marketplace"),
        ("seller-not-authorized", "seller_restricted", "marketplace"),
        ("ERR_ORDER_ALREADY_SHIPPED", "state_conflict", "terminal"),
        ("INVALID_STATE_TRANSITION", "state_conflict", "terminal"),
        ("OrderVersionConflict: modified by another process", "state_conflict", "wait"),
    ],
)
def test_a_code_with_no_sentence_is_read_by_the_patterns_as_words(message, category, disposition):
    found = classify(connector="somewhere", flow="order", message=message)
    assert (found.category, found.disposition.value, found.likely) == (category, disposition, False)
    assert found.rule and found.rule.startswith("pattern:")


@pytest.mark.parametrize("message", ["E1234", "4023", "ERR-9981", " [E-77] "])
def test_a_bare_vendor_number_is_a_likely_unmapped_never_terminal(message):
    found = classify(connector="somewhere", flow="order", message=message)
    assert (found.category, found.likely, found.rule) == ("unmapped", True, "code:unknown")
    assert found.disposition is not Disposition.TERMINAL
    # The HTTP status still says more than a number nobody documented.
    assert classify(connector="somewhere", flow="order", message=message, http_status=503).category == (
        "marketplace_unavailable"
    )


def test_inflections_meet_at_one_stem():
    assert stem("invalidos", "pt") == stem("invalida", "pt") == stem("invalido", "es")
    assert stem("images", "en") == stem("image", "en")


def test_the_vocabulary_finds_a_term_in_any_of_the_three_languages():
    vocabulary = Vocabulary.build({"out_of_stock": ["sem estoque", "existencias"], "image_problem": ["imagem"]})
    for message, expected in [
        ("Produto SEM ESTOQUE no depósito", {"out_of_stock"}),
        ("Sin existencias para la publicación", {"out_of_stock"}),
        ("As imagens não abrem", {"image_problem"}),
    ]:
        found = {f.removeprefix("v:") for f in features(message, vocabulary=vocabulary) if f.startswith("v:")}
        assert found == expected, message


def test_a_word_meets_its_translation_by_its_first_letters():
    prefixes = [
        {f for f in features(message) if f.startswith("p:")}
        for message in ("Certificado vencido", "Certificate expired", "Configuración inválida", "Configuração inválida")
    ]
    assert "p:certi" in prefixes[0] & prefixes[1]
    assert "p:confi" in prefixes[2] & prefixes[3]
    assert not {f for f in features("o sku") if f.startswith("p:")}  # short words and stopwords give none


@pytest.mark.parametrize(
    ("connector", "code", "category", "disposition"),
    [
        ("mercadolivre", "item.not_found", "sku_not_linked", "fix"),
        ("mercadolivre", "shipment.tracking_number.missing", "invoice_tracking_rejected", "fix"),
        ("carrefour", "ORDER_LINE_NOT_FOUND", "state_conflict", "terminal"),
        ("mirakl", "ORDER_LINE_DUPLICATE_ID", "integration_config", "terminal"),
    ],
)
def test_the_codes_a_connector_documents_are_read_by_explain_too(connector, code, category, disposition):
    found = classify(connector=connector, flow="order", message="whatever the wording", code=code)
    assert (found.category, found.disposition.value) == (category, disposition)
    assert found.rule is not None and found.rule.startswith("code:")


# -- the model and its confidence -----------------------------------------------------------------------


def _model(category: str, weight: float) -> LinearModel:
    """A model that reads one word: "zorblax" means `category`, with a strength of `weight`."""
    classes = ("auth_invalid", "image_problem", "out_of_stock", "rate_limited", "state_conflict", "unmapped")
    index = classes.index(category)
    return LinearModel(classes, (0.0,) * len(classes), {"w:zorblax": ((index, weight),)})


@pytest.fixture
def kb():
    return load_knowledge()


def test_a_confident_model_answer_is_taken_as_it_is(kb):
    confident = dataclasses.replace(kb, model=_model("state_conflict", 8.0))
    found = classify(connector=None, flow="order", message="zorblax 12", knowledge=confident)
    assert (found.category, found.rule, found.likely) == ("state_conflict", "model", False)
    assert found.confidence >= MODEL_CONFIDENT and found.disposition is Disposition.TERMINAL


def test_a_low_confidence_guess_says_so_and_is_never_terminal(kb):
    unsure = dataclasses.replace(kb, model=_model("state_conflict", 1.0))
    found = classify(connector=None, flow="order", message="zorblax 12", knowledge=unsure)
    assert MODEL_GUESS <= found.confidence < MODEL_CONFIDENT
    assert (found.category, found.likely, found.disposition) == ("state_conflict", True, Disposition.FIX)
    assert "provável" in explain_text(found, "pt-BR") and "likely" in explain_text(found, "en")


def test_below_the_guess_threshold_the_http_status_or_unmapped_answers(kb):
    silent = dataclasses.replace(kb, model=_model("state_conflict", 0.1))
    assert classify(connector=None, flow="order", message="zorblax", knowledge=silent).category == "unmapped"
    by_status = classify(connector=None, flow="order", message="zorblax", http_status=503, knowledge=silent)
    assert (by_status.category, by_status.rule) == ("marketplace_unavailable", "http:503")


def test_a_rule_wins_over_the_model(kb):
    stubborn = dataclasses.replace(kb, model=_model("auth_invalid", 50.0))
    found = classify(connector=None, flow="order", message="zorblax: out of stock", knowledge=stubborn)
    assert (found.category, found.likely, found.confidence) == ("out_of_stock", False, 1.0)


def test_training_learns_words_and_the_file_round_trips(tmp_path):
    examples = [
        Example(features("sem estoque para o sku"), "out_of_stock"),
        Example(features("estoque insuficiente"), "out_of_stock"),
        Example(features("token expirado"), "auth_invalid"),
        Example(features("token de acesso invalido"), "auth_invalid"),
    ]
    model = train(examples, epochs=30)
    assert model.predict(features("o estoque acabou")).category == "out_of_stock"
    assert model.predict(features("o token venceu")).category == "auth_invalid"
    path = tmp_path / "model.json"
    path.write_bytes(model.to_json())
    again = load_model(path, ["out_of_stock", "auth_invalid"])
    before, after = model.predict(features("o token venceu")), again.predict(features("o token venceu"))
    assert after.category == before.category and after.probability == pytest.approx(before.probability, abs=1e-3)


def test_a_model_naming_an_unknown_category_is_refused(tmp_path):
    copy = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIR, copy)
    (copy / "model.json").write_bytes(_model("state_conflict", 1.0).to_json().replace(b"state_conflict", b"gone_now"))
    with pytest.raises(KnowledgeError, match=r"model\.json: categories not in categories\.yaml: gone_now"):
        load_knowledge(copy)


def test_the_shipped_model_loads_and_reads_a_message_no_rule_knows():
    kb = load_knowledge()
    assert kb.model is not None and len(kb.model.classes) >= 20
    found = classify(connector=None, flow="product", message="Sem existência no armazém para este item", knowledge=kb)
    assert found.category == "out_of_stock"


# -- the worker and guesses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transient", "expected"), [(True, ("marketplace_unavailable", "transient")), (False, ("state_conflict", "fix"))]
)
def test_a_transient_failure_the_model_only_guesses_at_is_still_retried(tmp_path, monkeypatch, transient, expected):
    from types import SimpleNamespace

    from factories import knowledge_unsure_of
    from ponte.clock import now
    from ponte.connectors.base import Outcome
    from ponte.engine.recording import Work, explain

    affiliate = SimpleNamespace(connector="sandbox", marketplace="sandbox", settings={}, code="MLB", id=1)
    claim = SimpleNamespace(flow="order", account_id=1)
    outcome = Outcome.error("zorblax: the line dropped", transient=transient)
    with knowledge_unsure_of("zorblax", "state_conflict", tmp_path, monkeypatch):
        category, disposition = explain(Work(claim, affiliate, outcome, now(), 5), [])  # type: ignore[arg-type]
    assert (category, disposition.value) == expected
