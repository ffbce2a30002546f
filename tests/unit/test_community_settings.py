"""CommunitySettingsService: every key typed in one table, refusals with a reason, the community cache dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.domain import ChatInfo
from bot.services.community import CommunityService
from bot.services.community_settings import SPECS, TIMEZONE, CommunitySettingsService, Refusal
from bot.services.settings import community_setting
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.members import MemberRepository
from bot.storage.messages import MessageRepository

GROUP = ChatInfo(-1001000000700, "Settings group", "supergroup")
UNKNOWN = -1001000000799


@dataclass
class Env:
    repo: CommunityRepository
    community_service: CommunityService
    service: CommunitySettingsService


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    db = Database(tmp_path / "s.db")
    await db.open()
    repo = CommunityRepository(db)
    community_service = CommunityService(
        repo, MessageRepository(db), MemberRepository(db), None, default_language="en", default_timezone="UTC"
    )
    await community_service.register(GROUP)
    try:
        yield Env(repo, community_service, CommunitySettingsService(repo, community_service))
    finally:
        await db.close()


async def test_valid_values_are_stored_typed(env: Env) -> None:
    changed = await env.service.change(
        GROUP.chat_id,
        {
            "faq.mode": "mention",
            "faq.answer_threshold": 0.9,
            "faq.suggest_threshold": 0.8,
            "growth.welcome_enabled": False,
            "growth.welcome_delete_minutes": 15,
            "growth.rules_url": "https://example.org/rules",
            "scheduler.feed_keywords": [" tea ", "", "green tea"],
            "scheduler.feed_slots": ["09:30", "18:00"],
            TIMEZONE: "Europe/Berlin",
        },
    )
    assert changed.ok and changed.refusal is None
    stored = await env.repo.get(GROUP.chat_id)
    assert stored is not None and changed.community == stored
    assert stored.settings["faq.mode"] == "mention"
    assert stored.settings["faq.answer_threshold"] == 0.9
    assert stored.settings["growth.welcome_enabled"] is False
    assert stored.settings["growth.welcome_delete_minutes"] == 15
    assert stored.settings["scheduler.feed_keywords"] == ["tea", "green tea"]  # trimmed, blanks dropped
    assert stored.settings["scheduler.feed_slots"] == ["09:30", "18:00"]
    assert stored.timezone == "Europe/Berlin"
    assert TIMEZONE not in stored.settings  # a column, not a settings entry


async def test_none_resets_a_nullable_key_to_the_default(env: Env) -> None:
    await env.service.set(GROUP.chat_id, "faq.margin", 0.05)
    assert (await env.service.set(GROUP.chat_id, "faq.margin", None)).ok
    stored = await env.repo.get(GROUP.chat_id)
    assert stored is not None
    assert community_setting(stored, "faq.margin", 0.1) == 0.1


@pytest.mark.parametrize(
    ("changes", "refusal", "key"),
    [
        ({"faq.mode": "loud"}, Refusal.NOT_A_CHOICE, "faq.mode"),
        ({"faq.answer_threshold": 1.5}, Refusal.OUT_OF_RANGE, "faq.answer_threshold"),
        ({"faq.answer_threshold": float("nan")}, Refusal.WRONG_TYPE, "faq.answer_threshold"),
        ({"faq.answer_threshold": "0.9"}, Refusal.WRONG_TYPE, "faq.answer_threshold"),
        ({"faq.answer_threshold": 0.5, "faq.suggest_threshold": 0.6}, Refusal.INCONSISTENT, "faq.suggest_threshold"),
        ({"growth.welcome_enabled": 1}, Refusal.WRONG_TYPE, "growth.welcome_enabled"),
        ({"growth.welcome_delete_minutes": 10_081}, Refusal.OUT_OF_RANGE, "growth.welcome_delete_minutes"),
        ({"growth.welcome_delete_minutes": True}, Refusal.WRONG_TYPE, "growth.welcome_delete_minutes"),
        ({"growth.welcome_text": "x" * 3001}, Refusal.TOO_LONG, "growth.welcome_text"),
        ({"growth.rules_url": "example.org/rules"}, Refusal.NOT_A_LINK, "growth.rules_url"),
        ({"scheduler.feed_slots": ["25:00"]}, Refusal.NOT_A_TIME, "scheduler.feed_slots"),
        ({"scheduler.feed_keywords": "tea"}, Refusal.WRONG_TYPE, "scheduler.feed_keywords"),
        ({TIMEZONE: "Mars/Olympus"}, Refusal.BAD_TIMEZONE, TIMEZONE),
        ({TIMEZONE: None}, Refusal.WRONG_TYPE, TIMEZONE),
        ({"faq.secret": 1}, Refusal.UNKNOWN_KEY, "faq.secret"),
    ],
)
async def test_invalid_values_are_refused_with_a_reason_and_nothing_is_written(
    env: Env, changes: dict[str, object], refusal: Refusal, key: str
) -> None:
    before = await env.repo.get(GROUP.chat_id)
    # A valid key in the same change is not written either: all or nothing.
    changed = await env.service.change(GROUP.chat_id, {"growth.stats_in_group": True, **changes})
    assert not changed.ok
    assert changed.refusal is refusal
    assert changed.key == key
    assert key in changed.reason  # plain words naming the key
    assert changed.community is None
    assert await env.repo.get(GROUP.chat_id) == before


async def test_refusal_details_for_the_front_end(env: Env) -> None:
    too_long = await env.service.set(GROUP.chat_id, "growth.welcome_text", "x" * 3005)
    assert (too_long.limit, too_long.length) == (3000, 3005)
    zone = await env.service.set(GROUP.chat_id, TIMEZONE, "Mars/Olympus")
    assert zone.reason == "unknown IANA timezone 'Mars/Olympus' (for example Europe/Berlin)"


async def test_an_unknown_community_is_refused(env: Env) -> None:
    changed = await env.service.set(UNKNOWN, "faq.mode", "off")
    assert changed.refusal is Refusal.UNKNOWN_COMMUNITY
    assert await env.repo.get(UNKNOWN) is None


async def test_a_write_drops_the_cached_community(env: Env) -> None:
    cached = await env.community_service.community_for(GROUP)
    assert env.community_service.cached(GROUP.chat_id) is cached
    assert community_setting(cached, "faq.mode", "auto") == "auto"
    assert (await env.service.set(GROUP.chat_id, "faq.mode", "off")).ok
    assert env.community_service.cached(GROUP.chat_id) is None
    # What every service reads next is the new value, with no invalidation call anywhere else.
    fresh = await env.community_service.community_for(GROUP)
    assert community_setting(fresh, "faq.mode", "auto") == "off"
    assert (await env.service.set(GROUP.chat_id, TIMEZONE, "Asia/Jerusalem")).ok
    assert (await env.community_service.community_for(GROUP)).timezone == "Asia/Jerusalem"


async def test_a_refused_write_keeps_the_cache(env: Env) -> None:
    cached = await env.community_service.community_for(GROUP)
    assert not (await env.service.set(GROUP.chat_id, "faq.mode", "loud")).ok
    assert env.community_service.cached(GROUP.chat_id) is cached


def test_check_validates_without_writing() -> None:
    assert CommunitySettingsService.check({"faq.answer_threshold": 0.9, "faq.suggest_threshold": 0.85}).ok
    assert not CommunitySettingsService.check({"faq.answer_threshold": 0.8, "faq.suggest_threshold": 0.85}).ok


def test_every_key_the_services_read_is_in_the_table() -> None:
    """The keys read through community_setting(...) in bot/services can all be changed through the service."""
    import re

    root = Path(__file__).resolve().parents[2] / "bot" / "services"
    read = set()
    for path in root.glob("*.py"):
        read |= set(
            re.findall(
                r'community_setting\(\s*[\w.]+,\s*f?"((?:faq|growth|scheduler|managers)\.[a-z_]+)"', path.read_text()
            )
        )
        read |= {f"scheduler.{k}" for k in re.findall(r'self\._list\(community, "([a-z_]+)"\)', path.read_text())}
    assert read, "the scan found no keys"
    assert read <= set(SPECS), read - set(SPECS)


async def test_the_threshold_order_counts_the_stored_value(env: Env) -> None:
    assert (await env.service.change(GROUP.chat_id, {"faq.answer_threshold": 0.6})).ok
    above = await env.service.set(GROUP.chat_id, "faq.suggest_threshold", 0.7)
    assert above.refusal is Refusal.INCONSISTENT
    assert (await env.service.set(GROUP.chat_id, "faq.suggest_threshold", 0.5)).ok
    assert (await env.service.set(GROUP.chat_id, "faq.answer_threshold", 1)).ok  # a whole number is a number
    stored = await env.repo.get(GROUP.chat_id)
    assert stored is not None and stored.settings["faq.answer_threshold"] == 1.0
