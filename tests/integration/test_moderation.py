"""Reports, moderation from the case card and spam handling, end to end over the sandbox Bot API.

A /report opens a case → the manager deletes and mutes from the card → unmutes; a member and an admin of
another group are refused every button; the group's admin reads /modlog; a report of an admin offers no
action; a channel posting as itself is banned with banChatSenderChat. Spam from a new member is deleted
under ``delete`` and restored by "Not spam"; under ``observe`` the same message only makes a card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import SandboxBotAPI
from bot.timeutil import epoch_now
from tests.harness import ADMIN_ID, MANAGER_ID, Harness, buttons, message_now, running_bot

CLUB = -1001000000101
OTHER = -1001000000102
DESK = -1009000000101
CHANNEL = -1001000000199
ANN, BOB, NICK, OTHER_ADMIN, SPAMMER = 1001, 1002, 700, 602, 1666
SETTINGS: dict[str, Any] = {"managers": {"chat_id": DESK}}
SPAM_TEXT = "Earn $500 a day from home with crypto signals, only today, join now https://t.me/+FastMoneyClub"


def populate(sb: SandboxBotAPI) -> None:
    sb.add_user(ANN, "Ann", started=True)
    sb.add_user(BOB, "Bob")
    sb.add_user(NICK, "Nick")
    sb.add_user(OTHER_ADMIN, "Olga")
    sb.add_user(SPAMMER, "Lucky")
    sb.add_user(ADMIN_ID, "Ada")
    sb.add_user(MANAGER_ID, "Mia", "mia")
    sb.add_group(CLUB, "Acme Club", owner_id=ADMIN_ID, members=[ANN, BOB, NICK])
    sb.add_group(OTHER, "Other Club", owner_id=OTHER_ADMIN)
    sb.add_group(DESK, "Acme managers", owner_id=MANAGER_ID, members=[NICK, OTHER_ADMIN])
    sb.add_channel(CHANNEL, "Deals Channel")
    for chat in (CLUB, OTHER, DESK):
        sb.add_member(chat, sb.bot_id, "administrator")


def mod_cards(sb: SandboxBotAPI) -> list[dict[str, Any]]:
    return [m for m in sb.messages(DESK) if "mod:" in str(m.get("reply_markup"))]


def card(sb: SandboxBotAPI, message_id: int) -> dict[str, Any]:
    return message_now(sb, DESK, message_id)


async def press(h: Harness, user_id: int, message_id: int, label: str) -> dict[str, Any]:
    return await h.press(DESK, user_id, message_id, label)


def status(sb: SandboxBotAPI, chat_id: int, user_id: int) -> str:
    return sb.chat(chat_id).member(user_id).status


async def test_report_delete_mute_unmute_and_refusals(tmp_path: Path) -> None:
    async with running_bot(tmp_path, populate=populate, **SETTINGS) as h:
        sb = h.sandbox
        sb.send_message(CLUB, BOB, "hello")
        rude = sb.send_message(CLUB, BOB, "you are all clowns, go away")
        await h.settle()
        report = sb.reply(CLUB, ANN, rude["message_id"], "/report")
        await h.settle()
        [the_card] = mod_cards(sb)
        text = the_card["text"]
        assert "Case #1" in text and "Reported by 1 members" in text and "Bob" in text
        assert "clowns" in text
        assert {"Delete", "Mute 1 h", "Mute 1 day", "Ban", "Unmute", "Unban", "Warn"} <= set(buttons(the_card))
        # The reporter is thanked in private; the /report itself is gone from the group.
        assert any("Thanks for the report" in t for t in sb.sent_texts(ANN))
        assert report["message_id"] in sb.chat(CLUB).deleted
        # A second report by another member joins the same case.
        sb.reply(CLUB, NICK, rude["message_id"], "/report")
        await h.settle()
        assert len(mod_cards(sb)) == 1
        assert "Reported by 2 members" in card(sb, the_card["message_id"])["text"]

        # Refused, every button: a member of the desk, and the admin of another group.
        before_log = await h.app.db.fetchval("SELECT COUNT(*) FROM mod_actions")
        for outsider in (NICK, OTHER_ADMIN):
            for label in buttons(card(sb, the_card["message_id"])):
                if not buttons(card(sb, the_card["message_id"]))[label].startswith("mod:"):
                    continue
                answer = await press(h, outsider, the_card["message_id"], label)
                assert answer.get("show_alert") is True, (outsider, label, answer)
                assert "Only managers" in answer["text"]
        assert await h.app.db.fetchval("SELECT COUNT(*) FROM mod_actions") == before_log
        assert rude["message_id"] in sb.chat(CLUB).messages and status(sb, CLUB, BOB) == "member"

        # The manager deletes the message and mutes Bob for an hour.
        answer = await press(h, MANAGER_ID, the_card["message_id"], "Delete")
        assert "Deleted" in answer["text"]
        assert rude["message_id"] in sb.chat(CLUB).deleted
        answer = await press(h, MANAGER_ID, the_card["message_id"], "Mute 1 h")
        assert "Muted Bob" in answer["text"], answer
        assert status(sb, CLUB, BOB) == "restricted"
        restrict = sb.calls("restrictChatMember", CLUB)[-1]
        assert restrict.params["user_id"] == BOB and int(restrict.params["until_date"]) > epoch_now() + 3000
        with pytest.raises(ValueError, match="muted"):
            sb.send_message(CLUB, BOB, "let me talk")
        shown = card(sb, the_card["message_id"])["text"]
        assert "Mia: deleted the message" in shown and "Mia: muted" in shown
        # The short notice in the group deletes itself.
        notice = next(m for m in sb.sent_messages(CLUB) if "muted for" in m.get("text", ""))
        h.app.moderation.clock = lambda: epoch_now() + 3600
        await h.app.moderation.tick()
        assert notice["message_id"] in sb.chat(CLUB).deleted
        h.app.moderation.clock = epoch_now

        # Undo from the same card.
        answer = await press(h, MANAGER_ID, the_card["message_id"], "Unmute")
        assert "may write again" in answer["text"]
        assert status(sb, CLUB, BOB) == "member"
        sb.send_message(CLUB, BOB, "sorry everyone")

        # The audit log: who, what, when, why; the group's admin may read it, a member may not.
        sb.send_message(CLUB, ADMIN_ID, "/modlog")
        await h.settle()
        log_text = sb.sent_texts(CLUB)[-1]
        assert "Moderation log" in log_text
        assert all(word in log_text for word in ("deleted the message", "muted", "unmuted", "Mia", "Bob"))
        sb.send_message(CLUB, NICK, "/modlog")
        await h.settle()
        assert "Only this group's admins" in sb.sent_texts(CLUB)[-1]


async def test_staff_and_channels_are_handled_as_telegram_defines(tmp_path: Path) -> None:
    async with running_bot(tmp_path, populate=populate, **SETTINGS) as h:
        sb = h.sandbox
        by_admin = sb.send_message(CLUB, ADMIN_ID, "Rules: no ads here")
        await h.settle()
        sb.reply(CLUB, ANN, by_admin["message_id"], "/report")
        await h.settle()
        [first] = [m for m in sb.messages(DESK) if "Reported by" in m.get("text", "")]
        assert "is staff here" in first["text"]
        assert not any(d.startswith("mod:") for d in buttons(first).values())
        # The group's own anonymous admin is never a target either.
        anon = sb.send_message(CLUB, ADMIN_ID, "Announcement", sender_chat_id=CLUB)
        await h.settle()
        sb.reply(CLUB, ANN, anon["message_id"], "/report")
        await h.settle()
        subject = await h.app.moderation_repo.subject(2)
        assert subject is not None and subject.protected == "anonymous admin"

        # A channel posting as itself: Ban uses banChatSenderChat, Unban lifts it.
        ad = sb.send_message(CLUB, BOB, "Best deals in our channel!", sender_chat_id=CHANNEL)
        await h.settle()
        sb.reply(CLUB, ANN, ad["message_id"], "/report")
        await h.settle()
        channel_card = next(m for m in mod_cards(sb) if "Deals Channel" in m.get("text", ""))
        assert {"Delete", "Ban channel", "Unban channel"} <= set(buttons(channel_card))
        assert "Mute 1 h" not in buttons(channel_card)
        await press(h, MANAGER_ID, channel_card["message_id"], "Ban channel")
        assert CHANNEL in sb.chat(CLUB).banned_sender_chats
        assert sb.calls("banChatSenderChat", CLUB) and not sb.calls("banChatMember", CLUB)
        with pytest.raises(ValueError, match="banned"):
            sb.send_message(CLUB, BOB, "again", sender_chat_id=CHANNEL)
        await press(h, MANAGER_ID, channel_card["message_id"], "Unban channel")
        assert CHANNEL not in sb.chat(CLUB).banned_sender_chats

        # Without the right to ban, Steward says which right is missing and logs the refusal.
        sb.add_member(CLUB, sb.bot_id, "administrator", rights={"can_restrict_members": False})
        answer = await press(h, MANAGER_ID, channel_card["message_id"], "Ban channel")
        assert answer.get("show_alert") is True and "Ban users" in answer["text"]
        row = await h.app.db.fetchone("SELECT ok, error FROM mod_actions ORDER BY id DESC LIMIT 1")
        assert row is not None and row[0] == 0 and "Ban users" in row[1]


@pytest.mark.parametrize("policy", ["delete", "delete_and_mute"])
async def test_spam_from_a_new_member_is_deleted_and_not_spam_restores_it(tmp_path: Path, policy: str) -> None:
    async with running_bot(tmp_path, populate=populate, **SETTINGS) as h:
        sb = h.sandbox
        sb.send_message(CLUB, ADMIN_ID, f"/moderation spam_policy {policy}")
        await h.settle()
        assert f"spam_policy is now {policy}" in sb.sent_texts(CLUB)[-1]
        sb.join(CLUB, SPAMMER)
        spam = sb.send_message(CLUB, SPAMMER, SPAM_TEXT)
        await h.settle()
        assert spam["message_id"] in sb.chat(CLUB).deleted
        assert status(sb, CLUB, SPAMMER) == ("restricted" if policy == "delete_and_mute" else "member")
        [spam_card] = mod_cards(sb)
        assert "Possible spam" in spam_card["text"] and "new member" in spam_card["text"]
        shown = buttons(card(sb, spam_card["message_id"]))
        assert {"Spam", "Not spam (restore)"} <= set(shown)
        # Refused for a member of the desk.
        answer = await press(h, NICK, spam_card["message_id"], "Not spam (restore)")
        assert answer.get("show_alert") is True
        assert not [m for m in sb.sent_messages(CLUB) if SPAM_TEXT in m.get("text", "")]

        answer = await press(h, MANAGER_ID, spam_card["message_id"], "Not spam (restore)")
        assert "not spam" in answer["text"].lower()
        [repost] = [m for m in sb.sent_messages(CLUB) if "FastMoneyClub" in m.get("text", "")]
        assert "Lucky" in repost["text"] and "restored" in repost["text"]
        assert status(sb, CLUB, SPAMMER) == "member"
        case = await h.app.cases.get(1)
        assert case is not None and case.state == "resolved"
        marks = await h.app.db.fetchall("SELECT label FROM spam_marks")
        assert [tuple(r) for r in marks] == [("ham",)]
        # The same text again is now let through (the managers said it is fine).
        sb.send_message(CLUB, SPAMMER, SPAM_TEXT)
        await h.settle()
        assert len(mod_cards(sb)) == 1


async def test_spam_under_observe_only_makes_a_card(tmp_path: Path) -> None:
    async with running_bot(tmp_path, populate=populate, **SETTINGS) as h:
        sb = h.sandbox
        sb.join(CLUB, SPAMMER)
        since = sb.mark()
        spam = sb.send_message(CLUB, SPAMMER, SPAM_TEXT)
        ordinary = sb.send_message(CLUB, ANN, "Hi all, the meetup notes are at https://example.org/notes")
        await h.settle()
        assert spam["message_id"] in sb.chat(CLUB).messages and ordinary["message_id"] in sb.chat(CLUB).messages
        assert not [
            c
            for c in sb.journal[since:]
            if c.method in ("deleteMessage", "deleteMessages", "restrictChatMember", "banChatMember")
        ]
        [spam_card] = mod_cards(sb)
        assert "Possible spam" in spam_card["text"] and "Lucky" in spam_card["text"]
        assert {"Spam", "Not spam"} <= set(buttons(spam_card))
        # "Spam" teaches the index and removes the message.
        await press(h, MANAGER_ID, spam_card["message_id"], "Spam")
        assert spam["message_id"] in sb.chat(CLUB).deleted
        marks = await h.app.db.fetchall("SELECT label FROM spam_marks")
        assert [tuple(r) for r in marks] == [("spam",)]
