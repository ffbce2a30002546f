"""One composition root: the bot and the command line build the same services (bot.composition)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import Steward
from bot.cli.common import offline_services
from bot.cli.offline import OfflineError
from bot.composition import Services
from bot.config import Settings
from bot.services.community import CommunityService
from tests.fakes import FakeClassifier, HashingEncoder
from tests.mocked_bot import MockedBot

# Where the two front-ends differ on purpose: what they talk to.
TELEGRAM_SIDE = {"telegram", "desk"}


def _settings(tmp_path: Path) -> Settings:
    return Settings(telegram={"token": "42:TEST"}, database={"path": str(tmp_path / "s.db")}, managers={"ids": [5]})


def _app(settings: Settings) -> Steward:
    encoder = HashingEncoder()
    return Steward(
        settings,
        bot=MockedBot(),
        classifier_loader=FakeClassifier,
        faq_encoder_loader=lambda: (encoder, f"hash:{encoder.dim}"),
    )


async def test_the_command_line_builds_the_services_the_bot_builds(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    app = _app(settings)
    async with offline_services(settings, "test") as services:
        built = {name: type(value) for name, value in vars(services).items() if not name.startswith("_")}
    assert isinstance(app, Services)
    assert len(built) > 25
    for name, kind in built.items():
        if name not in TELEGRAM_SIDE:
            assert type(getattr(app, name)) is kind, name
    assert type(app.desk).__name__ == "ManagerDesk" and built["desk"].__name__ == "OfflineDesk"


async def test_offline_telegram_refuses_with_a_clear_error(tmp_path: Path) -> None:
    async with offline_services(_settings(tmp_path), "faq import") as services:
        with pytest.raises(
            OfflineError, match="steward faq import works without Telegram, so it cannot send a message"
        ):
            await services.telegram.sender.send_message(-100, "hello")
        with pytest.raises(OfflineError, match="cannot notify the managers"):
            await services.desk.post("a card")
        with pytest.raises(OfflineError, match="cannot mute a member"):
            await services.telegram.moderation_api.mute(-100, 7, None)
        # Rights fail closed, as when Telegram cannot be asked.
        assert await services.roles.chat_admins(-100) == set()


def test_collaborators_arrive_through_constructors(tmp_path: Path) -> None:
    app = _app(_settings(tmp_path))
    assert [type(listener).__name__ for listener in app.community_service.listeners] == [
        "LanguageTracker",
        "SpamService",
        "ModerationService",
        "EscalationService",
        "FaqService",
        "PostService",
    ]
    assert not hasattr(CommunityService, "add_listener")
    assert app.community_service.question_detector is not None
    assert app.community_service.cache is app.community_cache
    assert app.escalation.tuning.settings_cache is app.community_cache
    assert app.moderation.learner is app.spam_memory and app.spam.memory is app.spam_memory
    assert app.gate.raids is app.moderation.raids
    assert app.feeds.max_feeds == app.settings.quotas.feeds
    assert app.faq.max_entries == app.settings.quotas.faq_entries
