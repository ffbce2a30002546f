"""Authorisation matrix over the real dispatcher: every management command (discovered from the routers, so
new ones are covered) and every management button, pressed by a member, an admin of another chat, an
anonymous admin and a manager. Refused pairs get a refusal and leave the database as it was; allowed pairs
work. Plus flood protection: one member cannot make the bot repeat an FAQ answer or fill the queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.services.faq_io import FaqDraft
from bot.services.moderation_types import CARD_ACTIONS
from tests.reliability.support import (
    ANONYMOUS_ADMIN,
    DESK,
    MANAGER,
    callback,
    callback_prefixes,
    commands,
    feed,
    group,
    message,
    private,
    steward,
    update,
)

G = -1001800000001  # the community
OTHER = -1001800000002  # another community
ADMIN, OTHER_ADMIN, MEMBER = 600, 602, 601
ADMINS = {G: {ADMIN}, OTHER: {OTHER_ADMIN}}
# Open to everyone (dialog steps check on their own; /report is how members call the admins).
PUBLIC = {"start", "help", "cancel", "next", "skip", "done", "report"}
# Arguments that would change something when the caller is allowed.
ARGS = {
    "faq_mode": "off",
    "faq_del": "1",
    "faq_edit": "1",
    "welcome": "off",
    "welcome_delete": "5",
    "welcome_rules": "https://example.org/rules",
    "escalation": "observe on",
    "invite_new": "spring",
    "feed_add": "http://127.0.0.1:9/feed.xml",
    "feed_remove": "1",
    "feed_autopost": "on",
    "case": "1",
    "post": "1",
    "shadow_report": "7",
    "stats": "7",
    "approve": str(OTHER),
    "moderation": "spam_policy delete",
    "mute": "1 1h",
}
# Tables a refused command or button must leave alone (messages, members and state record traffic).
TRAFFIC = {"messages", "members", "state", "member_events"}


async def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    tables = [r[0] for r in await app.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
    out = {}
    for table in sorted(set(tables) - TRAFFIC):
        rows = await app.db.fetchall(f'SELECT * FROM "{table}" ORDER BY 1')  # noqa: S608 - names from sqlite_master
        out[table] = [tuple(r) for r in rows]
    return out


async def seed(app: Any) -> None:
    for chat_id in (G, OTHER):
        await feed(app, update("message", message(group(chat_id), MEMBER, "hello")))
    await app.faq.import_drafts(G, [FaqDraft("hours", ("When are you open?",), "9 to 5.")])
    for uid in (MEMBER, 603, 604):  # a pile-on: a case opens with a card in the managers' chat
        await feed(app, update("message", message(group(G), uid, "this is a scam, worst service, I hate it")))
    # A member reports another member's message: a moderation subject on a case, with its card buttons.
    rude = message(group(G), 606, "you are all idiots")
    await feed(app, update("message", rude))
    await feed(app, update("message", message(group(G), 603, "/report", reply_to_message=rude)))


def replies_to(app: Any, chat_id: int, since: int) -> list[Any]:
    return [m for m in app.bot.session.journal[since:] if type(m).__name__ == "SendMessage" and m.chat_id == chat_id]


async def test_management_commands_matrix(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS) as app:
        await seed(app)
        managed = sorted(commands(app.dispatcher) - PUBLIC)
        assert {"faq_mode", "faq_del", "welcome", "escalation", "queue", "newpost", "stats", "approve"} <= set(managed)
        refused_changed, silent = [], []
        outsiders = {
            "member": (MEMBER, {}),
            "admin of another chat": (OTHER_ADMIN, {}),
        }
        for name in managed:
            text = f"/{name} {ARGS.get(name, '')}".rstrip()
            for role, (uid, extra) in outsiders.items():
                for chat in (group(G), private(uid)):
                    before, since = await snapshot(app), len(app.bot.session.journal)
                    await feed(app, update("message", message(chat, uid, text, **extra)))
                    await feed(app, update("message", message(chat, uid, "/cancel")))
                    if await snapshot(app) != before:
                        refused_changed.append((role, chat["type"], text))
                    if chat["type"] == "private" and not replies_to(app, uid, since):
                        silent.append((role, text))
        assert refused_changed == [], refused_changed
        # Group-only commands sent in a private chat get no answer at all (no change either): reported in
        # docs/reliability.md as a gap, printed here so the list is visible.
        print(f"\nrefused in private without any answer: {sorted({text for _, text in silent})}")

        # Allowed: the manager changes the FAQ mode; the anonymous admin (writing as the group) and the
        # group's admin can too; the admin of the other chat cannot.
        async def mode_after(uid: int, **extra: Any) -> str | None:
            await feed(app, update("message", message(group(G), uid, "/faq_mode mention", **extra)))
            community = await app.communities.get(G)
            value = community.settings.get("faq.mode") if community else None
            await app.communities.update_settings(G, {"faq.mode": "auto"})
            app.community_service.invalidate(G)
            return value

        assert await mode_after(MANAGER) == "mention"
        assert await mode_after(ADMIN) == "mention"
        assert await mode_after(ANONYMOUS_ADMIN, sender_chat=group(G)) == "mention"
        assert await mode_after(OTHER_ADMIN) in (None, "auto")
        assert await mode_after(MEMBER) in (None, "auto")

        # /approve: only a manager, and only in private or the managers' chat (not a group's own admin).
        async def approved(uid: int, chat: dict[str, Any], **extra: Any) -> bool:
            await feed(app, update("message", message(chat, uid, f"/approve {OTHER}", **extra)))
            community = await app.communities.get(OTHER)
            return community is not None and community.approved_at is not None

        assert not await approved(OTHER_ADMIN, group(OTHER))
        assert not await approved(ANONYMOUS_ADMIN, group(OTHER), sender_chat=group(OTHER))
        assert not await approved(OTHER_ADMIN, private(OTHER_ADMIN))
        assert not await approved(MANAGER, group(OTHER))  # not in a group where its members would see it
        assert await approved(MANAGER, private(MANAGER))
        # A member posting "as" another chat is not an anonymous admin of this one.
        assert await mode_after(MEMBER, sender_chat={"id": OTHER, "type": "supergroup", "title": "x"}) in (None, "auto")


async def test_queue_and_management_buttons_matrix(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS) as app:
        await seed(app)
        case_id = await app.db.fetchval("SELECT id FROM cases WHERE chat_id = ?", (G,))
        assert case_id is not None, "the pile-on should have opened a case"
        entry_id = await app.db.fetchval("SELECT id FROM faq_entries WHERE chat_id = ?", (G,))
        prefixes = callback_prefixes()
        buttons = [f"case:2:{action}:{case_id}" for action in ("take", "reply", "resolve", "dismiss", "snooze")]
        buttons += [f"fqe:2:{action}:{entry_id}" for action in ("toggle", "delete", "really_delete", "answer", "add")]
        buttons += ["fqg:2:1", f"fqs:2:{G}:1:2"]
        subject_id = await app.db.fetchval("SELECT id FROM mod_subjects WHERE chat_id = ?", (G,))
        assert subject_id is not None, "the /report should have made a moderation subject"
        buttons += [f"mod:2:{action}:{subject_id}" for action in CARD_ACTIONS]
        # Every other management button class (posts, feeds, whatever lands later), filled field by field.
        words = [
            "take",
            "delete",
            "approve",
            "skip",
            "edit",
            "cancel",
            "pause",
            "resume",
            "save",
            "drop",
            "chat",
            "toggle",
            "next",
            "really_delete",
            "unpin",
        ]
        for prefix, cls in sorted(prefixes.items()):
            if prefix in ("case", "fqe", "fqg", "fqs", "fqv", "fqp", "mod"):  # above; votes and picks are open
                continue
            for word in words:
                values = []
                for field in cls.model_fields.values():
                    kind = field.annotation
                    values.append("1" if kind is int or kind == int | None else "0" if kind is bool else word)
                buttons.append(":".join([prefix, *values])[:64])
        assert {b.split(":")[0] for b in buttons} >= set(prefixes) - {"fqv", "fqp"}
        refused_changed, unanswered = [], []
        for data in buttons:
            for role, uid, chat in (
                ("member", MEMBER, group(DESK)),
                ("member", MEMBER, group(G)),
                ("admin of another chat", OTHER_ADMIN, group(DESK)),
                ("anonymous admin bot", ANONYMOUS_ADMIN, group(G)),
                ("member in private", MEMBER, private(MEMBER)),
            ):
                before, since = await snapshot(app), len(app.bot.session.journal)
                await feed(app, callback(chat, uid, data))
                if await snapshot(app) != before:
                    refused_changed.append((role, data))
                answers = [m for m in app.bot.session.journal[since:] if type(m).__name__ == "AnswerCallbackQuery"]
                if not answers:
                    unanswered.append((role, data))
        assert refused_changed == [], refused_changed
        assert unanswered == [], unanswered
        # The manager's Take works.
        await feed(app, callback(group(DESK), MANAGER, f"case:2:take:{case_id}"))
        assert await app.db.fetchval("SELECT state FROM cases WHERE id = ?", (case_id,)) == "taken"
        # The community's own admin may work its cases too.
        await feed(app, callback(group(DESK), ADMIN, f"case:2:resolve:{case_id}"))
        assert await app.db.fetchval("SELECT state FROM cases WHERE id = ?", (case_id,)) == "resolved"
        # Moderation: the manager mutes from the card; the community's admin unmutes. Both logged, both ok.
        await feed(app, callback(group(DESK), MANAGER, f"mod:2:m1h:{subject_id}"))
        await feed(app, callback(group(DESK), ADMIN, f"mod:2:unmute:{subject_id}"))
        rows = await app.db.fetchall("SELECT actor_id, action, ok FROM mod_actions ORDER BY id")
        assert [tuple(r) for r in rows] == [(MANAGER, "mute", 1), (ADMIN, "unmute", 1)]


async def test_one_member_cannot_make_the_bot_repeat_an_answer(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS) as app:
        await seed(app)
        since = len(app.bot.session.journal)
        for _ in range(20):
            await feed(app, update("message", message(group(G), MEMBER, "When are you open?")))
        sent = [m.text for m in replies_to(app, G, since)]
        full = [t for t in sent if "9 to 5." in (t or "")]
        assert len(full) == 1, sent  # the answer once; then a link back to it, and then silence
        assert len(sent) <= 1 + app.settings.faq.member_answers_per_hour


async def test_one_member_cannot_fill_the_queue(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS) as app:
        await seed(app)
        before = await app.db.fetchval("SELECT COUNT(*) FROM cases")
        for i in range(20):  # twenty separate furious threads from one account
            await feed(app, update("message", message(group(G), 605, f"scam, worst, I hate you all ({i})")))
        opened = await app.db.fetchval("SELECT COUNT(*) FROM cases") - before
        cards = await app.db.fetchval("SELECT COUNT(*) FROM case_cards")
        print(f"\none member, 20 furious threads: {opened} cases, {cards} cards in all")
        assert opened == app.settings.escalation.member_cases_per_hour, f"one member opened {opened} cases"
