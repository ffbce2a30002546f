"""handlers/rights.py: the one way Telegram reaches RoleService.can_manage, and the one resolver of the
community a command addresses."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n

from bot.domain import Community
from bot.i18n import make_i18n
from bot.services.roles import RoleService
from handlers.rights import Scope, addressed_community, community_of, group_chat_id, may_manage
from tests.mocked_bot import make_message, make_user

MANAGER, ADMIN, MEMBER = 1, 10, 11
G, OTHER, DESK = -1001, -1002, -1009
ROOT = Path(__file__).resolve().parents[2]


def roles() -> RoleService:
    admins = {G: {ADMIN}, OTHER: set(), DESK: {MEMBER}}

    async def fetch(chat_id: int) -> set[int]:
        return admins.get(chat_id, set())

    return RoleService(frozenset({MANAGER}), fetch)


class Delivery:
    ok = True
    error = None


class FakeOutbox:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Delivery:
        self.sent.append((chat_id, text))
        return Delivery()


class FakeCommunities:
    async def known(self, chat_id: int) -> Community | None:
        return Community(chat_id=chat_id, title="G", type="supergroup") if chat_id in (G, OTHER) else None

    async def community_for(self, chat: Any) -> Community:
        return Community(chat_id=chat.chat_id, title=chat.title, type=chat.type)


def msg(chat_id: int, user_id: int, text: str = "/x") -> Any:
    return make_message(7, chat_id, text=text, from_user=make_user(user_id))


async def address(chat_id: int, user_id: int, args: str) -> tuple[tuple[Community, str] | None, list[str]]:
    outbox = FakeOutbox()
    i18n = make_i18n()
    assert isinstance(i18n, I18n)
    with i18n.context(), i18n.use_locale("en"):
        found = await addressed_community(
            msg(chat_id, user_id),
            args,
            roles(),
            FakeCommunities(),
            outbox,
            DESK,  # type: ignore[arg-type]
        )
    return found, [text for _, text in outbox.sent]


async def test_the_rule_by_keyword_and_the_communities_a_user_manages() -> None:
    r = roles()
    assert await r.can_manage(community_id=G, user_id=ADMIN)
    assert not await r.can_manage(community_id=OTHER, user_id=ADMIN)
    assert await r.can_manage(community_id=OTHER, user_id=MANAGER)
    assert not await r.can_manage(community_id=None, user_id=ADMIN)  # the desk: managers only
    assert await r.managed_by(ADMIN, [OTHER, G]) == [G]
    assert await r.managed_by(MANAGER, [OTHER, G]) == [OTHER, G]
    assert await r.managed_by(MEMBER, [OTHER, G]) == []


async def test_scopes_name_the_chat_in_a_group_and_nobody_at_the_desk() -> None:
    in_group, in_private = msg(G, ADMIN), msg(ADMIN, ADMIN)
    assert community_of(in_group, Scope.GROUP) == G
    assert community_of(in_group, Scope.DESK) is None
    assert community_of(in_private, Scope.GROUP) is None
    assert await may_manage(roles(), in_group, Scope.GROUP)
    assert not await may_manage(roles(), in_group, Scope.DESK)  # a group's admin is no manager
    assert not await may_manage(roles(), in_private, Scope.GROUP)
    assert await may_manage(roles(), msg(MANAGER, MANAGER), Scope.DESK)


async def test_addressed_community_in_a_group_is_that_group_and_members_hear_nothing() -> None:
    found, said = await address(G, ADMIN, "spring sale")
    assert found is not None and found[0].chat_id == G and found[1] == "spring sale" and said == []
    assert await address(G, MEMBER, "spring") == (None, [])
    assert await address(DESK, MEMBER, f"spring {G}") == (None, [])  # the managers' chat: managers only


async def test_addressed_community_elsewhere_takes_the_chat_id_among_the_arguments() -> None:
    found, _ = await address(MANAGER, MANAGER, f"{G} spring  sale")
    assert found is not None and found[0].chat_id == G and found[1] == "spring  sale"
    found, _ = await address(ADMIN, ADMIN, f"https://example.org/rss {G} 5")
    assert found is not None and found[0].chat_id == G and found[1] == "https://example.org/rss  5"
    found, said = await address(ADMIN, ADMIN, f"spring {OTHER}")  # known, but not theirs
    assert found is None and said == [f"I do not know a group {OTHER} that you manage."]
    found, said = await address(MANAGER, MANAGER, "spring -42x 17")
    assert found is None and said and said[0].startswith("Name the group")
    found, said = await address(DESK, MANAGER, "-1005")  # unknown group
    assert found is None and said == ["I do not know a group -1005 that you manage."]


def test_group_chat_ids_are_negative_ascii_integers_within_64_bits() -> None:
    assert group_chat_id("-1001234567890")
    assert not group_chat_id("1001234567890")
    assert not group_chat_id("-１２")  # full-width digits
    assert not group_chat_id("-" + "9" * 19)
    assert not group_chat_id("-")


def test_handlers_check_rights_only_through_can_manage() -> None:
    """No handler module asks RoleService anything but can_manage (is_manager, is_chat_admin, chat_admins
    were the side doors of the old shapes), and no handler module defines its own rights filter."""
    offenders = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"is_manager", "is_chat_admin", "chat_admins"}:
                offenders.append(f"{path.name}:{node.lineno} {node.attr}")
            is_filter = isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id == "BaseFilter" for b in node.bases
            )
            if is_filter and "manag" in node.name.lower():
                offenders.append(f"{path.name}:{node.lineno} class {node.name}")
    assert offenders == []
