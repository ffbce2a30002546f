"""The figures of ``steward analyze``: activity, sentiment, questions, negative threads, FAQ candidates.

Pure computation over an :class:`~bot.analyze.export.Export`. The models are injected (any object with
``predict(texts)`` for sentiment and ``encode_queries(texts)`` for embeddings), so tests pass fakes and
the command passes the bundled models.

Definitions (the report states them too):

* a *member* is anyone who posted at least one message;
* a *question* is a text message :func:`bot.services.questions.is_question` accepts (forwards excluded);
  it is *answered* when someone other than the asker replied to it directly;
* a *thread* is a message and every reply under it (the reply chain's root and its descendants); the most
  negative threads are those with the most negative messages (ties: the higher mean negative score);
* *FAQ candidates* are groups of similar unanswered questions (greedy cosine clustering of their
  embeddings against each group's centroid) asked at least ``min_count`` times.
"""

from __future__ import annotations

import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bot.analyze.export import JOIN_ACTIONS, LEAVE_ACTIONS, Export, ExportMessage
from bot.domain.analytics import DayFigures, Helper, Questions, SentimentMix
from bot.services.questions import is_question
from bot.textsafety import compile_pattern

__all__ = [
    "Analysis",
    "Cluster",
    "Encoder",
    "QuestionRecord",
    "SentimentModel",
    "ThreadFigure",
    "analyze",
    "cluster_questions",
]

LABELS = ("negative", "neutral", "positive")
DEFAULT_SIMILARITY = 0.90  # e5 cosines of paraphrases sit around 0.9-0.98; different questions ~0.8
DEFAULT_MIN_COUNT = 2
DEFAULT_TOP_THREADS = 5
DEFAULT_BATCH = 32
_NOT_DIGIT = compile_pattern(r"\D", name="analyze.not_digit", engine="re", why="one character class")


class VerdictLike(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def negative(self) -> float: ...


class SentimentModel(Protocol):
    def predict(self, texts: list[str]) -> Sequence[Any]: ...


class Encoder(Protocol):
    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


Progress = Callable[[int], None]  # called with the number of texts just processed


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    message: ExportMessage
    answered: bool
    answer_s: float | None  # seconds until the first reply by someone else


@dataclass(frozen=True, slots=True)
class ThreadFigure:
    root: ExportMessage
    messages: int
    participants: int
    negative: int
    mean_negative: float  # mean negative probability over the thread's classified messages
    worst: ExportMessage  # its most negative message
    last_at: datetime


@dataclass(frozen=True, slots=True)
class Cluster:
    questions: tuple[ExportMessage, ...]  # in time order
    representative: ExportMessage  # the one closest to the centroid
    askers: int

    @property
    def size(self) -> int:
        return len(self.questions)


@dataclass(slots=True)
class Analysis:
    name: str
    timezone: str
    first_at: datetime | None
    last_at: datetime | None
    messages: int
    text_messages: int
    media_messages: int
    members: int
    joins: int
    leaves: int
    sentiment: SentimentMix
    days: list[DayFigures]
    questions: Questions
    question_records: list[QuestionRecord]
    unanswered: list[QuestionRecord]
    negative_threads: list[ThreadFigure]
    clusters: list[Cluster]  # FAQ candidates (size >= min_count), biggest first
    helpers: list[Helper]
    top_members: list[tuple[str, int]]  # (name, messages), most active first
    skipped: int = 0
    similarity: float = DEFAULT_SIMILARITY
    min_count: int = DEFAULT_MIN_COUNT
    verdicts: dict[int, Any] = field(default_factory=dict)  # message id → verdict

    @property
    def unanswered_in_clusters(self) -> int:
        return sum(c.size for c in self.clusters)


def _batched(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def classify(
    texts: Sequence[str], model: SentimentModel, *, batch_size: int = DEFAULT_BATCH, progress: Progress | None = None
) -> list[Any]:
    """Verdicts for ``texts`` in batches of ``batch_size``; ``progress(n)`` after each batch."""
    out: list[Any] = []
    for batch in _batched(texts, max(1, batch_size)):
        verdicts = list(model.predict(batch))
        if len(verdicts) != len(batch):
            raise ValueError(f"the sentiment model returned {len(verdicts)} verdicts for {len(batch)} texts")
        out.extend(verdicts)
        if progress is not None:
            progress(len(batch))
    return out


def cluster_questions(
    embeddings: npt.NDArray[np.float32], *, similarity: float = DEFAULT_SIMILARITY
) -> list[list[int]]:
    """Greedy centroid clustering: each row joins the group whose (normalised) centroid is most similar
    when that cosine is at least ``similarity``, else starts a new group. Rows are L2-normalised vectors;
    returns groups of row indices, each in input order."""
    groups: list[list[int]] = []
    sums: list[npt.NDArray[np.float64]] = []
    centroids = np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 0), np.float64)
    for i, row in enumerate(np.asarray(embeddings, np.float64)):
        norm = float(np.linalg.norm(row))
        vec = row / norm if norm > 0 else row
        if groups:
            sims = centroids @ vec
            best = int(np.argmax(sims))
            if sims[best] >= similarity:
                groups[best].append(i)
                sums[best] = sums[best] + vec
                n = float(np.linalg.norm(sums[best]))
                centroids[best] = sums[best] / n if n > 0 else sums[best]
                continue
        groups.append([i])
        sums.append(vec.copy())
        centroids = np.vstack([centroids, vec[None, :]])
    return groups


def _roots(messages: Sequence[ExportMessage]) -> dict[int, int]:
    """message id → the id of its reply chain's root (the oldest ancestor present in the export)."""
    parent = {m.id: m.reply_to for m in messages}
    roots: dict[int, int] = {}
    for m in messages:
        seen = {m.id}
        current = m.id
        while True:
            up = parent.get(current)
            if up is None or up not in parent or up in seen:
                break
            if up in roots:
                current = roots[up]
                break
            seen.add(up)
            current = up
        roots[m.id] = current
    return roots


def _day(at: datetime, zone: tzinfo) -> date:
    return at.astimezone(zone).date()


def _short_id(author_id: str) -> int:
    digits = _NOT_DIGIT.sub("", author_id)
    return int(digits) if digits else 0


def analyze(
    export: Export,
    model: SentimentModel,
    encoder: Encoder | None,
    *,
    zone: tzinfo,
    zone_name: str = "UTC",
    similarity: float = DEFAULT_SIMILARITY,
    min_count: int = DEFAULT_MIN_COUNT,
    top_threads: int = DEFAULT_TOP_THREADS,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> Analysis:
    """Every figure of the report. ``encoder=None`` skips FAQ clustering (each question its own group)."""
    msgs = export.messages
    texts = [m for m in msgs if m.text]
    verdict_list = classify([m.text for m in texts], model, batch_size=batch_size, progress=progress)
    verdicts = {m.id: v for m, v in zip(texts, verdict_list, strict=True)}
    labels = {mid: str(getattr(v, "label", "")) for mid, v in verdicts.items()}
    neg_score = {mid: float(getattr(v, "negative", 0.0)) for mid, v in verdicts.items()}

    mix = Counter(label for label in labels.values() if label in LABELS)
    sentiment = SentimentMix(
        negative=mix["negative"],
        neutral=mix["neutral"],
        positive=mix["positive"],
        unclassified=len(msgs) - sum(mix.values()),
    )

    # Per day, in the report's timezone, with empty days kept so the charts show gaps.
    per_day: dict[date, dict[str, Any]] = defaultdict(
        lambda: {"messages": 0, "authors": set(), "joins": 0, "negative": 0, "neutral": 0, "positive": 0}
    )
    for m in msgs:
        bucket = per_day[_day(m.at, zone)]
        bucket["messages"] += 1
        if m.author_id:
            bucket["authors"].add(m.author_id)
        label = labels.get(m.id)
        if label in LABELS:
            bucket[label] += 1
    for e in export.events:
        if e.action in JOIN_ACTIONS:
            per_day[_day(e.at, zone)]["joins"] += max(1, len(e.members)) if e.action == "invite_members" else 1
    leaves_per_day: Counter[date] = Counter(_day(e.at, zone) for e in export.events if e.action in LEAVE_ACTIONS)
    days: list[DayFigures] = []
    if per_day:
        first, last = min(per_day), max(per_day)
        for n in range((last - first).days + 1):
            d = date.fromordinal(first.toordinal() + n)
            b = per_day.get(d)
            days.append(
                DayFigures(
                    day=d,
                    messages=b["messages"] if b else 0,
                    active_members=len(b["authors"]) if b else 0,
                    joins=b["joins"] if b else 0,
                    leaves=leaves_per_day.get(d, 0),
                    negative=b["negative"] if b else 0,
                    neutral=b["neutral"] if b else 0,
                    positive=b["positive"] if b else 0,
                )
            )

    # Questions and their answers: a direct reply by someone other than the asker.
    replies: dict[int, list[ExportMessage]] = defaultdict(list)
    for m in msgs:
        if m.reply_to is not None:
            replies[m.reply_to].append(m)
    records: list[QuestionRecord] = []
    helper_answers: dict[str, set[int]] = defaultdict(set)
    helper_delays: dict[str, list[float]] = defaultdict(list)
    names: dict[str, str] = {}
    for m in msgs:
        if m.author_id and m.author:
            names[m.author_id] = m.author
    for m in texts:
        if m.forwarded or not is_question(m.text):
            continue
        answers = [r for r in replies.get(m.id, []) if r.author_id != m.author_id]
        delay = min(((r.at - m.at).total_seconds() for r in answers), default=None)
        records.append(QuestionRecord(m, bool(answers), None if delay is None else max(0.0, delay)))
        for r in answers:
            if m.id not in helper_answers[r.author_id]:
                helper_answers[r.author_id].add(m.id)
                helper_delays[r.author_id].append(max(0.0, (r.at - m.at).total_seconds()))
    answered = [r for r in records if r.answered]
    delays = [r.answer_s for r in answered if r.answer_s is not None]
    questions = Questions(
        asked=len(records),
        answered=len(answered),
        by_human=len(answered),
        by_bot=0,
        median_answer_s=statistics.median(delays) if delays else None,
    )
    helpers = sorted(
        (
            Helper(
                user_id=_short_id(author),
                name=names.get(author, author),
                answers=len(qs),
                median_response_s=statistics.median(helper_delays[author]) if helper_delays[author] else None,
            )
            for author, qs in helper_answers.items()
        ),
        key=lambda h: (-h.answers, h.name),
    )[:5]
    unanswered = [r for r in records if not r.answered]

    # Threads: group by reply-chain root.
    roots = _roots(msgs)
    threads: dict[int, list[ExportMessage]] = defaultdict(list)
    for m in msgs:
        threads[roots[m.id]].append(m)
    by_id = {m.id: m for m in msgs}
    figures: list[ThreadFigure] = []
    for root_id, members in threads.items():
        if len(members) < 2:
            continue
        negative = sum(1 for m in members if labels.get(m.id) == "negative")
        if negative == 0:
            continue
        scored = [m for m in members if m.id in neg_score]
        worst = max(scored, key=lambda m: neg_score[m.id])
        figures.append(
            ThreadFigure(
                root=by_id[root_id],
                messages=len(members),
                participants=len({m.author_id for m in members if m.author_id}),
                negative=negative,
                mean_negative=sum(neg_score[m.id] for m in scored) / len(scored),
                worst=worst,
                last_at=max(m.at for m in members),
            )
        )
    figures.sort(key=lambda t: (-t.negative, -t.mean_negative, t.root.id))

    # FAQ candidates from the unanswered questions.
    clusters: list[Cluster] = []
    if unanswered and encoder is not None:
        qtexts = [_clean(r.message.text) for r in unanswered]
        emb = np.asarray(encoder.encode_queries(qtexts), np.float32)
        if emb.shape[0] != len(qtexts):
            raise ValueError(f"the encoder returned {emb.shape[0]} vectors for {len(qtexts)} texts")
        for group in cluster_questions(emb, similarity=similarity):
            if len(group) < min_count:
                continue
            vecs = emb[group].astype(np.float64)
            centroid = vecs.sum(axis=0)
            best = group[int(np.argmax(vecs @ centroid))]
            qs = tuple(unanswered[i].message for i in group)
            clusters.append(
                Cluster(questions=qs, representative=unanswered[best].message, askers=len({q.author_id for q in qs}))
            )
        clusters.sort(key=lambda c: (-c.size, c.questions[0].at))

    authors = Counter(m.author_id for m in msgs if m.author_id)
    top_members = [(names.get(a, a), n) for a, n in authors.most_common(8)]
    return Analysis(
        name=export.name,
        timezone=zone_name,
        first_at=msgs[0].at if msgs else None,
        last_at=msgs[-1].at if msgs else None,
        messages=len(msgs),
        text_messages=len(texts),
        media_messages=sum(1 for m in msgs if m.media and not m.text),
        members=len(authors),
        joins=export.joins,
        leaves=export.leaves,
        sentiment=sentiment,
        days=days,
        questions=questions,
        question_records=records,
        unanswered=unanswered,
        negative_threads=figures[: max(0, top_threads)],
        clusters=clusters,
        helpers=helpers,
        top_members=top_members,
        skipped=export.skipped,
        similarity=similarity,
        min_count=min_count,
        verdicts=verdicts,
    )


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())
