"""Categories and help articles for the UI, the API and the CLI."""

from __future__ import annotations

from typing import Any

from ponte.knowledge.loader import LOCALES, Knowledge, load_knowledge


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
    """The help article of a category as Markdown, in `locale` ("pt-BR" or "en"; anything else falls back to en).

    Raises LookupError for an unknown category (a 404 for the web page).
    """
    kb = knowledge or load_knowledge()
    if category not in kb.categories:
        raise LookupError(f"unknown category {category!r}")
    lang = locale if locale in LOCALES else "en"
    return kb.articles.get((category, lang)) or kb.articles[(category, "en")]


def render_article_html(category: str, locale: str = "pt-BR", knowledge: Knowledge | None = None) -> str:
    """The help article rendered to HTML with markdown-it (CommonMark; raw HTML in the file is escaped)."""
    from markdown_it import MarkdownIt  # shipped with rich, which Ponte's CLI already depends on

    renderer = MarkdownIt("commonmark", {"html": False})
    return renderer.render(article(category, locale, knowledge))
