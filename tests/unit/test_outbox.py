"""The outbox against a FIFO MockedBot, on fake time (nothing here really sleeps)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.methods import (
    DeleteMessage,
    EditMessageText,
    GetChatMemberCount,
    PinChatMessage,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import Message

from bot.domain import Button
from bot.telegram import links
from bot.telegram.outbox import Delivery, ErrorKind, Outbox, OutboxError, Priority
from bot.telegram.split import TEXT_LIMIT, visible_html_len
from tests.mocked_bot import MockedBot, make_message, message_update, network_error, timeout_error
from tests.waiting import wait_until

GROUP = -1001234567890
OTHER_GROUP = -1009876543210
PRIVATE = 4242
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw4"


class FakeTime:
    """A virtual clock: ``sleep`` parks the caller; when everything else is idle the
    driver jumps the clock to the earliest sleeper and wakes it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._seq), future))
        await future

    async def drive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._settle(loop)
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            if self._sleepers:
                when, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, when)
                future.set_result(None)
            else:
                await asyncio.sleep(0.0005)

    @staticmethod
    async def _settle(loop: asyncio.AbstractEventLoop) -> None:
        """Yield until no other callback is runnable (asyncio's ready queue is empty)."""
        quiet = 0
        for _ in range(100_000):
            await asyncio.sleep(0)
            ready = getattr(loop, "_ready", None)
            if ready is None:  # another loop implementation: settle for a fixed while
                quiet += 1
                if quiet > 200:
                    return
            elif not ready:
                quiet += 1
                if quiet >= 3:
                    return
            else:
                quiet = 0


@pytest.fixture
async def fake_time() -> AsyncIterator[FakeTime]:
    ft = FakeTime()
    driver = asyncio.create_task(ft.drive())
    yield ft
    driver.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await driver


@dataclass
class Harness:
    bot: MockedBot
    outbox: Outbox
    time: FakeTime
    sent: list[tuple[float, TelegramMethod[Any]]] = field(default_factory=list)
    forbidden: list[tuple[int, str]] = field(default_factory=list)
    migrated: list[tuple[int, int]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, method: TelegramMethod[Any]) -> None:
        self.sent.append((self.time.now, method))
        self.arrived.set()

    async def until_sent(self, count: int = 1) -> None:
        while len(self.sent) < count:
            self.arrived.clear()
            await self.arrived.wait()

    async def until_queued(self, calls: list[asyncio.Future[Any]]) -> None:
        """Until every call has reached the outbox: queued, on the wire or already answered (fake time does
        not move meanwhile: this only yields to the loop)."""
        await wait_until(
            lambda: self.outbox.pending + sum(call.done() for call in calls) >= len(calls),
            poll=0,
            what=f"{len(calls)} calls to reach the outbox",
        )

    async def queue_sends(self, count: int, chat_id: int = GROUP) -> list[asyncio.Future[Delivery]]:
        """``count`` messages p0, p1, … to one chat, all in the outbox when this returns."""
        calls = [asyncio.ensure_future(self.outbox.send_message(chat_id, f"p{i}")) for i in range(count)]
        await self.until_queued(calls)
        return calls

    def times(self, chat_id: int | None = None) -> list[float]:
        return [t for t, m in self.sent if chat_id is None or getattr(m, "chat_id", None) == chat_id]

    def texts(self) -> list[str]:
        return [getattr(m, "text", "") for _, m in self.sent]


@pytest.fixture
async def make(fake_time: FakeTime) -> AsyncIterator[Any]:
    made: list[Outbox] = []

    def factory(*, auto_respond: bool = True, token: str = "42:TEST", **kwargs: Any) -> Harness:
        bot = MockedBot(auto_respond=auto_respond, token=token)
        h = Harness(bot, None, fake_time)  # type: ignore[arg-type]

        async def on_forbidden(chat_id: int, description: str) -> None:
            h.forbidden.append((chat_id, description))

        async def on_migrated(old: int, new: int) -> None:
            h.migrated.append((old, new))

        kwargs.setdefault("rng", random.Random(7))
        h.outbox = Outbox(
            bot,
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            on_forbidden=on_forbidden,
            on_migrated=on_migrated,
            **kwargs,
        )
        bot.session.on_request = h.record
        made.append(h.outbox)
        return h

    yield factory
    for outbox in made:
        await outbox.close(drain_timeout=0)


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any half-open window [t, t + window)."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, sum(1 for t in ordered[i:] if t < start + window - 1e-9))
    return best


# ---------------------------------------------------------------------------- rate limits


async def test_group_gets_at_most_20_messages_in_any_minute(make: Any) -> None:
    h = make()
    results = await asyncio.gather(
        *(h.outbox.send_message(GROUP, f"post {i}", priority=Priority.BULK) for i in range(45))
    )
    assert all(r.ok for r in results)
    assert max_in_window(h.times(GROUP), 60.0) == 20
    assert h.times(GROUP)[-1] >= 120.0  # 45 messages need three windows
    assert h.texts() == [f"post {i}" for i in range(45)]  # FIFO
    assert h.outbox.metrics.throttled > 0


async def test_private_chat_gets_about_one_message_a_second(make: Any) -> None:
    h = make()
    await asyncio.gather(*(h.outbox.send_message(PRIVATE, f"m{i}") for i in range(5)))
    times = h.times(PRIVATE)
    assert [b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(times)] == [True] * 4


async def test_global_limit_across_chats(make: Any) -> None:
    h = make(global_per_second=30.0, max_in_flight=64)
    chats = [-100_000_000_0000 - i for i in range(100)]
    results = await asyncio.gather(*(h.outbox.send_message(c, "hello") for c in chats))
    assert all(r.ok for r in results)
    assert max_in_window(h.times(), 1.0) <= 30
    assert h.times()[-1] >= 3.0


async def test_a_throttled_chat_does_not_block_other_chats(make: Any) -> None:
    h = make()
    busy = [
        asyncio.ensure_future(h.outbox.send_message(GROUP, f"flood {i}", priority=Priority.REPLY)) for i in range(25)
    ]
    await h.until_queued(busy)
    other = await h.outbox.send_message(OTHER_GROUP, "meanwhile", priority=Priority.BULK)
    assert other.ok
    assert h.times(OTHER_GROUP)[0] < 1.0  # not behind the flooded group's next window
    await asyncio.gather(*busy)
    assert h.times(GROUP)[-1] >= 60.0


async def test_group_rate_can_be_tuned(make: Any) -> None:
    h = make()
    h.outbox.set_group_rate(3, period_s=2.0)
    await asyncio.gather(*(h.outbox.send_message(GROUP, f"p{i}") for i in range(7)))
    assert max_in_window(h.times(GROUP), 2.0) == 3
    assert h.times(GROUP)[-1] >= 4.0


# ---------------------------------------------------------------------------- priorities


async def test_replies_go_before_normal_before_bulk(make: Any) -> None:
    h = make(global_per_second=1.0)
    await h.outbox.start()
    jobs = []
    for i in range(3):
        jobs.append(h.outbox.send_message(-1000000000100 - i, f"bulk {i}", priority=Priority.BULK))
        jobs.append(h.outbox.send_message(-1000000000200 - i, f"normal {i}", priority=Priority.NORMAL))
        jobs.append(h.outbox.send_message(-1000000000300 - i, f"reply {i}", priority=Priority.REPLY))
    await asyncio.gather(*jobs)
    assert h.texts() == [
        "reply 0",
        "reply 1",
        "reply 2",
        "normal 0",
        "normal 1",
        "normal 2",
        "bulk 0",
        "bulk 1",
        "bulk 2",
    ]


async def test_within_a_chat_a_reply_overtakes_queued_bulk(make: Any) -> None:
    h = make()
    bulk = [h.outbox.send_message(PRIVATE, f"bulk {i}", priority=Priority.BULK) for i in range(3)]
    reply = h.outbox.send_message(PRIVATE, "reply", priority=Priority.REPLY)
    await asyncio.gather(*bulk, reply)
    assert h.texts() == ["reply", "bulk 0", "bulk 1", "bulk 2"]


async def test_parts_of_a_split_message_are_not_interleaved(make: Any) -> None:
    h = make()
    long = asyncio.ensure_future(h.outbox.send_message(PRIVATE, "word " * 2000, priority=Priority.BULK))
    await h.until_sent(1)  # the first part is out
    reply = await h.outbox.send_message(PRIVATE, "urgent", priority=Priority.REPLY)
    delivery = await long
    assert reply.ok and delivery.ok
    assert len(delivery.message_ids) == 3
    assert h.texts()[-1] == "urgent"


# ---------------------------------------------------------------------------- retries


async def test_retry_after_is_honoured_for_that_chat(make: Any) -> None:
    h = make(auto_respond=False, max_attempts=1)
    for _ in range(3):  # not counted as attempts: max_attempts=1 still succeeds
        h.bot.add_result_for(SendMessage, ok=False, error_code=429, description="Too Many Requests", retry_after=7)
    h.bot.add_result_for(SendMessage, ok=True, result=make_message(10, GROUP))
    delivery = await h.outbox.send_message(GROUP, "hello")
    assert delivery == Delivery(ok=True, chat_id=GROUP, message_ids=[10])
    times = h.times(GROUP)
    assert len(times) == 4
    assert all(b - a >= 7.0 for a, b in itertools.pairwise(times))
    assert h.outbox.metrics.rate_limited == 3


async def test_retry_after_in_one_chat_does_not_hold_others(make: Any) -> None:
    h = make()
    h.bot.session.auto_respond = False
    h.bot.add_result_for(SendMessage, ok=False, error_code=429, description="Too Many Requests", retry_after=30)
    first = asyncio.ensure_future(h.outbox.send_message(GROUP, "slow"))
    await h.until_sent(1)
    h.bot.session.auto_respond = True
    other = await h.outbox.send_message(OTHER_GROUP, "fast")
    assert other.ok and h.times(OTHER_GROUP)[0] < 1.0
    assert (await first).ok
    assert h.times(GROUP)[1] >= 30.0


async def test_too_many_retry_afters_give_up(make: Any) -> None:
    h = make(auto_respond=False, max_rate_limit_waits=2)
    for _ in range(3):
        h.bot.add_result_for(SendMessage, ok=False, error_code=429, description="Too Many Requests", retry_after=1)
    delivery = await h.outbox.send_message(GROUP, "hello")
    assert not delivery.ok and delivery.error_kind == ErrorKind.RATE_LIMITED


async def test_server_errors_back_off_then_succeed(make: Any) -> None:
    h = make(auto_respond=False, base_backoff=2.0)
    h.bot.add_result_for(SendMessage, ok=False, error_code=502, description="Bad Gateway")
    h.bot.add_result_for(SendMessage, ok=False, error_code=500, description="Internal Server Error")
    h.bot.add_result_for(SendMessage, ok=True, result=make_message(5, GROUP))
    delivery = await h.outbox.send_message(GROUP, "hello")
    assert delivery.ok and delivery.message_ids == [5]
    t0, t1, t2 = h.times(GROUP)
    assert 1.0 <= t1 - t0 <= 2.0  # 2 s with equal jitter: [1, 2]
    assert 2.0 <= t2 - t1 <= 4.0  # doubled
    assert h.outbox.metrics.retried == 2


async def test_network_errors_and_timeouts_fail_after_max_attempts(make: Any) -> None:
    h = make(auto_respond=False, max_attempts=3)
    h.bot.add_error(network_error())
    h.bot.add_error(timeout_error())
    h.bot.add_error(network_error())
    delivery = await h.outbox.send_message(PRIVATE, "hello")
    assert not delivery.ok
    assert delivery.error_kind == ErrorKind.NETWORK
    assert delivery.error is not None and "gave up after 3 attempts" in delivery.error
    assert len(h.sent) == 3
    assert h.outbox.metrics.failed == 1


async def test_the_token_never_reaches_errors_or_logs(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    h = make(auto_respond=False, max_attempts=2, token=TOKEN)
    leak = f"ClientConnectorError: https://api.telegram.org/bot{TOKEN}/sendMessage"
    h.bot.add_error(network_error(leak))
    h.bot.add_error(network_error(leak))
    with caplog.at_level(logging.DEBUG, logger="steward.outbox"):
        delivery = await h.outbox.send_message(PRIVATE, "hello")
    assert not delivery.ok and delivery.error is not None
    assert TOKEN not in delivery.error and "<token>" in delivery.error
    assert caplog.records
    assert TOKEN not in caplog.text


# ---------------------------------------------------------------------------- 403 / 400 / migration


async def test_forbidden_fails_and_reports_the_chat(make: Any) -> None:
    h = make(auto_respond=False)
    description = "Forbidden: bot was kicked from the supergroup chat"
    h.bot.add_result_for(SendMessage, ok=False, error_code=403, description=description)
    delivery = await h.outbox.send_message(GROUP, "hello")
    assert not delivery.ok
    assert delivery.error_kind == ErrorKind.FORBIDDEN
    assert delivery.error == "the bot was removed from this chat"
    assert h.forbidden == [(GROUP, description)]
    assert len(h.sent) == 1  # no retry


async def test_migration_resends_to_the_new_chat_and_remembers_it(make: Any) -> None:
    h = make(auto_respond=False)
    old, new = -555, -1000000000555
    h.bot.add_result_for(
        SendMessage,
        ok=False,
        error_code=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=new,
    )
    h.bot.add_result_for(SendMessage, ok=True, result=make_message(9, new))
    delivery = await h.outbox.send_message(old, "hello", keyboard=[[Button("Open", url="https://t.me/x")]])
    assert delivery == Delivery(ok=True, chat_id=new, message_ids=[9])
    assert h.migrated == [(old, new)]
    assert [getattr(m, "chat_id", None) for _, m in h.sent] == [old, new]
    assert getattr(h.sent[1][1], "reply_markup", None) is not None
    # later sends to the old id go straight to the new one
    h.bot.session.auto_respond = True
    later = await h.outbox.send_message(old, "again")
    assert later.ok and later.chat_id == new
    assert getattr(h.sent[-1][1], "chat_id", None) == new
    assert h.outbox.resolve_chat(old) == new


async def test_reply_to_a_deleted_message_is_sent_without_the_reply(make: Any) -> None:
    h = make(auto_respond=False)
    h.bot.add_result_for(
        SendMessage, ok=False, error_code=400, description="Bad Request: message to be replied not found"
    )
    h.bot.add_result_for(SendMessage, ok=True, result=make_message(3, GROUP))
    delivery = await h.outbox.send_message(GROUP, "answer", reply_to=77, thread_id=12)
    assert delivery.ok
    first, second = (m for _, m in h.sent)
    assert isinstance(first, SendMessage) and isinstance(second, SendMessage)
    assert first.reply_parameters is not None
    assert first.reply_parameters.message_id == 77
    assert first.reply_parameters.allow_sending_without_reply is True
    assert second.reply_parameters is None
    assert second.message_thread_id == 12
    assert h.outbox.metrics.reply_dropped == 1


async def test_not_modified_edit_counts_as_ok(make: Any) -> None:
    h = make(auto_respond=False)
    h.bot.add_result_for(
        EditMessageText,
        ok=False,
        error_code=400,
        description="Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message",
    )
    delivery = await h.outbox.edit_text(GROUP, 15, "same", keyboard=[[Button("Take", callback_data="c:1")]])
    assert delivery == Delivery(ok=True, chat_id=GROUP, message_ids=[15])


async def test_deleted_topic_fails_in_plain_words(make: Any) -> None:
    h = make(auto_respond=False)
    h.bot.add_result_for(SendMessage, ok=False, error_code=400, description="Bad Request: message thread not found")
    delivery = await h.outbox.send_message(GROUP, "hello", thread_id=99)
    assert not delivery.ok
    assert delivery.error_kind == ErrorKind.NOT_FOUND
    assert delivery.error == "the forum topic no longer exists"
    assert len(h.sent) == 1


async def test_other_bad_requests_fail_with_their_description(make: Any) -> None:
    h = make(auto_respond=False)
    h.bot.add_result_for(SendMessage, ok=False, error_code=400, description="Bad Request: BUTTON_DATA_INVALID")
    delivery = await h.outbox.send_message(GROUP, "hello")
    assert not delivery.ok
    assert delivery.error_kind == ErrorKind.BAD_REQUEST
    assert delivery.error == "Bad Request: BUTTON_DATA_INVALID"


async def test_invalid_input_is_refused_without_a_request(make: Any) -> None:
    h = make()
    bad = await h.outbox.send_message(GROUP, "hi", keyboard=[[Button("both", url="https://x", callback_data="y")]])
    empty = await h.outbox.send_message(GROUP, "  <b> </b> ")
    too_long = await h.outbox.edit_text(GROUP, 1, "x" * (TEXT_LIMIT + 1))
    assert [d.error_kind for d in (bad, empty, too_long)] == [
        ErrorKind.INVALID,
        ErrorKind.INVALID,
        ErrorKind.TOO_LONG,
    ]
    assert h.sent == []


# ---------------------------------------------------------------------------- splitting


async def test_long_text_is_split_into_ordered_parts_in_the_topic(make: Any) -> None:
    h = make()
    paragraph = "<b>Update.</b> " + "The meetup moves to Thursday at the usual place. " * 9
    text = "\n\n".join(paragraph for _ in range(22))
    assert len(text) > 10_000
    keyboard = [[Button("RSVP", callback_data="rsvp")]]
    delivery = await h.outbox.send_message(GROUP, text, thread_id=7, reply_to=100, keyboard=keyboard)
    assert delivery.ok
    parts = [m for _, m in h.sent]
    assert len(parts) == len(delivery.message_ids) >= 3
    assert delivery.message_ids == sorted(delivery.message_ids)
    for i, part in enumerate(parts):
        assert isinstance(part, SendMessage)
        assert part.message_thread_id == 7
        assert visible_html_len(part.text) <= TEXT_LIMIT
        assert (part.reply_parameters is not None) == (i == 0)
        assert (part.reply_markup is not None) == (i == len(parts) - 1)
    joined = "".join(p.text for p in parts if isinstance(p, SendMessage))
    assert joined.count("Update.") == 22
    assert "".join(joined.split()) == "".join(text.split())
    assert h.outbox.metrics.split == 1


async def test_long_caption_continues_in_text_messages(make: Any) -> None:
    h = make()
    delivery = await h.outbox.send_photo(
        GROUP, "AgACAgIAAxkBAAIB", caption="word " * 400, keyboard=[[Button("More", url="https://x.org")]]
    )
    assert delivery.ok and len(delivery.message_ids) == 2
    photo, text = (m for _, m in h.sent)
    assert isinstance(photo, SendPhoto) and photo.reply_markup is None and photo.caption
    assert isinstance(text, SendMessage) and text.reply_markup is not None


# ---------------------------------------------------------------------------- other calls


async def test_delete_pin_and_call(make: Any) -> None:
    h = make()
    assert (await h.outbox.delete(GROUP, 5)).ok
    assert (await h.outbox.pin(GROUP, 6)).ok
    assert isinstance(h.sent[0][1], DeleteMessage)
    pin = h.sent[1][1]
    assert isinstance(pin, PinChatMessage) and pin.disable_notification is True
    h.bot.session.auto_respond = False
    h.bot.add_result_for(GetChatMemberCount, ok=True, result=12)
    assert await h.outbox.call(GROUP, GetChatMemberCount(chat_id=GROUP)) == 12
    h.bot.add_result_for(GetChatMemberCount, ok=False, error_code=400, description="Bad Request: chat not found")
    with pytest.raises(OutboxError) as raised:
        await h.outbox.call(GROUP, GetChatMemberCount(chat_id=GROUP))
    assert raised.value.delivery.error_kind == ErrorKind.NOT_FOUND


async def test_metrics_are_plain_numbers(make: Any) -> None:
    h = make()
    await h.outbox.send_message(PRIVATE, "hi")
    metrics = h.outbox.metrics.as_dict()
    assert metrics["sent"] == 1 and metrics["delivered"] == 1 and metrics["enqueued"] == 1
    assert all(isinstance(v, int) for v in metrics.values())


async def test_queued_messages_follow_a_migration(make: Any) -> None:
    h = make()
    old, new = -777, -1000000000777
    h.bot.session.auto_respond = False
    h.bot.add_result_for(
        SendMessage, ok=False, error_code=400, description="Bad Request: upgraded", migrate_to_chat_id=new
    )
    first = asyncio.ensure_future(h.outbox.send_message(old, "one"))
    queued = [asyncio.ensure_future(h.outbox.send_message(old, f"q{i}")) for i in range(3)]
    await h.until_sent(1)
    h.bot.session.auto_respond = True
    results = await asyncio.gather(first, *queued)
    assert [r.chat_id for r in results] == [new] * 4
    assert [getattr(m, "chat_id", None) for _, m in h.sent] == [old, new, new, new, new]
    assert h.texts() == ["one", "one", "q0", "q1", "q2"]
    assert h.migrated == [(old, new)]


async def test_a_caller_that_gives_up_does_not_take_the_message_back(make: Any) -> None:
    h = make()
    h.outbox.set_group_rate(1, period_s=60.0)
    await h.outbox.send_message(GROUP, "first")
    waiting = asyncio.ensure_future(h.outbox.send_message(GROUP, "second"))
    await h.until_queued([waiting])
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await h.outbox.close(drain_timeout=120.0)
    assert h.texts() == ["first", "second"]


async def test_an_unexpected_error_fails_one_call_and_the_outbox_goes_on(make: Any) -> None:
    h = make()

    def boom(method: TelegramMethod[Any]) -> BaseException:
        return RuntimeError("boom")

    h.bot.add_error(boom)
    broken = await h.outbox.send_message(PRIVATE, "one")
    assert not broken.ok and broken.error_kind == ErrorKind.INTERNAL
    assert (await h.outbox.send_message(PRIVATE, "two")).ok


# ---------------------------------------------------------------------------- shutdown


async def test_close_drains_queued_work(make: Any) -> None:
    h = make()
    pending = await h.queue_sends(25)
    await h.outbox.close(drain_timeout=120.0)
    results = await asyncio.gather(*pending)
    assert all(r.ok for r in results), [(r.error, h.time.now) for r in results if not r.ok]
    assert h.outbox.pending == 0
    after = await h.outbox.send_message(GROUP, "late")
    assert after == Delivery(ok=False, chat_id=GROUP, error="shutting down", error_kind=ErrorKind.SHUTDOWN)


async def test_close_fails_what_it_cannot_finish(make: Any) -> None:
    h = make()
    pending = await h.queue_sends(25)
    await h.outbox.close(drain_timeout=10.0)
    results = await asyncio.gather(*pending)
    assert h.time.now == pytest.approx(10.0)
    assert sum(r.ok for r in results) == 20
    failed = [r for r in results if not r.ok]
    assert len(failed) == 5
    assert all(r.error == "shutting down" for r in failed)


async def test_a_second_close_waits_for_the_first(make: Any) -> None:
    h = make()
    pending = await h.queue_sends(22)
    await asyncio.gather(h.outbox.close(drain_timeout=120.0), h.outbox.close(drain_timeout=0.0))
    assert all(task.done() for task in pending)
    assert all(r.ok for r in await asyncio.gather(*pending))


# ---------------------------------------------------------------------------- MockedBot


async def test_mocked_bot_is_fifo_and_feeds_updates() -> None:
    bot = MockedBot()
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")
        await message.answer("second")

    bot.add_result_for(SendMessage, ok=True, result=make_message(1, PRIVATE, text="echo: hi"))
    bot.add_result_for(SendMessage, ok=True, result=make_message(2, PRIVATE, text="second"))
    await dp.feed_update(bot, message_update(PRIVATE, PRIVATE, "hi"))
    first, second = bot.get_request(), bot.get_request()
    assert isinstance(first, SendMessage) and first.text == "echo: hi"
    assert isinstance(second, SendMessage) and second.text == "second"
    assert (await bot.me()).username == "steward_test_bot"


# ---------------------------------------------------------------------------- links


def test_message_links() -> None:
    assert links.message_link(GROUP, 42, username="@steward_chat") == "https://t.me/steward_chat/42"
    assert links.message_link(GROUP, 42) == "https://t.me/c/1234567890/42"
    assert links.message_link(GROUP, 42, thread_id=7) == "https://t.me/c/1234567890/7/42"
    assert links.message_link(GROUP, 42, username="chat", thread_id=7) == "https://t.me/chat/7/42"
    assert links.message_link(GROUP, 42, thread_id=links.GENERAL_TOPIC_ID) == "https://t.me/c/1234567890/42"
    assert links.internal_chat_id(-1001) is None
    with pytest.raises(ValueError):
        links.message_link(-12345, 1)  # a basic group has no links
    assert links.message_link_or_none(PRIVATE, 1) is None
