"""The pages as HTML: templates, languages, static files, error pages, French catalogue."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from acd.admin.i18n import LOCALES, Formats, accepted_languages, choose_language
from tests.admin.conftest import AGENT_TOKENS, Api

ADMIN_DIR = Path(__file__).parents[2] / "acd" / "admin"


class _Text(HTMLParser):
    """The text a person would read (scripts, styles and templates left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def page_data(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="acd-page">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


async def test_the_wallboard_speaks_the_browsers_language(api: Api) -> None:
    """GET /wallboard with Accept-Language fr is French, with en English."""
    french = await api.client.get("/wallboard", headers={"accept-language": "fr-FR,fr;q=0.9"})
    english = await api.client.get("/wallboard", headers={"accept-language": "en-GB,en;q=0.8"})
    assert '<html lang="fr-FR">' in french.text
    assert '<html lang="en-GB">' in english.text
    for word in ("En attente", "Conseillers", "Tableau de bord", "Niveau de service"):
        assert word in french.text
        assert word not in english.text
    for word in ("Waiting", "Advisors", "Wallboard", "Service level"):
        assert word in english.text
    words = page_data(french.text)["words"]
    assert isinstance(words, dict)
    assert words["activities"]["on_call"] == "En appel"
    assert words["pause_reasons"]["no_answer"] == "Appels manqués"


async def test_the_centre_language_applies_when_the_browser_says_nothing(api: Api) -> None:
    """No Accept-Language (or only unknown ones): centre.language, French by default."""
    for headers in ({}, {"accept-language": "de-DE,es;q=0.5"}):
        response = await api.client.get("/wallboard", headers=headers)
        assert '<html lang="fr-FR">' in response.text


async def test_the_language_switch_wins_and_is_remembered(api: Api) -> None:
    """?lang=en beats a French browser and sets a cookie that later visits follow."""
    french = {"accept-language": "fr"}
    switched = await api.client.get("/wallboard?lang=en", headers=french)
    assert '<html lang="en-GB">' in switched.text
    assert "acd_lang=en" in switched.headers["set-cookie"]
    later = await api.client.get("/wallboard", headers={**french, "cookie": "acd_lang=en"})
    assert '<html lang="en-GB">' in later.text


async def test_the_advisor_page_follows_the_advisors_setting(api: Api) -> None:
    """An advisor with language = "en" gets English even from a French browser."""
    settings = api.daemon.settings
    alice = settings.agents["alice"].model_copy(update={"language": "en"})
    api.daemon.settings = settings.model_copy(
        update={"agents": {**settings.agents, "alice": alice}}
    )
    french = {"accept-language": "fr"}
    alice_page = await api.client.get("/agent/alice", headers=french)
    bob_page = await api.client.get("/agent/bob", headers=french)
    assert "My state" in alice_page.text
    assert "Mon état" in bob_page.text


async def test_the_advisor_page_carries_its_id_and_no_token(api: Api) -> None:
    """GET /agent/{id} hands the id to the script as JSON; the token stays in the fragment."""
    response = await api.client.get("/agent/alice")
    assert response.status_code == 200
    assert page_data(response.text)["agent_id"] == "alice"
    assert "Alice Martin" in visible_text(response.text)
    assert AGENT_TOKENS["alice"] not in response.text


async def test_pages_escape_what_the_settings_say(api: Api) -> None:
    """An advisor's name with markup is shown as text (autoescaping), never run."""
    settings = api.daemon.settings
    alice = settings.agents["alice"].model_copy(update={"name": "<script>alert(1)</script>"})
    api.daemon.settings = settings.model_copy(
        update={"agents": {**settings.agents, "alice": alice}}
    )
    response = await api.client.get("/agent/alice")
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


async def test_pages_fetch_nothing_from_elsewhere(api: Api) -> None:
    """Every page loads only /static files of acd, under a CSP that allows nothing else."""
    for path in ("/wallboard", "/agent/alice", "/supervisor"):
        response = await api.client.get(path)
        assert response.status_code == 200
        html = response.text
        assert "http://" not in html
        assert "https://" not in html
        sources = re.findall(r'(?:src|href)="([^"?#]+)', html)
        assert all(s.startswith("/static/") or s == "/wallboard" for s in sources), sources
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "'unsafe-inline'" not in policy
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            served = await api.client.get(asset)
            assert served.status_code == 200, asset
            assert "https://" not in served.text
    root = await api.client.get("/", follow_redirects=False)
    assert root.headers["location"] == "/wallboard"


async def test_unknown_pages_and_advisors_are_html_pages(api: Api) -> None:
    """A wrong advisor id or path is a readable 404 page; the API's 404s stay JSON."""
    advisor = await api.client.get("/agent/nobody", headers={"accept-language": "fr"})
    assert advisor.status_code == 404
    assert advisor.headers["content-type"].startswith("text/html")
    assert "Il n'y a pas de conseiller nobody dans ce centre." in visible_text(advisor.text)
    hostile = await api.client.get("/agent/%3Cb%3Ex", headers={"accept-language": "en"})
    assert hostile.status_code == 404
    assert "<b>x" not in hostile.text
    page = await api.client.get("/nowhere", headers={"accept-language": "en"})
    assert page.status_code == 404
    assert "There is no page at this address." in visible_text(page.text)
    api_404 = await api.client.get("/api/v1/nowhere")
    assert api_404.json()["error"]["code"] == "not_found"


async def test_the_sign_in_panel_explains_each_refusal(api: Api) -> None:
    """The advisor and supervisor pages carry the words for a missing, wrong, expired or
    someone else's token (the script shows the one that applies)."""
    for path in ("/agent/alice", "/supervisor"):
        html = (await api.client.get(path, headers={"accept-language": "fr"})).text
        for reason in ("missing", "invalid", "expired", "forbidden"):
            assert f'data-reason="{reason}"' in html
        assert "Votre jeton n'est plus accepté" in html


def test_accept_language_is_read_by_quality() -> None:
    """Accept-Language tags come out most wanted first; q=0 and malformed q are dropped."""
    header = "de;q=0.3, en-GB;q=0.8, fr, es;q=0, it;q=x"
    assert accepted_languages(header) == ["fr", "en-gb", "de"]


def test_the_language_order() -> None:
    """Switch, then cookie, then the person's setting, then the browser, then the centre."""
    base = {"switch": None, "remembered": None, "person": None, "accept_language": ""}
    assert choose_language(**{**base, "centre": "en"}) == "en"
    assert choose_language(**{**base, "accept_language": "en", "centre": "fr"}) == "en"
    assert choose_language(**{**base, "person": "fr", "accept_language": "en", "centre": "en"}) == (
        "fr"
    )
    assert choose_language(**{**base, "remembered": "en", "person": "fr", "centre": "fr"}) == "en"
    assert choose_language(**{**base, "switch": "fr", "remembered": "en", "centre": "en"}) == "fr"
    assert choose_language(**{**base, "switch": "xx", "centre": "en"}) == "en"


def test_dates_times_and_numbers_follow_the_language_and_the_centres_zone() -> None:
    """Babel formats in French or English, times in the centre's zone (not the server's)."""
    at = dt.datetime(2026, 12, 5, 13, 4, 5, tzinfo=dt.UTC).timestamp()
    paris = ZoneInfo("Europe/Paris")
    french, english = Formats("fr", paris), Formats("en", paris)
    assert french.date(at) == "samedi 5 décembre 2026"
    assert english.date(at) == "Saturday, 5 December 2026"
    assert french.time(at) == english.time(at) == "14:04:05"
    assert Formats("fr", ZoneInfo("America/Martinique")).time(at) == "09:04:05"
    assert french.number(1234.5) == "1\u202f234,5"
    assert english.number(1234.5) == "1,234.5"
    assert french.percent(0.85) == "85\u00a0%"


def test_every_message_has_a_french_translation() -> None:
    """Each message of the templates and of acd.admin's Python is translated (and not fuzzy) in
    fr/LC_MESSAGES/acd.po, with the same placeholders."""
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options_map = {
        "templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True"},
    }
    messages = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(
            str(ADMIN_DIR),
            method_map,
            options_map,
            keywords={"_": None, "N_": None, "gettext": None},
        )
    }
    assert len(messages) > 100
    with (LOCALES / "fr" / "LC_MESSAGES" / "acd.po").open("rb") as po:
        catalogue = {m.id: m for m in read_po(po) if m.id}
    untranslated = sorted(
        m for m in messages if m not in catalogue or not catalogue[m].string or catalogue[m].fuzzy
    )
    assert untranslated == []
    placeholder = re.compile(r"\{\w+\}|%\(\w+\)s")
    for message in messages:
        french = catalogue[message].string
        assert isinstance(french, str)
        assert sorted(placeholder.findall(french)) == sorted(placeholder.findall(message)), message
