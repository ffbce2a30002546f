"""Settings per community: each key through CommunitySettingsService, which validates it and says why not.

The page parses what a form sends ("on", "0.6", "Europe/Berlin") into typed values, as the Telegram commands
do; an empty field resets a key to the config file's default where the key allows it.
"""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.web import deps, render, who
from bot.services.community_settings import Kind, SettingSpec
from bot.services.dashboard import SETTING_KEYS

MAX_VALUE_CHARS = 4000


def parse(spec: SettingSpec, raw: str) -> object:
    """The typed value of a form field; an unparsable one is passed on as text, for the service to refuse."""
    text = raw.strip()
    if spec.kind is Kind.BOOL:
        return {"on": True, "off": False}.get(text, None if not text and spec.nullable else text)
    if not text and spec.nullable:
        return None
    if spec.kind is Kind.INT:
        try:
            return int(text)
        except ValueError:
            return text
    if spec.kind is Kind.FLOAT:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return text
    return raw if spec.kind is Kind.TEXT else text


def _community_id(request: web.Request) -> int:
    value = int(request.match_info["community_id"])
    if abs(value) >= 2**63:
        raise web.HTTPNotFound(text="no such community")
    return value


async def settings_index(request: web.Request) -> web.StreamResponse:
    communities = await deps(request).dashboard.communities_for(who(request).user.user_id)
    return render(request, "settings_index.html", page="settings", communities=communities)


async def settings_page(request: web.Request, flash: dict[str, object] | None = None) -> web.StreamResponse:
    view = await deps(request).dashboard.settings_view(who(request).user.user_id, _community_id(request))
    if view is None:
        raise web.HTTPNotFound(text="no such community")
    return render(request, "settings.html", page="settings", view=view, flash=flash)


async def settings_change(request: web.Request) -> web.StreamResponse:
    d = deps(request).dashboard
    form = await request.post()
    key = str(form.get("key", ""))
    raw = str(form.get("value", ""))[:MAX_VALUE_CHARS]
    view = await d.settings_view(who(request).user.user_id, _community_id(request))
    if view is None or key not in SETTING_KEYS:
        raise web.HTTPNotFound(text="no such community or setting")
    spec = next(row.spec for row in view.rows if row.key == key)
    change = await d.change_setting(who(request).user.user_id, view.community.chat_id, key, parse(spec, raw))
    if change is None:
        raise web.HTTPNotFound(text="no such community or setting")
    flash = {"ok": change.ok, "key": key, "text": "" if change.ok else change.reason}
    return await settings_page(request, flash)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/settings", settings_index)
    app.router.add_get(r"/settings/{community_id:-?\d{1,19}}", settings_page)
    app.router.add_post(r"/settings/{community_id:-?\d{1,19}}", settings_change)
