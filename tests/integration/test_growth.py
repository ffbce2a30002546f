"""Growth end to end: the real polling loop against the sandbox Bot API.

Campaign links, joins (chat_member and service messages, never counted twice), welcomes
(single, batched under a join spike, custom, self-deleting) and /stats attribution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.sandbox import SandboxBotAPI
from bot.timeutil import epoch_now
from tests.harness import ADMIN_ID, MANAGER_ID, Harness, running_bot

GROUP = -1001000000701
ALICE = 1001
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def populate(sb: SandboxBotAPI, newcomers: int = 0) -> list[int]:
    sb.add_user(ALICE, "Alice", "alice")
    sb.add_user(ADMIN_ID, "Ada", "ada")
    sb.add_user(MANAGER_ID, "Max", "max")
    sb.add_group(GROUP, "Coffee lovers", owner_id=ADMIN_ID, members=[ALICE])
    ids = []
    for i in range(newcomers):
        uid = 2000 + i
        sb.add_user(uid, f"Newbie{i:02d}")
        ids.append(uid)
    return ids


def welcome_texts(sb: SandboxBotAPI) -> list[str]:
    return [t for t in sb.sent_texts(GROUP) if "Welcome" in t or "welcome" in t]


async def join_rows(h: Harness) -> list[Any]:
    return await h.app.db.fetchall(
        "SELECT user_id, kind, source, invite_link, campaign_id, welcomed FROM member_events"
        " WHERE chat_id = ? ORDER BY id",
        (GROUP,),
    )


async def create_campaign(h: Harness, name: str) -> str:
    since = h.sandbox.mark()
    h.sandbox.send_message(GROUP, ADMIN_ID, f"/invite_new {name}")
    created = await h.sandbox.wait_for("createChatInviteLink", since=since, chat_id=GROUP)
    assert created.params["name"] == name
    link = str(created.result["invite_link"])
    reply = await h.sandbox.wait_for("sendMessage", lambda c: link in c.params["text"], since=since, chat_id=GROUP)
    assert name in reply.params["text"]
    return link


async def test_campaign_join_is_welcomed_once_and_attributed_in_stats(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        sb = h.sandbox
        (newbie, other) = populate(sb, newcomers=2)
        sb.add_bot_to_group(GROUP, ADMIN_ID)  # an admin: chat_member updates arrive
        link = await create_campaign(h, "spring")

        since = sb.mark()
        # Telegram sends both the chat_member update (with the link) and the service message.
        sb.join(GROUP, newbie, invite_link=link)
        welcome = await sb.wait_for("sendMessage", lambda c: "Newbie00" in c.params["text"], since=since, chat_id=GROUP)
        assert "Welcome" in welcome.params["text"] and "Coffee lovers" in welcome.params["text"]
        sb.join(GROUP, other)  # no link: added / public
        await sb.wait_for("sendMessage", lambda c: "Newbie01" in c.params["text"], since=since, chat_id=GROUP)
        await h.settle()
        rows = await join_rows(h)
        assert [(r["user_id"], r["kind"]) for r in rows] == [(newbie, "join"), (other, "join")]
        assert rows[0]["invite_link"] == link and rows[0]["campaign_id"] is not None
        assert rows[1]["invite_link"] is None and rows[1]["campaign_id"] is None
        assert len(welcome_texts(sb)) == 2  # one welcome each, despite two reports per join

        sb.send_message(GROUP, newbie, "Hello everyone, glad to be here!")
        sb.leave(GROUP, other)
        await h.settle()

        # The manager asks in private: text with the campaign attribution, then PNG charts.
        sb.send_message(MANAGER_ID, MANAGER_ID, "/start")
        await sb.wait_for("sendMessage", chat_id=MANAGER_ID)
        since = sb.mark()
        uploads_before = len(sb.uploads)
        sb.send_message(MANAGER_ID, MANAGER_ID, "/stats 7d")
        summary = await sb.wait_for(
            "sendMessage", lambda c: "Coffee lovers" in c.params["text"], since=since, chat_id=MANAGER_ID
        )
        text = summary.params["text"]
        assert "+2 joined, −1 left" in text
        assert "spring: +1/−0" in text
        assert "added or no link: +1/−1" in text
        await sb.wait_for("sendPhoto", since=since, chat_id=MANAGER_ID, timeout=15)
        await h.settle(timeout=15)
        photos = sb.calls("sendPhoto", chat_id=MANAGER_ID, ok=True)
        assert len(photos) >= 2
        uploads = sb.uploads[uploads_before:]
        assert uploads and all(data.startswith(PNG_SIGNATURE) and len(data) > 5_000 for _, data in uploads)

        # /invites lists the campaign with its figures.
        since = sb.mark()
        sb.send_message(GROUP, ADMIN_ID, "/invites")
        listing = await sb.wait_for("sendMessage", lambda c: "spring" in c.params["text"], since=since, chat_id=GROUP)
        assert "1 joined, 0 left, 1 still here" in listing.params["text"]


async def test_join_spike_is_welcomed_in_batches(tmp_path: Path) -> None:
    async with running_bot(tmp_path, growth={"raid_joins_per_minute": 3, "raid_batch_seconds": 2.5}) as h:
        sb = h.sandbox
        newcomers = populate(sb, newcomers=20)
        sb.add_bot_to_group(GROUP, ADMIN_ID)
        await h.settle()
        since = sb.mark()
        for uid in newcomers:
            sb.join(GROUP, uid)
        batched = await sb.wait_for(
            "sendMessage", lambda c: "others" in c.params["text"], since=since, chat_id=GROUP, timeout=10
        )
        await h.settle()
        # Three welcomed one by one, then the 17 others in one message naming three of them.
        assert "and 14 others" in batched.params["text"]
        welcomes = [c for c in sb.calls("sendMessage", chat_id=GROUP, ok=True) if c.index >= since]
        assert len(welcomes) == 4
        named = sum(f"Newbie{i:02d}" in c.params["text"] for c in welcomes for i in range(20))
        assert named == 6  # 3 single welcomes + 3 names in the batch
        rows = await join_rows(h)
        assert len(rows) == 20 and all(r["welcomed"] == 1 for r in rows)


async def test_service_messages_are_the_fallback_when_the_bot_is_not_admin(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        sb = h.sandbox
        (newbie,) = populate(sb, newcomers=1)
        sb.add_bot_to_group(GROUP, ADMIN_ID, as_admin=False)
        await h.settle()
        since = sb.mark()
        sb.join(GROUP, newbie)  # no chat_member for a non-admin bot: only the service message
        await sb.wait_for("sendMessage", lambda c: "Newbie00" in c.params["text"], since=since, chat_id=GROUP)
        sb.leave(GROUP, newbie)
        await h.settle()
        rows = await join_rows(h)
        assert [(r["kind"], r["source"]) for r in rows] == [("join", "service"), ("leave", "service")]
        # The service messages are not member messages.
        assert await h.app.messages.count(GROUP) == 0


async def test_custom_welcome_with_rules_button_deletes_itself(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        sb = h.sandbox
        (newbie,) = populate(sb, newcomers=1)
        sb.add_bot_to_group(GROUP, ADMIN_ID)
        since = sb.mark()
        sb.send_message(GROUP, ADMIN_ID, "/welcome Hi {name}, this is {chat}. Say hello!")
        await sb.wait_for("sendMessage", lambda c: "Hi " in c.params["text"], since=since, chat_id=GROUP)
        sb.send_message(GROUP, ADMIN_ID, "/welcome_rules https://example.org/rules")
        sb.send_message(GROUP, ADMIN_ID, "/welcome_delete 5")
        await sb.wait_for("sendMessage", lambda c: "5 min" in c.params["text"], since=since, chat_id=GROUP)
        # A member (not an admin) cannot change it.
        sb.send_message(GROUP, ALICE, "/welcome off")
        await h.settle()

        since = sb.mark()
        sb.join(GROUP, newbie)
        welcome = await sb.wait_for("sendMessage", lambda c: "Newbie00" in c.params["text"], since=since, chat_id=GROUP)
        assert welcome.params["text"].startswith("Hi ")
        assert "this is Coffee lovers. Say hello!" in welcome.params["text"]
        buttons = welcome.params["reply_markup"]["inline_keyboard"]
        assert buttons[0][0]["url"] == "https://example.org/rules"
        message_id = int(welcome.result["message_id"])
        await h.settle()

        assert await h.app.growth.delete_due(now=epoch_now() + 60) == 0  # not yet
        since = sb.mark()
        assert await h.app.growth.delete_due(now=epoch_now() + 5 * 60 + 5) == 1
        deleted = await sb.wait_for("deleteMessage", since=since, chat_id=GROUP)
        assert int(deleted.params["message_id"]) == message_id
        assert await h.app.growth.delete_due(now=epoch_now() + 3600) == 0  # done once


async def test_group_admin_stats_go_to_private_unless_allowed_in_group(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        sb = h.sandbox
        populate(sb)
        sb.add_bot_to_group(GROUP, ADMIN_ID)
        sb.send_message(GROUP, ALICE, "Is the shop open on Sunday?")
        sb.send_message(ADMIN_ID, ADMIN_ID, "/start")
        await h.settle()
        since = sb.mark()
        sb.send_message(GROUP, ALICE, "/stats")  # a member: ignored
        sb.send_message(GROUP, ADMIN_ID, "/stats 30d")
        private = await sb.wait_for(
            "sendMessage", lambda c: "Coffee lovers" in c.params["text"], since=since, chat_id=ADMIN_ID
        )
        assert "Questions: 1" in private.params["text"]
        note = await sb.wait_for("sendMessage", lambda c: "private" in c.params["text"], since=since, chat_id=GROUP)
        assert note.params["reply_parameters"]["message_id"]
        await h.settle(timeout=15)
        group_texts = [c.params["text"] for c in sb.calls("sendMessage", chat_id=GROUP) if c.index >= since]
        assert not any("Messages:" in t for t in group_texts)

        await h.app.communities.update_settings(GROUP, {"growth.stats_in_group": True})
        h.app.community_service.invalidate(GROUP)
        since = sb.mark()
        sb.send_message(GROUP, ADMIN_ID, "/stats week")
        usage = await sb.wait_for("sendMessage", since=since, chat_id=GROUP)
        assert "Usage" in usage.params["text"]
        sb.send_message(GROUP, ADMIN_ID, "/stats 7d")
        await sb.wait_for("sendMessage", lambda c: "Messages:" in c.params["text"], since=since, chat_id=GROUP)


async def test_campaigns_from_private_chat_name_the_group_and_check_rights(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        sb = h.sandbox
        populate(sb)
        sb.add_bot_to_group(GROUP, ADMIN_ID)
        await h.settle()
        for uid in (MANAGER_ID, ALICE):
            sb.send_message(uid, uid, "/start")
        await h.settle()

        since = sb.mark()
        sb.send_message(MANAGER_ID, MANAGER_ID, "/invite_new autumn")
        hint = await sb.wait_for("sendMessage", since=since, chat_id=MANAGER_ID)
        assert "chat id" in hint.params["text"]

        sb.send_message(MANAGER_ID, MANAGER_ID, f"/invite_new {GROUP} autumn fair")
        created = await sb.wait_for("createChatInviteLink", since=since, chat_id=GROUP)
        assert created.params["name"] == "autumn fair"
        await sb.wait_for("sendMessage", lambda c: "autumn fair" in c.params["text"], since=since, chat_id=MANAGER_ID)

        # A member who is not an admin of the group gets nothing made.
        since = sb.mark()
        sb.send_message(ALICE, ALICE, f"/invite_new {GROUP} sneaky")
        refusal = await sb.wait_for("sendMessage", since=since, chat_id=ALICE)
        assert "that you manage" in refusal.params["text"]
        sb.send_message(ALICE, ALICE, f"/stats 7d {GROUP}")
        refusal = await sb.wait_for(
            "sendMessage", lambda c: "that you manage" in c.params["text"], since=since, chat_id=ALICE
        )
        assert sb.calls("createChatInviteLink", chat_id=GROUP)[-1].params["name"] == "autumn fair"
        campaigns = await h.app.growth.campaigns(GROUP)
        assert [c.campaign.name for c in campaigns] == ["autumn fair"]

        # Bad names are explained.
        since = sb.mark()
        sb.send_message(GROUP, ADMIN_ID, "/invite_new " + "x" * 40)
        bad = await sb.wait_for("sendMessage", since=since, chat_id=GROUP)
        assert "1 to 32" in bad.params["text"]


async def test_campaign_link_needs_the_invite_right(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        sb = h.sandbox
        populate(sb)
        sb.add_bot_to_group(GROUP, ADMIN_ID, rights={"can_invite_users": False})
        await h.settle()
        since = sb.mark()
        sb.send_message(GROUP, ADMIN_ID, "/invite_new spring")
        reply = await sb.wait_for("sendMessage", lambda c: "invite" in c.params["text"], since=since, chat_id=GROUP)
        assert "right to invite users" in reply.params["text"]
        assert await h.app.growth.campaigns(GROUP) == []


async def test_jobs_are_scheduled_and_due_welcomes_go_after_a_restart(tmp_path: Path) -> None:
    async with SandboxBotAPI(token="123456:TEST-token") as sandbox:
        growth = {"welcome_delete_minutes": 1, "digest_day": "fri", "digest_time": "17:30"}
        async with running_bot(tmp_path, sandbox=sandbox, growth=growth) as h:
            (newbie,) = populate(sandbox, newcomers=1)
            sandbox.add_bot_to_group(GROUP, ADMIN_ID)
            since = sandbox.mark()
            sandbox.join(GROUP, newbie)
            welcome = await sandbox.wait_for(
                "sendMessage", lambda c: "Newbie00" in c.params["text"], since=since, chat_id=GROUP
            )
            await h.settle()
            digest = h.app.scheduler.get_job("growth-digest")
            assert digest is not None
            fields = {f.name: str(f) for f in digest.trigger.fields}
            assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("fri", "17", "30")
            assert h.app.scheduler.get_job("growth-welcome-delete") is not None
            # The bot stops before the welcome's minute is up.
        async with running_bot(tmp_path, sandbox=sandbox, growth=growth) as h:
            await h.app.db.execute("UPDATE welcome_messages SET delete_at = delete_at - 120")
            since = sandbox.mark()
            await h.app.growth.delete_due()
            deleted = await sandbox.wait_for("deleteMessage", since=since, chat_id=GROUP)
            assert deleted.params["message_id"] == welcome.result["message_id"]
            row = await h.app.db.fetchone("SELECT deleted_at FROM welcome_messages")
            assert row is not None and row[0] is not None
        async with running_bot(tmp_path, sandbox=sandbox, growth={"digest_enabled": False}) as h:
            assert h.app.scheduler.get_job("growth-digest") is None
