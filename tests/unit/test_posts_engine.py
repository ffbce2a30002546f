"""The scheduled-post engine under a controllable clock: one-off and recurring runs, DST,
catch-up after downtime, cancel and edit while armed, failures and receipts."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.domain import Delivery, ErrorKind, Keyboard, Priority
from bot.services.posts import PostError, PostService
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.posts import PostRepository
from handlers.callbacks import BUTTONS
from tests.builders import add_supergroup

BERLIN = ZoneInfo("Europe/Berlin")
CHAT = -1001234567890
FORUM = -1009876543210


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeSender:
    """Records sends; ``fail`` makes the next sends fail with that delivery."""

    calls: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    fail: list[Delivery] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(100))
    clock: FakeClock | None = None
    times: list[datetime] = field(default_factory=list)

    def _result(self, chat_id: int) -> Delivery:
        if self.clock is not None:
            self.times.append(self.clock())
        if self.fail:
            return self.fail.pop(0)
        return Delivery(ok=True, chat_id=chat_id, message_ids=[next(self.ids)])

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Delivery:
        self.calls.append(("message", chat_id, {"text": text, **kwargs}))
        return self._result(chat_id)

    async def send_photo(self, chat_id: int, photo: str, **kwargs: Any) -> Delivery:
        self.calls.append(("photo", chat_id, {"photo": photo, **kwargs}))
        return self._result(chat_id)

    async def send_document(self, chat_id: int, document: str, **kwargs: Any) -> Delivery:
        self.calls.append(("document", chat_id, {"document": document, **kwargs}))
        return self._result(chat_id)

    async def pin(self, chat_id: int, message_id: int, **kwargs: Any) -> Delivery:
        self.calls.append(("pin", chat_id, {"message_id": message_id, **kwargs}))
        return Delivery(ok=True, chat_id=chat_id, message_ids=[message_id])

    async def unpin(self, chat_id: int, message_id: int | None = None, **kwargs: Any) -> Delivery:
        self.calls.append(("unpin", chat_id, {"message_id": message_id, **kwargs}))
        return Delivery(ok=True, chat_id=chat_id)

    def texts(self) -> list[str]:
        return [c[2]["text"] for c in self.calls if c[0] == "message"]


@dataclass
class FakeDesk:
    posts: list[tuple[str, Keyboard | None]] = field(default_factory=list)

    async def post(self, text: str, *, keyboard: Keyboard | None = None, **kwargs: Any) -> list[Any]:
        self.posts.append((text, keyboard))
        return [object()]


@dataclass
class Env:
    db: Database
    service: PostService
    sender: FakeSender
    desk: FakeDesk
    clock: FakeClock
    scheduler: AsyncIOScheduler

    def restart(self, receipts: str = "all") -> PostService:
        """A fresh engine over the same database (what a process restart does)."""
        self.scheduler.remove_all_jobs()
        self.service = PostService(
            PostRepository(self.db),
            CommunityRepository(self.db),
            self.sender,
            self.desk,
            self.scheduler,
            buttons=BUTTONS,
            clock=self.clock,
            lateness_s=3600,
            receipts=receipts,
        )
        return self.service


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    db = Database(tmp_path / "posts.db")
    await db.open()
    communities = CommunityRepository(db)
    await add_supergroup(communities, CHAT, "Berlin club", timezone="Europe/Berlin", username="berlinclub")
    await add_supergroup(communities, FORUM, "Forum", is_forum=True)
    clock = FakeClock(datetime(2026, 3, 20, 8, 0, tzinfo=UTC))
    sender = FakeSender(clock=clock)
    desk = FakeDesk()
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)  # the timer is exercised by the integration tests; here we drive run_due()
    service = PostService(
        PostRepository(db), communities, sender, desk, scheduler, buttons=BUTTONS, clock=clock, lateness_s=3600
    )
    yield Env(db, service, sender, desk, clock, scheduler)
    scheduler.shutdown(wait=False)
    await db.close()


async def status_of(service: PostService, post_id: int) -> str:
    stored = await service.repo.get(post_id)
    assert stored is not None
    return stored.status


async def make(env: Env, when: str, text: str = "Hello", **kwargs: Any) -> Any:
    post = await env.service.build(chat_id=kwargs.pop("chat_id", CHAT), text=text, when=when, **kwargs)
    return await env.service.create(post)


# ---------------------------------------------------------------------- one-off


async def test_one_off_fires_once_at_local_time(env: Env) -> None:
    post = await make(env, "2026-03-20 10:30", "Digest")  # Berlin is UTC+1 in March before the switch
    assert post.due_at == int(datetime(2026, 3, 20, 9, 30, tzinfo=UTC).timestamp())
    assert env.service.armed_at(post.id) == datetime(2026, 3, 20, 9, 30, tzinfo=UTC)

    env.clock.set(datetime(2026, 3, 20, 9, 29, 59, tzinfo=UTC))
    assert await env.service.run_due() == []
    assert env.sender.texts() == []

    env.clock.set(datetime(2026, 3, 20, 9, 30, tzinfo=UTC))
    runs = await env.service.run_due()
    assert [r.status for r in runs if r] == ["sent"]
    assert env.sender.texts() == ["Digest"]
    assert env.sender.calls[0][2]["priority"] == Priority.BULK
    # A second tick, or a stale timer for the same fire, sends nothing more.
    env.clock.advance(minutes=5)
    assert await env.service.run_due() == []
    assert await env.service.fire(post.id, post.due_at) is None
    assert env.sender.texts() == ["Digest"]
    stored = await env.service.repo.get(post.id)
    assert stored is not None and stored.status == "sent" and stored.due_at is None
    assert env.service.armed_at(post.id) is None
    receipt = env.desk.posts[-1][0]
    assert "is out" in receipt and "https://t.me/berlinclub/100" in receipt


async def test_post_options_reach_the_sender(env: Env) -> None:
    await make(
        env,
        "now",
        "<b>Photo</b>",
        media_kind="photo",
        media="AgACfileid",
        chat_id=FORUM,
        thread_id=7,
        buttons=[[{"text": "Read", "url": "https://example.org"}]],
        silent=True,
        protect=True,
        pin=True,
        unpin_after_min=30,
    )
    await env.service.run_due()
    kind, chat, args = env.sender.calls[0]
    assert (kind, chat, args["photo"], args["caption"]) == ("photo", FORUM, "AgACfileid", "<b>Photo</b>")
    assert args["thread_id"] == 7 and args["silent"] and args["protect"]
    assert args["keyboard"][0][0].url == "https://example.org"
    assert env.sender.calls[1][0] == "pin"
    runs = await env.service.repo.all_runs()
    assert runs[0].unpin_at == runs[0].created_at + 30 * 60


async def test_invalid_posts_are_refused_with_the_field(env: Env) -> None:
    with pytest.raises(PostError, match="buttons"):
        await make(env, "now", "x", buttons=[[{"text": "Read", "url": "javascript:alert(1)"}]])
    with pytest.raises(PostError, match="text"):
        await make(env, "now", "   ")
    with pytest.raises(ValueError, match="cannot read the time"):
        await make(env, "tomorrow-ish", "x")
    with pytest.raises(PostError, match=r"at: 2026-03-19 10:00 \(Europe/Berlin\) has already passed"):
        await make(env, "2026-03-19 10:00", "x")


# ---------------------------------------------------------------------- recurring and DST


async def test_recurring_friendly_form_runs_every_matching_day(env: Env) -> None:
    env.clock.set(datetime(2026, 3, 23, 6, 0, tzinfo=UTC))  # Monday
    post = await make(env, "mon,thu 10:00", "Rubric")
    assert post.cron == "0 10 * * mon,thu"
    fired: list[datetime] = []
    for _ in range(4):
        stored = await env.service.repo.get(post.id)
        assert stored is not None and stored.due_at is not None
        env.clock.set(datetime.fromtimestamp(stored.due_at, UTC))
        runs = await env.service.run_due()
        assert [r.status for r in runs if r] == ["sent"]
        fired.append(env.clock().astimezone(BERLIN))
    assert [(d.strftime("%a"), d.hour, d.minute) for d in fired] == [
        ("Mon", 10, 0),
        ("Thu", 10, 0),
        ("Mon", 10, 0),
        ("Thu", 10, 0),
    ]
    assert len(env.sender.texts()) == 4
    assert "Next:" in env.desk.posts[-1][0]


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (datetime(2026, 3, 27, 12, 0, tzinfo=UTC), 4),  # clocks go forward on Sunday 29 March
        (datetime(2026, 10, 23, 12, 0, tzinfo=UTC), 4),  # clocks go back on Sunday 25 October
    ],
    ids=["forward", "back"],
)
async def test_daily_10_berlin_stays_10_across_dst(env: Env, start: datetime, days: int) -> None:
    env.clock.set(start)
    post = await make(env, "0 10 * * *", "Morning")
    local_times = []
    utc_hours = []
    for _ in range(days):
        stored = await env.service.repo.get(post.id)
        assert stored is not None and stored.due_at is not None
        moment = datetime.fromtimestamp(stored.due_at, UTC)
        env.clock.set(moment)
        await env.service.run_due()
        local_times.append(moment.astimezone(BERLIN).strftime("%H:%M"))
        utc_hours.append(moment.hour)
    assert local_times == ["10:00"] * days
    assert len(set(utc_hours)) == 2  # the UTC hour moves instead (9 ↔ 8)
    assert len(env.sender.texts()) == days


async def test_cron_weekdays_use_crontab_numbering(env: Env) -> None:
    env.clock.set(datetime(2026, 3, 21, 12, 0, tzinfo=UTC))  # Saturday
    post = await make(env, "0 9 * * 1-5", "Weekday")
    assert post.due_at is not None
    assert datetime.fromtimestamp(post.due_at, UTC).astimezone(BERLIN).strftime("%a %H:%M") == "Mon 09:00"


# ---------------------------------------------------------------------- downtime


async def test_catch_up_within_the_lateness_limit_sends_late(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Late but fine", lateness_min=60)
    env.clock.set(datetime(2026, 3, 20, 9, 40, tzinfo=UTC))  # 40 min after 10:00 Berlin; the bot was down
    service = env.restart()
    counts = await service.recover()
    assert counts["late"] == 1 and counts["missed"] == 0
    assert env.sender.texts() == ["Late but fine"]
    runs = await service.repo.runs(post.id)
    assert runs[0].status == "sent" and runs[0].late_s == 40 * 60
    assert "40 min late" in env.desk.posts[-1][0]


async def test_catch_up_beyond_the_lateness_limit_is_missed_and_reported(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Too late", lateness_min=30)
    env.clock.set(datetime(2026, 3, 20, 10, 0, tzinfo=UTC))  # two hours late
    service = env.restart(receipts="failures")
    counts = await service.recover()
    assert counts["missed"] == 1
    assert env.sender.texts() == []
    assert await status_of(service, post.id) == "missed"
    text, keyboard = env.desk.posts[-1]
    assert "was not posted" in text and "2026-03-20 10:00" in text
    assert keyboard is not None and keyboard[0][0].callback_data == f"post:2:now:{post.id}"
    # The manager can still send it.
    run = await service.send_now(post.id)
    assert run is not None and run.status == "sent"
    assert env.sender.texts() == ["Too late"]


async def test_recurring_missed_run_is_reported_and_the_rubric_continues(env: Env) -> None:
    env.clock.set(datetime(2026, 3, 23, 6, 0, tzinfo=UTC))
    post = await make(env, "daily 10:00", "Daily", lateness_min=15)
    env.clock.set(datetime(2026, 3, 23, 12, 0, tzinfo=UTC))  # 10:00 Berlin passed 3 h ago
    service = env.restart()
    counts = await service.recover()
    assert counts["missed"] == 1
    stored = await service.repo.get(post.id)
    assert stored is not None and stored.status == "pending"
    assert datetime.fromtimestamp(stored.due_at or 0, UTC) == datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    assert service.armed_at(post.id) == datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    assert env.sender.texts() == []


async def test_interrupted_send_becomes_uncertain_and_is_never_resent(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Maybe")
    env.clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    # Simulate a crash between the claim and the record.
    assert await env.service.repo.claim(post.id, post.due_at, env.service.now())
    service = env.restart()
    counts = await service.recover()
    assert counts["uncertain"] == 1
    assert env.sender.texts() == []
    assert await status_of(service, post.id) == "uncertain"
    text, keyboard = env.desk.posts[-1]
    assert "may or may not" in text
    assert keyboard is not None
    assert [b.callback_data for b in keyboard[0]] == [f"post:2:posted:{post.id}", f"post:2:now:{post.id}"]
    # Later ticks never send it on their own.
    env.clock.advance(hours=1)
    assert await service.run_due() == []
    assert await service.confirm_posted(post.id)
    assert env.sender.texts() == []
    assert [r.status for r in await service.repo.runs(post.id)] == ["sent"]
    assert not await service.confirm_posted(post.id)  # a second press changes nothing


# ---------------------------------------------------------------------- while armed


async def test_cancel_while_armed(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Cancelled")
    assert env.service.armed_at(post.id) is not None
    assert await env.service.cancel(post.id)
    assert env.service.armed_at(post.id) is None
    env.clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    assert await env.service.run_due() == []
    assert await env.service.fire(post.id, post.due_at) is None  # the old timer, had it fired anyway
    assert env.sender.texts() == []


async def test_edit_while_armed_moves_the_timer_and_changes_the_text(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Old text")
    edited = await env.service.update(post.with_(text="New text"), when="2026-03-20 11:00")
    assert env.service.armed_at(post.id) == datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
    env.clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))  # the old time
    assert await env.service.fire(post.id, post.due_at or 0) is None  # the stale timer does nothing
    assert await env.service.run_due() == []
    env.clock.set(datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    await env.service.run_due()
    assert env.sender.texts() == ["New text"]
    assert edited.due_at == int(datetime(2026, 3, 20, 10, 0, tzinfo=UTC).timestamp())


async def test_pause_and_resume(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Paused")
    assert await env.service.pause(post.id)
    assert env.service.armed_at(post.id) is None
    env.clock.set(datetime(2026, 3, 20, 9, 30, tzinfo=UTC))
    assert await env.service.run_due() == []
    resumed = await env.service.resume(post.id)
    assert resumed is not None and resumed.due_at == env.service.now()  # its time passed: goes out now
    await env.service.run_due()
    assert env.sender.texts() == ["Paused"]


async def test_early_timer_waits_for_the_real_time(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Not yet")
    assert await env.service.fire(post.id, post.due_at or 0) is None
    assert env.sender.texts() == []
    assert env.service.armed_at(post.id) is not None


# ---------------------------------------------------------------------- failures


async def test_forbidden_ends_in_a_failure_receipt_in_plain_words(env: Env) -> None:
    env.sender.fail.append(
        Delivery(
            ok=False, chat_id=CHAT, error="the bot lost the right to post in this chat", error_kind=ErrorKind.FORBIDDEN
        )
    )
    post = await make(env, "now", "Blocked")
    runs = await env.service.run_due()
    assert [r.status for r in runs if r] == ["failed"]
    assert await status_of(env.service, post.id) == "failed"
    text, keyboard = env.desk.posts[-1]
    assert "could not be posted" in text and "the bot lost the right to post" in text
    assert keyboard is not None and keyboard[0][0].callback_data == f"post:2:now:{post.id}"


async def test_receipts_failures_only_skips_success(tmp_path: Path, env: Env) -> None:
    service = env.restart(receipts="failures")
    await service.create(await service.build(chat_id=CHAT, text="Quiet", when="now"))
    await service.run_due()
    assert env.sender.texts() == ["Quiet"]
    assert env.desk.posts == []


async def test_engagement_counts(env: Env) -> None:
    await make(env, "now", "Engage")
    runs = await env.service.run_due()
    run = runs[0]
    assert run is not None and run.message_id is not None
    assert await env.service.on_reaction_count(CHAT, run.message_id, {"👍": 3, "🔥": 1})
    assert not await env.service.on_reaction_count(CHAT, 99999, {"👍": 1})
    assert await env.service.repo.reactions(CHAT, run.message_id) == {"👍": 3, "🔥": 1}
    stored = (await env.service.repo.runs(run.post_id))[0]
    assert stored.reactions == 4


async def test_bad_news_that_did_not_reach_the_managers_is_retried_at_the_next_start(env: Env) -> None:
    class DeadDesk(FakeDesk):
        async def post(self, text: str, *, keyboard: Keyboard | None = None, **kwargs: Any) -> list[Any]:
            self.posts.append((text, keyboard))
            return []  # nobody reachable

    env.sender.fail.append(Delivery(ok=False, chat_id=CHAT, error="the chat does not exist", error_kind="not_found"))
    env.desk = DeadDesk()
    service = env.restart()
    post = await service.create(await service.build(chat_id=CHAT, text="Nobody hears", when="now"))
    await service.run_due()
    assert len(env.desk.posts) == 1
    env.desk = FakeDesk()
    service = env.restart()
    counts = await service.recover()
    assert counts["reported"] == 1
    assert f"Post #{post.id} could not be posted" in env.desk.posts[0][0]
    assert (await env.restart().recover())["reported"] == 0  # delivered once, not again


async def test_many_uncertain_posts_are_reported_in_one_list(env: Env) -> None:
    ids = []
    for i in range(6):
        post = await make(env, "2026-03-20 10:00", f"P{i}")
        assert await env.service.repo.claim(post.id, post.due_at, env.service.now())
        ids.append(post.id)
    service = env.restart()
    counts = await service.recover()
    assert counts["uncertain"] == 6 and counts["reported"] == 6
    assert len(env.desk.posts) == 1
    text, keyboard = env.desk.posts[0]
    assert "may or may not" in text and all(f"Post #{i} " in text for i in ids)
    assert keyboard is not None and [row[0].callback_data for row in keyboard] == [f"post:2:posted:{i}" for i in ids]
    assert env.sender.texts() == []


async def test_unpin_after_survives_a_restart(env: Env) -> None:
    post = await make(env, "now", "Pinned", pin=True, unpin_after_min=30)
    runs = await env.service.run_due()
    run = runs[0]
    assert run is not None and run.unpin_at is not None
    assert [c[0] for c in env.sender.calls] == ["message", "pin"]
    assert env.scheduler.get_job(f"unpin:{run.id}") is not None
    env.clock.advance(minutes=31)  # the bot was down when the unpin was due
    service = env.restart()
    counts = await service.recover()
    assert counts["unpins"] == 1
    assert ("unpin", CHAT, run.message_id) in [(c[0], c[1], c[2].get("message_id")) for c in env.sender.calls]
    assert (await env.restart().recover())["unpins"] == 0
    assert post.id == run.post_id


async def test_a_send_refused_because_the_bot_stops_stays_scheduled(env: Env) -> None:
    env.sender.fail.append(Delivery(ok=False, chat_id=CHAT, error="shutting down", error_kind=ErrorKind.SHUTDOWN))
    post = await make(env, "now", "Stay")
    assert await env.service.run_due() == [None]
    stored = await env.service.repo.get(post.id)
    assert stored is not None and stored.status == "pending" and stored.due_at == post.due_at
    assert env.desk.posts == [] and await env.service.repo.runs(post.id) == []
    service = env.restart()
    counts = await service.recover()  # the next start sends it (late, within the limit)
    assert counts["late"] == 1
    assert env.sender.texts() == ["Stay", "Stay"]  # the refused attempt, then the real send
    assert (await service.repo.get(post.id)).status == "sent"  # type: ignore[union-attr]


async def test_an_edit_from_a_stale_copy_never_resurrects_a_sent_post(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Once")
    stale = await env.service.repo.get(post.id)
    assert stale is not None
    env.clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    await env.service.run_due()
    with pytest.raises(PostError, match="already sent"):
        await env.service.update(stale.with_(text="Once more"))
    recurring = await make(env, "daily 10:00", "Daily")
    old = await env.service.repo.get(recurring.id)
    assert old is not None
    env.clock.set(datetime.fromtimestamp(old.due_at or 0, UTC))
    await env.service.run_due()
    edited = await env.service.update(old.with_(text="Daily, edited"))  # the copy predates that fire
    assert edited.due_at is not None and edited.due_at > (old.due_at or 0)  # the schedule was not rolled back
    assert await env.service.run_due() == []
    assert env.sender.texts() == ["Once", "Daily"]


async def test_the_storage_refuses_an_edit_when_the_row_moved_on(env: Env) -> None:
    post = await make(env, "2026-03-20 10:00", "Row")
    assert await env.service.repo.claim(post.id, post.due_at or 0, env.service.now())
    assert not await env.service.repo.update_content(post.with_(text="x"), env.service.now(), expect=post)
    await env.service.repo.finish_fire(
        post.id, status="pending", next_due=(post.due_at or 0) + 60, error=None, now=env.service.now()
    )
    assert not await env.service.repo.update_content(post.with_(text="x"), env.service.now(), expect=post)


async def test_sync_arms_posts_written_by_another_process(env: Env) -> None:
    post = await env.service.build(chat_id=CHAT, text="Imported", when="2026-03-20 10:00")
    stored = await env.service.repo.add(post)  # what `steward posts import` does while the bot runs
    assert env.service.armed_at(stored.id) is None
    assert await env.service.sync() == 1
    assert env.service.armed_at(stored.id) == datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    assert await env.service.sync() == 0  # already armed for the right time
