"""Headers every response carries: a strict Content-Security-Policy and Permissions-Policy, and
``Cache-Control: no-store`` wherever personal data may be in the answer.

The policy allows scripts and styles from this server only: no inline script or style (the
pages read their data from ``json_script`` elements; their scripts are static files), nothing
from other sites, no frames, no plugins. The Referrer-Policy is Django's
``SECURE_REFERRER_POLICY`` (``same-origin``), set by its SecurityMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy",
                                    settings.SPMIS_CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", settings.SPMIS_PERMISSIONS_POLICY)
        if request.path.startswith(API_PREFIX) or _signed_in(request):
            # Any page of a signed-in user, and any API answer, may hold personal data: no
            # browser or proxy keeps a copy (the back button asks the server again).
            response.headers["Cache-Control"] = "no-store"
        return response


def _signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)  # absent for static files served before login runs
    return bool(user is not None and user.is_authenticated)
