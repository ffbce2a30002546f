"""FAQ answering: the knowledge base, matching group questions, answers, suggestions, votes,
unanswered questions and the "save as FAQ" offer.

The parts, each one responsibility; :class:`FaqService` (service.py) composes them and is what the
handlers, the CLI and the app hold:

- ``runtime.py``, :class:`EncoderRuntime`: the encoder on its one dedicated thread (a
  ``models.batcher.MicroBatcher``): the load, bulk encodes, and member questions batched, with
  :class:`EncoderBusy` when too many wait;
- ``adapters.py``, :class:`AdapterStore`: adapting the encoder to a knowledge base (memory, files,
  training in slices on the encoder thread, the English view);
- ``index.py``, :class:`IndexCache`: each community's index, cached until the entries change, and matching;
- ``knowledge.py``, :class:`KnowledgeBase`: entries (create, import, edit, delete), the quota, the
  unanswered questions; no rights checks (the callers do them);
- ``responder.py``, :class:`Responder`: answer, link back, suggest or abstain, with its texts and
  keyboards; picks, votes and the "save as FAQ" offer;
- ``common.py``: limits, errors, protocols and :class:`Outcome`.

The service never imports aiogram: it sends through the outbox with plain types and builds its
callback data through the :class:`~bot.domain.buttons.ButtonPort` that the front-end provides.
"""

from __future__ import annotations

# The FAQ's domain types, for the front-ends (they stay in bot.storage.faq until bot/domain takes them).
from bot.domain.faq import GLOBAL, StoredEntry, Unanswered
from bot.services.faq.adapters import AdapterKeys, AdapterStore
from bot.services.faq.common import (
    LOAD_RETRY_S,
    MODES,
    QUESTION_BATCH,
    QUESTION_QUEUE,
    EncoderBusy,
    EncoderUnsuitable,
    Outcome,
    load_encoder,
)
from bot.services.faq.index import CachedIndex, IndexCache
from bot.services.faq.knowledge import KnowledgeBase
from bot.services.faq.responder import Responder, mention_pattern
from bot.services.faq.runtime import EncoderRuntime
from bot.services.faq.service import FaqService

__all__ = [
    "GLOBAL",
    "LOAD_RETRY_S",
    "MODES",
    "QUESTION_BATCH",
    "QUESTION_QUEUE",
    "AdapterKeys",
    "AdapterStore",
    "CachedIndex",
    "EncoderBusy",
    "EncoderRuntime",
    "EncoderUnsuitable",
    "FaqService",
    "IndexCache",
    "KnowledgeBase",
    "Outcome",
    "Responder",
    "StoredEntry",
    "Unanswered",
    "load_encoder",
    "mention_pattern",
]
