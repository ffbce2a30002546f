"""Per-community quotas ([quotas] feeds, faq_entries, scheduled_posts): a community past one is refused a
new feed, FAQ entry or scheduled post with a clear reply, so nobody can fill the database or the bot's
time through one group."""

from __future__ import annotations


class QuotaReached(ValueError):
    """``kind`` ("feeds", "faq_entries", "scheduled_posts") is at ``limit`` in this community."""

    def __init__(self, kind: str, limit: int, message: str | None = None) -> None:
        super().__init__(message or f"this community has reached its limit of {limit} {kind} (quotas.{kind})")
        self.kind = kind
        self.limit = limit
