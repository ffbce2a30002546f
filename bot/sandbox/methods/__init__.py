"""The Bot API methods the sandbox serves, one module per family, gathered in :data:`REGISTRY`.

=================  =====================================================================
family             methods
=================  =====================================================================
:mod:`.bot`        getMe, close, logOut, set/get/deleteMyCommands
:mod:`.updates`    getUpdates, setWebhook, deleteWebhook, getWebhookInfo (and webhook POSTs)
:mod:`.messages`   send*, sendMediaGroup, copyMessage, forwardMessage, editMessage*, delete*
:mod:`.files`      getFile (and what send calls attach)
:mod:`.chats`      getChat*, pin/unpin, leaveChat, sendChatAction, setMessageReaction,
                   answerCallbackQuery
:mod:`.invites`    create/edit/revoke/exportChatInviteLink, approve/declineChatJoinRequest
:mod:`.topics`     create/edit/close/reopen/deleteForumTopic
:mod:`.moderation` ban/unban/restrictChatMember, ban/unbanChatSenderChat
=================  =====================================================================

Shared pieces: :mod:`.checks` (which chat a call names, may the bot act there) and :mod:`.compose` (texts,
entities, keyboards, replies and topics of the bot's messages). To serve a new method, write its handler in
its family's module under ``@METHODS.method("methodName")``.
"""

from bot.sandbox.methods import bot, chats, files, invites, messages, moderation, topics, updates
from bot.sandbox.methods.registry import Entry, Family, Handler, Registry

__all__ = ["REGISTRY", "Entry", "Family", "Handler", "Registry"]

REGISTRY = Registry(family.METHODS for family in (bot, updates, messages, files, chats, invites, topics, moderation))
