"""Intake: mappings and submissions, loaded atomically, idempotently and with lineage.

A submission is parsed, mapped to the minimum dataset and validated set-wise (Polars), then
loaded in one transaction: households, persons, enrolments and payments are upserted by their
source record id, and every row remembers the submission that created and last changed it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import IntegrityError, OperationalError, connection, models, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import Grant, Scope, scope_for_user
from spmis.access.services import permission_require
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.bulk import bulk_insert, load_transaction
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from spmis.geography.models import Area
from spmis.intake import mapping as mappings
from spmis.intake import parsers
from spmis.intake import progress as live
from spmis.intake.approvals import locked_periods, period_lock_area
from spmis.intake.models import (
    ChangedRow,
    LoadPolicy,
    Mapping,
    Schedule,
    Source,
    SourceKind,
    Submission,
    SubmissionFile,
    SubmissionIssue,
    SubmissionStatus,
)
from spmis.intake.selectors import source_list_for_user, source_manage_get_for_user
from spmis.payments.models import BenefitPayment
from spmis.payments.services import payments_upsert_bulk
from spmis.registry.models import Household, Person
from spmis.registry.services import households_upsert_bulk, persons_upsert_bulk
from spmis.schemes.models import Enrolment, Scheme
from spmis.schemes.services import enrolments_upsert_bulk

LOADED_MODELS = (Household, Person, Enrolment, BenefitPayment)
# Told each stage of a load: progress(stage, **detail), detail being table, done and total
# while loading a table, total (the file's rows) once it is read.
Progress = Callable[..., None]
log = logging.getLogger(__name__)  # each stage of a load, with its rows and seconds
ISSUE_COLUMNS = ["_row", "column", "value", "rule", "message"]


def source_get(*, code: str) -> Source:
    source = Source.objects.filter(code=code).first()
    if source is None:
        raise NotFound(f"No source with code {code!r}. `spmis intake sources` lists them.")
    return source


def source_for_submitter(*, actor: User | None, code: str) -> Source:
    """The source ``actor`` may send data for: one inside their scope for submitting data.
    Without an actor (a command run on the server) any source."""
    if actor is None:
        return source_get(code=code)
    permission_require(user=actor, permission=Permission.SUBMIT_DATA, doing="submit data")
    source = source_list_for_user(user=actor, permission=Permission.SUBMIT_DATA).filter(
        code=code).first()
    if source is None:
        audit_record(actor=actor, action=AuditAction.ACCESS_DENIED, object_type="source",
                     object_id=code[:64], detail={"permission": Permission.SUBMIT_DATA.value})
        raise NotFound(f"No source {code!r} among yours.")
    return source


SOURCE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
DEADLINE_DAYS_MAX = 366
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SourceFields:
    """A source's settings as a door gives them. ``None``: not given (kept when editing, the
    default when adding). ``area`` is a P-code, ``""`` for a national source (no area);
    ``schemes`` the codes it reports for (all of them: the set is replaced); numbers may
    come as typed text."""

    name: str | None = None
    institution: str | None = None
    kind: str | None = None
    area: str | None = None
    schemes: tuple[str, ...] | None = None
    schedule: str | None = None
    deadline_days: int | str | None = None
    policy: str | None = None
    error_threshold: int | str | None = None
    contact: str | None = None


def source_create(*, actor: User | None, code: str, fields: SourceFields) -> Source:
    """Register a data provider. ``actor`` (None: the operator on the server) needs
    MANAGE_SOURCES over the source's area (a national source: a national role) and, for each
    declared scheme, a role there covering it. Every problem is reported at once."""
    scope = _source_scope(actor)
    code = code.strip()
    problems = []
    if not SOURCE_CODE.fullmatch(code):
        problems.append(_("The code %(code)r is not valid: 1 to 40 letters, digits, '_', '-' "
                          "or '.', starting with a letter or digit.") % {"code": code[:60]})
    if fields.name is None:
        problems.append(_("Give the source a name."))
    if not (fields.kind or "").strip():
        problems.append(_("Give the kind: %(choices)s.") % {"choices": _choices(SourceKind)})
    source = Source(code=code)
    with transaction.atomic():
        schemes = _source_apply(source, fields, scope, problems, before=[])
        if problems:
            raise ValidationFailed("\n".join(problems))
        same = Source.objects.filter(code__iexact=code).first()
        if same is not None:
            raise Conflict(_("A source with code %(code)r already exists: `spmis intake "
                             "source edit %(code)s` changes it.") % {"code": same.code})
        try:
            with transaction.atomic():
                source.save()
        except IntegrityError as exc:  # the same code added at the same moment
            raise Conflict(_("A source with code %(code)r already exists.") % {
                "code": code}) from exc
        source.schemes.set(schemes or [])
        audit_record(actor=actor, action=AuditAction.SOURCE_CREATE, object_type="source",
                     object_id=source.pk, area_code=source.area.code if source.area else "",
                     detail={"code": source.code, "kind": source.kind,
                             **{k: v for k, v in _source_settings(source).items()
                                if k != "kind"}})
    return source


def source_update(*, actor: User | None, code: str, fields: SourceFields) -> Source:
    """Change a source's settings (only the fields given). ``actor`` needs MANAGE_SOURCES
    over its area, and over the new one when it moves; adding or removing a scheme needs a
    role covering that scheme there. Audited with each changed field, before and after; a
    change to nothing changes nothing and is not audited."""
    scope = _source_scope(actor)
    with transaction.atomic():
        if actor is None:
            source = source_get(code=code.strip())
        else:
            found = source_manage_get_for_user(user=actor, code=code)
            source = Source.objects.select_for_update().get(pk=found.pk)
        before = _source_settings(source)
        problems: list[str] = []
        schemes = _source_apply(source, fields, scope, problems,
                                before=list(source.schemes.all()))
        if problems:
            raise ValidationFailed("\n".join(problems))
        source.save()
        if schemes is not None:
            source.schemes.set(schemes)
        after = _source_settings(source)
        changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changed:
            audit_record(actor=actor, action=AuditAction.SOURCE_EDIT, object_type="source",
                         object_id=source.pk, area_code=source.area.code if source.area else "",
                         detail={"code": source.code, "changed": changed})
    return source


def _source_scope(actor: User | None) -> Scope | None:
    if actor is None:
        return None
    return permission_require(user=actor, permission=Permission.MANAGE_SOURCES,
                              doing="manage sources")


def _source_settings(source: Source) -> dict[str, object]:
    """What the audit log keeps of a source's settings."""
    schemes = (sorted(s.code for s in source.schemes.all()) if source.pk else [])
    return {"name": source.name, "institution": source.institution, "kind": source.kind,
            "area": source.area.code if source.area else None, "schemes": schemes,
            "schedule": source.schedule, "deadline_days": source.deadline_days,
            "policy": source.policy, "error_threshold": source.error_threshold,
            "contact": source.contact}


# How a refusal names a source's field (the English as before; translated for the page).
SOURCE_FIELDS = {
    "name": gettext_lazy("name"), "institution": gettext_lazy("institution"),
    "contact": gettext_lazy("contact"), "kind": gettext_lazy("kind"),
    "schedule": gettext_lazy("schedule"), "policy": gettext_lazy("policy"),
    "deadline_days": gettext_lazy("deadline days"),
    "error_threshold": gettext_lazy("error threshold"),
}


def _choices(choices: type[models.TextChoices]) -> str:
    return ", ".join(choices.values)


def _source_apply(source: Source, fields: SourceFields, scope: Scope | None,
                  problems: list[str], *, before: list[Scheme]) -> list[Scheme] | None:
    """Set the given fields on ``source``, adding a plain-English line to ``problems`` for
    each bad one; returns the declared schemes when given."""
    for name, limit in (("name", 200), ("institution", 200), ("contact", 200)):
        value = getattr(fields, name)
        if value is None:
            continue
        value = value.strip()
        if name == "name" and not value:
            problems.append(_("Give the source a name."))
        elif len(value) > limit:
            problems.append(_("The %(field)s is longer than %(n)s characters.") % {
                "field": SOURCE_FIELDS[name], "n": limit})
        elif CONTROL.search(value):
            problems.append(_("The %(field)s cannot contain control characters (tabs, line "
                              "breaks, NUL).") % {"field": SOURCE_FIELDS[name]})
        else:
            setattr(source, name, value)
    if not source.institution:  # left blank: the institution is the source's name
        source.institution = source.name
    for name, choices in (("kind", SourceKind), ("schedule", Schedule),
                          ("policy", LoadPolicy)):
        value = getattr(fields, name)
        if value is None or (name == "kind" and not value.strip()):
            continue
        typed = re.sub(r"[\s-]+", "_", value.strip()).upper()
        if typed not in choices.values:
            problems.append(_("Unknown %(field)s %(value)r: use one of %(choices)s.") % {
                "field": SOURCE_FIELDS[name], "value": value[:60], "choices": _choices(choices)})
        else:
            setattr(source, name, typed)
    for name, high, unit in (("deadline_days", DEADLINE_DAYS_MAX,
                              _("days after the period ends")),
                             ("error_threshold", 100,
                              _("%(sign)s of invalid rows") % {"sign": "%"})):
        value = getattr(fields, name)
        if value is None:
            continue
        number = value if isinstance(value, int) else (
            int(value.strip()) if re.fullmatch(r"\s*-?[0-9]{1,9}\s*", value) else None)
        if number is None or not 0 <= number <= high:
            problems.append(_("The %(field)s must be a whole number from 0 to %(high)s "
                              "(%(unit)s), not %(value)r.") % {
                "field": SOURCE_FIELDS[name], "high": high, "unit": unit,
                "value": str(value)[:60]})
        else:
            setattr(source, name, number)
    old_area = source.area if source.pk else None
    if fields.area is not None:
        code = fields.area.strip()
        area = Area.objects.filter(code=code).first() if code else None
        if code and area is None:
            problems.append(_("Unknown area P-code %(code)r.") % {"code": code[:60]})
        else:
            source.area = area
    schemes = None
    if fields.schemes is not None:
        codes = sorted({c.strip() for c in fields.schemes if c.strip()})
        schemes = list(Scheme.objects.filter(code__in=codes).order_by("code"))
        unknown = sorted(set(codes) - {s.code for s in schemes})
        if unknown:
            problems.append(ngettext("Unknown scheme code %(codes)s: `spmis scheme list` "
                                     "lists them.", "Unknown scheme codes %(codes)s: `spmis "
                                     "scheme list` lists them.", len(unknown)) % {
                "codes": ", ".join(unknown)})
    if scope is not None and not problems:
        problems.extend(_source_scope_problems(source, old_area, scope, before, schemes))
    return schemes


def _source_scope_problems(source: Source, old_area: Area | None, scope: Scope,
                           before: list[Scheme], after: list[Scheme] | None) -> list[str]:
    """Why the actor may not give the source these settings: its area (and the one it
    leaves) must lie inside their areas, and each scheme added or removed be one their role
    there covers."""
    roots = set(Area.objects.filter(parent__isnull=True).values_list("path", flat=True))

    def covers(area: Area | None, scheme: Scheme | None = None) -> bool:
        def grants(g: Grant) -> bool:
            return scheme is None or g.schemes is None or scheme.pk in g.schemes

        if area is not None:
            return any(area.path.startswith(g.area_path) and grants(g) for g in scope.grants)
        return any(g.area_path in roots and grants(g) for g in scope.grants)

    def named(area: Area | None) -> str:
        return f"area {area.code}" if area is not None else "the whole country (no area)"

    found = []
    for area in {source.area, old_area} if source.pk else {source.area}:
        if not covers(area):
            found.append(f"You may not manage sources for {named(area)}: it is outside the "
                         f"areas of your roles.")
    if after is not None and not found:
        for scheme in sorted(set(after) ^ set(before), key=lambda s: s.code):
            if not covers(source.area, scheme):
                found.append(f"You may not declare or remove scheme {scheme.code} for "
                             f"{named(source.area)}: your roles there do not cover it.")
    return found


def mapping_save(*, actor: User | None, source_code: str, text: str) -> Mapping:
    """Validate a mapping and store it as the source's next version."""
    source = source_get(code=source_code)
    try:
        mappings.load_mapping(text)
    except mappings.MappingError as exc:
        raise ValidationFailed("The mapping is not valid:\n" + "\n".join(exc.problems)) from exc
    with transaction.atomic():
        last = source.mappings.order_by("-version").first()
        saved = Mapping.objects.create(source=source, version=(last.version + 1) if last else 1,
                                       text=text, created_at=clock.now(), created_by=actor)
        audit_record(actor=actor, action=AuditAction.MAPPING_SAVE, object_type="mapping",
                     object_id=saved.pk, detail={"source": source.code,
                                                 "version": saved.version})
    return saved


@dataclass
class _Checked:
    """A submission's rows after parsing, mapping and validation."""

    rows_total: int
    mapped: pl.DataFrame
    issues: pl.DataFrame
    given: frozenset[str]  # the target fields the mapping gives (the others are defaults)
    notes: tuple[str, ...] = ()  # what reading decided (header row found, groups stripped)


def submission_submit(
    *,
    actor: User | None,
    source_code: str,
    period: dt.date,
    filename: str,
    data: bytes,
    received_at: dt.datetime | None = None,
) -> Submission:
    """Take in one file for a source and period. The same content again changes nothing; a
    different content for the same period supersedes the earlier submission.

    ``received_at`` is when the file reached the MIS unit if that was before now (a file
    sent by e-mail and entered later); it counts for timeliness and is audited.
    """
    return submission_receive(actor=actor, source_code=source_code, period=period,
                              filename=filename, data=data, received_at=received_at).submission


@dataclass(frozen=True)
class Receipt:
    """A file taken in: its submission, and whether it is a ``repeat`` (the same content
    already received for the source and period, or a push's key seen before): then the
    submission is the earlier one and nothing changed."""

    submission: Submission
    repeat: bool = False

    @property
    def note(self) -> str:
        """What the doors say of a repeat ("" otherwise)."""
        return (f"Already received as submission {self.submission.pk}; nothing changed."
                if self.repeat else "")


def submission_receive(
    *,
    actor: User | None,
    source_code: str,
    period: dt.date,
    filename: str,
    data: bytes,
    received_at: dt.datetime | None = None,
    progress: Progress | None = None,
) -> Receipt:
    """``submission_submit``, saying whether the file was a repeat, so the doors (command,
    upload page, API push) can say so instead of the earlier submission's counts. Checked and
    loaded before it returns; ``progress`` is told each stage (the command prints them)."""
    source, period, received, digest, same = _receive(actor, source_code, period, data,
                                                      received_at)
    if same is not None:
        return Receipt(same, repeat=True)
    submission = Submission(source=source, period=period, content_hash=digest,
                            filename=filename[:255], file_format="", received_at=received,
                            created_by=actor)
    return Receipt(_take(submission, data, progress))


def _receive(actor: User | None, source_code: str, period: dt.date, data: bytes,
             received_at: dt.datetime | None
             ) -> tuple[Source, dt.date, dt.datetime, str, Submission | None]:
    """The source (within the actor's), the month, the time received, the content's digest,
    and the earlier submission of the same content for the period if any (a repeat)."""
    source = source_for_submitter(actor=actor, code=source_code)
    period = period.replace(day=1)
    received = _received(received_at)  # checked for a repeat too
    digest = hashlib.sha256(data).hexdigest()
    same = (Submission.objects.filter(source=source, period=period, content_hash=digest)
            .exclude(status__in=[SubmissionStatus.REFUSED, SubmissionStatus.WITHDRAWN,
                                 SubmissionStatus.FAILED])
            .order_by("-id").first())
    return source, period, received, digest, same


def _take(submission: Submission, data: bytes, progress: Progress | None = None,
          worker: str | None = None) -> Submission:
    """Check and load (or refuse) a content not received before, with the source's latest
    mapping. ``worker``: the background runner that claimed the submission (it must still hold
    it when the load commits)."""
    actor, source, period = submission.created_by, submission.source, submission.period
    mapping = source.mappings.order_by("-version").first()
    submission.mapping = mapping
    locked = (period_lock_area(area_path=source.area.path, period=period)
              if source.area is not None else None)
    if locked is not None:
        return _refuse(submission, actor, f"The period {period:%Y-%m} is approved for "
                       f"{locked.code}; ask for it to be un-approved first.", None, worker)
    started = time.perf_counter()
    try:
        checked = _check(submission, mapping, data, progress)
    except _Refusal as refusal:
        return _refuse(submission, actor, refusal.message, refusal.issues, worker)
    invalid = checked.issues["_row"].n_unique() if checked.issues.height else 0
    log.info("read and checked: %d rows in %.2f s", checked.rows_total,
             time.perf_counter() - started)
    if invalid >= checked.rows_total:  # nothing to load: a refusal, never a PARTIAL load
        return _refuse(submission, actor, f"None of the {checked.rows_total} rows is valid: "
                       f"nothing was loaded, and any earlier submission for the period stands. "
                       f"The error report gives each row's problem.", checked.issues, worker)
    share = 100 * invalid / max(checked.rows_total, 1)
    if source.policy == LoadPolicy.REJECT and share > source.error_threshold:
        return _refuse(submission, actor, f"{invalid} of {checked.rows_total} rows are invalid "
                       f"({share:.1f}% > the source's limit of {source.error_threshold}%).",
                       checked.issues, worker)
    return _load(submission, actor, checked, invalid, progress, worker)


# --- background loads (ADR 0012) ------------------------------------------------------------

def submission_queue(*, actor: User | None, source_code: str, period: dt.date, filename: str,
                     data: bytes, received_at: dt.datetime | None = None) -> Receipt:
    """Take in a file to be checked and loaded in the background (the upload page): the same
    checks of who may send what as ``submission_receive``, and the same content again is a
    repeat; otherwise a QUEUED submission with its file kept, which a runner
    (``spmis.intake.runner``) claims, loads or refuses. Audited as ``submission.queue``, then
    ``submission.load`` or ``submission.refuse`` as a load in the foreground."""
    source, period, received, digest, same = _receive(actor, source_code, period, data,
                                                      received_at)
    if same is not None:
        return Receipt(same, repeat=True)
    now = clock.now()
    with transaction.atomic():
        submission = Submission.objects.create(
            source=source, period=period, content_hash=digest, filename=filename[:255],
            file_format="", received_at=received, created_by=actor,
            status=SubmissionStatus.QUEUED, stage="received", heartbeat_at=now,
            steps=[_step_entry("received", now, {})])
        SubmissionFile.objects.create(submission=submission, data=data)
        audit_record(actor=actor, action=AuditAction.SUBMISSION_QUEUE, object_type="submission",
                     object_id=submission.pk,
                     detail={"source": source.code, "period": f"{period:%Y-%m}",
                             "filename": submission.filename, "bytes": len(data),
                             "received_at": received.isoformat()})
    return Receipt(submission)


def submission_claim(*, worker: str = live.WORKER,
                     submission_id: int | None = None) -> Submission | None:
    """The oldest QUEUED submission (or the one asked for), now RUNNING under ``worker``;
    None when there is none. A compare-and-set: two runners never claim the same one."""
    queued = Submission.objects.filter(status=SubmissionStatus.QUEUED).order_by("id")
    if submission_id is not None:
        queued = queued.filter(pk=submission_id)
    for pk in queued.values_list("pk", flat=True)[:20]:
        taken = Submission.objects.filter(pk=pk, status=SubmissionStatus.QUEUED).update(
            status=SubmissionStatus.RUNNING, worker=worker, heartbeat_at=clock.now(),
            attempts=F("attempts") + 1)
        if taken:
            return (Submission.objects.select_related("source", "source__area", "created_by")
                    .get(pk=pk))
    return None


def submission_run(*, submission: Submission, worker: str = live.WORKER,
                   echo: Progress | None = None) -> Submission:
    """Check and load a claimed submission from its kept file, telling its progress on the
    submission (and to ``echo``). Ends LOADED, PARTIAL or REFUSED as a load in the foreground
    would, or FAILED with the reason when the load stops with an error (nothing of it is
    loaded: it can be tried again). Never raises for the file or the load."""
    tracker = _Tracker(submission, echo)
    try:
        stored = SubmissionFile.objects.filter(submission=submission).first()
        if stored is None:
            raise _Failure("Its file is no longer kept: send it again.")
        data = bytes(stored.data)
        for attempt in range(1, TRANSIENT_TRIES + 1):
            try:
                done = _take(submission, data, tracker, worker)
                break
            except OperationalError as exc:  # the database busy: the load rolled back whole
                if not transient(exc) or attempt == TRANSIENT_TRIES:
                    raise
                log.warning("Submission %s: %s; loading it again", submission.pk, exc)
                time.sleep(0.2 * attempt)
                tracker.restart()
    except _TakenOver:
        live.live_forget(submission.pk)
        return Submission.objects.get(pk=submission.pk)
    except Exception as exc:  # any error ends the load as FAILED, with its reason
        log.exception("The load of submission %s stopped", submission.pk)
        reason = exc.message if isinstance(exc, _Failure) else (
            f"The load stopped with an error ({type(exc).__name__}: {str(exc)[:300]}); nothing "
            f"of this file was loaded. Try it again; if it fails again, tell the MIS unit.")
        return _fail(submission, reason, tracker, worker)
    tracker("refused" if done.status == SubmissionStatus.REFUSED else "loaded", final=True)
    SubmissionFile.objects.filter(submission=submission).delete()
    live.live_forget(submission.pk)
    return done


def submission_retry(*, actor: User | None, submission_id: int) -> Submission:
    """Queue a FAILED or stalled submission again (its file is kept). ``actor`` must be one
    who may submit for its source. Audited as ``submission.retry``."""
    found = Submission.objects.select_related("source").filter(pk=submission_id).first()
    if found is None:
        raise NotFound(f"No submission {submission_id}.")
    if actor is not None:
        source_for_submitter(actor=actor, code=found.source.code)
    if not (found.status == SubmissionStatus.FAILED or live.is_stalled(found)):
        raise Conflict(_("Only a failed or stalled submission can be tried again; this one "
                         "is %(status)s.") % {"status": found.get_status_display()})
    if not SubmissionFile.objects.filter(submission=found).exists():
        raise Conflict(_("Its file is no longer kept: send it again."))
    return _requeue(found, actor, automatic=False)


def submissions_recover() -> list[int]:
    """Queue again every stalled submission (a server starting after its process died): the
    ones whose runner is gone, at most three attempts each (a file that kills its runner must
    not kill every restart); the others end FAILED. Audited as ``submission.retry``."""
    requeued = []
    running = Submission.objects.filter(status__in=[SubmissionStatus.RUNNING,
                                                    SubmissionStatus.QUEUED])
    for found in running.select_related("source"):
        if not live.is_stalled(found):
            continue
        if found.status == SubmissionStatus.QUEUED:
            requeued.append(found.pk)  # still queued: the runner takes it
        elif found.attempts >= MAX_ATTEMPTS:
            _fail(found, f"Its load stopped {found.attempts} times without finishing (the "
                  f"process running it ended); nothing of it was loaded. Tell the MIS unit.",
                  _Tracker(found, None), found.worker)
        else:
            _requeue(found, None, automatic=True)
            requeued.append(found.pk)
    return requeued


MAX_ATTEMPTS = 3
TRANSIENT_TRIES = 5


def transient(exc: Exception) -> bool:
    """A database error that passes by itself (SQLite locked or busy, a PostgreSQL deadlock or
    serialisation failure): the transaction rolled back whole, so doing it again is safe."""
    text = str(exc).lower()
    return isinstance(exc, OperationalError) and any(
        word in text for word in ("locked", "busy", "deadlock", "could not serialize"))


def _requeue(submission: Submission, actor: User | None, *, automatic: bool) -> Submission:
    now = clock.now()
    with transaction.atomic():
        was = submission.status
        changed = Submission.objects.filter(pk=submission.pk, status=was,
                                            worker=submission.worker).update(
            status=SubmissionStatus.QUEUED, stage="received", heartbeat_at=now, worker="",
            message="", steps=[_step_entry("received", now, {"attempt": submission.attempts + 1})])
        if not changed:
            raise Conflict("The submission changed meanwhile; look at it again.")
        audit_record(actor=actor, action=AuditAction.SUBMISSION_RETRY, object_type="submission",
                     object_id=submission.pk,
                     detail={"source": submission.source.code, "was": was,
                             "attempts": submission.attempts, "automatic": automatic})
    submission.refresh_from_db()
    return submission


def _fail(submission: Submission, reason: str, tracker: _Tracker,
          worker: str | None) -> Submission:
    with transaction.atomic():
        changed = Submission.objects.filter(pk=submission.pk, worker=worker or "").update(
            status=SubmissionStatus.FAILED, message=reason)
        if changed:
            audit_record(actor=submission.created_by, action=AuditAction.SUBMISSION_FAIL,
                         object_type="submission", object_id=submission.pk,
                         detail={"source": submission.source.code,
                                 "period": f"{submission.period:%Y-%m}", "reason": reason})
    tracker("failed", final=True)
    live.live_forget(submission.pk)
    submission.refresh_from_db()
    return submission


class _Failure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _TakenOver(Exception):
    """Another runner claimed the submission meanwhile (it was taken for stalled): this one
    gives it up, writing nothing."""


def _still_mine(submission: Submission, worker: str | None) -> None:
    """Inside a load's transaction: the submission is still this runner's (or no runner's:
    a load in the foreground)."""
    if worker is None:
        return
    mine = (Submission.objects.select_for_update()
            .filter(pk=submission.pk, status=SubmissionStatus.RUNNING, worker=worker).exists())
    if not mine:
        raise _TakenOver()


def _step_entry(stage: str, now: dt.datetime, detail: dict[str, Any]) -> dict[str, Any]:
    return {"stage": stage, "at": now.isoformat(timespec="seconds"), **detail}


class _Tracker:
    """Keeps a background load's steps: on the submission (written at once outside the
    load's transaction; inside it only at commit) and in this process's memory, which the
    state page reads while the transaction is open."""

    def __init__(self, submission: Submission, echo: Progress | None) -> None:
        self.submission = submission
        self.echo = echo
        self.steps: list[dict[str, Any]] = list(submission.steps or [])
        self.first = len(self.steps)  # the steps before this attempt (received)
        live.live_set(submission.pk, self.steps)

    def restart(self) -> None:
        """The attempt is done again from the start: its steps so far are gone."""
        del self.steps[self.first:]
        live.live_set(self.submission.pk, self.steps)

    def __call__(self, stage: str, *, final: bool = False, **detail: Any) -> None:
        now = clock.now()
        entry = _step_entry(stage, now, detail)
        last = self.steps[-1] if self.steps else None
        if last is not None and last["stage"] == stage and last.get("table") == detail.get(
                "table"):
            last.update(entry)  # the same step, further on (a table's rows done)
        else:
            self.steps.append(entry)
        s = self.submission
        s.stage, s.steps, s.heartbeat_at = stage, list(self.steps), now
        if not final:
            live.live_set(s.pk, self.steps)
        if not connection.in_atomic_block:
            self._save(stage, now)
        if self.echo is not None:
            self.echo(stage, **detail)

    def _save(self, stage: str, now: dt.datetime) -> None:
        """The steps on the submission; when the database stays busy they wait for the next
        step (the page reads them from memory meanwhile)."""
        for attempt in range(1, TRANSIENT_TRIES + 1):
            try:
                Submission.objects.filter(pk=self.submission.pk).update(
                    stage=stage, steps=self.submission.steps, heartbeat_at=now)
                return
            except OperationalError as exc:
                if not transient(exc):
                    raise
                if attempt == TRANSIENT_TRIES:  # a final stage is known from the status
                    return
                time.sleep(0.1 * attempt)


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_:-]{1,100}")


def submission_push(*, actor: User, source_code: str, period: dt.date | None, key: str,
                    read: Callable[[], tuple[str, bytes]]) -> Receipt:
    """A submission pushed by another system, made idempotent by the sender's key: the same
    key from the same user for the same source gives back the first submission. ``read``
    gives the content (its file extension and bytes) once the push is allowed. A repeat (the
    key, or the same content for the period, seen before) created nothing."""
    permission_require(user=actor, permission=Permission.SUBMIT_DATA, doing="submit data")
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationFailed("Send an Idempotency-Key header: up to 100 letters, digits, "
                               "'_', ':' or '-', the same again only to repeat a push.")
    source = source_for_submitter(actor=actor, code=source_code)
    if period is None:
        raise ValidationFailed("Give the period as YYYY-MM.")
    extension, data = read()
    prefix = f"push-{key}."
    with transaction.atomic():
        # One push per source at a time, so a retried key cannot slip in twice.
        list(Source.objects.select_for_update().filter(pk=source.pk))
        done = (Submission.objects.filter(source=source, created_by=actor,
                                          filename__startswith=prefix).order_by("id").first())
        if done is not None:
            return Receipt(done, repeat=True)
        return submission_receive(actor=actor, source_code=source.code, period=period,
                                  filename=prefix + extension, data=data)


def _received(when: dt.datetime | None) -> dt.datetime:
    now = clock.now()
    if when is None:
        return now
    if when.tzinfo is None:
        raise ValidationFailed(_("The time a file was received needs a time zone."))
    if when > now:
        raise ValidationFailed(_("A file cannot be received in the future (%(day)s).") % {
            "day": f"{when:%Y-%m-%d}"})
    return when


class _Refusal(Exception):
    def __init__(self, message: str, issues: pl.DataFrame | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.issues = issues


def _check(submission: Submission, mapping: Mapping | None, data: bytes,
           progress: Progress | None = None) -> _Checked:
    if mapping is None:
        raise _Refusal(f"Source {submission.source.code} has no mapping yet: save one with "
                       f"`spmis intake mapping save`.")
    spec = mappings.load_mapping(mapping.text)
    if progress is not None:
        progress("parsing", bytes=len(data))
    try:  # the same reading path as `spmis intake mapping check --against`
        read = mappings.read_data(
            data, filename=submission.filename, mapping=spec, today=clock.today(),
            parsed=None if progress is None else lambda rows: progress("validating", total=rows))
    except parsers.ParseError as exc:
        raise _Refusal(str(exc)) from exc
    except mappings.MappingError as exc:
        raise _Refusal("The file does not fit the mapping:\n" + "\n".join(exc.problems)) \
            from exc
    submission.file_format = read.parsed.format
    mapped, more = _resolve_codes(read.mapped)
    issues = pl.concat([read.issues.select(ISSUE_COLUMNS), more,
                        _scope_issues(mapped, submission, spec)], how="vertical_relaxed")
    return _Checked(rows_total=read.parsed.frame.height, mapped=mapped, issues=issues,
                    given=frozenset(f.target for f in spec.fields), notes=read.notes)


def _resolve_codes(mapped: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Area P-codes and scheme codes to ids; unknown codes become issues (set-wise joins)."""
    areas = pl.DataFrame(list(Area.objects.values_list("code", "id")),
                         schema={"area": pl.String, "area_id": pl.Int64}, orient="row")
    schemes = pl.DataFrame(list(Scheme.objects.values_list("code", "id")),
                           schema={"scheme": pl.String, "scheme_id": pl.Int64}, orient="row")
    mapped = mapped.join(areas, on="area", how="left")
    problems = [_unknown(mapped, "area", "area_id", "area",
                         "is not a known area P-code.")]
    if "scheme" in mapped.columns:
        mapped = mapped.join(schemes, on="scheme", how="left")
        problems.append(_unknown(mapped, "scheme", "scheme_id", "scheme",
                                 "is not a known scheme code."))
    return mapped, pl.concat(problems, how="vertical_relaxed")


def _scope_issues(mapped: pl.DataFrame, submission: Submission,
                  spec: mappings.Mapping) -> pl.DataFrame:
    """Rows this submission may not write, each an issue so the rest loads under the source's
    policy: an area outside the source's or outside the submitter's scope (``out_of_area``),
    a scheme the source does not declare (``undeclared_scheme``) or that the submitter's role
    there does not cover (``scheme_out_of_scope``), an area and month already
    approved there or above (``period_locked``), a payment for another month than the
    submission's unless the mapping allows it (``period_mismatch``). Set-wise."""
    source, actor = submission.source, submission.created_by
    paths = pl.DataFrame(list(Area.objects.values_list("id", "path")),
                         schema={"area_id": pl.Int64, "_path": pl.String}, orient="row")
    rows = mapped.join(paths, on="area_id", how="left")
    period = (pl.coalesce(pl.col("period"), pl.lit(submission.period))
              if "period" in rows.columns else pl.lit(submission.period))
    rows = rows.with_columns(_period=period)
    found = []
    known = pl.col("_path").is_not_null()
    inside = pl.col("_path").str.starts_with(source.area.path) if source.area else pl.lit(True)
    grants = scope_for_user(user=actor, permission=Permission.SUBMIT_DATA).grants \
        if actor is not None else None
    if grants is not None:
        inside &= pl.any_horizontal(pl.lit(False), *(pl.col("_path").str.starts_with(
            g.area_path) for g in grants))
    found.append(_issue(rows.filter(known & ~inside), "area", "out_of_area",
                        "is outside the areas this source and its sender may send data for."))
    if grants is not None and "scheme_id" in rows.columns:
        # Each row's scheme must be one of the role that covers the row's area.
        covered = pl.any_horizontal(pl.lit(False), *(
            pl.col("_path").str.starts_with(g.area_path) & (
                pl.lit(True) if g.schemes is None else pl.col("scheme_id").is_in(list(g.schemes)))
            for g in grants))
        found.append(_issue(rows.filter(known & inside & pl.col("scheme_id").is_not_null()
                                        & ~covered), "scheme", "scheme_out_of_scope",
                            "is not a scheme your roles let you send data for there."))
    if "scheme_id" in rows.columns:
        declared = list(source.schemes.values_list("id", flat=True))
        found.append(_issue(rows.filter(pl.col("scheme_id").is_not_null()
                                        & ~pl.col("scheme_id").is_in(declared)),
                            "scheme", "undeclared_scheme", f"is not a scheme source "
                            f"{source.code} declares."))
    locks = pl.DataFrame(locked_periods(), schema={"_lock": pl.String, "_period": pl.Date},
                         orient="row")
    if locks.height:
        hit = rows.filter(pl.col("_path").is_not_null()).join(locks, on="_period").filter(
            pl.col("_path").str.starts_with(pl.col("_lock")))
        found.append(_issue(hit.unique("_row"), "area", "period_locked",
                            "is approved for this month: ask for it to be un-approved first.",
                            value=pl.col("area") + " " + pl.col("_period").dt.strftime("%Y-%m")))
    if "period" in rows.columns and not spec.other_periods:
        found.append(_issue(rows.filter(pl.col("period").is_not_null()
                                        & (pl.col("period") != submission.period)),
                            "period", "period_mismatch",
                            f"is not the submission's month ({submission.period:%Y-%m}); a "
                            "mapping with 'other_periods: true' accepts other months.",
                            value=pl.col("period").dt.strftime("%Y-%m")))
    return pl.concat(found, how="vertical_relaxed")


def _issue(bad: pl.DataFrame, column: str, rule: str, text: str,
           value: pl.Expr | None = None) -> pl.DataFrame:
    shown = (value if value is not None else pl.col(column).cast(pl.String)).fill_null("")
    return bad.select(pl.col("_row").cast(pl.Int64), pl.lit(column).alias("column"),
                      shown.alias("value"), pl.lit(rule).alias("rule"),
                      (pl.lit("'") + shown + pl.lit(f"' {text}")).alias("message"))


def _unknown(frame: pl.DataFrame, column: str, resolved: str, rule: str,
             text: str) -> pl.DataFrame:
    bad = frame.filter(pl.col(column).is_not_null() & pl.col(resolved).is_null())
    return bad.select(
        pl.col("_row").cast(pl.Int64), pl.lit(column).alias("column"),
        pl.col(column).cast(pl.String).alias("value"), pl.lit(rule).alias("rule"),
        (pl.lit("'") + pl.col(column).cast(pl.String) + pl.lit(f"' {text}")).alias("message"),
    )


def _refuse(submission: Submission, actor: User | None, message: str,
            issues: pl.DataFrame | None, worker: str | None = None) -> Submission:
    with transaction.atomic():
        _still_mine(submission, worker)
        submission.status = SubmissionStatus.REFUSED
        submission.message = message
        if issues is not None:
            submission.rows_rejected = issues["_row"].n_unique() if issues.height else 0
        submission.save()
        if issues is not None:
            _save_issues(submission, issues)
        audit_record(actor=actor, action=AuditAction.SUBMISSION_REFUSE, object_type="submission",
                     object_id=submission.pk, detail={"source": submission.source.code,
                                                      "period": f"{submission.period:%Y-%m}"})
    return submission


# Issues raised here rather than by the mapping (unknown codes, where a row may write) name the
# target field (area, scheme, period); the report names the file's column instead, as the
# mapping's own issues do, never a name only spmis uses.
TARGET_NAMED_RULES = frozenset({"area", "scheme", "out_of_area", "undeclared_scheme",
                                "scheme_out_of_scope", "period_locked", "period_mismatch"})


def _file_columns(submission: Submission) -> dict[str, str]:
    """Each target field of the submission's mapping -> the column(s) of the file it reads
    (the target itself for a constant)."""
    if submission.mapping is None:
        return {}
    try:
        spec = mappings.load_mapping(submission.mapping.text)
    except mappings.MappingError:
        return {}
    return {f.target: f.where for f in spec.fields}


def _save_issues(submission: Submission, issues: pl.DataFrame) -> None:
    named = _file_columns(submission)
    SubmissionIssue.objects.bulk_create(
        (SubmissionIssue(submission=submission, row=row,
                         column=str(named.get(column, column) if rule in TARGET_NAMED_RULES
                                    else column)[:200],
                         value=str(value or "")[:2000], rule=str(rule)[:40],
                         message=str(message)[:400])
         for row, column, value, rule, message in issues.select(ISSUE_COLUMNS).iter_rows()),
        batch_size=5000,
    )


def _load(submission: Submission, actor: User | None, checked: _Checked, invalid: int,
          progress: Progress | None = None, worker: str | None = None) -> Submission:
    valid = checked.mapped.join(checked.issues.select("_row").unique(), on="_row", how="anti")
    with load_transaction(LOADED_MODELS):
        _still_mine(submission, worker)
        earlier = (Submission.objects.select_for_update()
                   .filter(source=submission.source, period=submission.period,
                           status__in=[SubmissionStatus.LOADED, SubmissionStatus.PARTIAL]))
        superseded = list(earlier)
        submission.supersedes = superseded[-1] if superseded else None
        submission.status = SubmissionStatus.PARTIAL if invalid else SubmissionStatus.LOADED
        submission.rows_total = checked.rows_total
        submission.rows_rejected = invalid
        submission.save()
        counts = _upsert_records(submission, valid, checked.given, progress)
        submission.rows_loaded = valid.height
        submission.message = " ".join([", ".join(f"{k}: {v}" for k, v in counts.items()),
                                       *checked.notes])
        submission.save(update_fields=["rows_loaded", "message"])
        Submission.objects.filter(pk__in=[s.pk for s in superseded]).update(
            status=SubmissionStatus.SUPERSEDED)
        _save_issues(submission, checked.issues)
        audit_record(actor=actor, action=AuditAction.SUBMISSION_LOAD, object_type="submission",
                     object_id=submission.pk,
                     detail={"source": submission.source.code,
                             "period": f"{submission.period:%Y-%m}", "counts": counts,
                             "received_at": submission.received_at.isoformat(),
                             "rejected_rows": invalid,
                             "supersedes": [s.pk for s in superseded]})
    return submission


def _upsert_records(submission: Submission, rows: pl.DataFrame, given: frozenset[str],
                    progress: Progress | None = None) -> dict[str, int]:
    """Households, persons, enrolments and payments of the valid rows, in that order."""

    def unmapped(**fields: str) -> list[str]:
        """Stored fields (keys) whose target (value) the mapping does not give: written with
        their default for a new row, left as they are on an existing one."""
        return [stored for stored, target in fields.items() if target not in given]

    lineage = {"source_id": submission.source_id, "submission_id": submission.pk}
    today = clock.today()
    counts: dict[str, int] = {}
    changed: list[pl.DataFrame] = []  # before-images of changed rows (a withdrawal restores)
    tables = {"households": Household._meta.db_table, "persons": Person._meta.db_table,
              "enrolments": Enrolment._meta.db_table, "payments": BenefitPayment._meta.db_table}

    def count(name: str, load: Callable[..., pl.DataFrame], rows: pl.DataFrame,
              keep: list[str]) -> pl.DataFrame:
        started = time.perf_counter()
        if progress is not None:
            progress("loading", table=name, done=0, total=rows.height)
        result = load(rows=rows, keep=keep, **lineage)
        if progress is not None:
            progress("loading", table=name, done=rows.height, total=rows.height)
        changed.append(result.filter(pl.col("action") == "updated").select(
            row_id="id", before="before", table=pl.lit(tables[name])))
        log.info("%s: %d rows in %.2f s", name, rows.height, time.perf_counter() - started)
        for action, n in result.group_by("action").len().iter_rows():
            counts[f"{name} {action}"] = n
        return result

    households = pl.DataFrame(schema={"household_ref": pl.String, "household_id": pl.Int64})
    if "household_ref" in rows.columns:
        frame = (rows.filter(pl.col("household_ref").is_not_null())
                 .group_by("household_ref").agg(pl.col("area_id").first(),
                                                pl.col("address").first() if "address" in
                                                rows.columns else pl.lit("").alias("address"))
                 .select(source_ref="household_ref", area_id="area_id",
                         address=pl.col("address").fill_null(""),
                         registered_on=pl.lit(today)))
        done = count("households", households_upsert_bulk, frame,
                     ["registered_on", *unmapped(address="address")])
        households = done.select(household_ref="source_ref", household_id="id")
    people = rows.unique("person_ref", keep="last", maintain_order=True)
    if "household_ref" in people.columns:
        people = people.join(households, on="household_ref", how="left")
    frame = people.select(
        source_ref="person_ref",
        national_id=_col(people, "national_id"),
        given_name=_col(people, "given_name", ""),
        family_name=_col(people, "family_name", ""),
        sex="sex",
        date_of_birth="date_of_birth",
        date_of_death=_col(people, "date_of_death", None, pl.Date),
        area_id="area_id",
        household_id=_col(people, "household_id", None, pl.Int64),
        relationship_to_head=_col(people, "relationship_to_head", ""),
        disability_level=_col(people, "disability_level", None, pl.Int64),  # blank: unknown
        registered_on=_col(people, "registered_on", today, pl.Date),
        annual_income_minor=_col(people, "annual_income_minor", None, pl.Int64),
    )
    persons = count("persons", persons_upsert_bulk, frame, unmapped(
        national_id="national_id", given_name="given_name", family_name="family_name",
        date_of_death="date_of_death", household_id="household_ref",
        relationship_to_head="relationship_to_head", disability_level="disability_level",
        registered_on="registered_on", annual_income_minor="annual_income"))
    rows = rows.join(persons.select(person_ref="source_ref", person_id="id"), on="person_ref")
    if "scheme_id" in rows.columns:
        rows = rows.filter(pl.col("scheme_id").is_not_null())  # registered, not enrolled
        enrol = rows.unique(["person_ref", "scheme"], keep="last", maintain_order=True).select(
            source_ref=pl.col("person_ref") + ":" + pl.col("scheme"),
            person_id="person_id", scheme_id="scheme_id",
            status=_col(rows, "enrolment_status", "ACTIVE"),
            start_date=pl.coalesce(_col(rows, "enrolment_start", None, pl.Date),
                                   pl.lit(submission.period)),
        )
        # Without a mapped start, a new enrolment starts in the submission's month and a later
        # submission never moves it.
        count("enrolments", enrolments_upsert_bulk, enrol, unmapped(
            status="enrolment_status", start_date="enrolment_start"))
        if {"period", "amount_minor"} <= set(rows.columns):
            paid = rows.filter(pl.col("amount_minor").is_not_null())
            pay = paid.select(
                source_ref=(pl.col("person_ref") + ":" + pl.col("scheme") + ":"
                            + pl.coalesce(pl.col("period"), pl.lit(submission.period))
                            .dt.strftime("%Y-%m")),
                person_id="person_id", scheme_id="scheme_id",
                period=pl.coalesce(pl.col("period"), pl.lit(submission.period)),
                amount_minor="amount_minor",
                currency=_col(paid, "currency", "USD"),
                paid_on=pl.coalesce(_col(paid, "paid_on", None, pl.Date),
                                    pl.col("period"), pl.lit(submission.period)),
            ).unique("source_ref", keep="last")
            count("payments", payments_upsert_bulk, pay, unmapped(
                currency="currency", paid_on="paid_on"))
    images = pl.concat(changed, how="vertical_relaxed")
    if images.height:
        bulk_insert(ChangedRow, images.with_columns(submission_id=pl.lit(submission.pk)))
    return counts


def _col(frame: pl.DataFrame, name: str, default: object = None,
         dtype: pl.DataType | type[pl.DataType] = pl.String) -> pl.Expr:
    """A mapped column with a default where the mapping has no such field or the cell is
    empty."""
    fallback = pl.lit(default, dtype=dtype)
    if name not in frame.columns:
        return fallback
    return pl.col(name).cast(dtype).fill_null(fallback) if default is not None else \
        pl.col(name).cast(dtype)
