"""The group title is escaped in the rights report (issue #13, point 8): anyone names a group."""

from __future__ import annotations

from pathlib import Path

from tests.harness import MANAGER_ID, running_bot

GROUP = -1001500000001


async def test_rights_report_escapes_the_group_title(tmp_path: Path) -> None:
    title = "Fish <&> Chips <b>Free</b> <a href='tg://x'>money</a>"
    async with running_bot(tmp_path) as h:
        h.sandbox.add_user(MANAGER_ID, "Max", "max")
        h.sandbox.add_group(GROUP, title, owner_id=MANAGER_ID)
        await h.say(MANAGER_ID, MANAGER_ID, "/start")
        since = h.sandbox.mark()
        h.sandbox.add_bot_to_group(GROUP, MANAGER_ID, as_admin=False)
        call = await h.sandbox.wait_for("sendMessage", since=since, chat_id=MANAGER_ID)
        escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;")
        assert call.params["text"].startswith(f"Thanks for adding me to {escaped}.")
        # The report went to the manager in private, not to the group as a fallback.
        assert not [c for c in h.sandbox.calls()[since:] if c.method == "sendMessage" and c.chat_id == GROUP]
