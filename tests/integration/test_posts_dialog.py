"""Scheduled posts end to end: the DM dialog with an exact preview, management buttons, receipts,
faults (429, 403) and engagement, over the real polling loop against the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.sandbox import Fault
from bot.sandbox.state import Call
from tests.harness import ADMIN_ID, MANAGER_ID, Harness, running_bot

GROUP = -1001000000101
FORUM = -1001000000102
MANAGERS = -1001000000199
ALICE, MALLORY = 1001, 1003


def populate(h: Harness) -> None:
    sb = h.sandbox
    sb.add_user(ALICE, "Alice", "alice")
    sb.add_user(MALLORY, "Mallory", "mallory")
    sb.add_user(ADMIN_ID, "Ada", "ada")
    sb.add_user(MANAGER_ID, "Max", "max")
    sb.add_group(GROUP, "Coffee lovers", owner_id=ADMIN_ID, members=[ALICE, MALLORY], username="coffeelovers")
    sb.add_group(FORUM, "Coffee forum", is_forum=True, owner_id=ADMIN_ID, members=[ALICE])
    sb.add_group(MANAGERS, "Managers", owner_id=ADMIN_ID, members=[MANAGER_ID])


async def setup(h: Harness) -> None:
    # The dialog is many short messages in one private chat; Telegram's 1-per-second pace there is the
    # outbox's business (tested with it), not this test's.
    h.app.outbox.set_private_rate(50)
    populate(h)
    for chat in (GROUP, FORUM, MANAGERS):
        h.sandbox.add_bot_to_group(chat, ADMIN_ID)
    await h.settle()
    assert await h.app.communities.get(GROUP) is not None


def last_markup(h: Harness, chat_id: int) -> tuple[int, list[str]]:
    message = [m for m in h.sandbox.sent_messages(chat_id) if m.get("reply_markup")][-1]
    datas = [b.get("callback_data") for row in message["reply_markup"]["inline_keyboard"] for b in row]
    return int(message["message_id"]), [d for d in datas if d]


async def say(h: Harness, text: str, user: int = MANAGER_ID, **kwargs: Any) -> Call:
    return await h.say(user, user, text, **kwargs)


async def press(h: Harness, data: str, user: int = MANAGER_ID, chat: int | None = None) -> None:
    chat_id = chat if chat is not None else user
    message_id = next(
        int(m["message_id"])
        for m in reversed(h.sandbox.sent_messages(chat_id))
        if data
        in [b.get("callback_data") for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
    )
    h.sandbox.press_button(chat_id, user, message_id, data)
    await h.settle()


async def test_dialog_previews_exactly_then_schedules_and_posts(tmp_path: Path) -> None:
    async with running_bot(tmp_path, managers={"chat_id": MANAGERS}) as h:
        await setup(h)
        reply = await say(h, "/newpost")
        assert "Which community" in reply.params["text"]
        choices = [b["callback_data"] for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
        assert f"np:2:chat:{FORUM}" in choices and f"np:2:chat:{MANAGERS}" not in choices  # not the managers' group
        await press(h, f"np:2:chat:{FORUM}")
        assert "forum" in h.sandbox.sent_texts(MANAGER_ID)[-1]
        topic = h.sandbox.add_topic(FORUM, "News")
        await say(h, str(topic))
        await say(h, "Big news", entities=[{"type": "bold", "offset": 0, "length": 3}])
        await say(h, "Read | https://example.org/read ;; Site | https://example.org")
        await press(h, "np:2:pin:0")
        await press(h, "np:2:silent:0")
        await press(h, "np:2:next:0")
        since = h.sandbox.mark()
        h.sandbox.send_message(MANAGER_ID, MANAGER_ID, "now")
        await h.settle()
        # The preview is the same call the post will be, in the manager's chat.
        preview = h.sandbox.calls("sendMessage", MANAGER_ID)[-2]
        assert preview.params["text"] == "<b>Big</b> news"
        assert preview.params["disable_notification"] is True
        buttons = preview.params["reply_markup"]["inline_keyboard"]
        assert [[b["url"] for b in row] for row in buttons] == [["https://example.org/read", "https://example.org"]]
        # Nothing reaches the community before the manager confirms.
        assert [c for c in h.sandbox.journal[since:] if c.method == "sendMessage" and c.chat_id == FORUM] == []
        await press(h, "np:2:save:0")
        posted = await h.sandbox.wait_for("sendMessage", chat_id=FORUM, since=since)
        assert posted.params["text"] == "<b>Big</b> news"
        assert posted.params["message_thread_id"] == topic
        assert posted.params["reply_markup"] == preview.params["reply_markup"]
        await h.sandbox.wait_for("pinChatMessage", chat_id=FORUM, since=since)
        receipt = await h.sandbox.wait_for(
            "sendMessage", chat_id=MANAGERS, since=since, predicate=lambda c: "is out" in c.params["text"]
        )
        assert f"/{topic}/" in receipt.params["text"]  # a link into the topic


async def test_non_managers_are_refused_at_every_step(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await setup(h)
        reply = await say(h, "/newpost", user=MALLORY)
        assert "Only the community managers" in reply.params["text"]
        await say(h, "/posts", user=MALLORY)
        # A forged button press on a manager's card is refused too.
        post = await h.app.posts.create(await h.app.posts.build(chat_id=GROUP, text="x", when="2030-01-01 10:00"))
        card = await say(h, f"/post {post.id}")
        message_id = int(card.result["message_id"]) if isinstance(card.result, dict) else 0
        h.sandbox.send_message(MALLORY, MALLORY, "/start")
        await h.settle()
        qid = h.sandbox.press_button(MANAGER_ID, MALLORY, message_id, f"pc:2:cancel:{post.id}")
        await h.settle()
        answer = h.sandbox.callback_answer(qid)
        assert answer is not None and "Only the community managers" in answer.get("text", "")
        stored = await h.app.posts.repo.get(post.id)
        assert stored is not None and stored.status == "pending"


async def test_list_pause_resume_cancel_buttons(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await setup(h)
        post = await h.app.posts.create(await h.app.posts.build(chat_id=GROUP, text="Later", when="mon,thu 10:00"))
        listing = await say(h, "/posts")
        assert f"#{post.id}" in listing.params["text"] and "Coffee lovers" in listing.params["text"]
        await say(h, f"/post {post.id}")
        await press(h, f"pc:2:pause:{post.id}")
        assert (await h.app.posts.repo.get(post.id)).status == "paused"  # type: ignore[union-attr]
        assert h.app.posts.armed_at(post.id) is None
        await press(h, f"pc:2:resume:{post.id}")
        assert (await h.app.posts.repo.get(post.id)).status == "pending"  # type: ignore[union-attr]
        assert h.app.posts.armed_at(post.id) is not None
        await press(h, f"pc:2:time:{post.id}")
        await say(h, "2031-05-05 12:00")
        stored = await h.app.posts.repo.get(post.id)
        assert stored is not None and stored.cron is None and stored.at_local == "2031-05-05 12:00:00"
        await press(h, f"pc:2:cancel:{post.id}")
        assert (await h.app.posts.repo.get(post.id)).status == "cancelled"  # type: ignore[union-attr]
        assert h.app.posts.armed_at(post.id) is None


async def test_429_is_waited_out_and_delivered(tmp_path: Path) -> None:
    async with running_bot(tmp_path, managers={"chat_id": MANAGERS}) as h:
        await setup(h)
        h.sandbox.inject("sendMessage", Fault.retry_after(1), chat_id=GROUP, times=2)
        since = h.sandbox.mark()
        post = await h.app.posts.create(await h.app.posts.build(chat_id=GROUP, text="Rate limited", when="now"))
        await h.sandbox.wait_for("sendMessage", chat_id=GROUP, since=since, timeout=10)
        receipt = await h.sandbox.wait_for("sendMessage", chat_id=MANAGERS, since=since, timeout=10)
        assert "is out" in receipt.params["text"] and "https://t.me/coffeelovers/" in receipt.params["text"]
        assert len(h.sandbox.calls("sendMessage", GROUP, ok=False)) == 2
        stored = await h.app.posts.repo.get(post.id)
        assert stored is not None and stored.status == "sent"


async def test_403_ends_in_a_failure_receipt(tmp_path: Path) -> None:
    async with running_bot(tmp_path, managers={"chat_id": MANAGERS, "receipts": "failures"}) as h:
        await setup(h)
        h.sandbox.inject(
            "sendMessage", Fault.forbidden("Forbidden: bot was kicked from the supergroup chat"), chat_id=GROUP
        )
        since = h.sandbox.mark()
        post = await h.app.posts.create(await h.app.posts.build(chat_id=GROUP, text="Kicked", when="now"))
        receipt = await h.sandbox.wait_for("sendMessage", chat_id=MANAGERS, since=since, timeout=10)
        assert "could not be posted" in receipt.params["text"]
        assert "the bot was removed from this chat" in receipt.params["text"]
        stored = await h.app.posts.repo.get(post.id)
        assert stored is not None and stored.status == "failed"


async def test_replies_and_reactions_are_recorded(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await setup(h)
        since = h.sandbox.mark()
        post = await h.app.posts.create(await h.app.posts.build(chat_id=GROUP, text="Discuss", when="now"))
        sent = await h.sandbox.wait_for("sendMessage", chat_id=GROUP, since=since)
        message_id = int(sent.result["message_id"])
        h.sandbox.send_message(GROUP, ALICE, "Nice one", reply_to=message_id)
        h.sandbox.react(GROUP, message_id, {"👍": 2, "🔥": 1})
        await h.settle()
        run = (await h.app.posts.repo.runs(post.id))[0]
        assert run.replies == 1 and run.reactions == 3
        assert await h.app.posts.repo.reactions(GROUP, message_id) == {"👍": 2, "🔥": 1}
        card = await say(h, f"/post {post.id}")
        assert "Times posted: 1; replies 1, reactions 3" in card.params["text"]


async def test_dialog_with_a_photo_posts_the_same_file(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await setup(h)
        await say(h, "/newpost")
        await press(h, f"np:2:chat:{GROUP}")
        await say(h, "Look at this", photo=True)
        await say(h, "/skip")
        await press(h, "np:2:protect:0")
        await press(h, "np:2:next:0")
        since = h.sandbox.mark()
        h.sandbox.send_message(MANAGER_ID, MANAGER_ID, "now")
        preview = await h.sandbox.wait_for("sendPhoto", chat_id=MANAGER_ID, since=since)
        await h.settle()
        await press(h, "np:2:save:0")
        posted = await h.sandbox.wait_for("sendPhoto", chat_id=GROUP, since=since)
        assert posted.params["photo"] == preview.params["photo"]
        assert posted.params["caption"] == preview.params["caption"] == "Look at this"
        assert posted.params["protect_content"] is True


async def test_group_admins_set_the_community_timezone(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await setup(h)
        since = h.sandbox.mark()
        h.sandbox.send_message(GROUP, MALLORY, "/timezone Europe/Berlin")
        refused = await h.sandbox.wait_for("sendMessage", chat_id=GROUP, since=since)
        assert "Only the community managers" in refused.params["text"]
        since = h.sandbox.mark()
        h.sandbox.send_message(GROUP, ADMIN_ID, "/timezone Mars/Base")
        bad = await h.sandbox.wait_for("sendMessage", chat_id=GROUP, since=since)
        assert "unknown IANA timezone" in bad.params["text"]
        since = h.sandbox.mark()
        h.sandbox.send_message(GROUP, ADMIN_ID, "/timezone Europe/Berlin")
        ok = await h.sandbox.wait_for("sendMessage", chat_id=GROUP, since=since)
        assert "now Europe/Berlin" in ok.params["text"]
        community = await h.app.communities.get(GROUP)
        assert community is not None and community.timezone == "Europe/Berlin"
        post = await h.app.posts.build(chat_id=GROUP, text="x", when="2031-01-01 10:00")
        assert post.timezone == "Europe/Berlin" and post.at_local == "2031-01-01 10:00:00"


async def test_managers_choose_failures_only_receipts(tmp_path: Path) -> None:
    async with running_bot(tmp_path, managers={"chat_id": MANAGERS}) as h:
        await setup(h)
        reply = await say(h, "/receipts failures")
        assert "only for posts that failed" in reply.params["text"]
        assert await h.app.posts.receipts_mode() == "failures"
        since = h.sandbox.mark()
        await h.app.posts.create(await h.app.posts.build(chat_id=GROUP, text="Quiet success", when="now"))
        await h.sandbox.wait_for("sendMessage", chat_id=GROUP, since=since)
        await h.settle()
        assert not any("is out" in t for t in h.sandbox.sent_texts(MANAGERS))
        reply = await say(h, "/receipts everything", user=MANAGER_ID)
        assert "Usage" in reply.params["text"]
        reply = await say(h, "/receipts", user=MALLORY)
        assert "Only the community managers" in reply.params["text"]
