from __future__ import annotations

import pytest

from bot.services.roles import RoleService
from tests.fakes import ManualClock

GROUP = -1001


class Clock(ManualClock[float]):
    def __init__(self) -> None:
        super().__init__(0.0)


@pytest.fixture
def fetches() -> list[int]:
    return []


def make(fetches: list[int], clock: Clock, admins: set[int] | None = None, fail: bool = False) -> RoleService:
    async def fetch(chat_id: int) -> set[int]:
        fetches.append(chat_id)
        if fail:
            raise RuntimeError("Forbidden: bot was kicked")
        return set(admins or {10})

    return RoleService(frozenset({1}), fetch, ttl_s=60, monotonic=clock)


async def test_managers_manage_everywhere_admins_only_their_chat(fetches: list[int]) -> None:
    roles = make(fetches, Clock())
    assert await roles.can_manage(GROUP, 1)
    assert await roles.can_manage(GROUP, 10)
    assert not await roles.can_manage(GROUP, 11)
    assert not await roles.can_manage(None, 10)  # a chat admin is nobody in private
    assert await roles.can_manage(None, 1)


async def test_admin_list_is_cached_with_ttl(fetches: list[int]) -> None:
    clock = Clock()
    roles = make(fetches, clock)
    await roles.is_chat_admin(GROUP, 10)
    await roles.is_chat_admin(GROUP, 11)
    assert fetches == [GROUP]
    clock.now = 61
    await roles.is_chat_admin(GROUP, 10)
    assert fetches == [GROUP, GROUP]


async def test_chat_member_updates_refresh_the_cache(fetches: list[int]) -> None:
    roles = make(fetches, Clock())
    assert not await roles.is_chat_admin(GROUP, 12)
    roles.admin_changed(GROUP, 12, True)
    assert await roles.is_chat_admin(GROUP, 12)
    roles.admin_changed(GROUP, 10, False)
    assert not await roles.is_chat_admin(GROUP, 10)
    assert fetches == [GROUP]


async def test_anonymous_admin_counts_as_admin(fetches: list[int]) -> None:
    roles = make(fetches, Clock(), admins=set())
    assert await roles.can_manage(GROUP, 1087968824, sender_chat_id=GROUP)
    assert not await roles.can_manage(GROUP, 1087968824, sender_chat_id=-100999)  # another chat


async def test_fetch_failure_fails_closed(fetches: list[int]) -> None:
    roles = make(fetches, Clock(), fail=True)
    assert not await roles.is_chat_admin(GROUP, 10)


async def test_an_admin_list_older_than_an_hour_is_not_trusted_after_an_api_error() -> None:
    clock, failing = Clock(), {"now": False}

    async def fetch(chat_id: int) -> set[int]:
        if failing["now"]:
            raise RuntimeError("Bad Gateway")
        return {10}

    roles = RoleService(frozenset({1}), fetch, ttl_s=60, max_stale_s=3600, monotonic=clock)
    assert await roles.is_chat_admin(GROUP, 10)
    failing["now"] = True
    clock.now = 1800  # past the TTL, within the bound: the list of half an hour ago still counts
    assert await roles.is_chat_admin(GROUP, 10)
    clock.now = 3601  # older than an hour: a demoted admin must not keep their rights
    assert not await roles.is_chat_admin(GROUP, 10)
    failing["now"] = False  # Telegram answers again: the fresh list counts
    assert await roles.is_chat_admin(GROUP, 10)
