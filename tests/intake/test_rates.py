"""Reporting rates: expected, received and on-time reports, rolled up the area hierarchy."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from django.utils import timezone

from spmis.cli.main import cli
from spmis.geography.models import Area
from spmis.intake.models import SubmissionStatus
from spmis.intake.rates import due_schedules, late_or_missing, reporting_rates
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db
MAY = dt.date(2026, 5, 1)
JUNE = dt.date(2026, 6, 1)


def at(text: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(text))


@pytest.fixture
def world(country):
    """Region 1: district A (two sources in its commune) and district B (a source on the
    district itself); region 2: district C with a monthly, a quarterly and an annual source."""
    r1, r2 = Area.objects.filter(level=1).order_by("code")[:2]
    a, b = Area.objects.filter(level=2, parent=r1).order_by("code")[:2]
    c = Area.objects.filter(level=2, parent=r2).order_by("code").first()
    a1 = Area.objects.filter(level=3, parent=a).order_by("code").first()

    def source(code, area, schedule="MONTHLY", deadline_days=15):
        return factories.source(code, institution="X", kind="NGO", area=area,
                                schedule=schedule, deadline_days=deadline_days)

    def sub(src, received, status=SubmissionStatus.LOADED, period=MAY):
        return factories.submission(src, period=period, status=status,
                                    content_hash=f"{src.code}{received}", filename="f",
                                    received_at=at(received))

    s1 = source("S1_ONTIME", a1)
    s2 = source("S2_LATE", a1)
    s3 = source("S3_MISSING", b)
    s4 = source("S4_QUARTER", c, schedule="QUARTERLY")
    s5 = source("S5_LONG", c, deadline_days=30)
    source("S6_ANNUAL", c, schedule="ANNUAL")
    sub(s1, "2026-06-15T23:30:00")  # deadline day, before its end
    sub(s2, "2026-06-01T09:00:00", status=SubmissionStatus.REFUSED)  # refusals do not count
    sub(s2, "2026-06-20T09:00:00", status=SubmissionStatus.SUPERSEDED)  # first accepted: late
    sub(s2, "2026-06-21T09:00:00")
    sub(s5, "2026-06-29T10:00:00")  # on time under its own 30-day deadline
    sub(s4, "2026-07-01T10:00:00", period=JUNE)
    sub(s3, "2026-05-20T10:00:00", period=JUNE)  # another period: not counted for May
    return {"r1": r1, "r2": r2, "a": a, "b": b, "c": c, "a1": a1}


def by_code(rows):
    return {r.area_code: (r.expected, r.received, r.on_time, r.rate, r.on_time_rate)
            for r in rows}


def test_rates_per_area_and_roll_up(world, make_user):
    user = make_user("STATISTICIAN", area="XY")
    rows = by_code(reporting_rates(user=user, period=MAY))
    w = world
    assert rows[w["a1"].code] == (2, 2, 1, 100.0, 50.0)
    assert rows[w["a"].code] == (2, 2, 1, 100.0, 50.0)
    assert rows[w["b"].code] == (1, 0, 0, 0.0, 0.0)
    assert rows[w["r1"].code] == (3, 2, 1, pytest.approx(200 / 3), pytest.approx(100 / 3))
    assert rows[w["c"].code] == (1, 1, 1, 100.0, 100.0)  # quarterly and annual not due in May
    assert rows[w["r2"].code] == (1, 1, 1, 100.0, 100.0)
    assert rows["XY"] == (4, 3, 2, 75.0, 50.0)
    levels = {r.area_code: r.level for r in reporting_rates(user=user, period=MAY)}
    assert sorted(set(levels.values())) == [0, 1, 2, 3]


def test_quarterly_sources_are_due_only_in_quarter_months(world, make_user):
    assert due_schedules(MAY) == ["MONTHLY"]
    assert due_schedules(JUNE) == ["MONTHLY", "QUARTERLY"]
    assert due_schedules(dt.date(2026, 12, 1)) == ["MONTHLY", "QUARTERLY", "ANNUAL"]
    user = make_user("STATISTICIAN", area="XY")
    june = by_code(reporting_rates(user=user, period=JUNE))
    assert june[world["c"].code][:3] == (2, 1, 1)  # S5 monthly (nothing yet) + S4 quarterly
    december = by_code(reporting_rates(user=user, period=dt.date(2026, 12, 1)))
    assert december[world["c"].code][:3] == (3, 0, 0)


def test_late_missing_due_and_on_time(world, make_user):
    user = make_user("STATISTICIAN", area="XY")
    states = {s.source_code: s.state for s in
              late_or_missing(user=user, period=MAY, today=dt.date(2026, 6, 25))}
    assert states == {"S1_ONTIME": "on time", "S2_LATE": "late", "S3_MISSING": "missing",
                      "S5_LONG": "on time"}
    early = {s.source_code: s.state for s in
             late_or_missing(user=user, period=MAY, today=dt.date(2026, 6, 15))}
    assert early["S3_MISSING"] == "due"
    deadline = {s.source_code: s.deadline for s in
                late_or_missing(user=user, period=MAY, today=dt.date(2026, 6, 25))}
    assert deadline["S1_ONTIME"] == dt.date(2026, 6, 15)
    assert deadline["S5_LONG"] == dt.date(2026, 6, 30)


def test_rates_are_scoped_to_the_users_areas(world, make_user):
    user = make_user("DATA_COLLECTOR", area=world["r1"].code)
    rows = by_code(reporting_rates(user=user, period=MAY))
    assert world["r1"].code in rows and "XY" not in rows
    assert world["r2"].code not in rows and world["c"].code not in rows
    assert {s.source_code for s in late_or_missing(user=user, period=MAY,
                                                   today=dt.date(2026, 7, 1))} == {
        "S1_ONTIME", "S2_LATE", "S3_MISSING"}
    outsider = make_user("SECURITY_ADMIN", area="XY")  # no coverage permission
    assert reporting_rates(user=outsider, period=MAY) == []


def test_cli_rates_and_late(world):
    runner = CliRunner()
    done = runner.invoke(cli, ["intake", "rates", "--period", "2026-05"])
    assert done.exit_code == 0, done.output
    country = next(line for line in done.output.splitlines() if line.startswith("XY "))
    assert country.split()[-5:] == ["4", "3", "2", "75.0", "50.0"]
    regions = runner.invoke(cli, ["intake", "rates", "--period", "2026-05", "--level", "1"])
    codes = [line.split()[0] for line in regions.output.splitlines()[1:]]
    assert codes == [world["r1"].code, world["r2"].code]
    late = runner.invoke(cli, ["intake", "late", "--period", "2026-05"])
    assert late.exit_code == 0, late.output
    assert "S2_LATE" in late.output and "S3_MISSING" in late.output
    assert "S1_ONTIME" not in late.output


def test_web_page_shows_rates_and_highlights(world, make_user):
    user = make_user("STATISTICIAN", area="XY", username="stat")
    client = logged_in(user)
    home = client.get("/").content.decode()
    assert "/intake/rates/" in home
    page = client.get("/intake/rates/?period=2026-05")
    assert page.status_code == 200
    body = page.content.decode()
    assert "75.0" in body and world["r1"].code in body
    assert 'class="state-late late"' in body and 'class="state-missing missing"' in body
    assert client.get("/intake/rates/?period=nonsense").status_code == 200
    denied = logged_in(make_user("SECURITY_ADMIN", area="XY", username="sec"))
    assert denied.get("/intake/rates/?period=2026-05").status_code == 403


def test_a_refused_file_is_received_but_refused_not_a_report(ngo):
    """A source whose only file for the month was refused: not received, shown as refused."""
    from spmis.intake.rates import STATE_REFUSED
    from tests.intake.helpers import csv_bytes, row, submit

    commune = Area.objects.filter(level=3).order_by("code").first()
    ngo.area = commune
    ngo.save(update_fields=["area"])
    refused = submit(csv_bytes([row(ref="B1", sex="X")]))
    assert refused.status == "REFUSED"
    mine = next(r for r in reporting_rates(user=None, period=dt.date(2026, 5, 1))
                if r.area_code == commune.code)
    assert (mine.expected, mine.received, mine.refused) == (1, 0, 1)
    state = next(s for s in late_or_missing(user=None, period=dt.date(2026, 5, 1),
                                            today=dt.date(2026, 7, 1))
                 if s.source_code == "NGO_X")
    assert state.state == STATE_REFUSED and state.received_at == refused.received_at
    out = CliRunner().invoke(cli, ["intake", "late", "--period", "2026-05"])
    assert "refused" in out.output and "NGO_X" in out.output
