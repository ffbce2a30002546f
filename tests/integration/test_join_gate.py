"""The join gate and raid mode over the sandbox: a one-button check in private approves the request (only
the requester's press counts), an unanswered request is declined after the timeout; a join spike holds new
members' links and media and tells the managers once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.sandbox import SandboxBotAPI
from bot.timeutil import epoch_now
from tests.harness import ADMIN_ID, TOKEN, running_bot
from tests.integration.test_moderation import CLUB, DESK, SETTINGS, populate, status

NEWBIES = list(range(2001, 2006))


def gate_messages(sb: SandboxBotAPI, user_id: int) -> list[dict[str, Any]]:
    return [m for m in sb.sent_messages(user_id) if "gate:" in str(m.get("reply_markup"))]


async def test_join_requests_pass_a_check_or_are_declined(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sb:
        populate(sb)
        for uid in NEWBIES[:3]:
            sb.add_user(uid, f"New{uid}")
        settings = {**SETTINGS, "moderation": {"join_gate": True, "gate_minutes": 5}}
        async with running_bot(tmp_path, sandbox=sb, **settings) as h:
            sb.send_message(CLUB, ADMIN_ID, "hello")  # the community is known
            await h.settle()
            first, second, third = NEWBIES[:3]
            sb.request_join(CLUB, first)
            sb.request_join(CLUB, second)
            await h.settle()
            [check] = gate_messages(sb, first)
            assert "press the button" in check["text"] and "5 min" in check["text"]
            data = check["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            assert len(data.encode()) <= 64
            since = sb.mark()
            qid = sb.press_button(first, first, check["message_id"], data)
            await sb.wait_for("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == qid, since=since)
            await h.settle()
            assert "you are in" in (sb.callback_answer(qid) or {}).get("text", "")
            assert status(sb, CLUB, first) == "member"
            assert sb.calls("approveChatJoinRequest", CLUB)
            # A press (or a forged one) by someone without a request there changes nothing.
            outcome = await h.app.gate.press(CLUB, third)
            assert not outcome.ok and "no join request" in outcome.text
            # Pressing again after approval is refused (no second approve).
            again = await h.app.gate.press(CLUB, first)
            assert not again.ok and len(sb.calls("approveChatJoinRequest", CLUB)) == 1
            # The unanswered one is declined after the timeout.
            h.app.moderation.clock = lambda: epoch_now() + 600
            await h.app.gate.tick()
            assert sb.calls("declineChatJoinRequest", CLUB)
            assert second not in sb.chat(CLUB).join_requests and status(sb, CLUB, second) == "left"
            late = await h.app.gate.press(CLUB, second)
            assert not late.ok
            rows = await h.app.db.fetchall("SELECT action, ok FROM mod_actions ORDER BY id")
            assert [tuple(r) for r in rows] == [("approve", 1), ("decline", 1)]


async def test_a_join_spike_holds_links_and_media_and_tells_managers_once(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sb:
        populate(sb)
        for uid in NEWBIES:
            sb.add_user(uid, f"New{uid}")
        settings = {**SETTINGS, "moderation": {"raid_mode": True, "raid_joins": 3, "raid_minutes": 20}}
        async with running_bot(tmp_path, sandbox=sb, **settings) as h:
            sb.send_message(CLUB, ADMIN_ID, "hello")
            await h.settle()
            since = sb.mark()
            for uid in NEWBIES[:2]:
                sb.join(CLUB, uid)
            await h.settle()
            assert status(sb, CLUB, NEWBIES[0]) == "member"
            for uid in NEWBIES[2:]:
                sb.join(CLUB, uid)
            await h.settle()
            for uid in NEWBIES:
                member = sb.chat(CLUB).member(uid)
                assert member.status == "restricted", uid
                assert member.rights["can_send_messages"] and not member.rights["can_send_photos"]
                assert not member.rights["can_add_web_page_previews"]
                assert member.until_date >= epoch_now() + 19 * 60
            summaries = [
                c for c in sb.journal[since:] if c.method == "sendMessage" and "Raid mode" in str(c.params.get("text"))
            ]
            assert len(summaries) == 1 and int(summaries[0].params["chat_id"]) == DESK
            # Text still works for them; Steward's own group notices stay silent during the raid.
            sb.send_message(CLUB, NEWBIES[0], "hi all")
            await h.app.moderation.notice(CLUB, "a notice")
            assert "a notice" not in sb.sent_texts(CLUB)
            rows = await h.app.db.fetchall("SELECT action FROM mod_actions")
            assert [r[0] for r in rows] == ["hold"] * len(NEWBIES)
