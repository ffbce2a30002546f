"""Per-community settings: a community's own choice, else the config's default.

Keys are "<section>.<key>" (for example "faq.mode"), stored in communities.settings.
"""

from __future__ import annotations

from typing import TypeVar

from bot.domain import Community

T = TypeVar("T")


def community_setting(community: Community, key: str, default: T) -> T:
    value = community.settings.get(key)
    if value is None:
        return default
    if isinstance(default, bool):
        return value if isinstance(value, bool) else default  # type: ignore[return-value]
    if isinstance(default, int | float) and isinstance(value, int | float) and not isinstance(value, bool):
        return type(default)(value)
    if isinstance(default, list) and isinstance(value, list):
        return value  # type: ignore[return-value]
    if isinstance(default, str) and isinstance(value, str):
        return value  # type: ignore[return-value]
    return default
