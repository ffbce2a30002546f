"""Small builders for tests that work on a real SQLite database below the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.domain import Community
from bot.storage.cases import CaseRepository
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database


@asynccontextmanager
async def opened_db(path: Path) -> AsyncIterator[Database]:
    """A migrated database at ``path``, closed when the block ends."""
    db = Database(path)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


async def add_supergroup(
    communities: CommunityRepository | Database,
    chat_id: int,
    title: str = "Club",
    *,
    timezone: str = "UTC",
    username: str | None = None,
    is_forum: bool = False,
) -> Community:
    """Register an English-speaking supergroup, as the bot does when it is added to one."""
    repo = communities if isinstance(communities, CommunityRepository) else CommunityRepository(communities)
    return await repo.upsert(
        chat_id=chat_id,
        title=title,
        type="supergroup",
        is_forum=is_forum,
        username=username,
        timezone=timezone,
        language="en",
    )


async def open_pile_on_case(cases: CaseRepository, chat_id: int, thread_key: str, *, message_id: int, at: int) -> None:
    """An open case over one message, as the rules open one when three members turn negative."""
    await cases.open(
        chat_id=chat_id,
        thread_key=thread_key,
        topic_id=None,
        shadow=False,
        reasons=["pile_on"],
        detail="x",
        keyword=None,
        severity=0.75,
        negative_members=3,
        first_message_id=message_id,
        last_message_id=message_id,
        message_count=1,
        at=at,
    )
