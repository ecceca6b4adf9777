"""The landing page per role (web/home.html): each role's section with the numbers computed
here independently of the page's selectors, scoped to the user's areas, naming area and period.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from spmis.access.models import ApprovalRequest, RoleAssignment, User
from spmis.access.services import approval_request, role_assign
from spmis.audit.models import AuditEvent
from spmis.core import clock, formatting
from spmis.core.periods import add_months, month_start
from spmis.geography.models import Area
from spmis.indicators.models import IndicatorRun, IndicatorValue
from spmis.indicators.services import indicators_run, target_set
from spmis.intake.models import Schedule, SubmissionStatus
from spmis.linkage.models import FlagState, LinkState, VerificationFlag
from spmis.registry.models import Person
from tests import factories
from tests.helpers import AS_OF, logged_in

pytestmark = pytest.mark.django_db

PERIOD = AS_OF.replace(day=1)
HEADLINE = ("SOC_CONTIG_TOTAL", "COV_CHILDREN", "COV_WORKING_AGE", "COV_OLD_AGE")


def _home(user: User) -> str:
    response = logged_in(user).get("/")
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, testid: str) -> str:
    """The HTML from the element carrying ``data-testid=testid`` to the next item of its list
    (``work-…``, ``access-…``, ``system-…``) or the end of its section."""
    start = html.index(f'data-testid="{testid}"')
    kind = testid.split("-")[0]
    ends = [i for i in (html.find(f'data-testid="{kind}-', start + 1),
                        html.find("</section>", start)) if i != -1]
    return html[start:min(ends)]


def _value(run: IndicatorRun, indicator: str, area: str, sex: str = "_T") -> IndicatorValue:
    return IndicatorValue.objects.get(run=run, indicator=indicator, area_code=area, sex=sex,
                                      age_band="_T", disability="_T", scheme="_T")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the reader's headline -------------------------------------------------------------------


def test_before_any_run_the_reader_is_told_how_to_compute(country, make_user):
    html = _home(make_user("STATISTICIAN"))
    assert 'data-testid="no-run"' in html and "spmis indicators run" in html


def test_headline_by_sex_trend_and_target_agree_with_the_published_run(country, make_user):
    before = indicators_run(actor=None, period=add_months(PERIOD, -1))
    run = indicators_run(actor=None, period=PERIOD)
    target_set(actor=None, indicator="SOC_CONTIG_TOTAL", area_code="XY", year=2030, value=60,
               source="National strategy")
    client = logged_in(make_user("STATISTICIAN"))
    html = client.get("/").content.decode()
    text = _text(html)
    # Names its area and period, and the run the indicators page reads.
    assert f"Coverage in Xylandia, {formatting.month(run.period)}" in text
    assert f"Indicator run {run.pk}" in text
    for code in HEADLINE:
        card = html[html.index(f'data-testid="landing-{code}"'):]
        card = card[:card.index("</article>")]
        total, women, men = (_value(run, code, "XY", sex) for sex in ("_T", "F", "M"))
        assert total.value is not None
        assert f'data-testid="total">{formatting.percent(total.value)}<' in card
        assert f'data-testid="women">{formatting.percent(women.value)}<' in card
        assert f'data-testid="men">{formatting.percent(men.value)}<' in card
        # Each figure opens the same figure on the indicators page.
        link = f"/indicators/?area=XY&amp;indicator={code}&amp;period={PERIOD:%Y-%m}"
        assert f'href="{link}"' in card
        page = client.get(link.replace("&amp;", "&")).content.decode()
        drill = page[page.index('data-testid="sdg"') if code.startswith("SOC_") else 0:]
        assert formatting.percent(total.value) in drill
        # The trend against the month before.
        previous = _value(before, code, "XY").value
        change = total.value - previous
        if round(change, 1) == 0:
            assert f"No change since {formatting.month(before.period)}" in _text(card)
        else:
            sign = "+" if change > 0 else "\u2212"
            assert (f"{sign}{formatting.number(abs(change), 1)} points since "
                    f"{formatting.month(before.period)}") in _text(card)
    target_card = html[html.index('data-testid="landing-SOC_CONTIG_TOTAL"'):]
    to_go = 60 - _value(run, "SOC_CONTIG_TOTAL", "XY").value
    assert (f"Target {formatting.percent(60)} by 2030: {formatting.number(to_go, 1)} points "
            "to go") in _text(target_card[:target_card.index("</article>")])
    assert 'data-testid="no-targets"' not in html  # one line has a target
    assert "trend-chart-1" in html and "chart-4.6.1.umd.min.js" in html


def test_without_targets_the_page_says_so(country, make_user):
    indicators_run(actor=None, period=PERIOD)
    html = _home(make_user("SCHEME_MANAGER"))
    assert 'data-testid="no-targets"' in html and "spmis indicators target" in html
    assert "No earlier month to compare with." in html  # one run: no trend invented


def test_the_five_largest_gaps_worst_first(country, make_user):
    run = indicators_run(actor=None, period=PERIOD)
    html = _home(make_user("STATISTICIAN"))
    table = html[html.index('data-testid="gaps"'):]
    table = table[:table.index("</table>")]
    shown = re.findall(r'data-area="([^"]+)"', table)
    # Computed here: the level below the country with at least five areas (or the most).
    counts = {level: Area.objects.filter(level=level).count() for level in (1, 2, 3)}
    level = next((lv for lv in sorted(counts) if counts[lv] >= 5),
                 max(counts, key=lambda lv: (counts[lv], -lv)))
    codes = list(Area.objects.filter(level=level).values_list("code", flat=True))
    rated = sorted((v.value, v.area_code) for v in IndicatorValue.objects.filter(
        run=run, indicator="SOC_CONTIG_TOTAL", area_code__in=codes, sex="_T", age_band="_T",
        disability="_T", scheme="_T") if v.value is not None)
    assert shown == [code for _value_, code in rated[:5]]
    assert len(shown) == min(5, len(rated)) > 0
    for code in shown:
        assert f"/indicators/?area={code}&amp;indicator=SOC_CONTIG_TOTAL" in table


def test_a_district_reader_sees_their_district(country, make_user):
    indicators_run(actor=None, period=PERIOD)
    district = Area.objects.filter(level=2).order_by("code").first()
    html = _home(make_user("STATISTICIAN", area=district.code))
    assert f'data-area-code="{district.code}"' in html and 'data-area-code="XY"' not in html
    assert f"Coverage in {district.name}" in _text(html)


def test_a_reader_of_some_schemes_sees_each_of_theirs_only(country, make_user):
    run = indicators_run(actor=None, period=PERIOD)
    target_set(actor=None, indicator="COV_CHILDREN", area_code="XY", year=2030, value=50)
    html = _home(make_user("SCHEME_MANAGER", schemes=("CHILD_GRANT",)))
    assert 'data-scheme="CHILD_GRANT"' in html and 'data-testid="landing-COV_CHILDREN"' in html
    # Only the lines computed for the scheme; no target (targets are for all schemes).
    assert 'data-testid="landing-COV_OLD_AGE"' not in html
    assert "Target" not in _text(html[html.index('data-testid="landing-COV_CHILDREN"'):])
    value = IndicatorValue.objects.get(run=run, indicator="COV_CHILDREN", area_code="XY",
                                       sex="F", age_band="_T", disability="_T",
                                       scheme="CHILD_GRANT").value
    assert f'data-testid="women">{formatting.percent(value)}<' in html
    assert "scheme=CHILD_GRANT" in html  # the links keep the scheme


# --- the officers' work lists ----------------------------------------------------------------


@pytest.fixture
def flagged(country):
    """Open flags in two districts (one overdue, one due in three days), one decided flag."""
    home, away = Area.objects.filter(level=2).order_by("code")[:2]
    registry = factories.registry("CRVS_HOME")
    people = {a.code: list(Person.objects.filter(area__path__startswith=a.path)
                           .exclude(national_id=None).order_by("id")[:4]) for a in (home, away)}
    evidence = Person.objects.exclude(national_id=None).order_by("-id")
    e = iter(evidence[:10])
    factories.flag(people[home.code][0], registry=registry, evidence=next(e), due_in=-2)
    factories.flag(people[home.code][1], registry=registry, evidence=next(e), due_in=3)
    factories.flag(people[home.code][2], registry=registry, evidence=next(e), due_in=30,
                   state=FlagState.CONFIRMED)
    factories.flag(people[away.code][0], registry=registry, evidence=next(e), due_in=20)
    return home, away, people


def test_registrar_sees_flags_and_pairs_of_their_areas_only(flagged, make_user):
    home, away, people = flagged
    run = factories.linkage_run()
    factories.link(people[home.code][0], people[home.code][3], run=run)
    factories.link(people[away.code][0], people[away.code][1], run=run)
    factories.link(people[home.code][1], people[home.code][2], run=run, state=LinkState.MATCH)
    today = clock.today()
    for area, testid in ((home, "home"), (None, "national")):
        user = make_user("REGISTRAR", area=area.code if area else "XY")
        html = _home(user)
        flags = VerificationFlag.objects.filter(state=FlagState.OPEN)
        if area is not None:
            flags = flags.filter(person__area__path__startswith=area.path)
        section = _section(html, "work-flags")
        assert f'data-testid="flags-open">{flags.count()}<' in section, testid
        assert (f'data-testid="flags-overdue">{flags.filter(due_on__lt=today).count()}<'
                in section)
        soon = flags.filter(due_on__gte=today, due_on__lte=today + dt.timedelta(days=7))
        assert f'data-testid="flags-due-soon">{soon.count()}<' in section
        assert 'href="/crosscheck/flags/"' in section
        pairs = 1 if area is not None else 2
        assert f'data-testid="review-count">{pairs}<' in _section(html, "work-review")
        # Names its area and the day.
        where = area.name if area is not None else "Xylandia"
        assert f"Your work in {where}" in _text(html)
        assert formatting.day(today) in _text(html)
        assert 'data-testid="headline"' not in html  # an officer's page starts with work


def test_each_officer_sees_the_lists_their_role_may_open(country, make_user):
    targeting = _home(make_user("TARGETING_OFFICER"))
    assert 'data-testid="work-review"' in targeting  # the review queue is theirs too
    assert 'data-testid="work-flags"' not in targeting  # flags are the data recorder's
    collector = _home(make_user("DATA_COLLECTOR"))
    assert 'data-testid="work-reporting"' in collector
    assert 'data-testid="work-review"' not in collector
    grievance = _home(make_user("GRIEVANCE_OFFICER"))
    assert 'data-testid="work-nothing"' in grievance and "/indicators/" in grievance


def test_empty_work_lists_say_so(country, make_user):
    html = _home(make_user("REGISTRAR"))
    assert 'data-testid="flags-none"' in html and "No open verification flags." in html
    assert 'data-testid="review-none"' in html


def test_collector_sees_their_late_and_missing_reports(country, make_user):
    district = Area.objects.filter(level=2).order_by("code").first()
    other = Area.objects.filter(level=2).exclude(pk=district.pk).order_by("code").first()
    today = clock.today()
    period = add_months(month_start(today), -1)
    common = {"schedule": Schedule.MONTHLY, "deadline_days": 5}
    sent = factories.source("HOME_SENT", area=district, **common)
    factories.source("HOME_SILENT", name="Silent office", area=district, **common)
    factories.source("AWAY_SILENT", name="Away office", area=other, **common)
    factories.submission(sent, period=period, status=SubmissionStatus.LOADED,
                         received_at=clock.now().replace(year=period.year, month=period.month,
                                                         day=15))
    html = _home(make_user("DATA_COLLECTOR", area=district.code))
    section = _section(html, "work-reporting")
    late = [code for code in ("HOME_SENT", "HOME_SILENT") if code == "HOME_SILENT"]
    assert f'data-testid="reporting-late">{len(late)}<' in section
    assert 'data-source="HOME_SILENT"' in section and "missing" in section
    assert "AWAY_SILENT" not in section and "HOME_SENT" not in section.split("<ul")[-1]
    assert formatting.month(period) in _text(section)
    assert f"?period={period:%Y-%m}" in section


def test_approver_sees_requests_waiting_for_them(country, make_user):
    district = Area.objects.filter(level=2).order_by("code").first()
    maker = make_user("REGISTRAR", area=district.code)
    submission = factories.submission(factories.source("SRC_W", area=district))
    request = approval_request(maker=maker, object_type="submission", object_id=submission.pk,
                               action="submission.withdraw", approver_role="APPROVER",
                               area_code=district.code)
    approver = make_user("APPROVER")
    html = _home(approver)
    section = _section(html, "work-approvals")
    assert 'data-testid="approvals-count">1<' in section
    assert f'data-request="{request.pk}"' in section
    assert f'href="/intake/submissions/{submission.pk}/"' in section
    # An approver of another district has nothing waiting; the maker neither.
    away = Area.objects.filter(level=2).exclude(pk=district.pk).order_by("code").first()
    assert 'data-testid="approvals-none"' in _home(make_user("APPROVER", area=away.code))
    assert ApprovalRequest.objects.filter(status="PENDING").count() == 1


# --- administrators and the auditor ----------------------------------------------------------


def test_security_admin_sees_the_access_review_in_brief(country, make_user):
    locked = make_user("REGISTRAR", username="locked_one")
    User.objects.filter(pk=locked.pk).update(locked_until=clock.now() + dt.timedelta(hours=1))
    ending = make_user("APPROVER", username="ending_one")
    RoleAssignment.objects.filter(user=ending).update(
        valid_until=clock.today() + dt.timedelta(days=10))
    old = clock.now() - dt.timedelta(days=120)
    dormant = make_user("DATA_COLLECTOR", username="dormant_one")
    User.objects.filter(pk=dormant.pk).update(last_login=old, date_joined=old)
    html = _home(make_user("SECURITY_ADMIN"))
    assert "locked_one" in _section(html, "access-locked")
    assert "ending_one" in _section(html, "access-due")
    assert "dormant_one" in _section(html, "access-dormant")
    assert 'href="/access/review/"' in html
    assert 'data-testid="headline"' not in html and 'data-testid="work"' not in html


def test_system_admin_sees_when_each_stage_last_ran(country, make_user):
    run = indicators_run(actor=None, period=PERIOD)
    html = _home(make_user("SYSTEM_ADMIN"))
    assert f"Run {run.pk} for {formatting.month(run.period)}" in _text(
        _section(html, "system-indicators"))
    assert "Linkage has not run yet." in html or "system-linkage" in html
    entries = AuditEvent.objects.count()
    assert formatting.number(entries) in _text(html[html.index('data-testid="system-audit"'):])
    assert "spmis audit verify" in html


def test_system_admin_sees_whether_the_latest_checkpoint_verifies(country, make_user):
    from spmis.audit.services import audit_checkpoint

    admin = make_user("SYSTEM_ADMIN")
    assert 'data-testid="audit-no-checkpoint"' in _home(admin)
    made = audit_checkpoint(actor=None)
    html = _home(admin)
    assert 'data-testid="audit-checkpoint-valid"' in html
    assert formatting.number(made.size) in _text(_section(html, "system-audit"))


def test_auditor_sees_recent_activity_counted_in_their_areas(country, make_user):
    auditor = make_user("AUDITOR")
    html = _home(auditor)
    since = clock.today() - dt.timedelta(days=7)
    # Counted here before the page's own login entries are written... so count after.
    total = AuditEvent.objects.filter(occurred_at__date__gte=since).count()
    shown = int(re.search(r'data-testid="audit-total">([\d,]+)<', html).group(1)
                .replace(",", ""))
    assert 0 < shown <= total
    assert 'href="/audit/"' in html


def test_several_roles_see_each_section(country, make_user):
    indicators_run(actor=None, period=PERIOD)
    user = make_user("STATISTICIAN")
    role_assign(actor=None, user=user, role="APPROVER", area_code="XY")
    html = _home(user)
    assert 'data-testid="headline"' in html and 'data-testid="work-approvals"' in html


def test_a_user_without_a_role_is_told_so(country, make_user):
    user = factories.user(None, username="roleless")
    html = _home(user)
    assert 'data-testid="no-role"' in html
