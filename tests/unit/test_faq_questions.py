"""Question detection in English, Russian and Hebrew: questions trigger, small talk and statements never do."""

from __future__ import annotations

import pytest

from bot.services.questions import is_question, is_small_talk

QUESTIONS = [
    # en
    "How do I reset my password?",
    "how do i reset my password",
    "Hi all, how do I reset my password?",
    "Where is the meetup this Friday",
    "Can I get a refund for the course?",
    "is there parking near the venue",
    "Anyone know when the next cohort starts",
    "the link is broken, where can I find the slides?",
    "Thanks! And what time does it start?",
    # ru
    "Как сбросить пароль?",
    "подскажите где найти расписание занятий",
    "Привет! Где можно скачать материалы?",
    "Можно ли вернуть деньги за курс",
    "Спасибо! А когда следующий поток?",
    # he
    "איך מאפסים את הסיסמה?",
    "מתי מתחיל המחזור הבא",
    "שלום, איפה אפשר למצוא את ההקלטות?",
    "האם יש חניה ליד המקום",
]

NOT_QUESTIONS = [
    # greetings, thanks, chit-chat (also with question marks)
    "Hi",
    "Hello everyone!",
    "Good morning all!",
    "Thanks!",
    "thank you so much",
    "How are you?",
    "what's up?",
    "anyone here?",
    "lol?",
    "really?",
    "ok",
    "👍",
    "",
    "Привет всем",
    "Спасибо большое!",
    "Как дела?",
    "Доброе утро, друзья!",
    "Что нового?",
    "שלום לכולם",
    "תודה רבה!",
    "מה נשמע?",
    "בוקר טוב חברים",
    "מה שלומך?",
    # statements
    "The meetup is on Friday.",
    "I reset my password yesterday.",
    "Do not post links here.",
    "Will be there at 5.",
    "What a great day!",
    "Как и обещали, встреча в пятницу.",
    "Какой классный день!",
    "Я вчера сбросил пароль.",
    "המפגש ביום שישי.",
    "איזה כיף היום!",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_are_detected(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize("text", NOT_QUESTIONS)
def test_small_talk_and_statements_never_trigger(text: str) -> None:
    assert not is_question(text)


def test_small_talk_helper() -> None:
    assert is_small_talk("Hello everyone!")
    assert is_small_talk("спасибо")
    assert is_small_talk("מה נשמע")
    assert not is_small_talk("refund policy please")
