"""Synthetic group traffic as raw Bot API updates, shared by the pipeline benchmark and the load tests.

Varied, realistic texts in English, Russian and Hebrew: small talk, statements, questions that match
the seeded FAQ (``SEED_FAQ``), questions it does not cover, negative and very negative messages (they
trip escalation), replies to earlier messages, and a forum supergroup with topics. Deterministic for a
given seed, so runs compare.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.services.faq_io import FaqDraft

EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: the default start; tests and benchmarks pass "now"

SEED_FAQ: list[FaqDraft] = [
    FaqDraft(
        "reset-password",
        (
            "How do I reset my password?",
            "I forgot my password, how can I change it?",
            "Как сбросить пароль?",
            "איך מאפסים סיסמה?",
        ),
        "Open Settings → Account → <b>Reset password</b> and follow the e-mail link.",
    ),
    FaqDraft(
        "refund-policy",
        ("How do I get a refund?", "What is your refund policy?", "Как вернуть деньги?", "איך מקבלים החזר כספי?"),
        "Refunds are possible within 14 days: write to support@example.com with your order number.",
    ),
    FaqDraft(
        "opening-hours",
        ("When is the office open?", "What are your opening hours?", "Когда работает офис?", "מתי המשרד פתוח?"),
        "Mon–Fri 9:00–18:00 (Tel Aviv time).",
    ),
    FaqDraft(
        "meetup-place",
        ("Where is the next meetup?", "Where do we meet on Friday?", "Где будет встреча?", "איפה המפגש הבא?"),
        "At the community hub, 12 Herzl St., 2nd floor.",
    ),
    FaqDraft(
        "api-key",
        ("Where do I find my API key?", "How do I get an API token?", "Где взять API ключ?", "איפה מוצאים מפתח API?"),
        "Dashboard → Developers → API keys.",
    ),
]

TEXTS: dict[str, list[str]] = {
    "chatter": [
        "Good morning everyone!",
        "Thanks a lot, that helped.",
        "lol",
        "See you all on Friday",
        "I just pushed the new version, have a look when you can.",
        "The slides from yesterday are in the drive.",
        "Всем привет!",
        "Спасибо, очень помогло.",
        "Отличная новость, поздравляю команду",
        "Я загрузил отчёт в общую папку.",
        "בוקר טוב לכולם",
        "תודה רבה, זה עזר",
        "המצגת מאתמול בתיקייה המשותפת",
        "👍👍",
        "😂😂😂",
        "ok",
        "Great job on the release, love the new dashboard",
    ],
    "faq": [
        "How do I reset my password?",
        "hey, how can I reset the password on my account?",
        "Where do I find the API key?",
        "When is the office open on weekdays?",
        "Where is the next meetup?",
        "Как сбросить пароль от аккаунта?",
        "Подскажите, где взять API ключ?",
        "Когда работает офис?",
        "איך מאפסים את הסיסמה?",
        "איפה המפגש הבא?",
        "What is the refund policy?",
    ],
    "question": [
        "Does anyone know a good pizza place near the hub?",
        "How do I export my data to CSV?",
        "Is the mobile app available on Android?",
        "Кто-нибудь знает, как настроить вебхуки?",
        "Почему не приходят уведомления на почту?",
        "מישהו יודע איך מחברים את זה לסלאק?",
        "Can I change the language of the interface?",
        "What time does the workshop start tomorrow?",
    ],
    "negative": [
        "This is terrible, the app crashed again and I lost my work.",
        "I'm really disappointed with the support, nobody answers.",
        "Это ужасно, опять ничего не работает.",
        "זה נורא, שוב הכל נפל",
        "The update broke everything, so annoying.",
    ],
    "very_negative": [
        "This is a scam, I want my money back NOW. Worst service ever.",
        "I hate this, absolutely the worst experience, I'm furious.",
        "Это обман, верните деньги, ненавижу этот сервис!",
        "אני שונא את השירות הזה, הכי גרוע שיש",
    ],
}
MIX = [("chatter", 0.55), ("faq", 0.12), ("question", 0.10), ("negative", 0.15), ("very_negative", 0.03)]
REPLY_SHARE = 0.30


@dataclass
class Traffic:
    """Generates message updates over ``groups`` plain supergroups and one forum supergroup."""

    groups: int = 3
    users_per_group: int = 40
    seed: int = 7
    first_update_id: int = 1
    first_user_id: int = 10_000
    forum_topics: tuple[int, ...] = (2, 3, 4)
    start: int = EPOCH  # unix date of the first message; one second passes every 50 messages
    _rng: random.Random = field(init=False)
    _next_update: int = field(init=False)
    _next_message: dict[int, int] = field(init=False, default_factory=dict)
    _recent: dict[int, list[tuple[int, int, int | None]]] = field(init=False, default_factory=dict)
    count: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._next_update = self.first_update_id

    @property
    def chat_ids(self) -> list[int]:
        return [-1001000000000 - i for i in range(self.groups)] + [self.forum_id]

    @property
    def forum_id(self) -> int:
        return -1002000000000

    def chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id == self.forum_id:
            return {"id": chat_id, "type": "supergroup", "title": "Forum club", "is_forum": True}
        return {"id": chat_id, "type": "supergroup", "title": f"Club {-chat_id % 1000}"}

    def user(self, chat_id: int, n: int) -> dict[str, Any]:
        uid = self.first_user_id + (abs(chat_id) % 97) * 1000 + n
        return {"id": uid, "is_bot": False, "first_name": f"Member{n}", "language_code": "en"}

    def pick_kind(self) -> str:
        r = self._rng.random()
        acc = 0.0
        for kind, share in MIX:
            acc += share
            if r < acc:
                return kind
        return "chatter"

    def next_update(self, *, kind: str | None = None, chat_id: int | None = None) -> dict[str, Any]:
        rng = self._rng
        chat_id = chat_id if chat_id is not None else rng.choice(self.chat_ids)
        kind = kind or self.pick_kind()
        text = rng.choice(TEXTS[kind])
        user = self.user(chat_id, rng.randrange(self.users_per_group))
        mid = self._next_message.get(chat_id, 100) + 1
        self._next_message[chat_id] = mid
        message: dict[str, Any] = {
            "message_id": mid,
            "date": self.start + self.count // 50,
            "chat": self.chat(chat_id),
            "from": user,
            "text": text,
        }
        recent = self._recent.setdefault(chat_id, [])
        if chat_id == self.forum_id:
            topic = rng.choice(self.forum_topics)
            message["message_thread_id"] = topic
            message["is_topic_message"] = True
            message["reply_to_message"] = {
                "message_id": topic,
                "date": EPOCH,
                "chat": self.chat(chat_id),
                "forum_topic_created": {"name": f"Topic {topic}", "icon_color": 7322096},
            }
        elif recent and rng.random() < REPLY_SHARE:
            rid, ruid, _thread = rng.choice(recent[-20:])
            message["reply_to_message"] = {
                "message_id": rid,
                "date": EPOCH,
                "chat": self.chat(chat_id),
                "from": {"id": ruid, "is_bot": False, "first_name": "Member"},
                "text": "…",
            }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        recent.append((mid, user["id"], message.get("message_thread_id")))
        if len(recent) > 200:
            del recent[:100]
        update = {"update_id": self._next_update, "message": message}
        self._next_update += 1
        self.count += 1
        return update

    def updates(self, n: int) -> Iterator[dict[str, Any]]:
        for _ in range(n):
            yield self.next_update()
