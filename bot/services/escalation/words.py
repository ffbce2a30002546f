"""The words of escalation in the managers' language: states, levels, reasons, signals, durations.

Cards, reports, reminders and moderation's notices all name things through one :class:`Words`.
"""

from __future__ import annotations

import html
import json
from typing import Any

from bot.domain.cases import Case
from bot.i18n import Translator
from bot.services.escalation.judge import NEED_WORDS
from bot.services.escalation.policy import Reason


class Words:
    def __init__(self, t: Translator) -> None:
        self.t = t

    def state_name(self, state: str) -> str:
        t = self.t
        names = {
            "open": t("open"),
            "taken": t("taken"),
            "answered": t("answered"),
            "snoozed": t("snoozed"),
            "resolved": t("resolved"),
            "dismissed": t("dismissed"),
            "expired": t("expired"),
        }
        return names.get(state, state)

    def level_name(self, level: str) -> str:
        t = self.t
        return {"high": t("high"), "medium": t("medium"), "low": t("low")}.get(level, level)

    def sentiment_name(self, label: str) -> str:
        t = self.t
        return {
            "negative": t("negative"),
            "neutral": t("neutral"),
            "positive": t("positive"),
            "unclassified": t("unclassified"),
        }.get(label, label)

    def reason_name(self, reason: str) -> str:
        t = self.t
        return {
            "very_negative": t("very negative message"),
            "pile_on": t("pile-on"),
            "reply_to_staff": t("negative reply to the bot or a manager"),
            "keyword": t("keyword"),
            "report": t("reported by members"),
            "spam": t("possible spam"),
            "thread": t("thread judgment"),
            "billing": t("money or billing problem"),
            "refund": t("refund or cancellation requested"),
            "outage": t("service not working"),
            "data_loss": t("lost data or work"),
            "no_show": t("staff or service did not show up"),
            "leave_threat": t("threat to leave or go public"),
            "harassment": t("harassment or abuse"),
            "safety": t("safety concern"),
            "staff_question": t("question only the team can answer"),
            "chasing": t("asked again without an answer"),
        }.get(reason, self.signal_name(reason))

    def signal_name(self, signal: str) -> str:
        t = self.t
        return {
            "need": t("need"),
            "members": t("members"),
            "repeat": t("repeated"),
            "unanswered": t("unanswered"),
            "tone": t("tone"),
            "resolved": t("resolved by a peer"),
            "staff_replied": t("staff replied"),
            "outside": t("outside the community"),
        }.get(signal, signal)

    def reasons_text(self, case: Case) -> str:
        if "thread" in case.reasons:
            return self.thread_reason_text(case) or html.escape(case.detail)  # the judgment's plain words
        parts: list[str] = []
        for reason in case.reasons:
            if reason == Reason.PILE_ON.value:
                parts.append(self.t("pile-on: {n} members negative").format(n=case.negative_members))
            elif reason == Reason.KEYWORD.value and case.keyword:
                parts.append(self.t("keyword “{keyword}”").format(keyword=html.escape(case.keyword)))
            elif reason == Reason.VERY_NEGATIVE.value:
                parts.append(self.t("very negative message ({score})").format(score=f"{case.severity:.2f}"))
            else:
                parts.append(self.reason_name(reason))
        return "; ".join(parts) or "—"

    def thread_reason_text(self, case: Case) -> str | None:
        """The card's reason in the managers' language, from the stored signals (None: none stored)."""
        data = _signals(case)
        if data is None:
            return None
        need = next((r for r in case.reasons if r in NEED_WORDS), None)
        parts: list[str] = []
        for item in data["signals"]:
            signal, count = str(item.get("signal", "")), int(item.get("count", 0) or 0)
            if signal == "need":
                words = self.reason_name(need) if need else html.escape(str(item.get("text", "")))
                parts.append(self.t("{need} by {n} members").format(need=words, n=count) if count > 1 else words)
            elif signal == "repeat":
                parts.append(self.t("raised again by the same member"))
            elif signal == "unanswered":
                parts.append(self.t("no staff reply for {n} min").format(n=count))
        return ", ".join(parts) or None

    def why_text(self, case: Case) -> str:
        """/case ID why: each signal and its contribution, against the score that opens a case."""
        t = self.t
        lines = [t("<b>Why case #{id} opened</b>").format(id=case.id)]
        data = _signals(case)
        if data is None:
            lines.append(t("Reason: {reasons}").format(reasons=self.reasons_text(case)))
            lines.append(t("(opened by the message rules; no thread signals were recorded)"))
            return "\n".join(lines)
        for item in data["signals"]:
            value = float(item.get("value", 0.0))
            text = html.escape(str(item.get("text", "")))
            lines.append(f"{value:+.2f} · {self.signal_name(str(item.get('signal', '')))}: {text}")
        lines.append(
            t("Total {score:.2f}; a case opens at {threshold:.2f} (open_score).").format(
                score=float(data.get("score", 0.0)), threshold=float(data.get("open_score", 0.0))
            )
        )
        return "\n".join(lines)

    def duration(self, seconds: float) -> str:
        t = self.t
        minutes = max(0, int(seconds // 60))
        if minutes < 60:
            return t("{n} min").format(n=minutes)
        hours, rest = divmod(minutes, 60)
        if hours < 48:
            return t("{h} h {m} min").format(h=hours, m=rest) if rest else t("{h} h").format(h=hours)
        return t("{d} days").format(d=hours // 24)

    def not_now(self, case: Case) -> str:
        return self.t("Case #{id} is {state}; nothing changed.").format(id=case.id, state=self.state_name(case.state))

    def no_case(self, case_id: int) -> str:
        return self.t("There is no case #{id}.").format(id=case_id)


def _signals(case: Case) -> dict[str, Any] | None:
    """The thread signals stored with a case (``CaseReason.signals``), or None."""
    try:
        data = json.loads(case.signals) if case.signals else None
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("signals") else None
