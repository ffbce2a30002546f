"""The knowledge base of one community: its entries with their votes, add, delete, and "try a question".

Thin: parse the form, ask :class:`DashboardService` (rights, then FaqService), render.
"""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.web import deps, render, who
from bot.services.dashboard import FaqTry

MAX_FIELD = 4096


def _ids(request: web.Request) -> tuple[int, int | None]:
    community = int(request.match_info["community_id"])
    entry = request.match_info.get("entry_id")
    if abs(community) >= 2**63 or (entry is not None and int(entry) >= 2**63):
        raise web.HTTPNotFound(text="no such community")
    return community, int(entry) if entry is not None else None


async def _page(
    request: web.Request, flash: dict[str, object] | None = None, tried: FaqTry | None = None
) -> web.Response:
    community_id, _ = _ids(request)
    view = await deps(request).dashboard.faq_view(who(request).user.user_id, community_id)
    if view is None:
        raise web.HTTPNotFound(text="no such community")
    return render(request, "faq.html", page="faq", view=view, flash=flash, tried=tried)


async def faq_index(request: web.Request) -> web.StreamResponse:
    communities = await deps(request).dashboard.communities_for(who(request).user.user_id)
    return render(request, "faq_index.html", page="faq", communities=communities)


async def faq_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def faq_add(request: web.Request) -> web.StreamResponse:
    community_id, _ = _ids(request)
    form = await request.post()
    questions = [line for line in str(form.get("questions", ""))[:MAX_FIELD].splitlines() if line.strip()]
    answer = str(form.get("answer", ""))[:MAX_FIELD].strip()
    why = await deps(request).dashboard.faq_add(who(request).user.user_id, community_id, questions, answer)
    if why is None:
        raise web.HTTPNotFound(text="no such community")
    return await _page(request, {"ok": not why, "text": why})


async def faq_delete(request: web.Request) -> web.StreamResponse:
    community_id, entry_id = _ids(request)
    assert entry_id is not None
    done = await deps(request).dashboard.faq_delete(who(request).user.user_id, community_id, entry_id)
    if done is None:
        raise web.HTTPNotFound(text="no such entry")
    return await _page(request, {"ok": done, "text": ""})


async def faq_try(request: web.Request) -> web.StreamResponse:
    community_id, _ = _ids(request)
    form = await request.post()
    text = str(form.get("text", ""))[:MAX_FIELD].strip()
    if not text:
        return await _page(request)
    tried = await deps(request).dashboard.faq_try(who(request).user.user_id, community_id, text)
    if tried is None:
        raise web.HTTPNotFound(text="no such community")
    return await _page(request, tried=tried)


def add_routes(app: web.Application) -> None:
    community = r"{community_id:-?\d{1,19}}"
    app.router.add_get("/faq", faq_index)
    app.router.add_get(f"/faq/{community}", faq_page)
    app.router.add_post(f"/faq/{community}/add", faq_add)
    app.router.add_post(f"/faq/{community}/try", faq_try)
    app.router.add_post(rf"/faq/{community}/delete/{{entry_id:\d{{1,19}}}}", faq_delete)
