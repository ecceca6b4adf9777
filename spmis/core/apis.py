"""Shared REST plumbing: pagination and the one place errors become HTTP. (The JSON parser
is in ``core.parsers``: DRF's views module imports the parser classes it is set to.)"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from spmis.core.doors import NUL_REFUSED, is_nul_refusal
from spmis.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        code: int = status.HTTP_400_BAD_REQUEST
        if isinstance(exc, NotFound):
            code = status.HTTP_404_NOT_FOUND
        elif isinstance(exc, PermissionDenied):
            code = status.HTTP_403_FORBIDDEN
        elif isinstance(exc, Conflict):
            code = status.HTTP_409_CONFLICT
        return Response({"detail": exc.message, **exc.extra}, status=code)
    if is_nul_refusal(exc):
        return Response({"detail": NUL_REFUSED}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
