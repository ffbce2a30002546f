"""Escalation: negative threads become cases that managers work from Telegram (see ``service.py``)."""

from bot.services.escalation.base import (
    ACTIONS,
    DISMISS,
    REPLY,
    RESOLVE,
    SNOOZE,
    TAKE,
    Actor,
    CardExtension,
    Outcome,
    Roles,
    SettingsCache,
)
from bot.services.escalation.opening import CaseReason
from bot.services.escalation.service import EscalationService
from bot.services.escalation.thread import Embedder

__all__ = [
    "ACTIONS",
    "DISMISS",
    "REPLY",
    "RESOLVE",
    "SNOOZE",
    "TAKE",
    "Actor",
    "CardExtension",
    "CaseReason",
    "Embedder",
    "EscalationService",
    "Outcome",
    "Roles",
    "SettingsCache",
]
