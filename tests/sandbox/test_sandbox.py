"""The sandbox Bot API, driven by a real aiogram Bot and a real Dispatcher.start_polling over HTTP."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import Command, CommandStart
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    ChatFullInfo,
    ChatInviteLink,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberUpdated,
    ForumTopic,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    MessageReactionCountUpdated,
    ReactionTypeEmoji,
    ReplyParameters,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.sandbox import ANONYMOUS_ADMIN_ID, ApiError, Fault, SandboxBotAPI
from tests.local_server import serve
from tests.sandbox.conftest import FORUM, GROUP, MEMBER, OWNER, TOKEN
from tests.waiting import wait_until

BOT_ID = int(TOKEN.split(":")[0])


def _kinds(updates: list[Any]) -> list[str]:
    return [u.event_type for u in updates]


# ---------------------------------------------------------------------------------------------- getMe, getUpdates


async def test_get_me_reports_the_token_id_and_privacy_flags(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == BOT_ID
    assert me.is_bot is True
    assert me.username == "steward_bot"
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False


async def test_get_me_privacy_off_and_custom_username() -> None:
    async with SandboxBotAPI(token="77:abc", bot_username="other_bot", can_read_all_group_messages=True) as api:
        bot = api.make_bot("77:abc")
        try:
            me = await bot.get_me()
        finally:
            await bot.session.close()
    assert (me.id, me.username, me.can_read_all_group_messages) == (77, "other_bot", True)


async def test_malformed_token_is_unauthorized(api: SandboxBotAPI) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{api.base_url}/botnot-a-token/getMe") as resp:
        body = await resp.json()
    assert resp.status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_get_updates_times_out_empty_after_the_timeout(bot: Bot) -> None:
    started = time.monotonic()
    updates = await bot.get_updates(timeout=1)
    elapsed = time.monotonic() - started
    assert updates == []
    assert 0.9 <= elapsed < 3


async def test_long_poll_returns_early_when_an_update_arrives(community: SandboxBotAPI, bot: Bot) -> None:
    await bot.get_updates(offset=-1)  # forget setup updates
    pending = community.pending_updates()
    await bot.get_updates(offset=pending[-1]["update_id"] + 1 if pending else 0, timeout=0)

    async def later() -> None:
        await asyncio.sleep(0.3)
        community.send_message(GROUP, MEMBER, "late hello")

    started = time.monotonic()
    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=10)
    elapsed = time.monotonic() - started
    await task
    assert 0.2 <= elapsed < 3
    assert [u.message.text for u in updates if u.message] == ["late hello"]


async def test_offset_confirms_and_limit_caps(community: SandboxBotAPI, bot: Bot) -> None:
    first = await bot.get_updates(timeout=0)
    assert _kinds(first) == ["my_chat_member", "message", "my_chat_member", "message"]
    assert [u.update_id for u in first] == sorted(u.update_id for u in first)
    # not confirmed yet: the same batch comes again
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in first]
    limited = await bot.get_updates(offset=first[1].update_id, limit=2, timeout=0)
    assert [u.update_id for u in limited] == [first[1].update_id, first[2].update_id]
    # offset confirmed everything before first[1]
    assert [u["update_id"] for u in community.pending_updates()] == [u.update_id for u in first[1:]]
    rest = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert rest == []
    assert community.pending_updates() == []


async def test_allowed_updates_default_excludes_chat_member_and_is_remembered(
    community: SandboxBotAPI, bot: Bot
) -> None:
    await bot.get_updates(offset=-1, timeout=0)
    await bot.get_updates(offset=community.pending_updates()[-1]["update_id"] + 1, timeout=0)
    community.add_user(12, "Nia")
    community.join(GROUP, 12, via_service_message=False)
    assert await bot.get_updates(timeout=0) == []  # dropped: chat_member was not asked for

    community.add_user(13, "Ola")
    updates = await bot.get_updates(allowed_updates=["chat_member"], timeout=0)
    assert updates == []  # joined before? no: 13 has not joined yet
    community.join(GROUP, 13, via_service_message=True)
    updates = await bot.get_updates(timeout=0)  # the setting is remembered between calls
    assert _kinds(updates) == ["chat_member"]  # the service message is filtered out now
    assert updates[0].chat_member is not None
    assert updates[0].chat_member.new_chat_member.user.id == 13


async def test_second_poller_terminates_the_first_with_409(bot: Bot, api: SandboxBotAPI) -> None:
    polls = api.poll_count
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await wait_until(lambda: api.poll_count > polls, what="the first getUpdates to reach the sandbox")
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    assert await second == []


async def test_webhook_blocks_get_updates_until_deleted(bot: Bot) -> None:
    assert await bot.set_webhook("https://example.invalid/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.invalid/hook"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates(timeout=0) == []


# ---------------------------------------------------------------------------------------------- polling end to end


async def test_dispatcher_polling_receives_group_and_private_messages(community: SandboxBotAPI) -> None:
    dp = Dispatcher()
    seen: list[Message] = []

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Hi! I help this community.")

    @dp.message(Command("help"))
    async def help_(message: Message) -> None:
        await message.reply("help text")

    @dp.message(F.text)
    async def any_text(message: Message) -> None:
        seen.append(message)

    async with community.polling(dp):
        community.send_message(MEMBER, MEMBER, "/start")
        call = await community.wait_for("sendMessage", chat_id=MEMBER)
        assert call.params["text"] == "Hi! I help this community."
        assert call.result["chat"] == {"id": MEMBER, "type": "private", "first_name": "Max", "username": "max_member"}

        question = community.send_message(GROUP, MEMBER, "/help@steward_bot")
        call = await community.wait_for("sendMessage", chat_id=GROUP)
        assert call.result["reply_to_message"]["message_id"] == question["message_id"]

        community.send_message(GROUP, OWNER, "plain chatter")
        await community.wait_for("getUpdates", lambda c: bool(c.result))
        await wait_until(lambda: seen, what="the handler to see the plain chatter")
    assert [m.text for m in seen] == ["plain chatter"]
    assert community.sent_texts() == ["Hi! I help this community.", "help text"]
    assert community.pending_updates() == [] or all(u.get("update_id", 0) > 0 for u in community.pending_updates())


async def test_forum_topic_message_thread_is_kept_in_replies(community: SandboxBotAPI) -> None:
    topic = community.add_topic(FORUM, "Support")
    dp = Dispatcher()
    received: list[Message] = []

    @dp.message(F.text)
    async def answer(message: Message) -> None:
        received.append(message)
        await message.answer(f"got {message.text}")  # answer() keeps message_thread_id

    async with community.polling(dp):
        community.send_message(FORUM, MEMBER, "where is the doc?", thread_id=topic)
        call = await community.wait_for("sendMessage", chat_id=FORUM)
    msg = received[0]
    assert msg.message_thread_id == topic and msg.is_topic_message is True
    # Telegram quirk, emulated: a non-reply message in a topic "replies" to the topic's service message
    assert msg.reply_to_message is not None and msg.reply_to_message.forum_topic_created is not None
    assert call.params["message_thread_id"] == topic
    assert call.result["message_thread_id"] == topic
    assert [m["text"] for m in community.sent_messages(FORUM, thread_id=topic)] == ["got where is the doc?"]
    assert community.sent_messages(FORUM, thread_id=topic + 100) == []


async def test_callback_button_press_round_trip(community: SandboxBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Take", callback_data="case:1:take")]])
    card = await bot.send_message(GROUP, "Case #1", reply_markup=markup)
    assert card.reply_markup is not None

    dp = Dispatcher()
    pressed: list[CallbackQuery] = []

    @dp.callback_query(F.data.startswith("case:"))
    async def on_press(query: CallbackQuery) -> None:
        pressed.append(query)
        await query.answer("Taken", show_alert=True)

    async with community.polling(dp):
        with pytest.raises(ValueError, match="no button"):
            community.press_button(GROUP, OWNER, card.message_id, "case:2:take")
        qid = community.press_button(GROUP, OWNER, card.message_id, "case:1:take")
        await community.wait_for("answerCallbackQuery")
    assert pressed[0].id == qid
    assert pressed[0].message is not None and pressed[0].message.message_id == card.message_id
    assert pressed[0].from_user.id == OWNER
    assert community.callback_answer(qid) == {"text": "Taken", "show_alert": True, "url": None, "cache_time": 0}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(qid)


async def test_polling_helper_surfaces_my_chat_member(api: SandboxBotAPI) -> None:
    api.add_user(OWNER, "Olga")
    api.add_group(GROUP, "Club", owner_id=OWNER)
    dp = Dispatcher()
    events: list[ChatMemberUpdated] = []

    @dp.my_chat_member()
    async def on_me(event: ChatMemberUpdated) -> None:
        events.append(event)

    async with api.polling(dp, allowed_updates=["message", "my_chat_member", "chat_member"]):
        api.add_bot_to_group(GROUP, OWNER, as_admin=False)
        await api.wait_for("getUpdates", lambda c: any("my_chat_member" in u for u in c.result))
        await wait_until(lambda: events, what="the my_chat_member handler to run")
    assert events[0].new_chat_member.status == "member"
    assert events[0].old_chat_member.status == "left"
    assert events[0].from_user.id == OWNER


# ---------------------------------------------------------------------------------------------- shapes


async def test_chat_info_methods_parse_as_aiogram_types(community: SandboxBotAPI, bot: Bot) -> None:
    chat = await bot.get_chat(GROUP)
    assert isinstance(chat, ChatFullInfo) and chat.title == "Club" and chat.type == "supergroup"
    forum = await bot.get_chat(FORUM)
    assert forum.is_forum is True

    owner = await bot.get_chat_member(GROUP, OWNER)
    assert isinstance(owner, ChatMemberOwner)
    me = await bot.get_chat_member(GROUP, BOT_ID)
    assert isinstance(me, ChatMemberAdministrator) and me.can_invite_users and me.can_delete_messages
    member = await bot.get_chat_member(GROUP, MEMBER)
    assert isinstance(member, ChatMemberMember)
    admins = await bot.get_chat_administrators(GROUP)
    assert sorted(a.user.id for a in admins) == sorted([OWNER, BOT_ID])
    assert await bot.get_chat_member_count(GROUP) == 3
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat(-100999)


async def test_sending_methods_parse_and_are_stored(community: SandboxBotAPI, bot: Bot) -> None:
    text = await bot.send_message(GROUP, "<b>Bold</b> &amp; plain", parse_mode="HTML")
    assert text.text == "Bold & plain"
    assert text.entities is not None and text.entities[0].type == "bold" and text.entities[0].length == 4
    assert text.from_user is not None and text.from_user.id == BOT_ID

    photo = await bot.send_photo(GROUP, BufferedInputFile(b"\x89PNG...", "chart.png"), caption="Weekly chart")
    assert photo.photo and photo.caption == "Weekly chart"
    assert community.uploads == [("chart.png", b"\x89PNG...")]
    by_url = await bot.send_photo(GROUP, "https://example.invalid/p.jpg")
    assert by_url.photo
    again = await bot.send_photo(GROUP, photo.photo[-1].file_id)
    assert again.photo and again.photo[-1].file_id == photo.photo[-1].file_id
    doc = await bot.send_document(GROUP, BufferedInputFile(b"a,b\n1,2\n", "report.csv"))
    assert doc.document is not None and doc.document.file_name == "report.csv"

    copied = await bot.copy_message(FORUM, GROUP, text.message_id)
    forwarded = await bot.forward_message(FORUM, GROUP, text.message_id)
    assert forwarded.forward_origin is not None and forwarded.forward_origin.type == "user"
    assert community.chat(FORUM).messages[copied.message_id]["text"] == "Bold & plain"

    edited = await bot.edit_message_text("Edited", chat_id=GROUP, message_id=text.message_id)
    assert isinstance(edited, Message) and edited.text == "Edited" and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Edited", chat_id=GROUP, message_id=text.message_id)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="OK", callback_data="ok")]])
    with_markup = await bot.edit_message_reply_markup(chat_id=GROUP, message_id=text.message_id, reply_markup=markup)
    assert isinstance(with_markup, Message) and with_markup.reply_markup is not None
    assert with_markup.reply_markup.inline_keyboard[0][0].callback_data == "ok"
    recaptioned = await bot.edit_message_caption(chat_id=GROUP, message_id=photo.message_id, caption="New")
    assert isinstance(recaptioned, Message) and recaptioned.caption == "New"
    with pytest.raises(TelegramBadRequest, match="no text in the message"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=photo.message_id)

    assert await bot.pin_chat_message(GROUP, text.message_id)
    assert (await bot.get_chat(GROUP)).pinned_message is not None
    assert await bot.unpin_chat_message(GROUP, message_id=text.message_id)
    assert await bot.set_message_reaction(GROUP, text.message_id, [ReactionTypeEmoji(emoji="👍")])
    assert await bot.send_chat_action(GROUP, "typing")
    assert await bot.delete_message(GROUP, by_url.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(GROUP, by_url.message_id)
    sent_ids = [m["message_id"] for m in community.sent_messages(GROUP)]
    assert by_url.message_id not in sent_ids and text.message_id in sent_ids
    assert sent_ids == sorted(sent_ids)


async def test_invite_links_topics_and_commands(community: SandboxBotAPI, bot: Bot) -> None:
    link = await bot.create_chat_invite_link(GROUP, name="spring-campaign")
    assert isinstance(link, ChatInviteLink) and link.name == "spring-campaign" and not link.is_revoked
    assert link.creator.id == BOT_ID and link.invite_link.startswith("https://t.me/+")
    revoked = await bot.revoke_chat_invite_link(GROUP, link.invite_link)
    assert revoked.is_revoked

    topic = await bot.create_forum_topic(FORUM, "Announcements")
    assert isinstance(topic, ForumTopic) and topic.name == "Announcements"
    in_topic = await bot.send_message(FORUM, "first post", message_thread_id=topic.message_thread_id)
    assert in_topic.message_thread_id == topic.message_thread_id and in_topic.is_topic_message
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(GROUP, "x")
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(FORUM, "x", message_thread_id=99999)

    commands = [BotCommand(command="help", description="What I do")]
    assert await bot.set_my_commands(commands)
    assert [(c.command, c.description) for c in await bot.get_my_commands()] == [("help", "What I do")]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []


# ---------------------------------------------------------------------------------------------- API errors


async def test_too_long_text_and_reply_rules(community: SandboxBotAPI, bot: Bot) -> None:
    assert (await bot.send_message(GROUP, "x" * 4096)).text == "x" * 4096
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(GROUP, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(GROUP, "re", reply_parameters=ReplyParameters(message_id=9999))
    lenient = await bot.send_message(
        GROUP, "re", reply_parameters=ReplyParameters(message_id=9999, allow_sending_without_reply=True)
    )
    assert lenient.reply_to_message is None
    user_msg = community.send_message(GROUP, MEMBER, "question?")
    reply = await bot.send_message(GROUP, "answer", reply_to_message_id=user_msg["message_id"])
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "question?"
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(GROUP, "1 < 2 <oops>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            GROUP,
            "x",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="x" * 65)]]
            ),
        )
    failures = community.calls("sendMessage", GROUP, ok=False)
    assert [c.error_code for c in failures] == [400, 400, 400, 400]


async def test_kicked_bot_gets_403_and_migrated_group_gets_migrate(api: SandboxBotAPI, bot: Bot) -> None:
    api.add_user(OWNER, "Olga")
    api.add_group(GROUP, "Club", owner_id=OWNER)
    api.add_group(-555, "Basic", type="group", owner_id=OWNER)
    with pytest.raises(TelegramForbiddenError, match="not a member"):
        await bot.send_message(GROUP, "hi")
    api.add_bot_to_group(GROUP, OWNER)
    api.remove_bot_from_group(GROUP, OWNER, kicked=True)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "hi")

    api.add_bot_to_group(-555, OWNER)
    api.migrate_group(-555, -1005550000000)
    with pytest.raises(TelegramMigrateToChat) as info:
        await bot.send_message(-555, "hi")
    assert info.value.migrate_to_chat_id == -1005550000000
    assert (await bot.send_message(-1005550000000, "hi again")).chat.id == -1005550000000


async def test_private_chat_rules(api: SandboxBotAPI, bot: Bot) -> None:
    api.add_user(20, "Pia")
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(20, "hello")
    api.send_message(20, 20, "/start")
    assert (await bot.send_message(20, "hello")).chat.id == 20
    api.block_bot(20)
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(20, "hello")


async def test_unknown_method_is_404_and_journaled(api: SandboxBotAPI) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{api.base_url}/bot{TOKEN}/fooBar", data={"a": "1"}) as r:
        body = await r.json()
    assert r.status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    (call,) = api.calls("fooBar")
    assert call.ok is False and call.error_code == 404 and call.params == {"a": 1}


class _FooBar(TelegramMethod[bool]):
    __returning__ = bool
    __api_method__ = "fooBar"


async def test_unknown_method_raises_telegram_not_found(api: SandboxBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramNotFound, match="method not found"):
        await bot(_FooBar())
    assert [c.error_code for c in api.calls("fooBar")] == [404]


async def test_json_and_urlencoded_bodies(community: SandboxBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{community.base_url}/bot{TOKEN}/sendMessage",
            json={"chat_id": str(GROUP), "text": "123", "reply_markup": markup},
        ) as r:
            as_json = await r.json()
        async with http.post(
            f"{community.base_url}/bot{TOKEN}/sendMessage", data={"chat_id": str(GROUP), "text": "true"}
        ) as r:
            as_form = await r.json()
    assert as_json["ok"] and as_json["result"]["text"] == "123" and as_json["result"]["reply_markup"] == markup
    assert as_form["ok"] and as_form["result"]["text"] == "true"  # text stays a string


# ---------------------------------------------------------------------------------------------- faults


async def test_injected_errors_raise_the_matching_aiogram_exceptions(community: SandboxBotAPI, bot: Bot) -> None:
    community.inject("sendMessage", Fault.retry_after(7))
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(GROUP, "x")
    assert flood.value.retry_after == 7

    community.inject("sendMessage", Fault.forbidden("Forbidden: bot was blocked by the user"))
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(GROUP, "x")

    community.inject("sendMessage", Fault.bad_request("chat not found"))
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(GROUP, "x")

    community.inject("sendMessage", Fault.server_error(502))
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(GROUP, "x")

    community.inject("sendMessage", Fault.migrate(-100777))
    with pytest.raises(TelegramMigrateToChat):
        await bot.send_message(GROUP, "x")

    sent = await bot.send_message(GROUP, "finally")  # every fault above was for one call
    assert sent.text == "finally"
    codes = [c.error_code for c in community.calls("sendMessage")]
    assert codes == [429, 403, 400, 502, 400, None]
    faulted = community.calls("sendMessage", ok=False)
    assert all(c.fault is not None for c in faulted)
    assert community.sent_texts(GROUP) == ["finally"]  # rejected calls leave no message


async def test_faults_per_chat_times_and_every(community: SandboxBotAPI, bot: Bot) -> None:
    rule = community.inject("sendMessage", Fault.retry_after(1), chat_id=GROUP, times=2)
    assert (await bot.send_message(FORUM, "other chat unaffected")).text
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(GROUP, "x")
    assert (await bot.send_message(GROUP, "third goes through")).text
    assert rule.fired == 2 and not rule.active

    every = community.inject("*", Fault.server_error(500), every=3, times=None, after=1)
    outcomes = []
    for i in range(7):
        try:
            await bot.send_chat_action(GROUP, "typing")
            outcomes.append(f"ok{i}")
        except TelegramServerError:
            outcomes.append(f"err{i}")
    every.cancel()
    assert outcomes == ["ok0", "err1", "ok2", "ok3", "err4", "ok5", "ok6"]


async def test_fault_schedule(community: SandboxBotAPI, bot: Bot) -> None:
    community.inject_schedule("sendMessage", [None, Fault.retry_after(2), None, Fault.server_error(503)], chat_id=GROUP)
    results: list[str] = []
    for i in range(5):
        try:
            await bot.send_message(GROUP, f"m{i}")
            results.append("ok")
        except TelegramRetryAfter:
            results.append("429")
        except TelegramServerError:
            results.append("503")
    assert results == ["ok", "429", "ok", "503", "ok"]
    assert community.sent_texts(GROUP) == ["m0", "m2", "m4"]


async def test_timeout_fault_drops_and_delay_fault_is_slow_but_succeeds(community: SandboxBotAPI, bot: Bot) -> None:
    community.inject("sendMessage", Fault.timeout(0.2))
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(GROUP, "lost")
    community.inject("sendMessage", Fault.timeout(5))
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(GROUP, "client gives up", request_timeout=1)

    community.inject("sendMessage", Fault.delay(0.5))
    started = time.monotonic()
    sent = await bot.send_message(GROUP, "slow")
    assert time.monotonic() - started >= 0.45
    assert sent.text == "slow"
    community.inject("sendMessage", Fault.timeout(0.3, then="respond"))
    assert (await bot.send_message(GROUP, "late but fine")).text == "late but fine"
    assert community.sent_texts(GROUP) == ["slow", "late but fine"]


# ---------------------------------------------------------------------------------------------- journal


async def test_journal_records_calls_with_times_and_results(community: SandboxBotAPI, bot: Bot) -> None:
    before = time.monotonic()
    sent = await bot.send_message(GROUP, "hello", disable_notification=True)
    await bot.send_message(FORUM, "there")
    group_calls = community.calls("sendMessage", chat_id=GROUP)
    assert len(group_calls) == 1
    call = group_calls[0]
    assert call.method == "sendMessage" and call.ok and call.error_code is None
    assert call.params["chat_id"] == GROUP and call.params["text"] == "hello"
    assert call.params["disable_notification"] is True
    assert call.result["message_id"] == sent.message_id
    assert call.at >= before and call.wall.tzinfo is UTC
    assert call.bot_id == BOT_ID
    assert [c.chat_id for c in community.calls("sendmessage")] == [GROUP, FORUM]  # method is case-insensitive


async def test_wait_for_waits_and_honours_since_and_predicate(community: SandboxBotAPI, bot: Bot) -> None:
    await bot.send_message(GROUP, "old")
    mark = community.mark()
    assert (await community.wait_for("sendMessage")).params["text"] == "old"  # already journaled

    async def later() -> None:
        await asyncio.sleep(0.2)
        await bot.send_message(GROUP, "skip me")
        await bot.send_message(GROUP, "new")

    task = asyncio.create_task(later())
    call = await community.wait_for("sendMessage", lambda c: c.params["text"] == "new", since=mark, timeout=5)
    await task
    assert call.result["text"] == "new"
    with pytest.raises(TimeoutError, match="no sendPhoto call"):
        await community.wait_for("sendPhoto", timeout=0.2)


# ---------------------------------------------------------------------------------------------- acting as users


async def test_user_message_entities_replies_and_anonymous_admin(community: SandboxBotAPI, bot: Bot) -> None:
    own = await bot.send_message(GROUP, "Daily digest")
    msg = community.send_message(GROUP, MEMBER, "/rules@steward_bot ask @olga_owner see https://ex.org/a.")
    types = [(e["type"], e["offset"], e["length"]) for e in msg["entities"]]
    assert types == [
        ("bot_command", 0, 18),
        ("mention", 23, 11),
        ("url", 39, 16),
    ]  # trailing "." is not part of the URL
    emoji = community.send_message(GROUP, MEMBER, "🙂 /help")
    assert emoji["entities"] == [{"type": "bot_command", "offset": 3, "length": 5}]  # UTF-16 offsets

    reply = community.send_message(GROUP, MEMBER, "thanks!", reply_to=own.message_id)
    parsed = SandboxBotAPI.as_message(reply)
    assert parsed.reply_to_message is not None and parsed.reply_to_message.from_user is not None
    assert parsed.reply_to_message.from_user.id == BOT_ID
    assert parsed.message_thread_id == own.message_id  # supergroup reply thread root

    anon = community.send_message(GROUP, OWNER, "from the admins", sender_chat_id=GROUP)
    assert anon["from"]["id"] == ANONYMOUS_ADMIN_ID and anon["sender_chat"]["id"] == GROUP

    updates = await bot.get_updates(timeout=0)
    texts = [u.message.text for u in updates if u.message and u.message.text]
    assert "thanks!" in texts and "from the admins" in texts
    community.add_user(999, "Stranger")
    with pytest.raises(ValueError, match="not a member"):
        community.send_message(GROUP, 999, "x")


async def test_forum_replies_inherit_topic(community: SandboxBotAPI) -> None:
    topic = community.add_topic(FORUM, "Billing")
    first = community.send_message(FORUM, MEMBER, "invoice?", thread_id=topic)
    reply = community.send_message(FORUM, OWNER, "check mail", reply_to=first["message_id"])
    assert reply["message_thread_id"] == topic and reply["is_topic_message"] is True
    assert reply["reply_to_message"]["message_id"] == first["message_id"]
    general = community.send_message(FORUM, MEMBER, "hello general")
    assert "message_thread_id" not in general and "is_topic_message" not in general
    assert [m["text"] for m in community.messages(FORUM, thread_id=topic) if "text" in m] == [
        "invoice?",
        "check mail",
    ]


async def test_privacy_mode_hides_plain_group_messages_from_a_non_admin_bot(api: SandboxBotAPI, bot: Bot) -> None:
    api.add_user(OWNER, "Olga")
    api.add_group(GROUP, "Club", owner_id=OWNER)
    api.add_bot_to_group(GROUP, OWNER, as_admin=False)
    own = await bot.send_message(GROUP, "I am here")
    api.send_message(GROUP, OWNER, "plain chatter")
    api.send_message(GROUP, OWNER, "/help")
    api.send_message(GROUP, OWNER, "/help@other_bot")
    api.send_message(GROUP, OWNER, "a reply", reply_to=own.message_id)
    updates = await bot.get_updates(timeout=0)
    texts = [u.message.text for u in updates if u.message and u.message.text]
    assert texts == ["/help", "a reply"]
    api.set_bot_rights(GROUP, OWNER, is_admin=True)
    api.send_message(GROUP, OWNER, "now visible")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert _kinds(updates) == ["my_chat_member", "message"]


async def test_join_with_invite_link_leave_and_admin_changes(community: SandboxBotAPI, bot: Bot) -> None:
    link = await bot.create_chat_invite_link(GROUP, name="from-newsletter")
    await bot.get_updates(offset=-1, timeout=0)
    skip = community.pending_updates()[-1]["update_id"] + 1
    await bot.get_updates(offset=skip, allowed_updates=["message", "chat_member"], timeout=0)

    community.add_user(30, "Nadia", "nadia")
    community.join(GROUP, 30, invite_link=link.invite_link)
    community.set_admin(GROUP, 30, by_user_id=OWNER)
    community.leave(GROUP, 30)
    updates = await bot.get_updates(timeout=0)
    assert _kinds(updates) == ["chat_member", "message", "chat_member", "chat_member", "message"]
    joined = updates[0].chat_member
    assert joined is not None and joined.invite_link is not None
    assert joined.invite_link.name == "from-newsletter" and joined.new_chat_member.status == "member"
    assert updates[1].message is not None and updates[1].message.new_chat_members is not None
    promoted = updates[2].chat_member
    assert promoted is not None and promoted.new_chat_member.status == "administrator"
    assert promoted.from_user.id == OWNER
    left = updates[3].chat_member
    assert left is not None and left.new_chat_member.status == "left"
    assert updates[4].message is not None and updates[4].message.left_chat_member is not None
    assert community.invite_link_joins(GROUP, link.invite_link) == 1
    assert (await bot.get_chat_member(GROUP, 30)).status == "left"


async def test_edits_reactions_channel_posts_and_raw_updates(community: SandboxBotAPI, bot: Bot) -> None:
    await bot.get_updates(offset=-1, timeout=0)
    skip = community.pending_updates()[-1]["update_id"] + 1
    await bot.get_updates(
        offset=skip,
        allowed_updates=["message", "edited_message", "message_reaction_count", "channel_post"],
        timeout=0,
    )
    msg = community.send_message(GROUP, MEMBER, "typo")
    community.edit_message(GROUP, msg["message_id"], "fixed")
    community.react(GROUP, msg["message_id"], {"👍": 3, "🔥": 1})
    community.add_channel(-1009000, "News", owner_id=OWNER)
    community.add_bot_to_group(-1009000, OWNER)
    community.link_discussion(-1009000, GROUP)
    community.channel_post(-1009000, "Release 1.2 is out")
    raw = community.push_update(
        {"message": {"message_id": 900, "date": 1, "chat": {"id": 5, "type": "private", "first_name": "R"},
                     "text": "raw"}}
    )  # fmt: skip
    updates = await bot.get_updates(timeout=0)
    assert _kinds(updates) == [
        "message", "edited_message", "message_reaction_count", "channel_post", "message", "message"
    ]  # fmt: skip
    assert updates[1].edited_message is not None and updates[1].edited_message.text == "fixed"
    counts = updates[2].message_reaction_count
    assert isinstance(counts, MessageReactionCountUpdated)
    assert [(r.type.emoji, r.total_count) for r in counts.reactions] == [("👍", 3), ("🔥", 1)]  # type: ignore[union-attr]
    auto = updates[4].message
    assert auto is not None and auto.is_automatic_forward and auto.sender_chat is not None
    assert auto.sender_chat.id == -1009000
    assert updates[5].update_id == raw["update_id"]
    assert isinstance(Update.model_validate(raw), Update)


async def test_leave_chat_by_the_bot_is_reported(community: SandboxBotAPI, bot: Bot) -> None:
    assert await bot.leave_chat(GROUP)
    with pytest.raises(TelegramForbiddenError, match="not a member"):
        await bot.send_message(GROUP, "x")
    assert community.chat(GROUP).member(BOT_ID).status == "left"


# ---------------------------------------------------------------------------------------------- CLI


async def test_cli_serves_until_interrupted() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert "Sandbox Bot API on http://127.0.0.1:" in line
        base = line.split(" on ", 1)[1].split()[0]
        async with aiohttp.ClientSession() as http, http.get(f"{base}/bot1:x/getMe") as resp:
            body = await resp.json()
        assert body["ok"] and body["result"]["id"] == 1
    finally:
        proc.send_signal(2)  # SIGINT, like Ctrl-C
        await asyncio.wait_for(proc.wait(), 20)
    assert proc.returncode == 0


# ---------------------------------------------------------------------------------------------- more


async def test_flood_limits_answer_429_with_retry_after(community: SandboxBotAPI, bot: Bot) -> None:
    community.set_flood_limits(per_group_per_minute=3, per_private_chat_per_second=None, global_per_second=None)
    for i in range(3):
        await bot.send_message(GROUP, f"m{i}")
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(GROUP, "one too many")
    assert 55 <= flood.value.retry_after <= 60
    assert (await bot.send_message(FORUM, "other group has its own budget")).text
    community.clear_flood_limits()
    assert (await bot.send_message(GROUP, "limits off")).text
    refused = community.calls("sendMessage", ok=False)
    assert len(refused) == 1 and refused[0].error_code == 429 and refused[0].fault is None


async def test_media_group_and_in_process_call(community: SandboxBotAPI, bot: Bot) -> None:
    album = await bot.send_media_group(
        GROUP,
        [
            InputMediaPhoto(media=BufferedInputFile(b"1", "a.jpg"), caption="<i>one</i>", parse_mode="HTML"),
            InputMediaPhoto(media="https://example.invalid/b.jpg"),
        ],
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id is not None
    assert album[0].caption == "one" and album[0].caption_entities is not None
    result = await community.call("sendMessage", chat_id=GROUP, text="in-process")
    assert result["text"] == "in-process" and community.calls("sendMessage")[-1].ok
    with pytest.raises(ApiError) as err:
        await community.call("sendMessage", chat_id=GROUP, text="")
    assert err.value.code == 400 and "text is empty" in err.value.description


async def test_undelivered_versus_pending_updates(community: SandboxBotAPI, bot: Bot) -> None:
    assert len(community.undelivered_updates()) == len(community.pending_updates()) == 4
    batch = await bot.get_updates(timeout=0)
    assert community.undelivered_updates() == [] and len(community.pending_updates()) == 4
    community.send_message(GROUP, MEMBER, "new")
    assert [u["message"]["text"] for u in community.undelivered_updates()] == ["new"]
    await bot.get_updates(offset=batch[-1].update_id + 1, timeout=0)
    assert [u["message"]["text"] for u in community.pending_updates()] == ["new"]


async def test_webhook_mode_delivers_to_a_local_aiogram_handler(community: SandboxBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> Any:
        return message.answer(f"webhook got: {message.text}")  # answered inside the webhook response

    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="hook-secret", handle_in_background=False).register(app, "/hook")
    runner, port = await serve(app, access_log=None)
    try:
        await bot.get_updates(offset=-1, timeout=0)
        skip = community.pending_updates()[-1]["update_id"] + 1
        await bot.get_updates(offset=skip, timeout=0)
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="hook-secret")
        community.send_message(GROUP, MEMBER, "ping")
        call = await community.wait_for("sendMessage", chat_id=GROUP, timeout=10)
        assert call.params["text"] == "webhook got: ping"
        assert community.webhook_deliveries and community.webhook_deliveries[-1][1] == 200
        assert community.pending_updates() == []
        assert await bot.delete_webhook()
    finally:
        await runner.cleanup()


async def test_polling_survives_injected_get_updates_failures(community: SandboxBotAPI) -> None:
    dp = Dispatcher()
    got: list[str] = []

    @dp.message(F.text)
    async def on_text(message: Message) -> None:
        got.append(message.text or "")
        await message.answer("seen")

    community.inject_schedule("getUpdates", [None, Fault.server_error(502), Fault.retry_after(1)])
    async with community.polling(dp):
        community.send_message(GROUP, MEMBER, "after the outage")
        await community.wait_for("sendMessage", chat_id=GROUP, timeout=15)
    codes = [c.error_code for c in community.calls("getUpdates")]
    assert codes[:3] == [None, 502, 429]
    assert "after the outage" in got


async def test_started_users_and_duplicate_joins(api: SandboxBotAPI, bot: Bot) -> None:
    api.add_user(40, "Manager", started=True)
    assert (await bot.send_message(40, "case card")).chat.id == 40
    api.add_user(41, "Member")
    api.add_group(GROUP, "Club", owner_id=40, members=[41])
    with pytest.raises(ValueError, match="already a member"):
        api.join(GROUP, 41)
