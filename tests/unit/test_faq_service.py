"""FaqService over a real SQLite database with a fake encoder and a recording sender:
votes, cooldown, the per-member limit, modes, languages, unanswered grouping, import atomicity."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import FaqSettings
from bot.domain import Author, Community, Delivery, IncomingMessage, MessageContext, Sentiment
from bot.services.faq import GLOBAL, FaqService
from bot.services.faq_io import FaqDraft
from bot.services.questions import is_question
from bot.storage.db import Database
from bot.storage.faq import FaqRepository
from handlers.callbacks import BUTTONS
from tests.fakes import HashingEncoder, ManualClock

CHAT = -1001000000001
ANN, BOB, ADMIN = 1, 2, 3


@dataclass
class Sent:
    chat_id: int
    text: str
    kwargs: dict[str, Any]


@dataclass
class Recorder:
    sent: list[Sent] = field(default_factory=list)
    next_id: int = 1000

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Delivery:
        self.sent.append(Sent(chat_id, text, kwargs))
        self.next_id += 1
        return Delivery(True, chat_id, [self.next_id])

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Any, **kwargs: Any) -> Delivery:
        return Delivery(True, chat_id, [message_id])


class Roles:
    async def can_manage(self, chat_id: int | None, user_id: int, *, sender_chat_id: int | None = None) -> bool:
        return user_id == ADMIN


class NoMessages:
    async def get(self, chat_id: int, message_id: int) -> None:
        return None


class Clock(ManualClock[int]):
    def __init__(self) -> None:
        super().__init__(1_700_000_000)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[FaqService, Recorder, Clock]]:
    db = Database(tmp_path / "faq.db")
    await db.open()
    sender, clock = Recorder(), Clock()
    encoder = HashingEncoder()
    settings = FaqSettings(
        answer_threshold=0.65, suggest_threshold=0.45, margin=0.1, cooldown_minutes=30, member_answers_per_hour=3
    )
    service = FaqService(
        FaqRepository(db),
        settings,
        sender=sender,
        buttons=BUTTONS,
        roles=Roles(),
        messages=NoMessages(),
        encoder_loader=lambda: (encoder, "hash:512"),
        clock=clock,
    )
    await service.start()
    await service.import_drafts(
        CHAT,
        [
            FaqDraft(
                "password",
                ("How do I reset my password?", "I forgot my password"),
                "Use <i>Forgot password</i>.",
                answers={"ru": "Нажмите «Забыли пароль»."},
            ),
            FaqDraft("schedule", ("When does the next course start?",), "On the 1st."),
        ],
    )
    try:
        yield service, sender, clock
    finally:
        await service.close()
        await db.close()


_ids = iter(range(1, 10_000))


def ctx(
    text: str, user: int = ANN, *, mode: str | None = None, language_code: str = "en", mentions_bot: bool = False
) -> MessageContext:
    msg = IncomingMessage(
        CHAT,
        next(_ids),
        Author(user, "U", language_code=language_code),
        text,
        datetime.now(UTC),
        mentions_bot=mentions_bot,
    )
    settings: dict[str, object] = {"faq.mode": mode} if mode else {}
    community = Community(CHAT, "Club", "supergroup", settings=settings)
    return MessageContext(msg, community, Sentiment.unclassified(), f"m:{msg.message_id}", is_question(text))


async def test_answers_then_links_back_within_the_cooldown_then_answers_again(env: Any) -> None:
    service, sender, clock = env
    first = await service.handle(ctx("how can I reset the password for my account?"))
    assert first.action == "answer"
    assert sender.sent[-1].text == "Use <i>Forgot password</i>."
    again = await service.handle(ctx("How do I reset my password?", BOB))
    assert again.action == "cooldown"
    assert "min ago" in sender.sent[-1].text and "t.me/c/1000000001/" in sender.sent[-1].text
    clock.now += 31 * 60
    assert (await service.handle(ctx("How do I reset my password?", BOB))).action == "answer"


async def test_one_member_cannot_make_the_bot_answer_in_a_loop(env: Any) -> None:
    service, sender, clock = env
    actions = [(await service.handle(ctx("When does the next course start?"))).action for _ in range(6)]
    assert actions[:3] == ["answer", "cooldown", "cooldown"]
    assert actions[3:] == ["skipped"] * 3  # member_answers_per_hour = 3
    assert len(sender.sent) == 3
    assert (await service.handle(ctx("When does the next course start?", BOB))).action == "cooldown"
    clock.now += 3601
    assert (await service.handle(ctx("When does the next course start?"))).action == "answer"


async def test_votes_are_one_per_member(env: Any) -> None:
    service, _, _ = env
    outcome = await service.handle(ctx("I forgot my password, how do I reset it?"))
    assert outcome.action == "answer"
    answer_id = int(await service.repo.db.fetchval("SELECT MAX(id) FROM faq_answers WHERE how = 'answer'"))
    assert await service.vote(answer_id, ANN, True) == (1, 0)
    assert await service.vote(answer_id, ANN, True) == (1, 0)
    assert await service.vote(answer_id, ANN, False) == (0, 1)
    assert await service.vote(answer_id, BOB, True) == (1, 1)
    assert await service.vote(999_999, BOB, True) is None
    assert await service.vote(answer_id, BOB, True, chat_id=-100999) is None  # a button from another chat


async def test_answer_in_the_members_language_when_the_entry_has_it(env: Any) -> None:
    service, _, _ = env
    entry = next(e for e in await service.entries_for(CHAT) if e.key == "password")
    assert service.answer_text(entry, "Как сбросить пароль от аккаунта?", "en") == "Нажмите «Забыли пароль»."
    assert service.answer_text(entry, "How do I reset it?", "en") == "Use <i>Forgot password</i>."
    assert service.answer_text(entry, "איך מאפסים סיסמה?", "he") == "Use <i>Forgot password</i>."  # no he answer


async def test_modes(env: Any) -> None:
    service, sender, _ = env
    assert (await service.handle(ctx("How do I reset my password?", mode="off"))).action == "skipped"
    assert (await service.handle(ctx("How do I reset my password?", mode="mention"))).action == "skipped"
    mentioned = await service.handle(ctx("@steward_bot reset password", mode="mention", mentions_bot=True))
    assert mentioned.action == "answer"  # addressed: no question form needed
    hello = await service.handle(ctx("@steward_bot hello!", mode="mention", mentions_bot=True))
    assert hello.action == "skipped"
    assert (await service.handle(ctx("Good morning everyone!"))).action == "skipped"
    assert len(sender.sent) == 1


async def test_unanswered_questions_are_recorded_and_grouped(env: Any) -> None:
    service, sender, _ = env
    for text in [
        "Is there parking near the venue?",
        "is there any parking near the venue?",
        "Where can I buy a hoodie with the logo?",
    ]:
        assert (await service.handle(ctx(text))).action == "abstain"
    assert sender.sent == []
    groups = await service.unanswered_groups(CHAT, similarity=0.6)
    assert [len(g) for g in groups] == [2, 1]
    entry = await service.entry_from_unanswered(
        CHAT, [u.id for u in groups[0]], "Free parking behind the building.", created_by=ADMIN
    )
    assert set(entry.questions) == {"Is there parking near the venue?", "is there any parking near the venue?"}
    assert [len(g) for g in await service.unanswered_groups(CHAT, similarity=0.6)] == [1]
    assert (await service.handle(ctx("Is there parking near the venue?", BOB))).action == "answer"


async def test_import_is_all_or_nothing(env: Any) -> None:
    service, _, _ = env
    before = [e.key for e in await service.entries_for(CHAT)]
    bad = [FaqDraft("ok", ("q1",), "a"), FaqDraft("ok2", ("q2", "q3"), "a")]
    original = service.repo.save
    calls = 0

    async def failing_save(**kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full")
        return await original(**kwargs)

    service.repo.save = failing_save  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await service.import_drafts(CHAT, bad)
    service.repo.save = original  # type: ignore[method-assign]
    assert [e.key for e in await service.entries_for(CHAT)] == before


async def test_disabled_entries_do_not_answer(env: Any) -> None:
    service, _, _ = env
    entry = next(e for e in await service.entries_for(CHAT) if e.key == "schedule")
    await service.set_enabled(entry.id, False)
    assert (await service.handle(ctx("When does the next course start?"))).action == "abstain"
    await service.set_enabled(entry.id, True)
    assert (await service.handle(ctx("When does the next course start?"))).action == "answer"


async def test_a_forged_or_repeated_did_you_mean_press_posts_at_most_one_answer(env: Any) -> None:
    service, sender, clock = env
    entry = (await service.entries_for(CHAT))[0]
    # The bot suggested answers to question 77 (what _suggest records), not to any other message.
    await service.repo.record_answer(
        chat_id=CHAT,
        entry_id=None,
        thread_id=None,
        question_message_id=77,
        user_id=ANN,
        score=0.5,
        how="suggestion",
        at=clock.now,
    )

    async def press(question: int, user: int = BOB) -> str:
        return await service.pick(
            chat_id=CHAT,
            entry_id=entry.id,
            question_message_id=question,
            suggestion_message_id=5000,
            thread_id=None,
            user_id=user,
            language_code="en",
        )

    # Forged presses naming messages the bot never suggested for post nothing.
    assert [await press(q) for q in range(1, 30)] == ["gone"] * 29
    assert sender.sent == []
    # Two quick presses on the real suggestion: exactly one posts.
    results = await asyncio.gather(press(77), press(77, ANN), press(77))
    assert sorted(results) == ["already", "already", "posted"], results
    assert len(sender.sent) == 1 and sender.sent[0].kwargs["reply_to"] == 77
    assert await press(77) == "already" and len(sender.sent) == 1


# --- the calls the FAQ handlers make, one per step (no handler reaches into the repository) ---


async def test_entries_with_votes_pairs_each_entry_with_its_counts(env: Any) -> None:
    service, _, _ = env
    assert (await service.handle(ctx("I forgot my password, how do I reset it?"))).action == "answer"
    answer_id = int(await service.repo.db.fetchval("SELECT MAX(id) FROM faq_answers WHERE how = 'answer'"))
    await service.vote(answer_id, ANN, True)
    await service.vote(answer_id, BOB, False)
    listed = {entry.key: votes for entry, votes in await service.entries_with_votes(CHAT)}
    assert listed == {"password": (1, 1), "schedule": None}


async def test_entry_of_gives_a_chat_its_own_entries_and_global_ones_only_when_asked(env: Any) -> None:
    service: FaqService = env[0]
    own = next(e for e in await service.entries_for(CHAT) if e.key == "password")
    await service.import_drafts(GLOBAL, [FaqDraft("rules", ("Where are the rules?",), "Pinned.")])
    shared = next(e for e in await service.entries_for(CHAT) if e.key == "rules")
    assert shared.is_global
    assert (await service.entry_of(CHAT, own.id, global_too=False)) == own
    assert await service.entry_of(-100999, own.id, global_too=True) is None  # another chat's entry
    assert await service.entry_of(CHAT, shared.id, global_too=False) is None
    assert (await service.entry_of(CHAT, shared.id, global_too=True)) == shared
    assert await service.entry_of(CHAT, 999_999, global_too=True) is None


async def test_set_enabled_returns_the_entry_as_it_is_now(env: Any) -> None:
    service: FaqService = env[0]
    entry = next(e for e in await service.entries_for(CHAT) if e.key == "schedule")
    off = await service.set_enabled(entry.id, False)
    assert off is not None and off.id == entry.id and not off.enabled
    assert (await service.handle(ctx("When does the next course start?"))).action != "answer"
    on = await service.set_enabled(entry.id, True)
    assert on is not None and on.enabled
    await service.delete(entry.id)
    assert await service.set_enabled(entry.id, True) is None


async def test_unanswered_group_finds_the_group_of_one_question(env: Any) -> None:
    service: FaqService = env[0]
    for text in ["Is there parking near the venue?", "is there any parking near the venue?", "Any hoodies left?"]:
        assert (await service.handle(ctx(text))).action == "abstain"
    groups = await service.unanswered_groups(CHAT)
    assert groups
    for group in groups:
        for item in group:
            found = await service.unanswered_group(CHAT, item.id)
            assert found is not None and [u.id for u in found] == [u.id for u in group]
    assert await service.unanswered_group(CHAT, 999_999) is None


def test_the_faq_handlers_reach_the_faq_only_through_its_service() -> None:
    for name in ("handlers/faq.py", "handlers/faq_ui.py"):
        tree = ast.parse((Path(__file__).resolve().parents[2] / name).read_text("utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "bot.storage.faq" not in imported, name
        repo_reads = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "repo"]
        assert repo_reads == [], f"{name} reads .repo at lines {repo_reads}"
