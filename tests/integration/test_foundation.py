"""The foundation end to end: the real polling loop against the sandbox Bot API over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.sandbox import Fault
from tests.harness import ADMIN_ID, MANAGER_ID, running_bot

GROUP = -1001000000001
FORUM = -1001000000002
ALICE, BOB = 1001, 1002


def populate(sandbox: object) -> None:
    sb = sandbox
    sb.add_user(ALICE, "Alice", "alice")  # type: ignore[attr-defined]
    sb.add_user(BOB, "Bob", language_code="ru")  # type: ignore[attr-defined]
    sb.add_user(ADMIN_ID, "Ada", "ada")  # type: ignore[attr-defined]
    sb.add_user(MANAGER_ID, "Max", "max")  # type: ignore[attr-defined]
    sb.add_group(GROUP, "Coffee lovers", owner_id=ADMIN_ID, members=[ALICE, BOB])  # type: ignore[attr-defined]
    sb.add_group(FORUM, "Coffee forum", is_forum=True, owner_id=ADMIN_ID, members=[ALICE])  # type: ignore[attr-defined]


async def test_start_in_private_is_answered(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        call = await h.say(ALICE, ALICE, "/start")
        assert "Steward" in call.params["text"]


async def test_manager_start_mentions_manager_tools_and_records_dm(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        call = await h.say(MANAGER_ID, MANAGER_ID, "/start")
        assert "/queue" in call.params["text"]
        assert await h.app.managers.reachable_in_private(frozenset({MANAGER_ID})) == [MANAGER_ID]


async def test_start_in_russian_for_a_russian_user(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        call = await h.say(BOB, BOB, "/help")
        assert "Steward" in call.params["text"]
        assert any("\u0400" <= ch <= "\u04ff" for ch in call.params["text"]), call.params["text"]


async def test_bot_added_to_group_registers_and_reports_rights(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        await h.say(ADMIN_ID, ADMIN_ID, "/start")
        since = h.sandbox.mark()
        h.sandbox.add_bot_to_group(GROUP, ADMIN_ID, as_admin=False)
        call = await h.sandbox.wait_for("sendMessage", since=since, chat_id=ADMIN_ID)
        # Privacy mode is on in the sandbox and the bot is no admin: the adder is told how to fix it.
        assert call.params["text"].startswith("Thanks for adding me to Coffee lovers")
        assert "/setprivacy" in call.params["text"]
        community = await h.app.communities.get(GROUP)
        assert community is not None and community.title == "Coffee lovers" and community.is_active


async def test_group_message_is_recorded_with_reply_chain_thread_key(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        h.sandbox.add_bot_to_group(GROUP, ADMIN_ID)
        root = h.sandbox.send_message(GROUP, ALICE, "Is the shop open on Sunday?")
        reply = h.sandbox.send_message(GROUP, BOB, "I think so", reply_to=root["message_id"])
        await h.settle()
        stored_root = await h.app.messages.get(GROUP, root["message_id"])
        stored_reply = await h.app.messages.get(GROUP, reply["message_id"])
        assert stored_root is not None and stored_reply is not None
        assert stored_root.thread_key == stored_reply.thread_key == f"m:{root['message_id']}"
        assert stored_reply.reply_to_user_id == ALICE
        assert stored_root.sentiment_label == "neutral"


async def test_forum_topic_message_is_keyed_by_topic(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        h.sandbox.add_bot_to_group(FORUM, ADMIN_ID)
        topic = h.sandbox.add_topic(FORUM, "Support")
        msg = h.sandbox.send_message(FORUM, ALICE, "The grinder is terrible", thread_id=topic)
        await h.settle()
        stored = await h.app.messages.get(FORUM, msg["message_id"])
        assert stored is not None
        assert stored.thread_key == f"t:{topic}" and stored.thread_id == topic
        assert stored.sentiment_label == "negative"
        community = await h.app.communities.get(FORUM)
        assert community is not None and community.is_forum


async def test_unknown_group_is_registered_on_first_message(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        # The bot is in the group, but its my_chat_member update predates this database.
        h.sandbox.add_member(GROUP, h.sandbox.bot_id, status="administrator")
        msg = h.sandbox.send_message(GROUP, ALICE, "hello")
        await h.settle()
        assert await h.app.communities.get(GROUP) is not None
        assert await h.app.messages.get(GROUP, msg["message_id"]) is not None


async def test_outbox_respects_retry_after(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        h.sandbox.inject("sendMessage", Fault.retry_after(1), chat_id=ALICE)
        since = h.sandbox.mark()
        h.sandbox.send_message(ALICE, ALICE, "/start")
        delivered = await h.sandbox.wait_for("sendMessage", since=since, chat_id=ALICE, timeout=10)
        refused = [c for c in h.sandbox.calls("sendMessage", chat_id=ALICE) if c.error_code == 429]
        assert len(refused) == 1
        assert delivered.at - refused[0].at >= 1.0


async def test_outbox_keeps_the_per_group_rate(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        populate(h.sandbox)
        h.sandbox.add_bot_to_group(GROUP, ADMIN_ID)
        await h.settle()
        # Shrink the window so the test is quick: 3 messages per 2 seconds per group.
        h.app.outbox.set_group_rate(3, period_s=2.0)
        since = h.sandbox.mark()
        deliveries = [h.app.outbox.send_message(GROUP, f"post {i}") for i in range(5)]
        results = await asyncio.gather(*deliveries)
        assert all(result.ok for result in results)
        times = sorted(c.at for c in h.sandbox.journal[since:] if c.method == "sendMessage" and c.ok)
        assert len(times) == 5
        for i in range(len(times) - 3):
            assert times[i + 3] - times[i] >= 2.0 - 0.05
