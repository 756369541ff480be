"""The pages' languages: gettext catalogues, the choice of language, Babel formatting.

Messages are written in English in the templates and in ``acd.admin.words``; French comes from
``locale/fr/LC_MESSAGES/acd.po``. The ``.po`` file is compiled in memory when the HTTP app is built
(Babel's own compiler, a few milliseconds), so a plain clone, an editable install and a wheel all
serve the same translations and no compiled ``.mo`` file can fall out of date. ``scripts/i18n``
extracts the messages and updates the catalogue; a test fails on a message without French.

Language, first found: the page's own switch (``?lang=``, then remembered in a cookie), the
person's setting (``agents.ID.language``, ``supervisors.ID.language``), the browser's
``Accept-Language``, ``centre.language``.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

HERE: Final = Path(__file__).parent
TEMPLATES: Final = HERE / "templates"
STATIC: Final = HERE / "static"
LOCALES: Final = HERE / "locale"
DOMAIN: Final = "acd"
LANGUAGES: Final = ("fr", "en")
# The region fixes date and number conventions: a 24-hour clock for English too.
BABEL_LOCALES: Final = {"fr": "fr_FR", "en": "en_GB"}
LANGUAGE_COOKIE: Final = "acd_lang"


def catalogue(language: str) -> gettext.NullTranslations:
    """The language's translations (English is the templates' own: no catalogue needed)."""
    po = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        messages = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def accepted_languages(header: str) -> list[str]:
    """The languages of an ``Accept-Language`` header, most wanted first (``q=0`` dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(
    *,
    switch: str | None,
    remembered: str | None,
    person: str | None,
    accept_language: str,
    centre: str,
) -> str:
    """The page's language, by the order in this module's docstring."""
    for wanted in (switch, remembered, person):
        if wanted in LANGUAGES:
            return wanted
    for tag in accepted_languages(accept_language):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return centre if centre in LANGUAGES else LANGUAGES[0]


@dataclass(frozen=True, slots=True)
class Formats:
    """Babel formatting in one language and the centre's time zone (the templates' filters)."""

    language: str
    zone: ZoneInfo

    @property
    def locale(self) -> Locale:
        return Locale.parse(BABEL_LOCALES[self.language])

    @property
    def tag(self) -> str:
        """The BCP 47 tag, for ``<html lang>`` and the scripts' ``Intl`` formatters."""
        return BABEL_LOCALES[self.language].replace("_", "-")

    def _local(self, at: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(at, self.zone)

    def date(self, at: float, form: str = "full") -> str:
        return format_date(self._local(at).date(), form, locale=self.locale)

    def time(self, at: float, form: str = "medium") -> str:
        return format_time(self._local(at), form, tzinfo=self.zone, locale=self.locale)

    def datetime(self, at: float, form: str = "medium") -> str:
        return format_datetime(self._local(at), form, tzinfo=self.zone, locale=self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.locale)


def _formats(context: Context) -> Formats:
    formats = context["formats"]
    assert isinstance(formats, Formats)  # every page context carries one (pages.render)
    return formats


@pass_context
def _date(context: Context, at: float, form: str = "full") -> str:
    return _formats(context).date(at, form)


@pass_context
def _time(context: Context, at: float, form: str = "medium") -> str:
    return _formats(context).time(at, form)


@pass_context
def _datetime(context: Context, at: float, form: str = "medium") -> str:
    return _formats(context).datetime(at, form)


@pass_context
def _number(context: Context, value: float) -> str:
    return _formats(context).number(value)


@pass_context
def _percent(context: Context, value: float) -> str:
    return _formats(context).percent(value)


def environment(translations: gettext.NullTranslations) -> Environment:
    """A Jinja2 environment for one language: autoescaping on, its gettext installed."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(date=_date, time=_time, datetime=_datetime, number=_number, percent=_percent)
    return env
