"""Moderation: member reports open or join cases; managers act from the case card; everything is logged.

One entry point for every action, :meth:`ModerationService.act` (card buttons and commands alike): the
actor's rights by user id against the message's community (``RoleService.can_manage``, the function the
commands use), the bot's own admin rights (naming the one that is missing), the target's protection
(admins, managers, the group's anonymous admin, the linked channel, the bot), the Bot API call, the audit
log, and the card. Undo (unmute, unban, Not spam) goes through the same door.

Never imports aiogram: Telegram is reached through :class:`ModerationApi` and the outbox.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any, Protocol

from bot.config import ModerationSettings
from bot.domain import Community, MessageContext, Priority
from bot.domain.buttons import ButtonPort
from bot.domain.cases import Case
from bot.domain.moderation import Subject
from bot.i18n import Translator
from bot.services.escalation import Actor, CaseReason, EscalationService, Outcome
from bot.services.locks import KeyedLocks
from bot.services.moderation_card import ModerationCard
from bot.services.moderation_types import (
    ANONYMOUS_ADMIN_ID,
    BAN,
    CARD_ACTIONS,
    CHANNEL_BOT_ID,
    DELETE,
    DELETE_LAST,
    MUTE_DAY,
    MUTE_HOUR,
    MUTE_SECONDS,
    MUTE_WEEK,
    NOT_SPAM,
    PLANS,
    SPAM,
    TELEGRAM_ID,
    UNBAN,
    UNMUTE,
    WARN,
    BotRights,
    ModerationApi,
    TargetMessage,
)
from bot.services.ports import Sender
from bot.services.raids import RaidMode
from bot.services.settings import community_setting
from bot.storage.communities import CommunityRepository
from bot.storage.messages import MessageRepository
from bot.storage.moderation import ModerationRepository
from bot.timeutil import epoch_now

log = logging.getLogger(__name__)

REPORT_MENTIONS = frozenset({"admin", "admins"})


class Roles(Protocol):
    manager_ids: frozenset[int]

    def is_manager(self, user_id: int) -> bool: ...
    async def can_manage(self, chat_id: int | None, user_id: int, *, sender_chat_id: int | None = None) -> bool: ...
    async def chat_admins(self, chat_id: int) -> set[int]: ...


class VerdictSink(Protocol):
    """The spam detector learns from the managers' Spam / Not spam (bot.services.spam.SpamMemory)."""

    async def learn(self, chat_id: int, text: str, label: str) -> None: ...


class ModerationService:
    def __init__(
        self,
        settings: ModerationSettings,
        repo: ModerationRepository,
        messages: MessageRepository,
        communities: CommunityRepository,
        roles: Roles,
        outbox: Sender,
        api: ModerationApi,
        escalation: EscalationService,
        *,
        bot_id: int | None,
        locale: str = "en",
        buttons: ButtonPort,
        clock: Callable[[], int] = epoch_now,
        learner: VerdictSink | None = None,
        raids: RaidMode | None = None,
    ) -> None:
        self.settings, self.repo, self.messages, self.communities = settings, repo, messages, communities
        self.roles, self.outbox, self.api, self.escalation = roles, outbox, api, escalation
        self.bot_id, self.t, self.clock = bot_id, Translator(locale), clock
        self.learner = learner  # the spam detector learns from the managers' verdicts
        self.raids = raids or RaidMode()  # raid mode (the join gate starts it): no group notices
        self._reporter_locks = KeyedLocks()  # one report at a time per member: the hourly limit holds
        self.card = ModerationCard(settings, repo, communities, self.t, buttons=buttons)
        escalation.card_extensions.append(self.card)

    # ------------------------------------------------------------------ settings

    def setting(self, community: Community | None, key: str, default: Any) -> Any:
        if community is None:
            return default
        return community_setting(community, f"moderation.{key}", default)

    async def _community(self, chat_id: int) -> Community | None:
        return await self.communities.get(chat_id)

    # ------------------------------------------------------------------ who may be a target

    async def protection(
        self, chat_id: int, user_id: int, sender_chat_id: int | None, is_automatic_forward: bool = False
    ) -> str | None:
        """Why no action may be taken against this author, or None."""
        if (sender_chat_id is not None and sender_chat_id == chat_id) or user_id == ANONYMOUS_ADMIN_ID:
            return "anonymous admin"
        if is_automatic_forward or user_id == TELEGRAM_ID:
            return "linked channel"
        if self.bot_id is not None and user_id == self.bot_id:
            return "bot"
        if user_id == CHANNEL_BOT_ID and sender_chat_id is None:
            return "unknown author"  # Telegram's placeholder without the channel: nobody to act against
        if sender_chat_id is not None:
            return None  # a channel posting as itself: delete and banChatSenderChat apply
        if self.roles.is_manager(user_id):
            return "manager"
        if user_id in await self.roles.chat_admins(chat_id):
            return "admin"
        return None

    # ------------------------------------------------------------------ reports

    async def on_message(self, ctx: MessageContext) -> None:
        """A mention of @admin reports the message it replies to (or the thread, without a reply)."""
        msg = ctx.msg
        if msg.is_edit or msg.author.is_bot or not self.enabled(ctx.community):
            return
        if not REPORT_MENTIONS.intersection(msg.mentions):
            return
        reporter = Actor(msg.author.user_id, msg.author.display_name)
        target: TargetMessage | None = None
        if msg.reply_to_message_id is not None:
            stored = await self.messages.get(msg.chat_id, msg.reply_to_message_id)
            # Unknown author (no stored row, no "from"): Telegram's placeholder, protected below.
            user_id = stored.user_id if stored is not None else (msg.reply_to_user_id or CHANNEL_BOT_ID)
            names = await self.repo.names_of(msg.chat_id, {user_id})
            sender_chat = await self.repo.sender_chat_of(msg.chat_id, msg.reply_to_message_id)
            target = TargetMessage(
                msg.chat_id,
                msg.reply_to_message_id,
                user_id,
                names[0] if names else str(user_id),
                stored.text if stored is not None else "",
                msg.thread_id if msg.is_topic_message else None,
                sender_chat_id=sender_chat,
            )
        await self.report(
            msg.chat_id,
            reporter,
            target,
            thread_key=ctx.thread_key,
            topic_id=msg.thread_id if msg.is_topic_message else None,
            about_message_id=msg.message_id,
        )

    def enabled(self, community: Community | None) -> bool:
        return bool(self.setting(community, "enabled", self.settings.enabled))

    async def report(
        self,
        chat_id: int,
        reporter: Actor,
        target: TargetMessage | None,
        *,
        thread_key: str | None = None,
        topic_id: int | None = None,
        about_message_id: int | None = None,
    ) -> Outcome:
        """A member reports ``target`` (None: calls the admins to the thread of ``about_message_id``)."""

        async def run() -> Outcome:
            return await self._report(chat_id, reporter, target, thread_key, topic_id, about_message_id)

        return await self._reporter_locks.run((chat_id, reporter.user_id), run)

    async def report_command(
        self, chat_id: int, reporter: Actor, target: TargetMessage, *, command_message_id: int, topic_id: int | None
    ) -> None:
        """/report in reply to a message: report it, delete the command, and say so in the group if refused."""
        outcome = await self.report(chat_id, reporter, target, topic_id=topic_id)
        # Quiet by design: the /report itself goes away when the bot may delete it.
        await self.outbox.delete(chat_id, command_message_id)
        if not outcome.ok:
            await self.notice(chat_id, outcome.text, thread_id=topic_id)

    async def _report(
        self,
        chat_id: int,
        reporter: Actor,
        target: TargetMessage | None,
        thread_key: str | None,
        topic_id: int | None,
        about_message_id: int | None,
    ) -> Outcome:
        t = self.t
        now = self.clock()
        community = await self._community(chat_id)
        if community is None or not self.enabled(community):
            return Outcome(False, t("Reports are not on in this chat."))
        limit = int(self.setting(community, "reports_per_hour", self.settings.reports_per_hour))
        if await self.repo.reports_by(chat_id, reporter.user_id, since=now - 3600) >= limit:
            log.info("member %s reached the report limit in %s", reporter.user_id, chat_id)
            return Outcome(False, t("Thanks, you have reported enough for this hour; the admins will look."))
        message_id = target.message_id if target is not None else about_message_id
        if message_id is None:
            return Outcome(False, t("Reply to the message you want to report."))
        stored = await self.messages.get(chat_id, message_id)
        key = (
            thread_key
            if target is None and thread_key
            else (stored.thread_key if stored is not None else (f"t:{topic_id}" if topic_id else f"m:{message_id}"))
        )
        subject: Subject | None = None
        count = 1
        if target is not None:
            protected = await self.protection(
                chat_id, target.user_id, target.sender_chat_id, target.is_automatic_forward
            )
            subject, _created = await self.repo.add_subject(
                chat_id=chat_id,
                message_id=target.message_id,
                thread_id=target.thread_id,
                user_id=target.user_id,
                sender_chat_id=target.sender_chat_id,
                author_name=target.name,
                text=target.text,
                kind="report",
                protected=protected,
                at=now,
            )
            if not await self.repo.add_report(chat_id, target.message_id, reporter.user_id, subject.id, now):
                return Outcome(True, t("You already reported this message; the admins know."))
            count = await self.repo.reporters(subject.id)
        reported = subject

        async def attach(case: Case) -> None:
            if reported is not None and reported.case_id != case.id:
                await self.repo.attach(reported.id, case.id)

        reason = CaseReason(
            reasons=("report",),
            detail=f"reported by {count} members",
            trigger_message_id=message_id,
            severity=min(0.6 + 0.1 * (count - 1), 1.0),  # each reporter makes it more urgent in /queue
            members=0,
        )
        case, _opened = await self.escalation.open_or_join(
            chat_id=chat_id,
            thread_key=key,
            topic_id=topic_id,
            reason=reason,
            live=True,
            before_card=attach,
        )
        log.info("member %s reported message %s in %s (case #%s)", reporter.user_id, message_id, chat_id, case.id)
        thanks = t("Thanks for the report: the admins of {title} will look at it.").format(
            title=html.escape(community.title)
        )
        delivery = await self.outbox.send_message(reporter.user_id, thanks, priority=Priority.NORMAL)
        if not delivery.ok:  # they never started the bot: a short notice in the group, gone in a minute
            await self.notice(chat_id, t("Thanks, the admins were told."), thread_id=topic_id, community=community)
        return Outcome(True, thanks, case)

    # ------------------------------------------------------------------ actions

    async def act(
        self, subject_id: int, action: str, actor: Actor | None, *, reason: str = "", seconds: int | None = None
    ) -> Outcome:
        """Every moderation action. ``actor`` None: Steward itself (spam policy, warn limit)."""
        t = self.t
        subject = await self.repo.subject(subject_id) if 0 < subject_id < 2**63 else None
        if subject is None:
            return Outcome(False, t("There is nothing to moderate with this button any more."))
        if actor is not None and not await self.roles.can_manage(subject.chat_id, actor.user_id):
            log.info("user %s was refused %s on subject %s", actor.user_id, action, subject_id)
            return Outcome(False, t("Only managers and this group's admins can moderate here."))
        if action not in CARD_ACTIONS and action != "mute":
            return Outcome(False, t("This button is out of date."))
        plan = PLANS[action]
        protected = subject.protected
        if not protected and plan.against_author and not subject.is_channel:
            # Promoted since the report? Look again, by user id.
            protected = await self.protection(subject.chat_id, subject.user_id, subject.sender_chat_id)
        if protected:
            return Outcome(
                False,
                t("{name} is staff here ({why}): Steward takes no action against them.").format(
                    name=html.escape(subject.author_name), why=html.escape(protected)
                ),
            )
        if subject.is_channel and action in (WARN, MUTE_HOUR, MUTE_DAY, MUTE_WEEK, "mute", UNMUTE, DELETE_LAST):
            return Outcome(False, t("A channel cannot be warned or muted: delete its message or ban the channel."))
        community = await self._community(subject.chat_id)
        title = community.title if community is not None else str(subject.chat_id)
        name = self.display(actor)
        if plan.right is not None:
            missing = await self.missing_right(subject.chat_id, plan.right, title)
            if missing is not None:
                await self._log(subject, plan.log_name, actor, reason, None, False, missing)
                if subject.case_id:
                    await self.escalation.refresh(subject.case_id)
                return Outcome(False, missing)
        handler = {
            DELETE: self._delete,
            DELETE_LAST: self._delete_last,
            WARN: self._warn,
            BAN: self._ban,
            UNMUTE: self._unmute,
            UNBAN: self._unban,
            SPAM: self._spam,
            NOT_SPAM: self._not_spam,
        }.get(action)
        if handler is not None:
            outcome: Outcome = await handler(subject, actor, reason, community)
        else:
            duration = seconds if action == "mute" else MUTE_SECONDS[action]
            outcome = await self._mute(subject, actor, reason, community, duration or 3600)
        if subject.case_id:
            await self.escalation.refresh(subject.case_id)
        log.info("%s: %s on subject %s in %s → %s", name, action, subject_id, subject.chat_id, outcome.text)
        return outcome

    def display(self, actor: Actor | None) -> str:
        return actor.name if actor is not None else "Steward"

    async def missing_right(self, chat_id: int, right: str, title: str) -> str | None:
        t = self.t
        rights: BotRights = await self.api.bot_rights(chat_id)
        if not rights.known:
            return t("I could not read my rights in {title}; try again later.").format(title=html.escape(title))
        if not rights.is_admin:
            return t("I am not an admin in {title}: make me one with the right “{right}”.").format(
                title=html.escape(title), right=self._right_name(right)
            )
        if (right == "delete" and not rights.can_delete) or (right == "restrict" and not rights.can_restrict):
            return t("I lack the admin right “{right}” in {title}.").format(
                right=self._right_name(right), title=html.escape(title)
            )
        return None

    def _right_name(self, right: str) -> str:
        return self.t("Delete messages") if right == "delete" else self.t("Ban users")

    async def _log(
        self,
        subject: Subject,
        action: str,
        actor: Actor | None,
        reason: str,
        until: int | None,
        ok: bool,
        error: str | None,
    ) -> None:
        await self.repo.log(
            chat_id=subject.chat_id,
            case_id=subject.case_id,
            subject_id=subject.id,
            target_id=subject.sender_chat_id if subject.is_channel else subject.user_id,
            target_name=subject.author_name,
            action=action,
            actor_id=actor.user_id if actor is not None else None,
            actor_name=self.display(actor),
            reason=reason,
            until_at=until,
            ok=ok,
            error=error,
            at=self.clock(),
        )

    def _failed(self, error: str | None) -> Outcome:
        return Outcome(False, self.t("Telegram refused: {error}").format(error=html.escape(error or "?")))

    async def _delete(self, subject: Subject, actor: Actor | None, reason: str, community: Community | None) -> Outcome:
        ok, error = await self.api.delete_messages(subject.chat_id, [subject.message_id])
        await self._log(subject, "delete", actor, reason, None, ok, error)
        if not ok:
            return self._failed(error)
        await self.repo.set_deleted(subject.id, True)
        return Outcome(True, self.t("Deleted the message."))

    async def _delete_last(
        self, subject: Subject, actor: Actor | None, reason: str, community: Community | None
    ) -> Outcome:
        n = int(self.settings.delete_last)
        ids = await self.repo.last_messages_of(subject.chat_id, subject.user_id, n)
        if subject.message_id not in ids:
            ids.append(subject.message_id)
        ok, error = await self.api.delete_messages(subject.chat_id, sorted(ids))
        await self._log(subject, "delete_last", actor, reason or f"{len(ids)} messages", None, ok, error)
        if not ok:
            return self._failed(error)
        await self.repo.mark_deleted_messages(subject.chat_id, ids)
        return Outcome(True, self.t("Deleted {n} messages.").format(n=len(ids)))

    async def _warn(self, subject: Subject, actor: Actor | None, reason: str, community: Community | None) -> Outcome:
        t = self.t
        limit = int(self.setting(community, "warn_limit", self.settings.warn_limit))
        count = await self.repo.warn(
            subject.chat_id, subject.user_id, actor.user_id if actor else None, reason, self.clock()
        )
        await self._log(subject, "warn", actor, reason or f"{count}/{limit}", None, True, None)
        name = html.escape(subject.author_name)
        await self.notice(
            subject.chat_id,
            t("⚠️ {name}, warning {n} of {limit}.").format(name=name, n=count, limit=limit),
            thread_id=subject.thread_id,
            community=community,
        )
        if count < limit:
            return Outcome(True, t("Warned {name} ({n} of {limit}).").format(name=name, n=count, limit=limit))
        minutes = int(self.setting(community, "warn_mute_minutes", self.settings.warn_mute_minutes))
        missing = await self.missing_right(subject.chat_id, "restrict", community.title if community else "")
        if missing is not None:
            await self._log(subject, "mute", None, "warn limit", None, False, missing)
            return Outcome(
                True, t("Warned {name}: the warn limit is reached, but {problem}").format(name=name, problem=missing)
            )
        muted = await self._mute(subject, None, t("warn limit reached"), community, minutes * 60)
        if muted.ok:
            await self.repo.clear_warnings(subject.chat_id, subject.user_id)
        return Outcome(True, t("Warned {name}: the warn limit is reached. {mute}").format(name=name, mute=muted.text))

    async def _mute(
        self, subject: Subject, actor: Actor | None, reason: str, community: Community | None, seconds: int
    ) -> Outcome:
        until = self.clock() + seconds
        ok, error = await self.api.mute(subject.chat_id, subject.user_id, until)
        await self._log(subject, "mute", actor, reason, until, ok, error)
        if not ok:
            return self._failed(error)
        length = self.escalation.duration(seconds)
        await self.notice(
            subject.chat_id,
            self.t("🔇 {name} is muted for {time}.").format(name=html.escape(subject.author_name), time=length),
            thread_id=subject.thread_id,
            community=community,
        )
        return Outcome(
            True, self.t("Muted {name} for {time}.").format(name=html.escape(subject.author_name), time=length)
        )

    async def _unmute(self, subject: Subject, actor: Actor | None, reason: str, community: Community | None) -> Outcome:
        ok, error = await self.api.unmute(subject.chat_id, subject.user_id)
        await self._log(subject, "unmute", actor, reason, None, ok, error)
        if not ok:
            return self._failed(error)
        return Outcome(True, self.t("{name} may write again.").format(name=html.escape(subject.author_name)))

    async def _ban(self, subject: Subject, actor: Actor | None, reason: str, community: Community | None) -> Outcome:
        if subject.is_channel and subject.sender_chat_id is not None:
            ok, error = await self.api.ban_sender_chat(subject.chat_id, subject.sender_chat_id)
        else:
            ok, error = await self.api.ban(subject.chat_id, subject.user_id, None)
        await self._log(subject, "ban", actor, reason, None, ok, error)
        if not ok:
            return self._failed(error)
        await self.notice(
            subject.chat_id,
            self.t("⛔ {name} is banned.").format(name=html.escape(subject.author_name)),
            thread_id=subject.thread_id,
            community=community,
        )
        return Outcome(True, self.t("Banned {name}. Unban undoes it.").format(name=html.escape(subject.author_name)))

    async def _unban(self, subject: Subject, actor: Actor | None, reason: str, community: Community | None) -> Outcome:
        if subject.is_channel and subject.sender_chat_id is not None:
            ok, error = await self.api.unban_sender_chat(subject.chat_id, subject.sender_chat_id)
        else:
            ok, error = await self.api.unban(subject.chat_id, subject.user_id)
        await self._log(subject, "unban", actor, reason, None, ok, error)
        if not ok:
            return self._failed(error)
        return Outcome(
            True, self.t("Unbanned {name}: they may join again.").format(name=html.escape(subject.author_name))
        )

    async def _spam(self, subject: Subject, actor: Actor | None, reason: str, community: Community | None) -> Outcome:
        t = self.t
        if not await self._judge(subject, actor, "spam", reason):
            return Outcome(False, t("This message was already judged."))
        text = t("Marked as spam: similar messages will be caught.")
        if not subject.deleted and await self.missing_right(subject.chat_id, "delete", "") is None:
            deleted = await self._delete(subject, actor, "spam", community)
            text += " " + deleted.text
        await self._settle_case(subject, actor)
        return Outcome(True, text)

    async def _not_spam(
        self, subject: Subject, actor: Actor | None, reason: str, community: Community | None
    ) -> Outcome:
        t = self.t
        if not await self._judge(subject, actor, "ham", reason):
            return Outcome(False, t("This message was already judged."))
        parts = [t("Marked as not spam.")]
        if subject.deleted and subject.text.strip():
            repost = (
                t("<b>{name}</b> wrote (restored by the admins):").format(name=html.escape(subject.author_name))
                + "\n"
                + html.escape(subject.text)
            )
            delivery = await self.outbox.send_message(
                subject.chat_id, repost, thread_id=subject.thread_id, priority=Priority.REPLY
            )
            await self._log(subject, "restore", actor, reason, None, delivery.ok, delivery.error)
            if delivery.ok and delivery.message_id is not None:
                await self.repo.set_restored(subject.id, delivery.message_id)
                parts.append(t("The message is back in the group."))
        muted = await self.repo.last_action(subject.id, ("mute",))
        if muted is not None and muted.actor_id is None and not subject.is_channel:
            undone = await self._unmute(subject, actor, "not spam", community)
            if undone.ok:
                parts.append(undone.text)
        await self._settle_case(subject, actor)
        return Outcome(True, " ".join(parts))

    async def _judge(self, subject: Subject, actor: Actor | None, label: str, reason: str) -> bool:
        """The managers' verdict (``spam`` or ``ham``): stored, taught to the detector, logged; False if judged."""
        if not await self.repo.set_verdict(subject.id, label):
            return False
        await self.repo.add_mark(
            subject.chat_id, subject.text, label, actor.user_id if actor else None, subject.id, self.clock()
        )
        if self.learner is not None:
            await self.learner.learn(subject.chat_id, subject.text, label)
        await self._log(subject, label, actor, reason, None, True, None)
        return True

    async def _settle_case(self, subject: Subject, actor: Actor | None) -> None:
        """A case that is only about spam is settled by the verdict."""
        if subject.case_id is None or actor is None:
            return
        case = await self.escalation.case(subject.case_id)
        if case is not None and not case.is_closed and set(case.reasons) <= {"spam"}:
            await self.escalation.resolve(case.id, actor)

    # ------------------------------------------------------------------ group notices

    async def notice(
        self, chat_id: int, text: str, *, thread_id: int | None = None, community: Community | None = None
    ) -> None:
        """A short notice in the group that deletes itself after ``notice_seconds``."""
        if self.raids.active(chat_id, self.clock()):
            return
        seconds = int(self.setting(community, "notice_seconds", self.settings.notice_seconds))
        delivery = await self.outbox.send_message(
            chat_id, text, thread_id=thread_id, silent=True, priority=Priority.NORMAL
        )
        if delivery.ok and delivery.message_id is not None:
            await self.repo.add_notice(delivery.chat_id, delivery.message_id, self.clock() + seconds)

    async def tick(self) -> None:
        """Run by the scheduler: delete the notices that are due."""
        try:
            for chat_id, message_id in await self.repo.due_notices(self.clock()):
                delivery = await self.outbox.delete(chat_id, message_id)
                if not delivery.ok:
                    log.info("could not delete notice %s/%s: %s", chat_id, message_id, delivery.error)
                await self.repo.drop_notice(chat_id, message_id)
        except Exception:
            log.exception("moderation check failed")

    # ------------------------------------------------------------------ /modlog

    # ------------------------------------------------------------------ /modlog and commands on a case

    async def modlog_text(self, chat_ids: list[int] | None, limit: int = 30) -> str:
        return await self.card.modlog_text(chat_ids, limit)

    async def subject_of_case(self, case_id: int) -> Subject | None:
        subjects = await self.repo.subjects_of_case(case_id)
        return next((s for s in reversed(subjects) if not s.protected), subjects[-1] if subjects else None)
