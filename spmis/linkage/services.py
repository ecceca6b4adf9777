"""Linkage: train and run the model over the registry, keep the links, derive identities."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from spmis.access.models import ApprovalStatus, Role, User
from spmis.access.services import approval_decide, approval_request, permission_require
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.bulk import bulk_insert
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from spmis.intake.models import Source
from spmis.linkage import engine
from spmis.linkage.models import (
    JOINING,
    Link,
    LinkageModel,
    LinkageRun,
    LinkState,
    PersonIdentity,
    VerificationFlag,
)
from spmis.linkage.selectors import REVIEW_PERMISSION, link_in_scope
from spmis.registry.models import Person

Progress = Callable[[str], None]
DECIDED = (LinkState.MATCH, LinkState.NON_MATCH, LinkState.UNSURE)
ID_CHUNK = 10_000  # SQLite limits the parameters of one statement


RECORDS_SQL = """
SELECT p.id, p.given_name, p.family_name, CAST(p.date_of_birth AS TEXT), p.sex, p.area_id,
       p.national_id, h.address
FROM registry_person p LEFT JOIN registry_household h ON h.id = p.household_id
"""


def registry_records(*, source: Source | None = None) -> pl.DataFrame:
    """Person records in the shape the engine reads: one query straight into a frame."""
    sql, params = RECORDS_SQL, []
    if source is not None:
        sql, params = sql + " WHERE p.source_id = %s", [source.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    frame = pl.DataFrame(rows, orient="row", schema={
        "id": pl.Int64, "given_name": pl.String, "surname": pl.String,
        "date_of_birth": pl.String, "sex": pl.String, "area": pl.Int64,
        "national_id": pl.String, "address": pl.String})
    return frame.with_columns(pl.col("id", "area").cast(pl.String))


def model_train(*, actor: User | None, prepared: engine.Prepared,
                progress: Progress | None = None) -> LinkageModel:
    confirmed = pl.DataFrame(
        list(Link.objects.filter(state=LinkState.MATCH).values_list("person_l_id",
                                                                    "person_r_id")),
        schema={"id_l": pl.Int64, "id_r": pl.Int64}, orient="row")
    ids = prepared.frame["unique_id"].cast(pl.Int64).implode()
    confirmed = confirmed.filter(pl.col("id_l").is_in(ids) & pl.col("id_r").is_in(ids))
    spec = engine.train(prepared, progress=progress, matches=confirmed)
    with transaction.atomic():
        last = LinkageModel.objects.order_by("-version").first()
        model = LinkageModel.objects.create(
            version=(last.version + 1) if last else 1, spec=spec,
            upper=last.upper if last else 0.95, lower=last.lower if last else 0.5,
            records=prepared.frame.height, trained_at=clock.now(), trained_by=actor)
        audit_record(actor=actor, action=AuditAction.LINKAGE_MODEL_TRAIN,
                     object_type="linkage_model",
                     object_id=model.pk, detail={"version": model.version,
                                                 "records": model.records,
                                                 "confirmed_matches": confirmed.height})
    return model


def linkage_run(*, actor: User | None, source_code: str | None = None, retrain: bool = False,
                progress: Progress | None = None) -> LinkageRun:
    """Score candidate pairs among the registry's person records (or one source's), keep
    them as links (reviewer decisions survive), and re-derive identities."""
    say = progress or (lambda _: None)
    source = None
    if source_code:
        source = Source.objects.filter(code=source_code).first()
        if source is None:
            raise NotFound(f"No source with code {source_code!r}.")
    say("reading person records")
    records = registry_records(source=source)
    say("preparing records")
    try:
        prepared = engine.prepare(records)
    except engine.LinkageError as exc:
        raise ValidationFailed(str(exc)) from exc
    model = LinkageModel.objects.order_by("-version").first()
    if model is None or retrain:
        say("training the model")
        model = model_train(actor=actor, prepared=prepared, progress=say)
    say(f"scoring pairs with model v{model.version}")
    pairs = engine.score(prepared, model.spec, threshold=model.lower)
    with transaction.atomic():
        run = LinkageRun.objects.create(model=model, source=source, started_at=clock.now(),
                                        actor=actor)
        say("storing links")
        stored = _store_links(run, model, pairs, source)
        say("deriving identities")
        identities = identities_derive(run=run, persons=records.select(
            pl.col("id").cast(pl.Int64), "national_id") if source is None else None)
        run.counts = {"records": records.height, "pairs_scored": pairs.height, **stored,
                      **identities}
        run.finished_at = clock.now()
        run.save(update_fields=["counts", "finished_at"])
        audit_record(actor=actor, action=AuditAction.LINKAGE_RUN, object_type="linkage_run",
                     object_id=run.pk, detail={"model": model.version, "counts": run.counts,
                                               "source": source_code or ""})
    return run


def _store_links(run: LinkageRun, model: LinkageModel, pairs: pl.DataFrame,
                 source: Source | None) -> dict[str, int]:
    """Undecided links among these records are replaced; decided ones keep their decision."""
    decided = pl.DataFrame(
        list(Link.objects.filter(state__in=DECIDED).values_list("person_l_id", "person_r_id")),
        schema={"person_l_id": pl.Int64, "person_r_id": pl.Int64}, orient="row")
    undecided = Link.objects.exclude(state__in=DECIDED)
    if source is not None:  # a run over one source's records replaces only their pairs
        undecided = undecided.filter(person_l__source=source, person_r__source=source)
    undecided.delete()
    frame = pairs.select(
        person_l_id=pl.min_horizontal(_ids()), person_r_id=pl.max_horizontal(_ids()),
        match_probability="match_probability", match_weight="match_weight", weights="weights",
    ).join(decided, on=["person_l_id", "person_r_id"], how="anti").with_columns(
        run_id=pl.lit(run.pk, pl.Int64),
        state=pl.when(pl.col("match_probability") >= model.upper)
        .then(pl.lit(LinkState.AUTO.value)).otherwise(pl.lit(LinkState.REVIEW.value)),
        decided_by_id=pl.lit(None, pl.Int64), decided_at=pl.lit(None, pl.Datetime("us", "UTC")),
        reason=pl.lit(""), pending_state=pl.lit(""), pending_reason=pl.lit(""),
        pending_by_id=pl.lit(None, pl.Int64), request_id=pl.lit(None, pl.Int64),
    )
    bulk_insert(Link, frame)
    counts = dict(frame.group_by("state").len().iter_rows())
    return {"auto_links": counts.get(LinkState.AUTO.value, 0),
            "review_pairs": counts.get(LinkState.REVIEW.value, 0)}


def _ids() -> list[pl.Expr]:
    return [pl.col("id_l").cast(pl.Int64), pl.col("id_r").cast(pl.Int64)]


def identities_derive(*, run: LinkageRun | None = None,
                      persons: pl.DataFrame | None = None) -> dict[str, int]:
    """Connected components of (same national ID) + automatic and confirmed links, without
    the pairs a reviewer refused. Each identity is named by its lowest person record id.
    ``persons`` (id, national_id of every record) saves reading them again."""
    if persons is None:
        persons = pl.DataFrame(list(Person.objects.values_list("id", "national_id")),
                               schema={"id": pl.Int64, "national_id": pl.String}, orient="row")
    by_id = persons.filter(pl.col("national_id").is_not_null()).with_columns(
        first=pl.col("id").min().over("national_id")).filter(pl.col("id") != pl.col("first"))
    id_edges = by_id.select(a="first", b="id")
    links = pl.DataFrame(
        list(Link.objects.filter(state__in=JOINING).values_list("person_l_id", "person_r_id")),
        schema={"a": pl.Int64, "b": pl.Int64}, orient="row")
    refused = pl.DataFrame(
        list(Link.objects.filter(state=LinkState.NON_MATCH)
             .values_list("person_l_id", "person_r_id")),
        schema={"a": pl.Int64, "b": pl.Int64}, orient="row")
    edges = pl.concat([id_edges, links]).join(refused, on=["a", "b"], how="anti")
    labels = _components(persons["id"], edges)
    frame = pl.DataFrame({"person_id": persons["id"], "label": labels}).with_columns(
        identity=pl.col("person_id").min().over("label"))
    _write_identities(frame.select("person_id", "identity"), run)
    sizes = frame.group_by("identity").len()
    conflicts = refused.join(frame.select(a="person_id", ia="identity"), on="a").join(
        frame.select(b="person_id", ib="identity"), on="b").filter(pl.col("ia") == pl.col("ib"))
    return {"identities": sizes.height,
            "identities_with_several_records": sizes.filter(pl.col("len") > 1).height,
            "records_in_shared_identities": int(sizes.filter(pl.col("len") > 1)["len"].sum()),
            "refused_pairs_still_joined": conflicts.height}


def persons_withdrawing_receiver(*, persons: Any, **_: Any) -> dict[str, int]:
    """Before a withdrawn submission's person records are deleted: their links and flags go,
    and the identities are derived again without them (one may have joined two others)."""
    involved = Q(person_l__in=persons) | Q(person_r__in=persons)
    links, _n = Link.objects.filter(involved).delete()
    flags, _n = VerificationFlag.objects.filter(
        Q(person__in=persons) | Q(evidence__in=persons)).delete()
    identified = PersonIdentity.objects.filter(person__in=persons).exists()
    if identified:
        rest = Person.objects.exclude(pk__in=persons.values("pk"))
        identities_derive(persons=pl.DataFrame(
            list(rest.values_list("id", "national_id")),
            schema={"id": pl.Int64, "national_id": pl.String}, orient="row"))
    return {"links removed": links, "flags removed": flags}


def _write_identities(new: pl.DataFrame, run: LinkageRun | None) -> None:
    """Rewrite only the records whose identity changed (usually a handful)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT person_id, identity FROM linkage_personidentity")
        old = pl.DataFrame(cursor.fetchall(), orient="row",
                           schema={"person_id": pl.Int64, "identity": pl.Int64})
        changed = new.join(old, on=["person_id", "identity"], how="anti")
        gone = old.join(new, on="person_id", how="anti")["person_id"].to_list()
        stale = [*changed["person_id"].to_list(), *gone]
        if len(stale) > old.height // 2:
            cursor.execute("DELETE FROM linkage_personidentity")
            changed = new
        else:
            for start in range(0, len(stale), ID_CHUNK):
                chunk = stale[start:start + ID_CHUNK]
                cursor.execute("DELETE FROM linkage_personidentity WHERE person_id IN ("
                               + ", ".join(["%s"] * len(chunk)) + ")", chunk)
    bulk_insert(PersonIdentity, changed.with_columns(
        run_id=pl.lit(run.pk if run else None, pl.Int64)))


def _components(ids: pl.Series, edges: pl.DataFrame) -> np.ndarray:
    """Component label of each id (sparse graph, C speed: no loop over persons)."""
    index = pl.DataFrame({"id": ids, "i": np.arange(ids.len())})
    e = edges.join(index.rename({"id": "a", "i": "ia"}), on="a").join(
        index.rename({"id": "b", "i": "ib"}), on="b")
    n = ids.len()
    graph = coo_matrix((np.ones(e.height), (e["ia"].to_numpy(), e["ib"].to_numpy())),
                       shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def link_decide(*, actor: User | None, link_id: int, decision: str,
                reason: str = "") -> Link:
    """A reviewer's decision on a pair: MATCH, NON_MATCH or UNSURE; REOPEN returns the pair
    to what its score says. Identities are re-derived in the same transaction. With
    maker-checker configured, MATCH and NON_MATCH wait for an approver instead."""
    allowed = {*(s.value for s in DECIDED), "REOPEN"}
    if decision not in allowed:
        raise ValidationFailed(f"Decision must be one of {', '.join(sorted(allowed))}.")
    if decision in (LinkState.NON_MATCH, LinkState.UNSURE) and not reason.strip():
        raise ValidationFailed("Say why: a reason is required for this decision.")
    if actor is not None:
        _require_reviewer(actor, link_id)
    with transaction.atomic():
        link = _link_for_update(link_id)
        if link.request_id is not None:
            raise Conflict(f"Link {link_id} already has a decision waiting for an approver.")
        if settings.SPMIS_LINKAGE_CHECKER and decision in CHECKED and actor is not None:
            return _ask_checker(link, actor, decision, reason)
        return _apply(link, actor, decision, reason)


CHECKED = (LinkState.MATCH, LinkState.NON_MATCH)


def _require_reviewer(user: User, link_id: int) -> None:
    """Only a user who may register persons where both records live decides on a pair."""
    permission_require(user=user, permission=REVIEW_PERMISSION, doing="decide linkage pairs")
    if not link_in_scope(user=user, link_id=link_id):
        audit_record(actor=user, action=AuditAction.LINKAGE_VIEW_REFUSED, object_type="link",
                     object_id=link_id, detail={"exists": Link.objects.filter(
                         pk=link_id).exists(), "decision": True})
        raise NotFound(f"No link {link_id}.")


def _link_for_update(link_id: int) -> Link:
    link = Link.objects.select_for_update().select_related("run__model").filter(
        pk=link_id).first()
    if link is None:
        raise NotFound(f"No link {link_id}.")
    return link


def _apply(link: Link, actor: User | None, decision: str, reason: str,
           checker: User | None = None) -> Link:
    before = link.state
    if decision == "REOPEN":
        model = link.run.model
        link.state = LinkState.AUTO if link.match_probability >= model.upper else \
            LinkState.REVIEW
        link.decided_by, link.decided_at, link.reason = None, None, ""
    else:
        link.state = decision
        link.decided_by, link.decided_at, link.reason = actor, clock.now(), reason[:400]
    link.pending_state, link.pending_reason, link.pending_by, link.request = "", "", None, None
    link.save()
    identities = identities_derive()
    audit_record(actor=checker or actor, action=AuditAction.LINKAGE_DECIDE, object_type="link",
                 object_id=link.pk, detail={"from": before, "to": link.state,
                                            "reason": reason[:400],
                                            "maker": actor.username if actor else None,
                                            **identities})
    return link


def _ask_checker(link: Link, maker: User, decision: str, reason: str) -> Link:
    area = Person.objects.select_related("area").get(pk=link.person_l_id).area
    request = approval_request(maker=maker, object_type="link", object_id=link.pk,
                               action=f"linkage.decide:{decision}",
                               approver_role=Role.APPROVER, area_code=area.code)
    link.pending_state, link.pending_reason = decision, reason[:400]
    link.pending_by, link.request = maker, request
    link.save(update_fields=["pending_state", "pending_reason", "pending_by", "request"])
    audit_record(actor=maker, action=AuditAction.LINKAGE_DECIDE_REQUESTED, object_type="link",
                 object_id=link.pk, detail={"decision": decision, "request": request.pk})
    return link


def link_decision_check(*, checker: User, link_id: int, approve: bool,
                        reason: str = "") -> Link:
    """An approver (never the reviewer) approves or rejects a waiting review decision."""
    with transaction.atomic():
        link = _link_for_update(link_id)
        if link.request_id is None:
            raise NotFound(f"Link {link_id} has no decision waiting for an approver.")
        request = approval_decide(checker=checker, request_id=link.request_id,
                                  approve=approve, reason=reason)
        if request.status == ApprovalStatus.APPROVED:
            return _apply(link, link.pending_by, link.pending_state, link.pending_reason,
                          checker=checker)
        if request.status == ApprovalStatus.REJECTED:
            link.pending_state, link.pending_reason, link.pending_by, link.request = (
                "", "", None, None)
            link.save(update_fields=["pending_state", "pending_reason", "pending_by",
                                     "request"])
        return link


def link_explain(*, person_a: int, person_b: int) -> dict[str, Any]:
    """Why two records are (not) linked: the stored score and each comparison's weight."""
    low, high = sorted((person_a, person_b))
    link = Link.objects.select_related("run__model").filter(person_l_id=low,
                                                            person_r_id=high).first()
    if link is None:
        raise NotFound(f"Records {low} and {high} were not scored as a candidate pair: no "
                       "blocking rule brought them together, or they scored below the lower "
                       "threshold.")
    model = link.run.model
    return {"person_l": low, "person_r": high, "state": link.state,
            "match_probability": link.match_probability, "match_weight": link.match_weight,
            "prior_weight": round(engine.prior_weight(model.spec), 3),
            "weights": json.loads(link.weights) if isinstance(link.weights, str)
            else link.weights,
            "model": model.version, "upper": model.upper, "lower": model.lower,
            "decided_by": link.decided_by.username if link.decided_by else None,
            "reason": link.reason}

