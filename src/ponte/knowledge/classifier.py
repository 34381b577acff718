"""The classifier: a failed attempt's message, code and HTTP status -> category, disposition, fix and help.

Order of evidence, most specific first:
  1. the account's own rules (scoped by connector and flow when they say so);
  2. the marketplace's code tables (codes/<marketplace>.yaml and the connectors' own), by exact code; SEFAZ's
     NF-e rejection codes (codes/sefaz.yaml) first, for a message that reads as one, whoever relays it;
  3. the marketplace's rules, by error code and by message (rules/<marketplace>.yaml, then rules/_common.yaml);
  4. generic patterns per category in Portuguese, English and Spanish (patterns.yaml);
  5. the statistical model (model.json) when it is confident;
  6. the HTTP status (http_status.yaml);
  7. the model's low-confidence guess, marked `likely` (the screens say "provável"), never `terminal`;
  8. `unmapped`.
It runs on every failed attempt, so everything is compiled once, each message is folded once, and answers are
remembered per message shape (long numbers masked: ids never decide a category). Machine codes
("SELLER_NOT_AUTHORIZED", "QuotaExceeded") are spelled out as words for the rules and patterns (steps 3-4).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ponte.domain import Disposition
from ponte.knowledge import codes as code_tables
from ponte.knowledge.features import features, spell_codes
from ponte.knowledge.loader import Knowledge, KnowledgeError, Rule, load_knowledge
from ponte.knowledge.text import fold, fold_pattern
from ponte.knowledge.user_patterns import PatternError, UserMatcher, compile_pattern, user_matcher

# The model's probability from which its answer is taken as confident, and below which it is no answer at all.
# Chosen by grouped cross-validation on the training side of the corpus (`ponte knowledge cross-validate`); the
# sixth pass found the answer flat anywhere from 0.4 to 0.8.
MODEL_CONFIDENT = 0.6
MODEL_GUESS = 0.25


@dataclass(frozen=True)
class AccountRule:
    """An account's own rule: a message pattern (regular expression) that means this category.

    Matched case- and accent-insensitively against the message; `connector` and `flow` narrow it when set.
    `disposition` overrides the category's default when set.
    """

    pattern: str
    category: str
    connector: str | None = None
    flow: str | None = None
    disposition: Disposition | None = None
    id: str | None = None  # shown as the matching rule ("account:<id>")


@dataclass(frozen=True)
class Explanation:
    category: str
    disposition: Disposition
    fix: dict[str, str] = field(default_factory=dict)  # {"pt-BR": ..., "en": ...}
    title: dict[str, str] = field(default_factory=dict)
    help: str = ""  # path of the help article served by Ponte, e.g. /help/out_of_stock
    rule: str | None = None  # which rule matched, for "why this category?" ("model" for the statistical reader)
    contact: dict[str, str] = field(default_factory=dict)  # whom to ask, for `marketplace` dispositions
    confidence: float = 1.0  # 1.0 for a rule or a code; the model's probability otherwise
    likely: bool = False  # a low-confidence guess: shown as "provável"/"likely", never terminal


@dataclass(frozen=True)
class _Hit:
    category: str
    disposition: Disposition | None
    rule: str | None
    confidence: float = 1.0
    likely: bool = False


# Codes at the start of a message ("item.price.invalid: ...", "5665: ...", "429 QuotaExceeded: ...")
# or after the word code ("code: 001 / Invalid Email").
_LEADING_CODES = re.compile(
    r"^\W{0,3}([a-z][\w-]*(?:\.[\w-]+)+|\d{3,6}|[a-z]{1,8}[-_]?\d{2,6})(?:\s+([a-z]\w{3,40}))?\s*[:\-/\]]"
)
_NAMED_CODE = re.compile(r"\b(?:code|codigo|error_code|errorcode|cause_id|error)\W{1,3}([\w.-]+)")
_DOTTED_CODE = re.compile(r"\b[a-z_]+(?:\.[a-z_]+){1,4}\b")
_SNAKE_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+){1,6}\b")
# Runs of seven digits or more are ids (orders, listings, keys): masked, so they never decide anything and
# messages that differ only in them share one remembered answer.
_LONG_NUMBER = re.compile(r"\d{7,}")

# SEFAZ's NF-e/NFC-e rejections as ERPs relay them: "Rejeição 204: ...", "Rejeicao: 539 - ...", "cStat=204",
# "692-Rejeição: ...", "[204] Rejeição: ...". Their code means the same whoever relays it (data/codes/sefaz.yaml).
_SEFAZ_TABLE = "sefaz"
_SEFAZ_NAMES = frozenset({"sefaz", "nfe", "nf-e", "nfce", "nfc-e"})
# "Rejeição", not "rejeitado": "Anúncio rejeitado 204 vezes" is no cStat.
_SEFAZ_HINTS = ("rejeicao", "cstat")
_SEFAZ_CODE = re.compile(r"(?:rejeicao|cstat|c_stat)\W{0,4}(\d{3})\b|\b(\d{3})\s*-\s*rejeicao")
# "[204] Rejeição: ...", "Código 204 - Rejeição ...": a bare leading number is a cStat only beside the word
# "rejeição" (a relayed "503 Service Unavailable" from SEFAZ's gateway is an HTTP status, not cStat 503).
_SEFAZ_LEADING_CODE = re.compile(r"^\W{0,2}(\d{3})\b(?![.,]\d)|\bcodigo\W{0,4}(\d{3})\b")
# CT-e, MDF-e and NFS-e number their rejections differently: the NF-e table must not read them.
_OTHER_FISCAL_DOCUMENT = re.compile(r"\b(?:ct-?e|cte-?os|mdf-?e|nfs-?e|dacte|damdfe)\b")

# A message that is only a vendor's code: letters, then digits ("E1234", "ERR-4023", "4023").
_BARE_CODE = re.compile(r"^\W*[a-z]{0,6}[-_ ]?\d{2,}\W*$")

_remembered: dict[tuple[object, ...], Explanation] = {}
_remembered_for: list[Knowledge] = []
_REMEMBER_AT_MOST = 50_000


def classify(
    *,
    connector: str | None,
    flow: str | None,
    message: str,
    http_status: int | None = None,
    code: str | None = None,
    account_rules: Sequence[AccountRule] = (),
    knowledge: Knowledge | None = None,
) -> Explanation:
    """Explain one failed attempt. Never raises for odd input: an unknown message is `unmapped`."""
    kb = knowledge or load_knowledge()
    text = fold(message or "")
    if account_rules:
        hit = _match_account(kb, account_rules, connector, flow, text)
        if hit:
            return _explain(kb, hit, text)
    text = _LONG_NUMBER.sub("0000000", text)
    connector = connector.strip().lower() if connector else None
    marketplace = kb.marketplace_for(connector)
    key = (connector, flow, http_status, code, text)
    if not _remembered_for or _remembered_for[0] is not kb:
        _remembered.clear()
        _remembered_for[:] = [kb]
    found = _remembered.get(key)
    if found is None:
        if len(_remembered) >= _REMEMBER_AT_MOST:
            _remembered.clear()
        hit = _knowledge_hit(kb, connector, marketplace, flow, text, message, http_status, code)
        found = _remembered[key] = _explain(kb, hit, text)
    return found


def forget_answers() -> None:
    """Forget remembered answers (benchmarks measure a cold start; knowledge reloads do it by themselves)."""
    _remembered.clear()
    _remembered_for.clear()


def _knowledge_hit(
    kb: Knowledge,
    connector: str | None,
    marketplace: str | None,
    flow: str | None,
    text: str,
    message: str,
    http_status: int | None,
    code: str | None,
) -> _Hit:
    fiscal = _sefaz_entry(kb, connector, marketplace, text, code)
    if fiscal is not None:
        return _Hit(fiscal.category, fiscal.disposition, fiscal.source)
    codes = _codes(code, text)
    names: tuple[str | None, ...] = (connector, marketplace)
    if _SEFAZ_NAMES.intersection(names):
        names = ()  # the NF-e table answered above or must not answer (another document's numbering)
    entry = code_tables.find(kb.codes, names, flow, codes) if codes else None
    if entry is not None and not entry.family:
        return _Hit(entry.category, entry.disposition, entry.source)
    # Rules and patterns read machine codes as words too ("SELLER_NOT_AUTHORIZED", "QuotaExceeded",
    # "item.price.invalid"): the spelled-out words follow the message on a line of their own, so a pattern
    # matches either the message as written or its codes as words, never a mix of both.
    readable = text
    spelled = spell_codes(message)
    if spelled:
        readable = f"{text}\n{spelled}"
    hit = _match_marketplace(kb, marketplace, flow, readable, codes) or _match_patterns(kb, readable)
    if hit:
        return hit
    if entry is not None:
        return _Hit(entry.category, entry.disposition, entry.source)
    guess = _model_guess(kb, marketplace, flow, message, http_status, code)
    if guess and not guess.likely:
        return guess
    found = _match_status(kb, http_status) or guess
    if found:
        return found
    if _BARE_CODE.match(text):
        # A vendor's number with no words ("E1234", "4023"): nothing says what it is, so Ponte says it does not
        # know, as a guess (shown "provável"), which is never terminal.
        return _Hit("unmapped", None, "code:unknown", 0.0, True)
    return _Hit("unmapped", None, None)


def _sefaz_entry(
    kb: Knowledge, connector: str | None, marketplace: str | None, text: str, code: str | None
) -> code_tables.CodeEntry | None:
    """The NF-e table's entry for a message that reads as a SEFAZ rejection, whoever relays it (an ERP, a hub)."""
    table = kb.codes.get(_SEFAZ_TABLE)
    if not table:
        return None
    relayed = connector in _SEFAZ_NAMES or marketplace in _SEFAZ_NAMES
    worded = any(hint in text for hint in _SEFAZ_HINTS)
    if not (relayed or worded) or _OTHER_FISCAL_DOCUMENT.search(text):
        return None
    found = _SEFAZ_CODE.search(text) if worded else None
    if found is None and "rejeicao" in text:
        found = _SEFAZ_LEADING_CODE.search(text)
    number = next((group for group in found.groups() if group), None) if found else None
    if number is None and code and len(code.strip()) == 3 and code.strip().isdigit():
        number = code.strip()  # the attempt's code, from a SEFAZ connector or beside "rejeição"/"cStat"
    return table.get(number) if number else None


def _model_guess(
    kb: Knowledge, marketplace: str | None, flow: str | None, message: str, http_status: int | None, code: str | None
) -> _Hit | None:
    if kb.model is None or not (message or code):
        return None
    found = features(
        message, marketplace=marketplace, flow=flow, http_status=http_status, code=code, vocabulary=kb.vocabulary
    )
    weights = kb.model.weights
    if not any(f in weights for f in found if f[0] in "wv"):
        return None  # not one word the model has met: pieces of unknown words and the status alone prove nothing
    prediction = kb.model.predict(found)
    if prediction.probability < MODEL_GUESS or prediction.category not in kb.categories:
        return None
    likely = prediction.probability < MODEL_CONFIDENT
    return _Hit(prediction.category, None, "model", round(prediction.probability, 2), likely)


def _match_account(
    kb: Knowledge, rules: Sequence[AccountRule], connector: str | None, flow: str | None, text: str
) -> _Hit | None:
    if not rules:
        return None
    marketplace = kb.marketplace_for(connector)
    for rule in rules:
        if rule.connector and kb.marketplace_for(rule.connector) != marketplace:
            continue
        if rule.flow and rule.flow != flow:
            continue
        matcher = _account_matcher(rule.pattern)
        # A rule naming a category the data no longer has is skipped rather than breaking every attempt.
        if matcher is not None and rule.category in kb.categories and matcher.matches(text):
            return _Hit(rule.category, rule.disposition, f"account:{rule.id or rule.pattern}")
    return None


def _account_matcher(pattern: str) -> UserMatcher | None:
    # On RE2, never Python's backtracking engine: a user's pattern must not freeze the worker (user_patterns.py).
    return user_matcher(pattern)


def validate_account_rule(rule: AccountRule, knowledge: Knowledge | None = None) -> None:
    """Raise KnowledgeError with a clear reason when an account rule cannot be used (for the API and UI)."""
    kb = knowledge or load_knowledge()
    if rule.category not in kb.categories:
        raise KnowledgeError(f"account rule {rule.pattern!r}: unknown category {rule.category!r}")
    try:
        regex = compile_pattern(fold_pattern(rule.pattern))
    except PatternError as error:
        raise KnowledgeError(f"account rule {rule.pattern!r}: bad regular expression: {error}")
    if regex.search(""):
        raise KnowledgeError(f"account rule {rule.pattern!r}: matches an empty message, so it would match everything")


def _codes(code: str | None, text: str) -> tuple[str, ...]:
    found: list[str] = [fold(code).strip()] if code else []
    leading = _LEADING_CODES.match(text)
    if leading:
        found.extend(group for group in leading.groups() if group)
    if "cod" in text:
        found.extend(_NAMED_CODE.findall(text))
    if "." in text:
        found.extend(_DOTTED_CODE.findall(text[:200]))
    if "_" in text:
        found.extend(_SNAKE_CODE.findall(text[:200]))
    return tuple(found)


def _match_marketplace(
    kb: Knowledge, marketplace: str | None, flow: str | None, text: str, codes: tuple[str, ...]
) -> _Hit | None:
    for name in (marketplace, "*"):
        rules = kb.rules.get(name) if name else None
        if not rules:
            continue
        hit = _match_rules(rules, flow, text, codes)
        if hit:
            return hit
    return None


def _match_rules(rules: Iterable[Rule], flow: str | None, text: str, codes: tuple[str, ...]) -> _Hit | None:
    for rule in rules:
        if rule.flow and rule.flow != flow:
            continue
        if (
            (rule.message is not None and rule.message.matches(text))
            or (codes and rule.code is not None and rule.code in codes)
            or (codes and rule.code_pattern is not None and any(rule.code_pattern.search(c) for c in codes))
        ):
            return _Hit(rule.category, rule.disposition, rule.id)
    return None


def _match_patterns(kb: Knowledge, text: str) -> _Hit | None:
    patterns = kb.patterns
    for position in kb.candidates(text):
        rule = patterns[position]
        # candidates() has already checked the literals; only the regex remains.
        if rule.message is not None and rule.message.regex.search(text):
            return _Hit(rule.category, rule.disposition, rule.id)
    return None


def _match_status(kb: Knowledge, http_status: int | None) -> _Hit | None:
    if http_status is None:
        return None
    key = str(http_status)
    category = kb.http_status.get(key) or kb.http_status.get(f"{key[:1]}xx")
    return _Hit(category, None, f"http:{key}") if category else None


def _explain(kb: Knowledge, hit: _Hit, text: str) -> Explanation:
    category = kb.categories[hit.category]
    disposition = hit.disposition
    if disposition is None:
        disposition = next((d for matcher, d in category.dispositions if matcher.matches(text)), category.disposition)
    if hit.likely and disposition is Disposition.TERMINAL:
        disposition = Disposition.FIX  # a guess never stops the retries for good: a person looks first
    return _explanation(kb, category.code, disposition, hit.rule, hit.confidence, hit.likely)


@lru_cache(maxsize=4096)
def _explanation(
    kb: Knowledge, category: str, disposition: Disposition, rule: str | None, confidence: float, likely: bool
) -> Explanation:
    # A handful of distinct answers repeat across millions of attempts; build each once (treat as read-only).
    entry = kb.categories[category]
    return Explanation(
        category=category,
        disposition=disposition,
        fix=dict(entry.fix),
        title=dict(entry.title),
        help=f"/help/{category}",
        rule=rule,
        contact=dict(entry.contact),
        confidence=confidence,
        likely=likely,
    )


_LABELS = {
    "pt-BR": {
        "category": "Categoria",
        "disposition": "O que fazer",
        "fix": "Como corrigir",
        "contact": "Contato",
        "help": "Ajuda",
        "rule": "Regra",
        "likely": "provável: um palpite pela redação, nenhuma regra confirma",
        Disposition.TRANSIENT: "temporário — o Ponte tenta de novo sozinho",
        Disposition.FIX: "corrigir os dados e reprocessar",
        Disposition.MARKETPLACE: "só o marketplace pode liberar",
        Disposition.WAIT: "aguardar — resolve-se sozinho, o Ponte tenta mais tarde",
        Disposition.TERMINAL: "definitivo — não adianta reprocessar",
    },
    "en": {
        "category": "Category",
        "disposition": "What to do",
        "fix": "How to fix",
        "contact": "Contact",
        "help": "Help",
        "rule": "Rule",
        "likely": "likely: a guess from the wording, no rule confirms it",
        Disposition.TRANSIENT: "temporary — Ponte retries by itself",
        Disposition.FIX: "fix the data, then reprocess",
        Disposition.MARKETPLACE: "only the marketplace can unblock it",
        Disposition.WAIT: "wait — it clears by itself, Ponte retries later",
        Disposition.TERMINAL: "final — reprocessing will not help",
    },
}


def explain_text(explanation: Explanation, locale: str = "pt-BR") -> str:
    """Plain text for terminals: title, category, disposition, fix, contact, help and the matching rule."""
    lang = locale if locale in _LABELS else "en"
    labels = _LABELS[lang]
    likely = f" ({labels['likely']}, {explanation.confidence:.0%})" if explanation.likely else ""
    lines = [
        explanation.title.get(lang) or explanation.category,
        f"{labels['category']}: {explanation.category}{likely}",
        f"{labels['disposition']}: {explanation.disposition.value} ({labels[explanation.disposition]})",
        f"{labels['fix']}: {explanation.fix.get(lang, '')}",
    ]
    if explanation.contact and explanation.disposition is Disposition.MARKETPLACE:
        lines.append(f"{labels['contact']}: {explanation.contact.get(lang, '')}")
    lines.append(f"{labels['help']}: {explanation.help}")
    if explanation.rule:
        lines.append(f"{labels['rule']}: {explanation.rule}")
    return "\n".join(lines)


def explanation_json(explanation: Explanation) -> dict[str, object]:
    """The JSON shape the API returns: category, disposition, fix, help (and title, rule, contact, confidence,
    likely: true when the category is a low-confidence guess, to be shown as "provável"/"likely")."""
    return {
        "category": explanation.category,
        "disposition": explanation.disposition.value,
        "fix": dict(explanation.fix),
        "help": explanation.help,
        "title": dict(explanation.title),
        "rule": explanation.rule,
        "contact": dict(explanation.contact),
        "confidence": explanation.confidence,
        "likely": explanation.likely,
    }
