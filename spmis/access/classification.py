"""The security classification of every field of every model, and masking by clearance.

A field is shown to a user only if its level is at or below the user's clearance. The test
suite fails when any model field is missing here, so a new field cannot ship unclassified.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from spmis.access.models import Clearance, User

S = Clearance.SECRET  # what an unclassified field is treated as


def _levels(**by_level: str) -> dict[str, Clearance]:
    """_levels(P="a b", C="c") -> {"a": PUBLIC, "b": PUBLIC, "c": CONFIDENTIAL}."""
    level = {"P": Clearance.PUBLIC, "I": Clearance.INTERNAL, "C": Clearance.CONFIDENTIAL,
             "S": Clearance.SECRET}
    return {name: level[key] for key, names in by_level.items() for name in names.split()}


CLASSIFICATION: dict[str, dict[str, Clearance]] = {
    # Framework tables: credentials and session contents are secret.
    "auth.Permission": _levels(I="id name content_type codename"),
    "auth.Group": _levels(I="id name permissions"),
    "contenttypes.ContentType": _levels(I="id app_label model"),
    "sessions.Session": _levels(S="session_key session_data", I="expire_date"),
    "access.User": _levels(
        S="password", C="email first_name last_name last_login date_joined",
        I="id username is_superuser is_staff is_active clearance groups user_permissions "
          "failed_logins locked_until language",
    ),
    "access.TOTPDevice": _levels(S="secret", I="id user created_at confirmed_at "
                                               "last_used_step"),
    "access.UserSession": _levels(S="session_key", I="id user created_at"),
    "access.ApiToken": _levels(S="prefix key_hash", I="id user created_at expires_at revoked_at "
                                                     "last_used_at"),
    "access.RoleAssignment": _levels(I="id user role area all_schemes granted_at valid_until "
                                       "schemes"),
    "access.IncompatibleRoles": _levels(P="id role_a role_b reason"),
    "access.ApprovalRequest": _levels(I="id object_type object_id action maker approver_role "
                                        "area policy required status created_at decided_at"),
    "access.ApprovalDecision": _levels(I="id request checker approve decided_at",
                                       C="reason"),
    "audit.AuditEvent": _levels(I="id seq leaf_hash occurred_at actor actor_username action "
                                  "object_type area_code",
                                C="object_id purpose detail client_address"),
    "audit.AuditLogHead": _levels(P="id size frontier"),
    "audit.AuditCheckpoint": _levels(P="id size root note created_at"),
    "linkage.LinkageModel": _levels(I="id version spec upper lower records trained_at "
                                      "trained_by"),
    "linkage.LinkageRun": _levels(I="id model source started_at finished_at actor counts"),
    "linkage.Link": _levels(I="id run match_probability match_weight state decided_at "
                              "pending_state request prior_state pending_effect",
                            C="person_l person_r weights decided_by reason pending_reason "
                              "pending_by"),
    "schemes.IncompatibleSchemes": _levels(P="id scheme_a scheme_b reason"),
    "linkage.PersonIdentity": _levels(C="person identity run"),
    "linkage.Cut": _levels(I="id decision kind", C="person_l person_r"),
    "linkage.VerificationFlag": _levels(I="id reason_code registry raised_at due_on state "
                                          "scheme decided_at",
                                        C="person evidence detail decided_by outcome fact"),
    # Published figures: aggregates (small cells are for disclosure control to handle).
    "indicators.IndicatorRun": _levels(I="id period started_at finished_at actor lineage "
                                         "counts"),
    "indicators.IndicatorValue": _levels(I="id run indicator area_code area_level sex "
                                           "age_band disability scheme numerator denominator value "
                                           "obs_status note"),
    "indicators.Benchmark": _levels(P="id code name amount_minor currency valid_from valid_to "
                                      "source"),
    "indicators.Target": _levels(P="id indicator area_code year value source"),
    "indicators.Survey": _levels(I="id name year file_name file_sha256 columns benefit_amounts "
                                   "benchmark benchmark_text variance respondents persons "
                                   "saved_at actor"),
    "indicators.SurveyEstimate": _levels(I="id survey measure value ci_low ci_high n numerator "
                                           "denominator"),
    "geography.AreaLevel": _levels(P="level name"),
    "geography.Area": _levels(P="id code name level parent path is_urban"),
    "geography.AreaBoundary": _levels(P="area geometry west south east north source"),
    "geography.PopulationDenominator": _levels(P="id area year sex age_from age_to population "
                                                 "source"),
    "intake.Source": _levels(P="id code name institution kind area schemes schedule "
                               "deadline_days policy error_threshold", I="contact"),
    "intake.Mapping": _levels(I="id source version text created_at created_by"),
    "intake.Submission": _levels(I="id source period status content_hash filename file_format "
                                   "mapping rows_total rows_loaded rows_rejected message "
                                   "supersedes received_at created_by withdraw_request "
                                   "withdraw_reason withdrawn_at stage steps worker "
                                   "heartbeat_at attempts"),
    # A file waiting for its load: any field of a person record, disability and income too.
    "intake.SubmissionFile": _levels(I="submission", S="data"),
    # A changed row's values before: any field of a person record, disability and income too.
    "intake.ChangedRow": _levels(I="id submission table row_id", S="before"),
    "intake.PeriodApproval": _levels(I="id area period state request reason updated_at"),
    "intake.DataElement": _levels(P="id code name description value_type disaggregation"),
    "intake.AggregateValue": _levels(I="id source area period element category_option_combo "
                                       "value submission entered_by entered_at"),
    # The error report quotes cell values, which may be anyone's personal data.
    "intake.SubmissionIssue": _levels(I="id submission row column rule message", C="value"),
    "schemes.Scheme": _levels(P="id code name managing_institution function guarantee "
                                "contributory means_tested benefit_nature periodicity "
                                "legal_basis currency description income_threshold_minor "
                                "eligible_age_from eligible_age_to eligible_sex "
                                "eligible_disability_from social_assistance "
                                "covers_employment_injury"),
    # Person data: identity is confidential, health (disability) is secret.
    "registry.Household": _levels(I="id source source_ref area registered_on "
                                    "created_by_submission changed_by_submission", C="address"),
    "registry.Person": _levels(
        I="id source source_ref sex area household relationship_to_head registered_on "
          "created_by_submission changed_by_submission",
        C="national_id given_name family_name date_of_birth date_of_death",
        S="disability_level annual_income_minor",
    ),
    "schemes.Enrolment": _levels(I="id source source_ref person scheme status start_date "
                                   "end_date created_by_submission changed_by_submission"),
    "payments.BenefitPayment": _levels(I="id source source_ref person scheme period currency "
                                         "paid_on created_by_submission changed_by_submission",
                                       C="amount_minor"),
}


def field_level(model: type[models.Model], field: str) -> Clearance:
    try:
        return CLASSIFICATION[model._meta.label][field]
    except KeyError:
        # Unclassified data is treated as the most sensitive, never the least.
        return S


def masked_fields(*, user: User, model: type[models.Model]) -> frozenset[str]:
    """Fields of ``model`` above ``user``'s clearance."""
    levels = CLASSIFICATION.get(model._meta.label, {})
    names = {f.name for f in model._meta.get_fields() if f.concrete or f.many_to_many}
    return frozenset(n for n in names if levels.get(n, S) > user.clearance)


def mask(*, user: User, model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (keyed by model field name) with fields above the clearance set to None."""
    hidden = masked_fields(user=user, model=model)
    return {k: (None if k in hidden else v) for k, v in values.items()}
