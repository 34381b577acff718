"""The error knowledge base as the pages need it: a category's title, fix and help link in one locale."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from ponte import knowledge


@dataclass(frozen=True)
class CategoryText:
    code: str
    title: str
    fix: str
    disposition: str
    contact: str
    help: str


@cache
def _by_code() -> dict[str, dict[str, Any]]:
    try:
        return {c["code"]: c for c in knowledge.categories()}
    except Exception:  # a broken knowledge file must not take the screen down; the codes still show
        return {}


def category(code: str | None, locale: str) -> CategoryText | None:
    if not code:
        return None
    data = _by_code().get(code)
    if data is None:
        return CategoryText(code, code, "", "", "", "")
    pick = lambda d: (d or {}).get(locale) or (d or {}).get("en") or ""  # noqa: E731
    return CategoryText(
        code=code,
        title=pick(data["title"]),
        fix=pick(data["fix"]),
        disposition=data["disposition"],
        contact=pick(data.get("contact")),
        help=data["help"],
    )


def all_categories(locale: str) -> list[CategoryText]:
    found = [category(code, locale) for code in _by_code()]
    return sorted((c for c in found if c), key=lambda c: c.title.lower())


def titles(locale: str) -> dict[str, str]:
    return {c.code: c.title for c in all_categories(locale)}


def article_html(code: str, locale: str) -> str:
    """The help article as HTML (markdown-it with raw HTML escaped). LookupError for an unknown category."""
    return knowledge.render_article_html(code, locale)


def help_url(category: str, marketplaces: tuple[str, ...], locale: str) -> str:
    """The "?" link: the marketplace's article at the category's section (by the affiliate's marketplace, then its
    connector), else the category's article; in the reader's language."""
    try:
        path = knowledge.help_path(category, marketplaces)
    except Exception:  # a broken knowledge file must not take the screen down: the category page says so
        path = f"/help/{category}"
    where, _, anchor = path.partition("#")
    return f"{where}?{urlencode({'lang': locale})}" + (f"#{anchor}" if anchor else "")


@dataclass(frozen=True)
class ArticleLink:
    key: str
    title: str
    path: str


def marketplace_links(locale: str, category: str | None = None) -> list[ArticleLink]:
    """Every marketplace's article (those with a section for `category`, when given), by title."""
    found = [
        ArticleLink(a.key, a.title(locale), f"/help/marketplace/{a.key}" + (f"#{category}" if category else ""))
        for a in knowledge.marketplace_articles()
        if category is None or category in a.categories
    ]
    return sorted(found, key=lambda link: link.title.lower())
