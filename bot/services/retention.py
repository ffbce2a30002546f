"""Message retention (``database.retain_days``, default 365): once a day, the texts of older group messages
(and of unanswered questions) are blanked. The rows stay with everything analytics reads (date, author,
thread, replies, question flag, sentiment), so /stats and the digest give the same figures for old periods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

from bot.storage.faq import FaqRepository
from bot.storage.messages import MessageRepository
from bot.timeutil import epoch_now

log = logging.getLogger(__name__)

DAY = 86400


@dataclass(eq=False)
class Retention:
    messages: MessageRepository
    faq: FaqRepository
    retain_days: int
    _: KW_ONLY
    clock: Callable[[], int] = epoch_now

    @property
    def enabled(self) -> bool:
        return self.retain_days > 0

    async def run(self) -> tuple[int, int]:
        """Blank what is older than the retention; returns (message texts, unanswered questions) blanked."""
        if not self.enabled:
            return 0, 0
        cutoff = self.clock() - self.retain_days * DAY
        try:
            texts = await self.messages.forget_texts(cutoff)
            questions = await self.faq.forget_unanswered_texts(cutoff)
        except Exception:
            log.exception("retention: could not forget old message texts (will try again tomorrow)")
            return 0, 0
        if texts or questions:
            log.info(
                "retention: blanked %d message texts and %d unanswered questions older than %d days",
                texts,
                questions,
                self.retain_days,
            )
        return texts, questions
