"""The outbox's public API: one method per kind of thing the bot says or changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Unpack

from aiogram.methods import (
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    PinChatMessage,
    SendDocument,
    SendPhoto,
    UnpinChatMessage,
)
from aiogram.types import FSInputFile, InlineKeyboardMarkup, LinkPreviewOptions

from bot.domain import Delivery, ErrorKind, Keyboard, Priority
from bot.services.ports import MediaOptions, TextOptions
from bot.telegram.outbox.calls import Look, keyboard_markup, reply_parameters, text_len, text_steps
from bot.telegram.outbox.policy import DeliveryPolicy
from bot.telegram.split import CAPTION_LIMIT, TEXT_LIMIT, split_text

__all__ = ["Outbox"]


class Outbox(DeliveryPolicy):
    """Rate-limited, prioritised, retrying sender. See the package docstring."""

    async def send_message(self, chat_id: int, text: str, **options: Unpack[TextOptions]) -> Delivery:
        """Send a text, split into several messages when it is too long. The options and their defaults:
        :meth:`_send`."""
        return await self._send(chat_id, None, text=text, **options)

    async def send_photo(self, chat_id: int, photo: str | Path, **options: Unpack[MediaOptions]) -> Delivery:
        """Send a photo (file_id, URL or local path). A caption over 1024 units continues
        in text messages after the photo; the keyboard goes on the last message."""
        return await self._send(chat_id, (SendPhoto, "photo", photo), **options)

    async def send_document(self, chat_id: int, document: str | Path, **options: Unpack[MediaOptions]) -> Delivery:
        """Send a document (file_id, URL or local path); captions as for :meth:`send_photo`."""
        return await self._send(chat_id, (SendDocument, "document", document), **options)

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = "HTML",
        disable_preview: bool = True,
        priority: Priority = Priority.REPLY,
    ) -> Delivery:
        """Edit a message's text (and keyboard). "Not modified" counts as ok. An edit
        cannot be split: a text over 4096 units fails with ``too_long``."""
        markup, refused = self._markup(chat_id, keyboard)
        if refused is not None:
            return refused
        if not text.strip():
            return self._refuse(chat_id, ErrorKind.INVALID, "the message is empty")
        length = text_len(text, parse_mode)
        if length > TEXT_LIMIT:
            return self._refuse(
                chat_id,
                ErrorKind.TOO_LONG,
                f"the new text is too long for one message ({length} of {TEXT_LIMIT} characters)",
            )
        method = EditMessageText(
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=parse_mode,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=disable_preview),
        )
        return await self._submit(chat_id, [method], priority, preset_ids=[message_id])

    async def edit_keyboard(
        self,
        chat_id: int,
        message_id: int,
        keyboard: Keyboard | None,
        *,
        priority: Priority = Priority.REPLY,
    ) -> Delivery:
        """Replace (or with ``None`` remove) a message's inline keyboard."""
        markup, refused = self._markup(chat_id, keyboard)
        if refused is not None:
            return refused
        method = EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=markup)
        return await self._submit(chat_id, [method], priority, preset_ids=[message_id])

    async def delete(self, chat_id: int, message_id: int, *, priority: Priority = Priority.NORMAL) -> Delivery:
        return await self._submit(
            chat_id,
            [DeleteMessage(chat_id=chat_id, message_id=message_id)],
            priority,
            preset_ids=[message_id],
        )

    async def pin(
        self, chat_id: int, message_id: int, *, silent: bool = True, priority: Priority = Priority.NORMAL
    ) -> Delivery:
        method = PinChatMessage(chat_id=chat_id, message_id=message_id, disable_notification=silent)
        return await self._submit(chat_id, [method], priority, preset_ids=[message_id])

    async def unpin(
        self, chat_id: int, message_id: int | None = None, *, priority: Priority = Priority.NORMAL
    ) -> Delivery:
        """Unpin ``message_id``, or the most recent pinned message when it is ``None``."""
        method = UnpinChatMessage(chat_id=chat_id, message_id=message_id)
        return await self._submit(
            chat_id, [method], priority, preset_ids=[message_id] if message_id is not None else []
        )

    def _markup(self, chat_id: int, keyboard: Keyboard | None) -> tuple[InlineKeyboardMarkup | None, Delivery | None]:
        """The keyboard as Telegram wants it, or the refusal of a malformed one."""
        try:
            return keyboard_markup(keyboard), None
        except ValueError as e:
            return None, self._refuse(chat_id, ErrorKind.INVALID, f"the keyboard is invalid: {e}")

    async def _send(
        self,
        chat_id: int,
        media: tuple[type[SendPhoto] | type[SendDocument], str, str | Path] | None,
        *,
        text: str = "",
        caption: str | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = "HTML",
        silent: bool = False,
        protect: bool = False,
        disable_preview: bool = True,
        priority: Priority = Priority.NORMAL,
    ) -> Delivery:
        """Send ``text`` (``media`` None), or ``media`` = (method, its file field, the file) with ``caption``."""
        markup, refused = self._markup(chat_id, keyboard)
        if refused is not None:
            return refused
        look = Look(thread_id, parse_mode, silent, protect)
        if media is None:
            parts = split_text(text, parse_mode, TEXT_LIMIT)
            if not parts:
                return self._refuse(chat_id, ErrorKind.INVALID, "the message is empty")
            steps = text_steps(chat_id, parts, look, reply_to=reply_to, markup=markup, disable_preview=disable_preview)
        else:
            method_type, field_name, source = media
            payload: Any = FSInputFile(source) if isinstance(source, Path) else source
            parts = split_text(caption, parse_mode, CAPTION_LIMIT) if caption else []
            rest = parts[1:]
            first = method_type(
                chat_id=chat_id,
                caption=parts[0] if parts else None,
                **look.fields(),
                reply_parameters=reply_parameters(reply_to),
                reply_markup=None if rest else markup,
                **{field_name: payload},
            )
            steps = [first, *text_steps(chat_id, rest, look, reply_to=None, markup=markup, disable_preview=True)]
        if len(steps) > 1:
            self.metrics.split += 1
        return await self._submit(chat_id, steps, priority)
