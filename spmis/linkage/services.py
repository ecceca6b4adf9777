"""Linkage: train and run the model over the registry, keep the links, derive identities."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from spmis.access.models import ApprovalStatus, Role, User
from spmis.access.services import approval_decide, approval_request, permission_require
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock, formatting
from spmis.core.bulk import bulk_insert, read_frame
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from spmis.intake.models import Source
from spmis.linkage import engine
from spmis.linkage.graph import Pair, components, components_of, groups, min_cut, pair
from spmis.linkage.models import (
    JOINING,
    Cut,
    CutKind,
    Link,
    LinkageModel,
    LinkageRun,
    LinkState,
    PersonIdentity,
    VerificationFlag,
)
from spmis.linkage.selectors import REVIEW_PERMISSION, link_in_scope
from spmis.registry.models import Person
from spmis.registry.selectors import persons_in_scope_for

Progress = Callable[[str], None]
DECIDED = (LinkState.MATCH, LinkState.NON_MATCH, LinkState.UNSURE)
ID_CHUNK = 10_000  # SQLite limits the parameters of one statement


RECORDS_SQL = """
SELECT p.id, p.given_name, p.family_name, CAST(p.date_of_birth AS TEXT), p.sex, p.area_id,
       p.national_id, h.address
FROM registry_person p LEFT JOIN registry_household h ON h.id = p.household_id
"""


RECORD_SCHEMA = {"id": pl.Int64, "given_name": pl.String, "surname": pl.String,
                 "date_of_birth": pl.String, "sex": pl.String, "area": pl.Int64,
                 "national_id": pl.String, "address": pl.String}


def registry_records(*, source: Source | None = None) -> pl.DataFrame:
    """Person records in the shape the engine reads: one query straight into a frame."""
    sql, params = RECORDS_SQL, []
    if source is not None:
        sql, params = sql + " WHERE p.source_id = %s", [source.pk]
    frame = read_frame(sql, params, RECORD_SCHEMA)
    return frame.with_columns(pl.col("id", "area").cast(pl.String))


def shared_national_ids() -> set[str]:
    """The national IDs (as stored) that the engine reads as shared -- carried by more than
    ``engine.SHARED_ID_NAMES`` people with other names and dates of birth, an office's or a
    household's number: like a placeholder, such an ID joins nobody. The engine's own rule,
    run on the records of the IDs that repeat often enough to be shared."""
    frame = read_frame(
        RECORDS_SQL + " WHERE p.national_id IN (SELECT national_id FROM registry_person "
        "WHERE national_id IS NOT NULL GROUP BY national_id HAVING COUNT(*) > %s)",
        [engine.SHARED_ID_NAMES], RECORD_SCHEMA).with_columns(pl.col("id", "area").cast(pl.String))
    if frame.height < engine.MIN_RECORDS:
        return set()
    prepared = engine.prepare(frame).frame.select(
        id="unique_id", kept=pl.col("national_id").is_not_null())
    shared = frame.join(prepared, on="id").filter(
        ~pl.col("kept") & ~engine.placeholder_id_mask(pl.col("national_id")))
    return set(shared["national_id"].to_list())


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
        identities = identities_derive(run=run, persons=_usable_ids_of(
            records, prepared) if source is None else None, usable=source is None)
        run.counts = {"records": records.height, "pairs_scored": pairs.height, **stored,
                      **identities, **prepared.counts()}
        run.finished_at = clock.now()
        run.save(update_fields=["counts", "finished_at"])
        audit_record(actor=actor, action=AuditAction.LINKAGE_RUN, object_type="linkage_run",
                     object_id=run.pk, detail={"model": model.version, "counts": run.counts,
                                               "source": source_code or ""})
    return run


def _usable_ids_of(records: pl.DataFrame, prepared: engine.Prepared) -> pl.DataFrame:
    """``id, national_id`` of the records as stored, blank where the engine read the ID as a
    placeholder or shared (its prepared records say so)."""
    kept = prepared.frame.select(id="unique_id", kept=pl.col("national_id").is_not_null())
    return records.select("id", "national_id").join(kept, on="id", how="left").select(
        pl.col("id").cast(pl.Int64),
        national_id=pl.when(pl.col("kept")).then(pl.col("national_id")))


def _store_links(run: LinkageRun, model: LinkageModel, pairs: pl.DataFrame,
                 source: Source | None) -> dict[str, int]:
    """Undecided links among these records are replaced; decided ones keep their decision,
    and so do those whose decision is waiting for an approver."""
    kept = Q(state__in=DECIDED) | ~Q(pending_state="")
    decided = pl.DataFrame(
        list(Link.objects.filter(kept).values_list("person_l_id", "person_r_id")),
        schema={"person_l_id": pl.Int64, "person_r_id": pl.Int64}, orient="row")
    undecided = Link.objects.exclude(kept)
    if source is not None:  # a run over one source's records replaces only their pairs
        undecided = undecided.filter(person_l__source=source, person_r__source=source)
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
    # A pair scored as before (same model, weight and state) keeps its row and the run that
    # made it: a run over a registry that barely changed writes only what changed.
    sql, params = undecided.values_list("id", "person_l_id", "person_r_id", "match_weight",
                                        "state", "run__model_id").query.sql_with_params()
    old = read_frame(sql, list(params), {"id": pl.Int64, "person_l_id": pl.Int64,
                                         "person_r_id": pl.Int64, "old_weight": pl.Float64,
                                         "old_state": pl.String, "model": pl.Int64})
    same = frame.join(old.filter(pl.col("model") == model.pk),
                      on=["person_l_id", "person_r_id"]).filter(
        pl.col("state") == pl.col("old_state"),
        (pl.col("match_weight") - pl.col("old_weight")).abs() < 1e-9)
    if same.height == 0:
        _delete_links(undecided)
    else:
        _delete_ids(old.join(same.select("id"), on="id", how="anti")["id"].to_list())
    bulk_insert(Link, frame.join(same.select("person_l_id", "person_r_id"),
                                 on=["person_l_id", "person_r_id"], how="anti"))
    counts = dict(frame.group_by("state").len().iter_rows())
    return {"auto_links": counts.get(LinkState.AUTO.value, 0),
            "review_pairs": counts.get(LinkState.REVIEW.value, 0)}


def _delete_links(links: QuerySet[Link]) -> None:
    """One DELETE for the replaced pairs (the ORM would load each row to look for its cuts;
    cuts belong to decided pairs, which are kept, so an undecided pair has none)."""
    selected, params = links.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{Link._meta.db_table}" WHERE "id" IN ({selected})',
                       params)


def _delete_ids(ids: list[int]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start:start + ID_CHUNK]
            cursor.execute(f'DELETE FROM "{Link._meta.db_table}" WHERE "id" IN ('
                           + ", ".join(["%s"] * len(chunk)) + ")", chunk)


def _ids() -> list[pl.Expr]:
    return [pl.col("id_l").cast(pl.Int64), pl.col("id_r").cast(pl.Int64)]


def _joining() -> Q:
    """Links that join: automatic and confirmed ones, and those a reviewer was unsure of that
    joined before (UNSURE changes no identity)."""
    return Q(state__in=JOINING) | Q(state=LinkState.UNSURE, prior_state__in=JOINING)


def _refusing() -> Q:
    """Links whose pair may not join directly: "not a match", or unsure of one."""
    return Q(state=LinkState.NON_MATCH) | Q(state=LinkState.UNSURE,
                                            prior_state=LinkState.NON_MATCH)


def _pair_frame(rows: Any) -> pl.DataFrame:
    sql, params = rows.values_list("person_l_id", "person_r_id").query.sql_with_params()
    return read_frame(sql, list(params), {"a": pl.Int64, "b": pl.Int64})


def identities_derive(*, run: LinkageRun | None = None, persons: pl.DataFrame | None = None,
                      usable: bool = False) -> dict[str, int]:
    """Connected components of (same national ID) + automatic and confirmed links, without
    the pairs refused (a reviewer's "not a match", and the cuts made to carry one out). Each
    identity is named by its lowest person record id. ``persons`` (id, national_id of every
    record) saves reading them again; ``usable``: their placeholder and shared IDs are
    already blanked (a run's prepared records say which)."""
    if persons is None:
        persons = read_frame("SELECT id, national_id FROM registry_person", [],
                             {"id": pl.Int64, "national_id": pl.String})
    links = _pair_frame(Link.objects.filter(_joining()))
    refused = pl.concat([_pair_frame(Link.objects.filter(_refusing())),
                         _pair_frame(Cut.objects.all())]).unique()
    holders = persons.filter(pl.col("national_id").is_not_null())
    if not usable:  # a placeholder (0, N/A, ...) or a shared ID is no ID: it joins nobody
        shared = pl.Series(sorted(shared_national_ids()), dtype=pl.String)
        holders = holders.filter(~engine.placeholder_id_mask(pl.col("national_id"))
                                 & ~pl.col("national_id").is_in(shared.implode()))
    holders = holders.select(a="id", v="national_id")
    # A national ID joins its holders. Where two of them were refused, it joins them pair by
    # pair (all but the refused pairs); elsewhere through its first holder (the same
    # components, far fewer edges).
    split = refused.join(holders, on="a").join(holders.rename({"a": "b", "v": "vb"}),
                                               on="b").filter(pl.col("v") == pl.col("vb"))["v"]
    star = holders.filter(~pl.col("v").is_in(split.implode())).with_columns(
        first=pl.col("a").min().over("v")).filter(pl.col("a") != pl.col("first")).select(
        a="first", b="a")
    pairwise = holders.filter(pl.col("v").is_in(split.implode()))
    pairwise = pairwise.join(pairwise.rename({"a": "b"}), on="v").filter(
        pl.col("a") < pl.col("b")).select("a", "b")
    edges = pl.concat([star, pairwise, links]).join(refused, on=["a", "b"], how="anti")
    labels = components_of(persons["id"], edges)
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
    Cut.objects.filter(involved).delete()
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
    """Rewrite only the records whose identity changed (usually a handful). A rewritten row
    keeps the run it came from unless ``run`` derived it."""
    old = read_frame("SELECT person_id, identity, run_id FROM linkage_personidentity", [],
                     {"person_id": pl.Int64, "identity": pl.Int64, "run_id": pl.Int64})
    with connection.cursor() as cursor:
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
    kept = changed.select("person_id", "identity").join(
        old.select("person_id", "run_id"), on="person_id", how="left")
    if run is not None:
        kept = kept.with_columns(run_id=pl.lit(run.pk, pl.Int64))
    bulk_insert(PersonIdentity, kept)


MAX_IDENTITY = 2_000  # records: a larger "identity" is a national ID many records share
CUT_STRENGTH = {"MATCH": 3_000, "NATIONAL_ID": 2_000}  # an automatic link: 1 + 1000 p


@dataclass(frozen=True)
class CutJoin:
    """A join that stops holding two records together: a link (its state and probability),
    a shared national ID, or both."""

    person_l: int
    person_r: int
    kind: str
    state: str
    probability: float | None


@dataclass(frozen=True)
class DecisionEffect:
    """What a decision on two records does to identities, before it is applied: the
    identities they are in now and after (each a sorted tuple of record ids), the joins it
    cuts, and the refusals it would break (a decision that breaks one is refused)."""

    person_l: int
    person_r: int
    decision: str
    before: tuple[tuple[int, ...], ...]
    after: tuple[tuple[int, ...], ...]
    cuts: tuple[CutJoin, ...]
    conflicts: tuple[tuple[int, int, int], ...]  # (record, record, the link that refused)
    prior_state: str = ""

    @property
    def changes(self) -> bool:
        return self.before != self.after

    @property
    def separates(self) -> bool:
        return len(self.after) > len(self.before)

    @property
    def token(self) -> str:
        """A fingerprint of the effect: applied only while it is still what was shown."""
        shown = [self.decision, [(c.person_l, c.person_r) for c in self.cuts], self.after]
        return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:16]


@dataclass
class _Graph:
    """The joins and refusals among a few records (one or two identities)."""

    members: set[int] = field(default_factory=set)
    links: dict[Pair, tuple[int, str, str, float | None]] = field(default_factory=dict)
    shared: set[Pair] = field(default_factory=set)
    cuts: dict[Pair, set[int]] = field(default_factory=dict)

    def held(self, decided: Pair, state: str | None, prior: str,
             without_cuts_of: int | None) -> set[Pair]:
        """The joins that hold with the decided pair in ``state`` (None: no link) and the
        cuts of decision ``without_cuts_of`` gone."""
        refused = {p for p, by in self.cuts.items() if by - {without_cuts_of}}
        joined = set(self.shared)
        links = {p: (s, pr) for p, (_i, s, pr, _p) in self.links.items()}
        links.pop(decided, None)
        if state is not None:
            links[decided] = (state, prior)
        for p, (s, pr) in links.items():
            if _joins(s, pr):
                joined.add(p)
            elif _refuses(s, pr):
                refused.add(p)
        return joined - refused

    def strength(self, p: Pair, decided: Pair) -> tuple[int, str, str, float | None]:
        """How hard a join is to cut (the weaker, the sooner), its kind, state, probability."""
        shared = p in self.shared
        _id, state, prior, probability = self.links.get(p, (0, "", "", None))
        state = prior if state == LinkState.UNSURE else state
        linked = p != decided and _joins(state, "")
        kind = CutKind.BOTH if shared and linked else (
            CutKind.NATIONAL_ID if shared else CutKind.LINK)
        score = max(CUT_STRENGTH["NATIONAL_ID"] if shared else 0,
                    CUT_STRENGTH["MATCH"] if linked and state == LinkState.MATCH else 0,
                    1 + round(1000 * (probability or 0)) if linked else 0)
        return score, kind, state if linked else "", probability if linked else None


def _joins(state: str | None, prior: str) -> bool:
    return state in JOINING or (state == LinkState.UNSURE and prior in JOINING)


def _refuses(state: str | None, prior: str) -> bool:
    return state == LinkState.NON_MATCH or (state == LinkState.UNSURE
                                            and prior == LinkState.NON_MATCH)


def _chunks(ids: set[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i:i + ID_CHUNK] for i in range(0, len(ordered), ID_CHUNK)]


def _load(graph: _Graph, records: set[int], shared: pl.Series) -> None:
    """Every link, cut and shared national ID touching ``records`` into ``graph``."""
    for chunk in _chunks(records):
        touching = Q(person_l__in=chunk) | Q(person_r__in=chunk)
        for low, high, pk, state, prior, probability in Link.objects.filter(
                touching).values_list("person_l_id", "person_r_id", "id", "state",
                                      "prior_state", "match_probability"):
            graph.links[(low, high)] = (pk, state, prior, probability)
        for low, high, decision in Cut.objects.filter(touching).values_list(
                "person_l_id", "person_r_id", "decision_id"):
            graph.cuts.setdefault((low, high), set()).add(decision)
        held = dict(Person.objects.filter(pk__in=chunk, national_id__isnull=False)
                    .values_list("id", "national_id"))
        # As identities_derive: a placeholder or a shared ID joins nobody.
        usable = _usable_ids({v for v in held.values() if v is not None}, shared)
        held = {a: v for a, v in held.items() if v in usable}
        holders = Person.objects.filter(national_id__in=usable).values_list(
            "id", "national_id")
        graph.shared |= {pair(a, other) for other, value in holders
                         for a in records & _of(held, value) if a != other}


def _usable_ids(values: set[str], shared: pl.Series) -> list[str]:
    """The national IDs that join records: not placeholders, not ``shared`` (the rule
    identities_derive uses)."""
    frame = pl.DataFrame({"v": list(values)}, schema={"v": pl.String})
    return frame.filter(~engine.placeholder_id_mask(pl.col("v"))
                        & ~pl.col("v").is_in(shared.implode()))["v"].to_list()


def _of(held: dict[int, str | None], value: str | None) -> set[int]:
    return {a for a, v in held.items() if v == value}


def _identity_graph(x: int, y: int) -> _Graph:
    """The records joined to ``x`` or ``y`` as things stand, and their joins and refusals,
    read a step at a time from the two records outwards."""
    graph, frontier = _Graph(), {x, y}
    # Read once: a shared ID (an office's number) joins nobody, at every step.
    shared = pl.Series(sorted(shared_national_ids()), dtype=pl.String)
    while frontier:
        graph.members |= frontier
        if len(graph.members) > MAX_IDENTITY:
            raise ValidationFailed(_(
                "Records %(x)s and %(y)s are in an identity of more than %(n)s records (a "
                "national ID many records share?); it cannot be decided pair by pair.") % {
                    "x": x, "y": y, "n": formatting.number(MAX_IDENTITY)})
        _load(graph, frontier, shared)
        held = graph.held((0, 0), None, "", None)
        frontier = {n for p in held if p[0] in graph.members or p[1] in graph.members
                    for n in p} - graph.members
    inside = graph.members
    graph.links = {p: v for p, v in graph.links.items() if p[0] in inside and p[1] in inside}
    graph.shared = {p for p in graph.shared if p[0] in inside and p[1] in inside}
    graph.cuts = {p: v for p, v in graph.cuts.items() if p[0] in inside and p[1] in inside}
    return graph


def _effect(graph: _Graph, link: Link | None, x: int, y: int,
            decision: str) -> DecisionEffect:
    decided = pair(x, y)
    own = link.pk if link is not None and link.pk else None
    state, prior = (link.state, link.prior_state) if link is not None and own else (None, "")
    now = graph.held(decided, state, prior, None)
    before = components(graph.members, now)
    new_prior = ""
    if decision == "REOPEN":
        assert link is not None
        new_state: str | None = None if link.match_probability is None else (
            LinkState.AUTO if link.match_probability >= link.run.model.upper
            else LinkState.REVIEW)
    elif decision == LinkState.UNSURE:
        new_state = LinkState.UNSURE
        new_prior = prior if state == LinkState.UNSURE else (state or LinkState.REVIEW)
    else:
        new_state = decision
    keep_cuts = decision == LinkState.UNSURE
    held = graph.held(decided, new_state, new_prior, None if keep_cuts else own)
    cuts: list[CutJoin] = []
    if decision == LinkState.NON_MATCH:
        if decided in now:  # the pair's own join goes with the decision
            _s, kind, join_state, probability = graph.strength(decided, (0, 0))
            cuts.append(CutJoin(*decided, kind, join_state, probability))
        strength = {p: graph.strength(p, decided)[0] for p in held}
        for p in min_cut(strength, *decided):
            _s, kind, join_state, probability = graph.strength(p, decided)
            cuts.append(CutJoin(*p, kind, join_state, probability))
        held -= {(c.person_l, c.person_r) for c in cuts}
    after = components(graph.members, held)
    refusals = {p: v[0] for p, v in graph.links.items() if p != decided and _refuses(*v[1:3])}
    if _refuses(new_state, new_prior):
        refusals.pop(decided, None)
    conflicts = [(a, b, pk) for (a, b), pk in sorted(refusals.items())
                 if after[a] == after[b] and before[a] != before[b]]
    if decision == LinkState.MATCH:
        conflicts += [(*decided, by) for by in sorted(graph.cuts.get(decided, set()) - {own})]
    touched = {before[x], before[y]}
    return DecisionEffect(
        person_l=decided[0], person_r=decided[1], decision=decision,
        before=groups({n: label for n, label in before.items() if label in touched}),
        after=groups({n: after[n] for n, label in before.items() if label in touched}),
        cuts=tuple(cuts), conflicts=tuple(conflicts), prior_state=new_prior)


def link_decision_preview(*, actor: User | None, link_id: int,
                          decision: str) -> DecisionEffect:
    """What ``decision`` on the link would do, without doing it: shown to the reviewer
    before a decision that separates records is applied."""
    _check_decision(decision, reason="-")
    if actor is not None:
        _require_reviewer(actor, link_id)
    link = Link.objects.select_related("run__model").filter(pk=link_id).first()
    if link is None:
        raise NotFound(f"No link {link_id}.")
    return _effect(_identity_graph(link.person_l_id, link.person_r_id), link,
                   link.person_l_id, link.person_r_id, decision)


def pair_decision_preview(*, actor: User | None, person_a: int, person_b: int,
                          decision: str) -> DecisionEffect:
    """The same for two records, whether or not they were ever scored as a pair."""
    link = _pair_link(actor, person_a, person_b, decision)
    if link.pk:
        return link_decision_preview(actor=actor, link_id=link.pk, decision=decision)
    return _effect(_identity_graph(link.person_l_id, link.person_r_id), None,
                   link.person_l_id, link.person_r_id, decision)


def _pair_link(actor: User | None, person_a: int, person_b: int, decision: str) -> Link:
    """The pair's link, or an unsaved one for a pair never scored (MATCH or NON_MATCH only)."""
    low, high = sorted((person_a, person_b))
    if low == high:
        raise ValidationFailed(_("Choose two different records."))
    if actor is not None:
        permission_require(user=actor, permission=REVIEW_PERMISSION,
                           doing="decide linkage pairs")
        inside = persons_in_scope_for(user=actor, permission=REVIEW_PERMISSION)
        if inside.filter(pk__in=[low, high]).count() != 2:
            audit_record(actor=actor, action=AuditAction.LINKAGE_VIEW_REFUSED,
                         object_type="person", object_id=f"{low}-{high}",
                         detail={"decision": True})
            raise NotFound(f"No records {low} and {high}.")
    elif Person.objects.filter(pk__in=[low, high]).count() != 2:
        raise NotFound(f"No records {low} and {high}.")
    link = Link.objects.filter(person_l_id=low, person_r_id=high).first()
    if link is not None:
        return link
    if decision not in (LinkState.MATCH, LinkState.NON_MATCH):
        raise ValidationFailed(_("Records %(a)s and %(b)s were never scored as a pair: only "
                                 "Match or Not a match can be decided on them.") % {
                                     "a": low, "b": high})
    run = LinkageRun.objects.order_by("-id").first()
    if run is None:
        raise ValidationFailed(_("Link the registry first (spmis linkage run)."))
    return Link(person_l_id=low, person_r_id=high, run=run, match_probability=None,
                match_weight=None, weights={}, state=LinkState.REVIEW)


def pair_decide(*, actor: User | None, person_a: int, person_b: int, decision: str,
                reason: str = "", expect: str | None = None) -> Link:
    """A decision on two records, whether or not they were ever scored as a pair: a pair
    never scored (joined only through other records, or by a shared national ID) gets a link
    of its own, with no probability, to hold the decision."""
    _check_decision(decision, reason)
    with transaction.atomic():
        link = _pair_link(actor, person_a, person_b, decision)
        if not link.pk:
            link.save()
        return link_decide(actor=actor, link_id=link.pk, decision=decision, reason=reason,
                           expect=expect)


def _check_decision(decision: str, reason: str) -> None:
    allowed = {*(s.value for s in DECIDED), "REOPEN"}
    if decision not in allowed:
        raise ValidationFailed(_("Decision must be one of %(choices)s.") % {
            "choices": ", ".join(sorted(allowed))})
    if decision in (LinkState.NON_MATCH, LinkState.UNSURE) and not reason.strip():
        raise ValidationFailed(_("Say why: a reason is required for this decision."))


def link_decide(*, actor: User | None, link_id: int, decision: str, reason: str = "",
                expect: str | None = None) -> Link:
    """A reviewer's decision on a pair: MATCH, NON_MATCH or UNSURE; REOPEN returns the pair
    to what its score says. NON_MATCH separates the two records even when other joins hold
    them together: the fewest joins between them are cut (``link_decision_preview`` shows
    which). UNSURE changes no identity. A decision that would join two records a reviewer
    refused is refused. Identities are re-derived in the same transaction; ``expect`` (the
    token of the effect shown) refuses the decision if the effect has changed since. With
    maker-checker configured, MATCH, NON_MATCH and a REOPEN that changes identities or undoes
    either wait for an approver instead."""
    _check_decision(decision, reason)
    if actor is not None:
        _require_reviewer(actor, link_id)
    with transaction.atomic():
        link = _link_for_update(link_id)
        if link.request_id is not None:
            raise Conflict(_("Pair %(n)s already has a decision waiting for an approver.") % {
                "n": link_id})
        graph = _identity_graph(link.person_l_id, link.person_r_id)
        effect = _effect(graph, link, link.person_l_id, link.person_r_id, decision)
        _check_effect(effect, expect)
        if settings.SPMIS_LINKAGE_CHECKER and actor is not None and _checked(link, effect):
            return _ask_checker(link, actor, decision, reason, effect)
        return _apply(link, actor, decision, reason, effect)


def _check_effect(effect: DecisionEffect, expect: str | None) -> None:
    if expect is not None and expect != effect.token:
        raise Conflict(_("The identities of these records changed since the decision's effect "
                         "was shown: look at it again."))
    if effect.conflicts:
        a, b, by = effect.conflicts[0]
        raise Conflict(_("This decision would join records %(a)s and %(b)s, which the decision "
                         "on pair %(by)s keeps apart: reopen that decision first.") % {
                             "a": a, "b": b, "by": by})


def _checked(link: Link, effect: DecisionEffect) -> bool:
    """Whether the decision waits for an approver: every decision that changes identities,
    and every match or not-a-match (they teach the model), or undoing one."""
    labelled = (LinkState.MATCH, LinkState.NON_MATCH)
    was = link.prior_state if link.state == LinkState.UNSURE else link.state
    return effect.decision in labelled or (effect.decision == "REOPEN" and (
        effect.changes or was in labelled))


def _require_reviewer(user: User, link_id: int) -> None:
    """Only a user who may review linkage (registrars, targeting officers) where both records
    live decides on a pair."""
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
           effect: DecisionEffect, checker: User | None = None) -> Link:
    before, pk = link.state, link.pk
    if decision != LinkState.UNSURE:
        link.cuts.all().delete()
    link.pending_state, link.pending_reason, link.pending_by, link.request = "", "", None, None
    link.pending_effect = ""
    if decision == "REOPEN" and link.match_probability is None:
        link.delete()  # a pair never scored: its link was only the decision's
        link.pk, link.state = pk, LinkState.REVIEW
    else:
        if decision == "REOPEN":
            link.state = LinkState.AUTO if (link.match_probability or 0) >= \
                link.run.model.upper else LinkState.REVIEW
            link.decided_by, link.decided_at, link.reason = None, None, ""
        else:
            link.state = decision
            link.decided_by, link.decided_at, link.reason = actor, clock.now(), reason[:400]
        link.prior_state = effect.prior_state
        link.save()
        Cut.objects.bulk_create(
            Cut(decision=link, person_l_id=c.person_l, person_r_id=c.person_r, kind=c.kind)
            for c in effect.cuts if (c.person_l, c.person_r) != (effect.person_l,
                                                                 effect.person_r))
    changed = _write_members(effect)
    audit_record(actor=checker or actor, action=AuditAction.LINKAGE_DECIDE, object_type="link",
                 object_id=pk, detail={
                     "from": before, "to": link.state, "reason": reason[:400],
                     "maker": actor.username if actor else None,
                     "cuts": [[c.person_l, c.person_r, c.kind] for c in effect.cuts],
                     "identities_before": [list(g) for g in effect.before],
                     "identities_after": [list(g) for g in effect.after],
                     "records_changed": changed})
    return link


def _write_members(effect: DecisionEffect) -> int:
    """Store the identities after the decision for its records (only the rows that change,
    each keeping the run it came from); returns how many changed."""
    labels = {n: group[0] for group in effect.after for n in group}
    old = {p: (identity, run) for p, identity, run in PersonIdentity.objects.filter(
        person_id__in=list(labels)).values_list("person_id", "identity", "run_id")}
    changed = [p for p, label in labels.items() if old.get(p, (None, None))[0] != label]
    PersonIdentity.objects.filter(person_id__in=changed).delete()
    PersonIdentity.objects.bulk_create(
        PersonIdentity(person_id=p, identity=labels[p], run_id=old.get(p, (None, None))[1])
        for p in changed)
    return len(changed)


def _ask_checker(link: Link, maker: User, decision: str, reason: str,
                 effect: DecisionEffect) -> Link:
    area = Person.objects.select_related("area").get(pk=link.person_l_id).area
    request = approval_request(maker=maker, object_type="link", object_id=link.pk,
                               action=f"linkage.decide:{decision}",
                               approver_role=Role.APPROVER, area_code=area.code)
    link.pending_state, link.pending_reason = decision, reason[:400]
    link.pending_by, link.request, link.pending_effect = maker, request, effect.token
    link.save(update_fields=["pending_state", "pending_reason", "pending_by", "request",
                             "pending_effect"])
    audit_record(actor=maker, action=AuditAction.LINKAGE_DECIDE_REQUESTED, object_type="link",
                 object_id=link.pk, detail={
                     "decision": decision, "request": request.pk,
                     "cuts": [[c.person_l, c.person_r, c.kind] for c in effect.cuts],
                     "identities_after": [list(g) for g in effect.after]})
    return link


def link_decision_check(*, checker: User, link_id: int, approve: bool,
                        reason: str = "") -> Link:
    """An approver (never the reviewer) approves or rejects a waiting review decision. It is
    applied only while its effect is still the one the reviewer was shown."""
    with transaction.atomic():
        link = _link_for_update(link_id)
        if link.request_id is None:
            raise NotFound(f"Link {link_id} has no decision waiting for an approver.")
        effect = None
        if approve:
            effect = _effect(_identity_graph(link.person_l_id, link.person_r_id), link,
                             link.person_l_id, link.person_r_id, link.pending_state)
            _check_effect(effect, link.pending_effect or None)
        request = approval_decide(checker=checker, request_id=link.request_id,
                                  approve=approve, reason=reason)
        if request.status == ApprovalStatus.APPROVED:
            assert effect is not None
            return _apply(link, link.pending_by, link.pending_state, link.pending_reason,
                          effect, checker=checker)
        if request.status == ApprovalStatus.REJECTED:
            link.pending_state, link.pending_reason, link.pending_by, link.request = (
                "", "", None, None)
            link.pending_effect = ""
            if link.match_probability is None and link.state == LinkState.REVIEW:
                pk = link.pk
                link.delete()  # a pair never scored, held only for the refused decision
                link.pk = pk
            else:
                link.save(update_fields=["pending_state", "pending_reason", "pending_by",
                                         "request", "pending_effect"])
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
    if link.match_probability is None:
        raise NotFound(f"Records {low} and {high} were never scored as a pair: a reviewer "
                       f"decided them ({link.state}) as records of one identity.")
    model = link.run.model
    return {"person_l": low, "person_r": high, "state": link.state,
            "match_probability": link.match_probability, "match_weight": link.match_weight,
            "prior_weight": round(engine.prior_weight(model.spec), 3),
            "weights": json.loads(link.weights) if isinstance(link.weights, str)
            else link.weights,
            "model": model.version, "upper": model.upper, "lower": model.lower,
            "decided_by": link.decided_by.username if link.decided_by else None,
            "reason": link.reason}

