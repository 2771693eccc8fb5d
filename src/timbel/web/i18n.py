"""Translations for pages and Python code: Babel ``.po`` catalogs and a per-request locale.

Why a context variable: the locale is a property of the request being served,
and both Jinja templates and Python helpers call ``gettext`` without passing it
around. ``render()`` sets it for the duration of one render; nothing else needs
to know which request is current. Catalogs are compiled in memory at startup,
so no ``.mo`` files are committed or built.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

from timbel.core.settings import Settings

CATALOG_DIR = Path(__file__).parent / "i18n"
DOMAIN = "messages"
LOCALE_COOKIE = "timbel_locale"
LOCALE_COOKIE_SECONDS = 365 * 24 * 3600
DEFAULT_LOCALE = "ko"

_current: ContextVar[str] = ContextVar("timbel_locale", default=DEFAULT_LOCALE)
_translations: dict[str, NullTranslations] = {}


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a message for extraction without translating it (it is translated when shown)."""
    return message


def load_catalog(locale: str, directory: Path = CATALOG_DIR) -> NullTranslations:
    """Read one locale's ``.po`` catalog and compile it in memory."""
    path = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return GNUTranslations(buffer)


def load_catalogs(locales: tuple[str, ...], directory: Path = CATALOG_DIR) -> None:
    """Load the catalogs of every supported locale (called once at startup)."""
    for locale in locales:
        _translations[locale] = load_catalog(locale, directory)


def _active() -> NullTranslations:
    translations = _translations.get(_current.get())
    if translations is None:
        if not _translations:
            load_catalogs((DEFAULT_LOCALE, "en"))
        translations = _translations.get(_current.get(), NullTranslations())
    return translations


def gettext(message: str) -> str:
    """Translate a message into the current locale."""
    return _active().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count into the current locale."""
    return _active().ngettext(singular, plural, n)


def current_locale() -> str:
    """Return the locale being rendered."""
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Make a locale current for a block (one render, one message)."""
    token = _current.set(locale)
    try:
        yield
    finally:
        _current.reset(token)


def supported_locales(settings: Settings) -> tuple[str, ...]:
    """Return the locales the UI offers."""
    return settings.i18n.locales


def locale_for(request: Request) -> str:
    """Choose the locale: the signed-in user's preference, else the cookie, else the default."""
    settings: Settings = request.app.state.settings
    supported = supported_locales(settings)
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.locale in supported:
        return str(principal.locale)
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in supported:
        return str(cookie)
    return settings.i18n.default_locale


@lru_cache(maxsize=16)
def language_name(locale: str) -> str:
    """Return a language's name written in that language, from CLDR data."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]
