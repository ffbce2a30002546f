"""The dashboard's aiohttp application: who is asking, the pages' plumbing, static files.

Identity, for every request under ``/app/``:

1. an ``X-Telegram-Init-Data`` header (the Mini App inside Telegram, where cookies may be blocked): it must
   pass Telegram's check (bot.services.dashboard_auth) or the request is refused; no fallback to a cookie;
2. otherwise the ``steward_session`` cookie a sign-in link set (HttpOnly, SameSite=Lax, Secure over https);
   every write with a cookie must carry the session's CSRF token (form field ``csrf`` or ``X-CSRF-Token``).

Rights are not decided here: the views ask :class:`bot.services.dashboard.DashboardService`, which asks
``RoleService.can_manage`` about the object's own community.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web

from bot.config import DashboardSettings
from bot.i18n import Translator, pick_locale
from bot.services.dashboard import DashboardService
from bot.services.dashboard_auth import DashboardAuth, WebUser

if TYPE_CHECKING:
    from bot.composition import Services

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PREFIX = "/app"
SESSION_COOKIE = "steward_session"
LANG_COOKIE = "steward_lang"
INIT_DATA_HEADER = "X-Telegram-Init-Data"
RTL = {"he"}
SAFE_METHODS = {"GET", "HEAD"}
CSP = (
    "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Deps:
    settings: DashboardSettings
    auth: DashboardAuth
    dashboard: DashboardService
    default_language: str = "en"


DEPS: web.AppKey[Deps] = web.AppKey("deps", Deps)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)


@dataclass(frozen=True, slots=True)
class Who:
    user: WebUser
    session: str | None  # the cookie value; None inside Telegram (initData header)


WHO: web.RequestKey[Who] = web.RequestKey("who", Who)


def deps(request: web.Request) -> Deps:
    return request.app[DEPS]


def who(request: web.Request) -> Who:
    found = request.get(WHO)
    if not isinstance(found, Who):  # the middleware lets no anonymous request reach a view
        raise web.HTTPUnauthorized()
    return found


def locale_of(request: web.Request) -> str:
    chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen:
        return pick_locale(chosen)
    found = request.get(WHO)
    code = found.user.language_code if isinstance(found, Who) else None
    return pick_locale(code, fallback=deps(request).default_language)


def render(request: web.Request, template: str, http_status: int = 200, **values: Any) -> web.Response:
    locale = locale_of(request)
    t = Translator(locale)
    found = request.get(WHO)
    session = found.session if isinstance(found, Who) else None
    context = {
        "t": t,
        "lang": locale,
        "dir": "rtl" if locale in RTL else "ltr",
        "prefix": PREFIX,
        "user": found.user if isinstance(found, Who) else None,
        "csrf": deps(request).auth.csrf_token(session) if session else "",
        "path": request.path_qs,
        "page": "",
        **values,
    }
    body = request.app[TEMPLATES].get_template(template).render(context)
    response = web.Response(text=body, status=http_status, content_type="text/html", charset="utf-8")
    if request.query.get("lang"):
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="Lax", path=PREFIX)
    return response


def _when(epoch: int | float | None) -> str:
    if not epoch:
        return ""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _identify(request: web.Request) -> Who | bool | None:
    """Who (valid), None (nobody), False (a credential that failed: refuse, never fall back)."""
    auth = deps(request).auth
    init_data = request.headers.get(INIT_DATA_HEADER)
    if init_data is not None:
        user = auth.check_init_data(init_data)
        return Who(user, None) if user is not None else False
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user_id = auth.session_user(cookie)
        return Who(WebUser(user_id, str(user_id)), cookie) if user_id is not None else None
    return None


PUBLIC = {f"{PREFIX}/signin", f"{PREFIX}/"}


@web.middleware
async def identity(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(f"{PREFIX}/static/"):
        return await handler(request)
    found = _identify(request)
    if found is False:
        log.info("dashboard: refused a forged or stale initData from %s", request.remote)
        return render(request, "refused.html", 401, reason="init_data")
    if isinstance(found, Who):
        request[WHO] = found
        if request.method not in SAFE_METHODS and found.session is not None:
            form = await request.post() if request.content_type == "application/x-www-form-urlencoded" else {}
            token = request.headers.get("X-CSRF-Token") or str(form.get("csrf", ""))
            if not deps(request).auth.csrf_ok(found.session, token):
                log.info("dashboard: refused a write without a valid CSRF token from %s", request.remote)
                return render(request, "refused.html", 403, reason="csrf")
    elif request.path not in PUBLIC:
        # Nobody signed in: the sign-in page (inside Telegram its script resends with the initData header).
        return render(request, "signin.html", 401)
    response = await handler(request)
    # Telegram's web clients show a Mini App in a frame; nobody else may frame it.
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def index(request: web.Request) -> web.StreamResponse:
    if not isinstance(request.get(WHO), Who):
        return render(request, "signin.html", 401)
    raise web.HTTPSeeOther(f"{PREFIX}/queue")


async def signin(request: web.Request) -> web.StreamResponse:
    d = deps(request)
    user_id = await d.auth.redeem_link_token(request.query.get("t", ""))
    if user_id is None:
        log.info("dashboard: refused a used, expired or forged sign-in link from %s", request.remote)
        return render(request, "refused.html", 403, reason="link")
    response = web.HTTPSeeOther(f"{PREFIX}/queue")
    response.set_cookie(
        SESSION_COOKIE,
        d.auth.new_session(user_id),
        max_age=d.auth.session_s,
        httponly=True,
        samesite="Lax",
        secure=d.settings.base_url().startswith("https://"),
        path=PREFIX,
    )
    if request.query.get("lang"):
        response.set_cookie(LANG_COOKIE, pick_locale(request.query["lang"]), max_age=365 * 86400, path=PREFIX)
    raise response


async def signout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther(f"{PREFIX}/")
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    raise response


def build_app(deps_: Deps) -> web.Application:
    """The dashboard's pages, mounted under ``/app/`` by :func:`mount`."""
    from bot.dashboard import views_faq, views_queue, views_settings

    app = web.Application(middlewares=[identity], client_max_size=64 * 1024)
    app[DEPS] = deps_
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    app[TEMPLATES] = env
    app.router.add_get("/", index)
    app.router.add_get("/signin", signin)
    app.router.add_post("/signout", signout)
    views_queue.add_routes(app)
    views_settings.add_routes(app)
    views_faq.add_routes(app)
    app.router.add_static("/static/", HERE / "static", show_index=False, follow_symlinks=False)
    return app


def mount(root: web.Application, deps_: Deps) -> None:
    """The dashboard under ``/app/`` of ``root`` (its own server in polling mode, the webhook's in webhook mode)."""
    root.add_subapp(PREFIX, build_app(deps_))

    async def bare(_: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(f"{PREFIX}/")

    root.router.add_get(PREFIX, bare)


def deps_of(services: Services) -> Deps:
    return Deps(
        services.settings.dashboard,
        services.dashboard_auth,
        services.dashboard,
        default_language=services.settings.community.language,
    )


async def serve(services: Services) -> web.AppRunner:
    """Start the dashboard's own server (polling mode) on ``[dashboard] host:port``; the caller cleans it up."""
    host, port = services.settings.dashboard.host, services.settings.dashboard.port
    root = web.Application()
    mount(root, deps_of(services))
    runner = web.AppRunner(root, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("dashboard on http://%s:%s%s/", host, port, PREFIX)
    return runner
