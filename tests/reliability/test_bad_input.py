"""A corpus of odd, malformed and hostile updates through the real dispatcher: nothing escapes a handler,
nothing is logged as an error, and every member message keeps its row. Plus hypothesis on the parsers."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.faq_io import FaqFileError, parse_toml
from bot.services.schedule import ScheduleError, parse_at, parse_schedule
from tests.harness import app_idle
from tests.reliability.support import (
    ANONYMOUS_ADMIN,
    MANAGER,
    TELEGRAM,
    callback,
    callback_prefixes,
    commands,
    feed,
    group,
    logged_errors,
    message,
    private,
    steward,
    update,
)
from tests.waiting import wait_until

G = -1001700000001
FORUM = -1001700000002
OLD = -4700000003  # a basic group that becomes the supergroup NEW
NEW = -1001700000003
CHANNEL = -1001700000099
ADMIN, MEMBER = 600, 601

BAD_ARGS = [
    "",
    " ",
    "0",
    "-1",
    "#",
    "#abc",
    "99999999999999999999999999",
    "1e9",
    "nan",
    "'; DROP TABLE messages;--",
    "<b>unclosed",
    "&amp;&",
    "\u202e\u05e9\u05dc\u05d5\u05dd",
    "\u200b\u200c\u200d\ufeff",
    "x" * 3000,
    "²",
    "#²",
    "1²",
    "١٢",
    "on off maybe",
    "%s %d {0}",
    "\x00",
    "🤖" * 50,
    "@someone_else_bot",
    "http://127.0.0.1:9/feed.xml",
]


def member_corpus() -> list[dict[str, Any]]:
    """Group traffic that must be stored (each dict is a raw update)."""
    g, forum = group(G), group(FORUM, forum=True)
    out = [
        update("message", message(g, MEMBER, "")),
        update("message", message(g, MEMBER, "x" * 4096)),
        update("message", message(g, MEMBER, "слово " * 800)),  # 4800 chars
        update("message", message(g, MEMBER, "\u200b\u200c\u200d\ufeff")),
        update("message", message(g, MEMBER, "\u202eשלום, מה עם ההחזר? \u202c refund?")),
        update("message", message(g, MEMBER, "😀😡🔥" * 30)),
        update("message", message(g, MEMBER, "<b>not html</b> &amp; <script>alert(1)</script> ?")),
        update("message", message(g, MEMBER, "null \x00 byte and \ud7ff edge")),
        update("message", message(g, MEMBER, "@steward_test_bot how do I reset my password?")),
        update(
            "message",
            message(
                g,
                MEMBER,
                "reply to a message we never saw",
                reply_to_message={"message_id": 1, "date": 1, "chat": g, "text": "old"},
            ),
        ),
        update("message", message(g, MEMBER, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}])),
        update(
            "message",
            message(
                g,
                MEMBER,
                sticker={
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                },
            ),
        ),
        update(
            "message",
            message(
                g,
                MEMBER,
                caption="caption with a question?",
                document={"file_id": "d", "file_unique_id": "d", "file_name": "x.pdf"},
            ),
        ),
        # An anonymous admin writes as the group itself.
        update("message", message(g, ANONYMOUS_ADMIN, "scam scam scam, worst", sender_chat=g)),
        # The linked channel's automatic forward.
        update(
            "message",
            message(
                g,
                TELEGRAM,
                "Channel news: we launched!",
                is_automatic_forward=True,
                sender_chat={"id": CHANNEL, "type": "channel", "title": "News"},
            ),
        ),
        # Forum: General (no thread id), a topic message, a reply inside a topic.
        update("message", message(forum, MEMBER, "hello in General")),
        update(
            "message",
            message(
                forum,
                MEMBER,
                "this is terrible",
                message_thread_id=7,
                is_topic_message=True,
                reply_to_message={
                    "message_id": 7,
                    "date": 1,
                    "chat": forum,
                    "forum_topic_created": {"name": "T", "icon_color": 1},
                },
            ),
        ),
    ]
    return out


def other_corpus() -> list[dict[str, Any]]:
    """Updates that need no row of their own but must not break anything."""
    g, forum = group(G), group(FORUM, forum=True)
    base = message(g, MEMBER, "original text")
    edited = dict(base, text="edited to something awful, worst scam", edit_date=1_767_225_700)
    return [
        update("message", base),
        update("edited_message", edited),
        update("edited_message", message(g, MEMBER, "edit of a message we never saw", edit_date=1)),
        update(
            "channel_post",
            {"message_id": 5, "date": 1, "chat": {"id": CHANNEL, "type": "channel", "title": "News"}, "text": "post"},
        ),
        update(
            "edited_channel_post",
            {"message_id": 5, "date": 1, "chat": {"id": CHANNEL, "type": "channel", "title": "News"}, "text": "post!"},
        ),
        update(
            "message",
            message(
                forum,
                MEMBER,
                forum_topic_created={"name": "New", "icon_color": 1},
                message_thread_id=9,
                is_topic_message=True,
            ),
        ),
        update("message", message(forum, MEMBER, forum_topic_closed={}, message_thread_id=9, is_topic_message=True)),
        update("message", message(g, MEMBER, new_chat_members=[{"id": 777, "is_bot": False, "first_name": ""}])),
        update("message", message(g, MEMBER, left_chat_member={"id": 777, "is_bot": False, "first_name": "x"})),
        update("message", message(g, MEMBER, pinned_message={"message_id": 1, "date": 0, "chat": g})),
        update(
            "message_reaction_count",
            {
                "chat": g,
                "message_id": 1,
                "date": 1,
                "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 3}],
            },
        ),
        update("message", message(private(MEMBER), MEMBER, "hello bot")),
        update(
            "message",
            message(private(MEMBER), MEMBER, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]),
        ),
    ]


async def test_corpus_never_crashes_and_keeps_every_message(tmp_path: Path) -> None:
    with logged_errors() as errors:
        async with steward(tmp_path, {G: {ADMIN}, FORUM: {ADMIN}, OLD: {ADMIN}, NEW: {ADMIN}}) as app:
            stored = member_corpus()
            escaped = []
            for raw in stored + other_corpus():
                exc = await feed(app, raw)
                if exc is not None:
                    escaped.append((raw, exc))
            # A group migrated to a supergroup: both service messages, then traffic under the new id.
            for raw in (
                update("message", message(group(OLD, kind="group"), MEMBER, "before the move")),
                update("message", message(group(OLD, kind="group"), MEMBER, migrate_to_chat_id=NEW)),
                update("message", message(group(NEW), MEMBER, migrate_from_chat_id=OLD)),
                update("message", message(group(NEW), MEMBER, "after the move")),
            ):
                exc = await feed(app, raw)
                if exc is not None:
                    escaped.append((raw, exc))
            await wait_until(lambda: app_idle(app), what="the bot to finish the corpus")
            assert escaped == []
            for raw in stored:
                msg = raw["message"]
                row = await app.messages.get(msg["chat"]["id"], msg["message_id"])
                assert row is not None, msg
                assert row.text == msg.get("text", msg.get("caption", ""))
            edited = await app.db.fetchone("SELECT text, edited_at FROM messages WHERE text LIKE 'edited to%'")
            assert edited is not None and edited["edited_at"] is not None
            texts = {r["text"] for r in await app.db.fetchall("SELECT text FROM messages WHERE chat_id = ?", (NEW,))}
            assert {"before the move", "after the move"} <= texts
            new = await app.communities.get(NEW)
            assert new is not None and new.is_active
    assert errors.lines() == []


async def test_every_command_with_malformed_arguments(tmp_path: Path) -> None:
    with logged_errors() as errors:
        async with steward(tmp_path, {G: {ADMIN}}) as app:
            found = commands(app.dispatcher)
            assert {"start", "help", "queue", "case", "faq_add", "faq_del", "stats", "newpost"} <= found
            escaped = []
            chats = [
                (group(G), MEMBER),
                (group(G), ADMIN),
                (group(G), MANAGER),
                (private(MANAGER), MANAGER),
                (private(MEMBER), MEMBER),
                (group(G), ANONYMOUS_ADMIN),
            ]
            for name in sorted(found):
                for n, arg in enumerate(BAD_ARGS):
                    for suffix in ("", "@steward_test_bot", "@other_bot")[n % 3 : n % 3 + 1]:
                        chat, sender = chats[(len(arg) + len(suffix) + len(name)) % len(chats)]
                        extra = {"sender_chat": chat} if sender == ANONYMOUS_ADMIN else {}
                        text = f"/{name}{suffix} {arg}".rstrip() if arg.strip() else f"/{name}{suffix}"
                        exc = await feed(app, update("message", message(chat, sender, text, **extra)))
                        if exc is not None:
                            escaped.append((text[:80], repr(exc)))
                        # Dialogs started by a command are left again, so the next command is a command.
                        await feed(app, update("message", message(chat, sender, "/cancel")))
            assert escaped == [], "\n".join(f"{t!r}: {e}" for t, e in escaped)
            assert await app.db.integrity_check() == "ok"
    assert errors.lines() == []


async def test_old_and_forged_buttons(tmp_path: Path) -> None:
    with logged_errors() as errors:
        async with steward(tmp_path, {G: {ADMIN}}) as app:
            prefixes = callback_prefixes()
            assert {"case", "fqp", "fqv", "fqs", "fqe", "fqg", "post", "np"} <= set(prefixes)
            forged = [
                "",
                ":",
                "x" * 64,
                "case",
                "🤖",
                "\x00:1",
                "case:take",
                "case:take:1:2:3",
                "case:take:-1",
                "case:take:99999999999999999999",
                "case:explode:1",
                "case:take:abc",
                "fqv:1:maybe",
                "fqs:-1:-1:-1",
                "post:delete:0",
                "np:save",
                "np:chat:1:2",
            ]
            for prefix in prefixes:
                forged += [
                    f"{prefix}:",
                    f"{prefix}:1",
                    f"{prefix}:1:1:1:1:1",
                    f"{prefix}:{'9' * 40}",
                    f"{prefix}:x:y",
                    f"{prefix}:1:1",
                ]
            escaped = []
            before = await snapshot(app)
            for data in forged:
                for chat, sender in ((group(G), MEMBER), (private(MANAGER), MANAGER), (group(DESK_CHAT), MEMBER)):
                    exc = await feed(app, callback(chat, sender, data[:64]))
                    if exc is not None:
                        escaped.append((data, repr(exc)))
            assert escaped == [], "\n".join(f"{t!r}: {e}" for t, e in escaped)
            assert await snapshot(app) == before  # no case, entry, post or setting changed
            # Every press got an answer (no spinning button).
            answers = [m for m in app.bot.session.journal if type(m).__name__ == "AnswerCallbackQuery"]
            assert answers, "forged presses should be answered"
    assert errors.lines() == []


DESK_CHAT = -1009000000009


async def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in ("cases", "faq_entries", "faq_answers", "posts", "communities"):
        rows = await app.db.fetchall(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 - fixed table names
        out[table] = [tuple(r) for r in rows]
    return out


# --- import files with errors ------------------------------------------------------------------

BAD_FAQ_FILES = [
    "",
    "not toml [[[",
    "[[faq]]",
    "[[faq]]\nid = 'x'",
    "[[faq]]\nid='a'\nquestions=[]\nanswer='x'",
    "[[faq]]\nid='a'\nquestions=['q?']\nanswer='<b>unclosed'",
    "[[faq]]\nid='a'\nquestions='q'\nanswer='a'",
    "faq = 3",
    "[[faq]]\nid='a'\nquestions=['q?']\nanswer=''\n[[faq]]\nid='a'\nquestions=['q?']\nanswer='b'",
    "[[other]]\nx=1",
    "[[faq]]\nid=1\nquestions=[1,2]\nanswer=[]",
]


@pytest.mark.parametrize("text", BAD_FAQ_FILES)
def test_faq_files_with_errors_are_reported_not_raised(text: str) -> None:
    try:
        drafts, problems = parse_toml(text)
    except FaqFileError as exc:
        assert str(exc)
        return
    assert problems or drafts
    for problem in problems:
        assert str(problem)


async def test_post_files_with_errors_are_reported_and_store_nothing(tmp_path: Path) -> None:
    from bot.services.posts_io import ImportError_, parse_file

    async with steward(tmp_path, {G: {ADMIN}}) as app:
        now = datetime.now(UTC)
        bad = [
            {"post": "nope"},
            {"post": [{}]},
            {"post": [{"chat": G, "text": "x", "at": "yesterday at noon"}]},
            {"post": [{"chat": G, "text": "x", "cron": "61 25 * * *"}]},
            {"post": [{"chat": G, "text": "", "at": "2099-01-01 10:00"}]},
            {"post": [{"chat": G, "text": "x", "at": "2099-01-01 10:00", "timezone": "Mars/Olympus"}]},
            {"post": [{"chat": "G", "text": "x", "at": "2099-01-01 10:00"}]},
            {"post": [{"chat": G, "text": "x", "at": "2099-01-01 10:00", "buttons": "click"}]},
            {"post": [{"chat": G, "text": "x", "at": "2000-01-01 10:00"}]},
            {"posts": []},
        ]
        for data in bad:
            with pytest.raises(ImportError_) as info:
                await parse_file(app.posts, data, now=now)
            assert info.value.args and all(str(e) for e in info.value.args[0]), data
        assert await app.db.fetchval("SELECT COUNT(*) FROM posts") == 0


# --- hypothesis: the parsers only ever raise their own, explained errors -------------------------

TZ = ZoneInfo("Asia/Jerusalem")
SCHEDULE_WORDS = st.sampled_from(
    [
        "every",
        "day",
        "monday",
        "at",
        "10:00",
        "25:99",
        "*/5",
        "*",
        "0",
        "9",
        "mon-fri",
        "weekday",
        "month",
        "1st",
        "-1",
        "in",
        "minutes",
        "2026-03-27",
        "02:30",
        ",",
        "L",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.lists(SCHEDULE_WORDS, max_size=7).map(" ".join)))
def test_schedule_parsers_raise_only_schedule_errors(text: str) -> None:
    for parse in (parse_schedule, parse_at):
        try:
            parse(text, TZ)
        except ScheduleError as exc:
            assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_stats_and_button_argument_parsers_never_raise(text: str) -> None:
    from aiogram.utils.i18n import I18n

    from bot.i18n import DEFAULT, DOMAIN, LOCALES_DIR
    from handlers.growth import _parse_stats_args
    from handlers.posts import parse_buttons

    i18n = I18n(path=LOCALES_DIR, default_locale=DEFAULT, domain=DOMAIN)
    with i18n.context(), i18n.use_locale("en"):
        _parse_stats_args(text)
        result = parse_buttons(text)
    assert isinstance(result, (list, str))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    name=st.sampled_from(
        [
            "case",
            "shadow_report",
            "escalation",
            "faq_edit",
            "faq_del",
            "faq_mode",
            "stats",
            "welcome",
            "welcome_delete",
            "invite_new",
            "post",
            "unanswered",
        ]
    ),
    arg=st.text(max_size=40).filter(lambda s: not re.search(r"[\r\n]", s)),
)
def test_command_arguments_through_the_dispatcher(
    tmp_path_factory: pytest.TempPathFactory, name: str, arg: str
) -> None:
    async def run() -> None:
        async with steward(tmp_path_factory.mktemp("h"), {G: {ADMIN}}) as app:
            for chat, sender in ((group(G), ADMIN), (private(MANAGER), MANAGER), (group(G), MEMBER)):
                exc = await feed(app, update("message", message(chat, sender, f"/{name} {arg}")))
                assert exc is None, exc

    asyncio.run(run())
