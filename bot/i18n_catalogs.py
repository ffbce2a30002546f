"""Maintain the gettext catalogs: ``python -m bot.i18n_catalogs update|compile|check``.

``update`` extracts every text from bot/ and handlers/ and merges it into each locale's .po
file; ``compile`` writes the .mo files aiogram and Translator read; ``check`` lists texts that
are untranslated, fuzzy, or whose {placeholders} differ, and .mo files that are stale.
"""

from __future__ import annotations

import ast
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LOCALES_DIR, SUPPORTED

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("bot", "handlers")
# `_` and `gettext` in handlers; `t`/`tr` are Translator instances in services, and
# `t.plural(singular, plural, n)` is Translator.plural.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "lazy_gettext": None,
    "__": None,
    "t": None,
    "tr": None,
    "ngettext": (1, 2),
    "plural": (1, 2),
}
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def extract() -> Catalog:
    template = Catalog(project="steward", domain=DOMAIN, charset="utf-8")
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS, strip_comment_tags=True
        ):
            if not message or (isinstance(message, str) and not message.strip()):
                continue
            template.add(message, locations=[(f"{source}/{filename}", lineno)], auto_comments=comments, context=context)
        for path in sorted((ROOT / source).rglob("*.py")):
            for message, lineno in _missed_by_babel(path):
                location = (path.relative_to(ROOT).as_posix(), lineno)
                template.add(message, locations=[location])
    _extract_templates(template)
    return template


def _extract_templates(template: Catalog) -> None:
    """The dashboard's Jinja2 pages (bot/dashboard/templates): their ``t("...")`` calls."""
    from jinja2.ext import babel_extract

    for path in sorted((ROOT / "bot" / "dashboard" / "templates").glob("*.html")):
        with path.open("rb") as handle:
            for lineno, _function, message, _comments in babel_extract(handle, ["t"], [], {}):
                if isinstance(message, str) and message.strip():
                    template.add(message, locations=[(path.relative_to(ROOT).as_posix(), lineno)])


def _keyword_call(node: ast.Call) -> str | tuple[str, str] | None:
    """The msgid of a translation call with literal arguments, else None."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "Translator":
        name = "t"  # Translator(locale)("text")
    if name not in KEYWORDS:
        return None
    spec = KEYWORDS[name]
    count = len(spec) if spec else 1
    texts = [a.value for a in node.args[:count] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if len(texts) < count:
        return None
    return texts[0] if count == 1 else (texts[0], texts[1])


def _missed_by_babel(path: Path) -> list[tuple[str | tuple[str, str], int]]:
    """Calls babel's tokenizer cannot see: inside f-strings (one token before Python 3.12)
    and ``Translator(locale)("text")``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return []
    found: list[tuple[str | tuple[str, str], int]] = []
    inside_fstrings = {
        id(node) for joined in ast.walk(tree) if isinstance(joined, ast.JoinedStr) for node in ast.walk(joined)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        direct = isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "Translator"
        if id(node) in inside_fstrings or direct:
            message = _keyword_call(node)
            if message:
                found.append((message, node.lineno))
    return found


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


def load(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, domain=DOMAIN, project="steward", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def save(catalog: Catalog, locale: str) -> None:
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True, include_lineno=False)


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def translations(mo: bytes) -> dict[tuple[object, object], object]:
    """What a compiled catalog says: (id, context) → translation. Compared instead of bytes, because
    Babel releases lay the .mo file out differently (2.19 differs from 2.18 for the same catalog)."""

    def frozen(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {
        (frozen(message.id), message.context): frozen(message.string)
        for message in read_mo(io.BytesIO(mo))
        if message.id and message.string
    }


def mo_is_current(catalog: Catalog, locale: str) -> bool:
    path = mo_path(locale)
    return path.exists() and translations(path.read_bytes()) == translations(compiled(catalog))


def update() -> None:
    for locale in SUPPORTED:
        catalog = load(locale)
        # A fresh template each time: Catalog.update shares message objects with the template.
        catalog.update(extract(), no_fuzzy_matching=True)
        if locale == "en":
            # English texts are their own translation.
            for message in catalog:
                if message.id and (not message.string or not all(message.string)):
                    message.string = message.id
        save(catalog, locale)


def compile_all() -> None:
    for locale in SUPPORTED:
        mo_path(locale).write_bytes(compiled(load(locale)))


def placeholders(text: str | tuple[str, ...] | list[str]) -> set[str]:
    texts = (text,) if isinstance(text, str) else text
    return {name for part in texts for name in PLACEHOLDER.findall(part)}


def problems() -> list[str]:
    found: list[str] = []
    template = extract()
    for locale in SUPPORTED:
        catalog = load(locale)
        for message in template:
            if not message.id:
                continue
            translated = catalog.get(message.id)
            label = message.id if isinstance(message.id, str) else message.id[0]
            if (
                translated is None
                or not translated.string
                or (isinstance(translated.string, tuple) and not all(translated.string))
            ):
                found.append(f"{locale}: untranslated: {label[:70]!r}")
            elif translated.fuzzy:
                found.append(f"{locale}: fuzzy: {label[:70]!r}")
            elif placeholders(translated.string) != placeholders(message.id):
                found.append(f"{locale}: placeholders differ: {label[:70]!r}")
        if not mo_is_current(catalog, locale):
            stale = mo_path(locale).relative_to(ROOT)
            found.append(f"{locale}: {stale} is stale: run `python -m bot.i18n_catalogs compile`")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
        compile_all()
    elif command == "compile":
        compile_all()
    elif command == "check":
        issues = problems()
        print("\n".join(issues) or "catalogs complete")
        return 1 if issues else 0
    else:
        print("usage: python -m bot.i18n_catalogs update|compile|check", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
