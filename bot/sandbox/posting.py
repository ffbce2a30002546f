"""User-side helpers for what members do in chats: write, reply, edit, delete, post in channels, press
inline buttons and react."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from bot.sandbox.entities import detect_entities
from bot.sandbox.methods.compose import content_of
from bot.sandbox.methods.files import media_object, new_file
from bot.sandbox.state import JSON, ChatState
from bot.sandbox.world import ANONYMOUS_ADMIN, CHANNEL_BOT, TELEGRAM_USER, World

__all__ = ["Posting"]


class Posting(World):
    """Messages, buttons and reactions from members (each queues the update the bot would get)."""

    def send_message(
        self,
        chat_id: int,
        user_id: int,
        text: str = "",
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        sender_chat_id: int | None = None,
        is_automatic_forward: bool = False,
        photo: bool = False,
        document: str | None = None,
        caption: str | None = None,
        entities: Sequence[Mapping[str, Any]] | None = None,
        forward_from_user_id: int | None = None,
    ) -> JSON:
        """The user writes in a chat (in private: ``send_message(user_id, user_id, "/start")``).

        Entities for commands (``/cmd``, ``/cmd@bot``), mentions, hashtags and URLs are computed unless given.
        ``reply_to`` is a message id in the same chat: ``reply_to_message`` carries the full message. In a
        forum, ``thread_id`` picks the topic (a reply inherits its target's topic). ``sender_chat_id`` = the
        group id: an anonymous admin; = a channel id: a post on behalf of that channel. ``photo`` or
        ``document`` (a file name) sends media with ``caption``. Returns the stored message; the bot gets it
        only if it would in Telegram (membership, privacy mode)."""
        user = self._require_user(user_id)
        if chat_id == user_id:
            chat = self.private_chat(user_id)
            self.started_by.add(user_id)
            if user_id in self.blocked_by:
                self.unblock_bot(user_id)
        else:
            chat = self.chat(chat_id)
            if chat.type == "channel":
                raise ValueError("use channel_post() for channels")
            if chat.migrated_to is not None:
                raise ValueError(f"chat {chat_id} migrated to {chat.migrated_to}")
            if sender_chat_id is None and not is_automatic_forward and not chat.member(user_id).present:
                raise ValueError(f"user {user_id} is not a member of chat {chat_id}; use join() or add_member()")
            member = chat.member(user_id)
            muted = member.status == "restricted" and not member.rights.get("can_send_messages", False)
            if sender_chat_id is None and muted and (member.until_date == 0 or member.until_date > self.unix_now()):
                raise ValueError(f"user {user_id} is muted in chat {chat_id}")
            if sender_chat_id is not None and sender_chat_id in chat.banned_sender_chats:
                raise ValueError(f"chat {sender_chat_id} is banned from posting in {chat_id}")
        reply_msg: JSON | None = None
        if reply_to is not None:
            reply_msg = self._stored(chat, reply_to)
        if chat.is_forum:
            try:
                thread_id = chat.topic_of(thread_id, reply_msg)
            except KeyError:
                raise ValueError(f"no topic {thread_id} in chat {chat_id}") from None
        elif thread_id is not None and chat.type != "supergroup":
            raise ValueError("thread_id needs a forum or a supergroup")

        body: JSON = {}
        if photo or document is not None:
            caption = caption if caption is not None else (text or None)
            kind = "photo" if photo else "document"
            info = new_file(self, kind, name=document, mime=None)
            body[kind] = media_object(kind, info)
            if caption:
                self._put_text(body, "caption", caption, entities)
        else:
            if not text:
                raise ValueError("text is empty")
            self._put_text(body, "text", text, entities)

        from_user: JSON = dict(user)
        sender_chat: JSON | None = None
        if is_automatic_forward:
            channel = self.chat(sender_chat_id) if sender_chat_id is not None else None
            if channel is None:
                raise ValueError("is_automatic_forward needs sender_chat_id = the channel")
            from_user, sender_chat = dict(TELEGRAM_USER), channel.render()
            body["is_automatic_forward"] = True
            body["forward_origin"] = {
                "type": "channel",
                "date": self.unix_now(),
                "chat": channel.render(),
                "message_id": 1,
            }
        elif sender_chat_id is not None:
            if sender_chat_id == chat_id:
                from_user, sender_chat = dict(ANONYMOUS_ADMIN), chat.render()
            else:
                from_user, sender_chat = dict(CHANNEL_BOT), self.chat(sender_chat_id).render()
        if forward_from_user_id is not None:
            body["forward_origin"] = {
                "type": "user",
                "date": self.unix_now(),
                "sender_user": self._render_user(forward_from_user_id),
            }
        msg = self.new_message(
            chat, body, from_user=from_user, sender_chat=sender_chat, thread_id=thread_id, reply_to=reply_msg
        )
        self._deliver(chat, msg)
        return copy.deepcopy(msg)

    def reply(self, chat_id: int, user_id: int, reply_to: int, text: str, **kwargs: Any) -> JSON:
        """Shorthand for ``send_message(chat_id, user_id, text, reply_to=reply_to)``."""
        return self.send_message(chat_id, user_id, text, reply_to=reply_to, **kwargs)

    def edit_message(self, chat_id: int, message_id: int, text: str) -> JSON:
        """The author edits a message (text, or caption for media). Queues ``edited_message`` /
        ``edited_channel_post``."""
        chat = self.chat(chat_id)
        msg = self._stored(chat, message_id)
        if msg.get("from", {}).get("id") == self.bot_id:
            raise ValueError("use the Bot API to edit the bot's own messages")
        key, ents_key = ("text", "entities") if "text" in msg else ("caption", "caption_entities")
        msg[key] = text
        ents = detect_entities(text)
        if ents:
            msg[ents_key] = ents
        else:
            msg.pop(ents_key, None)
        msg["edit_date"] = self.unix_now()
        self._deliver(chat, msg, edited=True)
        return copy.deepcopy(msg)

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """A member deletes a message (bots get no update for this)."""
        chat = self.chat(chat_id)
        if message_id in chat.messages:
            chat.deleted[message_id] = chat.messages.pop(message_id)

    def channel_post(
        self,
        chat_id: int,
        text: str = "",
        *,
        photo: bool = False,
        caption: str | None = None,
        author_signature: str | None = None,
    ) -> JSON:
        """A post in a channel. Queues ``channel_post`` if the bot is in the channel and, when the channel has
        a discussion group (:meth:`link_discussion`), the automatic forward there."""
        chat = self.chat(chat_id)
        if chat.type != "channel":
            raise ValueError(f"chat {chat_id} is not a channel")
        body: JSON = {}
        if photo:
            body["photo"] = media_object("photo", new_file(self, "photo", name=None))
            if caption:
                body["caption"] = caption
        else:
            if not text:
                raise ValueError("text is empty")
            self._put_text(body, "text", text)
        if author_signature:
            body["author_signature"] = author_signature
        msg = self.new_message(chat, body, from_user=None, sender_chat=chat.render())
        self._deliver(chat, msg)
        if chat.linked_chat_id is not None and chat.linked_chat_id in self.chats:
            group = self.chats[chat.linked_chat_id]
            fwd = content_of(msg)
            fwd["is_automatic_forward"] = True
            fwd["forward_origin"] = {
                "type": "channel",
                "date": msg["date"],
                "chat": chat.render(),
                "message_id": msg["message_id"],
            }
            auto = self.new_message(group, fwd, from_user=dict(TELEGRAM_USER), sender_chat=chat.render())
            self._deliver(group, auto)
        return copy.deepcopy(msg)

    def press_button(self, chat_id: int, user_id: int, message_id: int, callback_data: str) -> str:
        """The user presses an inline button. Queues ``callback_query`` carrying the message; returns the
        query id (answer it with answerCallbackQuery; see :meth:`callback_answer`)."""
        chat = self.chat(chat_id) if chat_id != user_id else self.private_chat(user_id)
        user = self._require_user(user_id)
        msg = self._stored(chat, message_id)
        rows = (msg.get("reply_markup") or {}).get("inline_keyboard")
        if rows is not None:
            datas = [b.get("callback_data") for row in rows for b in row]
            if callback_data not in datas:
                raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}: {datas}")
        qid = str(secrets.randbits(63))
        query: JSON = {
            "id": qid,
            "from": dict(user),
            "message": copy.deepcopy(msg),
            "chat_instance": str(abs(hash(("chat_instance", chat.id))) % 10**18),
            "data": callback_data,
        }
        self.callback_queries[qid] = {"query": query, "answered": False, "answer": None}
        self._enqueue("callback_query", query)
        return qid

    def callback_answer(self, query_id: str) -> JSON | None:
        """What the bot answered to a callback query (``text``, ``show_alert``…), or None if unanswered."""
        entry = self.callback_queries[query_id]
        return dict(entry["answer"]) if entry["answered"] else None

    def react(self, chat_id: int, message_id: int, counts: Mapping[str, int]) -> JSON | None:
        """Anonymous reaction counts changed (``{"👍": 3}``). Queues ``message_reaction_count`` (sent only to
        admin bots that ask for it)."""
        chat = self.chat(chat_id)
        self._stored(chat, message_id)
        payload: JSON = {
            "chat": chat.render(),
            "message_id": message_id,
            "date": self.unix_now(),
            "reactions": [
                {"type": {"type": "emoji", "emoji": emoji}, "total_count": count} for emoji, count in counts.items()
            ],
        }
        return self._to_admin_bot(chat, "message_reaction_count", payload)

    def react_as(
        self, chat_id: int, message_id: int, user_id: int, new: Sequence[str], old: Sequence[str] = ()
    ) -> JSON | None:
        """A user changes their reaction. Queues ``message_reaction`` (admin bots that ask for it only)."""
        chat = self.chat(chat_id)
        self._stored(chat, message_id)
        payload: JSON = {
            "chat": chat.render(),
            "message_id": message_id,
            "user": self._render_user(user_id),
            "date": self.unix_now(),
            "old_reaction": [{"type": "emoji", "emoji": e} for e in old],
            "new_reaction": [{"type": "emoji", "emoji": e} for e in new],
        }
        return self._to_admin_bot(chat, "message_reaction", payload)

    @staticmethod
    def _put_text(body: JSON, key: str, text: str, entities: Sequence[Mapping[str, Any]] | None = None) -> None:
        """``body[key] = text`` (key "text" or "caption") with its entities: those given, else detected."""
        body[key] = text
        found = [dict(e) for e in entities] if entities is not None else detect_entities(text)
        if found:
            body["entities" if key == "text" else "caption_entities"] = found

    def _stored(self, chat: ChatState, message_id: int) -> JSON:
        msg = chat.messages.get(message_id)
        if msg is None:
            raise ValueError(f"no message {message_id} in chat {chat.id}")
        return msg

    def _to_admin_bot(self, chat: ChatState, kind: str, payload: JSON) -> JSON | None:
        """Reaction updates reach the bot only where it is an admin (and asked for them)."""
        return self._enqueue(kind, payload) if chat.member(self.bot_id).is_admin else None

    def messages(self, chat_id: int, thread_id: int | None = None) -> list[JSON]:
        """Every stored (not deleted) message of a chat, in id order."""
        chat = self.chat(chat_id)
        return [
            copy.deepcopy(m)
            for _, m in sorted(chat.messages.items())
            if thread_id is None or m.get("message_thread_id") == thread_id
        ]
