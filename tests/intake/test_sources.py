"""Sources are managed: `spmis intake source add|edit|list|show`, the sources pages and the
sources API, audited (source.create, source.edit), each inside the user's areas and schemes
(MANAGE_SOURCES, the REGISTRAR role), with every problem named."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.intake.models import Source
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def land():
    """XY > region XY1 > districts XY11 (home) and XY12 (away); two schemes; a registrar over
    the home district, one limited to the child grant, a data collector there."""
    factories.area_levels()
    region = factories.area("XY1", parent=factories.area("XY", level=0))
    home = factories.area("XY11", parent=region, name="Nord")
    away = factories.area("XY12", parent=region, name="Sud")
    factories.scheme("CHILD_GRANT", guarantee="CHILDREN")
    factories.scheme("SOCIAL_PENSION", guarantee="OLD_AGE")
    factories.source("THEIRS", kind="NGO", area=away, name="Their office")
    return {
        "home": home, "away": away,
        "registrar": factories.user("REGISTRAR", area="XY11", username="amina"),
        "child_only": factories.user("REGISTRAR", area="XY11", schemes=("CHILD_GRANT",),
                                     username="kofi"),
        "collector": factories.user("DATA_COLLECTOR", area="XY11", username="dora"),
        "national": factories.user("REGISTRAR", area="XY", username="nat"),
    }


def run(*args: str):
    return CliRunner().invoke(cli, ["intake", "source", *args])


ADD = ["add", "DSW_NORD", "--name", "Social welfare office, Nord", "--kind",
       "local_government", "--area", "XY11", "--scheme", "CHILD_GRANT", "--scheme",
       "SOCIAL_PENSION", "--deadline-days", "10", "--policy", "reject", "--error-threshold",
       "5", "--contact", "m.diallo@example.org"]


def test_cli_adds_edits_lists_and_shows_a_source_audited(land):
    done = run(*ADD, "--as", "amina")
    assert done.exit_code == 0, done.output
    source = Source.objects.get(code="DSW_NORD")
    assert (source.kind, source.area, source.deadline_days, source.policy,
            source.error_threshold, source.institution) == (
        "LOCAL_GOVERNMENT", land["home"], 10, "REJECT", 5, "Social welfare office, Nord")
    assert sorted(s.code for s in source.schemes.all()) == ["CHILD_GRANT", "SOCIAL_PENSION"]
    created = AuditEvent.objects.get(action="source.create")
    assert created.actor_username == "amina" and created.area_code == "XY11"
    assert created.detail["schemes"] == ["CHILD_GRANT", "SOCIAL_PENSION"]

    edited = run("edit", "DSW_NORD", "--contact", "+221 33 000", "--scheme", "CHILD_GRANT",
                 "--as", "amina")
    assert edited.exit_code == 0, edited.output
    event = AuditEvent.objects.get(action="source.edit")
    assert event.detail["changed"] == {
        "contact": ["m.diallo@example.org", "+221 33 000"],
        "schemes": [["CHILD_GRANT", "SOCIAL_PENSION"], ["CHILD_GRANT"]]}
    source.refresh_from_db()
    assert source.deadline_days == 10  # options not given are kept

    assert run("edit", "DSW_NORD", "--contact", "+221 33 000").exit_code == 0
    assert AuditEvent.objects.filter(action="source.edit").count() == 1  # nothing changed

    listed = run("list", "--as", "amina").output
    assert "DSW_NORD" in listed and "REJECT>5%" in listed and "THEIRS" not in listed
    assert "THEIRS" in run("list").output  # the operator sees every source
    shown = run("show", "DSW_NORD").output
    assert "XY11 (Nord)" in shown and "+221 33 000" in shown and "5%" in shown
    assert run("show", "THEIRS", "--as", "amina").exit_code == 1  # outside her areas
    national = run("add", "MOH", "--name", "Ministry of Health", "--kind", "MINISTRY")
    assert national.exit_code == 0 and Source.objects.get(code="MOH").area is None
    assert run("edit", "DSW_NORD", "--national").exit_code == 0
    assert Source.objects.get(code="DSW_NORD").area is None


def test_every_problem_is_named_and_nothing_is_saved(land):
    bad = run("add", "DSW 1", "--name", "X", "--kind", "NGO", "--area", "ZZ99", "--scheme",
              "CHILD_GRANT", "--scheme", "NOPE", "--scheme", "NADA", "--error-threshold", "150",
              "--deadline-days", "-1")
    assert bad.exit_code == 1
    for words in ("The code 'DSW 1' is not valid", "Unknown area P-code 'ZZ99'",
                  "Unknown scheme codes NADA, NOPE", "error threshold must be a whole number "
                  "from 0 to 100", "deadline days must be a whole number from 0 to 366"):
        assert words in bad.output, bad.output
    assert "Traceback" not in bad.output
    taken = run("add", "theirs", "--name", "X", "--kind", "NGO")
    assert taken.exit_code == 1 and "A source with code 'THEIRS' already exists" in taken.output
    missing = run("add", "NEW")
    assert "Give the source a name." in missing.output and "Give the kind" in missing.output
    both = run("add", "NEW", "--name", "N", "--kind", "NGO", "--area", "XY11", "--national")
    assert both.exit_code == 2 and "either --area or --national" in both.output
    assert run("edit", "NOSUCH", "--name", "N").exit_code == 1
    assert Source.objects.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="source.").exists()


def test_a_user_manages_only_sources_inside_their_areas_and_schemes(land):
    away = run("add", "AWAY", "--name", "A", "--kind", "NGO", "--area", "XY12", "--as", "amina")
    assert away.exit_code == 1 and "outside the areas of your roles" in away.output
    national = run("add", "NAT", "--name", "N", "--kind", "NGO", "--as", "amina")
    assert national.exit_code == 1 and "the whole country" in national.output
    assert run("add", "NAT", "--name", "N", "--kind", "NGO", "--as", "nat").exit_code == 0
    moved = run("edit", "THEIRS", "--area", "XY11", "--as", "amina")
    assert moved.exit_code == 1 and "No source 'THEIRS' among yours" in moved.output
    assert run("add", "MINE", "--name", "M", "--kind", "NGO", "--area", "XY11", "--as",
               "amina").exit_code == 0
    leave = run("edit", "MINE", "--area", "XY12", "--as", "amina")
    assert leave.exit_code == 1 and "area XY12" in leave.output
    # A role limited to the child grant declares that scheme, never another one.
    pension = run("edit", "MINE", "--scheme", "SOCIAL_PENSION", "--as", "kofi")
    assert pension.exit_code == 1 and "scheme SOCIAL_PENSION" in pension.output
    assert run("edit", "MINE", "--scheme", "CHILD_GRANT", "--as", "kofi").exit_code == 0
    collector = run("add", "DORA", "--name", "D", "--kind", "NGO", "--area", "XY11", "--as",
                    "dora")
    assert collector.exit_code == 1 and "manage_sources" in collector.output
    assert not Source.objects.filter(code__in=["AWAY", "DORA"]).exists()
    assert AuditEvent.objects.filter(action="access.denied", actor=land["collector"]).exists()


def test_the_sources_pages_list_add_and_edit(land):
    client = logged_in(land["registrar"])
    empty = client.get("/intake/sources/")
    assert empty.status_code == 200 and "Their office" not in empty.content.decode()
    form = {"code": "DSW_NORD", "name": "Nord office", "institution": "", "kind": "NGO",
            "area": "XY11", "schemes": ["CHILD_GRANT"], "schedule": "QUARTERLY",
            "deadline_days": "20", "policy": "QUARANTINE", "error_threshold": "10",
            "contact": "amina@example.org"}
    added = client.post("/intake/sources/new/", form)
    assert added.status_code == 303 and added["Location"] == "/intake/sources/"
    page = client.get("/intake/sources/").content.decode()
    assert "DSW_NORD" in page and "Nord office" in page and "CHILD_GRANT" in page
    source = Source.objects.get(code="DSW_NORD")
    assert (source.schedule, source.deadline_days, source.institution) == (
        "QUARTERLY", 20, "Nord office")
    edit = client.get("/intake/sources/DSW_NORD/")
    assert edit.status_code == 200 and 'value="amina@example.org"' in edit.content.decode()
    changed = client.post("/intake/sources/DSW_NORD/", {**form, "policy": "REJECT",
                                                         "error_threshold": "101"})
    assert changed.status_code == 400
    assert "error threshold must be a whole number from 0 to 100" in changed.content.decode()
    saved = client.post("/intake/sources/DSW_NORD/", {**form, "policy": "REJECT",
                                                       "error_threshold": "3"})
    assert saved.status_code == 303
    source.refresh_from_db()
    assert (source.policy, source.error_threshold) == ("REJECT", 3)
    assert AuditEvent.objects.get(action="source.edit").detail["changed"] == {
        "policy": ["QUARANTINE", "REJECT"], "error_threshold": [10, 3]}
    again = client.post("/intake/sources/new/", {**form, "code": "dsw_nord"})
    assert again.status_code == 400 and "already exists" in again.content.decode()
    assert client.get("/intake/sources/THEIRS/").status_code == 404
    assert client.post("/intake/sources/THEIRS/", form).status_code == 404
    collector = logged_in(land["collector"])
    assert collector.get("/intake/sources/").status_code == 403
    assert collector.post("/intake/sources/new/", {**form, "code": "X"}).status_code == 403
    home = client.get("/").content.decode()
    assert "/intake/sources/" in home, home[home.find("<nav"):home.find("</nav>")]  # menu


def test_the_sources_api(land, api_for):
    api = api_for(land["registrar"])
    created = api.post("/api/v1/sources/", {
        "code": "NGO_API", "name": "NGO by API", "kind": "NGO", "area": "XY11",
        "schemes": ["CHILD_GRANT"], "deadline_days": 5}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["area"] == "XY11" and created.json()["schemes"] == ["CHILD_GRANT"]
    listed = api.get("/api/v1/sources/").json()
    assert [s["code"] for s in listed["results"]] == ["NGO_API"]
    patched = api.patch("/api/v1/sources/NGO_API/", {"error_threshold": 20, "policy": "REJECT",
                                                      "contact": "x@example.org"}, format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["error_threshold"], patched.json()["policy"]) == (20, "REJECT")
    assert api.get("/api/v1/sources/NGO_API/").json()["contact"] == "x@example.org"
    bad = api.patch("/api/v1/sources/NGO_API/", {"schemes": ["NOPE"], "deadline_days": "x"},
                    format="json")
    assert bad.status_code == 400
    assert "Unknown scheme code NOPE" in bad.json()["detail"]
    assert "deadline days must be a whole number" in bad.json()["detail"]
    assert api.patch("/api/v1/sources/NGO_API/", {"schemes": "CHILD_GRANT"},
                     format="json").status_code == 400
    assert api.post("/api/v1/sources/", {"code": "ngo_api", "name": "N", "kind": "NGO",
                                         "area": "XY11"}, format="json").status_code == 409
    assert api.get("/api/v1/sources/THEIRS/").status_code == 404
    assert api.patch("/api/v1/sources/THEIRS/", {"name": "Mine now"},
                     format="json").status_code == 404
    assert Source.objects.get(code="THEIRS").name == "Their office"
    other = api_for(land["collector"])
    assert other.get("/api/v1/sources/").json()["results"] == []
    assert other.post("/api/v1/sources/", {"code": "C", "name": "C", "kind": "NGO"},
                      format="json").status_code == 403
