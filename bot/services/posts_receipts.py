"""What the managers hear about each fire: a receipt (posted, failed, missed, uncertain) with the buttons
to act on it, one list for a crowd of uncertain posts after a crash, and the receipts mode."""

from __future__ import annotations

import html

from bot.domain import Button, Community, Keyboard
from bot.domain.buttons import PostAct
from bot.domain.posts import FAILED, MISSED, SENT, UNCERTAIN, Post, PostRun
from bot.services.posts_core import RECEIPTS_KEY, PostCore, log
from bot.services.posts_rules import PostError
from bot.services.schedule import zone
from bot.services.settings import community_setting
from bot.telegram.links import message_link_or_none
from bot.timeutil import from_epoch

DIGEST_AFTER = 3  # more uncertain posts than this at a start are reported in one list
DIGEST_SIZE = 40  # posts per list (two buttons each; Telegram allows 100 buttons)


class PostReceipts(PostCore):
    # ------------------------------------------------------------------ receipts

    async def receipts_mode(self) -> str:
        """'all' or 'failures': the managers' choice (/receipts), else the config."""
        if self.state is not None:
            chosen = await self.state.get(RECEIPTS_KEY)
            if chosen in ("all", "failures"):
                return chosen
        return self.receipts

    async def set_receipts_mode(self, mode: str) -> None:
        if mode not in ("all", "failures"):
            raise PostError("receipts: all or failures")
        if self.state is None:
            raise PostError("receipts: cannot be changed here; set managers.receipts in the config")
        await self.state.set(RECEIPTS_KEY, mode)

    def _chat_name(self, community: Community | None, chat_id: int) -> str:
        title = community.title if community is not None and community.title else str(chat_id)
        return f"<b>{html.escape(title)}</b>"

    async def _notify(self, text: str, keyboard: Keyboard | None = None) -> bool:
        """True when at least one copy reached the managers' destination."""
        try:
            return bool(await self.desk.post(text, keyboard=keyboard))
        except Exception:
            log.exception("could not send a receipt to the managers")
            return False

    async def _receipt(
        self, post: Post, run: PostRun, *, pin_note: str | None = None, next_due: int | None = None
    ) -> bool:
        """Tell the managers how this run went; True when it reached them (or needed no receipt)."""
        community = await self.communities.get(post.chat_id)
        mode = await self.receipts_mode()
        if community is not None:
            mode = community_setting(community, "managers.receipts", mode)
        chat = self._chat_name(community, post.chat_id)
        keyboard: Keyboard | None = None
        if run.status == SENT:
            if mode == "failures" and pin_note is None:
                return True
            link = None
            if run.message_id is not None:
                link = message_link_or_none(
                    run.chat_id,
                    run.message_id,
                    username=community.username if community is not None else None,
                    thread_id=run.thread_id,
                )
            text = self.t("✅ Post #{id} is out in {chat}.", id=post.id, chat=chat)
            if link:
                text += " " + self.t('<a href="{link}">Open it</a>.', link=html.escape(link, quote=True))
            if run.late_s >= 60:
                text += " " + self.t("It went out {minutes} min late (the bot was offline).", minutes=run.late_s // 60)
            if pin_note:
                text += "\n" + self.t("It could not be pinned: {reason}.", reason=html.escape(pin_note))
        elif run.status == FAILED:
            text = self.t(
                "❌ Post #{id} could not be posted in {chat}: {reason}.",
                id=post.id,
                chat=chat,
                reason=html.escape(run.error or "unknown error"),
            )
            text += "\n" + self.t("Fix the cause, then press Send now, or cancel it.")
            keyboard = [
                [
                    Button(self.t("Send now"), callback_data=self.buttons.post(PostAct.NOW, post.id)),
                    Button(self.t("Cancel"), callback_data=self.buttons.post(PostAct.CANCEL, post.id)),
                ]
            ]
        elif run.status == MISSED:
            due_local = from_epoch(run.due_at).astimezone(zone(post.timezone)).strftime("%Y-%m-%d %H:%M")
            text = self.t(
                "⏰ Post #{id} for {chat} was due at {due} ({tz}) but the bot was offline for longer than "
                "its lateness limit ({limit} min), so it was not posted.",
                id=post.id,
                chat=chat,
                due=due_local,
                tz=html.escape(post.timezone),
                limit=post.lateness_s // 60,
            )
            if not post.recurring:
                keyboard = [
                    [
                        Button(self.t("Send now"), callback_data=self.buttons.post(PostAct.NOW, post.id)),
                        Button(self.t("Cancel"), callback_data=self.buttons.post(PostAct.CANCEL, post.id)),
                    ]
                ]
        elif run.status == UNCERTAIN:
            text, keyboard = self._uncertain_text(post, community)
        else:
            return True
        if next_due is not None:
            nxt = from_epoch(next_due).astimezone(zone(post.timezone)).strftime("%Y-%m-%d %H:%M")
            text += "\n" + self.t("Next: {when} ({tz}).", when=nxt, tz=html.escape(post.timezone))
        if not await self._notify(text, keyboard):
            log.warning(
                "post #%s: the %s receipt did not reach the managers; will retry at the next start", post.id, run.status
            )
            return False
        await self.repo.mark_reported(run.id)
        return True

    async def _report_backlog(self, runs: list[PostRun]) -> int:
        """Receipts for runs the managers have not heard about. A few go one by one; a crowd of
        uncertain posts (a crash during a busy minute) goes as one list, so the managers' chat is
        not flooded (and Telegram's 20-per-minute group limit does not delay them for minutes)."""
        reported = 0
        uncertain = [r for r in runs if r.status == UNCERTAIN]
        singles = [r for r in runs if r.status != UNCERTAIN]
        if len(uncertain) <= DIGEST_AFTER:
            singles = runs
            uncertain = []
        for run in singles:
            post = await self.repo.get(run.post_id)
            if post is not None and await self._receipt(post, run):
                reported += 1
        for start in range(0, len(uncertain), DIGEST_SIZE):
            chunk = uncertain[start : start + DIGEST_SIZE]
            lines = [
                self.t(
                    "⚠️ The bot stopped while sending these {n} posts, so each may or may not have been posted. "
                    "Please check the chats, then tell me for each one. I will not post them again on my own.",
                    n=len(chunk),
                )
            ]
            keyboard: Keyboard = []
            for run in chunk:
                post = await self.repo.get(run.post_id)
                if post is None:
                    continue
                community = await self.communities.get(post.chat_id)
                lines.append(
                    self.t("• Post #{id} for {chat}", id=post.id, chat=self._chat_name(community, post.chat_id))
                )
                if post.recurring:
                    keyboard.append(
                        [
                            Button(
                                self.t("#{id} was posted", id=post.id),
                                callback_data=self.buttons.post(PostAct.OK, post.id),
                            )
                        ]
                    )
                else:
                    keyboard.append(
                        [
                            Button(
                                self.t("#{id} was posted", id=post.id),
                                callback_data=self.buttons.post(PostAct.POSTED, post.id),
                            ),
                            Button(
                                self.t("Post #{id} again", id=post.id),
                                callback_data=self.buttons.post(PostAct.NOW, post.id),
                            ),
                        ]
                    )
            if await self._notify("\n".join(lines), keyboard):
                for run in chunk:
                    await self.repo.mark_reported(run.id)
                reported += len(chunk)
        return reported

    def _uncertain_text(self, post: Post, community: Community | None) -> tuple[str, Keyboard]:
        text = self.t(
            "⚠️ Post #{id} for {chat} may or may not have been posted: the bot stopped while sending it. "
            "Please check the chat, then tell me what happened. I will not post it again on my own.",
            id=post.id,
            chat=self._chat_name(community, post.chat_id),
        )
        keyboard: Keyboard = [
            [
                Button(self.t("It was posted"), callback_data=self.buttons.post(PostAct.POSTED, post.id)),
                Button(self.t("Post it again"), callback_data=self.buttons.post(PostAct.NOW, post.id)),
            ]
        ]
        if post.recurring:
            keyboard = [[Button(self.t("It was posted"), callback_data=self.buttons.post(PostAct.OK, post.id))]]
            text += "\n" + self.t("The recurring schedule continues as planned.")
        return text, keyboard
