from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.domain import Author, ChatInfo, IncomingMessage, MessageContext, Sentiment
from bot.services.languages import EVERY, LanguageTracker, weak_language_note
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.members import StateRepository
from tests.builders import add_supergroup

GROUP = ChatInfo(-1001, "Kyiv devs", "supergroup")


async def test_main_language_is_recorded_and_weak_languages_are_reported_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    await db.open()
    communities = CommunityRepository(db)
    community = await add_supergroup(communities, GROUP.chat_id, GROUP.title)
    notices: list[str] = []

    async def notify(text: str) -> None:
        notices.append(text)

    tracker = LanguageTracker(communities, StateRepository(db), notify, model="default")
    ukrainian = "Привіт, як справи? Це дуже цікаво, дякую вам за допомогу і підтримку"
    for i in range(EVERY * 2):
        msg = IncomingMessage(GROUP.chat_id, i, Author(1, "A"), ukrainian, datetime.now(UTC))
        current = await communities.get(GROUP.chat_id)
        assert current is not None
        await tracker.on_message(MessageContext(msg, current, Sentiment.unclassified(), f"m:{i}", False))
    stored = await communities.get(GROUP.chat_id)
    assert stored is not None
    assert stored.settings["detected_language"] == "uk"
    assert stored.language == community.language  # 'uk' has no catalog: texts stay in the default
    assert len(notices) == 1 and "'uk'" in notices[0] and "cardiffnlp" in notices[0]
    await db.close()


def test_weak_language_note_only_for_the_bundled_model() -> None:
    assert weak_language_note("en", "default") is None
    assert weak_language_note("ru", "default") is None
    assert weak_language_note("uk", "default") is not None
    assert weak_language_note("uk", "cardiffnlp/twitter-xlm-roberta-base-sentiment") is None
