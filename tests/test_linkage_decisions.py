"""Review decisions do exactly what they say: "not a match" separates any two records of one
identity (the fewest joins cut, shown first), "unsure" changes nothing, the checker holds
every decision that changes identities, run ids stay. Each defect reproduced on a small
hand-made registry, through the services, the command line and the pages."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core.errors import Conflict
from spmis.linkage.graph import components, min_cut
from spmis.linkage.models import Cut, Link, LinkState, PersonIdentity
from spmis.linkage.services import (
    identities_derive,
    link_decide,
    link_decision_check,
    link_decision_preview,
    pair_decide,
    pair_decision_preview,
)
from spmis.registry.models import Person
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    factories.area_levels()
    country = factories.area("XY")
    district = factories.area("D1", parent=country)
    source = factories.source("NSR")
    run = factories.linkage_run()
    return SimpleNamespace(area=district, source=source, run=run)


def people(world, n: int, ids: list[str | None] | None = None) -> list[Person]:
    ids = ids or [None] * n
    return [factories.person(area=world.area, source=world.source, national_id=ids[i],
                             given_name=f"P{i}") for i in range(n)]


def link(world, a: Person, b: Person, state: str = LinkState.AUTO,
         probability: float = 0.99) -> Link:
    return factories.link(a, b, run=world.run, probability=probability, weight=5.0,
                          state=state)


def identity(*persons: Person) -> list[int]:
    found = dict(PersonIdentity.objects.values_list("person_id", "identity"))
    return [found[p.pk] for p in persons]


def snapshot() -> dict[int, int]:
    return dict(PersonIdentity.objects.values_list("person_id", "identity"))


@pytest.fixture
def reviewer(world, make_user):
    return make_user("REGISTRAR", area="XY")


@pytest.fixture
def chain(world):
    """A-B-C joined by automatic links (B-C the weaker), A-C waiting for review."""
    a, b, c = people(world, 3)
    link(world, a, b, probability=0.99)
    link(world, b, c, probability=0.96)
    ac = link(world, a, c, state=LinkState.REVIEW, probability=0.7)
    identities_derive(run=world.run)
    assert len(set(identity(a, b, c))) == 1
    return SimpleNamespace(a=a, b=b, c=c, ac=ac)


def test_not_a_match_on_the_ends_of_a_chain_separates_them(chain, reviewer):
    # Before: the A-C link became NON_MATCH and A and C stayed one identity (A-B-C).
    effect = link_decision_preview(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH")
    assert [(c.person_l, c.person_r) for c in effect.cuts] == [(chain.b.pk, chain.c.pk)]
    assert effect.after == ((chain.a.pk, chain.b.pk), (chain.c.pk,))
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH",
                reason="different mothers", expect=effect.token)
    a, b, c = identity(chain.a, chain.b, chain.c)
    assert a == b != c
    assert list(Cut.objects.values_list("person_l", "person_r", "kind")) == [
        (chain.b.pk, chain.c.pk, "LINK")]
    event = AuditEvent.objects.get(action="linkage.decide")
    assert event.detail["cuts"] == [[chain.b.pk, chain.c.pk, "LINK"]]
    assert event.detail["identities_after"] == [[chain.a.pk, chain.b.pk], [chain.c.pk]]
    # The whole registry derived again agrees, and a new derivation keeps the cut.
    before = snapshot()
    identities_derive()
    assert snapshot() == before


def test_reopening_restores_the_chain_exactly(chain, reviewer):
    before = snapshot()
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH", reason="twins")
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="REOPEN")
    assert snapshot() == before and not Cut.objects.exists()
    assert Link.objects.get(pk=chain.ac.pk).state == LinkState.REVIEW


def test_records_joined_only_through_others_are_separated_by_pair(world, reviewer):
    a, b, c = people(world, 3)
    link(world, a, b)
    link(world, b, c)
    identities_derive(run=world.run)
    effect = pair_decision_preview(actor=reviewer, person_a=c.pk, person_b=a.pk,
                                   decision="NON_MATCH")
    assert len(effect.cuts) == 1 and effect.separates
    decided = pair_decide(actor=reviewer, person_a=c.pk, person_b=a.pk, decision="NON_MATCH",
                          reason="not the same", expect=effect.token)
    assert decided.match_probability is None and decided.state == LinkState.NON_MATCH
    assert len(set(identity(a, c))) == 2


def test_records_joined_only_by_a_shared_national_id_can_be_separated(world, reviewer):
    # Before: no pair was stored for them, so no decision could be taken on them.
    a, b, c = people(world, 3, ids=["N1", "N1", "N1"])
    identities_derive(run=world.run)
    assert len(set(identity(a, b, c))) == 1
    effect = pair_decision_preview(actor=reviewer, person_a=a.pk, person_b=b.pk,
                                   decision="NON_MATCH")
    # The ID joins the three pairwise: a-b goes with the decision, and one more must go.
    assert [(x.person_l, x.person_r, x.kind) for x in effect.cuts] == [
        (a.pk, b.pk, "NATIONAL_ID"), (a.pk, c.pk, "NATIONAL_ID")]
    pair_decide(actor=reviewer, person_a=a.pk, person_b=b.pk, decision="NON_MATCH",
                reason="one ID for two people", expect=effect.token)
    ia, ib, ic = identity(a, b, c)
    assert ia != ib == ic
    before = snapshot()
    identities_derive()
    assert snapshot() == before
    link_decide(actor=reviewer, link_id=Link.objects.get(person_l=a, person_r=b).pk,
                decision="REOPEN")
    assert len(set(identity(a, b, c))) == 1
    assert not Link.objects.exists() and not Cut.objects.exists()  # the pair was never scored


def test_unsure_never_changes_identities(chain, reviewer, settings):
    # Before: "unsure" on an automatic link split the identity, even with the checker on.
    settings.SPMIS_LINKAGE_CHECKER = True
    before = snapshot()
    ab = Link.objects.get(person_l=chain.a, person_r=chain.b)
    decided = link_decide(actor=reviewer, link_id=ab.pk, decision="UNSURE", reason="hm")
    assert decided.state == LinkState.UNSURE and not decided.pending_state
    assert snapshot() == before
    identities_derive()
    assert snapshot() == before
    # Unsure of a refusal keeps the records apart.
    link_decide(actor=None, link_id=chain.ac.pk, decision="NON_MATCH", reason="twins")
    apart = snapshot()
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="UNSURE", reason="maybe")
    assert snapshot() == apart
    identities_derive()
    assert snapshot() == apart


def test_with_the_checker_reopen_waits_for_an_approver(chain, reviewer, make_user, settings):
    # Before: "reopen" undid an approved unmerge at once, without an approver.
    settings.SPMIS_LINKAGE_CHECKER = True
    approver = make_user("APPROVER", area="XY")
    joined = snapshot()
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH", reason="twins")
    assert snapshot() == joined
    link_decision_check(checker=approver, link_id=chain.ac.pk, approve=True)
    split = snapshot()
    assert split != joined
    waiting = link_decide(actor=reviewer, link_id=chain.ac.pk, decision="REOPEN")
    assert waiting.pending_state == "REOPEN" and snapshot() == split
    link_decision_check(checker=approver, link_id=chain.ac.pk, approve=True)
    assert snapshot() == joined


def test_an_approval_applies_only_the_effect_the_reviewer_saw(chain, reviewer, make_user,
                                                              settings):
    settings.SPMIS_LINKAGE_CHECKER = True
    approver = make_user("APPROVER", area="XY")
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH", reason="twins")
    d = people(SimpleNamespace(area=chain.a.area, source=chain.a.source), 1)[0]
    link_decide(actor=None, link_id=link(
        SimpleNamespace(run=chain.ac.run), chain.a, d).pk, decision="MATCH")
    link(SimpleNamespace(run=chain.ac.run), d, chain.c, probability=0.98)
    with pytest.raises(Conflict, match="changed"):
        link_decision_check(checker=approver, link_id=chain.ac.pk, approve=True)
    link_decision_check(checker=approver, link_id=chain.ac.pk, approve=False, reason="stale")
    assert Link.objects.get(pk=chain.ac.pk).state == LinkState.REVIEW


def test_decisions_keep_the_run_ids_of_the_identity_rows(chain, reviewer):
    # Before: every row a decision rewrote lost its run id.
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH", reason="twins")
    assert set(PersonIdentity.objects.values_list("run", flat=True)) == {chain.ac.run_id}
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="REOPEN")
    assert set(PersonIdentity.objects.values_list("run", flat=True)) == {chain.ac.run_id}


def test_a_decision_that_would_join_refused_records_is_refused(world, reviewer):
    a, b, c = people(world, 3)
    ab = link(world, a, b, state=LinkState.REVIEW, probability=0.8)
    bc = link(world, b, c, state=LinkState.REVIEW, probability=0.8)
    pair_decide(actor=reviewer, person_a=a.pk, person_b=c.pk, decision="NON_MATCH",
                reason="father and son")
    link_decide(actor=reviewer, link_id=ab.pk, decision="MATCH")
    with pytest.raises(Conflict, match="keeps apart"):
        link_decide(actor=reviewer, link_id=bc.pk, decision="MATCH")
    assert Link.objects.get(pk=bc.pk).state == LinkState.REVIEW


def test_a_match_on_a_pair_another_decision_cut_is_refused(chain, reviewer):
    link_decide(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH", reason="twins")
    bc = Link.objects.get(person_l=chain.b, person_r=chain.c)
    with pytest.raises(Conflict, match=f"pair {chain.ac.pk}"):
        link_decide(actor=reviewer, link_id=bc.pk, decision="MATCH")


def test_an_effect_that_changed_since_it_was_shown_is_not_applied(chain, reviewer):
    shown = link_decision_preview(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH")
    Link.objects.filter(person_l=chain.b, person_r=chain.c).update(state=LinkState.MATCH)
    with pytest.raises(Conflict, match="changed"):
        link_decide(actor=reviewer, link_id=chain.ac.pk, decision="NON_MATCH",
                    reason="twins", expect=shown.token)
    assert Link.objects.get(pk=chain.ac.pk).state == LinkState.REVIEW


def test_the_command_line_shows_the_cut_before_applying_it(chain, reviewer):
    args = ["linkage", "decide", str(chain.ac.pk), "NON_MATCH", "--reason", "twins", "--as",
            reviewer.username]
    out = CliRunner().invoke(cli, args, input="n\n")
    assert out.exit_code != 0 and f"cut {chain.b.pk} - {chain.c.pk}" in out.output
    assert Link.objects.get(pk=chain.ac.pk).state == LinkState.REVIEW
    out = CliRunner().invoke(cli, args, input="y\n")
    assert out.exit_code == 0, out.output
    assert len(set(identity(chain.a, chain.c))) == 2


def test_the_command_line_separates_two_records_by_their_ids(world, reviewer):
    a, b = people(world, 2, ids=["N9", "N9"])
    identities_derive(run=world.run)
    out = CliRunner().invoke(cli, ["linkage", "separate", str(a.pk), str(b.pk), "--reason",
                                   "shared card", "--as", reviewer.username, "--yes"])
    assert out.exit_code == 0, out.output
    assert "shared national ID" in out.output
    assert len(set(identity(a, b))) == 2


def test_the_page_shows_the_cut_and_applies_it_when_confirmed(chain, reviewer):
    client = logged_in(reviewer)
    url = f"/linkage/review/{chain.ac.pk}/"
    shown = client.post(url, {"decision": "NON_MATCH", "reason": "twins"})
    html = shown.content.decode()
    assert shown.status_code == 200 and "will be cut" in html
    assert f"{chain.b.pk}" in html and Link.objects.get(pk=chain.ac.pk).state == "REVIEW"
    assert not AuditEvent.objects.filter(action="linkage.decide").exists()
    token = link_decision_preview(actor=reviewer, link_id=chain.ac.pk,
                                  decision="NON_MATCH").token
    assert f'value="{token}"' in html
    done = client.post(url, {"decision": "NON_MATCH", "reason": "twins", "effect": token})
    assert done.status_code == 303
    assert len(set(identity(chain.a, chain.c))) == 2


def test_the_records_page_decides_a_pair_never_scored(world, reviewer):
    a, b = people(world, 2, ids=["N7", "N7"])
    identities_derive(run=world.run)
    client = logged_in(reviewer)
    url = f"/linkage/records/{a.pk}/{b.pk}/"
    assert url in client.get(f"/persons/{a.pk}/").content.decode()  # the person page's panel
    assert client.get(url).status_code == 200
    shown = client.post(url, {"decision": "NON_MATCH", "reason": "two people"})
    assert shown.status_code == 200 and "will be cut" in shown.content.decode()
    token = pair_decision_preview(actor=reviewer, person_a=a.pk, person_b=b.pk,
                                  decision="NON_MATCH").token
    done = client.post(url, {"decision": "NON_MATCH", "reason": "two people",
                             "effect": token})
    assert done.status_code == 303
    assert len(set(identity(a, b))) == 2
    decided = Link.objects.get(person_l=a, person_r=b)
    page = client.get(f"/linkage/review/{decided.pk}/?back=NON_MATCH")
    assert page.status_code == 200 and "never scored" in page.content.decode()
    out = CliRunner().invoke(cli, ["linkage", "explain", "--pair", str(a.pk), str(b.pk)])
    assert out.exit_code != 0 and "never scored" in out.output


# --- properties ---------------------------------------------------------------------------


def brute_force_cut(edges: set[tuple[int, int]], nodes: list[int], s: int, t: int) -> int:
    """The fewest edges whose removal parts s from t, by trying every set."""
    for size in range(len(edges) + 1):
        for removed in itertools.combinations(sorted(edges), size):
            labels = components(nodes, edges - set(removed))
            if labels[s] != labels[t]:
                return size
    raise AssertionError("never parted")


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 7).flatmap(lambda n: st.tuples(
    st.just(n), st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(
        lambda e: e[0] < e[1]), min_size=1), st.lists(st.integers(1, 3000), min_size=21,
                                                     max_size=21))))
def test_min_cut_is_the_fewest_joins_and_leaves_two_parts(graph):
    n, edges, weights = graph
    strength = {e: weights[i % len(weights)] for i, e in enumerate(sorted(edges))}
    nodes = list(range(n))
    labels = components(nodes, edges)
    s, t = next(((a, b) for a, b in sorted(edges)), (0, 1))
    cut = min_cut(strength, s, t)
    assert len(cut) == brute_force_cut(set(edges), nodes, s, t)
    after = components(nodes, set(edges) - set(cut))
    assert after[s] != after[t]
    inside = [x for x in nodes if labels[x] == labels[s]]
    assert len({after[x] for x in inside}) == 2  # the identity parts in two, no more
    for e in cut:  # each join cut was needed
        again = components(nodes, set(edges) - set(cut) | {e})
        assert again[s] == again[t]
    assert min_cut(dict(reversed(list(strength.items()))), s, t) == cut  # order-free


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_not_a_match_on_any_pair_of_any_identity_separates_just_them(world, data):
    """Random records joined by links and shared IDs; "not a match" on two of one identity
    parts them, leaves every other identity alone, needs every cut, and reopening it restores
    every identity exactly."""
    n = data.draw(st.integers(2, 6))
    # Real-looking IDs: a placeholder such as "A" or "0" joins nobody (engine.is_placeholder_id).
    ids = data.draw(st.lists(st.sampled_from([None, "NID-731", "NID-845"]), min_size=n,
                             max_size=n))
    pairs = data.draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(
        lambda e: e[0] < e[1]), max_size=8))
    with transaction.atomic():
        persons = people(world, n, ids=ids)
        for i, j in sorted(pairs):
            link(world, persons[i], persons[j], probability=data.draw(
                st.floats(0.95, 1.0)), state=data.draw(st.sampled_from(["AUTO", "MATCH"])))
        identities_derive(run=world.run)
        before = snapshot()
        together = [(x, y) for x, y in itertools.combinations(persons, 2)
                    if before[x.pk] == before[y.pk]]
        if together:
            x, y = data.draw(st.sampled_from(together))
            effect = pair_decision_preview(actor=None, person_a=x.pk, person_b=y.pk,
                                           decision="NON_MATCH")
            decided = pair_decide(actor=None, person_a=x.pk, person_b=y.pk,
                                  decision="NON_MATCH", reason="r", expect=effect.token)
            after = snapshot()
            assert after[x.pk] != after[y.pk]
            own = [p.pk for p in persons if before[p.pk] == before[x.pk]]
            assert len({after[p] for p in own}) == 2
            assert all(after[p] == before[p] for p in after if p not in own)
            # The fewest joins (links and shared IDs, pair by pair) that part x from y.
            joins = {(persons[i].pk, persons[j].pk) for i, j in pairs} | {
                (a.pk, b.pk) for a, b in itertools.combinations(persons, 2)
                if a.national_id is not None and a.national_id == b.national_id}
            low, high = sorted((x.pk, y.pk))
            assert len(effect.cuts) == brute_force_cut(joins, [p.pk for p in persons], low,
                                                       high)
            identities_derive()
            assert snapshot() == after  # the whole registry derived again agrees
            link_decide(actor=None, link_id=decided.pk, decision="REOPEN")
            assert snapshot() == before
        transaction.set_rollback(True)


# --- the review queue ---------------------------------------------------------------------


def test_the_queue_puts_the_decisions_that_change_most_first(world, reviewer):
    # Before: most probable first, whatever a decision would change.
    p = people(world, 12)
    for x, y in ((0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9)):
        link(world, p[x], p[y])
    identities_derive(run=world.run)

    def review(a: int, b: int, probability: float, weight: float) -> Link:
        return factories.link(p[a], p[b], run=world.run, probability=probability,
                              weight=weight, state=LinkState.REVIEW)

    lone_sure = review(10, 11, 0.94, 4.0)  # joins two lone records, far from even odds
    merge = review(2, 3, 0.6, 0.6)  # joins two identities of three records each
    split = review(6, 9, 0.55, 0.3)  # inside an identity of four: "not a match" splits it
    lone_even = review(0, 11, 0.52, 0.1)  # joins an identity of three and one record
    order = [merge.pk, lone_even.pk, split.pk, lone_sure.pk]
    html = logged_in(reviewer).get("/linkage/review/").content.decode()
    shown = [int(x.split('"')[0]) for x in html.split('data-link="')[1:]]
    assert shown == order  # each pair once
    assert "split an identity of 4 records" in html and "join 6 records" in html
    out = CliRunner().invoke(cli, ["linkage", "queue", "--as", reviewer.username])
    assert out.exit_code == 0, out.output
    assert [int(line.split("\t")[0]) for line in out.output.splitlines()] == order
    assert out.output.splitlines()[2].endswith("split 4")
