"""What one message is about, from the multilingual encoder: prototypes compared by cosine.

Each *need* (a money complaint, a refund, an outage …) and each kind of *ordinary talk* (the weather,
one's own learning, a joke, thanks, a how-to question) is described by a handful of short prototype
sentences in English, Russian and Hebrew. A message is embedded once (multilingual-e5, the FAQ's
encoder) and compared with every prototype; a class scores the mean of its best two cosines. A need
fires when it beats every class of ordinary talk by ``need_margin``; the message is *outside* (about
something this community does not control) when an outside class wins.

Because the encoder is multilingual, a Russian complaint meets the English prototypes too: the
lists in three languages make each class robust, they are not translations that must be kept in
step. The prototypes describe kinds of messages in general words; they are not the benchmark's
threads.

When the trained head (``models/escalation_head.py``: a softmax layer on the same vectors, trained on
the prototypes and the development threads) is present, it decides instead: a message's *margin* is
then the head's probability of its likeliest need minus that of ordinary talk (or of an outside
topic), so ``need_margin`` and ``urgent_margin`` are probability differences. Without the head file
the prototype cosines above decide, as before.

No I/O here: :class:`SignalModel` gets the prototype vectors from whoever owns the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "HEAD_CLASSES",
    "NEEDS",
    "ORDINARY",
    "URGENT_NEEDS",
    "MessageSignals",
    "Need",
    "SignalModel",
    "prototype_texts",
]

Vectors = npt.NDArray[np.float32]


class Need(StrEnum):
    BILLING = "billing"
    REFUND = "refund"
    OUTAGE = "outage"
    DATA_LOSS = "data_loss"
    NO_SHOW = "no_show"
    LEAVE_THREAT = "leave_threat"
    HARASSMENT = "harassment"
    SAFETY = "safety"
    STAFF_QUESTION = "staff_question"
    CHASING = "chasing"  # "I asked twice already, still no answer"


# Needs that open a case at once, without waiting for a peer to settle them.
URGENT_NEEDS = frozenset({Need.HARASSMENT, Need.SAFETY, Need.DATA_LOSS, Need.LEAVE_THREAT})

NEED_PROTOTYPES: dict[Need, tuple[str, ...]] = {
    Need.BILLING: (
        "I was charged twice for the same payment",
        "you took more money from my card than the price",
        "the subscription price went up without any notice",
        "I was billed again after I cancelled my plan",
        "there is a wrong charge on my card, explain this payment",
        "с меня списали деньги дважды за одну оплату",
        "списали больше денег, чем стоит тариф",
        "после отмены подписки снова списали деньги с карты",
        "непонятное списание с карты, объясните откуда",
        "חייבו אותי פעמיים על אותו תשלום",
        "ירד לי מהכרטיס סכום גבוה יותר מהמחיר",
        "חייבו אותי שוב אחרי שביטלתי את המנוי",
        "יש חיוב לא ברור בכרטיס האשראי",
    ),
    Need.REFUND: (
        "I want a refund, give me my money back",
        "how do I cancel and get my money back",
        "the event was cancelled, will we get our payment back",
        "return the deposit we paid",
        "я хочу вернуть деньги и отказаться",
        "как оформить возврат денег",
        "мероприятие отменили, вернут ли оплату",
        "верните деньги за то, что не получил",
        "אני רוצה החזר כספי",
        "איך מבטלים ומקבלים את הכסף בחזרה",
        "האירוע בוטל, יחזירו לנו את הכסף ששילמנו",
        "תחזירו לי את הכסף",
    ),
    Need.OUTAGE: (
        "the service is down, I cannot log in",
        "the app is not working for anyone since this morning",
        "nothing loads, error on the website, is it down",
        "all devices show offline, the system stopped working",
        "сервис не работает, не могу войти",
        "приложение лежит, ничего не грузится",
        "у всех не работает, ошибка на сайте",
        "השירות לא עובד, אי אפשר להתחבר",
        "האפליקציה נפלה, שום דבר לא נטען",
        "המערכת לא עובדת לאף אחד מהבוקר",
    ),
    Need.DATA_LOSS: (
        "all my data disappeared after the update",
        "my saved work and files are gone, the account is empty",
        "my photos were deleted, can you restore them",
        "my submitted assignments and feedback vanished",
        "my progress was reset and everything is lost",
        "после обновления пропали все мои данные",
        "исчезли все мои фотографии и файлы",
        "пропали сданные работы, можно восстановить",
        "всё удалилось, аккаунт пустой",
        "כל הנתונים שלי נמחקו אחרי העדכון",
        "העבודות שהגשתי נעלמו מהמערכת",
        "התמונות שלי נמחקו, אפשר לשחזר",
        "הכל נעלם, החשבון ריק",
    ),
    Need.NO_SHOW: (
        "the teacher did not show up to the lesson",
        "we are waiting and the host never came, nobody told us",
        "the technician promised for today never arrived",
        "the session did not start, nobody is here",
        "преподаватель не пришёл на занятие",
        "ждём, а ведущего нет, никто не предупредил",
        "мастер обещал прийти сегодня и не пришёл",
        "המורה לא הגיעה לשיעור",
        "אנחנו מחכים ואף אחד לא הגיע, לא הודיעו לנו",
        "הטכנאי שהבטיחו היום לא הגיע",
    ),
    Need.LEAVE_THREAT: (
        "if this is not fixed I will leave and write a public review",
        "I'm cancelling my membership and telling everyone how you treat customers",
        "I will post a bad review everywhere",
        "если не исправите, уйду и напишу отзыв",
        "отменяю подписку и напишу плохой отзыв публично",
        "אם זה לא יסודר אני עוזב ומפרסם ביקורת",
        "אני מבטל את המנוי וכותב על זה פוסט פומבי",
    ),
    Need.HARASSMENT: (
        "you are pathetic and stupid, get out of here",
        "nobody wants you here, you look ridiculous, shut up",
        "I will find you and hurt you",
        "stop messaging me, I said I'm not interested",
        "ты дебил и позорище, убирайся отсюда",
        "ещё раз напишешь, я тебе морду набью",
        "никому ты тут не нужна, сиди дома",
        "אתה מטומטם ופתטי, תעוף מפה",
        "אף אחד לא רוצה אותך פה, מכוערת",
        "אני אחכה לך ואפגע בך",
    ),
    Need.SAFETY: (
        "someone is hurt and we called an ambulance",
        "there is a dangerous gas smell, call emergency",
        "exposed electric wires where children play",
        "a stranger followed me and I feel unsafe",
        "a person is missing and not answering the phone",
        "broken equipment could injure someone",
        "человек упал и травмировался, вызвали скорую",
        "опасно, чуть не попало в ребёнка, нужно срочно огородить",
        "пахнет газом в подъезде",
        "מישהו נפצע והזמנו אמבולנס",
        "יש ריח של גז, זה מסוכן",
        "חוטי חשמל חשופים ליד ילדים",
        "מישהו נעדר ולא עונה לטלפון",
    ),
    Need.STAFF_QUESTION: (
        "can the organisers tell us whether the fee changes this year",
        "will we get a certificate, who decides this",
        "is it allowed to transfer to another group without paying extra",
        "where is our personal data stored, I need it for an agreement",
        "who from the management can answer this",
        "will there be compensation for the days without service",
        "можно ли перевестись в другую группу без доплаты",
        "будет ли перерасчёт, кто из руководства может ответить",
        "выдаёте ли вы сертификат об окончании",
        "какой взнос утвердило правление",
        "אפשר לעבור לקבוצה אחרת בלי תשלום נוסף",
        "האם יש תעודה בסוף, מי מחליט",
        "האם התשלום עולה השנה, למי פונים",
        "מי מהוועד יכול לענות על זה",
    ),
    Need.CHASING: (
        "I have asked this several times and nobody answers",
        "still no reply, this is the third time I ask",
        "I wrote to support days ago and nobody answered",
        "спрашиваю уже не первый раз, никто не отвечает",
        "писал в поддержку, ответа нет уже несколько дней",
        "אני שואל כבר פעם שלישית ואף אחד לא עונה",
        "שלחתי מייל לפני כמה ימים ואין תשובה",
    ),
}

# Ordinary talk: what a message is about when it needs nobody from the team.
ORDINARY_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "outside": (
        "the weather is terrible today, rain and cold",
        "stuck in traffic for an hour",
        "my bank charges fees, I hate my bank",
        "my laptop is broken and slow",
        "another app I use keeps crashing",
        "the courier delivered my parcel to the wrong door",
        "my internet provider is down again",
        "a customer cancelled at the last minute",
        "погода ужасная, дождь и ветер",
        "стоял в пробке час",
        "мой банк снова поднял комиссию",
        "мой телефон сломался",
        "провайдер опять отключил интернет",
        "מזג האוויר נוראי היום",
        "עמדתי בפקק שעה",
        "הבנק שלי העלה עמלות",
        "המחשב שלי נתקע כל הזמן",
        "האוטובוס לא הגיע שוב",
    ),
    "self": (
        "I'm so bad at this, I keep failing",
        "I don't understand this topic, my brain hurts",
        "I made a mistake again, I'm hopeless",
        "я ужасно играю, у меня не получается",
        "не понимаю тему, я тупой",
        "אני לא מצליח, מרגיש שאני לא מתקדם",
        "שוב טעיתי, אני פשוט לא מוכשר",
    ),
    "joke": (
        "haha this homework is going to kill me",
        "lol who ate all the snacks, criminal",
        "my cat is the real boss here",
        "ахаха, кто съел все пирожки",
        "это меня убьёт, шучу",
        "חחח זה הולך להרוג אותי",
        "מי גנב את העוגיות, אני דורשת כופר",
    ),
    "thanks": (
        "thanks, that worked",
        "found it, thank you so much",
        "спасибо, всё получилось",
        "нашёл, спасибо большое",
        "תודה רבה, זה עבד",
        "מצאתי, תודה",
    ),
    "howto": (
        "how do I change this setting",
        "how can I share this with someone who has no account",
        "как поделиться этим с другим человеком",
        "איך משתפים את זה עם מישהו אחר",
        "where can I find the materials",
        "does anyone know how to do this",
        "как настроить эту функцию",
        "где найти запись занятия",
        "איך עושים את זה",
        "איפה אפשר למצוא את החומרים",
    ),
    "chat": (
        "great session today, see you all next week",
        "anyone joining this weekend",
        "here is my result, have a look",
        "отличная встреча, до следующей недели",
        "кто идёт в субботу",
        "היה מעולה היום, נתראה בשבוע הבא",
        "מי מגיע בשבת",
    ),
}

NEEDS: tuple[Need, ...] = tuple(NEED_PROTOTYPES)
ORDINARY: tuple[str, ...] = tuple(ORDINARY_PROTOTYPES)
CLASSES: tuple[str, ...] = tuple(n.value for n in NEEDS) + ORDINARY
# The trained head's classes: every need, an outside topic, and all other ordinary talk.
HEAD_CLASSES: tuple[str, ...] = (*(n.value for n in NEEDS), "outside", "ordinary")
# The quantized read sends a message to the full read when its margin is at least this (per scale).
CHEAP_MARGIN_COSINE = -0.01
CHEAP_MARGIN_HEAD = -0.6


class Head(Protocol):
    """What :class:`SignalModel` needs of ``models.escalation_head.EscalationHead``."""

    classes: list[str]

    @property
    def dim(self) -> int: ...

    def probabilities(self, vectors: Vectors) -> Vectors: ...


def prototype_texts() -> list[tuple[str, str]]:
    """(class, prototype sentence) for every prototype, needs first."""
    out = [(need.value, text) for need, texts in NEED_PROTOTYPES.items() for text in texts]
    out += [(name, text) for name, texts in ORDINARY_PROTOTYPES.items() for text in texts]
    return out


@dataclass(frozen=True, slots=True)
class MessageSignals:
    """What the encoder says about one message. ``need`` is set when a need beat ordinary talk."""

    need: str | None
    need_score: float  # cosine score of the best need class
    margin: float  # best need minus best ordinary class (negative: ordinary talk won)
    ordinary: str  # the best ordinary class
    outside: bool  # the best class overall is "outside"
    chasing_margin: float = -1.0  # "I asked before, no answer" minus the best ordinary class
    scale: str = "cosine"  # "cosine": prototype margins; "head": the trained head's probability differences

    @staticmethod
    def none() -> MessageSignals:
        return MessageSignals(None, 0.0, -1.0, "chat", False)


class SignalModel:
    """Prototype vectors by class; ``signals(vectors)`` scores embedded messages."""

    def __init__(self, vectors: Vectors, classes: Sequence[str], *, top: int = 2, head: Head | None = None) -> None:
        self.classes = list(classes)
        self.top = top
        fits = head is not None and set(head.classes) == set(HEAD_CLASSES) and head.dim == np.shape(vectors)[-1]
        self.head = head if fits else None  # a head for another encoder (or a test's toy vectors) is ignored
        self.cheap_margin = CHEAP_MARGIN_HEAD if self.head is not None else CHEAP_MARGIN_COSINE
        vectors = np.asarray(vectors, dtype=np.float32)
        self._by_class: dict[str, Vectors] = {}
        for name in dict.fromkeys(self.classes):
            rows = [i for i, c in enumerate(self.classes) if c == name]
            self._by_class[name] = vectors[rows]

    def class_scores(self, vector: Vectors) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, protos in self._by_class.items():
            sims = np.sort(protos @ vector)[::-1][: self.top]
            out[name] = float(sims.mean()) if len(sims) else 0.0
        return out

    def signals(self, vector: Vectors, *, need_margin: float, need_floor: float) -> MessageSignals:
        if self.head is not None:
            return self._head_signals(np.asarray(vector, dtype=np.float32), need_margin)
        scores = self.class_scores(np.asarray(vector, dtype=np.float32))
        # "Asked again" is how a matter is raised, not what it is: the concrete need is chosen without it.
        need_name = max((n.value for n in NEEDS if n is not Need.CHASING), key=lambda n: scores[n])
        ordinary_name = max(ORDINARY, key=lambda n: scores[n])
        margin = scores[need_name] - scores[ordinary_name]
        chasing = scores[Need.CHASING.value] - scores[ordinary_name]
        need = need_name if margin >= need_margin and scores[need_name] >= need_floor else None
        return MessageSignals(
            need,
            round(scores[need_name], 4),
            round(margin, 4),
            ordinary_name,
            ordinary_name == "outside" and max(margin, chasing) < 0,
            round(chasing, 4),
        )

    def _head_signals(self, vector: Vectors, need_margin: float) -> MessageSignals:
        """The head's reading: margins are probability differences (need minus ordinary or outside)."""
        assert self.head is not None
        row = self.head.probabilities(vector[None, :])[0]
        p = {name: float(row[i]) for i, name in enumerate(self.head.classes)}
        need_name = max((n.value for n in NEEDS if n is not Need.CHASING), key=lambda n: p[n])
        ordinary_p = max(p["outside"], p["ordinary"])
        margin = p[need_name] - ordinary_p
        chasing = p[Need.CHASING.value] - ordinary_p
        outside = p["outside"] >= max(p.values())
        if outside:
            ordinary_name = "outside"
        else:  # which kind of ordinary talk, for the record: the nearest prototypes say
            scores = self.class_scores(vector)
            ordinary_name = max((o for o in ORDINARY if o != "outside"), key=lambda n: scores[n])
        return MessageSignals(
            need_name if margin >= need_margin else None,
            round(p[need_name], 4),
            round(margin, 4),
            ordinary_name,
            outside,
            round(chasing, 4),
            "head",
        )
