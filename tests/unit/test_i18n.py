"""The gettext catalogs: complete, placeholders intact, compiled, and read by Translator."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from bot import i18n_catalogs
from bot.i18n import Translator, pick_locale, translations

START = (
    "Hi! I am Steward, an assistant for community managers.\n\n"
    "In your groups I answer frequent questions, notice threads that turn negative "
    "and bring them to the managers, post scheduled content and report analytics.\n\n"
    "To use me, add me to a group and make me an admin (or turn off privacy mode "
    "in @BotFather), so that I can read the conversation."
)


@pytest.fixture(autouse=True)
def _fresh_translations():
    translations.cache_clear()
    yield
    translations.cache_clear()


def test_catalogs_are_complete_and_compiled() -> None:
    # Untranslated or fuzzy texts, {placeholders} that differ from the English, stale .mo files.
    # Fix with `python -m bot.i18n_catalogs update`, translate, then `... compile`.
    assert i18n_catalogs.problems() == []


def test_extractor_finds_every_calling_convention() -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in i18n_catalogs.extract() if m.id}
    assert START in ids  # handlers: _("...")
    assert "Case #{id} resolved." in ids  # services: self.t("...")
    assert "{names} and {n} other" in ids  # Translator.plural: t.plural("...", "...", n)
    assert "Chat report: {name}" in ids  # t("...") inside an f-string
    assert "📜 Rules" in ids  # Translator(locale)("...")


@pytest.mark.parametrize(("locale", "greeting"), [("ru", "Привет"), ("he", "שלום"), ("en", "Hi!")])
def test_start_text_is_translated(locale: str, greeting: str) -> None:
    assert Translator(locale)(START).startswith(greeting)


def test_placeholders_survive_translation() -> None:
    for locale in ("en", "ru", "he"):
        t = Translator(locale)
        text = t("Thanks for adding me to {title}. A few things need fixing:", title="Riverside Makers")
        assert "Riverside Makers" in text and "{" not in text
        card = t(
            "{icon} <b>Case #{id}</b> · {state} · {level} priority ({priority})",
            icon="🔴",
            id=42,
            state="open",
            level="high",
            priority=7,
        )
        assert "#42" in card and "<b>" in card and "</b>" in card and "{" not in card
        net = t("👥 Members: +{joins} joined, −{leaves} left (net {net:+d})", joins=5, leaves=2, net=3)
        assert "+3" in net
    assert Translator("ru")("Case #{id} resolved.", id=7) == "Обращение #7 решено."
    assert Translator("he")("Case #{id} resolved.", id=7) == "פנייה #7 נפתרה."


def test_plural_forms() -> None:
    ru = Translator("ru")
    forms = [ru.plural("{names} and {n} other", "{names} and {n} others", n, names="Ann") for n in (1, 3, 5, 21)]
    assert forms == [
        "Ann и ещё 1 человек",
        "Ann и ещё 3 человека",
        "Ann и ещё 5 человек",
        "Ann и ещё 21 человек",
    ]
    he = Translator("he")
    assert he.plural("{names} and {n} other", "{names} and {n} others", 4, names="Ann") == "Ann ועוד 4 אחרים"
    en = Translator("en")
    assert en.plural("{names} and {n} other", "{names} and {n} others", 1, names="Ann") == "Ann and 1 other"


def test_locale_picking() -> None:
    assert pick_locale("iw") == "he"
    assert pick_locale("ru-RU") == "ru"
    assert Translator("pt-br")("Case #{id} resolved.", id=1) == "Case #1 resolved."


def test_a_compiled_catalog_is_stale_only_when_a_translation_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mo = tmp_path / "messages.mo"
    monkeypatch.setattr(i18n_catalogs, "mo_path", lambda locale: mo)
    catalog = Catalog(locale="ru")
    catalog.add("Hello", "Привет")
    assert not i18n_catalogs.mo_is_current(catalog, "ru")  # not compiled yet
    # Another header (as another Babel release writes it), the same translations: current.
    other = Catalog(locale="ru", project="elsewhere", version="9")
    other.add("Hello", "Привет")
    mo.write_bytes(i18n_catalogs.compiled(other))
    assert mo.read_bytes() != i18n_catalogs.compiled(catalog)
    assert i18n_catalogs.mo_is_current(catalog, "ru")
    catalog["Hello"].string = "Здравствуйте"
    assert not i18n_catalogs.mo_is_current(catalog, "ru")
