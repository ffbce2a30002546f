"""Admins' dialogs: a half-written /faq_add survives a restart, an expired one is announced rather than
dropped, anonymous admins of two groups keep apart, every step re-checks rights, and an edit to an entry
deleted meanwhile says so."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.reliability.support import ANONYMOUS_ADMIN, callback, feed, group, message, steward, update

G = -1001700000001
H = -1001700000002
ADMIN, MEMBER = 700, 701


def admins() -> dict[int, set[int]]:
    return {G: {ADMIN}, H: {ADMIN}}


def texts_to(app: Any, chat_id: int, since: int) -> list[str]:
    return [
        str(m.text)
        for m in app.bot.session.journal[since:]
        if type(m).__name__ == "SendMessage" and m.chat_id == chat_id
    ]


async def say(app: Any, chat_id: int, uid: int, text: str, **extra: Any) -> list[str]:
    since = len(app.bot.session.journal)
    await feed(app, update("message", message(group(chat_id), uid, text, **extra)))
    return texts_to(app, chat_id, since)


async def entries(app: Any, chat_id: int) -> list[tuple[str, str]]:
    """(first question, answer) of each entry of the chat."""
    return [(e.questions[0], e.answer) for e in await app.faq.repo.list_entries([chat_id])]


async def test_a_half_written_faq_entry_survives_a_restart_and_completes(tmp_path: Path) -> None:
    async with steward(tmp_path, admins()) as app:
        assert "New FAQ entry" in (await say(app, G, ADMIN, "/faq_add"))[0]
        assert "Got 1 phrasings" in (await say(app, G, ADMIN, "How do I get a refund?"))[0]
    async with steward(tmp_path, admins()) as app:  # a restart: a new process over the same database
        assert "Now send the answer (1 phrasings so far)" in (await say(app, G, ADMIN, "/next"))[0]
        assert "Saved FAQ" in (await say(app, G, ADMIN, "Write to billing@example.org."))[0]
        assert await entries(app, G) == [("How do I get a refund?", "Write to billing@example.org.")]


async def test_an_expired_dialog_is_announced_not_dropped_silently(tmp_path: Path) -> None:
    async with steward(tmp_path, admins()) as app:
        await say(app, G, ADMIN, "/faq_add")
        await say(app, G, ADMIN, "How do I get a refund?")
        ttl = app.settings.dialogs.ttl_minutes * 60
        app.dialog_expiry.clock = lambda: time.time() + ttl + 5
        replies = await say(app, G, ADMIN, "Anyway, back to the release plans")
        assert len(replies) == 1 and "expired after 15 minutes" in replies[0] and "/faq_add" in replies[0]
        # The dialog is over: the admin's chat is chat again, not FAQ text, and nothing was saved.
        assert await say(app, G, ADMIN, "/next") == []
        assert await entries(app, G) == []
        kept = await app.db.fetchval(
            "SELECT COUNT(*) FROM messages WHERE chat_id = ? AND text = ?", (G, "Anyway, back to the release plans")
        )
        assert kept == 1  # recorded as the group message it is


async def test_anonymous_admins_of_two_groups_have_separate_dialogs(tmp_path: Path) -> None:
    async with steward(tmp_path, admins()) as app:
        anon_g, anon_h = {"sender_chat": group(G)}, {"sender_chat": group(H)}
        await say(app, G, ANONYMOUS_ADMIN, "/faq_add", **anon_g)
        await say(app, G, ANONYMOUS_ADMIN, "Where is the office?", **anon_g)
        # The other group's anonymous admin ("GroupAnonymousBot" too) is not in that dialog.
        assert await say(app, H, ANONYMOUS_ADMIN, "/next", **anon_h) == []
        assert await say(app, H, ANONYMOUS_ADMIN, "Who is coming on Friday?", **anon_h) == []
        await say(app, H, ANONYMOUS_ADMIN, "/faq_add", **anon_h)
        await say(app, H, ANONYMOUS_ADMIN, "When is the party?", **anon_h)
        assert (
            "Saved FAQ"
            in (
                await say(app, G, ANONYMOUS_ADMIN, "/next", **anon_g)
                + await say(app, G, ANONYMOUS_ADMIN, "Main street 1.", **anon_g)
            )[-1]
        )
        await say(app, H, ANONYMOUS_ADMIN, "/next", **anon_h)
        await say(app, H, ANONYMOUS_ADMIN, "On Saturday.", **anon_h)
        assert await entries(app, G) == [("Where is the office?", "Main street 1.")]
        assert await entries(app, H) == [("When is the party?", "On Saturday.")]


async def test_an_admin_demoted_mid_dialog_is_refused_at_the_next_step(tmp_path: Path) -> None:
    table = admins()
    async with steward(tmp_path, table) as app:
        await say(app, G, ADMIN, "/faq_add")
        await say(app, G, ADMIN, "How do I get a refund?")
        table[G].discard(ADMIN)  # demoted: Telegram reports it (chat_member) and the cache follows
        app.roles.admin_changed(G, ADMIN, False)
        replies = await say(app, G, ADMIN, "Can I get my money back?")
        assert replies == ["Only the managers and the admins of this chat can change the FAQ."]
        assert await say(app, G, ADMIN, "/next") == []  # the dialog ended
        assert await entries(app, G) == []


async def test_an_edit_to_an_entry_deleted_meanwhile_says_so(tmp_path: Path) -> None:
    async with steward(tmp_path, admins()) as app:
        await say(app, G, ADMIN, "/faq_add")
        await say(app, G, ADMIN, "How do I get a refund?")
        await say(app, G, ADMIN, "/next")
        await say(app, G, ADMIN, "Write to billing.")
        entry_id = await app.db.fetchval("SELECT id FROM faq_entries WHERE chat_id = ?", (G,))
        await feed(app, callback(group(G), ADMIN, f"fqe:2:answer:{entry_id}"))
        await app.faq.delete(entry_id)  # another admin deleted it meanwhile
        assert await say(app, G, ADMIN, "Write to support instead.") == ["That entry no longer exists."]
        await feed(app, callback(group(G), ADMIN, f"fqe:2:add:{entry_id}"))
        since = len(app.bot.session.journal)
        await feed(app, callback(group(G), ADMIN, f"fqe:2:add:{entry_id}"))
        toasts = [m.text for m in app.bot.session.journal[since:] if type(m).__name__ == "AnswerCallbackQuery"]
        assert toasts == ["That entry no longer exists."]


async def test_an_anonymous_admin_who_presses_an_edit_button_can_answer_as_the_group(tmp_path: Path) -> None:
    async with steward(tmp_path, admins()) as app:
        await app.faq.add_entry(G, ["How do I get a refund?"], "Write to billing.", created_by=ADMIN)
        entry_id = await app.db.fetchval("SELECT id FROM faq_entries WHERE chat_id = ?", (G,))
        app.bot.session.anonymous.add(ADMIN)  # ADMIN posts anonymously: their messages come "from the group"
        await feed(app, callback(group(G), ADMIN, f"fqe:2:add:{entry_id}"))  # a button press names the real user
        replies = await say(app, G, ANONYMOUS_ADMIN, "Can I get my money back?", sender_chat=group(G))
        assert replies == [f"Added 1 phrasings to FAQ #{entry_id}."]
        # The other group's anonymous admin was never in that dialog.
        assert await say(app, H, ANONYMOUS_ADMIN, "Anything new?", sender_chat=group(H)) == []
