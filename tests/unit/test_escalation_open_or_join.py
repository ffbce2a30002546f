"""The escalation hooks moderation uses: open_or_join (one entry point to open a case with a reason or join the
thread's case) and card extensions (extra lines and button rows on a card)."""

from __future__ import annotations

from bot.domain import Button, Keyboard
from bot.domain.cases import Case
from bot.services.escalation import CaseReason
from tests.unit.test_escalation_service import World, open_pile_on, world  # noqa: F401 - the fixture


async def test_a_reason_opens_a_live_case_even_over_a_shadow_one(world: World) -> None:  # noqa: F811
    world.service.settings = world.service.settings.model_copy(update={"observe": True})
    root = await world.say(11, "this is terrible", "negative", 0.75)  # shadow mode: a would-be case, nobody told
    await world.say(12, "terrible for me too", "negative", 0.75, reply_to=root, reply_to_user=11)
    await world.say(13, "awful, nothing works", "negative", 0.75, reply_to=root, reply_to_user=11)
    [shadow] = await world.cases.active(shadow=True)
    assert world.desk.posts == []
    seen: list[int] = []

    async def before(case: Case) -> None:
        seen.append(case.id)

    case, opened = await world.service.open_or_join(
        chat_id=shadow.chat_id,
        thread_key=shadow.thread_key,
        topic_id=None,
        live=True,
        before_card=before,
        reason=CaseReason(reasons=("report",), detail="reported by 1 members", trigger_message_id=2, severity=0.6),
    )
    assert opened and not case.shadow and case.reasons == ("report",) and case.severity == 0.6
    assert seen == [case.id] and len(world.desk.posts) == 1  # the hook ran before the one card was drawn
    old = await world.cases.get(shadow.id)
    assert old is not None and old.state == "expired"


async def test_joining_adds_the_reason_and_edits_the_card(world: World) -> None:  # noqa: F811
    case_id = await open_pile_on(world)
    live = await world.cases.get(case_id)
    assert live is not None
    edits = len(world.outbox.edits)
    case, opened = await world.service.open_or_join(
        chat_id=live.chat_id,
        thread_key=live.thread_key,
        topic_id=None,
        live=True,
        reason=CaseReason(reasons=("spam",), detail="possible spam", trigger_message_id=3, severity=0.99),
    )
    assert not opened and case.id == case_id and case.reasons[-1] == "spam" and case.severity == 0.99
    assert len(world.desk.posts) == 1 and len(world.outbox.edits) > edits


async def test_card_extensions_add_lines_and_rows(world: World) -> None:  # noqa: F811
    case_id = await open_pile_on(world)

    class Extension:
        async def extend_card(self, case: Case) -> tuple[list[str], Keyboard]:
            return [f"extra line for #{case.id}"], [[Button("Extra", callback_data=f"x:{case.id}")]]

    world.service.card_extensions.append(Extension())
    case = await world.cases.get(case_id)
    assert case is not None
    text, keyboard = await world.service.render(case)
    assert f"extra line for #{case_id}" in text
    assert keyboard is not None and keyboard[0][0].text == "Extra" and keyboard[1][0].text == "Take"
