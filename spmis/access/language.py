"""The interface language a user chose: kept on the user once signed in (``User.language``, so
it follows them to every browser and every later sign-in), in a cookie before. The service that
saves it (audited: a change of the user's own preference), the middleware that applies it to
every request, and the door of the switcher in the base layout (``/language/``)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from spmis.access.models import User
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.errors import ValidationFailed

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def language_set(*, user: User, language: str) -> User:
    """Save ``language`` as the user's own interface language; audited when it changes."""
    if language not in LANGUAGE_CODES:
        raise ValidationFailed(f"Unknown language {language!r}.")
    with transaction.atomic():
        before = user.language
        if before == language:
            return user
        user.language = language
        user.save(update_fields=["language"])
        audit_record(actor=user, action=AuditAction.USER_LANGUAGE, object_type="user",
                     object_id=user.pk, detail={"from": before, "to": language})
    return user


class UserLanguageMiddleware:
    """After authentication: a signed-in user's saved language wins over the cookie and the
    browser's Accept-Language (which LocaleMiddleware went by before the user was known)."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        saved = user is not None and user.is_authenticated and language in LANGUAGE_CODES
        if saved:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response: HttpResponse = self.get_response(request)
        if saved and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            remember(request, response, language)  # the sign-in page after logout speaks it too
        return response


def remember(request: HttpRequest, response: HttpResponse, language: str) -> None:
    """The language cookie: what LocaleMiddleware goes by before anyone signs in."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE or request.is_secure(),
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite="Lax")


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return reverse("web:home")


@require_http_methods(["GET", "POST"])
def choose_language(request: HttpRequest) -> HttpResponse:
    """GET: the languages to choose from (the switcher without its menu). POST ``language``:
    remember it (on the user when signed in, always in the cookie) and go back to ``next``."""
    if request.method == "GET":
        return render(request, "access/language.html", {"next": _next(request)})
    language = request.POST.get("language", "")
    if language not in LANGUAGE_CODES:
        return render(request, "access/language.html", {"next": _next(request)}, status=400)
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        language_set(user=user, language=language)
    translation.activate(language)
    response = HttpResponseRedirect(_next(request))
    remember(request, response, language)
    return response
