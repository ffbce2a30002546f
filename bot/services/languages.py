"""Each community's main language, and an honest word when the sentiment model is weak for it.

Detection is by script and stopwords (models.language), aggregated over many messages. The
detected language becomes the community's language for the bot's texts, unless a manager set
one; when the bundled model is not trained for it, the managers are told once, with the hub
model that would serve it better, and `steward check` warns.
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from bot.domain import MessageContext
from bot.i18n import SUPPORTED, Translator
from bot.storage.communities import CommunityRepository
from bot.storage.members import StateRepository
from models.language import detect_language, sentiment_support

log = logging.getLogger(__name__)

# Re-evaluate the main language after this many detected messages in a community.
EVERY = 25
MIN_SHARE = 0.5
Notify = Callable[[str], Awaitable[object]]


def weak_language_note(language: str | None, model: str) -> str | None:
    """A warning when the bundled model is not trained for ``language``; None when it is fine."""
    if model != "default" or language is None:
        return None
    supported, better = sentiment_support(language)
    if supported:
        return None
    return (
        f"the bundled sentiment model is not trained for '{language}'; "
        f'set sentiment.model = "{better}" to serve it better (it downloads from the Hugging Face hub)'
    )


class LanguageTracker:
    """A message listener that keeps communities.language and settings['detected_language'] current."""

    def __init__(
        self,
        communities: CommunityRepository,
        state: StateRepository,
        notify_managers: Notify,
        *,
        model: str,
        managers_locale: str = "en",
        on_change: Callable[[int], None] | None = None,
    ) -> None:
        self.managers_locale = managers_locale
        self.communities = communities
        self.state = state
        self.notify_managers = notify_managers
        self.model = model
        self.on_change = on_change
        self._counts: dict[int, Counter[str]] = {}

    async def on_message(self, ctx: MessageContext) -> None:
        lang = detect_language(ctx.msg.text)
        if lang is None:
            return
        counts = self._counts.setdefault(ctx.community.chat_id, Counter())
        counts[lang] += 1
        if sum(counts.values()) % EVERY:
            return
        main, n = counts.most_common(1)[0]
        if n / sum(counts.values()) < MIN_SHARE:
            return
        await self._settle(ctx, main)

    async def _settle(self, ctx: MessageContext, main: str) -> None:
        community = ctx.community
        if community.settings.get("detected_language") == main:
            return
        await self.communities.update_settings(community.chat_id, {"detected_language": main})
        if main in SUPPORTED and main != community.language and not community.settings.get("language_set_by"):
            await self.communities.set_language(community.chat_id, main)
            log.info("community %s speaks mostly %s; using it for the bot's texts", community.chat_id, main)
        if self.on_change is not None:
            self.on_change(community.chat_id)
        supported, better = sentiment_support(main)
        if self.model != "default" or supported:
            return
        if await self.state.set_if_absent(f"weak-language-notice:{community.chat_id}:{main}", "sent"):
            t = Translator(self.managers_locale)
            await self.notify_managers(
                t(
                    "{community} mostly writes in '{language}', and the bundled sentiment model is not trained "
                    'for it, so its mood figures there are unreliable. Set sentiment.model = "{model}" in the '
                    "config to serve it better (that model downloads from the Hugging Face hub).",
                    community=html.escape(community.title),
                    language=main,
                    model=better,
                )
            )
