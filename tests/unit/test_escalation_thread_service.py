"""The thread policy inside EscalationService: waiting on the scheduler's check, restarts, one card per
thread, explanations, shadow mode, Dismiss tuning. Real SQLite; the encoder is the ClassEmbedder stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.services.escalation import Actor, CaseReason, EscalationService
from bot.storage.db import Database
from tests.fakes import ClassEmbedder
from tests.unit.test_escalation_service import (
    ADMIN,
    CHAT,
    MANAGER,
    Clock,
    FakeDesk,
    FakeOutbox,
    World,
    make_service,
    opened_world,
)

REFUND_TEXT = "How do I cancel my enrollment and get my money back?"
SAME = "same here"
LOST = "After the update all my saved projects are gone from my account"
ABUSE = "Nobody cares about your pathetic times, stop posting"
ANSWER = "There is a button under Settings, Billing, Cancel plan"
THANKS = "Found it, thank you so much!"
ABOUT = {REFUND_TEXT: "refund", LOST: "data_loss", ABUSE: "harassment", ANSWER: "howto", THANKS: "thanks"}


def build(
    db: Database, outbox: FakeOutbox, desk: FakeDesk, clock: Clock, embed: Any, **overrides: Any
) -> EscalationService:
    return make_service(db, outbox, desk, clock, embed=embed, **overrides)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with opened_world(tmp_path / "steward.db", "Pixel Academy", embed=ClassEmbedder(ABOUT)) as opened:
        yield opened


async def ask_refund(w: World) -> int:
    root = await w.say(11, REFUND_TEXT, "negative", 0.7)
    w.clock.now += 40
    await w.say(12, SAME, reply_to=root, reply_to_user=11)
    return root


async def test_an_ordinary_need_waits_for_the_check_and_then_opens_one_case(world: World) -> None:
    await ask_refund(world)
    assert await world.cases.active() == [] and world.desk.posts == []
    assert await world.service.thread.watches.count() == 1  # waiting, stored
    world.clock.now += 100  # the wait (3 min from the first message) is not over
    await world.service.tick()
    assert await world.cases.active() == []
    world.clock.now += 60
    await world.service.tick()
    [case] = await world.cases.active()
    assert "thread" in case.reasons and "refund" in case.reasons
    assert case.detail == "refund or cancellation requested by 2 members, no staff reply for 3 min"
    assert len(world.desk.posts) == 1 and "refund or cancellation requested by 2 members" in world.desk.posts[0]["text"]
    assert await world.service.thread.watches.count() == 0
    # More messages update the same case; the check does not open a second card.
    await world.say(13, "I'd like my money back too", reply_to=1, reply_to_user=11)
    world.clock.now += 600
    await world.service.tick()
    assert len(world.desk.posts) == 1 and len(await world.cases.active()) == 1


async def test_the_wait_survives_a_restart(world: World) -> None:
    await ask_refund(world)
    world.clock.now += 300
    # A new process: same database, fresh service (no memory of the thread's signals).
    fresh = build(world.db, world.outbox, world.desk, world.clock, ClassEmbedder(ABOUT))
    await fresh.tick()
    [case] = await world.cases.active()
    assert case.detail.startswith("refund or cancellation requested by 2 members")


async def test_a_peer_answer_with_thanks_settles_the_thread(world: World) -> None:
    root = await world.say(11, REFUND_TEXT, "negative", 0.7)
    world.clock.now += 30
    answer = await world.say(13, ANSWER, reply_to=root, reply_to_user=11)
    world.clock.now += 30
    await world.say(11, THANKS, "positive", 0.97, reply_to=answer, reply_to_user=13)
    world.clock.now += 600
    await world.service.tick()
    assert await world.cases.active() == [] and world.desk.posts == []
    assert await world.service.thread.watches.count() == 0


async def test_a_staff_reply_settles_a_waiting_thread(world: World) -> None:
    root = await world.say(11, REFUND_TEXT, "negative", 0.7)
    world.clock.now += 60
    await world.say(ADMIN, "I've started your refund, it takes 3 days", reply_to=root, reply_to_user=11)
    world.clock.now += 600
    await world.service.tick()
    assert await world.cases.active() == []


async def test_urgent_needs_open_at_once_and_why_explains_each_signal(world: World) -> None:
    await world.say(11, LOST)  # calm words, serious matter
    [case] = await world.cases.active()
    assert case.detail == "lost data or work" and len(world.desk.posts) == 1
    outcome = await world.service.why(case.id)
    assert outcome.ok and "+1.00 · need: lost data or work" in outcome.text
    assert "a case opens at 1.00 (open_score)" in outcome.text
    old = await world.service.why(999)
    assert not old.ok


async def test_harassment_opens_at_once(world: World) -> None:
    root = await world.say(11, "Great run today, new personal best!", "positive", 0.98)
    await world.say(12, ABUSE, "negative", 0.97, reply_to=root, reply_to_user=11)
    [case] = await world.cases.active()
    assert "harassment" in case.reasons


async def test_ordinary_talk_is_never_embedded_twice_and_short_or_cheerful_messages_never(world: World) -> None:
    embed = world.service.thread.signals.embed
    assert isinstance(embed, ClassEmbedder)
    await world.say(11, "ok", "neutral", 0.9)
    await world.say(12, "Great session, thanks everyone!", "positive", 0.99)
    root = await world.say(13, "Anyone going to the meetup this weekend?", "neutral", 0.9)
    await world.say(14, "yes, see you there", "neutral", 0.9, reply_to=root, reply_to_user=13)
    embedded = [t for call in embed.calls for t in call if t not in embed.prototypes]
    assert embedded == ["Anyone going to the meetup this weekend?", "yes, see you there"]  # once each
    assert await world.cases.active() == []


async def test_open_or_join_gives_a_thread_one_card(world: World) -> None:
    await world.say(11, LOST)
    [case] = await world.cases.active()
    joined, created = await world.service.open_or_join(
        chat_id=CHAT,
        thread_key=case.thread_key,
        topic_id=None,
        reason=CaseReason(("report",), "reported by a member", trigger_message_id=1),
    )
    assert not created and joined.id == case.id and "report" in joined.reasons
    assert len(world.desk.posts) == 1
    events = [e.action for e in await world.cases.events(case.id)]
    assert events == ["opened", "joined"]
    fresh, created = await world.service.open_or_join(
        chat_id=CHAT,
        thread_key="m:77",
        topic_id=None,
        reason=CaseReason(("report",), "reported by a member", trigger_message_id=77),
    )
    assert created and fresh.detail == "reported by a member" and len(world.desk.posts) == 2


async def test_shadow_mode_records_the_new_reasons(world: World) -> None:
    community = await world.community()
    await world.communities.update_settings(community.chat_id, {"escalation.observe": True})
    await ask_refund(world)
    world.clock.now += 200
    await world.service.tick()
    [case] = await world.cases.shadow_since(0)
    assert case.shadow and world.desk.posts == []
    report = await world.service.shadow_report()
    assert "refund or cancellation requested by 2 members, no staff reply for 4 min" in report
    assert "thread policy, open_score 1.0, wait 3 min" in report


async def test_dismiss_raises_the_open_score_within_its_bound(world: World) -> None:
    manager = Actor(MANAGER, "Mia")
    for n in range(3):
        await world.say(20 + n, LOST)
        [case] = await world.cases.active()
        await world.service.dismiss(case.id, manager)
        world.clock.now += 4000
    community = await world.community()
    assert community.settings["escalation.open_score"] == 1.1
    await world.communities.update_settings(CHAT, {"escalation.open_score": 2.0})
    await world.say(40, LOST)
    assert await world.cases.active() == []  # 1.0 is not enough any more
    log = await world.cases.tuning_log(CHAT)
    assert [(c.setting, c.old_value, c.new_value) for c in log] == [("escalation.open_score", "1.0", "1.1")]


async def test_the_message_policy_is_still_there(world: World) -> None:
    await world.communities.update_settings(CHAT, {"escalation.policy": "message"})
    await world.say(11, "this is the worst service, I hate it", "negative", 0.97)
    [case] = await world.cases.active()
    assert "very_negative" in case.reasons and "thread" not in case.reasons


async def test_per_community_settings_are_validated(world: World) -> None:
    actor = Actor(MANAGER, "Mia")
    assert (await world.service.set_community_setting(CHAT, "policy", "message", actor)).ok
    assert not (await world.service.set_community_setting(CHAT, "policy", "vibes", actor)).ok
    assert (await world.service.set_community_setting(CHAT, "wait_minutes", "10", actor)).ok
    assert not (await world.service.set_community_setting(CHAT, "open_score", "-1", actor)).ok
    text = await world.service.settings_text(CHAT)
    assert "policy: message" in text and "wait_minutes: 10" in text


async def test_one_member_opens_at_most_member_cases_per_hour(world: World) -> None:
    for _ in range(4):
        await world.say(20, LOST)  # four new threads by the same member within the hour
        world.clock.now += 60
    assert len(await world.cases.active()) == 3 and len(world.desk.posts) == 3
