"""Every marketplace article's category sections have the parts issue 26 asks for, in every language: the
marketplace's own message(s) in backticks (or an explicit "no message is known"), what it means, the fix in Ponte (a
link to a Ponte screen, or an explicit "nothing to do in Ponte"), what to do in the marketplace's portal, and whom to
contact. Each quoted message is found in the knowledge corpus (data/corpus: real messages with their sources).

UNVERIFIED lists the quotes not found in the corpus yet, so that the list can only shrink: a message that reaches the
corpus (or is rewritten as the corpus has it) fails the test until it leaves the list.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from ponte.knowledge.articles import marketplace_articles

CORPUS = Path(__file__).resolve().parents[1] / "src" / "ponte" / "knowledge" / "data" / "corpus"
LANGUAGES = ("pt-BR", "en", "es")

# Each part's bold label, as the articles write it, per language.
LABELS = {
    "pt-BR": {
        "message": r"Mensage(?:m|ns)",
        "meaning": r"O que significa",
        "ponte": r"No Ponte",
        "portal": r"(?:Na|No|Nas|Nos) (?!Ponte)[^*]+",
        "contact": r"Contato|Com quem falar|[^*]+ / contato",
    },
    "en": {
        "message": r"Messages?",
        "meaning": r"What it means",
        "ponte": r"In Ponte",
        "portal": r"(?:On|In) (?!Ponte)[^*]+",
        "contact": r"Contact|Whom to contact|[^*]+ / contact",
    },
    "es": {
        "message": r"Mensajes?",
        "meaning": r"Qué significa",
        "ponte": r"En Ponte",
        "portal": r"En (?!Ponte)[^*]+",
        "contact": r"Contacto|A quién contactar|[^*]+ / contacto",
    },
}
NO_MESSAGE = {"pt-BR": "nenhuma mensagem", "en": "no message", "es": "no se conoce ningún mensaje"}
NOTHING_IN_PONTE = {"pt-BR": "nada a fazer", "en": "nothing to do", "es": "nada que hacer"}
PONTE_LINK = re.compile(r"\]\(/[^)]*\)")
LABEL = re.compile(r"\*\*([^*]+?):\*\*")

# Quoted messages not (yet) found in the corpus: each needs its real source added to data/corpus, or a rewrite.
UNVERIFIED: set[tuple[str, str, str]] = {
    ("amazon", "out_of_stock", "Order with SKU out of stock"),
    ("amazon", "sla_unavailable", "No available sla to deliver this order"),
    ("americanas", "invoice_tracking_rejected", "Pedido com chave da nota inválida"),
    ("carrefour", "out_of_stock", "Order with SKU out of stock"),
    ("dafiti", "invalid_attribute_value", "Valor de variação inválido"),
    ("magalu", "buyer_data_invalid", "O campo Documento no perfil do cliente é inválido"),
    ("magalu", "out_of_stock", "Os skus não possuem estoque suficiente para integrar o pedido"),
    ("magalu", "sku_not_linked", "O produto pai não foi integrado"),
    ("mercadolivre", "out_of_stock", "Order with SKU out of stock"),
    ("via", "auth_invalid", "Acesso Negado - Auth-token inválido ou inexistente"),
    ("via", "buyer_data_invalid", "O campo Documento no perfil do cliente é inválido"),
    ("via", "out_of_stock", "Order with SKU out of stock"),
    (
        "via",
        "state_conflict",
        "O pedido com marketplace id {XXX} para o afiliado {XXX} já está cancelado e não pode ser recriado",
    ),
}


def _paragraphs(text: str) -> dict[str, str]:
    """Each bold-labelled paragraph of a section, by label (a label's text runs to the next label)."""
    found = list(LABEL.finditer(text))
    return {
        match.group(1): text[match.end() : found[n + 1].start() if n + 1 < len(found) else len(text)]
        for n, match in enumerate(found)
    }


def _parts(language: str, text: str) -> dict[str, str]:
    """The part each labelled paragraph fills (a "portal / contact" label fills both)."""
    parts: dict[str, str] = {}
    for label, body in _paragraphs(text).items():
        for part, pattern in LABELS[language].items():
            if re.fullmatch(pattern, label) and part not in parts:
                parts[part] = body
    return parts


def _sections():
    for article in marketplace_articles():
        for language in LANGUAGES:
            for section in article.sections(language):
                if section.anchor:
                    yield article.key, language, section


@cache
def _corpus() -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
    messages, codes = set(), set()
    for path in CORPUS.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                messages.add(entry["message"])
                if entry.get("code"):
                    codes.add(str(entry["code"]))
    return frozenset(messages), frozenset(codes), tuple(sorted(messages))


def in_corpus(quoted: str) -> bool:
    """The message as the corpus has it, a code the corpus gives, or an excerpt marked with "…" whose pieces are all
    verbatim in one corpus message."""
    messages, codes, ordered = _corpus()
    if quoted in messages or quoted in codes:
        return True
    pieces = [piece.strip() for piece in quoted.split("…") if piece.strip()]
    return "…" in quoted and any(all(piece in message for piece in pieces) for message in ordered)


def test_every_category_section_has_every_part_in_every_language() -> None:
    missing: dict[tuple[str, str], dict[str, set[str]]] = {}
    problems = []
    for key, language, section in _sections():
        parts = _parts(language, section.text)
        lacking = {part for part in LABELS[language] if part not in parts}
        missing.setdefault((key, section.anchor), {})[language] = lacking
        message = parts.get("message")
        if message is not None and "`" not in message and NO_MESSAGE[language] not in message:
            problems.append((key, language, section.anchor, "message: nothing quoted and no 'no message' form"))
        ponte = parts.get("ponte")
        if (
            ponte is not None
            and not PONTE_LINK.search(ponte)
            and not ponte.strip().startswith(NOTHING_IN_PONTE[language])
        ):
            problems.append((key, language, section.anchor, "Ponte: no link to a Ponte screen, no 'nothing to do'"))
    assert problems == []
    for where, by_language in missing.items():
        assert set(by_language) == set(LANGUAGES), (where, "a section missing in a language")
        assert len({frozenset(lacking) for lacking in by_language.values()}) == 1, (where, by_language)  # in step
    gaps = {where: by_language["pt-BR"] for where, by_language in missing.items() if by_language["pt-BR"]}
    assert gaps == {}


def test_every_quoted_message_is_in_the_knowledge_corpus() -> None:
    quoted = set()
    for key, language, section in _sections():
        message = _parts(language, section.text).get("message") or ""
        # as Markdown shows it: a line break inside the backticks is a space
        quoted |= {(key, section.anchor, " ".join(text.split())) for text in re.findall(r"`([^`]+)`", message)}
    assert len(quoted) > 100
    absent = {entry for entry in quoted if not in_corpus(entry[2])}
    assert absent == UNVERIFIED  # a message found since leaves the list; a new one must come from the corpus


@pytest.mark.parametrize(
    ("quoted", "found"),
    [
        ("Nenhum SLA disponível para entregar esse(s) SKU(s).", True),
        ("Nenhum SLA disponível", False),  # a piece, not marked as an excerpt
        ("Nenhum SLA disponível …", True),
        ("Nenhum SLA disponível para entregar esse(s) SKU(s)!", False),
        ("90220", True),  # a code the corpus gives
    ],
)
def test_a_quote_counts_only_verbatim_or_as_a_marked_excerpt(quoted: str, found: bool) -> None:
    assert in_corpus(quoted) is found
