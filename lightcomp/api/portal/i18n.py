"""Languages of the portal: gettext catalogues (Chinese, English), chosen per request.

The catalogues are ``locale/<lang>/LC_MESSAGES/messages.po`` beside this module,
extracted from the templates and views with Babel (``babel.cfg``; see
``scripts/portal_messages.sh``) and compiled in memory at start-up with Babel's
own compiler, so no binary ``.mo`` file is kept in the repository. Message ids
are the English texts; the English catalogue is therefore empty.

Language of a request: the ``lc_lang`` cookie set by the switch on every page,
else the best match of ``Accept-Language`` (RFC 9110 §12.5.4, quality values),
else English.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LANGUAGES = {"en": "English", "zh": "中文"}
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "lc_lang"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[gettext.NullTranslations | None] = ContextVar(
    "portal_translations", default=None
)
_NULL = gettext.NullTranslations()
_lang: ContextVar[str] = ContextVar("portal_language", default=DEFAULT_LANGUAGE)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """Compiled catalogue of ``lang`` (NullTranslations for English or a missing file)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def activate(lang: str) -> None:
    """Make ``lang`` the language of :func:`_` in this context (request / thread)."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    _lang.set(lang)
    _current.set(translations(lang))


def current_language() -> str:
    """The language made active by :func:`activate` in this context."""
    return _lang.get()


def _(message: str, **values: object) -> str:
    """The active language's text of ``message``, with ``%(name)s`` fields filled from ``values``
    (``%%`` is a literal percent sign when ``values`` are given, as in the templates)."""
    text = (_current.get() or _NULL).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int) -> str:
    return (_current.get() or _NULL).ngettext(singular, plural, n)


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language subtags of ``Accept-Language`` by quality, best first (q=0 dropped)."""
    out: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()
        if not tag or len(tag) > 35:
            continue
        q = 1.0
        for b in bits[1:]:
            b = b.strip()
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            out.append((-q, i, tag.split("-")[0]))
    return [t for _q, _i, t in sorted(out)]


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """Cookie choice if valid, else the best ``Accept-Language`` match, else English."""
    if cookie in LANGUAGES:
        return cookie
    for tag in parse_accept_language(accept_language):
        if tag in LANGUAGES:
            return tag
        if tag == "*":
            break
    return DEFAULT_LANGUAGE
