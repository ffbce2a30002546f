"""FAQ answering end to end: the real polling loop against the sandbox Bot API over HTTP.

A forum community with a Billing topic and an imported knowledge base:
a paraphrase gets the right answer in its topic, a greeting gets nothing, an ambiguous question
gets "Did you mean" buttons and a press posts the answer, a repeat links back, votes count once per
member, a non-admin's /faq_add is refused, an admin's reply-form /faq_add creates an entry that
answers the next member, "save as FAQ" is offered privately, and an import with errors changes nothing.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from bot.cli.faq import run_import
from bot.sandbox import SandboxBotAPI
from tests.fakes import HashingEncoder, loader_of
from tests.harness import ADMIN_ID, MANAGER_ID, TOKEN, Harness, buttons, message_now, running_bot

CLUB = -1001000000001  # private forum supergroup: links look like t.me/c/1000000001/<topic>/<id>
ANN, BOB, DAN = 1001, 1002, 1004

# Thresholds for the hashing fake encoder (its cosines are spread over 0-1, unlike e5's).
FAQ: dict[str, Any] = {
    "faq": {"answer_threshold": 0.65, "suggest_threshold": 0.45, "margin": 0.1, "member_answers_per_hour": 20}
}

KB = """
[[faq]]
id = "refund"
questions = ["What is the refund policy?", "Can I get my money back?"]
answer = "Full refund within <b>14 days</b> of the start."
answers = { ru = "Полный возврат в течение 14 дней." }

[[faq]]
id = "password"
questions = ["How do I reset my password?", "I forgot my password"]
answer = "Use <i>Forgot password</i> on the login page."
buttons = [{ text = "Login page", url = "https://example.org/login" }]

[[faq]]
id = "schedule"
questions = ["When does the next course start?", "What is the course schedule?"]
answer = "The next course starts on the 1st of every month."

[[faq]]
id = "invoice-company"
questions = ["How do I get an invoice for my company?"]
answer = "Company invoices: write to billing@example.org with your VAT number."

[[faq]]
id = "invoice-personal"
questions = ["How do I get an invoice for a private person?"]
answer = "Personal invoices are in your account under Payments."
"""

BROKEN = """
[[faq]]
id = "hours"
questions = ["What are your opening hours?"]
answer = "9 to 5."

[[faq]]
id = "broken one"
questions = []
"""


def populate(sb: SandboxBotAPI) -> int:
    for uid, name in ((ANN, "Ann"), (BOB, "Bob"), (DAN, "Dan")):
        sb.add_user(uid, name)
    sb.add_user(ADMIN_ID, "Ada", started=True)
    sb.add_user(MANAGER_ID, "Mia", "mia")
    sb.add_group(CLUB, "Acme Club", is_forum=True, owner_id=ADMIN_ID, members=[ANN, BOB, DAN])
    sb.add_member(CLUB, sb.bot_id, "administrator")
    sb.add_topic(CLUB, "Announcements")
    return sb.add_topic(CLUB, "Billing")


current = message_now


async def bot_reply(h: Harness, since: int, chat_id: int = CLUB) -> dict[str, Any]:
    call = await h.sandbox.wait_for("sendMessage", chat_id=chat_id, since=since)
    await h.settle()
    assert call.result is not None
    return current(h.sandbox, chat_id, call.result["message_id"])


async def ask(h: Harness, user_id: int, text: str, **kwargs: Any) -> tuple[dict[str, Any], int]:
    since = h.sandbox.mark()
    question = h.sandbox.send_message(CLUB, user_id, text, **kwargs)
    return question, since


async def press(h: Harness, user_id: int, message: dict[str, Any], label: str, chat_id: int = CLUB) -> str:
    answer = await h.press(chat_id, user_id, message["message_id"], label)
    return str(answer.get("text") or "")


def sends_since(h: Harness, since: int, chat_id: int = CLUB) -> list[Any]:
    return [c for c in h.sandbox.journal[since:] if c.method.lower() == "sendmessage" and c.chat_id == chat_id]


async def test_faq_end_to_end(tmp_path: Path) -> None:
    encoder = HashingEncoder()
    loader = loader_of(encoder)
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        topic = populate(sandbox)
        async with running_bot(tmp_path, sandbox=sandbox, encoder=encoder, **FAQ) as h:
            # Import the knowledge base with the CLI (same database; the running bot notices).
            kb = tmp_path / "faq.toml"
            kb.write_text(KB, "utf-8")
            out = io.StringIO()
            assert await run_import(h.settings, kb, CLUB, partial=False, out=out, encoder_loader=loader) == 0
            assert "5 new" in out.getvalue()

            # A greeting and a statement get nothing.
            _, since = await ask(h, ANN, "Hi everyone! 👋", thread_id=topic)
            await ask(h, BOB, "I reset my password yesterday and it worked.", thread_id=topic)
            await h.settle()
            assert sends_since(h, since) == []

            # A paraphrase gets the right answer, as a reply, in the member's topic, with votes and URL buttons.
            question, since = await ask(h, ANN, "how can I reset the password for my account?", thread_id=topic)
            answer = await bot_reply(h, since)
            assert answer["text"] == "Use Forgot password on the login page."
            assert answer["message_thread_id"] == topic
            assert answer["reply_to_message"]["message_id"] == question["message_id"]
            labels = buttons(answer)
            assert labels["Login page"] == "https://example.org/login"
            assert {"👍", "👎"} <= set(labels)

            # 👍 then 👎 from the same member: one vote, changed; another member adds one.
            assert "👍 1 · 👎 0" in await press(h, ANN, answer, "👍")
            assert "👍 0 · 👎 1" in await press(h, ANN, answer, "👎")
            assert "👍 1 · 👎 1" in await press(h, DAN, answer, "👍")

            # The same question within the cooldown links back to the earlier answer instead of repeating it.
            _, since = await ask(h, BOB, "How do I reset my password?", thread_id=topic)
            link_back = await bot_reply(h, since)
            assert "Forgot password" not in link_back["text"]
            link = f"https://t.me/c/1000000001/{topic}/{answer['message_id']}"
            assert any(e.get("url") == link for e in link_back.get("entities", [])), link_back

            # An ambiguous question gets suggestions; pressing one posts that answer once.
            question, since = await ask(h, DAN, "How do I get an invoice?", thread_id=topic)
            suggestion = await bot_reply(h, since)
            assert suggestion["text"] == "Did you mean…?"
            assert suggestion["message_thread_id"] == topic
            assert set(buttons(suggestion)) == {
                "How do I get an invoice for my company?",
                "How do I get an invoice for a private person?",
            }
            since = h.sandbox.mark()
            await press(h, DAN, suggestion, "How do I get an invoice for my company?")
            picked = await bot_reply(h, since)
            assert picked["text"].startswith("Company invoices")
            assert picked["reply_to_message"]["message_id"] == question["message_id"]
            assert picked["message_thread_id"] == topic
            assert not buttons(current(sandbox, CLUB, suggestion["message_id"]))  # the choice is made

            # Off-topic: silence, and it is recorded as unanswered.
            unanswered, since = await ask(h, ANN, "Is there parking near the venue?")
            await h.settle()
            assert sends_since(h, since) == []
            groups = await h.app.faq.unanswered_groups(CLUB)
            assert [[u.text for u in g] for g in groups] == [["Is there parking near the venue?"]]

            # A member's /faq_add is refused, and their next message is not taken as a dialog answer.
            _, since = await ask(h, BOB, "/faq_add")
            refusal = await bot_reply(h, since)
            assert "Only the managers and the admins" in refusal["text"]
            assert len(await h.app.faq.entries_for(CLUB)) == 5

            # The chat's admin turns the unanswered question into an entry with the reply form of /faq_add.
            _, since = await ask(h, ADMIN_ID, "/faq_add", reply_to=unanswered["message_id"])
            prompt = await bot_reply(h, since)
            assert "Is there parking near the venue?" in prompt["text"]
            _, since = await ask(h, ADMIN_ID, "Can I park my car there?")
            assert "2 phrasings" in (await bot_reply(h, since))["text"]
            _, since = await ask(h, ADMIN_ID, "/next")
            await bot_reply(h, since)
            _, since = await ask(h, ADMIN_ID, "Yes: free parking behind the building.")
            saved = await bot_reply(h, since)
            assert saved["text"].startswith("Saved FAQ #")
            assert len(await h.app.faq.entries_for(CLUB)) == 6

            _, since = await ask(h, DAN, "is there any parking near the venue?")
            parking = await bot_reply(h, since)
            assert parking["text"] == "Yes: free parking behind the building."

            # An import with a broken entry is reported with position and field, and changes nothing.
            broken = tmp_path / "broken.toml"
            broken.write_text(BROKEN, "utf-8")
            out = io.StringIO()
            assert await run_import(h.settings, broken, CLUB, partial=False, out=out, encoder_loader=loader) == 1
            report = out.getvalue()
            assert 'entry 2 (id "broken one"): id:' in report
            assert 'entry 2 (id "broken one"): questions:' in report
            assert 'entry 2 (id "broken one"): answer:' in report
            assert "nothing was imported" in report
            assert sorted(e.key for e in await h.app.faq.entries_for(CLUB)) == sorted(
                ["refund", "password", "schedule", "invoice-company", "invoice-personal", saved_key(saved)]
            )
            _, since = await ask(h, ANN, "What are your opening hours?")
            await h.settle()
            assert sends_since(h, since) == []  # "hours" was not imported


def saved_key(message: dict[str, Any]) -> str:
    # "Saved FAQ #6 is-there-parking-near-the with 2 phrasings. …": the key is the code span.
    text = message["text"]
    entity = next(e for e in message.get("entities", []) if e["type"] == "code")
    return str(text[entity["offset"] : entity["offset"] + entity["length"]])


async def test_manager_reply_is_offered_as_faq_privately(tmp_path: Path) -> None:
    async with running_bot(tmp_path, populate=populate, **FAQ) as h:
        sandbox = h.sandbox
        question = sandbox.send_message(CLUB, ANN, "Where can I download the course slides?")
        await h.settle()
        since = sandbox.mark()
        sandbox.reply(CLUB, ADMIN_ID, question["message_id"], "They are in the Files tab of the course.")
        offer_call = await sandbox.wait_for("sendMessage", chat_id=ADMIN_ID, since=since)
        await h.settle()
        offer = current(sandbox, ADMIN_ID, offer_call.result["message_id"])
        assert "Where can I download the course slides?" in offer["text"]
        assert "Files tab" in offer["text"]
        # A member's reply to the same kind of question is not offered.
        q2 = sandbox.send_message(CLUB, ANN, "How long is the course?")
        since = sandbox.mark()
        sandbox.reply(CLUB, BOB, q2["message_id"], "About six weeks I think.")
        await h.settle()
        assert not [c for c in sandbox.journal[since:] if c.method.lower() == "sendmessage"]

        toast = await press(h, ADMIN_ID, offer, "💾 Save as FAQ", chat_id=ADMIN_ID)
        assert toast.startswith("Saved as FAQ #")
        entries = await h.app.faq.entries_for(CLUB)
        assert [(e.questions, e.answer) for e in entries] == [
            (("Where can I download the course slides?",), "They are in the Files tab of the course.")
        ]
        _, since = await ask(h, DAN, "where can I download the slides of the course?")
        assert (await bot_reply(h, since))["text"] == "They are in the Files tab of the course."

        # Mention mode: questions are left alone unless the bot is addressed.
        _, since = await ask(h, ADMIN_ID, "/faq_mode mention")
        assert "mention" in (await bot_reply(h, since))["text"]
        _, since = await ask(h, BOB, "Where can I download the course slides, please?")
        await h.settle()
        assert sends_since(h, since) == []
        _, since = await ask(h, BOB, "/faq_list")
        assert "Only the managers and the admins" in (await bot_reply(h, since))["text"]
        _, since = await ask(h, ADMIN_ID, "/faq_list")
        listing = await bot_reply(h, since)
        assert "Where can I download the course slides?" in listing["text"]
