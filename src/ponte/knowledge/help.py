"""Marketplace troubleshooting articles: one Markdown file per marketplace and language, with a section per error
category, beside the category articles (data/articles/marketplaces/<marketplace>.<locale>.md).

A section that answers for a category ends its `##` heading with `{#category}`; the "?" of a row opens the row's
marketplace article at that section, or the category's own article when the marketplace has none.
A connector package ships its marketplace's article through the entry point group `ponte.help_articles` (a
callable returning the folder, or the files, of its articles) or `register_help_articles(path)`; its article wins
over Ponte's own for the same marketplace.

Everything is checked at load: every language present, the same category sections in each, every category named
known, every link either https://, a section of the article, or a path on Ponte (the web checks at start-up that
the path is one of its screens, see `internal_links`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from markdown_it import MarkdownIt  # shipped with rich, which Ponte's CLI already depends on
from markdown_it.token import Token

log = logging.getLogger("ponte.knowledge")

HELP_LOCALES = ("pt-BR", "en", "es")
ENTRY_POINT_GROUP = "ponte.help_articles"
_ANCHOR = re.compile(r"\s*\{#([a-z][a-z0-9_]*)\}\s*$")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_KEY = re.compile(r"[a-z][a-z0-9_]*")

_registered: list[Path] = []


@dataclass(frozen=True)
class Section:
    anchor: str | None  # the category it answers for, or None for a general section (portal, contacts, sources)
    title: str
    text: str  # the section's Markdown, heading included


@dataclass(frozen=True)
class MarketplaceArticle:
    key: str  # "mercadolivre": the file's name, and what affiliates' marketplace names resolve to
    aliases: tuple[str, ...]  # other names it answers to ("mercadolibre", "meli")
    texts: Mapping[str, str]  # locale -> Markdown (front matter removed)
    categories: frozenset[str]  # the categories it has a section for (the same in every language)
    origin: str  # the folder it came from: Ponte's data or a connector package

    def title(self, locale: str) -> str:
        first = self.texts[pick(locale)].splitlines()[0]
        return first.lstrip("#").strip()

    def sections(self, locale: str) -> list[Section]:
        return split_sections(self.texts[pick(locale)])


class HelpError(ValueError):
    """A help article is wrong; the message names the file and the problem (the loader re-raises it)."""


def pick(locale: str) -> str:
    """The article language for a reader's locale: pt-BR, en or es ("es-AR" → es); anything else, English."""
    low = (locale or "").lower()
    if low.startswith("pt"):
        return "pt-BR"
    if low.startswith("es"):
        return "es"
    return "en"


def register_help_articles(path: str | Path) -> None:
    """Add a connector's articles (a folder of `<marketplace>.<locale>.md`, or one file); read at the next load.

    Call `clear_knowledge_cache()` afterwards when knowledge was already loaded in this process.
    """
    resolved = Path(path).resolve()
    if resolved not in _registered:
        _registered.append(resolved)


def unregister_help_articles() -> None:
    """Forget folders added with register_help_articles (for tests)."""
    _registered.clear()


def connector_article_files() -> list[Path]:
    """The article files connector packages give: entry points first, then registered ones."""
    places: list[Path] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            provider: Callable[[], Any] | Any = entry.load()
            found = provider() if callable(provider) else provider
        except Exception as error:  # one broken plugin must not stop the help of every other marketplace
            log.error("help articles of %s could not be loaded: %s", entry.name, error)
            continue
        places.extend(Path(p).resolve() for p in ([found] if isinstance(found, (str, Path)) else found))
    places.extend(p for p in _registered if p not in places)
    return [file for place in places for file in (sorted(place.glob("*.md")) if place.is_dir() else [place])]


def load_marketplace_articles(directory: Path, categories: Iterable[str]) -> dict[str, MarketplaceArticle]:
    """Ponte's marketplace articles, then the connectors' (which win for the same marketplace), all validated."""
    known = set(categories)
    groups = _by_marketplace(sorted(directory.glob("*.md")) if directory.is_dir() else [])
    groups.update(_by_marketplace(connector_article_files()))  # a connector's article replaces Ponte's, whole
    articles = {key: _article(key, files, known) for key, files in groups.items() if files}
    _check_aliases(articles)
    return articles


def _by_marketplace(paths: Iterable[Path]) -> dict[str, dict[str, Path]]:
    groups: dict[str, dict[str, Path]] = {}
    for path in paths:
        key, locale = _key_and_locale(path)
        groups.setdefault(key, {})[locale] = path
    return groups


def _key_and_locale(path: Path) -> tuple[str, str]:
    key, _, locale = path.name.removesuffix(".md").partition(".")
    if not _KEY.fullmatch(key) or locale not in HELP_LOCALES:
        raise HelpError(f"{path.name}: name it <marketplace>.<locale>.md, locale one of {', '.join(HELP_LOCALES)}")
    return key, locale


def _article(key: str, files: Mapping[str, Path], known: set[str]) -> MarketplaceArticle:
    missing = [locale for locale in HELP_LOCALES if locale not in files]
    if missing:
        raise HelpError(f"marketplace article {key!r}: missing {', '.join(f'{key}.{m}.md' for m in missing)}")
    texts: dict[str, str] = {}
    aliases: set[str] = set()
    sections: dict[str, frozenset[str]] = {}
    for locale, path in files.items():
        text, names = _read(path)
        aliases.update(names)
        if not text.startswith("# "):
            raise HelpError(f"{path.name}: start with the article's title as a `# ` heading")
        anchors = [s.anchor for s in split_sections(text) if s.anchor]
        for anchor in anchors:
            if anchor not in known:
                raise HelpError(
                    f"{path.name}: section {{#{anchor}}} names an unknown category (not in categories.yaml)"
                )
        if len(anchors) != len(set(anchors)):
            raise HelpError(f"{path.name}: a category has two sections")
        check_links(path.name, text, known, anchors=set(anchors))
        texts[locale], sections[locale] = text, frozenset(anchors)
    first = sections[HELP_LOCALES[0]]
    for locale, found in sections.items():
        if found != first:
            differ = ", ".join(sorted(found ^ first))
            raise HelpError(f"{key}.{locale}.md: its category sections differ from {key}.pt-BR.md's ({differ})")
    origin = str(next(iter(files.values())).parent)
    return MarketplaceArticle(key, tuple(sorted(aliases - {key})), texts, first, origin)


def _read(path: Path) -> tuple[str, list[str]]:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    names: list[str] = []
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as error:
            raise HelpError(f"{path.name}: the front matter is not valid YAML: {error}")
        unknown = set(meta) - {"aliases"} if isinstance(meta, dict) else {"?"}
        if unknown:
            raise HelpError(f"{path.name}: the front matter holds only `aliases: [names]`")
        names = [str(n).strip().lower() for n in meta.get("aliases") or []]
        text = text[match.end() :]
    text = text.strip()
    if not text:
        raise HelpError(f"{path.name} is empty")
    return text, names


def _check_aliases(articles: Mapping[str, MarketplaceArticle]) -> None:
    owner: dict[str, str] = {}
    for article in articles.values():
        for name in (article.key, *article.aliases):
            if owner.setdefault(name, article.key) != article.key:
                raise HelpError(f"marketplace name {name!r} belongs to both {owner[name]!r} and {article.key!r}")


def split_sections(text: str) -> list[Section]:
    """The article cut at its `## ` headings (the part before the first is a section without a title)."""
    sections: list[Section] = []
    anchor: str | None = None
    title = ""
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        fenced = fenced != line.lstrip().startswith("```")
        if line.startswith("## ") and not fenced:
            sections.append(Section(anchor, title, "\n".join(lines).strip()))
            found = _ANCHOR.search(line)
            anchor = found.group(1) if found else None
            title = _ANCHOR.sub("", line[3:]).strip()
            lines = []
        lines.append(line)
    sections.append(Section(anchor, title, "\n".join(lines).strip()))
    return [s for s in sections if s.text]


# -- links ---------------------------------------------------------------------------------------------------


def links(text: str) -> list[str]:
    """Every link target in the Markdown (inline links, reference links and autolinks)."""
    found: list[str] = []
    stack = list(_markdown().parse(text))
    while stack:
        token = stack.pop(0)
        if token.type == "link_open":
            found.append(str(token.attrGet("href") or ""))
        stack[:0] = token.children or []
    return found


def check_links(name: str, text: str, categories: set[str], *, anchors: set[str] | None = None) -> None:
    """Raise HelpError for a link that cannot work: not https:// or a Ponte path, an unknown category in a help
    or filter link, or a `#section` the article lacks. (Whether a path is a Ponte screen is the web's check.)"""
    for href in links(text):
        parts = urlsplit(href)
        if parts.scheme == "https" and parts.netloc:
            continue
        if href.startswith("#"):
            if anchors is None or href[1:] not in anchors:
                raise HelpError(f"{name}: link {href!r} points to no section of this article")
            continue
        if parts.scheme or parts.netloc or not href.startswith("/"):
            raise HelpError(f"{name}: link {href!r} is neither https:// nor a path on Ponte such as /affiliates")
        named = [v for k, v in parse_qsl(parts.query) if k == "category"]
        if parts.path.startswith("/help/") and parts.path.count("/") == 2:
            named.append(parts.path.removeprefix("/help/"))
        for category in named:
            if category not in categories:
                raise HelpError(f"{name}: link {href!r} names the unknown category {category!r}")


def internal_links(texts: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(article, path) of every link to a Ponte screen, for the web to check against its routes."""
    return [(name, urlsplit(href).path) for name, text in texts for href in links(text) if href.startswith("/")]


# -- rendering -----------------------------------------------------------------------------------------------


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def render_html(text: str) -> str:
    """The article as HTML (CommonMark and tables; raw HTML in the file escaped). A `## Title {#category}`
    heading gets `id="category"`, so that `#category` scrolls to it; links that leave Ponte open in a new tab."""
    md = _markdown()
    tokens = md.parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            _anchor_heading(token, tokens[index + 1])
        for child in _walk(token):
            if child.type == "link_open" and urlsplit(str(child.attrGet("href") or "")).netloc:
                child.attrSet("rel", "noopener noreferrer")
                child.attrSet("target", "_blank")
    return str(md.renderer.render(tokens, md.options, {}))


def _walk(token: Token) -> list[Token]:
    return [token, *(c for child in token.children or [] for c in _walk(child))]


def _anchor_heading(heading: Token, inline: Token) -> None:
    found = _ANCHOR.search(inline.content)
    if not found:
        return
    heading.attrSet("id", found.group(1))
    inline.content = _ANCHOR.sub("", inline.content)
    children = inline.children or []
    if children and children[-1].type == "text":
        children[-1].content = _ANCHOR.sub("", children[-1].content)
