"""The escalation queue end to end: the real polling loop against the sandbox Bot API over HTTP.

Members pile on in a forum topic → one card in the managers' group → a non-manager's Take is refused →
the manager takes, replies (the answer lands in the community, in the topic, as a reply) → a restart in the
middle of the Reply keeps everything → resolve → the response time is stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.sandbox import SandboxBotAPI
from tests.harness import ADMIN_ID, MANAGER_ID, TOKEN, Harness, buttons, message_now, running_bot

CLUB = -1001000000001  # a private forum supergroup: t.me/c/1000000001/... links
DESK = -1009000000001  # the managers' group
ANN, BOB, CID, DAN = 1001, 1002, 1003, 1004
NICK = 700  # in the managers' group, but not a manager and not an admin of the club

ESCALATION: dict[str, Any] = {"managers": {"chat_id": DESK}}


def populate(sb: SandboxBotAPI, *, forum_desk: bool = False) -> int:
    for uid, name in ((ANN, "Ann"), (BOB, "Bob"), (CID, "Cid"), (DAN, "Dan"), (NICK, "Nick")):
        sb.add_user(uid, name)
    sb.add_user(ADMIN_ID, "Ada")
    sb.add_user(MANAGER_ID, "Mia", "mia")
    sb.add_group(
        CLUB,
        "Acme Club",
        is_forum=True,
        owner_id=ADMIN_ID,
        members=[ANN, BOB, CID, DAN],
        description="Acme Cloud users: hosting, servers and billing",
    )
    sb.add_group(DESK, "Acme managers", owner_id=MANAGER_ID, members=[NICK], is_forum=forum_desk)
    sb.add_member(CLUB, sb.bot_id, "administrator")
    sb.add_member(DESK, sb.bot_id, "administrator")
    if forum_desk:  # Telegram's topic ids are never 1 (General); the sandbox's would be without this
        sb.send_message(DESK, MANAGER_ID, "Welcome to the managers' room")
    # The sandbox numbers topics by their creation message; id 1 is Telegram's General topic, so make one first.
    sb.add_topic(CLUB, "Announcements")
    return sb.add_topic(CLUB, "Billing")


def cards(sb: SandboxBotAPI, chat_id: int = DESK) -> list[dict[str, Any]]:
    """Messages the bot sent with case buttons."""
    out = []
    for message in sb.sent_messages(chat_id):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        if any(str(button.get("callback_data", "")).startswith("case:") for row in rows for button in row):
            out.append(message)
    return out


def card_now(sb: SandboxBotAPI, message_id: int) -> dict[str, Any]:
    return message_now(sb, DESK, message_id)


async def press(h: Harness, user_id: int, card: dict[str, Any], label: str) -> dict[str, Any]:
    return await h.press(DESK, user_id, card["message_id"], label)


async def test_pile_on_to_resolved_case_through_a_restart(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        topic = populate(sandbox)
        async with running_bot(tmp_path, sandbox=sandbox, **ESCALATION) as h:
            # Three members, one thread (the Billing topic), negative within the window: a pile-on.
            first = sandbox.send_message(CLUB, ANN, "The billing page is terrible today", thread_id=topic)
            sandbox.send_message(CLUB, BOB, "Same here, terrible", reply_to=first["message_id"])
            await h.settle()
            assert cards(sandbox) == []  # two members are not a pile-on yet
            since = sandbox.mark()
            sandbox.send_message(CLUB, CID, "this is awful, I cannot pay", thread_id=topic)
            await sandbox.wait_for("sendMessage", since=since, chat_id=DESK)
            await h.settle()
            [card] = cards(sandbox)
            text = card["text"]
            assert "Case #1" in text and "Acme Club" in text
            assert "pile-on: 3 members negative" in text
            assert f"https://t.me/c/1000000001/{topic}/{first['message_id']}" in json.dumps(card)
            assert "Ann" in text and "Cid" in text and "negative 0.75" in text
            assert set(buttons(card)) == {"Take", "Reply", "Resolve", "Dismiss", "Snooze"}

            # More messages update the same case: still exactly one card, edited in place.
            since = sandbox.mark()
            last = sandbox.send_message(CLUB, DAN, "still broken for me too", thread_id=topic)
            await sandbox.wait_for("editMessageText", since=since, chat_id=DESK)
            await h.settle()
            assert len(cards(sandbox)) == 1
            assert "Dan" in card_now(sandbox, card["message_id"])["text"]
            case = await h.app.cases.get(1)
            assert case is not None and case.state == "open" and case.last_message_id == last["message_id"]
            assert await h.app.cases.count() == 1

            # A non-manager presses Take: refused, nothing changes.
            since = sandbox.mark()
            answer = await press(h, NICK, card, "Take")
            assert answer.get("show_alert") is True and "Only managers" in answer["text"]
            assert [c for c in sandbox.journal[since:] if c.method == "editMessageText"] == []
            case = await h.app.cases.get(1)
            assert case is not None and case.state == "open" and case.taken_by is None

            # The manager takes it; a second Take (by anyone) is told it is taken.
            answer = await press(h, MANAGER_ID, card, "Take")
            assert "yours" in answer["text"]
            assert "Taken by Mia" in card_now(sandbox, card["message_id"])["text"]
            assert "Take" not in buttons(card_now(sandbox, card["message_id"]))
            refused = await h.app.escalation.take(1, _actor(ADMIN_ID, "Ada"))
            assert not refused.ok and "Mia already took" in refused.text

            # Reply: the bot asks for the answer in the managers' chat.
            since = sandbox.mark()
            await press(h, MANAGER_ID, card, "Reply")
            prompt = await sandbox.wait_for("sendMessage", since=since, chat_id=DESK)
            assert "write your answer to case #1" in prompt.params["text"]
            assert await h.app.cases.pending(MANAGER_ID, DESK) is not None

        # Restart between Reply and the answer: a new Steward on the same database.
        async with running_bot(tmp_path, sandbox=sandbox, **ESCALATION) as h2:
            case = await h2.app.cases.get(1)
            assert case is not None and case.state == "taken" and case.taken_by == MANAGER_ID
            since = sandbox.mark()
            sandbox.send_message(DESK, MANAGER_ID, "Sorry about that! <b>Billing</b> is fixed now, please retry.")
            posted = await sandbox.wait_for("sendMessage", since=since, chat_id=CLUB)
            await h2.settle()
            answer_msg = sandbox.sent_messages(CLUB)[-1]
            # The manager's text arrives as typed: their literal "<b>" is escaped, not interpreted.
            assert answer_msg["text"] == "Sorry about that! <b>Billing</b> is fixed now, please retry."
            assert posted.params["message_thread_id"] == topic
            assert answer_msg["message_thread_id"] == topic
            assert answer_msg["reply_to_message"]["message_id"] == last["message_id"]
            confirmations = [t for t in sandbox.sent_texts(DESK) if "Posted your answer to case #1" in t]
            assert confirmations
            case = await h2.app.cases.get(1)
            assert case is not None and case.state == "answered" and case.answered_by == MANAGER_ID
            assert case.response_seconds is not None and case.response_seconds >= 0
            assert case.first_response_at is not None
            assert await h2.app.cases.pending(MANAGER_ID, DESK) is None
            # The old card (posted by the first instance) is still edited in place.
            assert "Answered by Mia" in card_now(sandbox, card["message_id"])["text"]

            answer = await press(h2, MANAGER_ID, card, "Resolve")
            assert "resolved" in answer["text"]
            final = card_now(sandbox, card["message_id"])
            assert "resolved" in final["text"].lower() and not buttons(final)
            assert len(cards(sandbox)) == 1 or all(c["message_id"] == card["message_id"] for c in cards(sandbox))

        # Another restart: every case, its state and its history are still there.
        async with running_bot(tmp_path, sandbox=sandbox, **ESCALATION) as h3:
            case = await h3.app.cases.get(1)
            assert case is not None
            assert case.state == "resolved" and case.closed_by == MANAGER_ID and case.response_seconds is not None
            actions = [e.action for e in await h3.app.cases.events(1)]
            assert actions == ["opened", "taken", "answered", "resolved"]
            assert all(e.at > 0 for e in await h3.app.cases.events(1))
            feedback = await h3.app.cases.feedback(CLUB)
            assert (feedback.resolved, feedback.dismissed, feedback.precision) == (1, 0, 1.0)
            # The thread's old messages were dealt with: a new one does not reopen a case.
            sandbox.send_message(CLUB, ANN, "ok it works now, thanks", thread_id=topic)
            await h3.settle()
            assert await h3.app.cases.count() == 1


async def test_weather_grumbling_and_answered_frustration_open_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path, populate=populate, **ESCALATION) as h:
        sandbox = h.sandbox
        await h.settle()
        before = await h.app.messages.count(CLUB)
        root = sandbox.send_message(CLUB, ANN, "This rain is terrible")
        sandbox.reply(CLUB, BOB, root["message_id"], "awful weather all week")
        sandbox.reply(CLUB, CID, root["message_id"], "the traffic in the rain is terrible too")
        other = sandbox.send_message(CLUB, DAN, "the export button is broken, bad")
        sandbox.reply(CLUB, ANN, other["message_id"], "Try the menu: Export moved there")
        sandbox.reply(CLUB, DAN, other["message_id"], "found it, thanks, great")
        await h.settle()
        assert await h.app.messages.count(CLUB) == before + 6
        assert await h.app.cases.count() == 0
        assert cards(sandbox) == []
        # The group's Telegram description says billing is ours: rain or not, this one is about us.
        sandbox.send_message(CLUB, BOB, "this rain is the worst")
        await h.settle()
        assert await h.app.cases.count() == 0
        sandbox.send_message(CLUB, CID, "billing is the worst when it rains")
        await h.settle()
        [case] = await h.app.cases.active()
        assert case.reasons == ("very_negative",)


async def test_shadow_mode_records_without_notifying(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        populate(sandbox)
        sections = {"managers": {"chat_id": DESK}, "escalation": {"observe": True}}
        async with running_bot(tmp_path, sandbox=sandbox, **sections) as h:
            sandbox.send_message(CLUB, ANN, "this is the worst service, I hate it")
            await h.settle()
            [case] = await h.app.cases.shadow_since(0)
            assert case.shadow and "very_negative" in case.reasons
            assert h.app.scheduler.get_job("escalation-check") is not None  # SLA reminders are timed
            assert cards(sandbox) == [] and sandbox.sent_messages(DESK) == []
            since = sandbox.mark()
            sandbox.send_message(MANAGER_ID, MANAGER_ID, "/shadow_report")
            report = await sandbox.wait_for("sendMessage", since=since, chat_id=MANAGER_ID)
            assert "Acme Club" in report.params["text"] and "1 would-be cases" in report.params["text"]
            # /queue only lists live cases.
            since = sandbox.mark()
            sandbox.send_message(MANAGER_ID, MANAGER_ID, "/queue")
            queue = await sandbox.wait_for("sendMessage", since=since, chat_id=MANAGER_ID)
            assert "queue is empty" in queue.params["text"]
            # Non-managers are refused, clearly.
            since = sandbox.mark()
            sandbox.send_message(NICK, NICK, "/shadow_report")
            refused = await sandbox.wait_for("sendMessage", since=since, chat_id=NICK)
            assert "Only Steward's managers" in refused.params["text"]


def _actor(user_id: int, name: str) -> Any:
    from bot.services.escalation import Actor

    return Actor(user_id, name)


async def test_forum_managers_group_gets_one_topic_per_case(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        populate(sandbox, forum_desk=True)
        async with running_bot(tmp_path, sandbox=sandbox, **ESCALATION) as h:
            since = sandbox.mark()
            sandbox.send_message(CLUB, ANN, "this is the worst, I hate this billing")
            created = await sandbox.wait_for("createForumTopic", since=since, chat_id=DESK)
            await sandbox.wait_for("sendMessage", since=since, chat_id=DESK)
            await h.settle()
            case_topic = created.result["message_thread_id"]
            assert created.params["name"] == "Case #1 · Acme Club"
            [card] = cards(sandbox)
            assert card["message_thread_id"] == case_topic
            # Reply: the prompt and the answer stay in the case's topic.
            since = sandbox.mark()
            await press(h, MANAGER_ID, card, "Reply")
            prompt = await sandbox.wait_for("sendMessage", since=since, chat_id=DESK)
            assert prompt.params["message_thread_id"] == case_topic
            since = sandbox.mark()
            sandbox.send_message(DESK, MANAGER_ID, "We hear you, checking billing now", thread_id=case_topic)
            await sandbox.wait_for("sendMessage", since=since, chat_id=CLUB)
            await h.settle()
            assert sandbox.sent_texts(CLUB)[-1] == "We hear you, checking billing now"
            case = await h.app.cases.get(1)
            assert case is not None and case.state == "answered" and case.response_seconds is not None
            # A second thread gets its own topic.
            since = sandbox.mark()
            sandbox.send_message(CLUB, BOB, "this is a scam")
            second = await sandbox.wait_for("createForumTopic", since=since, chat_id=DESK)
            assert second.result["message_thread_id"] != case_topic


async def test_without_a_managers_group_cards_go_to_managers_in_private(tmp_path: Path) -> None:
    async with running_bot(tmp_path, populate=populate) as h:
        sandbox = h.sandbox
        since = sandbox.mark()
        sandbox.send_message(MANAGER_ID, MANAGER_ID, "/start")  # only managers who started the bot get DMs
        await sandbox.wait_for("sendMessage", since=since, chat_id=MANAGER_ID)
        since = sandbox.mark()
        root = sandbox.send_message(CLUB, ANN, "I was promised a refund three weeks ago")
        await sandbox.wait_for("sendMessage", lambda c: "Case #1" in c.params["text"], since=since)
        await h.settle()
        [card] = cards(sandbox, MANAGER_ID)
        assert "keyword “refund”" in card["text"]
        assert sandbox.sent_messages(DESK) == []
        since = sandbox.mark()
        query = sandbox.press_button(MANAGER_ID, MANAGER_ID, card["message_id"], buttons(card)["Reply"])
        await sandbox.wait_for("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query)
        await sandbox.wait_for("sendMessage", lambda c: "write your answer" in c.params["text"], since=since)
        since = sandbox.mark()
        sandbox.send_message(MANAGER_ID, MANAGER_ID, "Ann, I sent you a DM about the refund")
        posted = await sandbox.wait_for("sendMessage", since=since, chat_id=CLUB)
        await h.settle()
        assert posted.params["text"] == "Ann, I sent you a DM about the refund"
        assert sandbox.sent_messages(CLUB)[-1]["reply_to_message"]["message_id"] == root["message_id"]
        edited = next(m for m in sandbox.messages(MANAGER_ID) if m["message_id"] == card["message_id"])
        assert "Answered by Mia" in edited["text"]


async def test_commands_answer_bad_input_and_strangers_clearly(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        populate(sandbox)

        async def ask(chat_id: int, user_id: int, text: str) -> str:
            since = sandbox.mark()
            sandbox.send_message(chat_id, user_id, text)
            call = await sandbox.wait_for("sendMessage", since=since, chat_id=chat_id)
            return str(call.params["text"])

        async with running_bot(tmp_path, sandbox=sandbox, **ESCALATION) as h:
            assert "Usage: /case" in await ask(DESK, MANAGER_ID, "/case twelve")
            assert "There is no case #99" in await ask(DESK, MANAGER_ID, "/case 99")
            assert "Only Steward's managers" in await ask(DESK, NICK, "/queue")
            assert "The queue is empty" in await ask(DESK, MANAGER_ID, "/queue")
            # In the community: members are refused; the admin sees and changes the settings.
            assert "Only this group's admins" in await ask(CLUB, ANN, "/escalation observe on")
            shown = await ask(CLUB, ADMIN_ID, "/escalation")
            assert "pile_on_members: 3" in shown and "Precision: —" in shown
            assert "use on or off" in await ask(CLUB, ADMIN_ID, "/escalation observe maybe")
            assert "Unknown setting" in await ask(CLUB, ADMIN_ID, "/escalation colour red")
            assert "observe is now on" in await ask(CLUB, ADMIN_ID, "/escalation observe on")
            await h.settle()
            community = await h.app.communities.get(CLUB)
            assert community is not None and community.settings["escalation.observe"] is True
            assert any("Ada set observe = on in Acme Club" in t for t in sandbox.sent_texts(DESK))
            # Shadow mode is live at once: a very negative message makes no card.
            sandbox.send_message(CLUB, BOB, "worst service ever, I hate it")
            await h.settle()
            assert cards(sandbox) == [] and len(await h.app.cases.shadow_since(0)) == 1
