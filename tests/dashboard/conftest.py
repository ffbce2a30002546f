"""The dashboard's tests: the real bot polling the sandbox, with the dashboard served on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox import SandboxBotAPI
from tests.builders import open_pile_on_case
from tests.harness import ADMIN_ID, MANAGER_ID, Harness, running_bot

GROUP_A = -1001000000101
GROUP_B = -1001000000202
ADMIN_B = 610  # an admin of group B only; ADMIN_ID (600) is an admin of group A only
MEMBER = 1001  # a member of both, admin of neither


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def populate(sb: SandboxBotAPI) -> None:
    sb.add_user(MANAGER_ID, "Mia", "mia")
    sb.add_user(ADMIN_ID, "Ada")
    sb.add_user(ADMIN_B, "Bea")
    sb.add_user(MEMBER, "Max")
    sb.add_group(GROUP_A, "Group A", owner_id=ADMIN_ID, members=[MEMBER])
    sb.add_group(GROUP_B, "Group B", owner_id=ADMIN_B, members=[MEMBER])
    for group in (GROUP_A, GROUP_B):
        sb.add_member(group, sb.bot_id, "administrator")


@dataclass
class Dash:
    harness: Harness
    base: str  # http://127.0.0.1:PORT
    case_a: int
    case_b: int
    faq_a: int  # an FAQ entry of each group
    faq_b: int

    @property
    def app(self) -> Any:
        return self.harness.app

    def link(self, user_id: int, lang: str | None = None) -> str:
        return str(self.app.dashboard_auth.sign_in_url(user_id, lang))

    async def session_for(self, user_id: int) -> tuple[aiohttp.ClientSession, str]:
        """A browser-like client signed in as ``user_id`` by link; (client, its CSRF token)."""
        client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with client.get(self.link(user_id), allow_redirects=False) as response:
            assert response.status == 303, response.status
        cookie = next(c.value for c in client.cookie_jar if c.key == "steward_session")
        return client, str(self.app.dashboard_auth.csrf_token(cookie))


@pytest.fixture
async def dash(tmp_path: Path) -> AsyncIterator[Dash]:
    port = free_port()
    async with running_bot(
        tmp_path,
        populate=populate,
        dashboard={"enabled": True, "port": port},
        community={"admin_cache_ttl_s": 0},
    ) as harness:
        app = harness.app
        now = int(time.time())
        for chat_id, title in ((GROUP_A, "Group A"), (GROUP_B, "Group B")):
            await app.communities.upsert(
                chat_id=chat_id, title=title, type="supergroup", is_forum=False, username=None, timezone="UTC",
                language="en",
            )  # fmt: skip
            await open_pile_on_case(app.cases, chat_id, f"t{chat_id}", message_id=10, at=now - 60)
        case_a = await app.cases.latest(GROUP_A)
        case_b = await app.cases.latest(GROUP_B)
        assert case_a is not None and case_b is not None
        entry_a = await app.faq.add_entry(GROUP_A, ["What is the A wifi password?"], "A-secret", created_by=None)
        entry_b = await app.faq.add_entry(GROUP_B, ["What is the B wifi password?"], "B-secret", created_by=None)
        yield Dash(harness, f"http://127.0.0.1:{port}", case_a.id, case_b.id, entry_a.id, entry_b.id)
