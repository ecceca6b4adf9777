"""The edge where a page's refusal becomes an HTTP answer (the API's is ``core.apis``).

A view that lets an ``ApplicationError`` escape (a malformed date in a filter, a value out of
range) answers with its message and a 4xx status, never a server error: ``NotFound`` as the
404 page, ``PermissionDenied`` as the 403 page, ``Conflict`` 409, any other 400. Views that
show the message on their own form catch the error themselves; this is the rest. So is a NUL
character in a value the database refuses to compare (PostgreSQL): 400.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from spmis.core.doors import NUL_REFUSED, is_nul_refusal
from spmis.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied

MiB = 1024 * 1024


class ApplicationErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if is_nul_refusal(exc):
            return render(request, "web/refused.html", {"message": NUL_REFUSED}, status=400)
        if not isinstance(exc, ApplicationError):
            return None
        if isinstance(exc, NotFound):
            raise Http404(exc.message) from exc
        if isinstance(exc, PermissionDenied):
            raise DjangoPermissionDenied(exc.message) from exc
        status = 409 if isinstance(exc, Conflict) else 400
        return render(request, "web/refused.html", {"message": exc.message}, status=status)


class RequestSizeMiddleware:
    """Refuses a request whose declared body is larger than ``SPMIS_MAX_REQUEST_BYTES`` with
    413, before anything reads it: Django spools uploaded files to disk whatever their size,
    so the upload limit checked by the doors would come only after the whole file was
    written. (The WSGI server is given the same limit, for bodies it buffers itself.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.SPMIS_MAX_REQUEST_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads no body then
        if declared > limit:
            message = (f"The request is larger than the limit of {limit // MiB} MB: send a "
                       f"smaller file (split it by area or month).")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
