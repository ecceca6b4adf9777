"""Cross-checks against authoritative registries: verification flags with reason codes.

A registry (a source of kind AUTHORITATIVE_REGISTRY, loaded through intake like any other) is
matched to the rest of the registry by identity (linkage) and by national ID. Every record of
a person the civil registry says has died is checked for enrolments still active and
payments for periods after the death; every record of a person whose income (tax records)
is above a means-tested scheme's threshold, for an active enrolment in that scheme. Each
finding becomes a verification flag with a deadline, decided by an officer: confirmed (the
enrolment is exited) or dismissed with a reason. All set-wise: frames from a handful of
queries, joins in Polars.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from spmis.access.models import User
from spmis.access.services import permission_require
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.bulk import bulk_insert
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from spmis.intake.models import Source, SourceKind
from spmis.linkage.graph import components_of
from spmis.linkage.models import (
    JOINING,
    Cut,
    FlagReason,
    FlagState,
    Link,
    LinkState,
    PersonIdentity,
    VerificationFlag,
)
from spmis.linkage.selectors import FLAG_PERMISSION, flag_in_scope
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment, EnrolmentStatus, IncompatibleSchemes, Scheme
from spmis.schemes.services import enrolments_exit

DEADLINE_DAYS = 30
ID_CHUNK = 10_000


def crosscheck_run(*, actor: User | None, registry_code: str) -> dict[str, int]:
    """Raise flags for the deaths in ``registry_code``; flags already open are not repeated."""
    registry = Source.objects.filter(code=registry_code).first()
    if registry is None:
        raise NotFound(f"No source with code {registry_code!r}.")
    if registry.kind != SourceKind.AUTHORITATIVE_REGISTRY:
        raise ValidationFailed(f"{registry_code} is not an authoritative registry "
                               f"(its kind is {registry.kind}).")
    facts = _facts(registry)
    matched = _matched_records(facts, registry)
    dead = matched.filter(pl.col("date_of_death").is_not_null())
    findings = pl.concat([_paid_after_death(dead), _enrolled_after_death(dead),
                          _income_above_threshold(matched)], how="diagonal_relaxed")
    with transaction.atomic():
        new = _raise(findings, registry)
        counts = {"deaths_in_registry": facts["date_of_death"].count(),
                  "incomes_in_registry": facts["annual_income_minor"].count(),
                  "records_matched": matched["person_id"].n_unique(),
                  **_counted(new)}
        audit_record(actor=actor, action=AuditAction.CROSSCHECK_RUN, object_type="source",
                     object_id=registry.pk, detail={"registry": registry_code, **counts})
    return counts


def crosscheck_internal(*, actor: User | None) -> dict[str, int]:
    """The registry's own checks over identities: a person enrolled twice in one scheme (two
    records), or in two schemes declared incompatible (double dipping)."""
    active = pl.DataFrame(
        list(Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE).values_list(
            "person_id", "scheme_id", "person__identity__identity")),
        schema={"person_id": pl.Int64, "scheme_id": pl.Int64, "identity": pl.Int64},
        orient="row").with_columns(pl.col("identity").fill_null(pl.col("person_id")))
    twice = active.with_columns(
        evidence_id=pl.col("person_id").min().over("identity", "scheme_id")).filter(
        pl.col("person_id") != pl.col("evidence_id")).select(
        "person_id", "scheme_id", "evidence_id",
        reason_code=pl.lit(FlagReason.DUPLICATE_ENROLMENT.value),
        detail=pl.struct(identity="identity").struct.json_encode(),
        fact=pl.format("record {}", "evidence_id"))
    pairs = pl.DataFrame(list(IncompatibleSchemes.objects.values_list("scheme_a_id",
                                                                      "scheme_b_id")),
                         schema={"a": pl.Int64, "b": pl.Int64}, orient="row")
    both = (active.join(pairs, left_on="scheme_id", right_on="b")
            .join(active.select("identity", evidence_id="person_id", a="scheme_id"),
                  on=["identity", "a"])
            .group_by("person_id", "scheme_id").agg(pl.col("evidence_id").min(),
                                                    pl.col("a").min())
            .select("person_id", "scheme_id", "evidence_id",
                    reason_code=pl.lit(FlagReason.DOUBLE_DIPPING.value),
                    detail=pl.struct(incompatible_with_scheme="a").struct.json_encode(),
                    fact=pl.format("scheme {}", "a")))
    with transaction.atomic():
        new = _raise(pl.concat([twice, both]), None)
        counts = {"active_enrolments": active.height, **_counted(new)}
        audit_record(actor=actor, action=AuditAction.CROSSCHECK_INTERNAL, object_type="registry",
                     detail=counts)
    return counts


def _raise(findings: pl.DataFrame, registry: Source | None) -> pl.DataFrame:
    """Insert the findings not yet raised as flags; returns what was inserted. A flag's key
    is its person, reason, scheme and fact (a date of death, an income year, the other
    record): a flag open, dismissed or confirmed is not raised again for the same fact; a new
    fact raises a new flag."""
    key = ["person_id", "reason_code", "scheme_id", "fact"]
    raised = pl.DataFrame(
        list(VerificationFlag.objects.values_list(*key)),
        schema={"person_id": pl.Int64, "reason_code": pl.String, "scheme_id": pl.Int64,
                "fact": pl.String}, orient="row")
    if findings.height == 0:
        return findings.with_columns(reason_code=pl.lit("", pl.String)).head(0)
    new = findings.unique(key, keep="first", maintain_order=True).join(
        raised, on=key, how="anti", nulls_equal=True)
    now = clock.now()
    bulk_insert(VerificationFlag, new.select(
        "person_id", "scheme_id", "reason_code", "evidence_id",
        registry_id=pl.lit(registry.pk if registry else None, pl.Int64), detail="detail",
        raised_at=pl.lit(now), due_on=pl.lit(now.date() + dt.timedelta(days=DEADLINE_DAYS)),
        state=pl.lit(FlagState.OPEN.value), decided_by_id=pl.lit(None, pl.Int64),
        decided_at=pl.lit(None, pl.Datetime("us", "UTC")), outcome=pl.lit(""), fact="fact"))
    return new


def _counted(new: pl.DataFrame) -> dict[str, int]:
    return {"flags_raised": new.height,
            **{f"flags_{code.lower()}": n for code, n in new.group_by("reason_code").len()
               .sort("reason_code").iter_rows()}}


def _facts(registry: Source) -> pl.DataFrame:
    """The registry's records that say something: a death, or a yearly income."""
    rows = Person.objects.filter(source=registry).exclude(
        date_of_death__isnull=True, annual_income_minor__isnull=True).values_list(
        "id", "national_id", "date_of_death", "annual_income_minor",
        "changed_by_submission__period", "created_by_submission__period", "registered_on")
    return pl.DataFrame(list(rows), orient="row", schema={
        "evidence_id": pl.Int64, "national_id": pl.String, "date_of_death": pl.Date,
        "annual_income_minor": pl.Int64, "changed": pl.Date, "created": pl.Date,
        "registered": pl.Date}).select(
        "evidence_id", "national_id", "date_of_death", "annual_income_minor",
        # The year the income is for: of the file that last brought it.
        income_year=pl.coalesce("changed", "created", "registered").dt.year())


def _matched_records(facts: pl.DataFrame, registry: Source) -> pl.DataFrame:
    """Other sources' records of the same persons, never on a weak link: the registry's
    record and the other are in one identity (linkage) and joined by at most one automatic
    link, the rest of the way by shared national IDs and matches a reviewer confirmed; or
    they carry the same national ID (a pair a reviewer refused excepted). So the living twin
    linked to the dead one's record is not taken for them through it."""
    identity = pl.DataFrame(list(PersonIdentity.objects.values_list("person_id", "identity")),
                            schema={"person_id": pl.Int64, "identity": pl.Int64}, orient="row")
    persons = pl.DataFrame(
        list(Person.objects.values_list("id", "national_id", "source_id")),
        schema={"person_id": pl.Int64, "national_id": pl.String, "source_id": pl.Int64},
        orient="row")
    others = persons.filter(pl.col("source_id") != registry.pk).select(
        "person_id", "national_id")
    strong = _strong_groups(persons)
    links = _pairs(Link.objects.filter(Q(state__in=JOINING) | Q(
        state=LinkState.UNSURE, prior_state__in=JOINING)))
    # Strong groups one automatic link apart (both ways), and each group itself.
    near = pl.concat([links, links.select(a="b", b="a")]).join(
        strong.rename({"person_id": "a", "group": "ga"}), on="a").join(
        strong.rename({"person_id": "b", "group": "gb"}), on="b").select("ga", "gb")
    near = pl.concat([near, strong.select(ga="group", gb="group")]).unique()
    carried = ["person_id", "evidence_id", "date_of_death", "annual_income_minor",
               "income_year"]
    by_identity = (facts.join(identity.rename({"person_id": "evidence_id"}), on="evidence_id")
                   .join(strong.rename({"person_id": "evidence_id", "group": "ga"}),
                         on="evidence_id")
                   .join(near, on="ga")
                   .join(strong.rename({"group": "gb"}), on="gb")
                   .join(identity, on=["person_id", "identity"])
                   .join(others.select("person_id"), on="person_id")
                   .select(*carried, how=pl.lit("identity")))
    refused = pl.concat([_pairs(Link.objects.filter(Q(state=LinkState.NON_MATCH) | Q(
        state=LinkState.UNSURE, prior_state=LinkState.NON_MATCH))), _pairs(Cut.objects.all())])
    by_id = (facts.filter(pl.col("national_id").is_not_null())
             .join(others, on="national_id")
             .with_columns(a=pl.min_horizontal("person_id", "evidence_id"),
                           b=pl.max_horizontal("person_id", "evidence_id"))
             .join(refused, on=["a", "b"], how="anti")
             .select(*carried, how=pl.lit("national_id")))
    return pl.concat([by_identity, by_id]).unique(["person_id"], keep="first",
                                                  maintain_order=True)


def _pairs(links: QuerySet[Any]) -> pl.DataFrame:
    return pl.DataFrame(list(links.values_list("person_l_id", "person_r_id")),
                        schema={"a": pl.Int64, "b": pl.Int64}, orient="row")


def _strong_groups(persons: pl.DataFrame) -> pl.DataFrame:
    """Records held together by shared national IDs and confirmed matches: (person, group)."""
    by_id = persons.filter(pl.col("national_id").is_not_null()).with_columns(
        first=pl.col("person_id").min().over("national_id")).select(a="first", b="person_id")
    confirmed = _pairs(Link.objects.filter(Q(state=LinkState.MATCH) | Q(
        state=LinkState.UNSURE, prior_state=LinkState.MATCH)))
    labels = components_of(persons["person_id"], pl.concat([by_id, confirmed]))
    return pl.DataFrame({"person_id": persons["person_id"], "group": labels})


def _for_persons(rows: QuerySet[Any], ids: list[int], *fields: str) -> list[tuple[Any, ...]]:
    """Rows of ``rows`` for these persons, asked in chunks (SQLite limits parameters)."""
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), ID_CHUNK):
        found += rows.filter(person_id__in=ids[start:start + ID_CHUNK]).values_list(*fields)
    return found


def _paid_after_death(matched: pl.DataFrame) -> pl.DataFrame:
    ids = matched["person_id"].to_list()
    paid = pl.DataFrame(
        _for_persons(BenefitPayment.objects.all(), ids,
                     "person_id", "scheme_id", "period", "amount_minor"),
        schema={"person_id": pl.Int64, "scheme_id": pl.Int64, "period": pl.Date,
                "amount_minor": pl.Int64}, orient="row")
    after = paid.join(matched, on="person_id").filter(
        pl.col("period") > pl.col("date_of_death").dt.month_start())
    return after.group_by("person_id", "scheme_id", "evidence_id", "date_of_death", "how").agg(
        periods=pl.col("period").count(), amount_minor=pl.col("amount_minor").sum(),
        first=pl.col("period").min()).select(
        "person_id", "scheme_id", "evidence_id",
        reason_code=pl.lit(FlagReason.DECEASED_PAID.value),
        detail=_detail(periods_paid_after_death="periods", amount_minor="amount_minor",
                       first_period=pl.col("first").dt.strftime("%Y-%m")), fact=_death())


def _enrolled_after_death(matched: pl.DataFrame) -> pl.DataFrame:
    ids = matched["person_id"].to_list()
    active = pl.DataFrame(
        _for_persons(Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE), ids,
                     "person_id", "scheme_id"),
        schema={"person_id": pl.Int64, "scheme_id": pl.Int64}, orient="row")
    return active.join(matched, on="person_id").select(
        "person_id", "scheme_id", "evidence_id",
        reason_code=pl.lit(FlagReason.DECEASED_ENROLLED.value), detail=_detail(),
        fact=_death())


def _income_above_threshold(matched: pl.DataFrame) -> pl.DataFrame:
    earning = matched.filter(pl.col("annual_income_minor").is_not_null())
    thresholds = pl.DataFrame(
        list(Scheme.objects.filter(income_threshold_minor__isnull=False).values_list(
            "id", "income_threshold_minor")),
        schema={"scheme_id": pl.Int64, "threshold": pl.Int64}, orient="row")
    active = pl.DataFrame(
        _for_persons(Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE),
                     earning["person_id"].to_list(), "person_id", "scheme_id"),
        schema={"person_id": pl.Int64, "scheme_id": pl.Int64}, orient="row")
    return (active.join(thresholds, on="scheme_id").join(earning, on="person_id")
            .filter(pl.col("annual_income_minor") > pl.col("threshold"))
            .select("person_id", "scheme_id", "evidence_id",
                    reason_code=pl.lit(FlagReason.INCOME_ABOVE_THRESHOLD.value),
                    detail=pl.struct(annual_income_minor="annual_income_minor",
                                     threshold_minor="threshold", income_year="income_year",
                                     matched_by="how").struct.json_encode(),
                    fact=pl.format("income {}", "income_year")))


def _death() -> pl.Expr:
    return pl.format("death {}", pl.col("date_of_death").dt.strftime("%Y-%m-%d"))


def _detail(**extra: str | pl.Expr) -> pl.Expr:
    fields = {"date_of_death": pl.col("date_of_death").dt.strftime("%Y-%m-%d"),
              "matched_by": pl.col("how"), **extra}
    return pl.struct([(pl.col(v) if isinstance(v, str) else v).alias(k)
                      for k, v in fields.items()]).struct.json_encode()


def flag_decide(*, actor: User | None, flag_id: int, confirm: bool,
                outcome: str) -> VerificationFlag:
    """Confirm (the scheme's enrolment is exited at the date of death) or dismiss a flag."""
    if not outcome.strip():
        raise ValidationFailed(_("Say what was found: an outcome is required."))
    if actor is not None:
        permission_require(user=actor, permission=FLAG_PERMISSION,
                           doing="decide verification flags")
        if not flag_in_scope(user=actor, flag_id=flag_id):
            audit_record(actor=actor, action=AuditAction.CROSSCHECK_VIEW_REFUSED,
                         object_type="verification_flag", object_id=flag_id,
                         detail={"exists": VerificationFlag.objects.filter(
                             pk=flag_id).exists(), "decision": True})
            raise NotFound(f"No verification flag {flag_id}.")
    with transaction.atomic():
        flag = VerificationFlag.objects.select_for_update().filter(pk=flag_id).first()
        if flag is None:
            raise NotFound(f"No verification flag {flag_id}.")
        if flag.state != FlagState.OPEN:
            raise Conflict(_("Flag %(n)s is already %(state)s.") % {
                "n": flag_id, "state": FlagState(flag.state).label})
        flag.state = FlagState.CONFIRMED if confirm else FlagState.DISMISSED
        flag.decided_by, flag.decided_at, flag.outcome = actor, clock.now(), outcome[:400]
        flag.save()
        exited = 0
        if confirm and flag.scheme_id is not None:
            # A death exits at its date (an enrolment begun after it, on its own start date:
            # see enrolments_exit); a duplicate or double dipping from today.
            died = Person.objects.get(pk=flag.evidence_id).date_of_death or clock.today()
            exited = enrolments_exit(actor=actor, person_id=flag.person_id,
                                     scheme_id=flag.scheme_id, end_date=died,
                                     reason=f"flag {flag.pk} {flag.reason_code} confirmed")
        audit_record(actor=actor, action=AuditAction.CROSSCHECK_DECIDE, object_type="person",
                     object_id=flag.person_id, detail={"flag": flag.pk, "state": flag.state,
                                                       "reason": flag.reason_code,
                                                       "enrolments_exited": exited})
    return flag
