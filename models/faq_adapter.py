"""Adapting the FAQ encoder to one knowledge base (SetFit-style contrastive fine-tuning, on CPU).

A frozen sentence encoder ranks the right FAQ entry first for only ~72% of CLINC150 questions with
five phrasings per entry, and its cosines do not separate right from wrong well enough to answer
confidently (benchmarks/faq.py). Fine-tuning on the knowledge base itself fixes much of that: the top
``layers`` blocks of the encoder are copied and trained so that two phrasings of the same entry sit
closer than phrasings of different entries (in-batch negatives, symmetric InfoNCE, dropout on).
The lower blocks stay shared and frozen, so their output is computed once per text and training is
cheap: about 100 s for 150 entries × 5 phrasings on 2 CPU cores, about 30 s for a 3-entry FAQ.

``TwoViewAdapter`` pairs the multilingual adapter with one of an English-only encoder (MiniLM) trained
on the English phrasings: English questions are matched by both (docs/faq.md, "The English view").

Built-in background sentences (see BACKGROUND) join every step as entries of their own: they keep a
tiny knowledge base from claiming the whole space and make training possible with a single entry.

The adapted space has its own cosine scale (thresholds around 0.5 rather than e5's 0.88); see
docs/faq.md. ``KbAdapter`` encodes questions with the shared lower blocks and its own top blocks.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from models.encoder import additive_mask, mean_pool, pad_states, run_block
from models.language import looks_english

Vectors = npt.NDArray[np.float32]

# Background: everyday group questions and chit-chat on many topics, written for Steward (not taken
# from a dataset). They join every training run as entries of their own, so that even a 3-entry
# knowledge base is trained in a crowded space like a large one: without them a question on a topic
# the FAQ lacks ("is there parking?") lands on the nearest entry with a confident score. A background
# sentence too close to one of the knowledge base's own phrasings is left out (BACKGROUND_TOO_CLOSE).
BACKGROUND = (
    "Hi everyone!", "Good morning, how is everyone doing?", "Thanks a lot, that helped.", "I love this community.",
    "What's the weather like where you are?", "Did anyone watch the game last night?",
    "Can you recommend a good book?", "What time is it in Tokyo right now?", "Who wants to grab a coffee?",
    "What is the capital of Australia?", "Is there parking nearby?", "Can I bring my dog?",
    "Where is the nearest train station?", "Does anyone know a good dentist?", "Is it going to rain tomorrow?",
    "Who is coming to the party on Friday?", "Can someone lend me a charger?", "What's your favourite pizza place?",
    "How do I cook rice without a rice cooker?", "Anyone up for a walk in the park?",
    "Is the cafe downstairs open on Sundays?", "Where can I buy cheap concert tickets?",
    "Has anyone tried the new phone?", "What music are you listening to these days?",
    "Which laptop should I buy for gaming?", "How far is the airport from here?", "Are pets allowed on the bus?",
    "Does anybody speak Spanish?", "What's a good name for a cat?", "Where do you go on holiday this year?",
    "Is there a bike rack outside?", "Can I smoke on the balcony?", "Who won the election?",
    "What should I cook for dinner tonight?", "How do I get rid of ants in the kitchen?",
    "Is anyone selling a used sofa?", "What's the best way to learn guitar?", "Where can I print a document?",
    "Does the shop around the corner take cards?", "How long does it take to boil an egg?",
    "Any good movies on TV tonight?", "Can someone help me move a fridge on Saturday?",
    "Where's a good place for a birthday dinner?", "Is the swimming pool heated?", "How do I fix a flat tyre?",
    "Who's driving to the match?", "Is there a pharmacy open late?", "What's the score?",
    "Всем привет!", "Спасибо, всё понятно.", "Какая сегодня погода?", "Кто-нибудь смотрел вчерашний матч?",
    "Где поблизости можно припарковаться?", "Можно прийти с собакой?", "Посоветуйте хорошую книгу.",
    "Кто идёт на вечеринку в пятницу?", "Где купить недорогие билеты на концерт?", "Что приготовить на ужин?",
    "Как доехать до аэропорта?", "Есть ли рядом аптека, которая работает допоздна?",
    "שלום לכולם!", "תודה רבה, זה עזר.", "מה מזג האוויר היום?", "מישהו ראה את המשחק אתמול?",
    "יש חניה בקרבת מקום?", "אפשר להביא כלב?", "מי בא למסיבה ביום שישי?", "איפה אפשר לקנות כרטיסים להופעה?",
    "מה לבשל לארוחת ערב?", "איך מגיעים לשדה התעופה?", "יש בית מרקחת פתוח עד מאוחר?",
)  # fmt: skip
# Base-encoder cosine (e5's compressed band) above which a background sentence counts as the same
# question as a knowledge-base phrasing and is dropped; e5 puts paraphrases at about 0.9 and above.
BACKGROUND_TOO_CLOSE = 0.90


class SplitEncoder(Protocol):
    """What models.encoder's mean-pooling encoders offer for a split forward pass."""

    dim: int

    @property
    def blocks(self) -> Any: ...

    def lower_states(self, texts: Sequence[str], cut: int) -> list[Any]: ...


def supports_adaptation(encoder: object) -> bool:
    return hasattr(encoder, "lower_states") and hasattr(encoder, "blocks")


@dataclass(frozen=True, slots=True)
class AdapterRecipe:
    layers: int = 4  # top blocks fine-tuned (of e5-small's 12); 6 gave no better on CLINC150 val
    steps: int = 100
    batch_entries: int = 48  # knowledge-base entries per step, each with two phrasings (anchor, positive)
    batch_background: int = 16  # background sentences per step (their own entries)
    learning_rate: float = 5e-5
    scale: float = 20.0  # cosine → logit
    seed: int = 0
    version: int = 3  # bump when the training code changes: cached adapters are then retrained

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


# The English view (all-MiniLM-L6-v2, 6 blocks): its top 4 blocks, a few more steps. On CLINC150 val this
# beat 3 blocks × 120 or 200 steps; the adapted MiniLM alone ranks the right entry first for 83 % of
# test questions (adapted e5: 80 %).
ENGLISH_RECIPE = AdapterRecipe(layers=4, steps=120)


def through_top(top: Any, states: Sequence[Any]) -> Any:
    """Pooled, normalised embeddings of per-text lower states after the ``top`` blocks."""
    hidden, mask = pad_states(states)
    bias = additive_mask(mask)
    for block in top:
        hidden = run_block(block, hidden, bias)
    return mean_pool(hidden, mask)


def kb_key(encoder_tag: str, recipe: AdapterRecipe, groups: Sequence[Sequence[str]]) -> str:
    """A name for one knowledge base's adapter: the same phrasings give the same key."""
    canon = sorted(sorted(" ".join(t.split()) for t in g) for g in groups)
    payload = json.dumps([encoder_tag, recipe.fingerprint(), canon], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


class KbAdapter:
    """An encoder whose top blocks were fine-tuned on one knowledge base (a TextEncoder)."""

    def __init__(self, encoder: SplitEncoder, top: Any, recipe: AdapterRecipe, key: str) -> None:
        self.encoder = encoder
        self.top = top.eval()
        self.recipe = recipe
        self.key = key
        self.dim = encoder.dim
        self._cut = len(encoder.blocks) - recipe.layers
        self._cache: dict[str, Vectors] = {}

    def _upper(self, states: Sequence[Any]) -> Vectors:
        import torch

        out = np.zeros((len(states), self.dim), np.float32)
        order = sorted(range(len(states)), key=lambda i: int(states[i].shape[0]))
        with torch.no_grad():
            for start in range(0, len(order), 64):
                idx = order[start : start + 64]
                out[idx] = through_top(self.top, [states[i] for i in idx]).numpy()
        return out

    def encode_queries(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._upper(self.encoder.lower_states(texts, self._cut))

    # FAQ phrasings and member questions are the same kind of text (both "query: ").
    encode_passages = encode_queries

    def encode_phrasings(self, texts: list[str]) -> Vectors:
        """Knowledge-base phrasings, remembered: re-indexing after an edit encodes only new ones."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.encode_queries(missing), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._cache[t] for t in texts])

    def save(self, path: Path) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save({k: v.half() for k, v in self.top.state_dict().items()}, buffer)
        tmp = path.with_suffix(".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, encoder: SplitEncoder, recipe: AdapterRecipe, key: str) -> KbAdapter:
        import torch

        state = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
        top = _copy_top(encoder, recipe)
        top.load_state_dict({k: v.float() for k, v in state.items()})
        return cls(encoder, top, recipe, key)


def _copy_top(encoder: SplitEncoder, recipe: AdapterRecipe) -> Any:
    import torch

    blocks = list(encoder.blocks)
    if not 0 < recipe.layers <= len(blocks):
        raise ValueError(f"cannot adapt {recipe.layers} of {len(blocks)} blocks")
    return torch.nn.ModuleList([copy.deepcopy(b) for b in blocks[-recipe.layers :]]).float()


def english_groups(groups: Sequence[Sequence[str]]) -> list[list[str]]:
    """Each entry's English phrasings (what an English-only encoder can read), entries without any left out."""
    return [kept for g in groups if (kept := [t for t in g if looks_english(t)])]


def background_for(encoder: SplitEncoder, groups: Sequence[Sequence[str]]) -> list[str]:
    """The background sentences that are not paraphrases of the knowledge base's own phrasings
    (judged by ``encoder``, the multilingual base: BACKGROUND_TOO_CLOSE is on its cosine scale)."""
    phrasings = [t for g in groups for t in g]
    encode = getattr(encoder, "encode_queries", None)
    if not phrasings or encode is None:
        return list(BACKGROUND)
    closeness = np.asarray(encode(list(BACKGROUND))) @ np.asarray(encode(phrasings)).T
    return [b for b, row in zip(BACKGROUND, closeness, strict=True) if float(row.max()) < BACKGROUND_TOO_CLOSE]


class AdapterTrainer:
    """Fine-tunes a copy of the top blocks on ``groups`` (the phrasings of each entry), a few steps at a time.

    The bot runs it in short slices on its single FAQ encoder thread, so member questions queued behind a
    slice wait seconds rather than the whole training (minutes for a large knowledge base).
    ``background``: the background sentences to train against; by default BACKGROUND less those
    ``encoder`` finds too close to the phrasings."""

    def __init__(
        self,
        encoder: SplitEncoder,
        groups: Sequence[Sequence[str]],
        recipe: AdapterRecipe | None = None,
        *,
        key: str = "",
        background: Sequence[str] | None = None,
    ) -> None:
        import torch

        self.encoder = encoder
        self.recipe = recipe = recipe or AdapterRecipe()
        self.key = key
        self._entries = [list(dict.fromkeys(g)) for g in groups if g]
        if not self._entries:
            raise ValueError("nothing to adapt to: no phrasings")
        background = list(background) if background is not None else background_for(encoder, self._entries)
        all_groups = self._entries + [[b] for b in background]
        self._n_background = len(background)
        self._states = encoder.lower_states([t for g in all_groups for t in g], len(encoder.blocks) - recipe.layers)
        self._members: list[list[int]] = []
        at = 0
        for g in all_groups:
            self._members.append(list(range(at, at + len(g))))
            at += len(g)
        self._top = _copy_top(encoder, recipe).train()  # dropout on: a one-phrasing entry still gets a positive
        for p in self._top.parameters():
            p.requires_grad_(True)
        self._optimiser = torch.optim.AdamW(self._top.parameters(), lr=recipe.learning_rate, weight_decay=0.01)
        self._rng = np.random.default_rng(recipe.seed)
        # Dropout draws from torch's global generator: each slice runs on this generator state and puts
        # the caller's back, so the result does not depend on how the steps were sliced.
        saved = torch.random.get_rng_state()
        torch.manual_seed(recipe.seed)
        self._torch_rng = torch.random.get_rng_state()
        torch.random.set_rng_state(saved)
        self.steps_done = 0

    @property
    def done(self) -> bool:
        return self.steps_done >= self.recipe.steps

    def run(self, steps: int | None = None) -> bool:
        """Train up to ``steps`` more steps (all that are left by default); True once training is complete."""
        import torch
        import torch.nn.functional as F

        recipe, rng, members = self.recipe, self._rng, self._members
        n_entries = len(self._entries)
        todo = recipe.steps - self.steps_done if steps is None else min(steps, recipe.steps - self.steps_done)
        saved = torch.random.get_rng_state()
        torch.random.set_rng_state(self._torch_rng)
        try:
            for _ in range(todo):
                entries = rng.choice(n_entries, size=min(recipe.batch_entries, n_entries), replace=False)
                extra = rng.choice(
                    self._n_background, size=min(recipe.batch_background, self._n_background), replace=False
                )
                chosen = np.concatenate([entries, n_entries + extra])
                pairs = [rng.choice(members[c], 2, replace=len(members[c]) < 2) for c in chosen]
                anchors = through_top(self._top, [self._states[int(p[0])] for p in pairs])
                positives = through_top(self._top, [self._states[int(p[1])] for p in pairs])
                logits = recipe.scale * anchors @ positives.T
                target = torch.arange(len(pairs))
                loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
                self._optimiser.zero_grad()
                loss.backward()
                self._optimiser.step()
                self.steps_done += 1
        finally:
            self._torch_rng = torch.random.get_rng_state()
            torch.random.set_rng_state(saved)
        return self.done

    def result(self) -> KbAdapter:
        if not self.done:
            raise RuntimeError(f"training stopped after {self.steps_done} of {self.recipe.steps} steps")
        for p in self._top.parameters():
            p.requires_grad_(False)
        self._states = []  # the lower states are only needed while training
        return KbAdapter(self.encoder, self._top, self.recipe, self.key)


def train_adapter(
    encoder: SplitEncoder,
    groups: Sequence[Sequence[str]],
    recipe: AdapterRecipe | None = None,
    *,
    key: str = "",
    background: Sequence[str] | None = None,
) -> KbAdapter:
    """Fine-tune a copy of the top blocks on ``groups`` in one go (see AdapterTrainer)."""
    trainer = AdapterTrainer(encoder, groups, recipe, key=key, background=background)
    trainer.run()
    return trainer.result()


def english_background(background: Sequence[str]) -> list[str]:
    """The background sentences an English-only encoder trains against."""
    return [b for b in background if looks_english(b)]


def adapt_views(
    encoder: SplitEncoder,
    groups: Sequence[Sequence[str]],
    english_encoder: SplitEncoder | None = None,
    *,
    recipe: AdapterRecipe | None = None,
    english_recipe: AdapterRecipe = ENGLISH_RECIPE,
) -> KbAdapter | TwoViewAdapter:
    """Train what the bot trains for a knowledge base (FaqService does the same, view by view, with files):
    the multilingual adapter, and with ``english_encoder`` and English phrasings the English view too."""
    background = background_for(encoder, groups)
    primary = train_adapter(encoder, groups, recipe, background=background)
    english = english_groups(groups) if english_encoder is not None else []
    if english_encoder is None or not english:
        return primary
    return TwoViewAdapter(
        primary, train_adapter(english_encoder, english, english_recipe, background=english_background(background))
    )


class TwoViewAdapter:
    """One knowledge base seen by two adapted encoders: the multilingual one and an English-only one.

    Every vector is ``[primary | english]``; the English half is zero for text that does not look
    English, because the English encoder cannot read it. The matcher (bot/services/faq_matcher.py,
    ``MatcherParams.english_view``) mixes the two cosines where both sides have an English half: on
    CLINC150 the mix ranks and separates better than either encoder alone (docs/faq.md)."""

    def __init__(self, primary: KbAdapter, english: KbAdapter) -> None:
        self.primary = primary
        self.english = english
        self.english_dim = english.dim
        self.dim = primary.dim + english.dim

    def _both(self, texts: list[str], primary: Any, english: Any) -> Vectors:
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        out[:, : self.primary.dim] = primary(texts)
        rows = [i for i, t in enumerate(texts) if looks_english(t)]
        if rows:
            out[rows, self.primary.dim :] = english([texts[i] for i in rows])
        return out

    def encode_queries(self, texts: list[str]) -> Vectors:
        return self._both(texts, self.primary.encode_queries, self.english.encode_queries)

    encode_passages = encode_queries

    def encode_phrasings(self, texts: list[str]) -> Vectors:
        return self._both(texts, self.primary.encode_phrasings, self.english.encode_phrasings)


__all__ = [
    "BACKGROUND",
    "ENGLISH_RECIPE",
    "AdapterRecipe",
    "AdapterTrainer",
    "KbAdapter",
    "SplitEncoder",
    "TwoViewAdapter",
    "adapt_views",
    "background_for",
    "english_background",
    "english_groups",
    "kb_key",
    "supports_adaptation",
    "train_adapter",
]
