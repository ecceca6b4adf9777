"""The language switcher: a cookie before sign-in, saved on the user (and audited) after, applied
at every later request and sign-in, whatever the browser asks for."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from spmis.access.language import language_set
from spmis.audit.models import AuditEvent
from spmis.core.errors import ValidationFailed
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db
COOKIE = settings.LANGUAGE_COOKIE_NAME


def html_lang(response) -> str:
    text = response.content.decode()
    start = text.index('<html lang="') + len('<html lang="')
    return text[start:text.index('"', start)]


def test_the_switcher_is_on_the_login_page_with_the_four_languages():
    page = Client().get("/login/").content.decode()
    assert 'data-testid="language-switcher"' in page
    for code, name in (("en", "English"), ("fr", "Français"), ("es", "Español"),
                       ("pt", "Português")):
        assert f'<option value="{code}" lang="{code}"' in page and name in page


def test_before_sign_in_the_choice_is_a_cookie():
    client = Client()
    response = client.post("/language/", {"language": "pt", "next": "/login/"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.cookies[COOKIE].value == "pt"
    login = client.get("/login/")
    assert html_lang(login) == "pt" and "Nome de usuário" in login.content.decode()


def test_the_browser_language_is_used_until_one_is_chosen():
    assert html_lang(Client().get("/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")) == "fr"
    assert html_lang(Client().get("/login/", HTTP_ACCEPT_LANGUAGE="de-DE")) == "en"


def test_a_signed_in_choice_is_saved_on_the_user_audited_and_kept_at_the_next_sign_in(
        small, make_user):
    user = make_user("REGISTRAR")
    client = logged_in(user)
    response = client.post("/language/", {"language": "fr", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    user.refresh_from_db()
    assert user.language == "fr"
    event = AuditEvent.objects.get(action="user.language")
    assert event.actor_id == user.pk and event.object_id == str(user.pk)
    assert event.detail == {"from": "", "to": "fr"}
    assert html_lang(client.get("/")) == "fr"
    # Another browser, asking for English, with no cookie: the user's own choice wins.
    other = logged_in(user)
    other.cookies.pop(COOKIE, None)
    home = other.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(home) == "fr"
    assert home.cookies[COOKIE].value == "fr"  # so the sign-in page after logout is French
    # Choosing the same language again changes nothing and records nothing.
    client.post("/language/", {"language": "fr"})
    assert AuditEvent.objects.filter(action="user.language").count() == 1


def test_an_unknown_language_or_a_foreign_next_is_refused():
    client = Client()
    assert client.post("/language/", {"language": "xx"}).status_code == 400
    response = client.post("/language/", {"language": "es", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
    with pytest.raises(ValidationFailed):
        language_set(user=None, language="de")  # type: ignore[arg-type]


def test_the_language_page_works_without_javascript():
    page = Client().get("/language/?next=/login/").content.decode()
    assert 'name="language" value="pt"' in page and 'value="/login/"' in page
