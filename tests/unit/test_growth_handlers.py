"""handle_chat_member: which status changes are joins and leaves, and how they are attributed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import ChatMemberUpdated

from bot.domain import Author, ChatInfo
from bot.sandbox.state import ADMIN_RIGHTS, RESTRICTED_PERMISSIONS
from handlers.growth import handle_chat_member

GROUP = -1001000000950
USER = {"id": 42, "is_bot": False, "first_name": "Zoe"}
ADMIN = {"id": 7, "is_bot": False, "first_name": "Ada"}
RESTRICTED = dict.fromkeys(RESTRICTED_PERMISSIONS, True)


class RecordingGrowth:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def on_join(self, chat: ChatInfo, user: Author, at: int, **kwargs: Any) -> bool:
        self.calls.append(("join", {"chat": chat.chat_id, "user": user.user_id, "at": at, **kwargs}))
        return True

    async def on_leave(self, chat: ChatInfo, user: Author, at: int, **kwargs: Any) -> bool:
        self.calls.append(("leave", {"chat": chat.chat_id, "user": user.user_id, **kwargs}))
        return True


def member(status: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "user": USER}
    if status == "restricted":
        body.update(RESTRICTED, until_date=0, is_member=extra.pop("is_member", True))
    if status == "kicked":
        body["until_date"] = 0
    body.update(extra)
    return body


def update(old: dict[str, Any], new: dict[str, Any], *, by: dict[str, Any] = USER, **extra: Any) -> ChatMemberUpdated:
    return ChatMemberUpdated.model_validate(
        {
            "chat": {"id": GROUP, "type": "supergroup", "title": "Club"},
            "from": by,
            "date": int(datetime(2026, 11, 20, tzinfo=UTC).timestamp()),
            "old_chat_member": old,
            "new_chat_member": new,
            **extra,
        }
    )


LINK = {
    "invite_link": "https://t.me/+abc",
    "creator": ADMIN,
    "creates_join_request": False,
    "is_primary": False,
    "is_revoked": False,
    "name": "spring",
}


@pytest.mark.parametrize(
    ("old", "new", "extra", "by", "expected"),
    [
        (member("left"), member("member"), {"invite_link": LINK}, USER, ("join", "link", "https://t.me/+abc")),
        (member("left"), member("member"), {}, ADMIN, ("join", "added", None)),
        (member("left"), member("member"), {}, USER, ("join", "self", None)),
        (
            member("left"),
            member("member"),
            {"invite_link": LINK, "via_join_request": True},
            ADMIN,
            ("join", "join_request", "https://t.me/+abc"),
        ),
        (member("kicked"), member("restricted", is_member=True), {}, ADMIN, ("join", "added", None)),
        (member("restricted", is_member=False), member("member"), {}, USER, ("join", "self", None)),
    ],
)
async def test_joins(
    old: dict[str, Any],
    new: dict[str, Any],
    extra: dict[str, Any],
    by: dict[str, Any],
    expected: tuple[str, str, str | None],
) -> None:
    growth = RecordingGrowth()
    await handle_chat_member(update(old, new, by=by, **extra), growth)  # type: ignore[arg-type]
    assert len(growth.calls) == 1
    kind, call = growth.calls[0]
    assert (kind, call["via"], call["invite_link"]) == expected
    assert call["source"] == "chat_member" and call["user"] == 42 and call["chat"] == GROUP


@pytest.mark.parametrize(
    ("old", "new", "status"),
    [
        (member("member"), member("left"), "left"),
        (member("member"), member("kicked"), "kicked"),
        (member("restricted", is_member=True), member("restricted", is_member=False), "left"),
    ],
)
async def test_leaves(old: dict[str, Any], new: dict[str, Any], status: str) -> None:
    growth = RecordingGrowth()
    await handle_chat_member(update(old, new, by=ADMIN), growth)  # type: ignore[arg-type]
    assert growth.calls == [("leave", {"chat": GROUP, "user": 42, "source": "chat_member", "status": status})]


async def test_changes_within_the_group_are_neither() -> None:
    growth = RecordingGrowth()
    promoted = {"status": "administrator", "user": USER, "can_be_edited": True, "is_anonymous": False}
    promoted.update(dict.fromkeys(ADMIN_RIGHTS, True))
    await handle_chat_member(update(member("member"), promoted, by=ADMIN), growth)  # type: ignore[arg-type]
    await handle_chat_member(update(member("member"), member("restricted", is_member=True)), growth)  # type: ignore[arg-type]
    await handle_chat_member(update(member("left"), member("kicked"), by=ADMIN), growth)  # type: ignore[arg-type]
    assert growth.calls == []
