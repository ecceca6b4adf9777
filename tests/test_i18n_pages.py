"""Pages in French and Portuguese hold no English: every page a role's menu reaches (and a
person, a household, a scheme, a submission), rendered in English and in the other language;
a piece of visible text that reads the same in both and is made of English words of the
interface is a message nobody translated. Data (names of places, people, schemes, sources;
codes and numbers) may read the same and is allowed."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import polib
import pytest
from django.conf import settings
from django.test import Client

from spmis.access.models import User
from spmis.audit.models import AuditEvent
from spmis.geography.models import Area, AreaLevel
from spmis.indicators.services import indicators_run
from spmis.intake.models import Source, Submission
from spmis.registry.models import Person
from spmis.schemes.models import Scheme
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db

ROLES = ("REGISTRAR", "STATISTICIAN", "DATA_COLLECTOR", "APPROVER", "AUDITOR",
         "SCHEME_MANAGER", "SECURITY_ADMIN", "TARGETING_OFFICER", "SYSTEM_ADMIN")
WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]+")
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
# An identifier shown as it is stored: an audit action (person.view), an object type.
CODE = re.compile(r"[a-z0-9]+([._][a-z0-9]+)+")


class _Text(HTMLParser):
    """The text a reader sees or hears: text nodes outside scripts and styles, and the
    placeholder, title, aria-label and alt attributes. Commands to type (<code>) are not
    words to translate."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code"):
            self._hidden += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(data)


def texts(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return [" ".join(t.split()) for t in parser.texts]


def _english_words() -> set[str]:
    """Words of the English messages that no translation uses as well (so "total", "page"
    or "code", French too, do not count)."""
    english: set[str] = set()
    translated: set[str] = set()
    for language in ("fr", "es", "pt"):
        for entry in polib.pofile(str(settings.LOCALE_PATHS[0] / language / "LC_MESSAGES"
                                      / "django.po")):
            if entry.obsolete:
                continue
            for text in (entry.msgid, entry.msgid_plural or ""):
                english |= {w.lower() for w in WORD.findall(re.sub(r"%\(\w+\)\w", "", text))}
            for text in (entry.msgstr, *entry.msgstr_plural.values()):
                translated |= {w.lower() for w in WORD.findall(text)}
    return {w for w in english - translated if len(w) > 2}


def _data_words() -> set[str]:
    """Words of the data a page may show as it is stored."""
    words: set[str] = set()
    rows = [
        *Area.objects.values_list("name", flat=True), *AreaLevel.objects.values_list(
            "name", flat=True), *Scheme.objects.values_list("name", flat=True),
        *Scheme.objects.values_list("managing_institution", flat=True),
        *Scheme.objects.values_list("legal_basis", flat=True),
        *Scheme.objects.values_list("description", flat=True),
        *Source.objects.values_list("name", flat=True),
        *Source.objects.values_list("institution", flat=True),
        *Person.objects.values_list("given_name", flat=True),
        *Person.objects.values_list("family_name", flat=True),
        *User.objects.values_list("username", flat=True),
        # Who wrote an audit entry without a user (cli:root) is stored as it was said.
        *AuditEvent.objects.values_list("actor_username", flat=True).distinct(),
    ]
    for value in rows:
        words |= {w.lower() for w in WORD.findall(str(value or ""))}
    return words


def english_left(english_html: str, other_html: str, vocabulary: set[str],
                 data: set[str]) -> list[str]:
    """The pieces of text of ``other_html`` that are word for word those of the English page
    and hold an English word of the interface that is not also data."""
    english = set(texts(english_html))
    found = []
    for text in texts(other_html):
        if text not in english or CODE.fullmatch(text):
            continue
        words = {w.lower() for w in WORD.findall(text)}
        if (words & vocabulary) - data:
            found.append(text)
    return sorted(set(found))


def _left_elsewhere() -> dict[str, set[str]]:
    """English knowingly left on a page: each entry names its page and the texts (none now)."""
    return {}


def _pages(client: Client, extra: list[str]) -> list[str]:
    home = client.get("/").content.decode()
    nav = home.split("</nav>")[0]
    links = re.findall(r'<a (?:class="[^"]*" )?href="(/[^"]*)"', nav)
    return list(dict.fromkeys(["/", *links, *extra]))


@pytest.fixture
def world(country, make_user):
    indicators_run(actor=None, period=dt.date(2026, 6, 1))
    person = Person.objects.exclude(household=None).order_by("id").first()
    extra = [f"/persons/{person.pk}/", f"/households/{person.household_id}/",
             f"/schemes/{Scheme.objects.order_by('code').first().code}/", "/persons/?q=a",
             "/language/"]
    submission = Submission.objects.order_by("id").first()
    if submission is not None:
        extra.append(f"/intake/submissions/{submission.pk}/")
    return {"users": {role: make_user(role, username=f"i18n_{role.lower()}") for role in ROLES},
            "extra": extra}


@pytest.mark.parametrize("language", ["fr", "pt"])
def test_no_english_is_left_on_the_pages_of_every_role(world, language):
    vocabulary, data, elsewhere = _english_words(), _data_words(), _left_elsewhere()
    left: dict[str, list[str]] = {}
    compared = 0
    anonymous = Client()
    for url in ("/login/", "/language/"):
        english = anonymous.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        other = anonymous.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        if found := english_left(english, other, vocabulary, data):
            left[f"anonymous {url}"] = found
    for role, user in world["users"].items():
        client = logged_in(user)
        for url in _pages(client, world["extra"]):
            user.language = "en"
            user.save(update_fields=["language"])
            english = client.get(url)
            if english.status_code != 200:
                continue  # a page this role may not open (the access matrix tests that)
            User.objects.filter(pk=user.pk).update(language=language)
            other = client.get(url)
            assert f'<html lang="{language}">' in other.content.decode()
            compared += 1
            found = english_left(english.content.decode(), other.content.decode(),
                                 vocabulary, data)
            found = [t for t in found if not any(
                url.startswith(page) and t in texts for page, texts in elsewhere.items())]
            if found:
                left[f"{role} {url}"] = found
    assert compared > 40, compared  # every role's menu pages were read, not a login page
    assert not left, "English left in " + language + ":\n" + "\n".join(
        f"{where}: {found}" for where, found in left.items())


def test_the_check_finds_an_untranslated_sentence():
    vocabulary = {"withdrawal", "submission"}
    page = "<main><p>Ask for withdrawal</p><p>Amina</p><script>var a = 'submission';</script>"
    assert english_left(page, page, vocabulary, set()) == ["Ask for withdrawal"]
    assert english_left(page, page.replace("Ask for withdrawal", "Demander le retrait"),
                        vocabulary, set()) == []
