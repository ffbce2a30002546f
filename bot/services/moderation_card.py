"""Moderation's part of a case card and its log in words: who was reported or caught, what was done.

:class:`ModerationCard` is the card extension escalation draws with every case card (extra lines and the
action buttons for the case's subject), and writes the moderation log (/modlog, the card's last actions).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from bot.config import ModerationSettings
from bot.domain import Button, Keyboard
from bot.domain.buttons import ButtonPort, ModAct
from bot.domain.cases import Case
from bot.domain.moderation import ModAction, Subject
from bot.i18n import Translator
from bot.services.escalation.base import title_of
from bot.services.moderation_types import (
    BAN,
    DELETE,
    DELETE_LAST,
    MUTE_DAY,
    MUTE_HOUR,
    MUTE_WEEK,
    NOT_SPAM,
    SPAM,
    UNBAN,
    UNMUTE,
    WARN,
)
from bot.storage.communities import CommunityRepository
from bot.storage.moderation import ModerationRepository


class ModerationCard:
    def __init__(
        self,
        settings: ModerationSettings,
        repo: ModerationRepository,
        communities: CommunityRepository,
        t: Translator,
        *,
        buttons: ButtonPort,
    ) -> None:
        self.settings, self.repo, self.communities, self.t, self.buttons = settings, repo, communities, t, buttons

    async def extend_card(self, case: Case) -> tuple[list[str], Keyboard]:
        subjects = await self.repo.subjects_of_case(case.id)
        actions = await self.repo.actions_of_case(case.id, limit=6)
        if not subjects and not actions:
            return [], []
        t = self.t
        lines: list[str] = []
        for subject in subjects[-3:]:
            text = subject.text if len(subject.text) <= 200 else subject.text[:199] + "…"
            name = html.escape(subject.author_name or str(subject.user_id))
            if subject.kind == "spam":
                head = t("🛡 Possible spam ({score}; {why}) from <b>{name}</b>").format(
                    score=f"{subject.spam_score or 0:.2f}", why=html.escape(subject.spam_detail or "—"), name=name
                )
            else:
                count = await self.repo.reporters(subject.id)
                head = t("🚩 Reported by {n} members: <b>{name}</b>").format(n=count, name=name)
            state = []
            if subject.deleted:
                state.append(t("deleted"))
            if subject.verdict == "spam":
                state.append(t("marked spam"))
            elif subject.verdict == "ham":
                state.append(t("marked not spam"))
            if subject.restored_message_id:
                state.append(t("restored"))
            suffix = f" · {', '.join(state)}" if state else ""
            lines.append(f"{head}{suffix}: {html.escape(text) or '…'}")
            if subject.protected:
                lines.append(
                    t("ℹ️ {name} is staff here ({why}): no action against them is offered.").format(
                        name=name, why=html.escape(subject.protected)
                    )
                )
        if actions:
            lines.append(t("<b>Moderation log</b>"))
            lines.extend(self.action_line(a) for a in actions)
        target = next((s for s in reversed(subjects) if not s.protected), None)
        return lines, self.keyboard(target) if target is not None else []

    def keyboard(self, subject: Subject) -> Keyboard:
        t = self.t

        def b(text: str, action: str) -> Button:
            return Button(text, callback_data=self.buttons.moderation(ModAct(action), subject.id))

        rows: Keyboard = []
        if subject.kind == "spam" and subject.verdict is None:
            rows.append(
                [b(t("Spam"), SPAM), b(t("Not spam (restore)") if subject.deleted else t("Not spam"), NOT_SPAM)]
            )
        elif subject.verdict is None:
            rows.append([b(t("Spam"), SPAM)])  # a reported message can teach the detector too
        if subject.is_channel:
            rows.append([b(t("Delete"), DELETE), b(t("Ban channel"), BAN), b(t("Unban channel"), UNBAN)])
            return rows
        n = int(self.settings.delete_last)
        rows.append([b(t("Delete"), DELETE), b(t("Delete last {n}").format(n=n), DELETE_LAST), b(t("Warn"), WARN)])
        rows.append([b(t("Mute 1 h"), MUTE_HOUR), b(t("Mute 1 day"), MUTE_DAY), b(t("Mute 1 week"), MUTE_WEEK)])
        rows.append([b(t("Ban"), BAN), b(t("Unmute"), UNMUTE), b(t("Unban"), UNBAN)])
        return rows

    def action_line(self, a: ModAction, *, with_chat: str | None = None) -> str:
        t = self.t
        when = datetime.fromtimestamp(a.at, UTC).strftime("%m-%d %H:%M")
        who = html.escape(a.actor_name or "Steward")
        what = self.action_name(a.action)
        if a.until_at:
            what += " " + t("until {time} UTC").format(
                time=datetime.fromtimestamp(a.until_at, UTC).strftime("%m-%d %H:%M")
            )
        target = html.escape(a.target_name) if a.target_name else "—"
        where = f" · {html.escape(with_chat)}" if with_chat else ""
        line = f"{'•' if a.ok else '✖'} {when}{where} · {who}: {what} · {target}"
        if a.reason:
            line += f" ({html.escape(a.reason)})"
        if not a.ok and a.error:
            line += " — " + html.escape(a.error)
        return line

    def action_name(self, action: str) -> str:
        t = self.t
        return {
            "delete": t("deleted the message"),
            "delete_last": t("deleted their last messages"),
            "warn": t("warned"),
            "mute": t("muted"),
            "unmute": t("unmuted"),
            "ban": t("banned"),
            "unban": t("unbanned"),
            "spam": t("marked spam"),
            "ham": t("marked not spam"),
            "restore": t("restored the message"),
            "approve": t("let in after the join check"),
            "decline": t("declined the join request"),
            "hold": t("held links and media (raid)"),
        }.get(action, action)

    async def modlog_text(self, chat_ids: list[int] | None, limit: int = 30) -> str:
        t = self.t
        actions = await self.repo.actions(chat_ids, limit)
        if not actions:
            return t("The moderation log is empty.")
        titles: dict[int, str] = {}
        lines = [t("<b>Moderation log</b>, newest first:")]
        for a in actions:
            if chat_ids is None or len(chat_ids) > 1:
                if a.chat_id not in titles:
                    titles[a.chat_id] = title_of(await self.communities.get(a.chat_id), a.chat_id)
                lines.append(self.action_line(a, with_chat=titles[a.chat_id]))
            else:
                lines.append(self.action_line(a))
            if a.case_id:
                lines[-1] += f" · #{a.case_id}"
        return "\n".join(lines)
