"""Factories for the core entities: one call makes one valid row, with defaults for the rest.

Plain functions: pass what the test is about, leave the rest. Every keyword that a function
does not name goes to the model as a field, so any column can still be set::

    nsr = factories.source("NSR")
    boy = factories.person(area=commune, source=nsr, sex="M", born="2016-01-01")
    factories.enrolment(boy, child_grant, source=nsr, paid=PERIOD)

References that must be unique (``source_ref``, content hashes) are numbered for you.
Users are made through the access services, as an administrator would, so that their role
assignments and audit entries are real.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from spmis.access.models import Clearance, User
from spmis.access.services import api_token_issue, role_assign, user_create
from spmis.core import clock
from spmis.geography.models import Area, AreaLevel, PopulationDenominator
from spmis.intake.models import Source, Submission, SubmissionIssue, SubmissionStatus
from spmis.linkage.models import (
    FlagReason,
    Link,
    LinkageModel,
    LinkageRun,
    LinkState,
    VerificationFlag,
)
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Household, Person
from spmis.schemes.models import Enrolment, Scheme
from tests.helpers import PASSWORD

_numbers = itertools.count(1)
AREA_LEVELS = ("Country", "Region", "District", "Commune")
DEFAULT_SOURCE = "FACTORY"


def _ref(prefix: str) -> str:
    return f"{prefix}{next(_numbers)}"


def _date(value: dt.date | str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


# --- geography -------------------------------------------------------------------------------


def area_levels(names: Iterable[str] = AREA_LEVELS) -> list[AreaLevel]:
    """The named levels of the area hierarchy, level 0 first."""
    return [AreaLevel.objects.create(level=level, name=name) for level, name in enumerate(names)]


def area(code: str, *, parent: Area | None = None, level: int | None = None,
         name: str | None = None, **fields: Any) -> Area:
    """An area under ``parent`` (the root when none); level and path follow from the parent."""
    return Area.objects.create(
        code=code, name=name or code, parent=parent,
        level=level if level is not None else (parent.level + 1 if parent else 0),
        path=(parent.path if parent else "") + code + "/", **fields)


def population(area: Area, *, year: int, sex: str, age_from: int, age_to: int | None,
               population: int, **fields: Any) -> PopulationDenominator:
    return PopulationDenominator.objects.create(area=area, year=year, sex=sex,
                                                age_from=age_from, age_to=age_to,
                                                population=population, **fields)


# --- sources and schemes ---------------------------------------------------------------------


def source(code: str = DEFAULT_SOURCE, *, kind: str = "MINISTRY", name: str | None = None,
           institution: str | None = None, area: Area | None = None,
           schemes: tuple[str, ...] = (), **fields: Any) -> Source:
    """A data provider (``kind``: MINISTRY, NGO, LOCAL_GOVERNMENT, AUTHORITATIVE_REGISTRY…)
    declaring the schemes (codes) whose rows it may send."""
    found = Source.objects.create(code=code, name=name or code,
                                  institution=institution or code, kind=kind, area=area,
                                  **fields)
    found.schemes.set(Scheme.objects.filter(code__in=schemes))
    return found


def registry(code: str = "CRVS_TEST") -> Source:
    """An authoritative registry (the civil registry, say), as cross-checks read."""
    return source(code, kind="AUTHORITATIVE_REGISTRY", name="Civil registry",
                  institution="Civil registration")


def _source_or_default(given: Source | None) -> Source:
    if given is not None:
        return given
    found = Source.objects.filter(code=DEFAULT_SOURCE).first()
    return found or source(DEFAULT_SOURCE)


def scheme(code: str, *, guarantee: str = "OLD_AGE", function: str | None = None,
           cash: bool = True, contributory: bool = False, means_tested: bool = False,
           periodicity: str = "MONTHLY", name: str | None = None,
           managing_institution: str = "M", **fields: Any) -> Scheme:
    """A scheme; ``function`` (the ILO function) defaults to the guarantee's name."""
    return Scheme.objects.create(code=code, name=name or code,
                                 managing_institution=managing_institution,
                                 function=function or guarantee, guarantee=guarantee,
                                 contributory=contributory, means_tested=means_tested,
                                 benefit_nature="CASH" if cash else "SERVICE",
                                 periodicity=periodicity, **fields)


# --- the registry ----------------------------------------------------------------------------


def household(*, area: Area, source: Source | None = None,
              registered_on: dt.date | str = "2026-01-01", **fields: Any) -> Household:
    return Household.objects.create(area=area, source=_source_or_default(source),
                                    source_ref=fields.pop("source_ref", _ref("H")),
                                    registered_on=_date(registered_on), **fields)


def person(*, area: Area, source: Source | None = None, sex: str = "F",
           born: dt.date | str = "1980-01-01", died: dt.date | str | None = None,
           given_name: str = "A", family_name: str = "B",
           registered_on: dt.date | str = "2026-01-01", **fields: Any) -> Person:
    """One person record of ``source`` (a default source when none) living in ``area``."""
    return Person.objects.create(
        area=area, source=_source_or_default(source), source_ref=fields.pop("source_ref",
                                                                            _ref("P")),
        sex=sex, date_of_birth=_date(born), date_of_death=_date(died), given_name=given_name,
        family_name=family_name, registered_on=_date(registered_on), **fields)


def enrolment(person: Person, scheme: Scheme, *, status: str = "ACTIVE",
              start: dt.date | str = "2020-01-01", source: Source | None = None,
              paid: dt.date | None = None, amount_minor: int = 1500,
              **fields: Any) -> Enrolment:
    """``person`` enrolled in ``scheme``; with ``paid`` (a period), also paid for it."""
    source = _source_or_default(source)
    done = Enrolment.objects.create(person=person, scheme=scheme, status=status,
                                    start_date=_date(start), source=source,
                                    source_ref=fields.pop("source_ref", _ref("E")), **fields)
    if paid is not None:
        payment(person, scheme, period=paid, amount_minor=amount_minor, source=source)
    return done


def payment(person: Person, scheme: Scheme, *, period: dt.date, amount_minor: int = 1500,
            currency: str = "USD", paid_on: dt.date | None = None,
            source: Source | None = None, **fields: Any) -> BenefitPayment:
    return BenefitPayment.objects.create(
        person=person, scheme=scheme, period=period, amount_minor=amount_minor,
        currency=currency, paid_on=paid_on or period, source=_source_or_default(source),
        source_ref=fields.pop("source_ref", _ref("PAY")), **fields)


# --- intake ----------------------------------------------------------------------------------


def submission(source: Source, *, period: dt.date | None = None,
               status: str = SubmissionStatus.LOADED, received_at: dt.datetime | None = None,
               filename: str = "list.csv", file_format: str = "csv",
               **fields: Any) -> Submission:
    """A submission record as intake leaves it (no file is parsed)."""
    return Submission.objects.create(
        source=source, period=period or clock.today().replace(day=1), status=status,
        content_hash=fields.pop("content_hash", _ref("hash-")), filename=filename,
        file_format=file_format, received_at=received_at or clock.now(), **fields)


def submission_issue(submission: Submission, *, row: int = 2, column: str = "NIN",
                     value: str = "", rule: str = "luhn", message: str = "bad",
                     **fields: Any) -> SubmissionIssue:
    return SubmissionIssue.objects.create(submission=submission, row=row, column=column,
                                          value=value, rule=rule, message=message, **fields)


# --- linkage ---------------------------------------------------------------------------------


def linkage_run(*, prior: float = 0.001, records: int = 2, **fields: Any) -> LinkageRun:
    """A linkage run with its (first) model, as if the engine had run."""
    model = LinkageModel.objects.create(
        version=(LinkageModel.objects.order_by("-version").values_list("version", flat=True)
                 .first() or 0) + 1,
        spec={"probability_two_random_records_match": prior}, records=records,
        trained_at=clock.now())
    return LinkageRun.objects.create(model=model, started_at=clock.now(), **fields)


def link(a: Person | int, b: Person | int, *, run: LinkageRun | None = None,
         probability: float = 0.8, weight: float = 3.0, weights: dict[str, float] | None = None,
         state: str = LinkState.REVIEW, **fields: Any) -> Link:
    """A pair of records the engine scored; the lower id goes left, as the engine stores it."""
    low, high = sorted(x if isinstance(x, int) else x.pk for x in (a, b))
    return Link.objects.create(
        person_l_id=low, person_r_id=high, run=run or linkage_run(),
        match_probability=probability, match_weight=weight,
        weights={"surname": 4.0, "given_name": -1.0} if weights is None else weights,
        state=state, **fields)


def flag(person: Person, *, registry: Source, evidence: Person, scheme_id: int | None = None,
         reason: str = FlagReason.DECEASED_PAID, due_in: int = 30,
         detail: dict[str, Any] | None = None, **fields: Any) -> VerificationFlag:
    """An open verification flag on ``person`` raised now from ``registry``'s ``evidence``,
    due ``due_in`` days from today (negative: overdue)."""
    return VerificationFlag.objects.create(
        person=person, scheme_id=scheme_id, reason_code=reason, registry=registry,
        evidence=evidence, raised_at=clock.now(),
        due_on=clock.today() + dt.timedelta(days=due_in), detail=detail or {}, **fields)


def deceased_flag(enrolment: Enrolment, *, registry: Source,
                  reason: str = FlagReason.DECEASED_PAID, due_in: int = 30,
                  periods_paid_after_death: int = 3,
                  amount_minor: int = 150050) -> VerificationFlag:
    """An open flag on the enrolment's person, as the civil-registry cross-check raises it: the
    registry's record is another person with a national id (one not yet the evidence of a
    flag), made to have died the day after the enrolment started."""
    person = enrolment.person
    evidence = Person.objects.exclude(pk=person.pk).exclude(national_id=None).exclude(
        pk__in=VerificationFlag.objects.values("evidence")).order_by("-id").first()
    assert evidence is not None, "no other person with a national id"
    died = max(enrolment.start_date, person.date_of_birth) + dt.timedelta(days=1)
    Person.objects.filter(pk=evidence.pk).update(date_of_death=died)
    return flag(person, registry=registry, evidence=evidence, scheme_id=enrolment.scheme_id,
                reason=reason, due_in=due_in,
                detail={"date_of_death": died.isoformat(), "matched_by": "national_id",
                        "periods_paid_after_death": periods_paid_after_death,
                        "amount_minor": amount_minor, "first_period": f"{died:%Y-%m}"})


# --- people who use the system ---------------------------------------------------------------


def user(role: str | None = "SCHEME_MANAGER", *, area: str = "XY", schemes: Iterable[str] = (),
         username: str | None = None, clearance: int = Clearance.SECRET,
         password: str = PASSWORD) -> User:
    """A user holding ``role`` over the area ``area`` (a P-code; the country by default),
    limited to ``schemes`` if given; ``role=None`` makes a user without any role."""
    name = username or _ref(f"{(role or 'user').lower()}_")
    made = user_create(actor=None, username=name, password=password, clearance=clearance)
    if role is not None:
        role_assign(actor=None, user=made, role=role, area_code=area, scheme_codes=schemes)
    return made


def api_token(user: User) -> str:
    """A new API key for ``user``, issued as `spmis token` does (earlier ones are revoked)."""
    return api_token_issue(actor=None, username=user.username).key
