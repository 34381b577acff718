"""The error knowledge base: categories, rules, fixes and help articles as data, and the classifier.

Public interface (the engine, API, web and CLI use only this):
    classify(connector=..., flow=..., message=..., http_status=..., code=..., account_rules=()) -> Explanation
    explain_text(explanation, locale) -> str          plain text for terminals
    explanation_json(explanation) -> dict              {"category", "disposition", "fix", "help", ...}
    normalise_message(message) -> str                  grouping key for causes; cause_key(category, message)
    load_knowledge(path=None) -> Knowledge             validated data (cached); KnowledgeError when a file is wrong
    categories() / article(category, locale) / render_article_html(category, locale)
    marketplace_articles() / marketplace_article(names) / help_path(category, marketplaces) / search(query, locale)
    validate_account_rule(rule)                        KnowledgeError when an account rule is unusable
The data lives in ponte/knowledge/data/ or in the directory named by PONTE_KNOWLEDGE_DIR.
"""

from __future__ import annotations

from ponte.knowledge.articles import (
    SearchHit,
    article,
    categories,
    help_path,
    help_texts,
    marketplace_article,
    marketplace_articles,
    render_article_html,
    search,
    with_marketplace_help,
)
from ponte.knowledge.classifier import (
    AccountRule,
    Explanation,
    classify,
    explain_text,
    explanation_json,
    validate_account_rule,
)
from ponte.knowledge.loader import Knowledge, KnowledgeError, clear_knowledge_cache, load_knowledge
from ponte.knowledge.text import cause_key, normalise_message

__all__ = [
    "AccountRule",
    "Explanation",
    "Knowledge",
    "KnowledgeError",
    "SearchHit",
    "article",
    "categories",
    "cause_key",
    "classify",
    "clear_knowledge_cache",
    "explain_text",
    "explanation_json",
    "help_path",
    "help_texts",
    "load_knowledge",
    "marketplace_article",
    "marketplace_articles",
    "normalise_message",
    "render_article_html",
    "search",
    "validate_account_rule",
    "with_marketplace_help",
]
