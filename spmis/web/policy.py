"""Who may open each route: the table the access matrix test is generated from.

Every named route must be listed; a new route without an entry fails the suite. Kinds:
``public`` needs no login; ``any`` any logged-in user; ``page`` the permission, else 403;
``object`` the permission and the object inside the user's scope, else 404 (the same answer as
a missing object); ``list`` results only from inside the scope of the permission (no 403: an
empty scope lists nothing); ``scoped`` the permission, else 403, and results only from inside
the scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from spmis.access.policy import Permission


@dataclass(frozen=True)
class RoutePolicy:
    kind: str
    permission: Permission | None = None


P = Permission
ROUTE_POLICY: dict[str, RoutePolicy] = {
    "api-schema": RoutePolicy("public"),
    "web:login": RoutePolicy("public"),
    "web:mfa-verify": RoutePolicy("public"),
    "web:mfa-setup": RoutePolicy("public"),
    "web:logout": RoutePolicy("public"),
    "web:home": RoutePolicy("any"),
    "web:scheme-list": RoutePolicy("any"),
    "web:scheme-detail": RoutePolicy("any"),
    "api:area-list": RoutePolicy("any"),
    "api:area-detail": RoutePolicy("any"),
    "api:scheme-list": RoutePolicy("any"),
    "api:scheme-detail": RoutePolicy("any"),
    "web:person-search": RoutePolicy("list", P.VIEW_PERSONS),
    "api:person-list": RoutePolicy("list", P.VIEW_PERSONS),
    "api:enrolment-list": RoutePolicy("list", P.VIEW_PERSONS),
    "web:person-detail": RoutePolicy("object", P.VIEW_PERSONS),
    "web:household-detail": RoutePolicy("object", P.VIEW_PERSONS),
    "api:person-detail": RoutePolicy("object", P.VIEW_PERSONS),
    "api:household-detail": RoutePolicy("object", P.VIEW_PERSONS),
    "web:audit-log": RoutePolicy("page", P.VIEW_AUDIT),
    "api:audit-list": RoutePolicy("page", P.VIEW_AUDIT),
    "web:access-review": RoutePolicy("page", P.REVIEW_ACCESS),
    "web:reporting-rates": RoutePolicy("page", P.VIEW_COVERAGE),
    "web:indicators": RoutePolicy("scoped", P.VIEW_COVERAGE),
    # National aggregates of a sample, not scoped by area: the coverage permission, else 403.
    "web:survey-errors": RoutePolicy("page", P.VIEW_COVERAGE),
    "web:submission-list": RoutePolicy("page", P.VIEW_COVERAGE),
    "web:submission-detail": RoutePolicy("object", P.VIEW_COVERAGE),
    "web:submission-errors": RoutePolicy("object", P.VIEW_COVERAGE),
    "web:submission-upload": RoutePolicy("page", P.SUBMIT_DATA),
    "web:aggregate-entry": RoutePolicy("page", P.SUBMIT_DATA),
    "api:submission-list": RoutePolicy("list", P.VIEW_COVERAGE),
    "api:submission-detail": RoutePolicy("object", P.VIEW_COVERAGE),
    "web:linkage_review": RoutePolicy("scoped", P.REGISTER_PERSONS),
    "web:linkage_review_pair": RoutePolicy("object", P.REGISTER_PERSONS),
    "web:crosscheck-flags": RoutePolicy("scoped", P.REGISTER_PERSONS),
    "web:crosscheck-flag": RoutePolicy("object", P.REGISTER_PERSONS),
}
