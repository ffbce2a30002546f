"""The command line's Telegram side: none. Every call that would reach Telegram refuses, naming itself.

The command line builds the same services as the bot (:func:`bot.composition.build_services`); it only
reads and writes the database. Should one of its commands ever reach for Telegram (a bug), the call raises
:class:`OfflineError` with a clear sentence instead of sending anything; ``steward`` prints it as the
command's failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from bot.composition import TelegramPorts
from bot.domain import Delivery
from bot.services.moderation_types import BotRights, Result
from bot.services.ports import PostedLike
from bot.storage.members import ManagerRepository


class OfflineError(RuntimeError):
    """A command-line command reached for Telegram."""


class _Refuses:
    def __init__(self, command: str) -> None:
        self.command = command

    def _refuse(self, what: str) -> NoReturn:
        raise OfflineError(f"steward {self.command} works without Telegram, so it cannot {what}")


class OfflineSender(_Refuses):
    """The :class:`bot.services.ports.Sender` of the command line."""

    async def send_message(self, *args: Any, **kwargs: Any) -> Delivery:
        self._refuse("send a message")

    async def send_photo(self, *args: Any, **kwargs: Any) -> Delivery:
        self._refuse("send a photo")

    async def send_document(self, *args: Any, **kwargs: Any) -> Delivery:
        self._refuse("send a document")

    async def edit_text(self, *args: Any, **kwargs: Any) -> Delivery:
        self._refuse("edit a message")

    async def edit_keyboard(self, *args: Any, **kwargs: Any) -> Delivery:
        self._refuse("edit a message's buttons")

    async def delete(self, *args: Any, **kwargs: Any) -> Delivery:
        self._refuse("delete a message")

    async def pin(self, *args: Any, **kwargs: Any) -> Delivery:
        self._refuse("pin a message")

    async def unpin(self, *args: Any, **kwargs: Any) -> Delivery:
        self._refuse("unpin a message")


class OfflineDesk(_Refuses):
    """The :class:`bot.services.ports.Desk` of the command line: it cannot reach the managers."""

    def __init__(self, command: str, chat_id: int | None) -> None:
        super().__init__(command)
        self.chat_id = chat_id

    async def destinations(self) -> list[int]:
        self._refuse("reach the managers")

    async def open_topic(self, name: str) -> int | None:
        self._refuse("open a topic in the managers' chat")

    async def post(self, *args: Any, **kwargs: Any) -> Sequence[PostedLike]:
        self._refuse("notify the managers")


class OfflineModeration(_Refuses):
    """The :class:`bot.services.moderation_types.ModerationApi` of the command line."""

    async def bot_rights(self, chat_id: int) -> BotRights:
        self._refuse("read the bot's rights in a group")

    async def delete_messages(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("delete messages")

    async def mute(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("mute a member")

    async def unmute(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("unmute a member")

    async def ban(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("ban a member")

    async def unban(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("unban a member")

    async def ban_sender_chat(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("ban a channel")

    async def unban_sender_chat(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("unban a channel")

    async def hold_media(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("restrict a member")

    async def approve_join(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("approve a join request")

    async def decline_join(self, *args: Any, **kwargs: Any) -> Result:
        self._refuse("decline a join request")


def offline_ports(command: str, *, managers_chat_id: int | None) -> TelegramPorts:
    """The Telegram side of ``steward COMMAND``: every call refuses with :class:`OfflineError`."""
    refuses = _Refuses(command)

    async def fetch_admins(chat_id: int) -> set[int]:
        refuses._refuse("ask Telegram for a group's administrators")

    async def describe_chat(chat_id: int) -> str | None:
        refuses._refuse("ask Telegram for a group's description")

    def make_desk(managers: ManagerRepository) -> OfflineDesk:
        return OfflineDesk(command, managers_chat_id)

    return TelegramPorts(
        bot_id=None,
        sender=OfflineSender(command),
        make_desk=make_desk,
        moderation_api=OfflineModeration(command),
        fetch_admins=fetch_admins,
        describe_chat=describe_chat,
        make_invite_link=None,
    )
