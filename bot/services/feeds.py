"""News feeds: fetch RSS/Atom politely, keep what is new, relevant and not a duplicate, and turn it
into drafts the managers approve (or posts, in auto-post mode).

* **Fetching** uses aiohttp with ``If-None-Match`` / ``If-Modified-Since`` (a 304 costs nothing), a
  timeout and a size cap. Failures back off exponentially (poll interval × 2^failures, capped); the
  managers hear about a feed that keeps failing once, at the third failure in a row.
* **Parsing** is feedparser's, off the event loop.
* **New** means a guid (or link) this community has not seen. **Duplicates** are near-identical titles
  of recent items from any of the community's feeds: sentence-embedding cosine similarity (the FAQ
  encoder, shared) or, without an encoder, word overlap.
* **Relevance** is the best of keyword hits and embedding similarity against the community's topic
  keywords and FAQ questions. Deny keywords always drop an item; allow keywords, when set, are required.
* **Drafts** go to the managers' destination with Approve / Edit / Skip. Approved items become posts
  (:class:`bot.services.posts.PostService`) in the next free slot of ``scheduler.feed_slots`` or at once.
"""

from __future__ import annotations

import asyncio
import calendar
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.domain import Button, Community, Keyboard
from bot.domain.buttons import ButtonPort, FeedAct
from bot.domain.feeds import Entry, Feed, FeedItem
from bot.i18n import Translator
from bot.services.feed_fetch import MAX_BODY as MAX_BODY
from bot.services.feed_fetch import MAX_REDIRECTS as MAX_REDIRECTS
from bot.services.feed_fetch import Fetcher
from bot.services.feed_fetch import FetchResult as FetchResult
from bot.services.feed_fetch import HttpFetcher as HttpFetcher
from bot.services.posts import PostError, PostService, utc_clock
from bot.services.schedule import local_to_utc, zone
from bot.services.settings import community_setting
from bot.storage.feeds import FeedRepository
from bot.textsafety import SafePattern, compile_pattern, compiled_cached, escape
from bot.timeutil import from_epoch, to_epoch

if TYPE_CHECKING:
    from bot.config import SchedulerSettings
    from bot.storage.communities import CommunityRepository

log = logging.getLogger(__name__)

FIRST_POLL_ITEMS = 5  # a new subscription drafts at most this many of the feed's current items
DUPLICATE_WINDOW_S = 7 * 86400
FAILURES_BEFORE_NOTICE = 3
Embed = Callable[[list[str]], Awaitable[Any]]
TopicTexts = Callable[[int], Awaitable[list[str]]]


class FeedError(ValueError):
    """A feed URL that cannot be used; the message says why in plain words."""


# Feed text comes from any server on the internet: a summary of "<<<<…" took quadratic time under
# Python's engine, so tags are stripped with RE2, and no pattern looks past FEED_TEXT_LIMIT characters.
FEED_TEXT_LIMIT = 65_536
_TAG = compile_pattern(r"<[^>]+>", name="feeds.tag", max_len=FEED_TEXT_LIMIT)
_SPACE = compile_pattern(
    r"\s+", name="feeds.space", engine="re", max_len=FEED_TEXT_LIMIT, why="one character class, repeated"
)
_WORD = compile_pattern(r"\w+", name="feeds.word", engine="re", why="one character class, repeated")
_FEED_URL = compile_pattern(r"^https?://\S+$", name="feeds.url", engine="re", why="a literal, then one class")


def plain(text: str, limit: int = 600) -> str:
    value = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text or ""))).strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def parse_feed(body: bytes) -> tuple[str, list[Entry]]:
    """The feed's title and its entries (newest first, as feeds list them). Raises FeedError."""
    import feedparser

    parsed = feedparser.parse(body)
    if not parsed.get("version") and not parsed.entries:
        raise FeedError("this is not an RSS or Atom feed")
    entries = []
    for raw in parsed.entries:
        link = raw.get("link") or None
        title = plain(raw.get("title", ""), 300)
        guid = raw.get("id") or link or title
        if not guid:
            continue
        stamp = raw.get("published_parsed") or raw.get("updated_parsed")
        published = calendar.timegm(stamp) if stamp else None
        entries.append(Entry(str(guid), link, title, plain(raw.get("summary", "")), published))
    return plain(parsed.feed.get("title", ""), 200), entries


def has_keyword(text: str, keywords: list[str]) -> str | None:
    """The first keyword found as a whole word (or phrase), case-insensitively."""
    for keyword in keywords:
        word = keyword.strip()
        if word and _keyword_pattern(word).search(text):
            return word
    return None


def _keyword_pattern(word: str) -> SafePattern:
    return compiled_cached(
        r"(?<!\w)" + escape(word) + r"(?!\w)",
        name="feeds.keyword",
        engine="re",
        ignorecase=True,
        max_len=FEED_TEXT_LIMIT,
        why="one escaped literal between two one-character look-arounds",
    )


def word_overlap(a: str, b: str) -> float:
    wa, wb = set(_WORD.findall(a.casefold())), set(_WORD.findall(b.casefold()))
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


class FeedService:
    def __init__(
        self,
        repo: FeedRepository,
        communities: CommunityRepository,
        posts: PostService,
        desk: Any,
        settings: SchedulerSettings,
        *,
        buttons: ButtonPort,
        fetcher: Fetcher | None = None,
        embed: Embed | None = None,
        topic_texts: TopicTexts | None = None,
        clock: Callable[[], datetime] = utc_clock,
        locale: str = "en",
        scheduler: Any = None,
        max_feeds: int | None = None,
    ) -> None:
        self.max_feeds = max_feeds  # per community ([quotas] feeds); None: no limit
        self.repo = repo
        self.communities = communities
        self.posts = posts
        self.desk = desk
        self.settings = settings
        self.buttons = buttons
        self.fetcher = fetcher or HttpFetcher(
            timeout_s=settings.feed_timeout_s, allow_private=settings.feed_allow_private
        )
        self.embed = embed
        self.topic_texts = topic_texts
        self.clock = clock
        self.t = Translator(locale)
        self.scheduler = scheduler
        self._vectors: dict[str, Any] = {}  # title → embedding, for duplicate checks
        self._locks: dict[int, asyncio.Lock] = {}  # one poll at a time per feed; feeds poll independently

    def now(self) -> int:
        return to_epoch(self.clock())

    # ------------------------------------------------------------------ subscriptions

    async def add_feed(
        self, chat_id: int, url: str, *, thread_id: int | None, added_by: int | None
    ) -> tuple[Feed, dict[str, int]]:
        """Subscribe and read the feed once; raises FeedError when the URL is no usable feed."""
        url = url.strip()
        if not _FEED_URL.match(url):
            raise FeedError(self.t("the address must start with http:// or https://"))
        if self.max_feeds is not None and await self.repo.count_active(chat_id) >= self.max_feeds:
            raise FeedError(
                self.t(
                    "this community already has {n} feeds, the most allowed; remove one with /feed_remove first",
                    n=self.max_feeds,
                )
            )
        result = await self.fetcher.fetch(url, etag=None, last_modified=None)
        if result.error or result.status >= 400:
            raise FeedError(result.error or f"HTTP {result.status}")
        await asyncio.to_thread(parse_feed, result.body)  # raises FeedError for non-feeds
        feed = await self.repo.add(chat_id, url, thread_id=thread_id, added_by=added_by, now=self.now())
        counts = await self.poll(feed)
        fresh = await self.repo.get(feed.id)
        return (fresh or feed), counts

    async def remove_feed(self, feed_id: int) -> bool:
        return await self.repo.deactivate(feed_id)

    async def list_feeds(self, chat_id: int | None = None) -> list[Feed]:
        """The active feeds of one community (None: of every community)."""
        return await self.repo.list_feeds(chat_id)

    async def get_feed(self, feed_id: int) -> Feed | None:
        return await self.repo.get(feed_id)

    async def draft(self, item_id: int) -> FeedItem | None:
        """The item if it is still a draft waiting for the managers' decision."""
        item = await self.repo.get_item(item_id)
        return item if item is not None and item.status == "draft" else None

    # ------------------------------------------------------------------ polling

    def start(self) -> None:
        if self.scheduler is None:
            return
        from datetime import UTC

        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler.add_job(
            self.poll_due,
            trigger=IntervalTrigger(seconds=60, timezone=UTC),
            id="feeds:poll",
            replace_existing=True,
            misfire_grace_time=60,  # explicit: a late check still runs; feeds keep their own next_poll_at
            coalesce=True,
            max_instances=1,
        )

    async def poll_due(self) -> int:
        """Poll every feed whose time has come. Returns how many were polled."""
        feeds = await self.repo.due(self.now())
        for feed in feeds:
            try:
                await self.poll(feed)
            except Exception:
                log.exception("feed %s (%s): poll failed", feed.id, feed.url)
        return len(feeds)

    def _next_poll(self, now: int, failures: int = 0) -> int:
        interval = self.settings.feed_poll_minutes * 60
        if failures <= 0:
            return now + interval
        return now + min(interval * 2**failures, self.settings.feed_max_backoff_minutes * 60)

    async def poll(self, feed: Feed) -> dict[str, int]:
        """Fetch one feed and handle its new items. Returns counts by outcome."""
        lock = self._locks.setdefault(feed.id, asyncio.Lock())
        async with lock:
            fresh = await self.repo.get(feed.id)  # another poll may have just updated its ETag
            return await self._poll(fresh or feed)

    async def _poll(self, feed: Feed) -> dict[str, int]:
        counts: dict[str, int] = {}
        now = self.now()
        result = await self.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if result.status == 304:
            await self.repo.polled_ok(
                feed.id,
                title=None,
                etag=feed.etag,
                last_modified=feed.last_modified,
                next_poll_at=self._next_poll(now),
                now=now,
            )
            return {"not_modified": 1}
        error = result.error or (f"HTTP {result.status}" if result.status >= 400 else None)
        title: str | None = None
        entries: list[Entry] = []
        if error is None:
            try:
                title, entries = await asyncio.to_thread(parse_feed, result.body)
            except FeedError as exc:
                error = str(exc)
        if error is not None:
            failures = await self.repo.polled_error(
                feed.id, error=error, next_poll_at=self._next_poll(now, feed.errors + 1), now=now
            )
            log.warning("feed %s (%s) failed (%d in a row): %s", feed.id, feed.url, failures, error)
            if failures == FAILURES_BEFORE_NOTICE:
                await self._notify(
                    self.t(
                        "📰 The feed {url} failed {n} times in a row: {error}. I keep trying less often.",
                        url=html.escape(feed.url),
                        n=failures,
                        error=html.escape(error),
                    )
                )
            return {"error": 1}
        first = feed.last_polled_at is None and await self.repo.item_count(feed.id) == 0
        entries = entries[: self.settings.feed_max_items]
        community = await self.communities.get(feed.chat_id)
        for index, entry in reversed(list(enumerate(entries))):  # oldest first
            if await self.repo.known(feed.chat_id, entry.guid, entry.link):
                continue
            if first and index >= FIRST_POLL_ITEMS:
                outcome = "old"
                await self._store(feed, entry, now, "old", "older than the subscription")
            else:
                outcome = await self._consider(feed, community, entry, now)
            counts[outcome] = counts.get(outcome, 0) + 1
        await self.repo.polled_ok(
            feed.id,
            title=title or None,
            etag=result.etag,
            last_modified=result.last_modified,
            next_poll_at=self._next_poll(now),
            now=now,
        )
        return counts

    # ------------------------------------------------------------------ one item

    def _list(self, community: Community | None, key: str) -> list[str]:
        if community is None:
            return []
        value: list[object] = community_setting(community, f"scheduler.{key}", [])
        return [str(v) for v in value if str(v).strip()]

    async def _vectors_for(self, texts: list[str]) -> Any | None:
        if self.embed is None:
            return None
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            try:
                vectors = await self.embed(missing)
            except Exception as exc:
                log.warning("feeds: embeddings unavailable (%s); using words only", exc)
                return None
            for text, vector in zip(missing, np.asarray(vectors, dtype=np.float32), strict=True):
                self._vectors[text] = vector
            if len(self._vectors) > 5000:
                self._vectors.clear()
                return await self._vectors_for(texts)
        return np.stack([self._vectors[t] for t in texts])

    async def _duplicate_of(self, feed: Feed, title: str, now: int) -> int | None:
        if not title:
            return None
        recent = await self.repo.recent_titles(feed.chat_id, now - DUPLICATE_WINDOW_S)
        if not recent:
            return None
        threshold = self.settings.feed_duplicate_similarity
        vectors = await self._vectors_for([title] + [t for _, t in recent])
        if vectors is not None:
            sims = vectors[1:] @ vectors[0]
            best = int(np.argmax(sims))
            return recent[best][0] if float(sims[best]) >= threshold else None
        for item_id, other in recent:
            if other.casefold() == title.casefold() or word_overlap(title, other) >= max(threshold, 0.8):
                return item_id
        return None

    async def relevance(self, community: Community | None, text: str) -> tuple[float, str]:
        keywords = self._list(community, "feed_keywords")
        faq = await self.topic_texts(community.chat_id) if (self.topic_texts and community) else []
        if not keywords and not faq:
            return 1.0, "no topic keywords or FAQ set"
        hit = has_keyword(text, keywords)
        if hit:
            return 1.0, f"mentions {hit!r}"
        topics = keywords + faq[:200]
        vectors = await self._vectors_for([text[:500], *topics])
        if vectors is None:
            return 0.0, "no topic keyword in it"
        sims = vectors[1:] @ vectors[0]
        best = int(np.argmax(sims))
        return max(0.0, float(sims[best])), f"close to {topics[best][:60]!r}"

    async def _store(
        self,
        feed: Feed,
        entry: Entry,
        now: int,
        status: str,
        reason: str | None,
        score: float | None = None,
        duplicate_of: int | None = None,
    ) -> FeedItem | None:
        """Remember an item of ``feed`` with its outcome (None: another poll stored it first)."""
        return await self.repo.add_item(
            feed, entry, score=score, status=status, reason=reason, duplicate_of=duplicate_of, now=now
        )

    async def _consider(self, feed: Feed, community: Community | None, entry: Entry, now: int) -> str:
        text = f"{entry.title}\n{entry.summary}"

        async def store(
            status: str, reason: str | None, score: float | None = None, duplicate_of: int | None = None
        ) -> FeedItem | None:
            return await self._store(feed, entry, now, status, reason, score, duplicate_of)

        duplicate = await self._duplicate_of(feed, entry.title, now)
        if duplicate is not None:
            await store("duplicate", f"same story as item {duplicate}", duplicate_of=duplicate)
            return "duplicate"
        denied = has_keyword(text, self._list(community, "feed_deny"))
        if denied:
            await store("denied", f"deny keyword {denied!r}")
            return "denied"
        allow = self._list(community, "feed_allow")
        if allow and not has_keyword(text, allow):
            await store("irrelevant", "no allow keyword")
            return "irrelevant"
        score, why = await self.relevance(community, text)
        threshold = self.settings.feed_relevance
        if community is not None:
            threshold = community_setting(community, "scheduler.feed_relevance", threshold)
        if score < threshold:
            await store("irrelevant", f"relevance {score:.2f} below {threshold:.2f}", score)
            return "irrelevant"
        item = await store("draft", why, score)
        if item is None:
            return "known"
        auto = self.settings.feed_auto_post
        if community is not None:
            auto = community_setting(community, "scheduler.feed_auto_post", auto)
        if auto:
            await self.approve(item.id, by=None)
            return "posted"
        await self._card(item, feed, community)
        return "draft"

    # ------------------------------------------------------------------ drafts

    def post_text(self, item: FeedItem) -> str:
        if item.text:
            return item.text
        parts = [f"<b>{html.escape(item.title)}</b>"]
        if item.summary:
            parts.append(html.escape(item.summary))
        if item.link:
            parts.append(f'<a href="{html.escape(item.link, quote=True)}">{html.escape(self.t("Read more"))}</a>')
        return "\n\n".join(parts)

    def _card_text(self, item: FeedItem, feed: Feed | None, community: Community | None) -> str:
        where = html.escape(community.title if community else str(item.chat_id))
        source = html.escape((feed.title or feed.url) if feed else "")
        head = self.t("📰 Draft #{id} for <b>{chat}</b> from {source}", id=item.id, chat=where, source=source)
        score = (
            ""
            if item.score is None
            else self.t("Relevance {score}: {why}", score=f"{item.score:.2f}", why=html.escape(item.reason or ""))
        )
        return f"{head}\n\n{self.post_text(item)}\n\n<i>{score}</i>"

    def _card_keyboard(self, item: FeedItem) -> Keyboard:
        return [
            [
                Button(self.t("✅ Approve"), callback_data=self.buttons.feed(FeedAct.APPROVE, item.id)),
                Button(self.t("✏️ Edit"), callback_data=self.buttons.feed(FeedAct.EDIT, item.id)),
                Button(self.t("✖ Skip"), callback_data=self.buttons.feed(FeedAct.SKIP, item.id)),
            ]
        ]

    async def _card(self, item: FeedItem, feed: Feed | None, community: Community | None) -> None:
        copies = await self._notify(self._card_text(item, feed, community), self._card_keyboard(item))
        refs = [
            [int(c.chat_id), int(c.message_id), getattr(c, "thread_id", None)]
            for c in copies
            if hasattr(c, "chat_id") and hasattr(c, "message_id")
        ]
        await self.repo.set_cards(item.id, refs)

    async def _update_cards(self, item: FeedItem, text: str, keyboard: Keyboard | None) -> None:
        refs = [_CardRef(int(c[0] or 0), int(c[1] or 0), c[2] if len(c) > 2 else None) for c in item.cards]
        if refs:
            try:
                await self.desk.edit(refs, text, keyboard=keyboard)
            except Exception:
                log.exception("feeds: could not update the cards of item %s", item.id)

    async def _notify(self, text: str, keyboard: Keyboard | None = None) -> list[Any]:
        try:
            return list(await self.desk.post(text, keyboard=keyboard))
        except Exception:
            log.exception("feeds: could not reach the managers")
            return []

    async def next_slot(self, community: Community | None, chat_id: int) -> str:
        """ "now", or the next free local slot ("YYYY-MM-DD HH:MM") from scheduler.feed_slots."""
        slots = self.settings.feed_slots
        if community is not None:
            slots = community_setting(community, "scheduler.feed_slots", slots)
        if not slots:
            return "now"
        tz = zone(community.timezone if community else "UTC")
        now = self.now()
        today = from_epoch(now).astimezone(tz).date()
        busy = await self.posts.busy_slots(chat_id, now, now + 15 * 86400)
        for day in range(15):
            for slot in sorted(slots):
                hour, minute = (int(x) for x in slot.split(":"))
                local = datetime.combine(today + timedelta(days=day), time(hour, minute))
                due = to_epoch(local_to_utc(local, tz))
                if due > now and due not in busy:
                    return local.strftime("%Y-%m-%d %H:%M")
        return "now"

    async def _claim(self, item_id: int, status: str, by: int | None) -> _Draft | str:
        """Decide a draft as ``status``: the draft with its feed and community, or why it cannot be decided."""
        item = await self.repo.get_item(item_id)
        if item is None:
            return self.t("That draft no longer exists.")
        if not await self.repo.decide(item.id, status, by=by, now=self.now()):
            return self.t("Already decided.")
        return await self._draft(item)

    async def _draft(self, item: FeedItem) -> _Draft:
        return _Draft(item, await self.repo.get(item.feed_id), await self.communities.get(item.chat_id))

    async def _close_cards(self, draft: _Draft, verdict: str) -> None:
        """Show who decided on every copy of the draft's card, and take its buttons away."""
        text = self._card_text(draft.item, draft.feed, draft.community) + "\n\n" + verdict
        await self._update_cards(draft.item, text, None)

    async def approve(self, item_id: int, *, by: int | None, by_name: str = "") -> str:
        """Turn a draft into a post. Returns a short outcome for the person who pressed the button."""
        draft = await self._claim(item_id, "approved", by)
        if isinstance(draft, str):
            return draft
        item, feed = draft.item, draft.feed
        try:
            when = await self.next_slot(draft.community, item.chat_id)
            post = await self.posts.build(
                chat_id=item.chat_id,
                thread_id=feed.thread_id if feed else None,
                text=self.post_text(item),
                when=when,
                source="feed",
                feed_item_id=item.id,
                created_by=by,
            )
            stored = await self.posts.create(post)
        except (PostError, ValueError) as exc:
            await self.repo.decide(item.id, "draft", by=None, now=self.now(), expect="approved")
            return self.t("Could not schedule it: {reason}", reason=str(exc))
        await self.repo.decide(item.id, "approved", by=by, now=self.now(), expect="approved", post_id=stored.id)
        outcome = (
            self.t("Posting now as post #{id}.", id=stored.id)
            if when == "now"
            else self.t("Scheduled as post #{id} for {when}.", id=stored.id, when=when)
        )
        if by is not None:
            name = html.escape(by_name or str(by))
            await self._close_cards(draft, self.t("✅ Approved by {name}. {outcome}", name=name, outcome=outcome))
        return outcome

    async def skip(self, item_id: int, *, by: int, by_name: str = "") -> str:
        draft = await self._claim(item_id, "skipped", by)
        if isinstance(draft, str):
            return draft
        await self._close_cards(draft, self.t("✖ Skipped by {name}.", name=html.escape(by_name or str(by))))
        return self.t("Skipped.")

    async def edit(self, item_id: int, text: str) -> FeedItem | None:
        """A manager rewrote the post text of a draft; the cards show it, still with the buttons."""
        if not await self.repo.set_text(item_id, text):
            return None
        item = await self.repo.get_item(item_id)
        if item is None:
            return None
        draft = await self._draft(item)
        await self._update_cards(item, self._card_text(item, draft.feed, draft.community), self._card_keyboard(item))
        return item


@dataclass(frozen=True)
class _Draft:
    """A draft with what its card shows: the feed it came from and the community it is for."""

    item: FeedItem
    feed: Feed | None
    community: Community | None


@dataclass(frozen=True)
class _CardRef:
    """Where a draft card lives (the shape ManagerDesk.edit reads)."""

    chat_id: int
    message_id: int
    thread_id: int | None = None
