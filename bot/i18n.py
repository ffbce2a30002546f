"""Texts in English, Russian and Hebrew through gettext catalogs under bot/locales.

Handlers use aiogram's I18n (``make_i18n``) with a locale picked per update; services,
which never import aiogram, format their texts through ``Translator`` over the same catalogs.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SUPPORTED = ("en", "ru", "he")
DEFAULT = "en"


def pick_locale(code: str | None, *, fallback: str = DEFAULT) -> str:
    """Map a Telegram language_code ('ru', 'pt-br', 'iw') to a locale we have."""
    if not code:
        return fallback
    base = code.lower().replace("_", "-").split("-")[0]
    if base == "iw":  # the old code for Hebrew, still sent by some clients
        base = "he"
    return base if base in SUPPORTED else fallback


@lru_cache(maxsize=8)
def translations(locale: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALES_DIR, languages=[locale], fallback=True)


class Translator:
    """Bound to one locale: ``t = Translator("ru"); t("Case #{id}").format(id=3)``."""

    def __init__(self, locale: str) -> None:
        self.locale = pick_locale(locale)
        self._translations = translations(self.locale)

    def __call__(self, message: str, **values: object) -> str:
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text.format(n=n, **values)


def make_i18n() -> object:
    """aiogram's I18n over our catalogs (typed loosely so services need not import aiogram)."""
    from aiogram.utils.i18n import I18n

    return I18n(path=LOCALES_DIR, default_locale=DEFAULT, domain=DOMAIN)
