"""What every part of the escalation service shares, built once by :class:`EscalationService`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.escalation.base import EpochClock
from bot.services.escalation.settings import EscalationConfig
from bot.services.escalation.words import Words
from bot.services.ports import Desk, Sender
from bot.storage.cases import CaseRepository
from bot.storage.communities import CommunityRepository
from bot.storage.messages import MessageRepository


@dataclass(frozen=True, slots=True)
class Context:
    """The settings, the repositories, the Telegram ports, the words and the clock."""

    config: EscalationConfig
    cases: CaseRepository
    messages: MessageRepository
    communities: CommunityRepository
    outbox: Sender
    desk: Desk
    words: Words
    clock: EpochClock


class Part:
    """A part of the escalation service: the shared context under short names."""

    def __init__(self, ctx: Context) -> None:
        self.config, self.cases, self.messages, self.communities = ctx.config, ctx.cases, ctx.messages, ctx.communities
        self.outbox, self.desk, self.words, self.t, self.clock = ctx.outbox, ctx.desk, ctx.words, ctx.words.t, ctx.clock
