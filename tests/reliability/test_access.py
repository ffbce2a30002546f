"""[access] communities = "approved": a group a stranger added is registered but not served (no model work,
no replies, one polite line), until a manager approves it; a group a manager added is served at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.services.faq_io import FaqDraft
from tests.reliability.support import MANAGER, feed, group, message, private, steward, update, user

G = -1001600000001  # added by a stranger
H = -1001600000002  # added by a manager
J = -1001600000003  # first met through a message
STRANGER, MEMBER = 900, 901
ADMINS = {G: {STRANGER}, H: {MANAGER}, J: set()}


def added(chat_id: int, by: int) -> dict[str, Any]:
    bot = {"id": 42, "is_bot": True, "first_name": "Steward", "username": "steward_bot"}
    return update(
        "my_chat_member",
        {
            "chat": group(chat_id),
            "from": user(by),
            "date": 1_767_225_600,
            "old_chat_member": {"status": "left", "user": bot},
            "new_chat_member": {"status": "member", "user": bot},
        },
    )


def sent(app: Any, since: int) -> list[tuple[int, str]]:
    return [(int(m.chat_id), str(m.text)) for m in app.bot.session.journal[since:] if type(m).__name__ == "SendMessage"]


async def test_a_group_nobody_trusted_added_waits_for_approval(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS, access={"communities": "approved"}) as app:
        since = len(app.bot.session.journal)
        await feed(app, added(G, STRANGER))
        lines = sent(app, since)
        assert len(lines) == 1 and lines[0][0] == STRANGER and f"/approve {G}" in lines[0][1]
        await app.faq.import_drafts(G, [FaqDraft("hours", ("When are you open?",), "9 to 5.")])
        since = len(app.bot.session.journal)
        for text in ("When are you open?", "this is a scam, worst service", "/faq_list"):
            await feed(app, update("message", message(group(G), MEMBER, text)))
        await feed(app, added(G, STRANGER))  # added again: still one line in all
        assert sent(app, since) == []  # no replies, no second line
        assert await app.db.fetchval("SELECT COUNT(*) FROM messages WHERE chat_id = ?", (G,)) == 0  # no model work
        assert await app.db.fetchval("SELECT COUNT(*) FROM cases WHERE chat_id = ?", (G,)) == 0
        community = await app.communities.get(G)
        assert community is not None and community.approved_at is None  # registered, not served

        # A manager approves it in private; from then on it is served.
        since = len(app.bot.session.journal)
        await feed(app, update("message", message(private(MANAGER), MANAGER, "/approve")))
        assert str(G) in sent(app, since)[-1][1]  # the waiting list names it
        await feed(app, update("message", message(private(MANAGER), MANAGER, f"/approve {G}")))
        out = sent(app, since)
        assert any(chat == G and "approved" in text for chat, text in out)
        since = len(app.bot.session.journal)
        await feed(app, update("message", message(group(G), MEMBER, "When are you open?")))
        assert any(chat == G and "9 to 5." in text for chat, text in sent(app, since))


async def test_the_group_admin_cannot_approve_their_own_group(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS, access={"communities": "approved"}) as app:
        await feed(app, added(G, STRANGER))
        for chat in (private(STRANGER), group(G)):
            await feed(app, update("message", message(chat, STRANGER, f"/approve {G}")))
        community = await app.communities.get(G)
        assert community is not None and community.approved_at is None


async def test_a_group_a_manager_or_listed_admin_added_is_served_at_once(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS, access={"communities": "approved", "admins": [STRANGER]}) as app:
        await feed(app, added(H, MANAGER))
        await feed(app, added(G, STRANGER))  # a listed admin
        for chat_id in (H, G):
            community = await app.communities.get(chat_id)
            assert community is not None and community.approved_at is not None
            await feed(app, update("message", message(group(chat_id), MEMBER, "hello there")))
            assert await app.db.fetchval("SELECT COUNT(*) FROM messages WHERE chat_id = ?", (chat_id,)) == 1


async def test_a_group_first_met_through_a_message_gets_one_line_in_the_group(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS, access={"communities": "approved"}) as app:
        since = len(app.bot.session.journal)
        for text in ("hi", "anyone?", "hello?"):
            await feed(app, update("message", message(group(J), MEMBER, text)))
        lines = sent(app, since)
        assert len(lines) == 1 and lines[0][0] == J and "approve" in lines[0][1]
        assert await app.db.fetchval("SELECT COUNT(*) FROM messages WHERE chat_id = ?", (J,)) == 0


async def test_open_mode_serves_every_group(tmp_path: Path) -> None:
    async with steward(tmp_path, ADMINS) as app:
        await feed(app, added(G, STRANGER))
        await feed(app, update("message", message(group(G), MEMBER, "hello there")))
        assert await app.db.fetchval("SELECT COUNT(*) FROM messages WHERE chat_id = ?", (G,)) == 1


async def test_steward_communities_list_and_approve(tmp_path: Path, capsys: Any) -> None:
    import asyncio

    from bot.cli.main import main

    async with steward(tmp_path, ADMINS, access={"communities": "approved"}) as app:
        await feed(app, added(G, STRANGER))
    config = tmp_path / "steward.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "steward.db"}"\n[access]\ncommunities = "approved"\n')
    assert await asyncio.to_thread(main, ["communities", "list", "--config", str(config)]) == 0
    assert f"{G}  waiting for approval" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["communities", "approve", str(G), "--config", str(config)]) == 0
    assert await asyncio.to_thread(main, ["communities", "approve", "-1009", "--config", str(config)]) == 1
    assert await asyncio.to_thread(main, ["communities", "list", "--config", str(config)]) == 0
    assert f"{G}  approved" in capsys.readouterr().out
    async with steward(tmp_path, ADMINS, access={"communities": "approved"}) as app:
        await feed(app, update("message", message(group(G), MEMBER, "hello there")))
        assert await app.db.fetchval("SELECT COUNT(*) FROM messages WHERE chat_id = ?", (G,)) == 1
