"""Every action the audit log records, with what it means: the one list of them.

An entry's ``action`` column holds the value (``person.view``); ``audit_record`` refuses any
action not listed here, and the access and audit guide's table is checked against this list.
Each meaning is marked for translation (``gettext_noop``: stored in English, translated where a
page shows it, e.g. the audit search's action picker).
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_noop as _


class AuditAction(StrEnum):
    meaning: str

    def __new__(cls, value: str, meaning: str) -> AuditAction:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    @classmethod
    def of(cls, value: str) -> AuditAction:
        """The action stored as ``value``; ValueError for one outside the catalogue."""
        member = cls._value2member_map_.get(value)
        if not isinstance(member, AuditAction):
            raise ValueError(f"{value!r} is not an audit action (spmis.audit.actions).")
        return member

    # Sign-in and tokens
    AUTH_LOGIN = "auth.login", _("A user signed in (password and second factor passed).")
    AUTH_LOGIN_FAILED = "auth.login_failed", _("A sign-in was refused: wrong password or unknown "
        "user (detail: the username typed).")
    AUTH_LOCKED = "auth.locked", _("An account locked after failed sign-ins, and each attempt "
        "refused while locked.")
    AUTH_LOGOUT = "auth.logout", _("A user signed out.")
    AUTH_TOKEN_REFUSED = "auth.token_refused", _("An API token was refused (detail: why: unknown "
        "or forged, expired, revoked, or its user disabled or locked).")
    API_TOKEN_ISSUE = "api_token.issue", _("An API token was issued to a user (detail: its "
        "expiry; earlier tokens revoked).")
    API_TOKEN_REVOKE = "api_token.revoke", _("A user's API tokens were revoked.")
    MFA_ENROL = "mfa.enrol", _("A user enrolled an authenticator app.")
    MFA_VERIFY = "mfa.verify", _("A second-factor code was accepted.")
    MFA_FAILED = "mfa.failed", _("A second-factor code was refused.")
    MFA_RESET = "mfa.reset", _("A user's authenticator was removed so they enrol a new one.")
    # Users, roles and approvals
    USER_CREATE = "user.create", _("A user account was created.")
    USER_DISABLE = "user.disable", _("A user was disabled; their sessions and tokens ended.")
    USER_SIGN_OUT = "user.sign_out", _("A user's web sessions were ended and API tokens revoked "
        "from the access review (detail: how many of each).")
    USER_CLEARANCE = "user.clearance", _("A user's security clearance was changed.")
    USER_LANGUAGE = "user.language", _("A user chose their own interface language (detail: from, "
        "to).")
    ROLE_ASSIGN = "role.assign", _("A role was granted (detail: role and schemes; where: the "
        "area).")
    ROLE_REVOKE = "role.revoke", _("A role was taken back.")
    APPROVAL_REQUEST = "approval.request", _("A maker asked for a checker's approval.")
    APPROVAL_DECIDE = "approval.decide", _("A checker approved or rejected a request.")
    ACCESS_DENIED = "access.denied", _("A page, API or action the user's roles do not open "
        "(object: the path).")
    RATE_LIMITED = "access.rate_limited", _("Requests went over a rate limit and were refused "
        "with 429 (once per limit, counter and minute; detail: counted per user, username or "
        "address, and the limit a minute).")
    ACCESS_REVIEW = "access.review", _("The access review (roles, dormant accounts) was read.")
    AUDIT_SEARCH = "audit.search", _("The audit log was searched (which filters, not values).")
    AUDIT_EXPORT = "audit.export", _("The audit log was exported as CSV (detail: the filters "
        "used, not values, and the number of rows).")
    AUDIT_CHECKPOINT = "audit.checkpoint", _("The log's tree head was signed.")
    # Registry reads
    PERSON_SEARCH = "person.search", _("Persons were searched on a page or the API (detail: the "
        "fields used, never their values).")
    PERSON_VIEW = "person.view", _("A person's record was read.")
    PERSON_VIEW_REFUSED = "person.view_refused", _("A person's record was asked for outside the "
        "user's scope (or does not exist).")
    HOUSEHOLD_VIEW = "household.view", _("A household's record was read.")
    HOUSEHOLD_VIEW_REFUSED = "household.view_refused", _("A household was asked for outside the "
        "user's scope (or does not exist).")
    ENROLMENT_SEARCH = "enrolment.search", _("Enrolments were listed through the API.")
    PAYMENT_SEARCH = "payment.search", _("Payments were listed through the API (detail: the "
        "filters used, never their values).")
    PAYMENT_VIEW = "payment.view", _("A payment was read through the API.")
    PAYMENT_VIEW_REFUSED = "payment.view_refused", _("A payment was asked for outside the user's "
        "scope (or does not exist).")
    # Schemes and the country
    SCHEME_CRITERIA_SET = "scheme.criteria_set", _("A scheme's declared eligibility criteria were "
        "set (before and after).")
    ENROLMENT_EXIT = "enrolment.exit", _("A person's enrolment in a scheme was ended (detail: the "
        "date and the decision's reason).")
    COUNTRY_SYNTHESISE = "country.synthesise", _("A synthetic country was generated and loaded.")
    BOUNDARIES_LOAD = "boundaries.load", _("Area boundaries were loaded from a GeoJSON file or "
        "shapefile (detail: the file's name and SHA-256, how many areas, at which levels).")
    # Intake
    SOURCE_CREATE = "source.create", _("A data provider (source) was registered.")
    SOURCE_EDIT = "source.edit", _("A source's settings were changed (detail: each changed field, "
        "before and after).")
    MAPPING_SAVE = "mapping.save", _("A source's mapping was saved as its next version.")
    SUBMISSION_LOAD = "submission.load", _("A submission's valid rows were loaded.")
    SUBMISSION_REFUSE = "submission.refuse", _("A submission was refused as a whole.")
    SUBMISSION_QUEUE = "submission.queue", _("A file was received to be checked and loaded in "
        "the background (its load or refusal is audited when it ends).")
    SUBMISSION_FAIL = "submission.fail", _("A submission's background load stopped with an "
        "error; nothing of it was loaded (detail: the reason).")
    SUBMISSION_RETRY = "submission.retry", _("A failed or stalled submission was queued to be "
        "loaded again.")
    SUBMISSION_VIEW = "submission.view", _("A submission's page was read (its issues' values only "
        "as far as the reader's scope and clearance allow).")
    SUBMISSION_ERROR_REPORT = "submission.error_report", _("A submission's error report was "
        "downloaded.")
    SUBMISSION_WITHDRAW_REQUEST = "submission.withdraw_request", _("Someone asked, with a reason, "
        "for a loaded submission to be withdrawn.")
    SUBMISSION_WITHDRAW = "submission.withdraw", _("A submission was withdrawn: the rows it "
        "created deleted, those it changed restored (detail: counts).")
    SUBMISSION_WITHDRAW_REJECT = "submission.withdraw_reject", _("A submission's withdrawal was "
        "rejected by an approver.")
    AGGREGATE_SUBMIT = "aggregate.submit", _("An aggregate return was loaded.")
    AGGREGATE_REFUSE = "aggregate.refuse", _("An aggregate return was refused.")
    PERIOD_REQUEST = "period.request", _("A district asked for a period's data to be approved.")
    PERIOD_APPROVE = "period.approve", _("A period's data were approved (locked).")
    PERIOD_REJECT = "period.reject", _("A period's data were sent back to the district.")
    PERIOD_ACCEPT = "period.accept", _("A region accepted a district's approved period.")
    PERIOD_UNAPPROVE = "period.unapprove", _("An approved period was opened again, with a reason.")
    # Linkage and cross-checks
    LINKAGE_RUN = "linkage.run", _("Person records were linked into identities.")
    LINKAGE_MODEL_TRAIN = "linkage.model_train", _("A linkage model version was trained.")
    LINKAGE_REVIEW_LIST = "linkage.review_list", _("The clerical review queue was read.")
    LINKAGE_VIEW = "linkage.view", _("A candidate pair was read in review.")
    LINKAGE_VIEW_REFUSED = "linkage.view_refused", _("A candidate pair was asked for outside the "
        "user's scope.")
    LINKAGE_DECIDE = "linkage.decide", _("A review decision on a pair took effect.")
    LINKAGE_DECIDE_REQUESTED = "linkage.decide_requested", _("A review decision awaits a checker "
        "(maker-checker).")
    CROSSCHECK_RUN = "crosscheck.run", _("Records were cross-checked against an authoritative "
        "registry.")
    CROSSCHECK_INTERNAL = "crosscheck.internal", _("The registry's own checks ran (duplicate "
        "enrolments, incompatible schemes).")
    CROSSCHECK_FLAG_LIST = "crosscheck.flag_list", _("The verification flags work list was read.")
    CROSSCHECK_VIEW = "crosscheck.view", _("A verification flag was read.")
    CROSSCHECK_VIEW_REFUSED = "crosscheck.view_refused", _("A flag was asked for outside the "
        "user's scope.")
    CROSSCHECK_DECIDE = "crosscheck.decide", _("A verification flag was confirmed or dismissed.")
    # Indicators
    INDICATORS_RUN = "indicators.run", _("Indicators were computed for a period.")
    INDICATORS_TARGET_SET = "indicators.target_set", _("An indicator target was set.")
    BENCHMARK_SET = "benchmark.set", _("A benchmark (poverty line or other parameter) was set.")
    SURVEY_SAVE = "survey.save", _("Survey-based errors were computed and saved.")


def actions_table() -> str:
    """The catalogue as a Markdown table (the access and audit guide holds it verbatim)."""
    rows = ["| action | what happened |", "|---|---|"]
    rows += [f"| `{action.value}` | {action.meaning} |" for action in AuditAction]
    return "\n".join(rows) + "\n"
