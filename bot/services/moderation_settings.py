"""/moderation in a community: show and change its moderation settings (validated, stored, logged)."""

from __future__ import annotations

import html
import logging
from typing import Any

from bot.services.escalation import Actor, Outcome
from bot.services.moderation import ModerationService
from bot.services.moderation_types import POLICIES

log = logging.getLogger(__name__)

# key: (kind, low, high)
KEYS: dict[str, tuple[str, int, int]] = {
    "enabled": ("bool", 0, 0),
    "spam_check": ("bool", 0, 0),
    "spam_policy": ("policy", 0, 0),
    "warn_limit": ("int", 1, 20),
    "warn_mute_minutes": ("int", 1, 527_040),
    "reports_per_hour": ("int", 1, 100),
    "notice_seconds": ("int", 5, 86_400),
    "first_messages": ("int", 0, 100),
    "spam_mute_minutes": ("int", 1, 527_040),
    "join_gate": ("bool", 0, 0),
    "gate_minutes": ("int", 1, 1440),
    "raid_mode": ("bool", 0, 0),
    "raid_joins": ("int", 2, 10_000),
    "raid_minutes": ("int", 1, 1440),
}


def current(moderation: ModerationService, community: Any, key: str) -> Any:
    return moderation.setting(community, key, getattr(moderation.settings, key))


async def settings_text(moderation: ModerationService, chat_id: int) -> str:
    t = moderation.t
    community = await moderation.communities.get(chat_id)
    lines = [t("<b>Moderation settings here</b>")]
    for key in KEYS:
        value = current(moderation, community, key)
        shown = ("on" if value else "off") if isinstance(value, bool) else str(value)
        lines.append(f"{key}: {html.escape(shown)}")
    lines += [
        "",
        t("spam_policy: observe (a card only), delete (delete + a card with Not spam) or delete_and_mute."),
        t("Change one with /moderation &lt;setting&gt; &lt;value&gt;, for example /moderation spam_policy delete"),
    ]
    return "\n".join(lines)


async def set_setting(moderation: ModerationService, chat_id: int, key: str, raw: str, actor: Actor) -> Outcome:
    t = moderation.t
    community = await moderation.communities.get(chat_id)
    if community is None:
        return Outcome(False, t("This chat is not a community I serve yet."))
    spec = KEYS.get(key)
    if spec is None:
        return Outcome(False, t("Unknown setting {key}. See /moderation for the list.").format(key=html.escape(key)))
    kind, low, high = spec
    raw = raw.strip().lower()
    value: Any
    if kind == "bool":
        if raw not in ("on", "off", "true", "false", "yes", "no", "1", "0"):
            return Outcome(False, t("{key}: use on or off.").format(key=key))
        value = raw in ("on", "true", "yes", "1")
    elif kind == "policy":
        if raw not in POLICIES:
            return Outcome(False, t("spam_policy: use observe, delete or delete_and_mute."))
        value = raw
    else:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 7 and low <= int(raw) <= high):
            return Outcome(
                False, t("{key}: use a whole number from {low} to {high}.").format(key=key, low=low, high=high)
            )
        value = int(raw)
    full = f"moderation.{key}"
    old = current(moderation, community, key)
    await moderation.escalation.store_setting(chat_id, full, old, value, actor)
    log.info("%s set %s in %s: %r → %r", actor.user_id, full, chat_id, old, value)
    shown = ("on" if value else "off") if isinstance(value, bool) else str(value)
    return Outcome(True, t("{key} is now {value}.").format(key=key, value=html.escape(shown)))
