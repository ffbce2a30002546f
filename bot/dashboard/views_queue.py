"""The queue: open cases by priority and age, one case with its thread, and the card's actions.

Thin: parse, ask :class:`DashboardService` (rights and the EscalationService calls), render. A refused and a
missing case both answer 404 with the same page.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from markupsafe import Markup

from bot.dashboard.web import deps, render, who
from bot.services.dashboard import STATUSES, CaseAction


def _int_or_none(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="not a number") from None
    if abs(value) >= 2**63:
        raise web.HTTPBadRequest(text="out of range")
    return value


async def _queue_values(request: web.Request) -> dict[str, Any]:
    me = who(request)
    d = deps(request).dashboard
    community_id = _int_or_none(request.query.get("community"))
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise web.HTTPBadRequest(text="unknown status")
    communities = await d.communities_for(me.user.user_id)
    if community_id is not None and all(c.chat_id != community_id for c in communities):
        raise web.HTTPNotFound(text="no such community")
    items = await d.queue(me.user.user_id, community_id=community_id, status=status)
    return {
        "items": items,
        "communities": communities,
        "community_id": community_id,
        "status": status or "",
        "statuses": STATUSES,
        "now": int(time.time()),
        "query": request.query_string,
    }


async def queue_page(request: web.Request) -> web.StreamResponse:
    return render(request, "queue.html", page="queue", **await _queue_values(request))


async def queue_rows(request: web.Request) -> web.StreamResponse:
    return render(request, "_queue_rows.html", **await _queue_values(request))


async def _case_values(request: web.Request) -> dict[str, Any]:
    case_id = _int_or_none(request.match_info["case_id"])
    assert case_id is not None
    view = await deps(request).dashboard.case_view(who(request).user.user_id, case_id)
    if view is None:
        raise web.HTTPNotFound(text="no such case")
    return {"view": view, "case": view.case, "now": int(time.time())}


async def case_page(request: web.Request) -> web.StreamResponse:
    return render(request, "case.html", page="queue", flash=None, **await _case_values(request))


async def case_body(request: web.Request) -> web.StreamResponse:
    return render(request, "_case_body.html", **await _case_values(request))


async def case_action(request: web.Request) -> web.StreamResponse:
    me = who(request)
    case_id = _int_or_none(request.match_info["case_id"])
    assert case_id is not None
    try:
        action = CaseAction(request.match_info["action"])
    except ValueError:
        raise web.HTTPNotFound(text="no such action") from None
    form = await request.post()
    name = str(form.get("name", "") or me.user.name)[:64]
    outcome = await deps(request).dashboard.act(me.user.user_id, name, case_id, action, str(form.get("text", "")))
    if outcome is None:
        raise web.HTTPNotFound(text="no such case")
    values = await _case_values(request)
    # The service's line is Telegram HTML (escaped names, maybe a link): shown as plain text.
    flash = {"ok": outcome.ok, "text": Markup(outcome.text).striptags()}
    return render(request, "case.html", page="queue", flash=flash, **values)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/queue", queue_page)
    app.router.add_get("/queue/rows", queue_rows)
    app.router.add_get(r"/case/{case_id:\d{1,19}}", case_page)
    app.router.add_get(r"/case/{case_id:\d{1,19}}/body", case_body)
    app.router.add_post(r"/case/{case_id:\d{1,19}}/{action:[a-z]{1,16}}", case_action)
