"""Aggregate returns: rules, outliers (modified z-score), CSV upload, the period lock, the form."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core.errors import Conflict, ValidationFailed
from spmis.core.periods import add_months
from spmis.geography.models import Area
from spmis.intake.aggregates import (
    aggregate_outliers,
    aggregate_series,
    aggregate_submit,
    aggregate_upload,
    modified_z_scores,
)
from spmis.intake.models import AggregateValue, DataElement, Source, SubmissionStatus
from tests.helpers import logged_in
from tests.intake.helpers import approved

pytestmark = pytest.mark.django_db
MAY = dt.date(2026, 5, 1)


def values(total, f, m, element="BENEFICIARIES"):
    return [{"element": element, "combo": "", "value": total},
            {"element": element, "combo": "SEX=F", "value": f},
            {"element": element, "combo": "SEX=M", "value": m}]


@pytest.fixture
def commune(district):
    """The NGO source's own area (a commune of ``district``)."""
    return Source.objects.get(code="NGO_X").area


def test_default_elements_are_seeded(db):
    elements = {e.code: e for e in DataElement.objects.all()}
    assert {"BENEFICIARIES", "EXPENDITURE", "APPLICATIONS", "COMPLAINTS"} <= set(elements)
    assert elements["BENEFICIARIES"].disaggregation == ["SEX"]
    assert elements["EXPENDITURE"].value_type == "MONEY"
    assert elements["EXPENDITURE"].disaggregation == []


def test_a_good_return_is_saved_and_audited(commune):
    result = aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code,
                              period=dt.date(2026, 5, 17), values=values(30, 12, 18))
    assert not result.refused and result.saved == 3
    assert result.submission is not None and result.submission.status == SubmissionStatus.LOADED
    stored = AggregateValue.objects.filter(area=commune, period=MAY)
    assert {(v.category_option_combo, v.value) for v in stored} == {
        ("", 30), ("SEX=F", 12), ("SEX=M", 18)}
    event = AuditEvent.objects.get(action="aggregate.submit")
    assert event.area_code == commune.code and event.detail["values"] == 3
    # A correction upserts: still one row per combo, with the new value.
    aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code, period=MAY,
                     values=values(31, 13, 18))
    assert stored.count() == 3 and stored.get(category_option_combo="").value == 31


def test_rule_female_plus_male_equals_total_refuses_a_bad_return(commune):
    result = aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code,
                              period=MAY, values=values(30, 12, 17))
    assert result.refused and result.submission is None
    assert result.violations == ["BENEFICIARIES: total = F + M fails (30 ≠ 29)."]
    assert "refused" in result.message
    assert not AggregateValue.objects.exists()
    assert AuditEvent.objects.filter(action="aggregate.refuse").count() == 1
    # Checked with the values already stored: a later partial return must still add up.
    aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code, period=MAY,
                     values=values(30, 12, 18))
    later = aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code,
                             period=MAY, values=[{"element": "BENEFICIARIES",
                                                  "combo": "SEX=F", "value": 20}])
    assert later.refused and AggregateValue.objects.get(category_option_combo="SEX=F").value == 12
    # Incomplete breakdowns are not checked.
    partial = aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code,
                               period=MAY, values=[{"element": "COMPLAINTS", "combo": "",
                                                    "value": 5}])
    assert not partial.refused


def test_unknown_element_combo_or_value_is_refused(commune):
    for bad in ({"element": "NOPE", "combo": "", "value": 1},
                {"element": "EXPENDITURE", "combo": "SEX=F", "value": 1},
                {"element": "COMPLAINTS", "combo": "", "value": "many"},
                {"element": "COMPLAINTS", "combo": "", "value": -1}):
        with pytest.raises(ValidationFailed):
            aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code,
                             period=MAY, values=[bad])


def test_locked_period_is_refused(commune, district, people):
    approved(district, people)
    with pytest.raises(Conflict, match="approved"):
        aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code, period=MAY,
                         values=values(30, 12, 18))
    assert not AggregateValue.objects.exists()


def _series(commune, figures):
    for n, figure in enumerate(figures):
        aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code,
                         period=add_months(dt.date(2025, 12, 1), n),
                         values=[{"element": "EXPENDITURE", "combo": "", "value": figure}])


def test_outliers_flag_a_spike_not_normal_variation(commune):
    _series(commune, [100, 102, 98, 101, 99, 300])
    # By hand: median 100.5; |x - median| = .5 1.5 2.5 .5 1.5 199.5, so MAD = 1.5.
    scored = modified_z_scores(aggregate_series(element_code="EXPENDITURE",
                                                area_code=commune.code))
    z = dict(zip(scored["value"].to_list(), scored["z"].to_list(), strict=True))
    assert z[300] == pytest.approx(0.6745 * (300 - 100.5) / 1.5)  # 89.7
    assert z[98] == pytest.approx(0.6745 * (98 - 100.5) / 1.5)  # -1.12
    found = aggregate_outliers(element_code="EXPENDITURE", area_code=commune.code)
    assert [(o.period, o.value) for o in found] == [(dt.date(2026, 5, 1), 300)]
    assert found[0].z == pytest.approx(89.7085)


def test_no_outliers_when_the_mad_is_zero(commune):
    _series(commune, [100, 100, 100, 100, 250])
    assert aggregate_outliers(element_code="EXPENDITURE", area_code=commune.code) == []


def test_upload_csv(commune):
    data = (b"element,combo,value\nBENEFICIARIES,,30\nBENEFICIARIES,SEX=F,12\n"
            b"BENEFICIARIES,SEX=M,18\nEXPENDITURE,,450000\n")
    result = aggregate_upload(actor=None, source_code="NGO_X", area_code=commune.code,
                              period=MAY, data=data, filename="return.csv")
    assert not result.refused and result.saved == 4
    assert result.submission is not None and result.submission.file_format == "csv"
    assert AggregateValue.objects.get(element__code="EXPENDITURE").value == 450000
    bad = data.replace(b"SEX=M,18", b"SEX=M,19")
    assert aggregate_upload(actor=None, source_code="NGO_X", area_code=commune.code,
                            period=MAY, data=bad, filename="return.csv").refused
    with pytest.raises(ValidationFailed, match="missing: value"):
        aggregate_upload(actor=None, source_code="NGO_X", area_code=commune.code, period=MAY,
                         data=b"element,combo\nEXPENDITURE,\n", filename="r.csv")


def test_cli_upload_and_outliers(commune, tmp_path):
    path = tmp_path / "return.csv"
    path.write_text("element,combo,value\nCOMPLAINTS,,3\nCOMPLAINTS,SEX=F,1\n"
                    "COMPLAINTS,SEX=M,1\n")
    runner = CliRunner()
    args = ["intake", "aggregate-upload", "--source", "NGO_X", "--area", commune.code,
            "--period", "2026-05", str(path)]
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 1 and "total = F + M" in refused.output
    path.write_text("element,combo,value\nCOMPLAINTS,,3\nCOMPLAINTS,SEX=F,1\n"
                    "COMPLAINTS,SEX=M,2\n")
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert "3 values saved" in done.output
    _series(commune, [100, 102, 98, 101, 99, 300])
    found = runner.invoke(cli, ["intake", "outliers", "--element", "EXPENDITURE", "--area",
                                commune.code])
    assert found.exit_code == 0 and "2026-05\tvalue=300" in found.output


def test_form_page_as_a_data_collector(commune, district, make_user):
    user = make_user("DATA_COLLECTOR", area=district.code, username="collector")
    client = logged_in(user)
    url = "/intake/aggregates/"
    assert client.get(url).status_code == 200
    page = client.get(f"{url}?source=NGO_X&period=2026-05")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'name="v|BENEFICIARIES|SEX=F"' in body and 'name="v|EXPENDITURE|"' in body
    form = {"source": "NGO_X", "area": commune.code, "period": "2026-05",
            "v|BENEFICIARIES|": "30", "v|BENEFICIARIES|SEX=F": "12",
            "v|BENEFICIARIES|SEX=M": "17"}
    refused = client.post(url, form)
    assert refused.status_code == 400
    assert "total = F + M fails (30 ≠ 29)" in refused.content.decode()
    assert not AggregateValue.objects.exists()
    saved = client.post(url, {**form, "v|BENEFICIARIES|SEX=M": "18"})
    assert saved.status_code == 303
    assert AggregateValue.objects.filter(entered_by=user).count() == 3
    assert AuditEvent.objects.filter(action="aggregate.submit", actor=user).exists()
    again = client.get(saved["Location"])
    assert 'value="18"' in again.content.decode()
    # An area outside the user's scope is refused.
    outside = Area.objects.filter(level=3).exclude(path__startswith=district.path).first()
    denied = client.post(url, {**form, "area": outside.code})
    assert denied.status_code == 400 and "inside your scope" in denied.content.decode()


def test_form_page_is_forbidden_without_submit_data(district, make_user):
    user = make_user("STATISTICIAN", area=district.code, username="stats")
    assert logged_in(user).get("/intake/aggregates/").status_code == 403


def test_a_decimal_comma_is_refused_never_rescaled(ngo):
    """The reported case: "1234,56" was stored as 123456."""
    from spmis.intake.aggregates import aggregate_upload

    commune = Area.objects.filter(level=3).order_by("code").first()
    ngo.area = commune
    ngo.save(update_fields=["area"])
    with pytest.raises(ValidationFailed, match="Row 2: '1234,56'"):  # the file's own row
        aggregate_upload(actor=None, source_code="NGO_X", area_code=commune.code,
                         period=dt.date(2026, 5, 1), filename="return.csv",
                         data=b"element;combo;value\nBENEFICIARIES;;1234,56\n")
    assert not AggregateValue.objects.exists()


@given(st.integers(min_value=0, max_value=10**12))
def test_whole_numbers_read_back_exactly(n):
    from spmis.intake.aggregates import whole_number

    assert whole_number(str(n)) == n
    assert whole_number(f"{n:,}".replace(",", "\u00a0")) == n  # grouped by no-break spaces
    if n >= 1000:
        assert whole_number(f"{n:,}") is None  # 1,234: a decimal mark somewhere else
    assert whole_number(f"{n},5") is None and whole_number(f"{n}.0") is None


def test_a_refusal_names_the_valid_elements_and_breakdowns(ngo):
    from spmis.intake.aggregates import combo_label, element_list

    commune = Area.objects.filter(level=3).order_by("code").first()
    ngo.area = commune
    ngo.save(update_fields=["area"])
    codes = [e.code for e, _ in element_list()]
    with pytest.raises(ValidationFailed) as refused:
        aggregate_submit(actor=None, source_code="NGO_X", area_code=commune.code,
                         period=dt.date(2026, 5, 1), values=[
                             {"element": "BENEFICIARIEZ", "combo": "", "value": "3"},
                             {"element": "BENEFICIARIES", "combo": "SEX=X", "value": "3"}])
    message = refused.value.message
    assert all(code in message for code in codes) and "'SEX=F'" in message
    assert combo_label("") == "total" and combo_label("SEX=F") == "women"
    assert combo_label("SEX=M;AGE_BAND=60+") == "men, aged 60+"


def test_the_elements_command_lists_every_element_and_breakdown(country):
    from spmis.intake.aggregates import element_list

    out = CliRunner().invoke(cli, ["intake", "elements"])
    assert out.exit_code == 0, out.output
    for element, combos in element_list():
        assert element.code in out.output
        assert all(c in out.output for c in combos if c)
    assert "(total)" in out.output and "women" in out.output
