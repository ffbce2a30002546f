"""Escalation's settings: the defaults from the config file, each community's overrides, their parsing.

:class:`EscalationConfig` reads a setting for a community (``escalation.<key>`` in its settings, else the
config file), builds the policies' settings from them, and caches each group's Telegram description.
:func:`parse_setting` validates what a manager types after ``/escalation <key>``.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.config import EscalationSettings
from bot.domain import Community
from bot.i18n import Translator
from bot.services.escalation.base import DescribeChat, EpochClock
from bot.services.escalation.judge import ThreadSettings
from bot.services.escalation.policy import DEFAULT_OUTSIDE_TOPICS, PolicySettings, TermMatcher, description_terms
from bot.services.settings import community_setting

log = logging.getLogger(__name__)

DESCRIPTION_TTL = 6 * 3600


class EscalationConfig:
    """Settings per community; ``settings`` and ``describe_chat`` may be replaced after construction."""

    def __init__(self, settings: EscalationSettings, *, clock: EpochClock, describe_chat: DescribeChat | None) -> None:
        self.settings = settings
        self.clock = clock
        # The group's own Telegram description says what it is about; read it now and then.
        self.describe_chat = describe_chat
        self._descriptions: dict[int, tuple[int, str]] = {}

    def setting(self, community: Community | None, key: str, default: Any) -> Any:
        if community is None:
            return default
        return community_setting(community, f"escalation.{key}", default)

    def value(self, community: Community | None, key: str) -> Any:
        """The setting ``key`` with the config file's value as its default."""
        return self.setting(community, key, getattr(self.settings, key))

    def policy_settings(self, community: Community | None) -> PolicySettings:
        s = self.settings
        outside = self.setting(community, "outside_topics", list(s.outside_topics or DEFAULT_OUTSIDE_TOPICS))
        return PolicySettings(
            very_negative=float(self.value(community, "very_negative")),
            negative=float(self.value(community, "negative")),
            pile_on_members=int(self.value(community, "pile_on_members")),
            window_seconds=60 * int(self.value(community, "window_minutes")),
            keywords=tuple(str(k) for k in self.setting(community, "keywords", list(s.keywords))),
            about=str(self.value(community, "about")),
            about_keywords=tuple(str(k) for k in self.setting(community, "about_keywords", list(s.about_keywords))),
            outside_topics=tuple(str(k) for k in outside),
        )

    def thread_settings(self, community: Community | None, about: str = "") -> ThreadSettings:
        def f(key: str) -> float:
            return float(self.value(community, key))

        policy = self.policy_settings(community)
        about_terms = (
            tuple(policy.about_keywords) + tuple(policy.keywords) + description_terms(f"{policy.about}\n{about}")
        )
        return ThreadSettings(
            wait_seconds=60 * int(self.value(community, "wait_minutes")),
            window_seconds=policy.window_seconds,
            open_score=f("open_score"),
            need_margin=f("need_margin"),
            urgent_margin=f("urgent_margin"),
            prototype_need_margin=f("prototype_need_margin"),
            prototype_urgent_margin=f("prototype_urgent_margin"),
            min_words=int(self.value(community, "min_words")),
            ack_words=int(self.value(community, "ack_words")),
            weight_urgent=f("weight_urgent"),
            weight_need=f("weight_need"),
            weight_question=f("weight_question"),
            weight_chasing=f("weight_chasing"),
            weight_member=f("weight_member"),
            weight_repeat=f("weight_repeat"),
            weight_unanswered=f("weight_unanswered"),
            weight_tone=f("weight_tone"),
            about=TermMatcher(about_terms),
            outside=policy.outside_matcher,
        )

    async def description(self, chat_id: int) -> str:
        """The community's Telegram description (cached for hours; empty when unknown)."""
        if self.describe_chat is None:
            return ""
        now = self.clock()
        cached = self._descriptions.get(chat_id)
        if cached is not None and now - cached[0] < DESCRIPTION_TTL:
            return cached[1]
        try:
            text = await self.describe_chat(chat_id) or ""
        except Exception as exc:  # the API may refuse; the policy works without it
            log.warning("could not read the description of chat %s: %s", chat_id, exc)
            text = cached[1] if cached is not None else ""
        self._descriptions[chat_id] = (now, text)
        return text

    def observe(self, community: Community | None) -> bool:
        return bool(self.value(community, "observe"))

    def enabled(self, community: Community | None) -> bool:
        return bool(self.value(community, "enabled"))

    def sla_seconds(self, community: Community | None) -> int:
        return 60 * int(self.value(community, "sla_minutes"))

    def minutes(self, community: Community | None, key: str) -> int:
        """A ``*_minutes`` setting, in seconds."""
        return 60 * int(self.value(community, key))


def parse_setting(t: Translator, key: str, raw: str) -> Any:
    """The value of ``/escalation <key> <raw>``; KeyError for an unknown key, ValueError (with the reason
    for the manager, or the conversion's own message) for a bad value."""
    raw = raw.strip()
    value: Any
    if key == "policy":
        if raw.lower() not in ("thread", "message"):
            raise ValueError(t("use thread or message"))
        return raw.lower()
    if key in ("open_score", "need_margin", "urgent_margin"):
        value = round(float(raw.replace(",", ".")), 3)
        top = 5.0 if key == "open_score" else 1.0
        if not 0.0 < value <= top:
            raise ValueError(t("use a number above 0 and at most {top}").format(top=top))
        return value
    if key in ("wait_minutes", "min_words"):
        value = int(raw)
        if not 0 <= value <= 1440:
            raise ValueError(t("use a whole number from {low}").format(low=0))
        return value
    if key in ("observe", "enabled"):
        if raw.lower() not in ("on", "off", "true", "false", "yes", "no", "1", "0"):
            raise ValueError(t("use on or off"))
        return raw.lower() in ("on", "true", "yes", "1")
    if key in ("very_negative", "negative"):
        value = round(float(raw.replace(",", ".")), 3)
        if not 0.0 < value <= 1.0:
            raise ValueError(t("use a number between 0 and 1, such as 0.9"))
        return value
    if key in ("pile_on_members", "window_minutes", "sla_minutes", "reminder_minutes", "snooze_minutes"):
        value = int(raw)
        low = 2 if key == "pile_on_members" else 1
        if not low <= value <= 10_080:
            raise ValueError(t("use a whole number from {low}").format(low=low))
        return value
    if key in ("keywords", "about_keywords", "outside_topics"):
        value = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
        if len(value) > 100 or any(len(v) > 64 for v in value):
            raise ValueError(t("at most 100 terms of up to 64 characters"))
        return value
    if key == "about":
        return raw[:1000]
    raise KeyError(key)


def shown(value: Any) -> str:
    """A setting's value as a manager reads it."""
    if isinstance(value, list):
        return ", ".join(value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
