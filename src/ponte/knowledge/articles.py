"""Categories and help articles for the UI, the API and the CLI: each category's article, each marketplace's
troubleshooting article, where a "?" leads, and a search across them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ponte.knowledge.classifier import Explanation
from ponte.knowledge.help import MarketplaceArticle, pick, render_html, split_sections
from ponte.knowledge.loader import Knowledge, load_knowledge
from ponte.knowledge.text import fold


def categories(knowledge: Knowledge | None = None) -> list[dict[str, Any]]:
    """Every category with its titles, fixes, default disposition, contact and help path, in file order."""
    kb = knowledge or load_knowledge()
    return [
        {
            "code": category.code,
            "title": dict(category.title),
            "fix": dict(category.fix),
            "disposition": category.disposition.value,
            "contact": dict(category.contact),
            "help": f"/help/{category.code}",
        }
        for category in kb.categories.values()
    ]


def article(category: str, locale: str = "pt-BR", knowledge: Knowledge | None = None) -> str:
    """The help article of a category as Markdown, in `locale` (pt-BR, en, or es where written; else English).

    Raises LookupError for an unknown category (a 404 for the web page).
    """
    kb = knowledge or load_knowledge()
    if category not in kb.categories:
        raise LookupError(f"unknown category {category!r}")
    return kb.articles.get((category, pick(locale))) or kb.articles[(category, "en")]


def render_article_html(category: str, locale: str = "pt-BR", knowledge: Knowledge | None = None) -> str:
    """The help article rendered to HTML with markdown-it (CommonMark; raw HTML in the file is escaped)."""
    return render_html(article(category, locale, knowledge))


def marketplace_articles(knowledge: Knowledge | None = None) -> list[MarketplaceArticle]:
    """Every marketplace's troubleshooting article, by key."""
    kb = knowledge or load_knowledge()
    return [kb.marketplace_articles[key] for key in sorted(kb.marketplace_articles)]


def marketplace_article(names: Iterable[str | None], knowledge: Knowledge | None = None) -> MarketplaceArticle | None:
    """The article of the first of `names` that has one (a key or an alias): give an affiliate's marketplace,
    then its connector ("leroymerlin" has none, "mirakl" has)."""
    kb = knowledge or load_knowledge()
    by_name = {name: a for a in kb.marketplace_articles.values() for name in (a.key, *a.aliases)}
    for name in names:
        found = by_name.get((name or "").strip().lower())
        if found is not None:
            return found
    return None


def help_path(category: str, marketplaces: Iterable[str | None] = (), knowledge: Knowledge | None = None) -> str:
    """Where a "?" leads: the marketplace's article at the category's section, else the category's article."""
    found = marketplace_article(marketplaces, knowledge)
    if found is not None and category in found.categories:
        return f"/help/marketplace/{found.key}#{category}"
    return f"/help/{category}"


def with_marketplace_help(explanation: Explanation, connector: str | None) -> Explanation:
    """The explanation with `help` leading to the marketplace's section for its category, where there is one."""
    path = help_path(explanation.category, [connector])
    return explanation if path == explanation.help else replace(explanation, help=path)


@dataclass(frozen=True)
class SearchHit:
    article: str  # the article's title
    section: str  # the section's title ("" for the introduction)
    path: str  # where it opens, with the section's anchor when it has one
    excerpt: str  # the words around the first match


def search(query: str, locale: str = "pt-BR", knowledge: Knowledge | None = None, limit: int = 50) -> list[SearchHit]:
    """Sections of every article (marketplaces' and categories') holding every word of `query`, accents and
    case aside, in `locale`; marketplace sections first."""
    kb = knowledge or load_knowledge()
    words = fold(query).split()
    if not words:
        return []
    lang = pick(locale)
    hits: list[SearchHit] = []
    documents = [(f"/help/marketplace/{a.key}", a.texts[lang]) for a in marketplace_articles(kb)]
    documents += [(f"/help/{code}", article(code, lang, kb)) for code in kb.categories]
    for path, text in documents:
        title = text.splitlines()[0].lstrip("#").strip()
        for section in split_sections(text):
            heading, _, body = section.text.partition("\n")
            plain = _plain(body)
            if plain and all(word in fold(f"{_plain(heading)} {plain}") for word in words):
                anchor = f"#{section.anchor}" if section.anchor else ""
                hits.append(SearchHit(title, section.title, path + anchor, _excerpt(plain, words[0])))
    return hits[:limit]


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"\{#[a-z0-9_]+\}|[*`]+|^#+ ", re.MULTILINE)


def _plain(markdown: str) -> str:
    """The words a reader sees: links reduced to their labels, emphasis, code marks and anchors dropped."""
    return " ".join(_MARKUP.sub("", _LINK.sub(r"\1", markdown)).split())


def _excerpt(text: str, word: str, width: int = 90) -> str:
    # Folding keeps lengths for Latin text (one letter, one letter), so a position in the folded text is one here.
    folded = fold(text)
    at = folded.find(word) if len(folded) == len(text) else 0
    start = max(0, at - width // 2)
    piece = text[start : start + width * 2]
    return ("…" if start else "") + piece + ("…" if start + width * 2 < len(text) else "")


def help_texts(knowledge: Knowledge | None = None) -> list[tuple[str, str]]:
    """(file name, Markdown) of every article, for checks over all of them (links)."""
    kb = knowledge or load_knowledge()
    texts = [(f"{code}.{locale}.md", text) for (code, locale), text in kb.articles.items()]
    for found in kb.marketplace_articles.values():
        texts += [(f"{found.key}.{locale}.md", text) for locale, text in found.texts.items()]
    return texts
