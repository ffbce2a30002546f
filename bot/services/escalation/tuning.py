"""Changing a community's escalation settings: by a manager's command, or by feedback after a false alarm.

Every change is stored in the community's settings, invalidates the settings cache and is logged in the
tuning log (:meth:`Tuning.store`, which moderation's settings use too); the managers' desk hears of it.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from bot.domain import Priority
from bot.domain.cases import Case, Feedback, TuningChange
from bot.services.escalation.base import Actor, Outcome, SettingsCache
from bot.services.escalation.context import Context, Part
from bot.services.escalation.policy import Reason
from bot.services.escalation.settings import parse_setting, shown

log = logging.getLogger(__name__)

Changes = dict[str, tuple[Any, Any]]  # full setting key: (old, new)


class Tuning(Part):
    def __init__(self, ctx: Context, *, settings_cache: SettingsCache | None) -> None:
        super().__init__(ctx)
        self.settings_cache = settings_cache

    async def store(
        self, chat_id: int, changes: Changes, actor: int, reason: str, case_id: int | None = None, at: int | None = None
    ) -> None:
        """Write ``changes`` to the community's settings, drop its cached settings, log each change (by ``actor``)."""
        if not changes:
            return
        await self.communities.update_settings(chat_id, {key: new for key, (_, new) in changes.items()})
        if self.settings_cache is not None:
            self.settings_cache.invalidate(chat_id)
        when = self.clock() if at is None else at
        for key, (old, new) in changes.items():
            await self.cases.log_tuning(TuningChange(chat_id, when, actor, case_id, key, str(old), str(new), reason))

    async def set_community_setting(self, chat_id: int, key: str, raw: str, actor: Actor) -> Outcome:
        """/escalation <key> <value> in a community: validated, stored, logged."""
        t = self.t
        community = await self.communities.get(chat_id)
        if community is None:
            return Outcome(False, t("This chat is not a community I serve yet."))
        try:
            value = parse_setting(t, key, raw)
        except KeyError:
            return Outcome(
                False, t("Unknown setting {key}. See /escalation for the list.").format(key=html.escape(key))
            )
        except ValueError as exc:
            message = str(exc) if str(exc) and not str(exc).startswith(("could not", "invalid")) else t("not valid")
            return Outcome(False, t("{key}: {problem}.").format(key=html.escape(key), problem=message))
        full = f"escalation.{key}"
        old = community.settings.get(full, getattr(self.config.settings, key, None))
        await self.store(chat_id, {full: (old, value)}, actor=actor.user_id, reason=f"set by {actor.name}")
        log.info("%s set %s in %s: %r → %r", actor.user_id, full, chat_id, old, value)
        text = html.escape(shown(value) or "—")
        await self.desk.post(
            t("⚙️ {name} set {key} = {value} in {title}.").format(
                name=html.escape(actor.name), key=key, value=text, title=html.escape(community.title)
            ),
            priority=Priority.NORMAL,
        )
        return Outcome(True, t("{key} is now {value}.").format(key=key, value=text))

    async def after_dismiss(self, case: Case, actor: Actor, feedback: Feedback, now: int) -> None:
        """A false alarm in a chat whose precision is below target raises the thresholds that tripped."""
        s = self.config.settings
        precision = feedback.precision
        community = await self.communities.get(case.chat_id)
        if community is None or precision is None:
            return
        target = float(self.config.value(community, "tune_target_precision"))
        if feedback.closed < s.tune_min_cases or precision >= target:
            return
        current = self.config.policy_settings(community)
        changes: Changes = {}
        notes: list[str] = []

        def bump(key: str, old: Any, new: Any, at_bound: str) -> None:
            if new > old:
                changes[f"escalation.{key}"] = (old, new)
            else:
                notes.append(at_bound.format(value=new))

        t = self.t
        if "thread" in case.reasons:
            # The thread judgment: a false alarm asks for more evidence before the next case.
            old_score = float(self.config.value(community, "open_score"))
            new_score = round(min(old_score + 0.1, s.max_open_score), 2)
            bump("open_score", old_score, new_score, t("the open score is at its bound ({value})"))
        if Reason.VERY_NEGATIVE.value in case.reasons:
            new = round(min(current.very_negative + 0.02, s.max_very_negative), 2)
            bump(
                "very_negative", current.very_negative, new, t("the very-negative threshold is at its bound ({value})")
            )
        if Reason.PILE_ON.value in case.reasons:
            members = min(current.pile_on_members + 1, s.max_pile_on_members)
            bump("pile_on_members", current.pile_on_members, members, t("the pile-on size is at its bound ({value})"))
        if Reason.REPLY_TO_STAFF.value in case.reasons:
            new = round(min(current.negative + 0.05, s.max_negative), 2)
            bump("negative", current.negative, new, t("the negative threshold is at its bound ({value})"))
        if Reason.KEYWORD.value in case.reasons and case.keyword:
            notes.append(
                t("keyword “{keyword}” caused it; remove it with /escalation keywords if it misfires").format(
                    keyword=html.escape(case.keyword)
                )
            )
        reason = (
            f"case #{case.id} dismissed; precision {precision:.0%} over {feedback.closed} closed cases "
            f"is below {target:.0%}"
        )
        await self.store(case.chat_id, changes, actor=actor.user_id, reason=reason, case_id=case.id, at=now)
        for key, (old, new) in changes.items():
            log.info("tuning %s in %s: %s → %s (%s)", key, case.chat_id, old, new, reason)
        if not changes and not notes:
            return
        lines = [
            t(
                "🔧 <b>{title}</b>: case #{id} was dismissed. "
                "Precision {precision} ({resolved} real of {closed} closed)."
            ).format(
                title=html.escape(community.title),
                id=case.id,
                precision=f"{precision:.0%}",
                resolved=feedback.resolved,
                closed=feedback.closed,
            )
        ]
        for key, (old, new) in changes.items():
            lines.append(
                t("Raised {setting}: {old} → {new}").format(setting=key.removeprefix("escalation."), old=old, new=new)
            )
        lines.extend(f"• {note}" for note in notes)
        await self.desk.post("\n".join(lines), priority=Priority.NORMAL)
