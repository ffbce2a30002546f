"""One place that changes a community's settings: typed, validated, stored, and the cache dropped.

Every per-community setting a manager can change is in :data:`SPECS`: its type, its range or its allowed
values. :meth:`CommunitySettingsService.change` checks a whole change against that table, writes it through
the repository in one step and invalidates the one community cache every service reads
(:class:`bot.services.community.CommunityService`), so nobody else has an invalidation call to forget.
A refused value comes back as a :class:`SettingChange` with a :class:`Refusal` code (for the front-end to
word in its user's language) and a reason in plain English (for logs and the dashboard).

Front-ends parse (Telegram's "on", "0,9", "Europe/Berlin") and pass typed values; the service never
guesses from strings. ``None`` resets a nullable key to the config's default. The community's timezone is a
column rather than a ``settings`` entry, but it is changed the same way, under the key ``"timezone"``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bot.config import validate_timezone
from bot.domain import Community
from bot.storage.communities import CommunityRepository
from bot.textsafety import compile_pattern

log = logging.getLogger(__name__)

TIMEZONE = "timezone"
LINK = compile_pattern(r"(https?://|tg://)\S+", name="community_settings.link")
SLOT = compile_pattern(r"([01]?\d|2[0-3]):[0-5]\d", name="community_settings.slot")


class Kind(StrEnum):
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    CHOICE = "choice"
    TEXT = "text"
    LINK = "link"  # an http(s):// or tg:// link, or "" for none
    WORDS = "words"  # a list of keywords or phrases
    SLOTS = "slots"  # a list of local times of day, "HH:MM"
    TIMEZONE = "timezone"  # an IANA name


@dataclass(frozen=True, slots=True)
class SettingSpec:
    kind: Kind
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    nullable: bool = False  # None resets to the config's default


MAX_WELCOME = 3000

# Every key a manager may change, with what it accepts. (The moderation.* and escalation.* keys are
# validated by their own services for now: bot/services/moderation_settings.py and the tuning in
# bot/services/escalation.py.)
SPECS: dict[str, SettingSpec] = {
    "faq.mode": SettingSpec(Kind.CHOICE, choices=("off", "mention", "auto")),
    "faq.answer_threshold": SettingSpec(Kind.FLOAT, 0, 1, nullable=True),
    "faq.suggest_threshold": SettingSpec(Kind.FLOAT, 0, 1, nullable=True),
    "faq.margin": SettingSpec(Kind.FLOAT, 0, 1, nullable=True),
    "faq.cooldown_minutes": SettingSpec(Kind.INT, 0, 10_080, nullable=True),
    "faq.member_answers_per_hour": SettingSpec(Kind.INT, 1, 1000, nullable=True),
    "growth.welcome_enabled": SettingSpec(Kind.BOOL, nullable=True),
    "growth.welcome_text": SettingSpec(Kind.TEXT, max_len=MAX_WELCOME, nullable=True),
    "growth.rules_url": SettingSpec(Kind.LINK, nullable=True),
    "growth.welcome_delete_minutes": SettingSpec(Kind.INT, 0, 10_080, nullable=True),
    "growth.raid_joins_per_minute": SettingSpec(Kind.INT, 1, 15, nullable=True),
    "growth.stats_in_group": SettingSpec(Kind.BOOL, nullable=True),
    "scheduler.feed_auto_post": SettingSpec(Kind.BOOL, nullable=True),
    "scheduler.feed_keywords": SettingSpec(Kind.WORDS, nullable=True),
    "scheduler.feed_allow": SettingSpec(Kind.WORDS, nullable=True),
    "scheduler.feed_deny": SettingSpec(Kind.WORDS, nullable=True),
    "scheduler.feed_relevance": SettingSpec(Kind.FLOAT, 0, 1, nullable=True),
    "scheduler.feed_slots": SettingSpec(Kind.SLOTS, nullable=True),
    "managers.receipts": SettingSpec(Kind.CHOICE, choices=("all", "failures"), nullable=True),
    TIMEZONE: SettingSpec(Kind.TIMEZONE),
}


class Refusal(StrEnum):
    UNKNOWN_COMMUNITY = "unknown_community"
    UNKNOWN_KEY = "unknown_key"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    NOT_A_CHOICE = "not_a_choice"
    TOO_LONG = "too_long"
    NOT_A_LINK = "not_a_link"
    NOT_A_TIME = "not_a_time"
    BAD_TIMEZONE = "bad_timezone"
    INCONSISTENT = "inconsistent"


@dataclass(frozen=True, slots=True)
class SettingChange:
    """The outcome of one change: ``community`` as stored afterwards, or why nothing was written."""

    community: Community | None
    refusal: Refusal | None = None
    key: str | None = None  # the refused key
    reason: str = ""  # plain English, for logs and the dashboard
    limit: int | None = None  # TOO_LONG: the most characters
    length: int | None = None  # TOO_LONG: how many characters it had
    values: dict[str, object] = field(default_factory=dict)  # what was written

    @property
    def ok(self) -> bool:
        return self.refusal is None


class CommunityLookup(Protocol):
    """Finds communities by chat id (CommunitySettingsService, CommunityRepository)."""

    async def get(self, chat_id: int) -> Community | None: ...
    async def list(self, *, active_only: bool = True) -> list[Community]: ...


class SettingsCache(Protocol):
    """The cache of community rows that services read (CommunityService)."""

    def invalidate(self, chat_id: int) -> None: ...


class _Refused(Exception):
    def __init__(
        self, key: str, refusal: Refusal, reason: str, *, limit: int | None = None, length: int | None = None
    ) -> None:
        super().__init__(reason)
        self.result = SettingChange(None, refusal, key, reason, limit, length)


def _check(key: str, value: object) -> object:
    """The value to store for ``key``, or raise _Refused."""
    spec = SPECS.get(key)
    if spec is None:
        raise _Refused(key, Refusal.UNKNOWN_KEY, f"{key}: not a setting that can be changed")
    if value is None:
        if spec.nullable:
            return None
        raise _Refused(key, Refusal.WRONG_TYPE, f"{key}: a value is required")
    kind = spec.kind
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise _Refused(key, Refusal.WRONG_TYPE, f"{key}: must be on or off")
        return value
    if kind in (Kind.INT, Kind.FLOAT):
        allowed = int if kind is Kind.INT else int | float
        if isinstance(value, bool) or not isinstance(value, allowed) or value != value:  # bools, NaN
            raise _Refused(key, Refusal.WRONG_TYPE, f"{key}: must be a {'whole ' if kind is Kind.INT else ''}number")
        number = float(value) if kind is Kind.FLOAT else int(value)
        low, high = spec.low, spec.high
        if low is not None and high is not None and not low <= number <= high:
            raise _Refused(key, Refusal.OUT_OF_RANGE, f"{key}: must be from {low:g} to {high:g}")
        return number
    if kind in (Kind.WORDS, Kind.SLOTS):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _Refused(key, Refusal.WRONG_TYPE, f"{key}: must be a list of texts")
        items = [v.strip() for v in value if v.strip()]
        if kind is Kind.SLOTS and (bad := [v for v in items if not SLOT.fullmatch(v)]):
            raise _Refused(key, Refusal.NOT_A_TIME, f"{key}: {bad[0]!r} is not a time of day (HH:MM)")
        return items
    if not isinstance(value, str):
        raise _Refused(key, Refusal.WRONG_TYPE, f"{key}: must be a text")
    if spec.max_len is not None and len(value) > spec.max_len:
        raise _Refused(
            key,
            Refusal.TOO_LONG,
            f"{key}: too long ({len(value)} characters; at most {spec.max_len})",
            limit=spec.max_len,
            length=len(value),
        )
    if kind is Kind.CHOICE and value not in spec.choices:
        raise _Refused(key, Refusal.NOT_A_CHOICE, f"{key}: must be one of {', '.join(spec.choices)}")
    if kind is Kind.LINK and value and not LINK.fullmatch(value):
        raise _Refused(key, Refusal.NOT_A_LINK, f"{key}: must be an http(s):// or tg:// link")
    if kind is Kind.TIMEZONE:
        try:
            return validate_timezone(value)
        except ValueError as exc:
            raise _Refused(key, Refusal.BAD_TIMEZONE, str(exc)) from None
    return value


def _check_together(values: Mapping[str, object], stored: Mapping[str, object] | None = None) -> None:
    """Rules between keys: the suggest threshold is never above the answer threshold (a key not in the
    change counts with its stored value)."""
    merged = {**(stored or {}), **values}
    answer, suggest = merged.get("faq.answer_threshold"), merged.get("faq.suggest_threshold")
    if isinstance(answer, float) and isinstance(suggest, float) and suggest > answer:
        raise _Refused(
            "faq.suggest_threshold",
            Refusal.INCONSISTENT,
            "faq.suggest_threshold: must not be above faq.answer_threshold",
        )


class CommunitySettingsService:
    """Reads and changes per-community settings for every front-end (Telegram handlers, the dashboard)."""

    def __init__(self, communities: CommunityRepository, cache: SettingsCache) -> None:
        self.communities = communities
        self.cache = cache

    async def get(self, chat_id: int) -> Community | None:
        """The community as stored now."""
        return await self.communities.get(chat_id)

    async def list(self, *, active_only: bool = True) -> list[Community]:
        return await self.communities.list(active_only=active_only)

    @staticmethod
    def check(changes: Mapping[str, object], stored: Mapping[str, object] | None = None) -> SettingChange:
        """Validate without writing (against the ``stored`` settings, if given): ``ok``, or the first refusal."""
        try:
            values = {key: _check(key, value) for key, value in changes.items()}
            _check_together(values, stored)
        except _Refused as refused:
            return refused.result
        return SettingChange(None, values=values)

    async def change(self, chat_id: int, changes: Mapping[str, object]) -> SettingChange:
        """Validate every value, store them (nothing when one is refused) and drop the cached row.

        The timezone is a column of its own, so a change with it and other keys is two writes; both come
        after all the checks, so only a database failure could separate them."""
        checked = self.check(changes)
        if checked.ok:
            community = await self.communities.get(chat_id)
            if community is None:
                return SettingChange(None, Refusal.UNKNOWN_COMMUNITY, None, f"community {chat_id} is not known")
            checked = self.check(changes, community.settings)
        if not checked.ok:
            log.info("setting refused in %s: %s", chat_id, checked.reason)
            return checked
        values = dict(checked.values)
        try:
            timezone = values.pop(TIMEZONE, None)
            if isinstance(timezone, str):
                await self.communities.set_timezone(chat_id, timezone)
            if values:
                await self.communities.update_settings(chat_id, values)
        finally:
            self.cache.invalidate(chat_id)
        log.info("settings changed in %s: %s", chat_id, ", ".join(sorted(checked.values)))
        return SettingChange(await self.communities.get(chat_id), values=dict(checked.values))

    async def set(self, chat_id: int, key: str, value: object) -> SettingChange:
        return await self.change(chat_id, {key: value})
