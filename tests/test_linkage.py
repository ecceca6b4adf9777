"""Linkage through its doors: the engine on files, the registry run, review, explain, unmerge."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core.errors import ValidationFailed
from spmis.linkage import engine
from spmis.linkage.models import Link, LinkState, PersonIdentity
from spmis.linkage.services import link_decide, link_explain, linkage_run
from spmis.registry.models import Person
from tests import factories
from tests.helpers import AS_OF

# ``linked`` (tests/conftest.py): a 20,000-person country whose district offices' files were
# taken in through intake, then linked; built once per session, a copy for each test.


def identity_pairs(frame: pl.DataFrame, key: str) -> set[tuple[int, int]]:
    pairs = frame.join(frame, on=key).filter(pl.col("id") < pl.col("id_right"))
    return set(pairs.select("id", "id_right").iter_rows())


@pytest.mark.django_db
def test_run_finds_the_people_recorded_twice_with_known_truth(linked):
    rows = pl.DataFrame(list(PersonIdentity.objects.values_list(
        "person_id", "identity", "person__source_ref")), schema=["id", "identity", "ref"],
        orient="row").with_columns(truth=pl.col("ref").str.slice(1))
    found, truth = identity_pairs(rows, "identity"), identity_pairs(rows, "truth")
    assert len(truth) > 500
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision >= 0.99 and recall >= 0.97, (precision, recall)
    assert linked.counts["records"] == Person.objects.count()
    assert AuditEvent.objects.filter(action="linkage.run").exists()


@pytest.mark.django_db
def test_unmerge_restores_exactly_and_reopening_merges_again(linked, make_user):
    reviewer = make_user("REGISTRAR", area="XY")
    before = dict(PersonIdentity.objects.values_list("person_id", "identity"))
    link = Link.objects.filter(state=LinkState.AUTO).order_by("id").first()
    with pytest.raises(ValidationFailed, match="reason"):
        link_decide(actor=reviewer, link_id=link.pk, decision="NON_MATCH")
    link_decide(actor=reviewer, link_id=link.pk, decision="NON_MATCH", reason="twins")
    split = dict(PersonIdentity.objects.values_list("person_id", "identity"))
    assert split[link.person_l_id] != split[link.person_r_id]
    # No record was changed or deleted by the merge or the split.
    assert Person.objects.count() == len(before)
    link_decide(actor=reviewer, link_id=link.pk, decision="REOPEN")
    assert dict(PersonIdentity.objects.values_list("person_id", "identity")) == before
    assert AuditEvent.objects.filter(action="linkage.decide").count() == 2


@pytest.mark.django_db
def test_a_three_record_chain_is_broken_by_the_review(linked, make_user):
    reviewer = make_user("REGISTRAR", area="XY")
    a, b, c = Person.objects.order_by("id")[:3]
    run = linked
    for left, right in ((a, b), (b, c)):
        factories.link(left, right, run=run, probability=0.99, weight=9, weights={},
                       state=LinkState.AUTO)
    link_decide(actor=reviewer, link_id=Link.objects.get(person_l=a, person_r=b).pk,
                decision="MATCH")
    ids = dict(PersonIdentity.objects.filter(person__in=[a, b, c])
               .values_list("person_id", "identity"))
    assert len(set(ids.values())) == 1  # three records, one person
    bc = Link.objects.get(person_l=b, person_r=c)
    link_decide(actor=reviewer, link_id=bc.pk, decision="NON_MATCH", reason="other person")
    ids = dict(PersonIdentity.objects.filter(person__in=[a, b, c])
               .values_list("person_id", "identity"))
    assert ids[a.pk] == ids[b.pk] != ids[c.pk]


@pytest.mark.django_db
def test_decisions_survive_a_new_run_and_explain_shows_the_weights(linked, make_user):
    reviewer = make_user("REGISTRAR", area="XY")
    link = Link.objects.filter(state=LinkState.AUTO).order_by("id").first()
    link_decide(actor=reviewer, link_id=link.pk, decision="NON_MATCH", reason="checked")
    linkage_run(actor=None)
    assert Link.objects.get(person_l=link.person_l, person_r=link.person_r).state == \
        LinkState.NON_MATCH
    why = link_explain(person_a=link.person_r_id, person_b=link.person_l_id)
    assert {"given_name", "surname", "date_of_birth"} <= set(why["weights"])
    total = why["prior_weight"] + sum(why["weights"].values())
    assert total == pytest.approx(why["match_weight"], abs=0.05)
    out = CliRunner().invoke(cli, ["linkage", "explain", "--pair", str(link.person_l_id),
                                   str(link.person_r_id)])
    assert out.exit_code == 0 and "surname" in out.output and "checked" in out.output


def test_a_run_over_an_unchanged_registry_rewrites_no_link(linked):
    """Pairs scored as before keep their rows (and the run that made them); a changed
    record's pairs are scored again and replaced."""
    before = set(Link.objects.values_list("id", "person_l_id", "person_r_id", "run_id"))
    again = linkage_run(actor=None)
    assert set(Link.objects.values_list("id", "person_l_id", "person_r_id", "run_id")) == before
    assert again.counts["auto_links"] == linked.counts["auto_links"]
    link = Link.objects.filter(state=LinkState.AUTO).order_by("id").first()
    person = link.person_r
    person.given_name = person.given_name + "x"
    person.save(update_fields=["given_name"])
    third = linkage_run(actor=None)
    moved = Link.objects.filter(person_l=link.person_l, person_r=link.person_r).first()
    assert moved is not None and moved.pk != link.pk and moved.run_id == third.pk
    # Most rows stay (pairs sharing the old given name move a little: its frequency fell).
    kept = before & set(Link.objects.values_list("id", "person_l_id", "person_r_id", "run_id"))
    assert len(kept) >= 0.9 * len(before)


def write(path, rows: list[dict]) -> str:
    pl.DataFrame(rows).write_csv(path)
    return str(path)


PERSON = {"id": "1", "given_name": "Amina", "surname": "Diallo", "date_of_birth": "1980-04-03",
          "sex": "F", "area": "X1"}


@pytest.mark.parametrize("rows,words", [
    ([{k: v for k, v in PERSON.items() if k != "surname"}] * 2, "Missing column(s): surname"),
    ([PERSON], "at least two"),
    ([PERSON, {**PERSON, "id": "2"}, {**PERSON, "id": "2"}], "unique"),
    ([{**PERSON, "given_name": "", "surname": ""}, {**PERSON, "id": "2", "given_name": "",
                                                   "surname": ""}], "empty names"),
])
def test_dedupe_refuses_bad_files_with_a_message(tmp_path, rows, words):
    out = CliRunner().invoke(cli, ["linkage", "dedupe", "--input",
                                   write(tmp_path / "in.csv", rows), "--output",
                                   str(tmp_path / "out.csv")])
    assert out.exit_code == 1 and words in out.output


def test_dedupe_on_a_small_file_with_impossible_dates_and_identical_records(tmp_path):
    rows = [{**PERSON, "id": str(i)} for i in range(60)]  # sixty identical records
    rows += [{**PERSON, "id": "x1", "given_name": "Kofi", "surname": "Mensah",
              "date_of_birth": "1990-02-31"},
             {**PERSON, "id": "x2", "given_name": "Kofi", "surname": "Mensah",
              "date_of_birth": "31/02/1990"}]
    target = tmp_path / "out.csv"
    out = CliRunner().invoke(cli, ["linkage", "dedupe", "--input",
                                   write(tmp_path / "in.csv", rows), "--output", str(target)])
    assert out.exit_code == 0, out.output
    pairs = pl.read_csv(target, schema_overrides={"id_l": pl.String, "id_r": pl.String})
    identical = pairs.filter(~pl.col("id_l").str.starts_with("x"))
    assert identical.height == 60 * 59 // 2  # every pair of the identical records
    assert (pairs["match_probability"] <= 1).all()


def test_phonetic_keys_group_spellings():
    names = pl.DataFrame({"n": ["Robert", "Rupert", "Rubin", "Ashcraft", "Tymczak", None, ""]})
    keys = names.select(engine.phonetic(pl.col("n"))).to_series().to_list()
    assert keys[0] == keys[1] == "r163" and keys[2] == "r150"
    assert keys[5] is None and keys[6] is None
    assert json.dumps(keys)  # plain strings


@pytest.mark.django_db
def test_the_dead_still_paid_are_flagged_and_confirming_exits_them(linked, make_user):
    from spmis.linkage.crosscheck import crosscheck_run, flag_decide
    from spmis.linkage.models import FlagReason, VerificationFlag
    from spmis.payments.models import BenefitPayment
    from spmis.schemes.models import Enrolment

    # Truth: records whose own registry knows the death, paid for a later month.
    paid = pl.DataFrame(list(BenefitPayment.objects.filter(
        person__date_of_death__isnull=False).values_list(
        "person_id", "period", "person__date_of_death")), schema=["id", "period", "died"],
        orient="row")
    truth = set(paid.filter(pl.col("period") > pl.col("died").dt.month_start())["id"])
    assert truth
    counts = crosscheck_run(actor=None, registry_code="CRVS")
    flagged = set(VerificationFlag.objects.filter(
        reason_code=FlagReason.DECEASED_PAID).values_list("person_id", flat=True))
    assert truth <= flagged, truth - flagged
    assert counts["flags_raised"] == VerificationFlag.objects.count()
    assert crosscheck_run(actor=None, registry_code="CRVS")["flags_raised"] == 0  # no repeats
    flag = VerificationFlag.objects.filter(reason_code=FlagReason.DECEASED_ENROLLED).first()
    officer = make_user("REGISTRAR", area="XY")
    with pytest.raises(ValidationFailed):
        flag_decide(actor=officer, flag_id=flag.pk, confirm=True, outcome=" ")
    flag_decide(actor=officer, flag_id=flag.pk, confirm=True, outcome="death certificate seen")
    assert not Enrolment.objects.filter(person_id=flag.person_id, scheme_id=flag.scheme_id,
                                        status="ACTIVE").exists()
    out = CliRunner().invoke(cli, ["crosscheck", "flags", "--all"])
    assert out.exit_code == 0 and "CONFIRMED" in out.output


@pytest.mark.django_db
def test_crosscheck_refuses_a_source_that_is_not_a_registry(linked):
    out = CliRunner().invoke(cli, ["crosscheck", "run", "--registry", "NSR"])
    assert out.exit_code != 0 and "not an authoritative registry" in out.output


@pytest.mark.django_db
def test_internal_checks_find_duplicate_enrolment_and_double_dipping(linked):
    from spmis.linkage.crosscheck import crosscheck_internal
    from spmis.linkage.models import FlagReason, VerificationFlag
    from spmis.schemes.models import Enrolment, IncompatibleSchemes, Scheme

    # Two records of one person (an automatic link), each enrolled in the child grant; the
    # second also in the social pension, declared incompatible with the contributory one.
    link = Link.objects.filter(state=LinkState.AUTO).order_by("id").first()
    child, social, contrib = (Scheme.objects.get(code=c) for c in
                              ("CHILD_GRANT", "SOCIAL_PENSION", "CONTRIB_PENSION"))
    IncompatibleSchemes.objects.create(scheme_a=contrib, scheme_b=social,
                                       reason="the social pension is for those without one")
    Enrolment.objects.filter(person_id__in=[link.person_l_id, link.person_r_id]).delete()
    for person, scheme, ref in ((link.person_l, child, "t1"), (link.person_r, child, "t2"),
                                (link.person_r, social, "t3"), (link.person_l, contrib, "t4")):
        factories.enrolment(person, scheme, start=AS_OF, source=person.source, source_ref=ref)
    counts = crosscheck_internal(actor=None)
    flags = {(f.reason_code, f.person_id, f.scheme_id, f.evidence_id)
             for f in VerificationFlag.objects.all()}
    assert (FlagReason.DUPLICATE_ENROLMENT, link.person_r_id, child.pk,
            link.person_l_id) in flags
    assert (FlagReason.DOUBLE_DIPPING, link.person_r_id, social.pk, link.person_l_id) in flags
    assert counts["flags_raised"] == len(flags)
    assert crosscheck_internal(actor=None)["flags_raised"] == 0


@pytest.mark.django_db
def test_quality_indicators(linked):
    from spmis.linkage.crosscheck import crosscheck_run
    from spmis.linkage.quality import linkage_quality

    crosscheck_run(actor=None, registry_code="CRVS")
    quality = linkage_quality()
    shared = linked.counts["records_in_shared_identities"]
    assert quality["records"] == linked.counts["records"]
    assert quality["duplicate_record_rate"] == pytest.approx(
        1 - linked.counts["identities"] / linked.counts["records"], abs=1e-4)
    by_source = {row["source"]: row for row in quality["linkage_rate_by_source"]}
    assert sum(row["linked"] for row in by_source.values()) <= shared
    assert by_source["CRVS"]["linkage_rate"] > 0.9  # deaths of registered people
    assert {row["age"] for row in quality["open_flags"]} == {"0-7 days"}
    out = CliRunner().invoke(cli, ["linkage", "quality"])
    assert out.exit_code == 0 and "duplicate_record_rate" in out.output


@pytest.mark.django_db
def test_incomes_above_a_means_test_are_flagged(linked):
    from spmis.linkage.crosscheck import crosscheck_run
    from spmis.linkage.models import FlagReason, VerificationFlag
    from spmis.schemes.models import Enrolment

    # Truth from the registry itself: a record whose own identity has a tax record above the
    # threshold of a scheme it is actively enrolled in.
    taxed = pl.DataFrame(list(Person.objects.filter(source__code="TAX").values_list(
        "national_id", "annual_income_minor")), schema=["national_id", "income"], orient="row")
    enrolled = pl.DataFrame(list(Enrolment.objects.filter(
        status="ACTIVE", scheme__income_threshold_minor__isnull=False).values_list(
        "person_id", "person__national_id", "scheme__income_threshold_minor")),
        schema=["id", "national_id", "threshold"], orient="row")
    truth = set(enrolled.join(taxed.filter(pl.col("national_id").is_not_null()),
                              on="national_id").filter(pl.col("income") > pl.col("threshold"))
                ["id"])
    assert truth  # inclusion errors exist among the formally employed
    counts = crosscheck_run(actor=None, registry_code="TAX")
    flagged = set(VerificationFlag.objects.filter(
        reason_code=FlagReason.INCOME_ABOVE_THRESHOLD).values_list("person_id", flat=True))
    assert truth <= flagged
    assert counts["incomes_in_registry"] == taxed.height


@pytest.mark.django_db
def test_reviewers_labels_re_estimate_the_model(linked):
    from spmis.linkage.models import LinkageModel

    ids = list(Link.objects.filter(state=LinkState.AUTO).order_by("id")
               .values_list("id", flat=True)[:25])
    Link.objects.filter(id__in=ids).update(state=LinkState.MATCH)
    again = linkage_run(actor=None, retrain=True)
    assert again.model.version == 2
    event = AuditEvent.objects.filter(action="linkage.model_train").order_by("-seq").first()
    assert event.detail["confirmed_matches"] == 25
    first = LinkageModel.objects.get(version=1).spec
    assert first["comparisons"] != again.model.spec["comparisons"]  # m learnt from labels
    assert Link.objects.filter(id__in=ids, state=LinkState.MATCH).count() == 25


@pytest.mark.django_db
def test_with_maker_checker_a_decision_waits_for_an_approver(linked, make_user, settings):
    from spmis.access.services import SeparationOfDuties
    from spmis.linkage.services import link_decision_check

    settings.SPMIS_LINKAGE_CHECKER = True
    reviewer = make_user("REGISTRAR", area="XY")
    approver = make_user("APPROVER", area="XY")
    before = dict(PersonIdentity.objects.values_list("person_id", "identity"))
    link = Link.objects.filter(state=LinkState.AUTO).order_by("id").first()
    waiting = link_decide(actor=reviewer, link_id=link.pk, decision="NON_MATCH",
                          reason="different fathers' names")
    assert (waiting.state, waiting.pending_state) == (LinkState.AUTO, LinkState.NON_MATCH)
    assert dict(PersonIdentity.objects.values_list("person_id", "identity")) == before
    with pytest.raises(SeparationOfDuties):
        link_decision_check(checker=reviewer, link_id=link.pk, approve=True)
    out = CliRunner().invoke(cli, ["linkage", "approve", str(link.pk), "--as",
                                   approver.username])
    assert out.exit_code == 0, out.output
    link.refresh_from_db()
    assert link.state == LinkState.NON_MATCH and link.decided_by == reviewer
    after = dict(PersonIdentity.objects.values_list("person_id", "identity"))
    assert after[link.person_l_id] != after[link.person_r_id]


@pytest.mark.django_db
def test_decisions_check_the_deciders_role_and_scope_through_every_door(linked, make_user):
    """The service checks who decides: the CLI's --as, the page and the API get one answer."""
    from spmis.access.services import user_create
    from spmis.core.errors import NotFound, PermissionDenied
    from spmis.geography.models import Area
    from spmis.linkage.crosscheck import crosscheck_run, flag_decide
    from spmis.linkage.models import VerificationFlag

    link = Link.objects.filter(state=LinkState.AUTO).select_related("person_l__area").first()
    nobody = user_create(actor=None, username="no_role", password="x", clearance=3,
                         check_password_strength=False)
    with pytest.raises(PermissionDenied):
        link_decide(actor=nobody, link_id=link.pk, decision="NON_MATCH", reason="twins")
    out = CliRunner().invoke(cli, ["linkage", "decide", str(link.pk), "NON_MATCH",
                                   "--reason", "twins", "--as", "no_role"])
    assert out.exit_code != 0 and "no_role may not" in out.output
    assert AuditEvent.objects.filter(action="access.denied", actor_username="no_role").exists()
    assert not AuditEvent.objects.filter(action="linkage.decide").exists()

    home = link.person_l.area.path
    # Another area of the same level: a subtree apart from the record's.
    elsewhere = Area.objects.filter(level=link.person_l.area.level).exclude(path=home).first()
    stranger = make_user("REGISTRAR", area=elsewhere.code, username="stranger")
    with pytest.raises(NotFound):
        link_decide(actor=stranger, link_id=link.pk, decision="NON_MATCH", reason="twins")
    assert Link.objects.get(pk=link.pk).state == LinkState.AUTO

    crosscheck_run(actor=None, registry_code="CRVS")
    flag = VerificationFlag.objects.exclude(
        person__area__path__startswith=elsewhere.path).first()
    with pytest.raises(NotFound):
        flag_decide(actor=stranger, flag_id=flag.pk, confirm=True, outcome="seen")
    with pytest.raises(PermissionDenied):
        flag_decide(actor=nobody, flag_id=flag.pk, confirm=True, outcome="seen")
    assert VerificationFlag.objects.get(pk=flag.pk).state == "OPEN"


@pytest.mark.django_db
def test_a_decision_waiting_for_an_approver_survives_a_new_run(linked, make_user, settings):
    """A new run replaces undecided pairs, but not one whose decision awaits a checker."""
    settings.SPMIS_LINKAGE_CHECKER = True
    reviewer = make_user("REGISTRAR", area="XY")
    link = Link.objects.filter(state=LinkState.REVIEW).order_by("id").first()
    link_decide(actor=reviewer, link_id=link.pk, decision="MATCH", reason="same person")
    waiting = Link.objects.get(pk=link.pk)
    assert waiting.pending_state == LinkState.MATCH and waiting.request_id is not None
    linkage_run(actor=None)
    kept = Link.objects.get(person_l=link.person_l, person_r=link.person_r)
    assert (kept.pk, kept.pending_state, kept.request_id) == \
        (waiting.pk, waiting.pending_state, waiting.request_id)
