"""Help: the index of every article with a search, each marketplace's troubleshooting article, each category's.

At start-up `check_article_links(app)` holds every link of every article to the app's own routes: an article that
names a screen Ponte does not have stops the start, naming the file and the link.
"""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.routing import Match

from ponte import knowledge
from ponte.knowledge import KnowledgeError
from ponte.knowledge.help import internal_links, pick, render_html
from ponte.services.errors import NotFound
from ponte.web import explain
from ponte.web.render import render, translator
from ponte.web.routing import PageRoute
from ponte.web.session import current_principal

router = APIRouter(route_class=PageRoute)
MAX_QUERY = 200


@router.get("/help", response_class=HTMLResponse, include_in_schema=False)
def help_index(request: Request) -> Response:
    current_principal(request)
    t = translator(request)
    query = " ".join((request.query_params.get("q") or "").split())[:MAX_QUERY]
    return render(
        request,
        "help_index.html",
        q=query,
        hits=knowledge.search(query, t.locale) if query else [],
        marketplaces=explain.marketplace_links(t.locale),
        categories=explain.all_categories(t.locale),
    )


@router.get("/help/marketplace/{key}", response_class=HTMLResponse, include_in_schema=False)
def marketplace_help(request: Request, key: str) -> Response:
    current_principal(request)
    t = translator(request)
    found = {a.key: a for a in knowledge.marketplace_articles()}.get(key)
    if found is None:
        raise NotFound(f"no help article for the marketplace {key}")
    # The title is the page's heading, and the sections' list goes between it and the article.
    body = found.texts[pick(t.locale)].partition("\n")[2]
    return render(
        request,
        "help.html",
        article=render_html(body),
        title=found.title(t.locale),
        heading=True,
        sections=[s for s in found.sections(t.locale) if s.anchor],
        titles=explain.titles(t.locale),
    )


@router.get("/help/{category}", response_class=HTMLResponse, include_in_schema=False)
def category_help(request: Request, category: str) -> Response:
    current_principal(request)
    t = translator(request)
    try:
        html = explain.article_html(category, t.locale)
    except LookupError:
        raise NotFound(f"no help article for {category}")
    cat = explain.category(category, t.locale)
    return render(
        request,
        "help.html",
        article=html,
        cat=cat,
        title=cat.title if cat else category,
        related=explain.marketplace_links(t.locale, category),
    )


@cache
def _article_links(kb: knowledge.Knowledge) -> list[tuple[str, str]]:
    # Parsing every article takes a few tens of milliseconds: once per loaded knowledge, not once per app.
    return internal_links(knowledge.help_texts(kb))


def check_article_links(app: FastAPI) -> None:
    """Raise KnowledgeError when an article links to a path no page of `app` answers (GET)."""
    routes = app.router.routes  # included routers answer matches() for their own routes
    marketplaces = {a.key for a in knowledge.marketplace_articles()}
    for name, path in _article_links(knowledge.load_knowledge()):
        scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "app_root_path": ""}
        if not any(route.matches(scope)[0] is Match.FULL for route in routes):
            raise KnowledgeError(f"{name}: link {path!r} names a screen Ponte does not have")
        if path.startswith("/help/marketplace/") and path.removeprefix("/help/marketplace/") not in marketplaces:
            raise KnowledgeError(f"{name}: link {path!r} names a marketplace without an article")
