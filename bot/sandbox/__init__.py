"""Sandbox Telegram Bot API: an in-process emulator over HTTP on 127.0.0.1.

Used by the tests (the real ``Dispatcher.start_polling`` talks to it through
``TelegramAPIServer.from_base(api.base_url)``), by ``steward demo``, and by fault and flood tests.
Run one by hand with ``python -m bot.sandbox --port 8081 [--demo]``.

Quick tour::

    async with SandboxBotAPI(token="123456:TEST") as api:          # or: await api.start(); … await api.stop()
        api.add_user(1, "Ann", "ann")
        api.add_group(-1001, "Club", owner_id=1)                     # is_forum=True, type="group"/"channel"
        api.add_bot_to_group(-1001, by_user_id=1)                    # → my_chat_member (+ service message)
        async with api.polling(dispatcher) as bot:                   # real start_polling, stopped on exit
            msg = api.send_message(-1001, 1, "/help@steward_bot")    # → message update (entities computed)
            call = await api.wait_for("sendMessage", chat_id=-1001)  # journaled Call
        api.inject("sendMessage", Fault.retry_after(3), chat_id=-1001)

Layout. The bot's side: :mod:`.core` (state, and the one path every call takes), :mod:`.http` (the HTTP
front), :mod:`.methods` (the Bot API methods, one module per family, gathered in one ``REGISTRY``),
:mod:`.journal` (the journal, faults, flood limits), :mod:`.params` (request parameters). The users' side:
:mod:`.api` (:class:`SandboxBotAPI` and the aiogram glue) over :mod:`.membership` and :mod:`.posting` (helpers
that act as members) over :mod:`.world` (users, chats, delivery). Shared: :mod:`.state` (chats, members,
``Call``), :mod:`.faults` (``Fault``, ``Injection``, ``ApiError``), :mod:`.entities` (UTF-16 entities, HTML).

Realism on purpose (each can surprise a handler written against a too-friendly fake):

* privacy mode: a bot that is neither admin nor ``can_read_all_group_messages`` only gets commands, replies to
  its own messages and service messages; ``chat_member`` and reaction updates reach admin bots only, and only
  when asked for in ``allowed_updates`` (which Telegram remembers between calls);
* a message in a forum topic that is not a reply carries ``reply_to_message`` = the topic's
  ``forum_topic_created`` message (``topic_replies_point_to_topic=False`` turns this off); a reply in a plain
  supergroup carries ``message_thread_id`` = the reply thread's root (``reply_threads_in_supergroups=False``);
* the bot cannot message a user who never wrote to it (403), nor a group it is not in or was kicked from
  (403), nor a migrated group (400 with ``migrate_to_chat_id``); ``parse_mode=HTML`` is parsed and malformed
  markup fails with "can't parse entities"; texts over 4096 / captions over 1024 characters fail.
"""

from bot.sandbox.api import SandboxBotAPI
from bot.sandbox.core import DEFAULT_UPDATE_TYPES
from bot.sandbox.faults import ApiError, Fault, Injection
from bot.sandbox.methods.chats import CHAT_INFO_DEFAULTS
from bot.sandbox.state import ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID, Call, ChatState, Member

__all__ = [
    "ANONYMOUS_ADMIN_ID",
    "CHANNEL_BOT_ID",
    "CHAT_INFO_DEFAULTS",
    "DEFAULT_UPDATE_TYPES",
    "ApiError",
    "Call",
    "ChatState",
    "Fault",
    "Injection",
    "Member",
    "SandboxBotAPI",
]
