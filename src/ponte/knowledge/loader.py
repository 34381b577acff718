"""Load and validate the knowledge data files (YAML + Markdown) into compiled, ready-to-match structures.

The data directory is the package's `data/` unless `PONTE_KNOWLEDGE_DIR` points to an edited copy.
Every problem is reported as a KnowledgeError naming the file, the entry and what is wrong, so a support
person who edits a file learns at start-up what to correct.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ponte.domain import Disposition
from ponte.knowledge import codes as code_tables
from ponte.knowledge.codes import CodeEntry
from ponte.knowledge.features import EMPTY_VOCABULARY, Vocabulary
from ponte.knowledge.help import HELP_LOCALES, HelpError, MarketplaceArticle, check_links, load_marketplace_articles
from ponte.knowledge.model import LinearModel, ModelError, load_model
from ponte.knowledge.text import fold, fold_pattern, required_literals

DEFAULT_DIR = Path(__file__).parent / "data"
ENV_VAR = "PONTE_KNOWLEDGE_DIR"
LOCALES = ("pt-BR", "en")
OPTIONAL_LOCALES = ("es",)  # titles, fixes and contacts may also be given in Spanish (English stands in otherwise)
# Other parts of Ponte (engine, sandbox, connectors) name these; an edited copy may add categories, not drop these.
REQUIRED_CATEGORIES = [
    "sla_unavailable",
    "out_of_stock",
    "sku_not_sellable",
    "sku_not_linked",
    "price_divergence",
    "price_rejected",
    "missing_attribute",
    "invalid_attribute_value",
    "invalid_category",
    "invalid_gtin",
    "image_problem",
    "seller_restricted",
    "auth_invalid",
    "rate_limited",
    "marketplace_unavailable",
    "marketplace_side_block",
    "state_conflict",
    "buyer_data_invalid",
    "invoice_tracking_rejected",
    "integration_config",
    "unmapped",
]


class KnowledgeError(ValueError):
    """A knowledge data file is wrong; the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class Matcher:
    """A compiled, accent-folded pattern with a cheap literal prefilter (one of `literals` must occur)."""

    source: str
    regex: re.Pattern[str]
    literals: tuple[str, ...] | None

    def matches(self, folded: str) -> bool:
        if self.literals is not None and not any(lit in folded for lit in self.literals):
            return False
        return self.regex.search(folded) is not None


@dataclass(frozen=True)
class Category:
    code: str
    disposition: Disposition
    title: dict[str, str]
    fix: dict[str, str]
    contact: dict[str, str] = field(default_factory=dict)
    # Wording that changes the disposition whatever rule chose the category (e.g. "aguarde" -> wait).
    dispositions: tuple[tuple[Matcher, Disposition], ...] = ()


@dataclass(frozen=True)
class Rule:
    """A marketplace rule or a generic pattern: when it matches, the message means `category`."""

    id: str
    category: str
    disposition: Disposition | None = None
    code: str | None = None  # exact, lowercase
    code_pattern: re.Pattern[str] | None = None
    message: Matcher | None = None
    flow: str | None = None


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one load, one object
class Knowledge:
    path: Path
    categories: dict[str, Category]
    patterns: tuple[Rule, ...]  # generic patterns, in priority order
    rules: dict[str, tuple[Rule, ...]]  # marketplace -> its rules; "*" for every marketplace
    aliases: dict[str, str]  # connector or alias name -> marketplace
    http_status: dict[str, str]  # "429" or "5xx" -> category
    articles: dict[tuple[str, str], str] = field(default_factory=dict)  # (category, locale) -> Markdown
    marketplace_articles: dict[str, MarketplaceArticle] = field(default_factory=dict)  # marketplace -> article
    # Which patterns can possibly match a text (see candidates()): literal -> patterns needing it,
    # trigram -> literals keyed by it.
    literal_patterns: dict[str, frozenset[int]] = field(default_factory=dict)
    trigram_literals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    trigram_keys: frozenset[str] = frozenset()
    unindexed: frozenset[int] = frozenset()  # patterns without a provable literal: always tried
    codes: dict[str, dict[str, CodeEntry]] = field(default_factory=dict)  # marketplace -> code -> meaning
    vocabulary: Vocabulary = EMPTY_VOCABULARY
    model: LinearModel | None = None  # the reader of last resort; None when data/model.json is absent

    def candidates(self, folded: str) -> list[int]:
        """Positions in `patterns` that may match `folded`, in priority order.

        A pattern needs one of its literals in the text, and a literal needs its key trigram there; one set
        intersection thus replaces hundreds of substring searches per message.
        """
        found = set(self.unindexed)
        literal_patterns = self.literal_patterns
        count = len(folded) - 2
        slices = _TRIGRAM_SLICES if count <= len(_TRIGRAM_SLICES) else _trigram_slices(count)
        # map() over ready-made slices is a third cheaper than a comprehension of folded[i : i + 3].
        for gram in self.trigram_keys.intersection(map(folded.__getitem__, slices[: max(count, 0)])):
            for literal in self.trigram_literals[gram]:
                if literal in folded:
                    found |= literal_patterns[literal]
        return sorted(found)

    def marketplace_for(self, connector: str | None) -> str | None:
        if not connector:
            return None
        name = connector.strip().lower()
        return self.aliases.get(name, name)


def _trigram_slices(count: int) -> list[slice]:
    return [slice(i, i + 3) for i in range(count)]


_TRIGRAM_SLICES = _trigram_slices(4000)


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """The knowledge base from `path`, `$PONTE_KNOWLEDGE_DIR` or the package data; validated, loaded once."""
    if path is None:
        return _load_default()
    return _load_cached(str(Path(path).resolve()))


def clear_knowledge_cache() -> None:
    """Forget loaded knowledge, so the next load_knowledge() re-reads the files (after an edit)."""
    global _default
    _default = None
    _load_cached.cache_clear()


_default: Knowledge | None = None


def _load_default() -> Knowledge:
    # The classifier asks for the default knowledge on every failed attempt: after the first load this is
    # one global read. PONTE_KNOWLEDGE_DIR is read then; clear_knowledge_cache() makes it read again.
    global _default
    if _default is None:
        _default = _load_cached(str(Path(os.environ.get(ENV_VAR) or DEFAULT_DIR).resolve()))
    return _default


@lru_cache(maxsize=8)
def _load_cached(directory: str) -> Knowledge:
    root = Path(directory)
    if not root.is_dir():
        raise KnowledgeError(f"{root}: knowledge directory not found")
    categories = _load_categories(root / "categories.yaml")
    rules: dict[str, tuple[Rule, ...]] = {}
    aliases: dict[str, str] = {}
    rule_files = sorted((root / "rules").glob("*.yaml")) if (root / "rules").is_dir() else []
    for rule_file in rule_files:
        marketplace, names, file_rules = _load_rule_file(rule_file, categories)
        if marketplace in rules:
            raise KnowledgeError(f"{rule_file}: marketplace {marketplace!r} already has a rules file")
        rules[marketplace] = file_rules
        aliases.update({alias: marketplace for alias in names})
    patterns = _load_patterns(root / "patterns.yaml", categories)
    literal_patterns, trigram_literals, unindexed = _index_trigrams(patterns)
    return Knowledge(
        path=root,
        categories=categories,
        patterns=patterns,
        literal_patterns=literal_patterns,
        trigram_literals=trigram_literals,
        trigram_keys=frozenset(trigram_literals),
        unindexed=unindexed,
        rules=rules,
        aliases=aliases,
        http_status=_load_http_status(root / "http_status.yaml", categories),
        articles=_load_articles(root / "articles", categories),
        marketplace_articles=_load_marketplace_articles(root / "articles" / "marketplaces", categories),
        codes=_load_code_tables(root / "codes", categories),
        vocabulary=_load_vocabulary(root / "vocabulary.yaml", categories),
        model=_load_model(root / "model.json", categories),
    )


def _load_code_tables(directory: Path, categories: dict[str, Category]) -> dict[str, dict[str, CodeEntry]]:
    """Ponte's tables (codes/*.yaml), then the connectors' (entry points, register_code_table): theirs win."""
    own = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    tables: dict[str, dict[str, CodeEntry]] = {}
    for path in [*own, *code_tables.connector_tables()]:
        names, table = code_tables.parse_table(path, _read_yaml(path), categories=categories, error=KnowledgeError)
        for name in names:
            tables.setdefault(name, {}).update(table)
    return tables


def _load_vocabulary(path: Path, categories: dict[str, Category]) -> Vocabulary:
    if not path.is_file():
        return EMPTY_VOCABULARY
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path.name}: expected a mapping of category -> list of terms")
    for category, terms in data.items():
        _known_category(category, categories, f"{path.name}: {category}")
        if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
            raise KnowledgeError(f"{path.name}: {category}: expected a list of non-empty terms")
    return Vocabulary.build(data)


def _load_model(path: Path, categories: dict[str, Category]) -> LinearModel | None:
    if not path.is_file():
        return None
    try:
        return load_model(path, list(categories))
    except ModelError as error:
        raise KnowledgeError(str(error))


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise KnowledgeError(f"{path}: file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise KnowledgeError(f"{path}: not valid YAML: {error}")


def _disposition(value: Any, where: str) -> Disposition:
    try:
        return Disposition(str(value))
    except ValueError:
        allowed = ", ".join(d.value for d in Disposition)
        raise KnowledgeError(f"{where}: unknown disposition {value!r} (use one of: {allowed})")


def _matcher(source: Any, where: str) -> Matcher:
    if not isinstance(source, str) or not source.strip():
        raise KnowledgeError(f"{where}: pattern must be a non-empty text, got {source!r}")
    folded = fold_pattern(source)
    try:
        regex = re.compile(folded, case_flag(folded))
    except re.error as error:
        raise KnowledgeError(f"{where}: bad regular expression {source!r}: {error}")
    if regex.search(""):
        raise KnowledgeError(f"{where}: pattern {source!r} matches an empty message, so it would match everything")
    return Matcher(source, regex, required_literals(folded))


def case_flag(pattern: str) -> re.RegexFlag:
    """IGNORECASE only when the pattern has capitals outside escapes: messages are lowercased already,
    and case-insensitive matching is several times slower in Python's regex engine."""
    bare = re.sub(r"\\.", "", pattern)
    return re.IGNORECASE if bare != bare.lower() else re.NOFLAG


def _texts(entry: dict[str, Any], key: str, where: str, required: bool = True) -> dict[str, str]:
    value = entry.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise KnowledgeError(f"{where}: `{key}` must map each locale ({', '.join(LOCALES)}) to a text")
    for locale in LOCALES:
        text = value.get(locale)
        if not isinstance(text, str) or not text.strip():
            raise KnowledgeError(f"{where}: missing {locale} text in `{key}`")
    texts = {locale: str(value[locale]).strip() for locale in LOCALES}
    for locale in OPTIONAL_LOCALES:
        if isinstance(value.get(locale), str) and value[locale].strip():
            texts[locale] = value[locale].strip()
    return texts


def _load_categories(path: Path) -> dict[str, Category]:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path}: expected a mapping of category code -> entry")
    categories: dict[str, Category] = {}
    for code, entry in data.items():
        where = f"{path.name}: category {code!r}"
        if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            raise KnowledgeError(f"{where}: a category code is lowercase letters, digits and _")
        if not isinstance(entry, dict):
            raise KnowledgeError(f"{where}: expected a mapping with disposition, title and fix")
        overrides = []
        for index, item in enumerate(entry.get("dispositions") or []):
            item_where = f"{where}: dispositions[{index}]"
            if not isinstance(item, dict):
                raise KnowledgeError(f"{item_where}: expected {{when: pattern, disposition: ...}}")
            overrides.append(
                (_matcher(item.get("when"), item_where), _disposition(item.get("disposition"), item_where))
            )
        categories[code] = Category(
            code=code,
            disposition=_disposition(entry.get("disposition"), where),
            title=_texts(entry, "title", where),
            fix=_texts(entry, "fix", where),
            contact=_texts(entry, "contact", where, required=False),
            dispositions=tuple(overrides),
        )
    missing = [code for code in REQUIRED_CATEGORIES if code not in categories]
    if missing:
        raise KnowledgeError(f"{path.name}: missing required categories: {', '.join(missing)}")
    return categories


def _known_category(category: Any, categories: dict[str, Category], where: str) -> str:
    if category not in categories:
        raise KnowledgeError(f"{where}: unknown category {category!r} (not in categories.yaml)")
    return str(category)


def _load_patterns(path: Path, categories: dict[str, Category]) -> tuple[Rule, ...]:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path.name}: expected a mapping of category -> list of patterns")
    patterns: list[Rule] = []
    for category, entries in data.items():
        where = f"{path.name}: {category}"
        _known_category(category, categories, where)
        if not isinstance(entries, list):
            raise KnowledgeError(f"{where}: expected a list of patterns")
        for index, entry in enumerate(entries):
            entry_where = f"{where}[{index}]"
            source, disposition = (
                (entry.get("match"), entry.get("disposition")) if isinstance(entry, dict) else (entry, None)
            )
            patterns.append(
                Rule(
                    id=f"pattern:{category}:{index + 1}",
                    category=category,
                    disposition=_disposition(disposition, entry_where) if disposition else None,
                    message=_matcher(source, entry_where),
                )
            )
    return tuple(patterns)


def _load_rule_file(path: Path, categories: dict[str, Category]) -> tuple[str, list[str], tuple[Rule, ...]]:
    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("marketplace"), str):
        raise KnowledgeError(f"{path.name}: expected `marketplace: <name>` and `rules: [...]`")
    marketplace = data["marketplace"].strip().lower()
    aliases = [str(alias).strip().lower() for alias in data.get("aliases") or []]
    entries = data.get("rules") or []
    if not isinstance(entries, list):
        raise KnowledgeError(f"{path.name}: `rules` must be a list")
    rules = tuple(_load_rule(path, marketplace, index, entry, categories) for index, entry in enumerate(entries))
    return marketplace, aliases, rules


def _load_rule(path: Path, marketplace: str, index: int, entry: Any, categories: dict[str, Category]) -> Rule:
    rule_id = entry.get("id") if isinstance(entry, dict) else None
    where = f"{path.name}: rule {rule_id or index + 1}"
    if not isinstance(entry, dict):
        raise KnowledgeError(f"{where}: expected a mapping with category and code, code_pattern or message")
    unknown = set(entry) - {"id", "category", "disposition", "code", "code_pattern", "message", "flow"}
    if unknown:
        raise KnowledgeError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if not any(entry.get(key) for key in ("code", "code_pattern", "message")):
        raise KnowledgeError(f"{where}: needs at least one of code, code_pattern or message")
    code_pattern = None
    if entry.get("code_pattern"):
        try:
            code_pattern = re.compile(str(entry["code_pattern"]), re.IGNORECASE)
        except re.error as error:
            raise KnowledgeError(f"{where}: bad regular expression in code_pattern: {error}")
    return Rule(
        id=f"{marketplace}:{rule_id or index + 1}",
        category=_known_category(entry.get("category"), categories, where),
        disposition=_disposition(entry["disposition"], where) if entry.get("disposition") else None,
        code=fold(str(entry["code"])).strip() if entry.get("code") else None,
        code_pattern=code_pattern,
        message=_matcher(entry["message"], where) if entry.get("message") else None,
        flow=str(entry["flow"]) if entry.get("flow") else None,
    )


def _load_http_status(path: Path, categories: dict[str, Category]) -> dict[str, str]:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path.name}: expected a mapping of HTTP status -> category")
    table: dict[str, str] = {}
    for status, category in data.items():
        key = str(status).strip().lower()
        where = f"{path.name}: status {status!r}"
        if not re.fullmatch(r"[1-5](?:\d\d|xx)", key):
            raise KnowledgeError(f"{where}: use a status such as 429 or a class such as 5xx")
        table[key] = _known_category(category, categories, where)
    return table


def _load_articles(directory: Path, categories: dict[str, Category]) -> dict[tuple[str, str], str]:
    """Each category's article in pt-BR and English (required) and Spanish (optional: English stands in)."""
    articles: dict[tuple[str, str], str] = {}
    for code in categories:
        for locale in HELP_LOCALES:
            path = directory / f"{code}.{locale}.md"
            if not path.is_file():
                if locale not in LOCALES:
                    continue
                raise KnowledgeError(f"articles: missing help article {path.name} for category {code!r}")
            text = path.read_text(encoding="utf-8").strip()
            if not text:
                raise KnowledgeError(f"articles: {path.name} is empty")
            try:
                check_links(path.name, text, set(categories))
            except HelpError as error:
                raise KnowledgeError(f"articles: {error}")
            articles[(code, locale)] = text
    return articles


def _load_marketplace_articles(directory: Path, categories: dict[str, Category]) -> dict[str, MarketplaceArticle]:
    try:
        return load_marketplace_articles(directory, categories)
    except HelpError as error:
        raise KnowledgeError(f"articles/marketplaces: {error}")


def _index_trigrams(
    patterns: tuple[Rule, ...],
) -> tuple[dict[str, frozenset[int]], dict[str, tuple[str, ...]], frozenset[int]]:
    """Index patterns by their literals, and literals by one trigram each (the rarest among all literals)."""
    literal_patterns: dict[str, set[int]] = {}
    unindexed: set[int] = set()
    for position, rule in enumerate(patterns):
        if rule.message is None or not rule.message.literals:
            unindexed.add(position)
            continue
        for literal in rule.message.literals:
            literal_patterns.setdefault(literal, set()).add(position)
    counts: dict[str, int] = {}
    for literal in literal_patterns:
        for gram in {literal[i : i + 3] for i in range(len(literal) - 2)}:
            counts[gram] = counts.get(gram, 0) + 1
    trigram_literals: dict[str, list[str]] = {}
    for literal in literal_patterns:
        grams = [literal[i : i + 3] for i in range(len(literal) - 2)]
        # Grams of letters only are rarer in text than ones with spaces; then the least shared wins.
        key = min(grams, key=lambda g: (not g.isalnum(), counts[g]))
        trigram_literals.setdefault(key, []).append(literal)
    return (
        {literal: frozenset(ids) for literal, ids in literal_patterns.items()},
        {gram: tuple(literals) for gram, literals in trigram_literals.items()},
        frozenset(unindexed),
    )
