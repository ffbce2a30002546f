"""EscalationService over a real SQLite database with a fake outbox, desk and clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import EscalationSettings
from bot.domain import Author, Community, IncomingMessage, MessageContext, Sentiment, SentimentLabel
from bot.domain.buttons import CaseAct
from bot.services.escalation import Actor, EscalationService
from bot.storage.cases import CaseRepository
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.messages import MessageRepository
from handlers.callbacks import BUTTONS, CaseButton
from tests.builders import add_supergroup
from tests.fakes import ManualClock, RecordingOutbox

CHAT = -1001234567890
BOT_ID = 42
MANAGER = 500
ADMIN = 600
DESK_CHAT = -1009999
T0 = 1_800_000_000


@dataclass
class Posted:
    chat_id: int
    message_id: int
    thread_id: int | None = None


FakeOutbox = RecordingOutbox


@dataclass
class FakeDesk:
    posts: list[dict[str, Any]] = field(default_factory=list)
    forum: bool = False
    next_id: int = 1

    async def post(self, text: str, **kw: Any) -> list[Posted]:
        self.next_id += 1
        self.posts.append({"text": text, **kw})
        return [Posted(DESK_CHAT, self.next_id, kw.get("thread_id"))]

    async def open_topic(self, name: str) -> int | None:
        return 77 if self.forum else None


class FakeRoles:
    manager_ids = frozenset({MANAGER})

    def is_manager(self, user_id: int) -> bool:
        return user_id in self.manager_ids

    async def chat_admins(self, chat_id: int) -> set[int]:
        return {ADMIN}


class Clock(ManualClock[int]):
    def __init__(self) -> None:
        super().__init__(T0)


@dataclass
class World:
    db: Database
    service: EscalationService
    outbox: FakeOutbox
    desk: FakeDesk
    clock: Clock
    messages: MessageRepository
    communities: CommunityRepository
    cases: CaseRepository
    next_message: int = 1

    async def community(self) -> Community:
        community = await self.communities.get(CHAT)
        assert community is not None
        return community

    async def say(
        self,
        user_id: int,
        text: str,
        label: str = "neutral",
        score: float = 0.8,
        *,
        reply_to: int | None = None,
        reply_to_user: int | None = None,
        ago: int = 0,
    ) -> int:
        mid = self.next_message
        self.next_message += 1
        msg = IncomingMessage(
            chat_id=CHAT,
            message_id=mid,
            author=Author(user_id, f"user{user_id}"),
            text=text,
            date=datetime.fromtimestamp(self.clock.now - ago, UTC),
            reply_to_message_id=reply_to,
            reply_to_user_id=reply_to_user,
        )
        sentiment = Sentiment(SentimentLabel(label), score)
        key, _first = await self.messages.record(msg, sentiment, is_question=False)
        await self.service.on_message(MessageContext(msg, await self.community(), sentiment, key, False))
        return mid


def make_service(
    world_db: Database, outbox: FakeOutbox, desk: FakeDesk, clock: Clock, *, embed: Any = None, **overrides: Any
) -> EscalationService:
    return EscalationService(
        EscalationSettings(**overrides),
        CaseRepository(world_db),
        MessageRepository(world_db),
        CommunityRepository(world_db),
        FakeRoles(),
        outbox,
        desk,
        bot_id=BOT_ID,
        managers_chat_id=DESK_CHAT,
        buttons=BUTTONS,
        clock=clock,
        embed=embed,
    )


@asynccontextmanager
async def opened_world(db_path: Path, title: str = "Acme Club", **service: Any) -> AsyncIterator[World]:
    """A community in a fresh database and the service under test (``service``: make_service's keywords)."""
    db = Database(db_path)
    await db.open()
    try:
        communities = CommunityRepository(db)
        await add_supergroup(communities, CHAT, title)
        outbox, desk, clock = FakeOutbox(), FakeDesk(), Clock()
        escalation = make_service(db, outbox, desk, clock, **service)
        yield World(db, escalation, outbox, desk, clock, MessageRepository(db), communities, CaseRepository(db))
    finally:
        await db.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with opened_world(tmp_path / "steward.db") as opened:
        yield opened


MANAGER_ACTOR = Actor(MANAGER, "Mia")


async def open_pile_on(w: World) -> int:
    root = await w.say(11, "this is terrible", "negative", 0.75)
    await w.say(12, "terrible for me too", "negative", 0.75, reply_to=root, reply_to_user=11)
    await w.say(13, "awful, nothing works", "negative", 0.75, reply_to=root, reply_to_user=11)
    [case] = await w.cases.active()
    return case.id


async def test_pile_on_opens_one_case_and_updates_it(world: World) -> None:
    case_id = await open_pile_on(world)
    assert len(world.desk.posts) == 1
    card = world.desk.posts[0]
    assert "Case #1" in card["text"] and "https://t.me/c/1234567890/1" in card["text"]
    data = [b.callback_data for row in card["keyboard"] for b in row]
    assert data == [f"case:2:{a}:{case_id}" for a in ("take", "reply", "resolve", "dismiss", "snooze")]
    await world.say(14, "same, terrible", "negative", 0.75, reply_to=1, reply_to_user=11)
    assert len(world.desk.posts) == 1  # updated, not a second card
    assert world.outbox.edits and "<b>14</b> (negative 0.75): same, terrible" in world.outbox.edits[-1]["text"]
    case = await world.cases.get(case_id)
    assert case is not None and case.negative_members == 4 and case.last_message_id == 4 and case.message_count == 2


async def test_two_simultaneous_takes_first_wins(world: World) -> None:
    case_id = await open_pile_on(world)
    first, second = await asyncio.gather(
        world.service.take(case_id, Actor(MANAGER, "Mia")), world.service.take(case_id, Actor(ADMIN, "Ada"))
    )
    assert [first.ok, second.ok].count(True) == 1
    loser = second if first.ok else first
    assert "already took" in loser.text
    case = await world.cases.get(case_id)
    assert case is not None and case.state == "taken"
    assert [e.action for e in await world.cases.events(case_id)] == ["opened", "taken"]


async def test_sla_reminders_once_per_interval_with_an_injected_clock(world: World) -> None:
    case_id = await open_pile_on(world)
    world.clock.now += 29 * 60
    await world.service.tick()
    assert [s for s in world.outbox.sent if "waited" in s["text"]] == []
    world.clock.now += 60  # 30 min: past the target
    await world.service.tick()
    reminders = [s for s in world.outbox.sent if "waited" in s["text"]]
    assert len(reminders) == 1
    assert reminders[0]["chat_id"] == DESK_CHAT and reminders[0]["reply_to"] == world.desk.next_id
    await world.service.tick()  # the same minute: no second reminder
    world.clock.now += 29 * 60
    await world.service.tick()
    assert len([s for s in world.outbox.sent if "waited" in s["text"]]) == 1
    world.clock.now += 60
    await world.service.tick()
    assert len([s for s in world.outbox.sent if "waited" in s["text"]]) == 2
    case = await world.cases.get(case_id)
    assert case is not None and case.reminders == 2
    assert "overdue" in world.outbox.edits[-1]["text"]
    # Answered cases are not chased.
    await world.cases.answer(case_id, MANAGER, "Mia", world.clock.now, note=None)
    world.clock.now += 3600
    await world.service.tick()
    assert len([s for s in world.outbox.sent if "waited" in s["text"]]) == 2


async def test_snooze_wakes_after_its_time(world: World) -> None:
    case_id = await open_pile_on(world)
    outcome = await world.service.snooze(case_id, MANAGER_ACTOR)
    assert outcome.ok and "snoozed for 1 h" in outcome.text
    world.clock.now += 59 * 60
    await world.service.tick()
    case = await world.cases.get(case_id)
    assert case is not None and case.state == "snoozed"
    world.clock.now += 60
    await world.service.tick()
    case = await world.cases.get(case_id)
    assert case is not None and case.state == "open" and case.snoozed_until is None
    assert any("back from snooze" in s["text"] for s in world.outbox.sent)


async def test_pending_reply_survives_a_restart_and_posts_in_the_thread(world: World) -> None:
    case_id = await open_pile_on(world)
    begun = await world.service.begin_reply(case_id, MANAGER_ACTOR, DESK_CHAT)
    assert begun.ok and "next message" in begun.text
    # A new service on the same database: the pending reply is in the DB, not in memory.
    fresh = make_service(world.db, world.outbox, world.desk, world.clock)
    world.clock.now += 120
    outcome = await fresh.submit_reply(MANAGER_ACTOR, DESK_CHAT, "We are on it")
    assert outcome.ok
    posted = world.outbox.sent[-1]
    assert posted["chat_id"] == CHAT and posted["reply_to"] == 3 and posted["text"] == "We are on it"
    case = await world.cases.get(case_id)
    assert case is not None and case.state == "answered" and case.response_seconds == 120
    assert await world.cases.pending(MANAGER, DESK_CHAT) is None


async def test_a_failed_reply_keeps_it_pending_and_says_why(world: World) -> None:
    case_id = await open_pile_on(world)
    await world.service.begin_reply(case_id, MANAGER_ACTOR, DESK_CHAT)
    world.outbox.failure = ("chat not found", "not_found")
    outcome = await world.service.submit_reply(MANAGER_ACTOR, DESK_CHAT, "hello")
    assert not outcome.ok and "chat not found" in outcome.text
    assert await world.cases.pending(MANAGER, DESK_CHAT) is not None
    case = await world.cases.get(case_id)
    assert case is not None and case.state == "open" and case.first_response_at is None


async def test_an_expired_reply_is_reported_not_posted(world: World) -> None:
    case_id = await open_pile_on(world)
    await world.service.begin_reply(case_id, MANAGER_ACTOR, DESK_CHAT)
    world.clock.now += 31 * 60
    await world.service.tick()
    assert any("expired" in s["text"] and s["chat_id"] == DESK_CHAT for s in world.outbox.sent)
    outcome = await world.service.submit_reply(MANAGER_ACTOR, DESK_CHAT, "late")
    assert not outcome.ok
    assert not any(s["chat_id"] == CHAT for s in world.outbox.sent)


async def test_staff_answering_in_the_chat_records_the_first_response(world: World) -> None:
    case_id = await open_pile_on(world)
    world.clock.now += 300
    await world.say(ADMIN, "Sorry folks, fixing it", reply_to=1, reply_to_user=11)
    case = await world.cases.get(case_id)
    assert case is not None and case.state == "answered" and case.answered_by == ADMIN
    assert case.response_seconds == 300


async def test_a_resolved_thread_does_not_reopen_on_old_messages(world: World) -> None:
    case_id = await open_pile_on(world)
    assert (await world.service.resolve(case_id, MANAGER_ACTOR)).ok
    await world.say(11, "ok fine", reply_to=1, reply_to_user=11)
    assert await world.cases.count() == 1
    # A fresh pile-on in the same thread opens a new case.
    for uid in (21, 22, 23):
        await world.say(uid, "terrible again", "negative", 0.75, reply_to=1, reply_to_user=11)
    assert await world.cases.count() == 2


async def test_shadow_mode_records_and_notifies_nobody(world: World) -> None:
    await world.communities.update_settings(CHAT, {"escalation.observe": True})
    await world.say(11, "worst service ever", "negative", 0.97)
    assert world.desk.posts == [] and world.outbox.sent == []
    [case] = await world.cases.shadow_since(0)
    assert case.reasons == ("very_negative",)
    assert await world.service.queue() == []
    report = await world.service.shadow_report()
    assert "Acme Club" in report and "1 would-be cases" in report and "very negative message: 1" in report
    # Going live: the thread's next trip opens a live case and notifies the managers.
    await world.communities.update_settings(CHAT, {"escalation.observe": False})
    await world.say(12, "worst support, I hate it", "negative", 0.97, reply_to=1, reply_to_user=11)
    [live] = await world.cases.active()
    assert not live.shadow and len(world.desk.posts) == 1
    assert [c.state for c in await world.cases.shadow_since(0)] == ["expired"]


async def test_dismissals_raise_thresholds_within_bounds_logged_and_reported(tmp_path: Path) -> None:
    async with opened_world(tmp_path / "tune.db", tune_min_cases=2, max_very_negative=0.93) as w:
        service, desk = w.service, w.desk
        values = []
        for i in range(4):
            root = await w.say(100 + i, "worst day ever", "negative", 0.99)
            [case] = await w.cases.active()
            assert case.first_message_id == root
            assert (await service.dismiss(case.id, MANAGER_ACTOR)).ok
            community = await w.community()
            values.append(community.settings.get("escalation.very_negative"))
        # The first dismissal (1 closed case) is below tune_min_cases; then +0.02 each, capped at 0.93.
        assert values == [None, 0.92, 0.93, 0.93]
        log = await w.cases.tuning_log(CHAT)
        assert [(c.old_value, c.new_value) for c in log] == [("0.9", "0.92"), ("0.92", "0.93")]
        assert all("precision 0%" in c.reason and c.actor_id == MANAGER for c in log)
        reports = [p["text"] for p in desk.posts if p["text"].startswith("🔧")]
        assert len(reports) == 3
        assert "very_negative: 0.9 → 0.92" in reports[0] and "at its bound" in reports[2]
        feedback = await w.cases.feedback(CHAT)
        assert (feedback.resolved, feedback.dismissed, feedback.precision) == (0, 4, 0.0)


async def test_closed_cases_refuse_further_actions(world: World) -> None:
    case_id = await open_pile_on(world)
    assert (await world.service.resolve(case_id, MANAGER_ACTOR)).ok
    for action in (world.service.take, world.service.dismiss, world.service.snooze, world.service.resolve):
        outcome = await action(case_id, MANAGER_ACTOR)
        assert not outcome.ok and "nothing changed" in outcome.text
    assert not (await world.service.begin_reply(case_id, MANAGER_ACTOR, DESK_CHAT)).ok
    assert world.outbox.edits[-1]["keyboard"] is None
    assert not (await world.service.take(999, MANAGER_ACTOR)).ok


async def test_community_settings_are_validated_and_logged(world: World) -> None:
    ok = await world.service.set_community_setting(CHAT, "about", "Acme Cloud hosting and billing", MANAGER_ACTOR)
    assert ok.ok
    assert (await world.service.set_community_setting(CHAT, "keywords", "refund*, chargeback", MANAGER_ACTOR)).ok
    bad = await world.service.set_community_setting(CHAT, "very_negative", "lots", MANAGER_ACTOR)
    assert not bad.ok and "very_negative" in bad.text
    assert not (await world.service.set_community_setting(CHAT, "pile_on_members", "1", MANAGER_ACTOR)).ok
    assert not (await world.service.set_community_setting(CHAT, "colour", "red", MANAGER_ACTOR)).ok
    settings = world.service.policy_settings(await world.community())
    assert settings.keywords == ("refund*", "chargeback") and "acme" in settings.about_matcher.terms
    assert [c.setting for c in await world.cases.tuning_log(CHAT)] == ["escalation.about", "escalation.keywords"]
    # Every change is reported to the managers too.
    assert [p["text"] for p in world.desk.posts][-1] == "⚙️ Mia set keywords = refund*, chargeback in Acme Club."
    assert len(world.desk.posts) == 2


def test_callback_data_fits_in_64_bytes() -> None:
    data = BUTTONS.case(CaseAct.DISMISS, 2**63 - 1)
    assert len(data.encode()) <= 64
    assert CaseButton.unpack(data) == CaseButton(action=CaseAct.DISMISS, case_id=2**63 - 1)


async def test_a_backlog_after_downtime_is_judged_by_message_time(world: World) -> None:
    # Three members piled on two hours ago while Steward was down; the updates arrive now.
    root = await world.say(11, "this is terrible", "negative", 0.75, ago=7200)
    await world.say(12, "terrible", "negative", 0.75, reply_to=root, reply_to_user=11, ago=7150)
    await world.say(13, "awful", "negative", 0.75, reply_to=root, reply_to_user=11, ago=7100)
    [case] = await world.cases.active()
    assert case.reasons == ("pile_on",) and case.opened_at == world.clock.now
    # Old complaints far apart in time are still not a pile-on.
    other = await world.say(21, "this is terrible", "negative", 0.75, ago=9000)
    await world.say(22, "terrible", "negative", 0.75, reply_to=other, reply_to_user=21, ago=5000)
    await world.say(23, "awful", "negative", 0.75, reply_to=other, reply_to_user=21, ago=1000)
    assert len(await world.cases.active()) == 1


async def test_the_group_description_is_read_rarely_and_its_failure_is_harmless(world: World) -> None:
    calls: list[int] = []

    async def describe(chat_id: int) -> str | None:
        calls.append(chat_id)
        if len(calls) == 1:
            raise RuntimeError("Bad Request: chat not found")
        return "Acme Cloud: hosting and billing"

    world.service.describe_chat = describe
    await world.say(11, "the rain is the worst", "negative", 0.97)  # description unavailable: outside
    assert await world.cases.count() == 0 and calls == [CHAT]
    world.clock.now += 7 * 3600  # the empty answer is cached for hours, then read again
    await world.say(12, "billing is the worst in this rain", "negative", 0.97)
    await world.say(13, "billing is the worst in this snow", "negative", 0.97)
    assert await world.cases.count() == 2 and calls == [CHAT, CHAT]
