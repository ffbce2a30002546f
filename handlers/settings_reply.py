"""How a refused community setting is told in Telegram (bot.services.community_settings gives the reason)."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _

from bot.services.community_settings import Refusal, SettingChange


def refusal_text(changed: SettingChange) -> str:
    """The reply to a change the settings service refused, in the person's language where we have words."""
    if changed.refusal is Refusal.UNKNOWN_COMMUNITY:
        return _("I do not know this group yet; write a message here first.")
    if changed.refusal is Refusal.TOO_LONG and changed.key == "growth.welcome_text":
        return _("That welcome is too long ({length} characters); keep it under {limit}.").format(
            length=changed.length, limit=changed.limit
        )
    return html.escape(changed.reason)  # the service's plain words (an unknown timezone, for one)
