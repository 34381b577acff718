"""The account's own error rules page: "this message means that category", for messages the knowledge base
does not know. Operators and admins read, add and remove rules (a viewer is neither offered the page nor let in:
403, as any page their role does not allow), and a new rule re-classifies the errors already shown at once."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ponte.domain import Flow, Role
from ponte.services import rules
from ponte.services.errors import InputError, NotFound
from ponte.store import rules as stored_rules
from ponte.web import explain
from ponte.web.connections import redirect_back
from ponte.web.render import render, told, translator
from ponte.web.routing import PageRoute, RowId
from ponte.web.session import check_csrf, current_principal, require

router = APIRouter(route_class=PageRoute)


def _page(request: Request, *, status_code: int = 200, error: str | None = None, form: dict | None = None) -> Response:
    principal = current_principal(request)
    with request.app.state.db.read() as conn:
        found = stored_rules.list_rules(conn, account_id=principal.account_id)
        reach = rules.rules_reach(conn, account_id=principal.account_id, rules=found)
    t = translator(request)
    query = request.query_params
    return render(
        request,
        "rules.html",
        status_code,
        rules=found,
        reach=reach,
        readable=rules.readable_pattern,
        categories=explain.all_categories(t.locale),
        flows=[f.value for f in Flow],
        form=form
        or {
            "words": query.get("words", ""),
            "pattern": query.get("pattern", ""),
            "flow": query.get("flow", ""),
            "category": "",
        },
        error=error,
    )


@router.get("/rules", include_in_schema=False)
def rules_page(request: Request) -> Response:
    require(request, Role.OPERATOR)
    return _page(request)


@router.post("/rules", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def add_rule(request: Request) -> Response:
    principal = require(request, Role.OPERATOR)
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("words", "pattern", "category", "flow")}
    # Words are what people write; a regular expression is the advanced way, used when no words are given.
    pattern = rules.pattern_from_words(values["words"]) if values["words"] else values["pattern"]
    try:
        with request.app.state.db.write() as conn:
            rules.add_rule(
                conn,
                account_id=principal.account_id,
                actor=principal.actor,
                pattern=pattern,
                category=values["category"],
                flow=values["flow"] or None,
            )
            changed = rules.reclassify_errors(conn, account_id=principal.account_id, actor=principal.actor)
    except InputError as exc:
        return _page(request, status_code=400, error=told(request, exc), form=values)
    return redirect_back(request, "/rules", f"rule_saved:{changed}")


@router.post("/rules/{rule_id}/delete", include_in_schema=False, dependencies=[Depends(check_csrf)])
def delete_rule(request: Request, rule_id: RowId) -> Response:
    principal = require(request, Role.OPERATOR)
    try:
        with request.app.state.db.write() as conn:
            rules.delete_rule(conn, account_id=principal.account_id, actor=principal.actor, rule_id=rule_id)
    except NotFound:
        return _page(request, status_code=404)
    return redirect_back(request, "/rules", "rule_deleted:1")
