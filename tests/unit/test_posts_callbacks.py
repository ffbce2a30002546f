"""The services build callback data as plain strings; the handlers parse it with typed CallbackData."""

from __future__ import annotations

import pytest

from bot.services.feeds import feed_action_data
from bot.services.posts import action_data
from handlers.feeds import FeedCb
from handlers.posts import DialogCb, PostCb

BIG = 2**62


@pytest.mark.parametrize("action", ["now", "cancel", "posted", "ok", "pause", "resume", "preview", "text", "time"])
def test_post_actions_round_trip_and_fit(action: str) -> None:
    data = action_data(action, BIG)
    assert data == PostCb(action=action, id=BIG).pack()
    parsed = PostCb.unpack(data)
    assert (parsed.action, parsed.id) == (action, BIG)
    assert len(data.encode()) <= 64


@pytest.mark.parametrize("action", ["approve", "edit", "skip"])
def test_feed_actions_round_trip_and_fit(action: str) -> None:
    data = feed_action_data(action, BIG)
    assert FeedCb.unpack(data) == FeedCb(action=action, id=BIG)
    assert len(data.encode()) <= 64


def test_dialog_chat_choice_fits_with_the_longest_chat_id() -> None:
    data = DialogCb(action="chat", value=-1009999999999999).pack()
    assert DialogCb.unpack(data).value == -1009999999999999
    assert len(data.encode()) <= 64


def test_forged_data_is_rejected() -> None:
    with pytest.raises(ValueError):
        PostCb.unpack("post:cancel:not-a-number")


def test_card_buttons_fit() -> None:
    from handlers.posts import PostCardCb

    data = PostCardCb(action="resume", id=BIG).pack()
    assert data.startswith("pc:") and len(data.encode()) <= 64
    assert PostCardCb.unpack(data).id == BIG
