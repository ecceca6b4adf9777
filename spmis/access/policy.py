"""The shipped role catalogue: what each role may do. Scopes (areas, schemes) limit where.

Separation of duties is enforced twice: this catalogue gives no role both sides of a separated
pair of permissions, and ``IncompatibleRoles`` rows stop one user holding both roles.
"""

from __future__ import annotations

from enum import StrEnum

from spmis.access.models import Role


class Permission(StrEnum):
    VIEW_PERSONS = "view_persons"  # person-level registry data
    VIEW_COVERAGE = "view_coverage"  # aggregate figures
    VIEW_SCHEMES = "view_schemes"  # the scheme catalogue
    VIEW_AUDIT = "view_audit"  # search the audit log
    REVIEW_ACCESS = "review_access"  # the access review
    MANAGE_ACCESS = "manage_access"  # grant and revoke roles, disable users
    SUBMIT_DATA = "submit_data"  # collection: send a submission
    RECORD_DATA = "record_data"  # recording: load a submission into the registry
    MANAGE_SOURCES = "manage_sources"  # register and edit sources (data providers)
    REGISTER_PERSONS = "register_persons"  # create or edit persons and households
    TARGET = "target"  # eligibility rules, targeting lists
    # Deciding linkage pairs (are two records one person?): the registrar who keeps the records
    # and the targeting officer who must not count one person twice.
    REVIEW_LINKAGE = "review_linkage"
    APPROVE = "approve"  # checker in maker-checker workflows
    PAY = "pay"  # payment cycles and payroll
    HANDLE_GRIEVANCES = "handle_grievances"
    REVIEW_APPEALS = "review_appeals"


# Permissions that must never meet in one role (and, through IncompatibleRoles, in one user).
SEPARATED = [
    (Permission.REGISTER_PERSONS, Permission.TARGET),
    (Permission.SUBMIT_DATA, Permission.RECORD_DATA),
    # Whoever sends data does not also set what their source may send and how it is checked.
    (Permission.SUBMIT_DATA, Permission.MANAGE_SOURCES),
    (Permission.HANDLE_GRIEVANCES, Permission.REVIEW_APPEALS),
    (Permission.MANAGE_ACCESS, Permission.VIEW_PERSONS),
]

_READ = {Permission.VIEW_PERSONS, Permission.VIEW_COVERAGE, Permission.VIEW_SCHEMES}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.DATA_COLLECTOR: frozenset(_READ | {Permission.SUBMIT_DATA}),
    Role.REGISTRAR: frozenset(_READ | {Permission.RECORD_DATA, Permission.REGISTER_PERSONS,
                                       Permission.MANAGE_SOURCES, Permission.REVIEW_LINKAGE}),
    Role.TARGETING_OFFICER: frozenset(_READ | {Permission.TARGET, Permission.REVIEW_LINKAGE}),
    Role.APPROVER: frozenset(_READ | {Permission.APPROVE}),
    Role.SCHEME_MANAGER: frozenset(_READ),
    Role.PAYMENT_OFFICER: frozenset(_READ | {Permission.PAY}),
    Role.GRIEVANCE_OFFICER: frozenset(_READ | {Permission.HANDLE_GRIEVANCES}),
    Role.APPEAL_REVIEWER: frozenset(_READ | {Permission.REVIEW_APPEALS}),
    Role.STATISTICIAN: frozenset({Permission.VIEW_COVERAGE, Permission.VIEW_SCHEMES}),
    Role.AUDITOR: frozenset(_READ | {Permission.VIEW_AUDIT, Permission.REVIEW_ACCESS}),
    Role.SECURITY_ADMIN: frozenset({Permission.VIEW_SCHEMES, Permission.VIEW_AUDIT,
                                    Permission.REVIEW_ACCESS, Permission.MANAGE_ACCESS}),
    Role.SYSTEM_ADMIN: frozenset({Permission.VIEW_SCHEMES}),
}


def roles_with(permission: Permission) -> list[str]:
    return sorted(role for role, perms in ROLE_PERMISSIONS.items() if permission in perms)
