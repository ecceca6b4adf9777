"""The review queue flows: readable fields with their differences marked, links to both
records, every decision confirmed before it applies, then the next pair of the queue; one
question per pair of people; every role that may review reaches it, inside its areas only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from spmis.audit.models import AuditEvent
from spmis.linkage.models import Link, LinkState
from spmis.linkage.services import identities_derive, link_decision_preview
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    """In district D1: records a1 (NSR) and a2 (CSW) of one person, each scored against b
    (the same question twice); pairs c-d and e-f. In D2 a pair g-h."""
    factories.area_levels()
    country = factories.area("XY")
    d1, d2 = factories.area("D1", parent=country), factories.area("D2", parent=country)
    nsr, csw = factories.source("NSR"), factories.source("CSW")
    run = factories.linkage_run()

    def person(area, source, given, family, born, national_id=None):
        return factories.person(area=area, source=source, given_name=given,
                                family_name=family, born=born, national_id=national_id)

    a1 = person(d1, nsr, "Rovin", "Kasula", "2014-09-12", "1111111111")
    a2 = person(d1, csw, "Rovin", "Kasula", "2014-09-12")
    b = person(d1, csw, "Ten", "Kasulou", "2014-09-12")
    c = person(d1, nsr, "Luya", "Rolimak", "2008-02-09")
    d = person(d1, csw, "Luya", "Rolimak", "2008-12-04")
    e = person(d1, nsr, "Hami", "Nesul", "1957-06-26")
    f = person(d1, csw, "Hami", "Nesul", "1962-04-14")
    g = person(d2, nsr, "Zessa", "Bosulo", "1967-07-09")
    h = person(d2, csw, "Zessa", "Bosulo", "1969-01-06")

    def review(x, y, weight):
        return factories.link(x, y, run=run, probability=0.6, weight=weight,
                              weights={"surname": 4.0, "given_name": -2.0,
                                       "date_of_birth": 3.0},
                              state=LinkState.REVIEW)

    factories.link(a1, a2, run=run, probability=0.99, weight=9.0, state=LinkState.AUTO)
    pairs = SimpleNamespace(ab=review(a1, b, 1.0), a2b=review(a2, b, 1.0),
                            cd=review(c, d, 0.5), ef=review(e, f, 2.0), gh=review(g, h, 0.1))
    identities_derive(run=run)
    return SimpleNamespace(d1=d1, d2=d2, pairs=pairs, a1=a1, a2=a2, b=b, c=c, d=d)


@pytest.fixture
def registrar(world, make_user):
    return make_user("REGISTRAR", area="D1")


def decide(client, link: Link, user, decision: str, reason: str = "") -> str:
    """Both steps, as the page does them: shown, then applied with the effect shown."""
    url = f"/linkage/review/{link.pk}/"
    shown = client.post(url, {"decision": decision, "back": "REVIEW"})
    assert shown.status_code == 200 and 'data-testid="decision-effect"' in shown.content.decode()
    token = link_decision_preview(actor=user, link_id=link.pk, decision=decision).token
    done = client.post(url, {"decision": decision, "back": "REVIEW", "reason": reason,
                             "effect": token})
    assert done.status_code == 303, done.content.decode()[:2000]
    return done["Location"]


def test_fields_have_readable_names_and_differences_are_marked(world, registrar):
    html = logged_in(registrar).get(f"/linkage/review/{world.pairs.cd.pk}/").content.decode()
    for label in ("Given name", "Family name", "Date of birth", "National ID", "Source"):
        assert f">{label}" in html
    # The waterfall names comparisons as people do, not by the model's column names.
    assert '<th scope="row">Family name</th>' in html
    assert '<th scope="row">surname</th>' not in html
    assert '<th scope="row">date_of_birth</th>' not in html
    birth = html.split('data-field="date_of_birth"')[1].split("</tr>")[0]
    family = html.split('data-field="family_name"')[1].split("</tr>")[0]
    assert 'class="differs"' in html.split('data-field="date_of_birth"')[0][-40:]
    assert "differs" in birth  # in words too, not only by colour
    assert "differs" not in family and "same" in family
    assert "1 field differs." in html


def test_both_records_are_linked_with_their_sources(world, registrar):
    link = world.pairs.cd
    html = logged_in(registrar).get(f"/linkage/review/{link.pk}/").content.decode()
    assert f'href="/persons/{world.c.pk}/"' in html and f'href="/persons/{world.d.pk}/"' in html
    assert f"(NSR), record {world.c.source_ref}" in html
    assert f"(CSW), record {world.d.source_ref}" in html


def test_actions_are_distinct_and_announce_their_keys(world, registrar):
    html = logged_in(registrar).get(f"/linkage/review/{world.pairs.cd.pk}/").content.decode()
    assert 'value="MATCH" class="action primary" data-key="m"' in html
    assert 'value="NON_MATCH" class="action secondary" data-key="n"' in html
    assert 'value="UNSURE" class="action tertiary" data-key="u"' in html
    assert 'data-key="s j"' in html  # skip
    assert "data-shortcuts" in html and "<kbd>m</kbd> match" in html  # the legend


def test_a_pair_of_people_is_listed_once(world, registrar):
    """Reproduces "one pair listed twice": two records of one person (a1, a2), each scored
    against b, were two rows with the same names."""
    html = logged_in(registrar).get("/linkage/review/").content.decode()
    listed = [int(x.split('"')[0]) for x in html.split('data-link="')[1:]]
    assert [p in listed for p in (world.pairs.ab.pk, world.pairs.a2b.pk)] == [True, False]
    assert len(listed) == len(set(listed)) == 3
    assert "1 more pair joins the same two people" in html


def test_a_post_without_the_confirmation_changes_nothing(world, registrar):
    client = logged_in(registrar)
    for decision in ("MATCH", "NON_MATCH", "UNSURE"):
        link = world.pairs.cd
        response = client.post(f"/linkage/review/{link.pk}/",
                               {"decision": decision, "reason": "twins", "back": "REVIEW"})
        html = response.content.decode()
        assert response.status_code == 200 and 'data-testid="decision-effect"' in html
        assert 'name="effect" value="' in html and "Apply:" in html
        link.refresh_from_db()
        assert link.state == LinkState.REVIEW and link.decided_by is None
    assert not AuditEvent.objects.filter(action="linkage.decide").exists()
    shown = client.post(f"/linkage/review/{world.pairs.cd.pk}/", {"decision": "NON_MATCH"})
    assert "Reason (required)" in shown.content.decode()


def test_after_a_decision_the_next_pair_opens_then_the_queue_says_it_is_empty(world, registrar):
    client = logged_in(registrar)
    p = world.pairs
    # The queue: a1-b (joins 3 records), c-d (nearer even odds), e-f.
    assert decide(client, p.ab, registrar, "NON_MATCH", "two people") == \
        f"/linkage/review/{p.cd.pk}/?back=REVIEW"
    # a2-b asked the same question (the same two people): answered, not asked again.
    assert decide(client, p.cd, registrar, "MATCH") == f"/linkage/review/{p.ef.pk}/?back=REVIEW"
    end = decide(client, p.ef, registrar, "UNSURE", "ask the office")
    assert end == "/linkage/review/?state=REVIEW&end=1"
    html = client.get(end).content.decode()
    assert 'data-testid="queue-empty"' in html and "The queue is empty" in html
    assert f"Pair {p.ef.pk}: Unsure recorded." in html
    assert 'class="message success" role="status"' in html  # the shared partial
    states = dict(Link.objects.filter(pk__in=[p.ab.pk, p.cd.pk, p.ef.pk]).values_list(
        "pk", "state"))
    assert states == {p.ab.pk: "NON_MATCH", p.cd.pk: "MATCH", p.ef.pk: "UNSURE"}
    assert Link.objects.get(pk=p.a2b.pk).state == LinkState.REVIEW  # still there, not asked


def test_a_match_settles_the_other_record_of_the_same_person(world, registrar):
    client = logged_in(registrar)
    p = world.pairs
    assert decide(client, p.ab, registrar, "MATCH") == f"/linkage/review/{p.cd.pk}/?back=REVIEW"
    html = client.get("/linkage/review/").content.decode()
    assert f'data-link="{p.a2b.pk}"' not in html
    assert "1 more pair is not listed: a decision on the same two people answered it." in html


def test_skip_opens_the_next_pair_and_the_end_lists_what_is_left(world, registrar):
    client = logged_in(registrar)
    p = world.pairs
    html = client.get(f"/linkage/review/{p.ab.pk}/?back=REVIEW").content.decode()
    assert f'href="/linkage/review/{p.cd.pk}/?back=REVIEW" data-key="s j"' in html
    assert "Pair 1 of 3 in the queue" in html
    last = client.get(f"/linkage/review/{p.ef.pk}/?back=REVIEW").content.decode()
    assert 'href="/linkage/review/?state=REVIEW&amp;end=1" data-key="s j"' in last
    end = client.get("/linkage/review/?state=REVIEW&end=1").content.decode()
    assert 'data-testid="queue-end"' in end and "Start again from the first pair" in end


def test_the_targeting_officer_reaches_the_queue_and_decides(world, make_user):
    officer = make_user("TARGETING_OFFICER", area="D1")
    client = logged_in(officer)
    assert "/linkage/review/" in client.get("/").content.decode()  # in the menu
    html = client.get("/linkage/review/").content.decode()
    assert f'data-link="{world.pairs.ab.pk}"' in html
    assert f'data-link="{world.pairs.gh.pk}"' not in html  # another district
    decide(client, world.pairs.cd, officer, "MATCH")
    link = Link.objects.get(pk=world.pairs.cd.pk)
    assert link.state == LinkState.MATCH and link.decided_by == officer


@pytest.mark.parametrize("role", ["TARGETING_OFFICER", "REGISTRAR"])
def test_a_pair_outside_the_areas_is_not_found(world, make_user, role):
    user = make_user(role, area="D1")
    client = logged_in(user)
    gh = world.pairs.gh
    assert client.get(f"/linkage/review/{gh.pk}/").status_code == 404
    token = link_decision_preview(actor=None, link_id=gh.pk, decision="MATCH").token
    assert client.post(f"/linkage/review/{gh.pk}/", {"decision": "MATCH", "effect": token}
                       ).status_code == 404
    assert Link.objects.get(pk=gh.pk).state == LinkState.REVIEW


def test_roles_that_do_not_review_are_refused(world, make_user):
    client = logged_in(make_user("PAYMENT_OFFICER", area="D1"))
    assert client.get("/linkage/review/").status_code == 403
    assert "/linkage/review/" not in client.get("/").content.decode()


def test_the_records_page_confirms_then_returns_to_the_person(world, registrar):
    client = logged_in(registrar)
    url = f"/linkage/records/{world.a1.pk}/{world.a2.pk}/"
    page = client.get(url).content.decode()
    assert f'href="/persons/{world.a1.pk}/"' in page and "differs" in page  # the ID: one only
    shown = client.post(url, {"reason": "two people"})
    assert shown.status_code == 200 and "will be cut" in shown.content.decode()
    assert Link.objects.get(person_l=world.a1, person_r=world.a2).state == LinkState.AUTO
    token = shown.content.decode().split('name="effect" value="')[1].split('"')[0]
    done = client.post(url, {"reason": "two people", "effect": token})
    assert done.status_code == 303 and done["Location"] == f"/persons/{world.a1.pk}/"


def test_with_maker_checker_the_decision_waits_and_the_queue_moves_on(world, registrar,
                                                                      settings):
    settings.SPMIS_LINKAGE_CHECKER = True
    client = logged_in(registrar)
    p = world.pairs
    shown = client.post(f"/linkage/review/{p.cd.pk}/", {"decision": "MATCH", "back": "REVIEW"})
    assert "the decision will wait for an approver" in shown.content.decode()
    assert decide(client, p.cd, registrar, "MATCH") == f"/linkage/review/{p.ef.pk}/?back=REVIEW"
    link = Link.objects.get(pk=p.cd.pk)
    assert link.state == LinkState.REVIEW and link.pending_state == LinkState.MATCH
    html = client.get("/linkage/review/").content.decode()
    assert f'data-link="{p.cd.pk}"' not in html  # nothing to do on it here
    assert "1 decided pair waits for an approver." in html
    assert f"Pair {p.cd.pk}: Match waits for an approver" in html


def test_the_cli_queue_lists_what_the_page_lists(world, registrar):
    from click.testing import CliRunner

    from spmis.cli.main import cli

    html = logged_in(registrar).get("/linkage/review/").content.decode()
    listed = [int(x.split('"')[0]) for x in html.split('data-link="')[1:]]
    out = CliRunner().invoke(cli, ["linkage", "queue", "--as", registrar.username])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert [int(line.split("\t")[0]) for line in lines if "\t" in line] == listed
    assert "1 more pair(s) wait for a decision on the same people" in out.output
