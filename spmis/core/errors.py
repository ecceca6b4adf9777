"""Errors are exceptions; the edges (web, API, CLI) turn them into messages once."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A refusal a user can understand and act on."""

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(ApplicationError):
    """The object does not exist *or* the caller may not see it: the two look the same."""


class ValidationFailed(ApplicationError):
    """Input broke a rule."""


class PermissionDenied(ApplicationError):
    """The caller may not do this (used where hiding the object's existence is not needed)."""


class Conflict(ApplicationError):
    """The request clashes with the current state (e.g. data already present)."""
