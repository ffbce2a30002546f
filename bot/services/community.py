"""The path of one group message: register the chat, classify, record once, notify listeners."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from bot.domain import ChatInfo, Community, IncomingMessage, MessageContext, Sentiment
from bot.services.ledger import mark_stored
from bot.storage.communities import CommunityRepository
from bot.storage.members import MemberRepository
from bot.storage.messages import MessageRepository
from bot.timeutil import to_epoch

log = logging.getLogger(__name__)

# Longer messages are checked for a question on a worker thread (see CommunityService._detect_question).
QUESTION_INLINE_CHARS = 512


class SentimentSource(Protocol):
    async def classify(self, text: str) -> Sentiment: ...


# A listener that removed the message (the spam policy deleted it) returns this: later listeners skip it,
# so nobody answers or escalates a message that is gone.
REMOVED: Literal["removed"] = "removed"


class MessageListener(Protocol):
    async def on_message(self, ctx: MessageContext) -> Literal["removed"] | None: ...


class CommunityCache:
    """The community rows this process has read, one per chat.

    Shared by every service that changes a community's settings: each drops the row it changed.
    """

    def __init__(self) -> None:
        self._known: dict[int, Community] = {}

    def get(self, chat_id: int) -> Community | None:
        return self._known.get(chat_id)

    def put(self, community: Community) -> None:
        self._known[community.chat_id] = community

    def invalidate(self, chat_id: int) -> None:
        self._known.pop(chat_id, None)


class CommunityService:
    def __init__(
        self,
        communities: CommunityRepository,
        messages: MessageRepository,
        members: MemberRepository,
        sentiment: SentimentSource | None,
        *,
        default_language: str,
        default_timezone: str,
        question_detector: Callable[[str], bool] | None = None,
        cache: CommunityCache | None = None,
        listeners: Sequence[MessageListener] = (),
    ) -> None:
        self.communities = communities
        self.messages = messages
        self.members = members
        self.sentiment = sentiment
        self.default_language = default_language
        self.default_timezone = default_timezone
        self.question_detector = question_detector
        # Each recorded group message goes to these, in this order (see REMOVED).
        self.listeners: list[MessageListener] = list(listeners)
        self.cache = cache if cache is not None else CommunityCache()
        # Members seen by this process: their row is written once, not on every message.
        self._seen_members: OrderedDict[tuple[int, int], None] = OrderedDict()

    async def register(self, chat: ChatInfo, *, bot_status: str = "member", added_by: int | None = None) -> Community:
        community = await self.communities.upsert(
            chat_id=chat.chat_id,
            title=chat.title,
            type=chat.type,
            is_forum=chat.is_forum,
            username=chat.username,
            timezone=self.default_timezone,
            language=self.default_language,
            bot_status=bot_status,
            added_by=added_by,
        )
        self.cache.put(community)
        return community

    async def community_for(self, chat: ChatInfo) -> Community:
        """The community row, registering a chat we first meet through a message."""
        known = self.cache.get(chat.chat_id)
        if known is not None and known.is_forum == chat.is_forum and known.title == chat.title:
            return known
        existing = await self.communities.get(chat.chat_id)
        if (
            existing is not None
            and existing.is_active
            and existing.is_forum == chat.is_forum
            and existing.title == chat.title
        ):
            self.cache.put(existing)
            return existing
        log.info("registering community %s (%s) from a message", chat.chat_id, chat.title)
        return await self.register(chat)

    async def known(self, chat_id: int) -> Community | None:
        """The community with this chat id, if the bot knows it (from the cache when it is there)."""
        return self.cached(chat_id) or await self.communities.get(chat_id)

    def cached(self, chat_id: int) -> Community | None:
        return self.cache.get(chat_id)

    def invalidate(self, chat_id: int) -> None:
        self.cache.invalidate(chat_id)

    async def deactivate(self, chat_id: int, *, bot_status: str) -> None:
        await self.communities.set_active(chat_id, False, bot_status=bot_status)
        self.invalidate(chat_id)

    async def migrate(self, old_chat_id: int, new_chat: ChatInfo) -> Community:
        """A group became a supergroup: continue under the new id, keep the settings."""
        old = await self.communities.get(old_chat_id)
        community = await self.register(new_chat)
        if old is not None:
            if old.settings:
                await self.communities.update_settings(new_chat.chat_id, dict(old.settings))
            await self.communities.set_language(new_chat.chat_id, old.language)
            await self.communities.set_timezone(new_chat.chat_id, old.timezone)
            await self.communities.mark_migrated(old_chat_id, new_chat.chat_id)
            await self.messages.db.move_chat(old_chat_id, new_chat.chat_id)
        self.invalidate(old_chat_id)
        self.invalidate(new_chat.chat_id)
        return await self.communities.get(new_chat.chat_id) or community

    async def on_message(self, chat: ChatInfo, msg: IncomingMessage) -> MessageContext:
        community = await self.community_for(chat)
        sentiment = await self._classify(msg.text)
        is_question = await self._detect_question(msg.text)
        thread_key, first_time = await self.messages.record(msg, sentiment, is_question=is_question)
        mark_stored()
        await self._note_member(msg)
        ctx = MessageContext(msg, community, sentiment, thread_key, is_question)
        if first_time and not msg.is_edit:
            for listener in self.listeners:
                try:
                    if await listener.on_message(ctx) == REMOVED:
                        break
                except Exception:
                    # One feature failing must not stop the others or lose the message.
                    log.exception("%s failed on message %s/%s", type(listener).__name__, msg.chat_id, msg.message_id)
        return ctx

    async def _classify(self, text: str) -> Sentiment:
        if self.sentiment is None or not text.strip():
            return Sentiment.unclassified()
        return await self.sentiment.classify(text)

    async def _detect_question(self, text: str) -> bool:
        # The detector is linear in the text (bot.textsafety), but a long message is still real CPU work:
        # it runs on a worker thread so that the event loop keeps serving every other chat meanwhile.
        if len(text) > QUESTION_INLINE_CHARS:
            return await asyncio.to_thread(self._is_question, text)
        return self._is_question(text)

    def _is_question(self, text: str) -> bool:
        if self.question_detector is None:
            return text.rstrip().endswith("?")
        try:
            return self.question_detector(text)
        except Exception:
            log.exception("question detection failed")
            return False

    async def _note_member(self, msg: IncomingMessage) -> None:
        key = (msg.chat_id, msg.author.user_id)
        if key in self._seen_members:
            self._seen_members.move_to_end(key)
            return
        await self.members.seen(msg.chat_id, msg.author, to_epoch(msg.date))
        self._seen_members[key] = None
        if len(self._seen_members) > 50_000:
            self._seen_members.popitem(last=False)
