"""Growth: invite campaigns, recorded joins and leaves, welcome messages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    chat_id: int
    name: str
    invite_link: str
    created_by: int | None
    created_at: int
    revoked_at: int | None = None


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    campaign: Campaign
    joins: int
    leaves: int  # of the members who joined through it
    still_members: int


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """What recording a join or leave did."""

    event_id: int
    is_new: bool  # False: a second report of an event we already had
    campaign: Campaign | None = None


@dataclass(frozen=True, slots=True)
class WelcomeRecord:
    chat_id: int
    message_id: int
    delete_at: int | None
