"""What services need from the Telegram side, in plain types (services never import aiogram).

``Sender`` is the public API of :class:`bot.telegram.outbox.Outbox`; ``Desk`` that of
:class:`bot.telegram.managers.ManagerDesk`. One definition here keeps every service honest about
the same contract; test fakes implement only the methods a test reaches.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypedDict, Unpack

from bot.domain import Delivery, Keyboard, Priority


class SendOptions(TypedDict, total=False):
    """What every send takes besides the chat and the content (defaults: :meth:`Outbox.send_message`)."""

    thread_id: int | None  # the forum topic
    reply_to: int | None  # a message id in the same chat
    keyboard: Keyboard | None
    parse_mode: str | None  # "HTML" unless told
    silent: bool
    protect: bool
    priority: Priority  # NORMAL unless told


class TextOptions(SendOptions, total=False):
    disable_preview: bool  # True unless told


class MediaOptions(SendOptions, total=False):
    caption: str | None


class EditOptions(TypedDict, total=False):
    keyboard: Keyboard | None
    parse_mode: str | None
    disable_preview: bool
    priority: Priority  # REPLY unless told


class Sender(Protocol):
    async def send_message(self, chat_id: int, text: str, **options: Unpack[TextOptions]) -> Delivery: ...

    async def send_photo(self, chat_id: int, photo: str | Path, **options: Unpack[MediaOptions]) -> Delivery: ...

    async def send_document(self, chat_id: int, document: str | Path, **options: Unpack[MediaOptions]) -> Delivery: ...

    async def edit_text(self, chat_id: int, message_id: int, text: str, **options: Unpack[EditOptions]) -> Delivery: ...

    async def edit_keyboard(
        self, chat_id: int, message_id: int, keyboard: Keyboard | None, *, priority: Priority = Priority.REPLY
    ) -> Delivery: ...

    async def delete(self, chat_id: int, message_id: int, *, priority: Priority = Priority.NORMAL) -> Delivery: ...

    async def pin(
        self, chat_id: int, message_id: int, *, silent: bool = True, priority: Priority = Priority.NORMAL
    ) -> Delivery: ...

    async def unpin(
        self, chat_id: int, message_id: int | None = None, *, priority: Priority = Priority.NORMAL
    ) -> Delivery: ...


class PostedLike(Protocol):
    """One copy of a managers' notification (bot.telegram.managers.Posted)."""

    @property
    def chat_id(self) -> int: ...
    @property
    def message_id(self) -> int: ...
    @property
    def thread_id(self) -> int | None: ...


class PostOptions(TypedDict, total=False):
    keyboard: Keyboard | None
    thread_id: int | None  # a topic of the managers' forum
    priority: Priority  # NORMAL unless told


class Desk(Protocol):
    chat_id: int | None

    async def destinations(self) -> list[int]: ...

    async def open_topic(self, name: str) -> int | None: ...

    async def post(self, text: str, **options: Unpack[PostOptions]) -> Sequence[PostedLike]: ...
