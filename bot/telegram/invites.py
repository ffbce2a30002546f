"""createChatInviteLink through the outbox, for invite campaigns."""

from __future__ import annotations

from aiogram.methods import CreateChatInviteLink

from bot.domain import ErrorKind
from bot.services.growth import InviteLinkError, InviteLinkMaker
from bot.telegram.outbox import Outbox, OutboxError, Priority


def invite_link_maker(outbox: Outbox) -> InviteLinkMaker:
    async def make(chat_id: int, name: str) -> str:
        try:
            link = await outbox.call(
                chat_id, CreateChatInviteLink(chat_id=chat_id, name=name[:32]), priority=Priority.REPLY
            )
        except OutboxError as exc:
            if exc.delivery.error_kind in {ErrorKind.NO_RIGHTS, ErrorKind.FORBIDDEN}:
                raise InviteLinkError(exc.delivery.error or "no rights", no_rights=True) from exc
            raise InviteLinkError(exc.delivery.error or "the call failed") from exc
        return str(link.invite_link)

    return make
