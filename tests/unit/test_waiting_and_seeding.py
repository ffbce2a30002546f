"""The shared test helpers: waiting on a condition (tests/waiting.py) and the replayable seed (tests/seeding.py)."""

from __future__ import annotations

import asyncio

import pytest

from tests.seeding import SEED_ENV, replayable_rng
from tests.waiting import holds_for, stays_pending, wait_for_drain, wait_until


async def test_wait_until_returns_once_the_condition_holds() -> None:
    flag = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, flag.set)
    assert await wait_until(flag.is_set, timeout=5, what="the flag")


async def test_wait_until_takes_an_async_predicate() -> None:
    async def ready() -> bool:
        return True

    assert await wait_until(ready)


async def test_wait_until_names_what_never_happened() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0.05s waiting for the reply"):
        await wait_until(lambda: False, timeout=0.05, what="the reply")
    assert await wait_until(lambda: False, timeout=0.05, required=False) is False


async def test_stays_pending_and_holds_for_fail_when_the_limit_is_passed() -> None:
    done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    with pytest.raises(AssertionError, match="should still be waiting"):
        await stays_pending(done, window=0.05)
    await stays_pending(asyncio.get_running_loop().create_future(), window=0.02)
    with pytest.raises(AssertionError, match="stopped holding"):
        await holds_for(lambda: False, window=0.05, what="the cap")
    await holds_for(lambda: True, window=0.02)


async def test_wait_for_drain_waits_while_there_is_progress_and_gives_up_on_a_stall() -> None:
    backlog = [5]

    def take_one() -> int:
        backlog[0] = max(0, backlog[0] - 1)
        return backlog[0]

    assert await wait_for_drain(take_one, stall=0.2, poll=0.01)
    assert await wait_for_drain(lambda: 3, stall=0.05, poll=0.01) is False


def test_the_seed_comes_from_the_environment_and_is_announced(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    monkeypatch.setenv(SEED_ENV, "1234")
    rng = replayable_rng("t::x", lines.append)
    assert rng.replay_seed == 1234 and lines == [f"\nt::x: random seed 1234 (replay with {SEED_ENV}=1234)"]
    again = replayable_rng("t::x", lines.append)
    assert [rng.random() for _ in range(3)] == [again.random() for _ in range(3)]
    monkeypatch.delenv(SEED_ENV)
    fresh = replayable_rng("t::y", lines.append)
    assert f"{SEED_ENV}={fresh.replay_seed})" in lines[-1]
