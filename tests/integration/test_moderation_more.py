"""More of moderation over the sandbox: the warn limit mutes, report limits, @admin, /mute from the desk,
Delete last N, the linked channel's forwards, and a "Spam" verdict catching the next copy."""

from __future__ import annotations

from pathlib import Path

from bot.sandbox import SandboxBotAPI
from tests.harness import ADMIN_ID, MANAGER_ID, TOKEN, running_bot
from tests.integration.test_moderation import (
    ANN,
    BOB,
    CLUB,
    DESK,
    NICK,
    SETTINGS,
    SPAMMER,
    buttons,
    card,
    mod_cards,
    populate,
    press,
    status,
)

LINKED = -1001000000177


async def test_warn_limit_mutes_and_reports_are_limited(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sb:
        populate(sb)
        sb.add_user(1003, "Cid")
        sb.add_member(CLUB, 1003)
        settings = {**SETTINGS, "moderation": {"warn_limit": 2, "reports_per_hour": 2}}
        async with running_bot(tmp_path, sandbox=sb, **settings) as h:
            msgs = [sb.send_message(CLUB, BOB, f"buy my stuff {i}") for i in range(4)]
            await h.settle()
            for m in msgs[:3]:
                sb.reply(CLUB, ANN, m["message_id"], "/report")
            await h.settle()
            # Two reports an hour per member: the third is refused (said briefly in the group).
            assert await h.app.db.fetchval("SELECT COUNT(*) FROM mod_reports WHERE reporter_id = ?", (ANN,)) == 2
            assert any("reported enough" in t for t in sb.sent_texts(CLUB))
            # @admin in a reply reports too, and joins the thread's case when there is one.
            sb.reply(CLUB, 1003, msgs[0]["message_id"], "@admin look at this")
            await h.settle()
            assert await h.app.db.fetchval("SELECT COUNT(*) FROM mod_reports WHERE reporter_id = 1003") == 1
            subject = await h.app.moderation_repo.subject(1)
            assert subject is not None and await h.app.moderation_repo.reporters(subject.id) == 2
            [first] = [c for c in mod_cards(sb) if "buy my stuff 0" in c["text"]]
            assert "Reported by 2 members" in card(sb, first["message_id"])["text"]

            # Warn twice: the limit (2) mutes automatically, logged as Steward's action.
            answer = await press(h, MANAGER_ID, first["message_id"], "Warn")
            assert "1 of 2" in answer["text"] and status(sb, CLUB, BOB) == "member"
            answer = await press(h, MANAGER_ID, first["message_id"], "Warn")
            assert "warn limit" in answer["text"] and status(sb, CLUB, BOB) == "restricted"
            rows = await h.app.db.fetchall("SELECT action, actor_name, reason FROM mod_actions ORDER BY id")
            assert [r[0] for r in rows] == ["warn", "warn", "mute"] and rows[2][1] == "Steward"
            assert await h.app.moderation_repo.warnings(CLUB, BOB) == 0  # the mute cleared them
            assert sum("warning" in t for t in sb.sent_texts(CLUB)) == 2  # short notices in the group

            # Custom mute from the managers' chat: /mute <case> <duration>; a non-manager is refused.
            sb.send_message(DESK, NICK, "/mute 1 3h")
            await h.settle()
            assert "Only Steward's managers" in sb.sent_texts(DESK)[-1]
            sb.send_message(DESK, MANAGER_ID, "/mute 1 3h flooding")
            await h.settle()
            assert "Muted Bob for 3 h" in sb.sent_texts(DESK)[-1]
            row = await h.app.db.fetchone("SELECT until_at - at, reason FROM mod_actions ORDER BY id DESC LIMIT 1")
            assert row is not None and row[0] == 3 * 3600 and row[1] == "flooding"

            # Delete last N: every stored message of the author in this chat goes.
            await press(h, MANAGER_ID, first["message_id"], "Unmute")
            await press(h, MANAGER_ID, first["message_id"], "Delete last 20")
            assert all(m["message_id"] in sb.chat(CLUB).deleted for m in msgs)


async def test_linked_channel_forwards_and_staff_are_never_spam_targets(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sb:
        populate(sb)
        sb.add_channel(LINKED, "Acme News")
        sb.link_discussion(LINKED, CLUB)
        async with running_bot(tmp_path, sandbox=sb, **SETTINGS) as h:
            spam = "Earn $500 a day from home with crypto signals, join now https://t.me/+FastMoneyClub"
            forward = sb.send_message(CLUB, ADMIN_ID, spam, sender_chat_id=LINKED, is_automatic_forward=True)
            sb.send_message(CLUB, ADMIN_ID, spam)  # the owner: staff
            await h.settle()
            assert mod_cards(sb) == []
            sb.reply(CLUB, ANN, forward["message_id"], "/report")
            await h.settle()
            subject = await h.app.moderation_repo.subject(1)
            assert subject is not None and subject.protected == "linked channel"


async def test_a_spam_verdict_catches_the_next_copy(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sb:
        populate(sb)
        sb.add_user(1777, "Admin Support")  # a look-alike name: checked even when not new
        sb.add_member(CLUB, 1777)
        settings = {**SETTINGS, "moderation": {"first_messages": 0}}
        async with running_bot(tmp_path, sandbox=sb, **settings) as h:
            sb.send_message(CLUB, 1777, "Dear members, please verify your account in private")
            await h.settle()
            [look_alike] = mod_cards(sb)
            assert "look-alike name" in look_alike["text"]
            # Under the model's threshold, but with a link, so it is checked: no card.
            text = "I wrote up the meeting notes, they are on the wiki: https://wiki.example.com/notes/march"
            posted = sb.send_message(CLUB, BOB, text)
            await h.settle()
            assert len(mod_cards(sb)) == 1
            # A member reports it; the manager marks it as spam from the report's card.
            sb.reply(CLUB, ANN, posted["message_id"], "/report")
            await h.settle()
            [reported] = [c for c in mod_cards(sb) if "Reported by" in c["text"]]
            await press(h, MANAGER_ID, reported["message_id"], "Spam")
            assert posted["message_id"] in sb.chat(CLUB).deleted
            marks = await h.app.db.fetchall("SELECT label FROM spam_marks")
            assert [r[0] for r in marks] == ["spam"]
            # The next copy (a new account, the link changed) is caught by similarity.
            sb.join(CLUB, SPAMMER)
            sb.send_message(CLUB, SPAMMER, text.replace("march", "april"))
            await h.settle()
            caught = [c for c in mod_cards(sb) if "Lucky" in c["text"]]
            assert caught and "like marked spam" in caught[0]["text"]
            assert {"Spam", "Not spam"} <= set(buttons(caught[0]))


async def test_the_managers_verdicts_survive_a_restart(tmp_path: Path) -> None:
    text = "Earn $500 a day from home with crypto signals, join now https://t.me/+FastMoneyClub"
    async with SandboxBotAPI(token=TOKEN) as sb:
        populate(sb)
        sb.add_user(1888, "Newcomer")
        async with running_bot(tmp_path, sandbox=sb, **SETTINGS) as h:
            sb.join(CLUB, SPAMMER)
            sb.send_message(CLUB, SPAMMER, text)
            await h.settle()
            [first] = mod_cards(sb)
            await press(h, MANAGER_ID, first["message_id"], "Not spam")
        async with running_bot(tmp_path, sandbox=sb, **SETTINGS) as h2:
            assert h2.app.spam.judge(text, ["new member"], 0.5).is_spam is False  # the veto was replayed
            sb.join(CLUB, 1888)
            sb.send_message(CLUB, 1888, text)
            await h2.settle()
            assert len(mod_cards(sb)) == 1
