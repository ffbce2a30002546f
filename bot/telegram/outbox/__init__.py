"""The outbox: one sender for everything the bot says.

Services speak plain types (ints, str, :class:`bot.domain.Button`); the outbox turns
them into Bot API calls and enforces Telegram's limits in one place:

* **Rate limits.** Each chat has a sliding-window limiter (groups and channels — negative
  ids — ``group_per_minute`` per 60 s; private chats ``private_per_second``) and the bot
  has a global one (``global_per_second``). A sliding window is a token bucket without
  the burst-then-refill overlap: it guarantees "at most N in *any* window", which is what
  Telegram measures.
* **Priorities.** ``REPLY`` goes ahead of ``NORMAL`` ahead of ``BULK``; within a priority
  it is FIFO, and one chat's calls go out one at a time and in order. The scheduler picks
  the best job *whose chat may send now*, so a throttled chat never blocks the others.
* **Retries.** ``TelegramRetryAfter`` pauses that chat for ``retry_after`` seconds (not
  counted as an attempt, capped at ``max_rate_limit_waits``). Network errors, timeouts and
  5xx back off exponentially with jitter up to ``max_attempts``, then fail.
* **Policy.** 403 fails the delivery and calls ``on_forbidden(chat_id, description)``.
  ``migrate_to_chat_id`` calls ``on_migrated(old, new)``, resends to the new id and
  redirects every later send to the old id. A reply whose target was deleted is sent
  without the reply (we also send ``allow_sending_without_reply=True`` from the start,
  so Telegram itself usually does this). "message is not modified" counts as success.
* **Splitting.** Text over 4096 UTF-16 units (captions over 1024) is split on paragraph,
  line and word boundaries with HTML kept balanced (:mod:`bot.telegram.split`). Every
  part keeps ``message_thread_id``; only the first is a reply; the keyboard goes on the
  last. The parts of one message go out back to back.

Every call returns a :class:`Delivery` (``call`` returns the method's result or raises
:class:`OutboxError`). Nothing the outbox logs or returns contains the bot token.

Known limits: a network error after Telegram accepted a message can make the retry
send it twice (the Bot API has no idempotency key); split Markdown is not repaired.

Layout: :class:`Outbox` (:mod:`.sender`, the public API) is a :class:`~.policy.DeliveryPolicy` (one
request and what Telegram's answer means) over an :class:`~.engine.OutboxEngine` (per-chat queues, the
scheduler, how a job ends); :mod:`.calls` builds the Bot API calls, :mod:`.limits` holds the sliding
window, :mod:`.jobs` the queued jobs and counters, :mod:`.reasons` Telegram's error phrases read. The
services see only :class:`bot.services.ports.Sender`.
"""

from bot.domain import Delivery, ErrorKind, Priority
from bot.telegram.outbox.calls import keyboard_markup
from bot.telegram.outbox.jobs import OutboxError, OutboxMetrics
from bot.telegram.outbox.sender import Outbox

__all__ = [
    "Delivery",
    "ErrorKind",
    "Outbox",
    "OutboxError",
    "OutboxMetrics",
    "Priority",
    "keyboard_markup",
]
