"""Checks on a request made before any view reads it (the API's are in ``core.apis``)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

MiB = 1024 * 1024


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
