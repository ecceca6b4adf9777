"""The API's JSON parser, with limits (set in REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

A module of its own: DRF's views module imports the parser classes it is configured with, so
this one must not import DRF's views (``core.apis`` does).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from spmis.core.jsondepth import json_depth


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with limits: a body larger than ``SPMIS_API_JSON_MAX_BYTES`` is
    refused with 413 before it is read (from its Content-Length) or as soon as it is (a body
    without one); a document nesting deeper than ``SPMIS_API_JSON_MAX_DEPTH`` with 400. The
    decoder itself stops at Python's recursion limit, which is refused the same way, not a
    server error."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        context = parser_context or {}
        limit: int = settings.SPMIS_API_JSON_MAX_BYTES
        too_large = PayloadTooLarge(
            f"The JSON body is larger than the limit of {limit // (1024 * 1024)} MB: send "
            f"the records as a file (multipart) instead.")
        request = context.get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise too_large
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise too_large
        encoding = context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            document = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(_too_deep()) from None
        except ValueError as exc:  # also UnicodeDecodeError and JSONDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth(document, stop_above=settings.SPMIS_API_JSON_MAX_DEPTH) > (
                settings.SPMIS_API_JSON_MAX_DEPTH):
            raise ParseError(_too_deep())
        return document


def _too_deep() -> str:
    return (f"The JSON nests more than {settings.SPMIS_API_JSON_MAX_DEPTH} levels deep: send "
            f"a list of flat records.")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
