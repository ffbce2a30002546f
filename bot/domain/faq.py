"""FAQ: stored entries with their questions and embeddings, answers given, unanswered questions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

GLOBAL = 0  # chat_id of the global set


Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    chat_id: int
    key: str
    answer: str
    questions: tuple[str, ...]
    answers: dict[str, str] = field(default_factory=dict)
    buttons: tuple[tuple[str, str], ...] = ()
    thread_id: int | None = None
    enabled: bool = True
    created_by: int | None = None
    updated_at: int = 0

    @property
    def is_global(self) -> bool:
        return self.chat_id == GLOBAL


@dataclass(frozen=True, slots=True)
class EntryVectors:
    entry: StoredEntry
    encoders: tuple[str, ...]
    vectors: Vectors  # one row per question


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    id: int
    chat_id: int
    entry_id: int | None
    message_id: int | None
    thread_id: int | None
    question_message_id: int | None
    user_id: int
    how: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Unanswered:
    id: int
    chat_id: int
    message_id: int
    thread_id: int | None
    user_id: int
    text: str
    created_at: int
    vector: Vectors | None
    encoder: str | None
