"""The scripted community of ``steward demo``.

It runs the real :class:`bot.app.Steward` (its real long-polling loop over HTTP) against the sandbox Bot
API on 127.0.0.1, with a fresh SQLite file, and plays scenes as Telegram users would: people join, ask,
complain; a manager works the queue and asks for /stats. Every scene checks what the bot really did
(through the sandbox's journal of Bot API calls and the database) and reports a feature this build
lacks instead of pretending.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.demo.stand_ins import HashingEncoder, KeywordClassifier
from bot.demo.transcript import Transcript, plain
from bot.sandbox import Call, SandboxBotAPI

__all__ = ["CLUB", "DESK", "MIA", "DemoResult", "hold_forever", "run_demo"]

TOKEN = "7000001:DEMO-sandbox-token"
CLUB = -1001234567890
DESK = -1009876543210
ANN, BEN, CARA, DAN, GIL, LENA, IGOR, KIM = 1001, 1002, 1003, 1004, 1007, 1012, 1009, 1011
MIA = 500  # the community manager
PEOPLE = {
    ANN: ("Ann", "ann_makes"), BEN: ("Ben", "ben_o"), CARA: ("Cara", "cara_d"), DAN: ("Dan", "dan_w"),
    GIL: ("Gil", "gil_l"), LENA: ("Lena", "lena_f"), IGOR: ("Igor", "igor_p"), KIM: ("Kim", "kim_park"),
    MIA: ("Mia", "mia_manager"),
}  # fmt: skip
PNG = b"\x89PNG\r\n\x1a\n"

SEED_FAQ = """
[[faq]]
id = "wifi"
questions = ["What is the wifi password?", "What's the wi-fi password?", "How do I connect to the wifi?"]
answer = "The Wi-Fi is <b>Riverside-Makers</b>, password <code>solder-2026</code>. It is also on the board by the door."

[[faq]]
id = "laser-cutter"
questions = ["How do I book the laser cutter?", "Where can I book the laser cutter?", "How do I reserve the laser?"]
answer = "Book the laser cutter on the sheet at the front desk; slots are 1 hour. Safety training first!"

[[faq]]
id = "opening-hours"
questions = ["When is the space open?", "What are the opening hours?", "What time does the space close?"]
answer = "Weekdays 9:00–22:00, weekends 10:00–18:00."
"""


@dataclass
class DemoResult:
    out_dir: Path
    database: Path
    charts: list[Path]
    seconds: float
    model: str
    problems: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    scenes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _load_real_model() -> Any:
    """The bundled sentiment model (the FAQ service loads the bundled encoder itself, on first use)."""
    from models import sentiment

    return sentiment.load_default()


class _Demo:
    def __init__(self, sandbox: SandboxBotAPI, app: Any, tr: Transcript, out_dir: Path, *, slow: float) -> None:
        self.sb = sandbox
        self.app = app
        self.tr = tr
        self.out_dir = out_dir
        self.slow = slow  # timeout multiplier for the real model
        self.charts: list[Path] = []

    # --- helpers ---------------------------------------------------------------------------

    def _idle(self) -> bool:
        return not self.sb.pending_updates() and self.app.in_flight.count == 0 and self.app.outbox.pending == 0

    async def settle(self, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout * self.slow
        while loop.time() < deadline:
            if self._idle():
                await asyncio.sleep(0.1)
                if self._idle():
                    self.tr.flush_bot()
                    return
            await asyncio.sleep(0.03)
        self.tr.flush_bot()

    def say(self, chat_id: int, user_id: int, text: str, *, reply_to: int | None = None) -> dict[str, Any]:
        msg = self.sb.send_message(chat_id, user_id, text, reply_to=reply_to)
        self.tr.said(msg)
        return msg

    async def wait(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        since: int,
        chat_id: int | None = None,
        timeout: float = 10.0,
    ) -> Call | None:
        try:
            return await self.sb.wait_for(method, predicate, since=since, chat_id=chat_id, timeout=timeout * self.slow)
        except TimeoutError:
            return None

    def replies_to(self, chat_id: int, message_id: int, since: int) -> list[Call]:
        out = []
        for call in self.sb.calls("sendMessage", chat_id=chat_id, ok=True):
            if call.index < since:
                continue
            rp = call.params.get("reply_parameters")
            if isinstance(rp, dict) and rp.get("message_id") == message_id:
                out.append(call)
        return out

    def card_buttons(self, chat_id: int, message_id: int) -> dict[str, str]:
        message = next((m for m in self.sb.messages(chat_id) if m["message_id"] == message_id), None)
        rows = ((message or {}).get("reply_markup") or {}).get("inline_keyboard") or []
        return {b["text"]: b["callback_data"] for row in rows for b in row if "callback_data" in b}

    async def press(self, chat_id: int, user_id: int, message_id: int, label: str) -> dict[str, Any] | None:
        data = self.card_buttons(chat_id, message_id).get(label)
        if data is None:
            return None
        self.tr.event(f"{PEOPLE[user_id][0]} presses [{label}] on message {message_id} in {self.tr.where(chat_id)}")
        since = self.sb.mark()
        query_id = self.sb.press_button(chat_id, user_id, message_id, data)
        await self.wait("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id, since=since)
        await self.settle()
        return self.sb.callback_answer(query_id)

    # --- scenes ----------------------------------------------------------------------------

    async def setup(self) -> None:
        tr = self.tr
        tr.section("1. Steward joins the community")
        tr.event("Ann adds @steward_bot to 'Riverside Makers' as an admin; Mia adds it to the managers' chat")
        self.sb.add_bot_to_group(CLUB, by_user_id=ANN)
        self.sb.add_bot_to_group(DESK, by_user_id=MIA)
        await self.settle()
        community = await self.app.communities.get(CLUB)
        if community is None:
            tr.fail("the bot did not register the community")
        else:
            tr.ok(f"community registered: {community.title} (language {community.language}, {community.timezone})")
        since = self.sb.mark()
        self.say(MIA, MIA, "/start")
        if await self.wait("sendMessage", since=since, chat_id=MIA):
            await self.settle()
            tr.ok("/start answered in private")
        else:
            tr.fail("/start got no answer")

    async def welcome(self) -> None:
        tr = self.tr
        tr.section("2. New members are welcomed (one joins through an invite campaign)")
        if getattr(self.app, "growth", None) is None:
            tr.absent("welcomes and invite campaigns", "no growth service")
            return
        since = self.sb.mark()
        self.say(CLUB, MIA, "/invite_new autumn-fair")
        created = await self.wait("createChatInviteLink", since=since, chat_id=CLUB)
        await self.settle()
        link = str(created.result["invite_link"]) if created is not None and created.ok else None
        if link is None:
            tr.fail("/invite_new made no invite link")
        since = self.sb.mark()
        self.sb.join(CLUB, IGOR, invite_link=link)
        tr.event(f"Igor joins{' through the autumn-fair link' if link else ''}")
        self.sb.join(CLUB, KIM)
        tr.event("Kim joins")
        got = await self.wait("sendMessage", lambda c: "Kim" in str(c.params.get("text")), since=since, chat_id=CLUB)
        await self.settle()
        texts = " ".join(
            str(c.params.get("text")) for c in self.sb.calls("sendMessage", chat_id=CLUB, ok=True) if c.index >= since
        )
        if got and "Igor" in texts:
            tr.ok("both newcomers were welcomed in the group")
        else:
            tr.fail("the newcomers were not welcomed")
        if link:
            from bot.storage.growth import GrowthRepository

            if await GrowthRepository(self.app.db).campaign_of_join(CLUB, IGOR) == "autumn-fair":
                tr.ok("Igor's join is attributed to the autumn-fair campaign")
            else:
                tr.fail("Igor's join was not attributed to the campaign")
        self.say(CLUB, IGOR, "Thanks! Glad to be here, I build synthesizers")

    async def questions(self) -> None:
        tr = self.tr
        tr.section("3. Members ask questions; the FAQ answers some, people answer others")
        faq = getattr(self.app, "faq", None)
        if faq is None:
            tr.absent("FAQ answers", "no FAQ service")
            return
        from bot.services.faq_io import parse_toml

        drafts, problems = parse_toml(SEED_FAQ)
        if problems:
            tr.fail(f"the seed FAQ did not validate: {problems[0]}")
            return
        await faq.import_drafts(CLUB, drafts)
        tr.event(
            f"Mia loads {len(drafts)} FAQ entries ({', '.join(d.key for d in drafts)}), "
            "the format of `steward faq import`"
        )
        if faq.adapts:
            # The import starts adapting the encoder to these entries; members ask once it is done,
            # as they would in a real group (minutes later), instead of waiting on the training.
            started = time.perf_counter()
            await faq.index_for(CLUB)
            took = time.perf_counter() - started
            tr.event(f"Steward adapts its encoder to the new entries ({took:.0f} s on this CPU)")
        for user, text in ((LENA, "Hi all! What's the wifi password?"), (GIL, "How do I book the laser cutter?")):
            since = self.sb.mark()
            question = self.say(CLUB, user, text)
            mid = question["message_id"]
            await self.wait(
                "sendMessage", functools.partial(_replies, message_id=mid), since=since, chat_id=CLUB, timeout=15
            )
            await self.settle()
            answers = self.replies_to(CLUB, mid, since)
            if not answers:
                tr.fail(f"no FAQ answer to {PEOPLE[user][0]}'s question")
            elif "Did you mean" in plain(str(answers[0].params.get("text"))):
                tr.ok(f"the bot offered matching FAQ entries to {PEOPLE[user][0]}")
            else:
                tr.ok(f"answered {PEOPLE[user][0]} from the FAQ, in reply to the question")
        since = self.sb.mark()
        question = self.say(CLUB, DAN, "Is there parking near the space?")
        await self.settle()
        if self.replies_to(CLUB, question["message_id"], since):
            tr.fail("the bot answered a question it has no FAQ entry for")
        else:
            from bot.storage.faq import FaqRepository

            recorded = await FaqRepository(self.app.db).is_unanswered(CLUB, question["message_id"])
            listed = " and lists it under /unanswered" if recorded else ""
            tr.ok(f"no FAQ entry for parking: the bot stays quiet{listed}")
        self.say(CLUB, ANN, "Yes, behind the building, free after 6 pm", reply_to=question["message_id"])
        self.say(CLUB, DAN, "Thank you Ann!")
        await self.settle()

    async def pile_on(self) -> None:
        tr = self.tr
        tr.section("4. A complaint pile-on becomes a case; the manager takes, replies and resolves it")
        if getattr(self.app, "escalation", None) is None:
            tr.absent("escalation to the managers' queue", "no escalation service")
            return
        since, rid, _ = await self._complaint_pile_on()
        cards = [c for c in self.sb.calls("sendMessage", chat_id=DESK, ok=True) if c.index >= since and _is_card(c)]
        if not cards:
            tr.fail("no case card reached the managers' chat")
            return
        card_id = int(cards[-1].result["message_id"])
        tr.ok(f"a case card is in the managers' chat (message {card_id})")
        answer = await self.press(DESK, MIA, card_id, "Take")
        if answer is None:
            tr.fail("the card has no Take button or the press was not answered")
            return
        tr.ok("Mia took the case")
        since = self.sb.mark()
        await self.press(DESK, MIA, card_id, "Reply")
        prompt = await self.wait("sendMessage", since=since, chat_id=DESK)
        if prompt is None:
            tr.fail("Reply did not ask for the answer")
            return
        since = self.sb.mark()
        self.say(DESK, MIA, "Sorry about the double charge! The treasurer is refunding everyone today.")
        posted = await self.wait(
            "sendMessage", lambda c: "treasurer" in str(c.params.get("text")), since=since, chat_id=CLUB
        )
        await self.settle()
        if posted is None:
            tr.fail("the manager's answer did not reach the community")
            return
        tr.ok("the answer went to the community, in the complaint thread")
        await self.press(DESK, MIA, card_id, "Resolve")
        case = await self._case_for(rid)
        if case is not None and case.state == "resolved":
            tr.ok(f"case #{case.id} resolved by Mia")
        else:
            tr.fail(f"the case is {getattr(case, 'state', 'missing')}, not resolved")
        self.say(CLUB, CARA, "The money is back on my card. Thanks for sorting it out!")
        await self.settle()

    async def open_case(self) -> None:
        """``--dashboard``: the pile-on, left open for the manager to work in the dashboard."""
        tr = self.tr
        tr.section("4. A complaint pile-on becomes a case, waiting in the dashboard's queue")
        _, _, card = await self._complaint_pile_on()
        await self.app.escalation.cards_settled()
        if card is None:
            tr.fail("no case card reached the managers' chat")
        else:
            tr.ok(f"a case card is in the managers' chat (message {card.result['message_id']})")

    async def _complaint_pile_on(self) -> tuple[int, int, Any]:
        """Three members complain about a double charge in one thread: (the journal mark before, the root
        message id, the first case card in the managers' chat or None)."""
        since = self.sb.mark()
        root = self.say(CLUB, CARA, "I was charged twice for my membership this month. This is terrible.")
        rid = int(root["message_id"])
        self.say(CLUB, DAN, "Same here, two charges on my card. Awful.", reply_to=rid)
        self.say(
            CLUB, BEN, "Me too! Nobody answers the support email, worst support ever. Feels like a scam.", reply_to=rid
        )
        card = await self.wait("sendMessage", _is_card, since=since, chat_id=DESK, timeout=15)
        await self.settle()
        return since, rid, card

    async def _case_for(self, root_message_id: int) -> Any:
        return await self.app.cases.latest(CLUB)

    async def scheduled_post(self) -> None:
        tr = self.tr
        tr.section("5. A scheduled post goes out")
        posts = getattr(self.app, "posts", None)
        if posts is None or posts.scheduler is None:
            tr.absent("scheduled posts", "no post service or scheduler")
            return
        due = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
        text = "📣 Cleaning day this Saturday at 10:00: many hands make light work!"
        post = await posts.create(
            await posts.build(
                chat_id=CLUB, text=text, when=due.strftime("%Y-%m-%d %H:%M:%S"), timezone="UTC", created_by=MIA
            )
        )
        tr.event(f"Mia schedules post #{post.id} for {due:%H:%M:%S} UTC (in 5 seconds)")
        since = self.sb.mark()
        sent = await self.wait(
            "sendMessage", lambda c: "Cleaning day" in str(c.params.get("text")), since=since, chat_id=CLUB, timeout=20
        )
        await self.settle()
        if sent is None:
            tr.fail("the scheduled post did not go out")
            return
        late = sent.wall - due
        tr.ok(f"post #{post.id} went out {max(0.0, late.total_seconds()):.1f} s after its time")
        self.say(CLUB, LENA, "Count me in, great idea", reply_to=int(sent.result["message_id"]))
        await self.settle()

    async def stats(self) -> None:
        tr = self.tr
        tr.section("6. /stats in the managers' chat")
        if getattr(self.app, "stats", None) is None:
            tr.absent("/stats", "no stats service")
            return
        uploads_before = len(self.sb.uploads)
        since = self.sb.mark()
        self.say(DESK, MIA, f"/stats 7d {CLUB}")
        await self.wait("sendPhoto", since=since, chat_id=DESK, timeout=30)
        await self.settle(timeout=30)
        summary = [c for c in self.sb.calls("sendMessage", chat_id=DESK, ok=True) if c.index >= since]
        for call in summary[:1]:
            for line in plain(str(call.params.get("text"))).splitlines()[1:12]:
                if line.strip():
                    tr.event(f"   {line.strip()}")
        for n, (name, data) in enumerate(self.sb.uploads[uploads_before:], start=1):
            if not data.startswith(PNG):
                continue
            path = self.out_dir / f"stats-{n}-{Path(name).stem.rsplit('-', 1)[-1] or 'chart'}.png"
            path.write_bytes(data)
            self.charts.append(path)
        if self.charts:
            tr.ok(f"{len(self.charts)} PNG charts sent to the managers' chat: {', '.join(p.name for p in self.charts)}")
        else:
            tr.fail("/stats sent no charts")


def _replies(call: Call, message_id: int) -> bool:
    rp = call.params.get("reply_parameters")
    return isinstance(rp, dict) and rp.get("message_id") == message_id


def _is_card(call: Call) -> bool:
    markup = call.params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return any(str(b.get("callback_data", "")).startswith("case:") for row in rows for b in row)


def _populate(sb: SandboxBotAPI, tr: Transcript) -> None:
    for uid, (name, username) in PEOPLE.items():
        sb.add_user(uid, name, username, language_code="en", started=uid in (MIA, ANN))
        tr.names[uid] = name
    sb.add_group(CLUB, "Riverside Makers", owner_id=ANN, members=[BEN, CARA, DAN, GIL, LENA], admins=[MIA])
    sb.add_group(DESK, "Riverside managers", owner_id=MIA)
    tr.chats[CLUB] = "Riverside Makers"
    tr.chats[DESK] = "Managers"


@dataclass
class Models:
    classifier: Any
    faq_loader: Callable[[], Any] | None  # None: the FAQ service loads the bundled encoder
    description: str
    stand_ins: bool


async def choose_models(fast: bool, load_model: Callable[[], Any], stream: TextIO) -> Models:
    """The bundled model, or the keyword stand-ins with ``--fast`` or when it cannot load (and say so)."""
    started = time.monotonic()
    if fast:
        classifier, description = KeywordClassifier(), "keyword stand-in (--fast)"
    else:
        print("Loading the bundled sentiment model (offline)…", file=stream, flush=True)
        try:
            classifier = await asyncio.to_thread(load_model)
            description = f"bundled model ({type(classifier).__name__}), loaded in {time.monotonic() - started:.1f} s"
        except Exception as exc:  # the demo still shows the bot; the transcript says what ran instead
            classifier = KeywordClassifier()
            description = f"keyword stand-in: the bundled model could not load ({type(exc).__name__}: {exc})"
            fast = True
    faq_loader: Callable[[], Any] | None = None
    if fast:
        stand_in = HashingEncoder()

        def faq_loader() -> tuple[HashingEncoder, str]:
            return stand_in, f"demo-hashing:{stand_in.dim}"

    print(f"Sentiment: {description}", file=stream, flush=True)
    print(f"FAQ encoder: {'hashing stand-in' if fast else 'bundled multilingual-e5-small'}", file=stream, flush=True)
    return Models(classifier, faq_loader, description, fast)


DashboardHold = Callable[[Any, SandboxBotAPI, str], Awaitable[None]]


async def hold_forever(app: Any, sandbox: SandboxBotAPI, url: str) -> None:
    await asyncio.Event().wait()  # until SIGINT / SIGTERM cancel the demo (bot.signals)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_demo(
    out_dir: Path,
    *,
    fast: bool = False,
    stream: TextIO,
    load_model: Callable[[], Any] = _load_real_model,
    dashboard: DashboardHold | None = None,
    dashboard_port: int | None = None,
) -> DemoResult:
    """Play every scene; the transcript goes to ``stream``. The database and the charts stay in ``out_dir``
    (which must exist).

    ``dashboard``: the demo for the managers' dashboard instead: the community with an open case, the dashboard
    on 127.0.0.1, one line ``dashboard: <sign-in URL>`` for Mia (a manager), then ``dashboard(app, sandbox, url)``
    runs (by default: until a signal stops the demo)."""
    from bot.app import Steward
    from bot.config import FaqSettings, Settings

    started = time.monotonic()
    sandbox = SandboxBotAPI(token=TOKEN, bot_username="steward_bot")
    await sandbox.start()
    tr = Transcript(sandbox, stream)
    _populate(sandbox, tr)

    models = await choose_models(fast, load_model, stream)
    classifier, faq_loader, model = models.classifier, models.faq_loader, models.description
    fast = models.stand_ins

    settings = Settings(
        telegram={"token": TOKEN, "api_base": sandbox.base_url, "polling_timeout": 1},
        database={"path": str(out_dir / "steward.db")},
        managers={"ids": [MIA], "chat_id": DESK},
        community={"language": "en", "timezone": "UTC"},
        sentiment={"max_wait_ms": 5.0},
        growth={"digest_enabled": False},
        # The shipped FAQ thresholds are calibrated for multilingual-e5 (docs/faq.md); the hashing
        # stand-in spreads its cosines over 0-1, so it needs its own.
        faq=FaqSettings(answer_threshold=0.7, suggest_threshold=0.5, margin=0.05) if fast else FaqSettings(),
        dashboard={"enabled": dashboard is not None, "port": dashboard_port or _free_port()},
    )
    app = Steward(settings, classifier_loader=lambda: classifier, faq_encoder_loader=faq_loader)
    demo = _Demo(sandbox, app, tr, out_dir, slow=1.0 if fast else 3.0)
    scenes: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("setup", demo.setup), ("welcome", demo.welcome), ("questions", demo.questions),
        ("pile-on", demo.pile_on), ("scheduled post", demo.scheduled_post), ("stats", demo.stats),
    ]  # fmt: skip
    if dashboard is not None:
        scenes = [("setup", demo.setup), ("questions", demo.questions), ("open case", demo.open_case)]
    played: list[str] = []
    polling: asyncio.Task[None] | None = None
    try:
        await app.start()
        since = sandbox.mark()
        polling = asyncio.create_task(app.run_polling(handle_signals=False))
        await sandbox.wait_for("getUpdates", since=since, timeout=15)
        for name, scene in scenes:
            try:
                await scene()
            except Exception as exc:  # a broken scene is reported, the others still run
                tr.fail(f"scene '{name}' crashed: {type(exc).__name__}: {exc}")
            played.append(name)
        await demo.settle()
        if dashboard is not None:
            url = app.dashboard_auth.sign_in_url(MIA)
            print(f"dashboard: {url}", file=stream, flush=True)
            await dashboard(app, sandbox, url)
    finally:
        if polling is not None:
            with contextlib.suppress(RuntimeError):
                await app.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(polling, 10)
        await app.stop()
        await app.close_session()
        await sandbox.stop()
    result = DemoResult(
        out_dir=out_dir,
        database=out_dir / "steward.db",
        charts=demo.charts,
        seconds=time.monotonic() - started,
        model=model,
        problems=list(tr.problems),
        missing=list(tr.missing),
        scenes=played,
    )
    await _summary(result, stream)
    return result


async def _summary(result: DemoResult, stream: TextIO) -> None:
    from bot.storage.cases import CaseRepository
    from bot.storage.db import Database
    from bot.storage.messages import MessageRepository

    db = Database(result.database)
    await db.open()
    try:
        messages = await MessageRepository(db).count(CLUB)
        mix = await MessageRepository(db).sentiment_counts(CLUB)
        cases = await CaseRepository(db).count()
    finally:
        await db.close()
    print(file=stream)
    print("── Summary " + "─" * 64, file=stream)
    print(
        f"messages recorded: {messages}; sentiment: "
        + ", ".join(f"{k} {v}" for k, v in sorted(mix.items(), key=lambda kv: str(kv[0])))
        + f"; cases: {cases}",
        file=stream,
    )
    print(f"sentiment model: {result.model}", file=stream)
    if result.missing:
        print(f"not in this build: {', '.join(result.missing)}", file=stream)
    if result.problems:
        print(f"PROBLEMS ({len(result.problems)}):", file=stream)
        for problem in result.problems:
            print(f"  - {problem}", file=stream)
    else:
        print(f"every scene checked out ({len(result.scenes)} scenes) in {result.seconds:.1f} s", file=stream)
    print(f"database: {result.database}", file=stream)
    print(f"charts: {', '.join(p.name for p in result.charts) or 'none'}", file=stream)
    print(f"log: {result.out_dir / 'demo.log'}", file=stream, flush=True)
