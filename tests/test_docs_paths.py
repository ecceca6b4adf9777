"""Every page and API path the app answers is in the README (and every API path in the
registry guide's endpoint table), so the lists there cannot fall behind the URL conf."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from django.urls import URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "guide" / "registry-and-coverage.md").read_text(encoding="utf-8")


def _routes(patterns: list[object], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route


def _as_written(route: str) -> str:
    """``persons/<int:person_id>/`` as the docs write it: ``persons/<id>/``."""
    route = re.sub(r"errors\.<str:\w+>", "errors.csv", route)
    route = re.sub(r"<int:\w+>", "<id>", route)
    return re.sub(r"<str:(\w+)>", r"<\1>", route)


def test_every_page_and_api_path_is_documented():
    routes = [_as_written(r) for r in _routes(get_resolver().url_patterns)]
    api = [r.removeprefix("api/v1/") for r in routes if r.startswith("api/v1/")]
    pages = [r for r in routes if not r.startswith("api/")]
    assert api and pages
    assert [p for p in pages if f"`/{p}" not in README] == []
    assert [a for a in api if f"`{a}`" not in README] == []
    assert [a for a in api if f"| `{a}` |" not in GUIDE] == []
    assert "`/api/schema`" in README
