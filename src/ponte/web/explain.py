"""The error knowledge base as the pages need it: a category's title, fix and help link in one locale."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

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
