"""News feeds end to end: RSS and Atom served from a local aiohttp server on 127.0.0.1, the real bot
polling the sandbox. Dedupe across two feeds, deny keywords, the draft card, Edit, approval, then the
post in the right forum topic; ETag/304 and back-off on errors."""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web

from tests.harness import ADMIN_ID, MANAGER_ID, Harness, running_bot
from tests.local_server import serve as serve_locally

FORUM = -1001000000501
MANAGERS = -1001000000599

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Coffee Daily</title><link>http://127.0.0.1/</link><description>d</description>
<item><guid>rss-1</guid><title>New espresso machine launched</title><link>http://127.0.0.1/a/1</link>
  <description>&lt;p&gt;A faster &lt;b&gt;espresso&lt;/b&gt; machine.&lt;/p&gt;</description></item>
<item><guid>rss-2</guid><title>Crypto coffee coins are back</title><link>http://127.0.0.1/a/2</link>
  <description>Buy espresso with crypto.</description></item>
<item><guid>rss-3</guid><title>Espresso prices rise in Europe</title><link>http://127.0.0.1/a/3</link>
  <description>Beans cost more.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Bean Wire</title><id>urn:bean</id>
<updated>2026-11-20T10:00:00Z</updated>
<entry><id>urn:bean:1</id><title>New Espresso Machine Launched!</title>
  <link href="http://127.0.0.1/b/1"/><updated>2026-11-20T10:00:00Z</updated><summary>Same story.</summary></entry>
<entry><id>urn:bean:2</id><title>Tea ceremony guide</title>
  <link href="http://127.0.0.1/b/2"/><updated>2026-11-20T09:00:00Z</updated><summary>Green tea.</summary></entry>
<entry><id>urn:bean:3</id><title>Latte art championship results</title>
  <link href="http://127.0.0.1/b/3"/><updated>2026-11-20T08:00:00Z</updated><summary>Winners.</summary></entry>
</feed>"""


class FakeEncoder:
    """Bag of words hashed into 256 dimensions, L2-normalised: equal word sets give similarity 1."""

    async def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.casefold()):
                out[row, zlib.crc32(word.encode()) % 256] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out


@dataclass
class FeedServer:
    base: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    state = FeedServer()

    def serve(body: str, kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        etag = f'"{zlib.crc32(body.encode()):x}"'

        async def handler(request: web.Request) -> web.Response:
            state.requests.append((request.path, dict(request.headers)))
            if request.path in state.broken:
                return web.Response(status=503, text="down")
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304)
            return web.Response(body=body.encode(), content_type=kind, headers={"ETag": etag})

        return handler

    app = web.Application()
    app.router.add_get("/rss.xml", serve(RSS, "application/rss+xml"))
    app.router.add_get("/atom.xml", serve(ATOM, "application/atom+xml"))

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>hi</body></html>", content_type="text/html")

    app.router.add_get("/page.html", page)

    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=301, headers={"Location": "/rss.xml"})

    app.router.add_get("/old-rss", moved)
    runner, port = await serve_locally(app)
    state.base = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


async def setup(h: Harness) -> int:
    sb = h.sandbox
    sb.add_user(ADMIN_ID, "Ada", "ada")
    sb.add_user(MANAGER_ID, "Max", "max")
    sb.add_group(FORUM, "Coffee forum", is_forum=True, owner_id=ADMIN_ID, members=[MANAGER_ID])
    sb.add_group(MANAGERS, "Managers", owner_id=ADMIN_ID, members=[MANAGER_ID])
    sb.add_bot_to_group(FORUM, ADMIN_ID)
    sb.add_bot_to_group(MANAGERS, ADMIN_ID)
    topic = sb.add_topic(FORUM, "News")
    await h.settle()
    h.app.feeds.embed = FakeEncoder()
    return topic


async def command(h: Harness, text: str, thread_id: int | None = None) -> str:
    since = h.sandbox.mark()
    h.sandbox.send_message(FORUM, ADMIN_ID, text, thread_id=thread_id)
    call = await h.sandbox.wait_for("sendMessage", since=since, chat_id=FORUM, timeout=10)
    return str(call.params["text"])


def cards(h: Harness) -> list[dict[str, object]]:
    return [m for m in h.sandbox.sent_messages(MANAGERS) if "Draft #" in str(m.get("text", ""))]


async def test_two_feeds_dedupe_deny_draft_edit_approve_then_post_in_topic(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    async with running_bot(tmp_path, managers={"chat_id": MANAGERS}, scheduler={"feed_allow_private": True}) as h:
        topic = await setup(h)
        assert "Saved" in await command(h, "/feed_keywords espresso, latte", topic)
        assert "Saved" in await command(h, "/feed_deny crypto", topic)
        reply = await command(h, f"/feed_add {feed_server.base}/rss.xml", topic)
        assert "Subscribed to Coffee Daily" in reply, reply
        reply = await command(h, f"/feed_add {feed_server.base}/atom.xml", topic)
        assert "Subscribed to Bean Wire" in reply, reply
        await h.settle()

        items = {i.title: i for i in await h.app.feeds.repo.items(FORUM)}
        assert items["New espresso machine launched"].status == "draft"
        assert items["Espresso prices rise in Europe"].status == "draft"
        assert items["Crypto coffee coins are back"].status == "denied"
        dup = items["New Espresso Machine Launched!"]
        assert dup.status == "duplicate" and dup.duplicate_of == items["New espresso machine launched"].id
        assert items["Tea ceremony guide"].status == "irrelevant"
        assert items["Latte art championship results"].status == "draft"

        drafts = cards(h)
        assert len(drafts) == 3
        first = next(c for c in drafts if "New espresso machine launched" in str(c["text"]))
        assert "A faster espresso machine." in str(first["text"])  # HTML in the summary is flattened
        item_id = items["New espresso machine launched"].id
        datas = [b["callback_data"] for row in first["reply_markup"]["inline_keyboard"] for b in row]  # type: ignore[index]
        assert datas == [f"fd:2:approve:{item_id}", f"fd:2:edit:{item_id}", f"fd:2:skip:{item_id}"]

        # A member who is no manager cannot approve.
        h.sandbox.add_user(777, "Eve")
        h.sandbox.add_member(MANAGERS, 777)
        qid = h.sandbox.press_button(MANAGERS, 777, int(first["message_id"]), f"fd:2:approve:{item_id}")  # type: ignore[arg-type]
        await h.settle()
        assert "Only the community managers" in (h.sandbox.callback_answer(qid) or {}).get("text", "")
        assert (await h.app.feeds.repo.get_item(item_id)).status == "draft"  # type: ignore[union-attr]

        # Edit the latte draft, then approve both.
        latte = items["Latte art championship results"]
        latte_card = next(c for c in drafts if "Latte art" in str(c["text"]))
        h.sandbox.press_button(MANAGERS, MANAGER_ID, int(latte_card["message_id"]), f"fd:2:edit:{latte.id}")  # type: ignore[arg-type]
        await h.settle()
        h.sandbox.send_message(
            MANAGERS, MANAGER_ID, "Latte art: meet the winners", entities=[{"type": "bold", "offset": 0, "length": 9}]
        )
        await h.settle()
        edited = next(m for m in h.sandbox.messages(MANAGERS) if m["message_id"] == latte_card["message_id"])
        assert "<b>Latte art</b>: meet the winners" in (await h.app.feeds.repo.get_item(latte.id)).text  # type: ignore[union-attr,operator]
        assert "meet the winners" in str(edited["text"])

        since = h.sandbox.mark()
        h.sandbox.press_button(MANAGERS, MANAGER_ID, int(first["message_id"]), f"fd:2:approve:{item_id}")  # type: ignore[arg-type]
        posted = await h.sandbox.wait_for("sendMessage", chat_id=FORUM, since=since, timeout=10)
        assert posted.params["message_thread_id"] == topic
        assert "<b>New espresso machine launched</b>" in posted.params["text"]
        assert 'href="http://127.0.0.1/a/1"' in posted.params["text"]
        h.sandbox.press_button(MANAGERS, MANAGER_ID, int(latte_card["message_id"]), f"fd:2:approve:{latte.id}")  # type: ignore[arg-type]
        await h.settle()
        texts = h.sandbox.sent_texts(FORUM, topic)
        assert any("Latte art: meet the winners" in t for t in texts), texts
        approved = await h.app.feeds.repo.get_item(item_id)
        assert approved is not None and approved.status == "approved" and approved.post_id is not None
        card_now = next(m for m in h.sandbox.messages(MANAGERS) if m["message_id"] == first["message_id"])
        assert "Approved by Max" in str(card_now["text"]) and not card_now.get("reply_markup")
        # Pressing Approve twice does not post twice.
        h.sandbox.press_button(MANAGERS, MANAGER_ID, int(first["message_id"]), f"fd:2:approve:{item_id}")  # type: ignore[arg-type]
        await h.settle()
        assert sum("New espresso machine launched" in t for t in h.sandbox.sent_texts(FORUM)) == 1


async def test_etag_304_backoff_and_non_feeds(tmp_path: Path, feed_server: FeedServer) -> None:
    async with running_bot(tmp_path, managers={"chat_id": MANAGERS}, scheduler={"feed_allow_private": True}) as h:
        topic = await setup(h)
        h.sandbox.add_user(778, "Member")
        h.sandbox.add_member(FORUM, 778)
        since = h.sandbox.mark()
        h.sandbox.send_message(FORUM, 778, f"/feed_add {feed_server.base}/rss.xml", thread_id=topic)
        refusal = await h.sandbox.wait_for("sendMessage", since=since, chat_id=FORUM)
        assert "Only the community managers and this group's admins" in refusal.params["text"]
        assert await h.app.feeds.repo.list_feeds(FORUM) == []
        reply = await command(h, f"/feed_add {feed_server.base}/page.html", topic)
        assert "cannot use that feed" in reply and "not an RSS or Atom feed" in reply
        reply = await command(h, f"/feed_add {feed_server.base}/rss.xml", topic)
        assert "Subscribed" in reply
        feed = (await h.app.feeds.repo.list_feeds(FORUM))[0]
        assert feed.etag and feed.thread_id == topic
        assert await h.app.feeds.poll(feed) == {"not_modified": 1}
        assert feed_server.requests[-1][1].get("If-None-Match") == feed.etag

        feed_server.broken.add("/rss.xml")
        before = h.app.feeds.now()
        for failures in (1, 2, 3):
            current = await h.app.feeds.repo.get(feed.id)
            assert current is not None
            assert await h.app.feeds.poll(current) == {"error": 1}
            current = await h.app.feeds.repo.get(feed.id)
            assert current is not None and current.errors == failures
            interval = h.settings.scheduler.feed_poll_minutes * 60
            assert current.next_poll_at - before >= interval * 2**failures - 5
        await h.settle()
        assert any("failed 3 times" in t for t in h.sandbox.sent_texts(MANAGERS))


async def test_private_addresses_are_refused_by_default(feed_server: FeedServer) -> None:
    from bot.services.feeds import HttpFetcher

    result = await HttpFetcher().fetch(f"{feed_server.base}/rss.xml", etag=None, last_modified=None)
    assert result.error is not None and "private network (127.0.0.1)" in result.error
    assert feed_server.requests == []
    allowed = await HttpFetcher(allow_private=True).fetch(f"{feed_server.base}/rss.xml", etag=None, last_modified=None)
    assert allowed.status == 200 and allowed.etag
    redirected = await HttpFetcher(allow_private=True).fetch(
        f"{feed_server.base}/old-rss", etag=None, last_modified=None
    )
    assert redirected.status == 200 and b"Coffee Daily" in redirected.body
