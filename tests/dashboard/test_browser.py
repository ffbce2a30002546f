"""The dashboard in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium
with the system chromedriver, so nothing is downloaded), over ``steward demo --dashboard``.

The demo community runs with its complaint case left open; the test signs in with the demo's printed link,
finds the case in the queue, sees a Take pressed on the Telegram card appear without a reload, replies and
resolves in the page, and checks the sandbox journal: the reply posted in the group's thread, the card
edited. Then the Hebrew page, a used link, a member who manages nothing, and the Mini App path (initData in
a header; a forged one refused). A phone-width screenshot of each page goes to ``$STEWARD_TEST_ARTIFACTS``
(default ``test-artifacts/``) under ``dashboard/``.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.sandbox import Call, SandboxBotAPI
from tests.dashboard.test_auth_matrix import telegram_init_data

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover - CI installs it (.ci/run)
    HAVE_SELENIUM = False

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER and HAVE_SELENIUM),
    reason="needs Debian's chromium and chromium-driver and the selenium package (.ci/run installs them)",
)

ARTIFACTS = Path(os.environ.get("STEWARD_TEST_ARTIFACTS", "test-artifacts")) / "dashboard"
PHONE = (390, 844)


def make_driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        # Tests never reach the internet: every host but 127.0.0.1 fails to resolve (telegram.org's script too,
        # which is the case the page must survive).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(*PHONE)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(PHONE[0], max(PHONE[1], min(int(height) + 40, 4000)))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.set_window_size(*PHONE)


def wait_css(driver: Any, css: str, text: str | None = None, timeout: float = 10.0) -> dict[str, str]:
    """Wait for an element matching ``css`` (and containing ``text``); its text and data-case, read at once
    (the page's polling replaces elements every 5 s, so a kept element may go stale)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d: Any) -> Any:
        for element in d.find_elements(By.CSS_SELECTOR, css):
            seen = element.text
            if text is None or text in seen:
                return {"text": seen, "case": element.get_attribute("data-case") or ""}
        return False

    wait = WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException])
    result: dict[str, str] = wait.until(found)
    return result


def click(driver: Any, css: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, css).click()


def card_of(sb: SandboxBotAPI, chat_id: int) -> int:
    for call in sb.calls("sendMessage", chat_id=chat_id, ok=True):
        markup = call.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        if any(str(b.get("callback_data", "")).startswith("case:") for row in rows for b in row):
            return int(call.result["message_id"])
    raise AssertionError("no case card in the managers' chat")


def edits_of(sb: SandboxBotAPI, chat_id: int, message_id: int, since: int) -> list[Call]:
    return [
        c
        for c in sb.calls("editMessageText", chat_id=chat_id, ok=True)
        if c.index >= since and c.params.get("message_id") == message_id
    ]


async def eventually(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_demo_case_worked_in_the_browser(tmp_path: Path) -> None:
    from bot.demo.runner import CLUB, DESK, KIM, MIA, run_demo

    outcome: dict[str, Any] = {}

    async def browse(app: Any, sb: SandboxBotAPI, url: str) -> None:
        driver = await asyncio.to_thread(make_driver)
        try:
            await work(driver, app, sb, url)
            outcome["ok"] = True
        finally:
            await asyncio.to_thread(driver.quit)

    async def work(driver: Any, app: Any, sb: SandboxBotAPI, url: str) -> None:
        base = url.split("/app/", 1)[0]
        run = asyncio.to_thread
        # Sign in with the demo's link: the queue lists the demo's case.
        await run(driver.get, url)
        row = await run(wait_css, driver, "li.case", "Riverside Makers")
        case_id = int(row["case"])
        assert driver.find_element("css selector", "html").get_attribute("dir") == "ltr"
        await run(shot, driver, "queue")
        await run(click, driver, f'li.case[data-case="{case_id}"] a')
        await run(wait_css, driver, "#case-state")
        assert "Cara" in driver.page_source and "negative" in driver.page_source  # the thread, with sentiment
        await run(shot, driver, "case")
        # Mia takes it on the Telegram card: the open page shows it without a reload (polling).
        card = card_of(sb, DESK)
        marker = driver.execute_script("window.__same_page = 1; return 1")
        data = next(
            b["callback_data"]
            for m in sb.messages(DESK)
            if m["message_id"] == card
            for row_ in m["reply_markup"]["inline_keyboard"]
            for b in row_
            if b["text"] == "Take"
        )
        sb.press_button(DESK, MIA, card, data)
        await run(wait_css, driver, "#case-taken", "Mia", 12)
        assert driver.execute_script("return window.__same_page") == marker
        # Reply in the page: posted through the outbox in the group's thread; the card is edited.
        since = sb.mark()
        text = "Sorry about the double charge, refunds go out today."
        await run(lambda: driver.find_element("css selector", "#reply-text").send_keys(text))
        await run(click, driver, "#do-reply")
        await run(wait_css, driver, "#flash.ok", "Posted your answer")
        await eventually(lambda: any(text in str(c.params.get("text")) for c in sb.calls("sendMessage", chat_id=CLUB)))
        await eventually(lambda: bool(edits_of(sb, DESK, card, since)))
        # Resolve in the page: the case is resolved and the card says so.
        since = sb.mark()
        await run(click, driver, "#do-resolve")
        await run(wait_css, driver, "#flash.ok", "resolved")
        case = await app.cases.get(case_id)
        assert case.state == "resolved" and case.closed_by == MIA and case.answered_by == MIA
        await eventually(lambda: bool(edits_of(sb, DESK, card, since)))
        assert "resolved" in str(edits_of(sb, DESK, card, since)[-1].params.get("text")).lower()
        await run(shot, driver, "case-resolved")
        # Settings: a change saved through CommunitySettingsService, and a refusal explained.
        await run(driver.get, f"{base}/app/settings/{CLUB}")
        await run(wait_css, driver, "#setting-faq-answer_threshold")

        def set_threshold(value: str) -> None:
            field = driver.find_element("css selector", "#setting-faq-answer_threshold input[name=value]")
            field.clear()
            field.send_keys(value)
            driver.find_element("css selector", "#setting-faq-answer_threshold button").click()

        await run(set_threshold, "5")
        await run(wait_css, driver, "#flash.bad", "must be from 0 to 1")
        await run(shot, driver, "settings-refused")
        await run(set_threshold, "0.65")
        await run(wait_css, driver, "#flash.ok")
        community = await app.community_settings.get(CLUB)
        assert community.settings.get("faq.answer_threshold") == 0.65
        await run(shot, driver, "settings")
        # Knowledge base: add an entry, and "try a question" finds it.
        await run(driver.get, f"{base}/app/faq/{CLUB}")
        await run(wait_css, driver, "#add-questions")

        def add_entry() -> None:
            driver.find_element("css selector", "#add-questions").send_keys("Is there parking near the space?")
            driver.find_element("css selector", "#add-answer").send_keys("Yes, behind the building, free after 6 pm.")
            driver.find_element("css selector", "#do-add").click()

        await run(add_entry)
        await run(wait_css, driver, "#flash.ok")
        await run(wait_css, driver, "li.entry", "parking")

        def try_question() -> None:
            driver.find_element("css selector", "#try-text").send_keys("Is there parking near the space?")
            driver.find_element("css selector", "#do-try").click()

        await run(try_question)
        tried = await run(wait_css, driver, "#tried")
        assert "parking" in tried["text"].split("\n")[1], tried  # the best candidate, with its score
        assert "stay quiet" not in tried["text"]
        await run(shot, driver, "knowledge-base")
        # Hebrew lays out right to left.
        await run(driver.get, f"{base}/app/queue?lang=he")
        await run(wait_css, driver, "#queue")
        assert driver.find_element("css selector", "html").get_attribute("dir") == "rtl"
        await run(shot, driver, "queue-he")
        await run(driver.get, f"{base}/app/queue?lang=en")
        # The used link does not work twice.
        await run(driver.delete_all_cookies)
        await run(driver.get, url)
        await run(wait_css, driver, "#refused")
        await run(shot, driver, "refused-used-link")
        # A member who manages nothing signs in and sees nothing; the case by URL is refused.
        await run(driver.get, app.dashboard_auth.sign_in_url(KIM))
        await run(wait_css, driver, "#queue")
        assert "Riverside" not in driver.find_element("css selector", "main").text
        await run(driver.get, f"{base}/app/case/{case_id}")
        assert "Cara" not in driver.page_source and "no such case" in driver.page_source
        # The Mini App: no cookie, Telegram's initData in the fragment, sent by app.js in a header.
        await run(driver.delete_all_cookies)
        init_data = telegram_init_data(MIA, auth_date=int(time.time()), token=app.settings.require_token())
        await run(driver.get, f"{base}/app/#tgWebAppData={quote(init_data)}&tgWebAppVersion=8.0")
        await run(wait_css, driver, "#queue")
        assert not driver.get_cookies()
        await run(shot, driver, "mini-app-queue")
        forged = init_data.replace("Mia", "Eve")
        await run(driver.execute_script, "sessionStorage.clear()")
        await run(driver.get, f"{base}/app/queue?x=1#tgWebAppData={quote(forged)}")
        await run(wait_css, driver, "#refused")
        await run(shot, driver, "mini-app-forged")

    result = await run_demo(tmp_path, fast=True, stream=io.StringIO(), dashboard=browse)
    assert outcome.get("ok"), result.problems
    assert result.ok, result.problems
    pages = ("queue", "case", "case-resolved", "settings", "knowledge-base", "queue-he", "refused-used-link")
    for name in (*pages, "mini-app-queue"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 1000
