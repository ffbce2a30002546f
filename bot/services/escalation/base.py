"""What the parts of the escalation service share: the answer types and the ports they are given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.domain import Community, Keyboard
from bot.domain.buttons import CaseAct
from bot.domain.cases import Case

EpochClock = Callable[[], int]
DescribeChat = Callable[[int], Awaitable[str | None]]

# Button actions (kept short: they travel in callback data).
TAKE, REPLY, RESOLVE, DISMISS, SNOOZE = CaseAct.TAKE, CaseAct.REPLY, CaseAct.RESOLVE, CaseAct.DISMISS, CaseAct.SNOOZE
ACTIONS = tuple(CaseAct)


class Roles(Protocol):
    manager_ids: frozenset[int]

    def is_manager(self, user_id: int) -> bool: ...
    async def chat_admins(self, chat_id: int) -> set[int]: ...


class SettingsCache(Protocol):
    def invalidate(self, chat_id: int) -> None: ...


class CardExtension(Protocol):
    """Another feature's part of a case card (moderation): extra lines and button rows."""

    async def extend_card(self, case: Case) -> tuple[list[str], Keyboard]: ...


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to a button press or a command: ``ok`` and a line for the person."""

    ok: bool
    text: str
    case: Case | None = None


def title_of(community: Community | None, chat_id: int) -> str:
    """A community's title, or its chat id where Steward does not know it."""
    return community.title if community is not None else str(chat_id)
