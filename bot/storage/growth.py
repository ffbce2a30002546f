"""Growth records: invite campaigns, joins and leaves, welcome messages."""

from __future__ import annotations

from bot.domain.growth import Campaign, CampaignFigures, RecordedEvent, WelcomeRecord
from bot.storage.db import Repository
from bot.storage.rows import mapper

__all__ = ["DUPLICATE_WINDOW_S", "Campaign", "CampaignFigures", "GrowthRepository", "RecordedEvent", "WelcomeRecord"]

# A join reported by both the chat_member update and the service message is one join when
# the two reports are this close.
DUPLICATE_WINDOW_S = 120

_campaign = mapper(Campaign)
_figures = mapper(CampaignFigures, campaign=_campaign)
_welcome = mapper(WelcomeRecord)


class GrowthRepository(Repository):
    # --- campaigns -------------------------------------------------------------------

    async def add_campaign(
        self, chat_id: int, name: str, invite_link: str, *, created_by: int | None, at: int
    ) -> Campaign:
        campaign_id = await self.db.insert(
            "INSERT INTO invite_campaigns (chat_id, name, invite_link, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
            (chat_id, name, invite_link, created_by, at),
        )
        return Campaign(campaign_id, chat_id, name, invite_link, created_by, at)

    async def campaign_by_name(self, chat_id: int, name: str) -> Campaign | None:
        return await self.db.fetchone(
            "SELECT * FROM invite_campaigns WHERE chat_id = ? AND name = ? COLLATE NOCASE",
            (chat_id, name),
            into=_campaign,
        )

    async def campaign_by_link(self, invite_link: str) -> Campaign | None:
        return await self.db.fetchone(
            "SELECT * FROM invite_campaigns WHERE invite_link = ?", (invite_link,), into=_campaign
        )

    async def campaigns(self, chat_id: int) -> list[CampaignFigures]:
        return await self.db.fetchall(
            """
            SELECT c.*,
                   (SELECT COUNT(*) FROM member_events j
                     WHERE j.campaign_id = c.id AND j.kind = 'join') AS joins,
                   (SELECT COUNT(*) FROM member_events l
                     WHERE l.chat_id = c.chat_id AND l.kind = 'leave'
                       AND l.user_id IN (SELECT user_id FROM member_events j2
                                          WHERE j2.campaign_id = c.id AND j2.kind = 'join')) AS leaves,
                   (SELECT COUNT(*) FROM members m
                     WHERE m.chat_id = c.chat_id AND m.invite_link = c.invite_link
                       AND m.status IN ('member', 'administrator', 'creator', 'restricted')) AS still_members
              FROM invite_campaigns c
             WHERE c.chat_id = ?
             ORDER BY c.created_at, c.id
            """,
            (chat_id,),
            into=_figures,
        )

    # --- joins and leaves ------------------------------------------------------------

    async def record_join(
        self,
        chat_id: int,
        user_id: int,
        at: int,
        *,
        source: str,
        invite_link: str | None,
        via: str | None,
    ) -> RecordedEvent:
        """Record a join once, whichever report (chat_member or service message) comes first.

        The chat_member report carries the invite link; when it arrives second it completes
        the row the service message made.
        """
        async with self.db.transaction():
            campaign = await self.campaign_by_link(invite_link) if invite_link else None
            last = await self.db.fetchone(
                "SELECT id, kind, at, source, invite_link FROM member_events"
                " WHERE chat_id = ? AND user_id = ? ORDER BY at DESC, id DESC LIMIT 1",
                (chat_id, user_id),
            )
            if last is not None and last["kind"] == "join" and abs(int(last["at"]) - at) <= DUPLICATE_WINDOW_S:
                if invite_link and not last["invite_link"]:
                    await self.db.execute(
                        "UPDATE member_events SET invite_link = ?, campaign_id = ?, via = COALESCE(?, via),"
                        " source = ? WHERE id = ?",
                        (invite_link, campaign.id if campaign else None, via, source, last["id"]),
                    )
                    await self._set_member_link(chat_id, user_id, invite_link)
                elif last["source"] != "chat_member" and source == "chat_member" and via:
                    await self.db.execute("UPDATE member_events SET via = ? WHERE id = ?", (via, last["id"]))
                return RecordedEvent(int(last["id"]), False, campaign)
            event_id = await self.db.insert(
                "INSERT INTO member_events (chat_id, user_id, kind, at, source, invite_link, campaign_id, via)"
                " VALUES (?, ?, 'join', ?, ?, ?, ?, ?)",
                (chat_id, user_id, at, source, invite_link, campaign.id if campaign else None, via),
            )
            return RecordedEvent(event_id, True, campaign)

    async def campaign_of_join(self, chat_id: int, user_id: int) -> str | None:
        """The name of a campaign through which this member joined the chat, if any."""
        name = await self.db.fetchval(
            "SELECT c.name FROM member_events e JOIN invite_campaigns c ON c.id = e.campaign_id"
            " WHERE e.chat_id = ? AND e.user_id = ? LIMIT 1",
            (chat_id, user_id),
        )
        return None if name is None else str(name)

    async def _set_member_link(self, chat_id: int, user_id: int, invite_link: str) -> None:
        await self.db.execute(
            "UPDATE members SET invite_link = ? WHERE chat_id = ? AND user_id = ?", (invite_link, chat_id, user_id)
        )

    async def record_leave(self, chat_id: int, user_id: int, at: int, *, source: str) -> RecordedEvent:
        async with self.db.transaction():
            last = await self.db.fetchone(
                "SELECT id, kind, at FROM member_events"
                " WHERE chat_id = ? AND user_id = ? ORDER BY at DESC, id DESC LIMIT 1",
                (chat_id, user_id),
            )
            if last is not None and last["kind"] == "leave" and abs(int(last["at"]) - at) <= DUPLICATE_WINDOW_S:
                return RecordedEvent(int(last["id"]), False)
            event_id = await self.db.insert(
                "INSERT INTO member_events (chat_id, user_id, kind, at, source) VALUES (?, ?, 'leave', ?, ?)",
                (chat_id, user_id, at, source),
            )
            return RecordedEvent(event_id, True)

    async def mark_welcomed(self, event_ids: list[int]) -> None:
        await self.db.executemany("UPDATE member_events SET welcomed = 1 WHERE id = ?", [(i,) for i in event_ids])

    async def join_count(self, chat_id: int, *, since: int = 0) -> int:
        return await self.db.fetchcount(
            "SELECT COUNT(*) FROM member_events WHERE chat_id = ? AND kind = 'join' AND at >= ?", (chat_id, since)
        )

    # --- welcome messages ------------------------------------------------------------

    async def add_welcome(
        self, chat_id: int, message_id: int, *, members: int, sent_at: int, delete_at: int | None
    ) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO welcome_messages (chat_id, message_id, members, sent_at, delete_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (chat_id, message_id, members, sent_at, delete_at),
        )

    async def due_welcomes(self, now: int, *, limit: int = 100) -> list[WelcomeRecord]:
        return await self.db.fetchall(
            "SELECT chat_id, message_id, delete_at FROM welcome_messages"
            " WHERE deleted_at IS NULL AND delete_at IS NOT NULL AND delete_at <= ?"
            " ORDER BY delete_at LIMIT ?",
            (now, limit),
            into=_welcome,
        )

    async def welcome_deleted(self, chat_id: int, message_id: int, at: int) -> None:
        await self.db.execute(
            "UPDATE welcome_messages SET deleted_at = ? WHERE chat_id = ? AND message_id = ?",
            (at, chat_id, message_id),
        )
