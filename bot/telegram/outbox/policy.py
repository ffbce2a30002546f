"""One request and what Telegram's answer means: success, ``retry_after``, a migrated chat, 403, bad
requests (a reply whose target is gone is resent without it), and retries with backoff for network errors,
timeouts and 5xx."""

from __future__ import annotations

import asyncio
import heapq
import logging
from typing import Any

from aiogram import exceptions as tg
from aiogram.methods import TelegramMethod
from aiogram.types import Message

from bot.domain import Delivery, ErrorKind
from bot.telegram.outbox.engine import OutboxEngine
from bot.telegram.outbox.jobs import ChatQueue, Job
from bot.telegram.outbox.reasons import REPLY_GONE, bad_request_reason, describe, forbidden_reason

__all__ = ["DeliveryPolicy"]

log = logging.getLogger("steward.outbox")


class DeliveryPolicy(OutboxEngine):
    """How the outbox runs one step of a job and reads Telegram's answer."""

    async def _execute(self, chat: ChatQueue, job: Job) -> None:
        try:
            await self._attempt(chat, job)
        except asyncio.CancelledError:
            self._finish(chat, job, self._failure(job, ErrorKind.SHUTDOWN, "shutting down"))
            raise
        except Exception as e:  # a bug: never let it kill the outbox
            log.error(
                "outbox: unexpected %s in %s to chat %s: %s",
                type(e).__name__,
                job.label,
                job.chat_id,
                self._scrub(e),
            )
            self._finish(chat, job, self._failure(job, ErrorKind.INTERNAL, "internal error (see the log)"))
        finally:
            chat.busy = False
            self._wakeup.set()

    async def _attempt(self, chat: ChatQueue, job: Job) -> None:
        method = self._retarget(job.steps[0])
        job.steps[0] = method
        if self.shown.unchanged(method):
            # Checked now, after this chat's earlier calls: the edit would change nothing on screen.
            self.metrics.unchanged += 1
            self.metrics.sent -= 1  # _on_success counts a request; none was made
            self._on_success(chat, job, True)
            return
        try:
            result = await self._bot(method)
        except tg.TelegramRetryAfter as e:
            await self._on_retry_after(chat, job, e)
        except tg.TelegramMigrateToChat as e:
            await self._on_migrate(chat, job, e.migrate_to_chat_id)
        except tg.TelegramForbiddenError as e:
            await self._on_forbidden(chat, job, e)
        except tg.TelegramBadRequest as e:
            self._on_bad_request(chat, job, method, e)
        except tg.TelegramNotFound as e:
            self._fail(chat, job, ErrorKind.NOT_FOUND, f"not found: {describe(e)}")
        except tg.TelegramUnauthorizedError:
            self._fail(chat, job, ErrorKind.UNAUTHORIZED, "Telegram rejected the bot token")
        except tg.TelegramConflictError as e:
            self._fail(chat, job, ErrorKind.API, f"conflict: {describe(e)}")
        except tg.TelegramEntityTooLarge:
            self._fail(chat, job, ErrorKind.TOO_LARGE, "the file is too large for Telegram")
        except tg.TelegramServerError as e:
            self._on_transient(chat, job, ErrorKind.SERVER, f"Telegram server error: {describe(e)}")
        except (tg.TelegramNetworkError, TimeoutError, ConnectionError) as e:
            detail = describe(e) if isinstance(e, tg.TelegramAPIError) else "timed out"
            self._on_transient(chat, job, ErrorKind.NETWORK, f"network error: {detail}")
        except tg.ClientDecodeError:
            self._on_transient(chat, job, ErrorKind.SERVER, "Telegram sent an unreadable answer")
        except tg.TelegramAPIError as e:
            self._fail(chat, job, ErrorKind.API, describe(e))
        except OSError as e:  # a local file to upload is missing or unreadable
            self._fail(chat, job, ErrorKind.INVALID, f"the file could not be read: {e.strerror or e}")
        else:
            self._on_success(chat, job, result)

    def _retarget(self, method: TelegramMethod[Any]) -> TelegramMethod[Any]:
        target = getattr(method, "chat_id", None)
        if isinstance(target, int) and target in self._aliases:
            return method.model_copy(update={"chat_id": self.resolve_chat(target)})
        return method

    def _on_success(self, chat: ChatQueue, job: Job, result: Any) -> None:
        self.metrics.sent += 1
        self.shown.record(job.steps[0], result)
        job.steps.pop(0)
        job.attempts = 0
        job.sent_parts += 1
        job.result = result
        if job.collect_ids and isinstance(result, Message):
            job.message_ids.append(result.message_id)
        if not job.steps:
            self._finish(chat, job, Delivery(ok=True, chat_id=self._final_chat(job), message_ids=job.message_ids))

    async def _on_retry_after(self, chat: ChatQueue, job: Job, e: tg.TelegramRetryAfter) -> None:
        self.metrics.rate_limited += 1
        job.rate_waits += 1
        if job.rate_waits > self._max_rate_limit_waits:
            self._fail(
                chat,
                job,
                ErrorKind.RATE_LIMITED,
                f"Telegram kept asking to slow down ({job.rate_waits} times); gave up",
            )
            return
        wait = max(float(e.retry_after), 0.0)
        chat.blocked_until = max(chat.blocked_until, self._clock() + wait)
        log.warning("outbox: flood control in chat %s, waiting %.1fs before %s", job.chat_id, wait, job.label)

    async def _on_migrate(self, chat: ChatQueue, job: Job, new_id: int) -> None:
        old = job.chat_id
        job.migrations += 1
        if old is None or job.migrations > 3 or new_id == old:
            self._fail(chat, job, ErrorKind.API, f"the chat moved to {new_id} and the resend failed")
            return
        self.metrics.migrated += 1
        self._aliases[old] = new_id
        for src, dst in list(self._aliases.items()):
            if dst == old:
                self._aliases[src] = new_id
        log.info("outbox: chat %s migrated to %s; resending", old, new_id)
        if self.on_migrated is not None:
            try:
                await self.on_migrated(old, new_id)
            except Exception as err:
                log.error("outbox: on_migrated(%s, %s) failed: %s", old, new_id, self._scrub(err))
        # Move this job and everything queued for the old chat to the new one.
        target = self._chat(new_id)
        chat.active = None
        moved, chat.heap = chat.heap, []
        job.chat_id = new_id
        for item in moved:
            item[2].chat_id = new_id
            heapq.heappush(target.heap, item)
        if job.sent_parts and target.active is None:
            target.active = job
        else:
            heapq.heappush(target.heap, (job.priority, job.seq, job))
        self._pending.pop(chat.key, None)
        self._pending[new_id] = target

    async def _on_forbidden(self, chat: ChatQueue, job: Job, e: tg.TelegramForbiddenError) -> None:
        description = describe(e)
        self.metrics.forbidden += 1
        chat_id = job.chat_id
        self._fail(chat, job, ErrorKind.FORBIDDEN, forbidden_reason(description))
        if self.on_forbidden is not None and chat_id is not None:
            try:
                await self.on_forbidden(chat_id, description)
            except Exception as err:
                log.error("outbox: on_forbidden(%s) failed: %s", chat_id, self._scrub(err))

    def _on_bad_request(self, chat: ChatQueue, job: Job, method: TelegramMethod[Any], e: tg.TelegramBadRequest) -> None:
        description = describe(e)
        text = description.lower()
        if "message is not modified" in text:
            self._on_success(chat, job, True)
            return
        if any(p in text for p in REPLY_GONE):
            if getattr(method, "reply_parameters", None) is not None and not job.reply_dropped:
                job.reply_dropped = True
                self.metrics.reply_dropped += 1
                job.steps[0] = method.model_copy(update={"reply_parameters": None})
                log.info("outbox: reply target gone in chat %s; sending without the reply", job.chat_id)
                return
            self._fail(chat, job, ErrorKind.NOT_FOUND, "the message to reply to was deleted")
            return
        kind, reason = bad_request_reason(text, description)
        self._fail(chat, job, kind, reason)

    def _on_transient(self, chat: ChatQueue, job: Job, kind: str, reason: str) -> None:
        job.attempts += 1
        if job.attempts >= self._max_attempts:
            self._fail(
                chat,
                job,
                kind,
                f"gave up after {job.attempts} attempts: {reason}",
            )
            return
        self.metrics.retried += 1
        delay = min(self._base_backoff * 2 ** (job.attempts - 1), self._max_backoff)
        delay = delay / 2 + self._rng.random() * delay / 2  # "equal jitter"
        chat.blocked_until = max(chat.blocked_until, self._clock() + delay)
        log.warning(
            "outbox: %s to chat %s failed (attempt %d of %d): %s; retrying in %.1fs",
            job.label,
            job.chat_id,
            job.attempts,
            self._max_attempts,
            self._scrub(reason),
            delay,
        )

    def _fail(self, chat: ChatQueue, job: Job, kind: str, error: str) -> None:
        log.warning("outbox: %s to chat %s failed (%s): %s", job.label, job.chat_id, kind, self._scrub(error))
        self._finish(chat, job, self._failure(job, kind, error))
