"""Who may reach what in the dashboard, over every endpoint it has (plain HTTP, no browser).

Nobody signed in, a forged or stale Telegram initData, a member who manages nothing, the admin of group A
(who must not read or change group B by URL or by a forged form), a manager (everything). The list of
endpoints is checked against the application's own routes, so a new page cannot skip this matrix.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import aiohttp

from bot.dashboard.web import INIT_DATA_HEADER, Deps, build_app
from bot.services.dashboard_auth import DashboardAuth
from tests.dashboard.conftest import ADMIN_B, GROUP_A, GROUP_B, MEMBER, Dash
from tests.harness import ADMIN_ID, MANAGER_ID, TOKEN

ACTIONS = ("take", "reply", "resolve", "dismiss", "snooze")
# Every route of the dashboard app (relative to /app), and whether it needs someone signed in.
ROUTES = {
    ("GET", "/"): False,  # the sign-in page for nobody, the queue for someone
    ("GET", "/signin"): False,  # the link itself is the credential
    ("POST", "/signout"): True,
    ("GET", "/queue"): True,
    ("GET", "/queue/rows"): True,
    ("GET", "/case/{case_id}"): True,
    ("GET", "/case/{case_id}/body"): True,
    ("POST", "/case/{case_id}/{action}"): True,
    ("GET", "/settings"): True,
    ("GET", "/settings/{community_id}"): True,
    ("POST", "/settings/{community_id}"): True,
    ("GET", "/faq"): True,
    ("GET", "/faq/{community_id}"): True,
    ("POST", "/faq/{community_id}/add"): True,
    ("POST", "/faq/{community_id}/try"): True,
    ("POST", "/faq/{community_id}/delete/{entry_id}"): True,
    ("GET", "/static"): False,
}
SETTING = {"key": "faq.mode", "value": "off"}
FAQ_FORM = {"questions": "Where is the parking?", "answer": "Behind the building."}


def telegram_init_data(user_id: int, *, auth_date: int, token: str = TOKEN, first_name: str = "Mia") -> str:
    """initData signed exactly as https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
    describes it, written out here independently of the code under test."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": first_name, "language_code": "en"}, separators=(",", ":")),
        "auth_date": str(auth_date),
    }
    data_check_string = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret_key = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret_key, data_check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def case_requests(case_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/app/case/{case_id}"),
        ("GET", f"/app/case/{case_id}/body"),
        *(("POST", f"/app/case/{case_id}/{action}") for action in ACTIONS),
    ]


def settings_requests(chat_id: int) -> list[tuple[str, str]]:
    return [("GET", f"/app/settings/{chat_id}"), ("POST", f"/app/settings/{chat_id}")]


def faq_requests(chat_id: int, entry_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/app/faq/{chat_id}"),
        ("POST", f"/app/faq/{chat_id}/add"),
        ("POST", f"/app/faq/{chat_id}/try"),
        ("POST", f"/app/faq/{chat_id}/delete/{entry_id}"),
    ]


def all_requests(dash: Dash) -> list[tuple[str, str]]:
    return [
        ("POST", "/app/signout"),
        ("GET", "/app/settings"),
        *settings_requests(GROUP_A),
        *settings_requests(GROUP_B),
        ("GET", "/app/faq"),
        *faq_requests(GROUP_A, dash.faq_a),
        *faq_requests(GROUP_B, dash.faq_b),
        ("GET", "/app/queue"),
        ("GET", f"/app/queue?community={GROUP_A}"),
        ("GET", "/app/queue/rows"),
        *case_requests(dash.case_a),
        *case_requests(dash.case_b),
    ]


async def call(
    client: aiohttp.ClientSession, dash: Dash, method: str, path: str, *, csrf: str = "", **kwargs: object
) -> tuple[int, str]:
    data = {"csrf": csrf, "text": "hello from the dashboard", **SETTING, **FAQ_FORM} if method == "POST" else None
    async with client.request(method, dash.base + path, data=data, allow_redirects=False, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.text()


async def states(dash: Dash) -> tuple[str, str]:
    a, b = await dash.app.cases.get(dash.case_a), await dash.app.cases.get(dash.case_b)
    return a.state, b.state


async def faq_counts(dash: Dash) -> tuple[int, int]:
    return len(await dash.app.faq.entries_for(GROUP_A)), len(await dash.app.faq.entries_for(GROUP_B))


async def faq_modes(dash: Dash) -> tuple[object, object]:
    a, b = await dash.app.communities.get(GROUP_A), await dash.app.communities.get(GROUP_B)
    return a.settings.get("faq.mode"), b.settings.get("faq.mode")


def test_every_dashboard_route_is_in_the_matrix() -> None:
    app = build_app(Deps(settings=None, auth=None, dashboard=None))  # type: ignore[arg-type]
    found = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD" and r.resource}
    assert found == set(ROUTES)


async def test_nobody_signed_in_reaches_nothing(dash: Dash) -> None:
    async with aiohttp.ClientSession() as client:
        for method, path in all_requests(dash):
            status, body = await call(client, dash, method, path)
            assert status == 401, (method, path, status)
            assert "Group A" not in body and "Group B" not in body
        status, body = await call(client, dash, "GET", "/app/")
        assert status == 401 and 'id="signin"' in body
        status, _ = await call(client, dash, "GET", "/app/signin")
        assert status == 403
        status, _ = await call(client, dash, "GET", "/app/static/htmx.min.js")
        assert status == 200
    assert await states(dash) == ("open", "open")


async def test_forged_or_stale_init_data_is_refused_everywhere(dash: Dash) -> None:
    now = int(time.time())
    forged = telegram_init_data(MANAGER_ID, auth_date=now, token="123456:another-bots-token")
    good = telegram_init_data(MANAGER_ID, auth_date=now)
    tampered = good.replace("Mia", "Eve")  # the signed user changed after signing
    stale = telegram_init_data(MANAGER_ID, auth_date=now - 2 * 3600)  # the bound is 1 hour by default
    async with aiohttp.ClientSession() as client:
        for bad in (forged, tampered, stale, "", "hash=00", good + "&hash=00"):
            for method, path in all_requests(dash):
                status, body = await call(client, dash, method, path, headers={INIT_DATA_HEADER: bad})
                assert status == 401, (bad, method, path, status)
                assert "Group A" not in body
        # The genuine one signs the manager in (no cookie, no CSRF token: a header cannot be sent cross-site).
        status, body = await call(client, dash, "GET", "/app/queue", headers={INIT_DATA_HEADER: good})
        assert status == 200 and "Group A" in body and "Group B" in body
        status, body = await call(
            client, dash, "POST", f"/app/case/{dash.case_a}/take", headers={INIT_DATA_HEADER: good}
        )
        assert status == 200 and "is yours" in body
    assert await states(dash) == ("taken", "open")


async def test_a_member_who_manages_nothing_is_refused(dash: Dash) -> None:
    client, csrf = await dash.session_for(MEMBER)
    async with client:
        status, body = await call(client, dash, "GET", "/app/queue")
        assert status == 200 and f"#{dash.case_a}" not in body and "Group A" not in body
        for method, path in [
            *case_requests(dash.case_a),
            *case_requests(dash.case_b),
            *settings_requests(GROUP_A),
            *settings_requests(GROUP_B),
            *faq_requests(GROUP_A, dash.faq_a),
            *faq_requests(GROUP_B, dash.faq_b),
        ]:
            status, body = await call(client, dash, method, path, csrf=csrf)
            assert status == 404, (method, path, status)
            assert "Group" not in body and "wifi" not in body
        for path in ("/app/settings", "/app/faq"):
            status, body = await call(client, dash, "GET", path)
            assert status == 200 and "Group" not in body
        status, _ = await call(client, dash, "GET", f"/app/queue?community={GROUP_A}")
        assert status == 404
    assert await states(dash) == ("open", "open")
    assert await faq_counts(dash) == (1, 1)


async def test_admin_of_group_a_cannot_read_or_change_group_b(dash: Dash) -> None:
    client, csrf = await dash.session_for(ADMIN_ID)
    async with client:
        status, body = await call(client, dash, "GET", "/app/queue")
        assert status == 200 and f"/app/case/{dash.case_a}" in body and f"/app/case/{dash.case_b}" not in body
        assert "Group B" not in body
        status, _ = await call(client, dash, "GET", f"/app/queue?community={GROUP_B}")
        assert status == 404
        status, body = await call(client, dash, "GET", f"/app/case/{dash.case_a}")
        assert status == 200 and "Group A" in body
        # Group B's case by URL, and every action by a forged form (a valid CSRF token of A's admin).
        for method, path in case_requests(dash.case_b):
            status, body = await call(client, dash, method, path, csrf=csrf)
            assert status == 404, (method, path, status)
            assert "Group B" not in body
        assert await states(dash) == ("open", "open")
        status, body = await call(client, dash, "POST", f"/app/case/{dash.case_a}/take", csrf=csrf)
        assert status == 200 and "is yours" in body
    assert await states(dash) == ("taken", "open")
    client, csrf = await dash.session_for(ADMIN_ID)
    async with client:
        # Settings: B's by URL and by a forged form are refused; A's are A's admin's to change.
        for method, path in settings_requests(GROUP_B):
            status, body = await call(client, dash, method, path, csrf=csrf)
            assert status == 404 and "Group B" not in body
        status, body = await call(client, dash, "GET", "/app/settings")
        assert "Group A" in body and "Group B" not in body
        status, body = await call(client, dash, "POST", f"/app/settings/{GROUP_A}", csrf=csrf)
        assert status == 200 and 'id="flash"' in body
        # The knowledge base: B's by URL, and B's entry through A's URL (a forged form), are refused.
        for method, path in [
            *faq_requests(GROUP_B, dash.faq_b),
            ("POST", f"/app/faq/{GROUP_A}/delete/{dash.faq_b}"),
        ]:
            status, body = await call(client, dash, method, path, csrf=csrf)
            assert status == 404 and "B wifi" not in body, (method, path, status)
        status, body = await call(client, dash, "GET", f"/app/faq/{GROUP_A}")
        assert status == 200 and "A wifi" in body and "B wifi" not in body
    assert await faq_modes(dash) == ("off", None)
    assert await faq_counts(dash) == (1, 1)
    client, csrf = await dash.session_for(ADMIN_B)
    async with client:
        status, _ = await call(client, dash, "GET", f"/app/case/{dash.case_a}")
        assert status == 404


async def test_a_manager_sees_every_community(dash: Dash) -> None:
    client, _ = await dash.session_for(MANAGER_ID)
    async with client:
        status, body = await call(client, dash, "GET", "/app/queue")
        assert status == 200 and "Group A" in body and "Group B" in body
        status, body = await call(client, dash, "GET", f"/app/queue/rows?community={GROUP_B}")
        assert status == 200 and "Group B" in body and "Group A" not in body


async def test_every_write_with_a_cookie_needs_the_csrf_token(dash: Dash) -> None:
    client, csrf = await dash.session_for(MANAGER_ID)
    async with client:
        for token in ("", "0" * 64, dash.app.dashboard_auth.csrf_token("someone-else")):
            for action in ACTIONS:
                status, _ = await call(client, dash, "POST", f"/app/case/{dash.case_a}/{action}", csrf=token)
                assert status == 403, (token, action)
            status, _ = await call(client, dash, "POST", "/app/signout", csrf=token)
            assert status == 403
        assert await states(dash) == ("open", "open")
        status, _ = await call(client, dash, "POST", f"/app/case/{dash.case_a}/resolve", csrf=csrf)
        assert status == 200
    assert await states(dash) == ("resolved", "open")


async def test_a_sign_in_link_works_once_and_cannot_be_forged_or_outlive_ten_minutes(dash: Dash) -> None:
    link = dash.link(MANAGER_ID)
    async with aiohttp.ClientSession() as client:
        async with client.get(link, allow_redirects=False) as first:
            assert first.status == 303 and first.headers["Location"] == "/app/queue"
            cookie = first.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http here
        async with client.get(link, allow_redirects=False) as second:
            assert second.status == 403 and "steward_session" not in second.headers.get("Set-Cookie", "")
        fresh = dash.link(MANAGER_ID)
        for forged in (fresh[:-1] + ("0" if fresh[-1] != "0" else "1"), fresh.replace(f"t={MANAGER_ID}.", "t=1.")):
            async with client.get(forged, allow_redirects=False) as response:
                assert response.status == 403
        old = DashboardAuth(lambda: TOKEN, dash.app.state, clock=lambda: time.time() - 601)
        async with client.get(dash.base + "/app/signin?t=" + old.issue_link_token(MANAGER_ID)) as response:
            assert response.status == 403
        async with client.get(fresh, allow_redirects=False) as response:  # the untouched one still works
            assert response.status == 303


async def test_the_hebrew_page_is_right_to_left(dash: Dash) -> None:
    client, _ = await dash.session_for(MANAGER_ID)
    async with client:
        status, body = await call(client, dash, "GET", "/app/queue?lang=he")
        assert status == 200 and '<html lang="he" dir="rtl">' in body
        status, body = await call(client, dash, "GET", "/app/queue?lang=en")
        assert '<html lang="en" dir="ltr">' in body


async def test_dashboard_command_gives_a_link_to_managers_and_admins_only(dash: Dash) -> None:
    h = dash.harness
    reply = await h.say(MANAGER_ID, MANAGER_ID, "/dashboard")
    text = str(reply.params["text"])
    assert "/app/signin?t=" in text
    # No link preview: a preview fetcher opening the link first would use it up.
    assert (reply.params.get("link_preview_options") or {}).get("is_disabled") is True, reply.params
    link = text.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    async with aiohttp.ClientSession() as client, client.get(link, allow_redirects=False) as response:
        assert response.status == 303
    reply = await h.say(ADMIN_ID, ADMIN_ID, "/dashboard")
    assert "/app/signin?t=" in str(reply.params["text"])
    reply = await h.say(MEMBER, MEMBER, "/dashboard")
    assert "/app/signin" not in str(reply.params["text"]) and "managers" in str(reply.params["text"])


async def test_settings_are_validated_by_the_service_and_a_refusal_is_explained(dash: Dash) -> None:
    client, csrf = await dash.session_for(MANAGER_ID)
    path = f"/app/settings/{GROUP_B}"

    async def post(key: str, value: str, status: int = 200) -> str:
        data = {"csrf": csrf, "key": key, "value": value}
        async with client.post(dash.base + path, data=data) as response:
            assert response.status == status
            return await response.text()

    async with client:
        body = await post("faq.answer_threshold", "2")
        assert "Not saved" in body and "must be from 0 to 1" in body
        body = await post("faq.answer_threshold", "0,6")  # a decimal comma, as people type it
        assert "Saved." in body
        body = await post("faq.suggest_threshold", "0.9")
        assert "must not be above faq.answer_threshold" in body
        body = await post("timezone", "Mars/Olympus")
        assert "Not saved" in body
        body = await post("timezone", "Asia/Jerusalem")
        assert "Saved." in body
        body = await post("growth.welcome_enabled", "on")
        assert "Saved." in body
        await post("database.path", "/tmp/x", status=404)  # not a key the page offers
    b = await dash.app.community_settings.get(GROUP_B)
    assert b.timezone == "Asia/Jerusalem"
    assert b.settings.get("faq.answer_threshold") == 0.6 and "faq.suggest_threshold" not in b.settings
    assert b.settings.get("growth.welcome_enabled") is True


async def test_knowledge_base_add_try_delete(dash: Dash) -> None:
    client, csrf = await dash.session_for(ADMIN_ID)
    base = f"/app/faq/{GROUP_A}"

    async def post(path: str, **form: str) -> str:
        async with client.post(dash.base + base + path, data={"csrf": csrf, **form}) as response:
            assert response.status == 200
            return await response.text()

    async with client:
        body = await post("/add", questions="How do I book the laser cutter?\nWhere do I reserve the laser?", answer="")
        assert "Not saved" in body
        body = await post("/add", questions="How do I book the laser cutter?\nWhere do I reserve the laser?",
                          answer="On the sheet at the front desk.")  # fmt: skip
        assert "Saved." in body and "front desk" in body
        entry = next(e for e in await dash.app.faq.entries_for(GROUP_A) if "laser" in e.questions[0])
        body = await post("/try", text="How do I book the laser cutter?")
        assert 'data-band="answer"' in body or 'data-band="suggest"' in body
        top = body.split('id="tried"', 1)[1].split("</li>", 1)[0]
        assert "laser cutter" in top  # the new entry is the best candidate, with its score
        body = await post("/try", text="zzqx qwv")
        assert 'data-band="abstain"' in body
        body = await post(f"/delete/{entry.id}")
        assert "laser" not in body.split("<h2>", 3)[-1]
    assert await faq_counts(dash) == (1, 1)
