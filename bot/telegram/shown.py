"""What each message the bot sent currently shows, so an edit that changes nothing is not sent.

Telegram refuses an edit whose text and keyboard equal the message's current ones (400 "message
is not modified"). A card re-rendered after a press often comes out the same; sending it costs a
request from the chat's 20-a-minute budget and an error in the log. The outbox remembers the text,
parse mode and keyboard of every message it sent or edited (a bounded, least-recently-used map),
and skips an edit that would leave them unchanged. The check runs when the edit is about to be
sent, after every earlier call of that chat, so a queued edit in between is accounted for.
After a restart nothing is remembered, and the first edit of each message is sent as before.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from aiogram.methods import DeleteMessage, EditMessageReplyMarkup, EditMessageText, SendMessage, TelegramMethod
from aiogram.types import Message

__all__ = ["ShownContent"]

_Key = tuple[int, int]


def _mode(method: Any) -> str | None:
    mode = getattr(method, "parse_mode", None)
    return mode if mode is None or isinstance(mode, str) else repr(mode)  # aiogram's Default(...) sentinel


def _markup(method: Any) -> str | None:
    markup = getattr(method, "reply_markup", None)
    return None if markup is None else str(markup.model_dump_json(exclude_none=True))


class ShownContent:
    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._shown: OrderedDict[_Key, tuple[str | None, str | None, str | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._shown)

    def _put(self, key: _Key, value: tuple[str | None, str | None, str | None]) -> None:
        self._shown[key] = value
        self._shown.move_to_end(key)
        while len(self._shown) > self.capacity:
            self._shown.popitem(last=False)

    def unchanged(self, method: TelegramMethod[Any]) -> bool:
        """True when ``method`` is an edit that would leave the message exactly as it is."""
        if isinstance(method, EditMessageText) and isinstance(method.chat_id, int) and method.message_id:
            known = self._shown.get((method.chat_id, method.message_id))
            return known == (method.text, _mode(method), _markup(method))
        if isinstance(method, EditMessageReplyMarkup) and isinstance(method.chat_id, int) and method.message_id:
            known = self._shown.get((method.chat_id, method.message_id))
            return known is not None and known[2] == _markup(method)
        return False

    def record(self, method: TelegramMethod[Any], result: Any) -> None:
        """Note what a successful call left on screen."""
        if isinstance(method, SendMessage) and isinstance(result, Message):
            self._put((result.chat.id, result.message_id), (method.text, _mode(method), _markup(method)))
        elif isinstance(method, EditMessageText) and isinstance(method.chat_id, int) and method.message_id:
            # An edit without reply_markup removes the inline keyboard.
            self._put((method.chat_id, method.message_id), (method.text, _mode(method), _markup(method)))
        elif isinstance(method, EditMessageReplyMarkup) and isinstance(method.chat_id, int) and method.message_id:
            key = (method.chat_id, method.message_id)
            known = self._shown.get(key)
            if known is not None:
                self._put(key, (known[0], known[1], _markup(method)))
        elif isinstance(method, DeleteMessage) and isinstance(method.chat_id, int):
            self._shown.pop((method.chat_id, method.message_id), None)

    def forget_chat(self, chat_id: int) -> None:
        for key in [key for key in self._shown if key[0] == chat_id]:
            del self._shown[key]
