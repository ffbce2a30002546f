"""What managers read: the queue of open cases, the shadow report, a community's escalation settings."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from bot.domain import Community
from bot.domain.cases import Case
from bot.services.escalation.base import title_of
from bot.services.escalation.cards import priority_of, thread_link
from bot.services.escalation.context import Context, Part
from bot.services.escalation.policy import priority_label
from bot.services.escalation.thread import ThreadEscalation

_PRIORITY_ICON = {"high": "🔥", "medium": "⚠️", "low": "·"}


class Reports(Part):
    def __init__(self, ctx: Context, thread: ThreadEscalation) -> None:
        super().__init__(ctx)
        self.thread = thread

    async def queue(self) -> list[tuple[Case, int]]:
        """Active live cases with their priority, most urgent first (then the oldest)."""
        now = self.clock()
        out: list[tuple[Case, int]] = []
        communities: dict[int, Community | None] = {}
        for case in await self.cases.active():
            if case.chat_id not in communities:
                communities[case.chat_id] = await self.communities.get(case.chat_id)
            out.append((case, priority_of(case, self.config.sla_seconds(communities[case.chat_id]), now)))
        out.sort(key=lambda item: (-item[1], item[0].opened_at))
        return out

    async def queue_text(self, limit: int = 30) -> str:
        t, words = self.t, self.words
        items = await self.queue()
        if not items:
            return t("The queue is empty: no open cases.")
        now = self.clock()
        titles: dict[int, str] = {}
        lines = [t("<b>Open cases</b> ({count}), most urgent first:").format(count=len(items))]
        for case, priority in items[:limit]:
            if case.chat_id not in titles:
                titles[case.chat_id] = title_of(await self.communities.get(case.chat_id), case.chat_id)
            level = priority_label(priority)
            lines.append(
                t("{icon} #{id} · {priority} · {title} · {state} · {members} unhappy · {age}").format(
                    icon=_PRIORITY_ICON[level],
                    id=case.id,
                    priority=priority,
                    title=html.escape(titles[case.chat_id]),
                    state=words.state_name(case.state),
                    members=case.negative_members,
                    age=words.duration(now - case.opened_at),
                )
            )
        if len(items) > limit:
            lines.append(t("… and {n} more").format(n=len(items) - limit))
        lines.append("")
        lines.append(t("Open one with /case &lt;number&gt;."))
        return "\n".join(lines)

    async def shadow_report(self, days: int = 7) -> str:
        t = self.t
        now = self.clock()
        cases = await self.cases.shadow_since(now - days * 86400)
        lines = [t("<b>Shadow report</b>, last {days} days").format(days=days)]
        if not cases:
            lines.append(t("Nothing would have been escalated."))
        by_chat: dict[int, list[Case]] = {}
        for case in cases:
            by_chat.setdefault(case.chat_id, []).append(case)
        for chat_id, chat_cases in by_chat.items():
            lines += await self._shadow_of_chat(chat_id, chat_cases)
        feedback = await self.cases.all_feedback()
        if feedback:
            lines.append("")
            lines.append(t("<b>Precision of live cases</b> (resolved ÷ resolved + dismissed)"))
            for fb in feedback:
                title = title_of(await self.communities.get(fb.chat_id), fb.chat_id)
                precision = "—" if fb.precision is None else f"{fb.precision:.0%}"
                lines.append(f"• {html.escape(title)}: {precision} ({fb.resolved}/{fb.closed})")
        return "\n".join(lines)

    async def _shadow_of_chat(self, chat_id: int, chat_cases: list[Case]) -> list[str]:
        """One community's would-be cases: how many and why, today's settings, the last five."""
        t, config = self.t, self.config
        community = await self.communities.get(chat_id)
        reasons: dict[str, int] = {}
        for case in chat_cases:
            for reason in case.reasons:
                reasons[reason] = reasons.get(reason, 0) + 1
        p = config.policy_settings(community)
        observe = "on" if config.observe(community) else "off"
        lines = [
            "",
            t("<b>{title}</b>: {n} would-be cases ({reasons})").format(
                title=html.escape(title_of(community, chat_id)),
                n=len(chat_cases),
                reasons=", ".join(f"{self.words.reason_name(r)}: {n}" for r, n in sorted(reasons.items())),
            ),
        ]
        if self.thread.uses_thread_policy(community):
            lines.append(
                t("now: thread policy, open_score {s}, wait {w} min, need_margin {m}; observe {o}").format(
                    s=config.value(community, "open_score"),
                    w=config.value(community, "wait_minutes"),
                    m=config.value(community, "need_margin"),
                    o=observe,
                )
            )
        else:
            lines.append(
                t("now: very_negative {v}, negative {n}, pile_on_members {p}, window {w} min; observe {o}").format(
                    v=p.very_negative, n=p.negative, p=p.pile_on_members, w=p.window_seconds // 60, o=observe
                )
            )
        for case in chat_cases[-5:]:
            link = thread_link(case, community)
            opened = datetime.fromtimestamp(case.opened_at, UTC).strftime("%m-%d %H:%M")
            ref = f'<a href="{html.escape(link, quote=True)}">#{case.id}</a>' if link else f"#{case.id}"
            lines.append(f"• {ref} {opened} · {html.escape(case.detail)}")
        return lines

    async def settings_text(self, chat_id: int) -> str:
        t, config = self.t, self.config
        community = await self.communities.get(chat_id)
        p = config.policy_settings(community)
        feedback = await self.cases.feedback(chat_id)
        precision = "—" if feedback.precision is None else f"{feedback.precision:.0%}"
        lines = [
            t("<b>Escalation settings here</b>"),
            t("observe (shadow mode): {value}").format(value="on" if config.observe(community) else "off"),
            t("policy: {value}").format(value=config.value(community, "policy")),
            t("wait_minutes: {value}").format(value=config.value(community, "wait_minutes")),
            t("open_score: {value}").format(value=config.value(community, "open_score")),
            t("need_margin: {value}").format(value=config.value(community, "need_margin")),
            t("very_negative: {value}").format(value=p.very_negative),
            t("negative: {value}").format(value=p.negative),
            t("pile_on_members: {value}").format(value=p.pile_on_members),
            t("window_minutes: {value}").format(value=p.window_seconds // 60),
            t("sla_minutes: {value}").format(value=config.sla_seconds(community) // 60),
            t("reminder_minutes: {value}").format(value=config.value(community, "reminder_minutes")),
            t("keywords: {value}").format(value=html.escape(", ".join(p.keywords) or "—")),
            t("about: {value}").format(value=html.escape(p.about or "—")),
            t("about_keywords: {value}").format(value=html.escape(", ".join(p.about_keywords) or "—")),
            t("Precision: {precision} ({resolved} resolved, {dismissed} dismissed)").format(
                precision=precision, resolved=feedback.resolved, dismissed=feedback.dismissed
            ),
            "",
            t("Change one with /escalation &lt;setting&gt; &lt;value&gt;, for example /escalation observe on"),
        ]
        return "\n".join(lines)
