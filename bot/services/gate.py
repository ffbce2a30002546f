"""The join gate and raid mode (both off unless a community turns them on).

Join gate (``moderation.join_gate``): a join request gets a one-button check in private ("I am a person,
let me in"); the press approves the request (``approveChatJoinRequest``); a request nobody answered is
declined after ``gate_minutes`` (``declineChatJoinRequest``). Only the person who asked can pass their own
check: the button carries the chat id, and the presser's user id must have a pending request there.

Raid mode (``moderation.raid_mode``): ``raid_joins`` joins within ``raid_window_seconds`` start a raid for
``raid_minutes``. Everyone who joined in the window or joins during the raid may send text only (no links
previews, media, stickers or polls) until the raid ends, when Telegram lifts it by itself. The managers get
one summary per raid; Steward's own group notices stay silent meanwhile.
"""

from __future__ import annotations

import html
import logging
from collections import deque

from bot.config import ModerationSettings
from bot.domain import Button, Priority
from bot.domain.buttons import ButtonPort
from bot.services.escalation import Outcome
from bot.services.moderation import ModerationService
from bot.services.ports import Desk
from bot.services.raids import RaidMode
from bot.storage.moderation import ModerationRepository

log = logging.getLogger(__name__)


class GateService:
    def __init__(
        self,
        settings: ModerationSettings,
        moderation: ModerationService,
        repo: ModerationRepository,
        desk: Desk,
        *,
        buttons: ButtonPort,
        raids: RaidMode,
    ) -> None:
        self.settings, self.moderation, self.repo, self.desk, self.buttons = settings, moderation, repo, desk, buttons
        self._joins: dict[int, deque[tuple[int, int, str]]] = {}  # chat → (at, user id, name) of recent joins
        self.raids = raids  # moderation reads the same raid mode (no group notices during a raid)

    def _on(self, community: object, key: str) -> bool:
        return bool(self.moderation.setting(community, key, getattr(self.settings, key)))  # type: ignore[arg-type]

    def _int(self, community: object, key: str) -> int:
        return int(self.moderation.setting(community, key, getattr(self.settings, key)))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ join gate

    async def on_join_request(self, chat_id: int, user_id: int, name: str, user_chat_id: int) -> bool:
        """Send the check; False when the gate is off here (the request is left to the admins)."""
        moderation = self.moderation
        community = await moderation.communities.get(chat_id)
        if community is None or not moderation.enabled(community) or not self._on(community, "join_gate"):
            return False
        t = moderation.t
        now = moderation.clock()
        minutes = self._int(community, "gate_minutes")
        await self.repo.add_join_request(chat_id, user_id, name, now, now + 60 * minutes)
        text = t(
            "To join {title}, press the button below within {minutes} min. It only checks that you are a person."
        ).format(title=html.escape(community.title), minutes=minutes)
        keyboard = [[Button(t("I am a person, let me in"), callback_data=self.buttons.gate(chat_id))]]
        delivery = await moderation.outbox.send_message(user_chat_id, text, keyboard=keyboard, priority=Priority.REPLY)
        if not delivery.ok:
            log.warning("join gate: could not write to %s about %s: %s", user_id, chat_id, delivery.error)
        return True

    async def press(self, chat_id: int, user_id: int) -> Outcome:
        """The person pressed their check: approve their request (only theirs, only while it is pending)."""
        t = self.moderation.t
        now = self.moderation.clock()
        if not -(2**63) < chat_id < 0:
            return Outcome(False, t("This check is not valid."))
        state = await self.repo.join_request_state(chat_id, user_id)
        if state != "pending":
            return Outcome(
                False,
                t("There is no join request of yours waiting here.")
                if state is None
                else t("This check is over ({state}). Ask to join again.").format(state=state),
            )
        if not await self.repo.decide_join_request(chat_id, user_id, "approved", now, require_unexpired=True):
            return Outcome(False, t("This check has expired. Ask to join again."))
        ok, error = await self.moderation.api.approve_join(chat_id, user_id)
        await self._log(
            chat_id, user_id, str(user_id), "approve", (user_id, "join gate"), "passed the check", None, ok, error, now
        )
        if not ok:
            await self.repo.decide_join_request(chat_id, user_id, "failed", now, require_unexpired=False)
            return Outcome(
                False,
                t("I could not let you in: {error}. The admins can approve you.").format(
                    error=html.escape(error or "?")
                ),
            )
        return Outcome(True, t("Thanks, you are in. Welcome!"))

    async def tick(self) -> None:
        """Decline the requests nobody answered in time."""
        now = self.moderation.clock()
        for chat_id, user_id in await self.repo.expired_join_requests(now):
            if not await self.repo.decide_join_request(chat_id, user_id, "declined", now, require_unexpired=False):
                continue
            ok, error = await self.moderation.api.decline_join(chat_id, user_id)
            await self._log(
                chat_id, user_id, str(user_id), "decline", None, "the join check timed out", None, ok, error, now
            )

    # ------------------------------------------------------------------ raid mode

    def in_raid(self, chat_id: int) -> bool:
        return self.raids.active(chat_id, self.moderation.clock())

    async def on_member_joined(self, chat_id: int, user_id: int, name: str) -> None:
        moderation = self.moderation
        community = await moderation.communities.get(chat_id)
        if community is None or not moderation.enabled(community) or not self._on(community, "raid_mode"):
            return
        now = moderation.clock()
        window = self._int(community, "raid_window_seconds")
        joins = self._joins.setdefault(chat_id, deque(maxlen=10_000))
        joins.append((now, user_id, name))
        while joins and joins[0][0] <= now - window:
            joins.popleft()
        if self.in_raid(chat_id):
            await self._hold(chat_id, [(user_id, name)])
            return
        if len(joins) < self._int(community, "raid_joins"):
            return
        end = now + 60 * self._int(community, "raid_minutes")
        self.raids.start(chat_id, end)
        held = await self._hold(chat_id, [(uid, who) for _, uid, who in joins])
        t = moderation.t
        text = t(
            "🚨 Raid mode in {title}: {n} joins within {seconds} s. New members may send text only "
            "(no links or media) for {minutes} min."
        ).format(
            title=html.escape(community.title),
            n=len(joins),
            seconds=window,
            minutes=self._int(community, "raid_minutes"),
        )
        if held is not None:
            text += " " + held
        log.warning("raid mode in %s: %d joins within %d s", chat_id, len(joins), window)
        await self.desk.post(text, priority=Priority.NORMAL)

    async def _hold(self, chat_id: int, people: list[tuple[int, str]]) -> str | None:
        """Text only until the raid ends. Returns a problem to tell the managers, if any."""
        end = self.raids.end(chat_id, self.moderation.clock())
        missing = await self.moderation.missing_right(chat_id, "restrict", "")
        if missing is not None:
            return missing
        now = self.moderation.clock()
        for user_id, name in dict(people).items():
            if await self.moderation.protection(chat_id, user_id, None):
                continue
            ok, error = await self.moderation.api.hold_media(chat_id, user_id, end)
            await self._log(chat_id, user_id, name, "hold", None, "raid mode", end, ok, error, now)
        return None

    async def _log(
        self,
        chat_id: int,
        user_id: int,
        name: str,
        action: str,
        actor: tuple[int, str] | None,
        reason: str,
        until: int | None,
        ok: bool,
        error: str | None,
        at: int,
    ) -> None:
        """A join-gate or raid action in the moderation log (``actor`` None: Steward itself)."""
        await self.repo.log(
            chat_id=chat_id,
            case_id=None,
            subject_id=None,
            target_id=user_id,
            target_name=name,
            action=action,
            actor_id=actor[0] if actor is not None else None,
            actor_name=actor[1] if actor is not None else "Steward",
            reason=reason,
            until_at=until,
            ok=ok,
            error=error,
            at=at,
        )
