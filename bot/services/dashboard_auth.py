"""Who is asking the dashboard: Telegram's Mini App ``initData``, sign-in links, sessions and CSRF tokens.

Every secret here is derived from the bot token, so nothing new has to be configured or kept:

- **initData** (inside Telegram) is checked exactly as Telegram documents it
  (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
  ``secret = HMAC_SHA256(key="WebAppData", msg=bot_token)``, ``hash = hex(HMAC_SHA256(secret,
  data_check_string))`` where the data-check string is every other field as ``key=value``, sorted, joined by
  newlines; the hashes are compared in constant time and ``auth_date`` may be at most ``max_age_s`` old.
- **Sign-in links** (any browser) carry ``user.expiry.nonce`` and an HMAC over them; they expire after 10
  minutes and work once: redeeming stores the nonce, and a stored nonce is refused.
- **Sessions** are a signed ``user.expiry`` cookie value; the **CSRF token** of a session is an HMAC of its
  cookie value under another derived key, so a page of another site can neither read nor forge it.

Pure apart from the store of used nonces (:class:`bot.storage.members.StateRepository`); no aiohttp, no aiogram.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from bot.storage.members import StateRepository

LINK_TTL_S = 600
_USED_PREFIX = "dashboard.link_used."


@dataclass(frozen=True, slots=True)
class WebUser:
    """The person behind a request: their Telegram user id, a name and their Telegram language."""

    user_id: int
    name: str
    language_code: str | None = None


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def init_data_check(init_data: str, bot_token: str, *, max_age_s: int, now: float) -> WebUser | None:
    """The Mini App user of a valid, fresh ``initData``; None for anything else (forged, stale, malformed)."""
    if not init_data or len(init_data) > 8192:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:  # a repeated field could mean two things; Telegram never sends one
            return None
        fields[key] = value
    received = fields.pop("hash", None)
    if received is None:
        return None
    check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = _hmac(b"WebAppData", bot_token)
    expected = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received.lower()):
        return None
    try:
        auth_date = int(fields.get("auth_date", ""))
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, TypeError, KeyError):
        return None
    if not (now - max_age_s <= auth_date <= now + 60):
        return None
    name = str(user.get("first_name") or user.get("username") or user_id)[:64]
    language = user.get("language_code")
    return WebUser(user_id, name, language if isinstance(language, str) else None)


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """``fields`` signed as Telegram signs initData (tests and the demo use it to play a Mini App)."""
    check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    digest = hmac.new(_hmac(b"WebAppData", bot_token), check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


class DashboardAuth:
    """Issues and checks sign-in links, sessions and CSRF tokens; checks initData."""

    def __init__(
        self,
        bot_token: Callable[[], str],
        state: StateRepository,
        *,
        init_data_max_age_s: int = 3600,
        session_s: int = 12 * 3600,
        base_url: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")  # where people reach the dashboard ([dashboard] public_url)
        self._token = bot_token  # read when first needed: the command line may run without one
        self._state = state
        self.init_data_max_age_s = init_data_max_age_s
        self.session_s = session_s
        self._clock = clock

    def _key(self, purpose: str) -> bytes:
        return _hmac(f"steward-dashboard-{purpose}".encode(), self._token())

    def _sign(self, purpose: str, payload: str) -> str:
        return hmac.new(self._key(purpose), payload.encode(), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ Telegram

    def check_init_data(self, init_data: str) -> WebUser | None:
        return init_data_check(init_data, self._token(), max_age_s=self.init_data_max_age_s, now=self._clock())

    # ------------------------------------------------------------------ sign-in links

    def issue_link_token(self, user_id: int) -> str:
        """A sign-in token for ``user_id``: valid for 10 minutes, once."""
        payload = f"{user_id}.{int(self._clock()) + LINK_TTL_S}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign('link', payload)}"

    def sign_in_url(self, user_id: int, lang: str | None = None) -> str:
        """A sign-in link for ``user_id`` (10 minutes, once); ``lang`` picks the page's language."""
        query = {"t": self.issue_link_token(user_id), **({"lang": lang} if lang else {})}
        return f"{self.base_url}/app/signin?{urlencode(query)}"

    def mini_app_url(self) -> str:
        return f"{self.base_url}/app/"

    async def redeem_link_token(self, token: str) -> int | None:
        """The user id of a valid, unexpired, unused token (and it is used from now on); None otherwise."""
        parts = token.split(".")
        if len(token) > 256 or len(parts) != 4:
            return None
        payload = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign("link", payload), parts[3]):
            return None
        try:
            user_id, expires = int(parts[0]), int(parts[1])
        except ValueError:
            return None
        if expires < self._clock():
            return None
        # Stored once: a second redeem of the same link (or a race of two) finds the nonce taken.
        if not await self._state.set_if_absent(_USED_PREFIX + parts[2], str(expires)):
            return None
        return user_id

    # ------------------------------------------------------------------ sessions and CSRF

    def new_session(self, user_id: int) -> str:
        payload = f"{user_id}.{int(self._clock()) + self.session_s}"
        return f"{payload}.{self._sign('session', payload)}"

    def session_user(self, cookie: str) -> int | None:
        parts = cookie.split(".")
        if len(cookie) > 200 or len(parts) != 3:
            return None
        if not hmac.compare_digest(self._sign("session", f"{parts[0]}.{parts[1]}"), parts[2]):
            return None
        try:
            user_id, expires = int(parts[0]), int(parts[1])
        except ValueError:
            return None
        return user_id if expires >= self._clock() else None

    def csrf_token(self, session: str) -> str:
        return self._sign("csrf", session)

    def csrf_ok(self, session: str, token: str) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token)
