"""The pages: the wallboard (a big screen), an advisor's own page, the supervisor page, and the
error page. Jinja2 templates in ``templates/`` (autoescaped), scripts and styles in ``static/``,
served by acd itself: nothing comes from anywhere else (the CSP header says so to the browser).

A page is rendered once in the reader's language (``acd.admin.i18n``); its script then keeps it
live from the API's event streams, with the translated words the template hands it as JSON.
Later features add to a page through the template blocks (``base.html``) and the script's
``window.acd`` helpers (``static/live.js``).

The advisor and supervisor pages need a token on every API request, which ``EventSource`` cannot
send, so they read the SSE format from ``fetch``. The token arrives in the URL fragment
(``/agent/ID#token=...``): browsers never send a fragment to the server, so it stays out of access
logs; the page keeps it in ``sessionStorage`` (a reload keeps it) and drops it from the address bar.
"""

from __future__ import annotations

import gettext
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment
from starlette.requests import Request

from acd.admin.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    STATIC,
    Formats,
    catalogue,
    choose_language,
    environment,
)
from acd.admin.words import page_words

PAGE_HEADERS: Final = {
    # media-src: the supervisor page's recording player (without it the browser refuses the
    # audio: "Media load rejected by URL safety check").
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}

# Each language's name in itself, for the language switch.
LANGUAGE_NAMES: Final = {"fr": "Français", "en": "English"}


@dataclass(frozen=True, slots=True)
class _Tongue:
    env: Environment
    translations: gettext.NullTranslations


def _asset_versions() -> dict[str, str]:
    """A short content hash per static file: a new release's pages never get stale scripts."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC.iterdir()
        if path.is_file()
    }


class Pages:
    """Renders the pages in the reader's language, with the centre's name and time zone."""

    def __init__(self, centre: Callable[[], tuple[str, str, str]]) -> None:
        """``centre()`` gives (name, time zone, default language) as the settings say now."""
        self._centre = centre
        self._tongues = {}
        for language in LANGUAGES:
            translations = catalogue(language)
            self._tongues[language] = _Tongue(environment(translations), translations)
        self._versions = _asset_versions()

    def language(self, request: Request, person: str | None = None) -> str:
        _, _, default = self._centre()
        return choose_language(
            switch=request.query_params.get("lang"),
            remembered=request.cookies.get(LANGUAGE_COOKIE),
            person=person,
            accept_language=request.headers.get("accept-language", ""),
            centre=default,
        )

    def gettext(self, language: str) -> Callable[[str], str]:
        return self._tongues[language].translations.gettext

    def static(self, name: str) -> str:
        return f"/static/{name}?v={self._versions.get(name, '0')}"

    def render(
        self,
        request: Request,
        template: str,
        *,
        now: float,
        person_language: str | None = None,
        status: int = 200,
        page: dict[str, Any] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The page as an HTML response (with the CSP headers and, after a switch, the cookie)."""
        language = self.language(request, person_language)
        name, zone, _ = self._centre()
        formats = Formats(language, ZoneInfo(zone))
        tongue = self._tongues[language]
        switch = [(code, LANGUAGE_NAMES[code], code == language) for code in LANGUAGES]
        page_data = {
            "language": language,
            "locale": formats.tag,
            "zone": zone,
            "words": page_words(tongue.translations.gettext),
            **(page or {}),
        }
        html = tongue.env.get_template(template).render(
            formats=formats,
            language=language,
            centre=name,
            zone=zone,
            now=now,
            switch=switch,
            static=self.static,
            page_data=page_data,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="strict", httponly=True
            )
        return response
