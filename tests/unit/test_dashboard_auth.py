"""The dashboard's sign-in primitives: Telegram's initData check, link tokens, sessions, CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import urlencode

from bot.services.dashboard_auth import DashboardAuth, init_data_check
from bot.storage.members import StateRepository
from tests.builders import opened_db

TOKEN = "123456:TEST-token"
NOW = 1_800_000_000


def signed(fields: dict[str, str], token: str = TOKEN) -> str:
    """Telegram's documented algorithm, written out independently of the code under test."""
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    return urlencode({**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()})


def fields(user_id: int = 42, auth_date: int = NOW) -> dict[str, str]:
    user = json.dumps({"id": user_id, "first_name": "Ann", "language_code": "he"})
    return {"auth_date": str(auth_date), "query_id": "AAH", "user": user}


def test_a_genuine_init_data_passes_and_names_the_user() -> None:
    user = init_data_check(signed(fields()), TOKEN, max_age_s=3600, now=NOW + 10)
    assert user is not None and (user.user_id, user.name, user.language_code) == (42, "Ann", "he")


def test_forged_tampered_stale_or_malformed_init_data_fails() -> None:
    good = signed(fields())
    for bad in (
        signed(fields(), token="999:other-bot"),  # another bot's key
        good.replace("42", "43"),  # the user changed after signing
        good + "&extra=1",  # a field added after signing
        good + "&auth_date=1",  # a repeated field
        good.split("&hash=")[0],  # no hash
        "",
        "%%%",
    ):
        assert init_data_check(bad, TOKEN, max_age_s=3600, now=NOW) is None, bad
    assert init_data_check(good, TOKEN, max_age_s=3600, now=NOW + 3601) is None  # stale
    assert init_data_check(good, TOKEN, max_age_s=3600, now=NOW - 3600) is None  # from the future
    no_user = signed({"auth_date": str(NOW)})
    assert init_data_check(no_user, TOKEN, max_age_s=3600, now=NOW) is None


async def test_links_work_once_until_they_expire_and_sessions_and_csrf_are_bound(tmp_path: Path) -> None:
    clock = [float(NOW)]
    async with opened_db(tmp_path / "s.db") as db:
        auth = DashboardAuth(lambda: TOKEN, StateRepository(db), clock=lambda: clock[0], base_url="https://x.org/")
        token = auth.issue_link_token(7)
        assert auth.sign_in_url(7, "he").startswith("https://x.org/app/signin?t=7.")
        assert await auth.redeem_link_token(token) == 7
        assert await auth.redeem_link_token(token) is None  # once
        other = DashboardAuth(lambda: "999:other-bot", StateRepository(db), clock=lambda: clock[0])
        assert await auth.redeem_link_token(other.issue_link_token(7)) is None  # another key
        late = auth.issue_link_token(8)
        clock[0] += 601
        assert await auth.redeem_link_token(late) is None  # 10 minutes
        session = auth.new_session(7)
        assert auth.session_user(session) == 7
        assert auth.session_user(session.replace("7.", "8.", 1)) is None
        assert auth.csrf_ok(session, auth.csrf_token(session))
        assert not auth.csrf_ok(session, auth.csrf_token(auth.new_session(8)))
        assert not auth.csrf_ok(session, "")
        assert auth.csrf_token(session) != session.rsplit(".", 1)[1]  # not the cookie's own signature
        clock[0] += auth.session_s + 1
        assert auth.session_user(session) is None
