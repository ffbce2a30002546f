"""Every button's callback data round-trips through the typed CallbackData and fits in 64 bytes."""

from __future__ import annotations

import pytest

from bot.domain.buttons import FeedAct, PostAct
from handlers.callbacks import BUTTONS, DialogAct, DialogButton, FeedButton, PostButton

BIG = 2**62


@pytest.mark.parametrize("action", ["now", "cancel", "posted", "ok", "pause", "resume", "preview", "text", "time"])
def test_post_actions_round_trip_and_fit(action: str) -> None:
    data = BUTTONS.post(PostAct(action), BIG)
    assert data == PostButton(action=PostAct(action), id=BIG).pack()
    parsed = PostButton.unpack(data)
    assert (parsed.action, parsed.id) == (action, BIG)
    assert len(data.encode()) <= 64


@pytest.mark.parametrize("action", ["approve", "edit", "skip"])
def test_feed_actions_round_trip_and_fit(action: str) -> None:
    data = BUTTONS.feed(FeedAct(action), BIG)
    assert FeedButton.unpack(data) == FeedButton(action=FeedAct(action), id=BIG)
    assert len(data.encode()) <= 64


def test_dialog_chat_choice_fits_with_the_longest_chat_id() -> None:
    data = DialogButton(action=DialogAct.CHAT, value=-1009999999999999).pack()
    assert DialogButton.unpack(data).value == -1009999999999999
    assert len(data.encode()) <= 64


def test_forged_data_is_rejected() -> None:
    with pytest.raises(ValueError):
        PostButton.unpack("post:2:cancel:not-a-number")


def test_card_buttons_fit() -> None:
    from handlers.callbacks import PostCardButton

    data = PostCardButton(action=PostAct.RESUME, id=BIG).pack()
    assert data.startswith("pc:") and len(data.encode()) <= 64
    assert PostCardButton.unpack(data).id == BIG


@pytest.mark.parametrize("old", ["post:cancel:5", "case:take:1", "post:1:cancel:5"])
def test_buttons_of_an_older_format_do_not_parse(old: str) -> None:
    from handlers.callbacks import CaseButton, is_current

    cls = CaseButton if old.startswith("case") else PostButton
    with pytest.raises((ValueError, TypeError)):
        cls.unpack(old)
    assert not is_current(old)
