"""A new MIS officer's three files, loaded as sent with mappings written only from the guide.

Each file is generated here the way an office's software writes it: a municipality's
Windows-1252 semicolon CSV (Spanish headers, decimal commas, trailing blanks, a short row,
blank lines at the end), an NGO's XLSX with a title row and a blank row above the header
(Portuguese headers, Excel date cells), and a KoBoToolbox export with one row per household
member (group prefixes, UTF-8 BOM, yes/no and blank answers). Every good row loads, exactly
the known bad rows are reported, and names and amounts arrive intact.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from spmis.geography.models import Area
from spmis.intake.mapping_cli import check_report
from spmis.intake.models import Submission, SubmissionStatus
from spmis.intake.services import mapping_save, submission_submit
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Person
from tests import factories

JAN = dt.date(2026, 1, 1)


def _source(code: str, mapping: str) -> None:
    factories.source(code, kind="LOCAL_GOVERNMENT", schemes=("CHILD_GRANT",),
                     error_threshold=60)
    mapping_save(actor=None, source_code=code, text=mapping)


def _submit(code: str, name: str, data: bytes) -> Submission:
    return submission_submit(actor=None, source_code=code, period=JAN, filename=name, data=data)


def _issues(done: Submission) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for row, rule in done.issues.values_list("row", "rule"):
        found.setdefault(row, set()).add(rule)
    return found


@pytest.fixture
def communes(country) -> list[str]:
    return list(Area.objects.filter(level=3).order_by("code").values_list("code", flat=True)[:2])


# --- (a) a municipality's CSV -----------------------------------------------------------------

MUNICIPIO = """
version: 1
decimal: ","
thousands: "."
fields:
  person_ref:    {from: "Código"}
  household_ref: {from: "Hogar"}
  given_name:    {from: "Nombres"}
  family_name:   {join: ["Primer apellido", "Segundo apellido"]}
  sex:           {from: "Sexo (H/M)", codes: {"H": "M", "M": "F"}}
  date_of_birth: {from: "Fecha de nacimiento", date_format: "%d/%m/%Y"}
  area:          {from: "Municipio"}
  relationship_to_head: {from: "Parentesco",
                         codes: {"Jefe": "HEAD", "Cónyuge": "SPOUSE", "Hijo": "CHILD",
                                 "Hija": "CHILD"}}
  scheme:        {constant: "CHILD_GRANT"}
  amount:        {from: "Monto (Bs.)", unit: major}
  currency:      {constant: "USD"}
"""


def municipio_csv(c: str) -> bytes:
    lines = [
        "Código;Nombres;Primer apellido;Segundo apellido;Sexo (H/M);Fecha de nacimiento;"
        "Municipio;Hogar;Parentesco;Monto (Bs.)",
        f"E001;José Luis;Pérez;Gómez;H;03/04/1980;{c};HG1;Jefe;128,47",
        f"E002;María  ;Núñez;;M;15/09/1985;{c} ;HG1;Cónyuge;1.234,56  ",
        f"E003;Iñaki;Pérez;Núñez;H;01/02/2015;{c};HG1;Hijo;0,5",
        "E004;Ana;Sanz;;M;01/01/1990",  # short: the row was cut
        f"E005;Inés;Ávila;;M;28/02/1950;{c};HG2;Jefe;250,00",
        f"E006;Luz;Ruiz;;X;01/01/1990;{c};HG3;Jefe;10,00",  # X is no sex
        f"E007;Sofía;Ruiz;;M;31/02/1990;{c};HG4;Jefe;10,00",  # 31 February
        f"E008;Raúl;Díaz;;H;01/01/1970;{c};HG5;Jefe;12.34",  # a point where a comma goes
        f"E009;Begoña;Muñoz;Peña;M;07/07/2016;{c};HG2;Hija;  1.000,00  ",
        "", ";;;;;;;;;", "", "",
    ]
    return "\r\n".join(lines).encode("cp1252")


def test_a_municipality_csv_loads_as_sent(communes: list[str], tmp_path: Path) -> None:
    _source("MUNI", MUNICIPIO)
    data = municipio_csv(communes[0])
    done = _submit("MUNI", "padron.csv", data)
    assert done.status == SubmissionStatus.PARTIAL, done.message
    assert (done.rows_total, done.rows_loaded, done.rows_rejected) == (9, 5, 4)
    assert _issues(done) == {5: {"row_shape"}, 7: {"code_list"}, 8: {"date"}, 9: {"number"}}
    people = {p.source_ref: p for p in Person.objects.filter(source__code="MUNI")}
    assert sorted(people) == ["E001", "E002", "E003", "E005", "E009"]
    assert (people["E002"].given_name, people["E002"].family_name) == ("María", "Núñez")
    assert people["E001"].family_name == "Pérez Gómez" and people["E001"].sex == "M"
    assert people["E003"].given_name == "Iñaki" and people["E009"].family_name == "Muñoz Peña"
    assert people["E005"].sex == "F"  # M is mujer in this file
    paid = dict(BenefitPayment.objects.filter(source__code="MUNI")
                .values_list("person__source_ref", "amount_minor"))
    assert paid == {"E001": 12847, "E002": 123456, "E003": 50, "E005": 25000, "E009": 100000}
    assert set(BenefitPayment.objects.filter(source__code="MUNI")
               .values_list("period", flat=True)) == {JAN}
    assert _submit("MUNI", "padron.csv", data).pk == done.pk  # the same file again
    # The check reads the file as submit did and finds the same faulty rows.
    (tmp_path / "m.yaml").write_text(MUNICIPIO, encoding="utf-8")
    (tmp_path / "padron.csv").write_bytes(data)
    report = check_report(str(tmp_path / "m.yaml"), sample=str(tmp_path / "padron.csv"))
    assert [p.split(":")[0] for p in report.problems] == [
        "row shape", "column 'Sexo (H/M)'", "column 'Fecha de nacimiento'",
        "column 'Monto (Bs.)'"]
    assert report.warnings == [] and report.notes == []


def test_the_guides_old_sex_codes_are_warned_for_a_spanish_file(tmp_path: Path) -> None:
    risky = MUNICIPIO.replace('{"H": "M", "M": "F"}', '{"M": "M", "H": "M", "F": "F"}')
    (tmp_path / "m.yaml").write_text(risky, encoding="utf-8")
    report = check_report(str(tmp_path / "m.yaml"))
    assert report.problems == [] and "mujer" in report.warnings[0]


# --- (b) an NGO's workbook --------------------------------------------------------------------

ONG = """
version: 1
fields:
  person_ref:    {from: "Nº"}
  household_ref: {from: "Agregado"}
  given_name:    {from: "Nome completo", part: first}
  family_name:   {from: "Nome completo", part: rest}
  sex:           {from: "Sexo", codes: {"Masculino": "M", "Feminino": "F"}}
  date_of_birth: {from: "Data de nascimento"}
  area:          {from: "Município"}
  disability_level: {from: "Deficiência",
                     codes: {"Nenhuma": "0", "Alguma": "1", "Muita": "2", "Não sabe": null}}
  scheme:        {constant: "CHILD_GRANT"}
  amount:        {from: "Valor (MZN)", unit: major}
  currency:      {constant: "MZN"}
"""


def ong_xlsx(c: str) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    day = dt.datetime
    rows: list[list[object]] = [
        ["Lista de beneficiários — Janeiro 2026"],
        [],
        ["Nº", "Nome completo", "Sexo", "Data de nascimento", "Município", "Agregado",
         "Deficiência", "Valor (MZN)"],
        [1, "João da Conceição", "Masculino", day(1975, 3, 9), c, "A1", "Nenhuma", 1500.5],
        [2, "Maria José Gonçalves", "Feminino", day(1978, 11, 30), c, "A1", None, 1500],
        [3, "Antônio", "Masculino", day(2014, 6, 1), c, "A1", "Não sabe", 750.25],
        [4, "Sebastião Nhantumbo", "X", day(1960, 1, 1), c, "A2", "Muita", 1500],
        [5, "Luísa Mabunda", "Feminino", "32/13/1990", c, "A3", "Alguma", 1500],
        [6, "Fátima Cossa", "Feminino", day(1990, 2, 28), c, "A4", "Alguma", 99.99],
    ]
    for r in rows:
        sheet.append(r)
    for cell in sheet["D"][3:]:
        if isinstance(cell.value, dt.datetime):
            cell.number_format = "DD/MM/YYYY"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_ngo_workbook_with_a_title_row_loads_as_sent(communes: list[str]) -> None:
    _source("ONG", ONG)
    done = _submit("ONG", "beneficiarios.xlsx", ong_xlsx(communes[1]))
    assert done.status == SubmissionStatus.PARTIAL, done.message
    assert (done.rows_total, done.rows_loaded, done.rows_rejected) == (6, 4, 2)
    assert _issues(done) == {7: {"code_list"}, 8: {"date"}}
    assert "found on row 3" in done.message
    people = {p.source_ref: p for p in Person.objects.filter(source__code="ONG")}
    assert sorted(people) == ["1", "2", "3", "6"]
    assert (people["1"].given_name, people["1"].family_name) == ("João", "da Conceição")
    assert (people["2"].given_name, people["2"].family_name) == ("Maria", "José Gonçalves")
    assert (people["3"].given_name, people["3"].family_name) == ("Antônio", "")
    assert people["1"].date_of_birth == dt.date(1975, 3, 9)
    assert [people[k].disability_level for k in ("1", "2", "3", "6")] == [0, None, None, 1]
    paid = dict(BenefitPayment.objects.filter(source__code="ONG")
                .values_list("person__source_ref", "amount_minor"))
    assert paid == {"1": 150050, "2": 150000, "3": 75025, "6": 9999}


# --- (c) a KoBoToolbox export, one row per member ---------------------------------------------

KOBO = """
version: 1
fields:
  person_ref:    {member_of: "hh_id"}
  household_ref: {from: "hh_id"}
  given_name:    {from: "name", part: first}
  family_name:   {from: "name", part: rest}
  sex:           {from: "sex", codes: {"male": "M", "female": "F"}}
  date_of_birth: {from: "dob"}
  area:          {from: "commune"}
  relationship_to_head: {from: "relation", codes: {"head": "HEAD", "spouse": "SPOUSE",
                                                   "child": "CHILD"}}
  disability_level: {from: "difficulty_seeing", codes: {"no": "0", "yes": "2"}}
extensions:
  attends_school: {from: "attends_school", codes: {"yes": "true", "no": "false"}}
"""


def kobo_csv(c: str) -> bytes:
    header = ("start,end,household/hh_id,household/commune,household/member/name,"
              "household/member/sex,household/member/dob,household/member/relation,"
              "household/member/difficulty_seeing,household/member/attends_school,"
              "_id,_uuid,_submission_time,_index,__version__")
    members = [
        ("HH-01", "Zoë Mwangi", "female", "1980-05-01", "head", "no", ""),
        ("HH-01", "Ngũgĩ Mwangi", "male", "1979-01-20", "spouse", "", ""),
        ("HH-01", "Wanjikũ Mwangi", "female", "2015-09-09", "child", "yes", "yes"),
        ("HH-02", "Amani Otieno", "male", "1990-02-02", "head", "no", ""),
        ("HH-02", "Baraka Otieno", "other", "2016-03-03", "child", "no", "no"),  # bad sex
        ("HH-03", "Aïcha Diallo", "female", "", "head", "", ""),  # no date of birth
        ("HH-03", "Moussa Diallo", "male", "2012-12-12", "child", "", "yes"),
    ]
    lines = [header]
    for i, (hh, name, sex, dob, rel, seeing, school) in enumerate(members, start=1):
        lines.append(f"2026-01-05T09:00:00,2026-01-05T09:30:00,{hh},{c},{name},{sex},{dob},"
                     f"{rel},{seeing},{school},{100 + i},uuid-{i},2026-01-05T10:00:00,{i},"
                     f"vX1")
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def test_a_kobo_export_with_one_row_per_member_loads_as_sent(communes: list[str]) -> None:
    _source("KOBO", KOBO)
    done = _submit("KOBO", "kobo_export.csv", kobo_csv(communes[0]))
    assert done.status == SubmissionStatus.PARTIAL, done.message
    assert done.file_format == "odk"
    assert (done.rows_total, done.rows_loaded, done.rows_rejected) == (7, 5, 2)
    assert _issues(done) == {6: {"code_list"}, 7: {"required"}}
    assert "Group prefixes" in done.message
    people = {p.source_ref: p for p in Person.objects.filter(source__code="KOBO")}
    assert sorted(people) == ["HH-01-1", "HH-01-2", "HH-01-3", "HH-02-1", "HH-03-2"]
    assert (people["HH-01-2"].given_name, people["HH-01-2"].family_name) == ("Ngũgĩ", "Mwangi")
    assert people["HH-01-1"].given_name == "Zoë"
    assert [people[k].disability_level for k in sorted(people)] == [0, None, 2, 0, None]
    assert {p.household.source_ref for p in people.values()} == {"HH-01", "HH-02", "HH-03"}
    assert people["HH-01-3"].relationship_to_head == "CHILD"


# --- drafts: spmis intake mapping draft -------------------------------------------------------

def test_a_draft_of_each_file_needs_only_its_question_marks_answered(
        communes: list[str], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from spmis.cli.main import cli
    from spmis.intake.mapping import load_mapping

    factories.source("MUNI_D", kind="LOCAL_GOVERNMENT", schemes=("CHILD_GRANT",))
    files = {"padron.csv": municipio_csv(communes[0]), "lista.xlsx": ong_xlsx(communes[1]),
             "kobo.csv": kobo_csv(communes[0])}
    drafts = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        args = ["intake", "mapping", "draft", str(tmp_path / name)]
        result = CliRunner().invoke(cli, args + (["--source", "MUNI_D"] if name == "padron.csv"
                                                 else []))
        assert result.exit_code == 0, result.output
        drafts[name] = result.output
    muni = drafts["padron.csv"]
    assert 'family_name: {join: ["Primer apellido", "Segundo apellido"]}' in muni
    assert 'sex: {from: "Sexo (H/M)", codes: {"H": "M", "M": "F", "X": "?"}}' in muni
    assert '"%d/%m/%Y"' in muni and 'decimal: ","' in muni and 'thousands: "."' in muni
    assert 'scheme: {constant: "CHILD_GRANT"}' in muni
    ong = drafts["lista.xlsx"]
    assert "header_row: 3" in ong and 'given_name: {from: "Nome completo", part: first}' in ong
    assert '"Masculino": "M", "Feminino": "F"' in ong
    kobo = drafts["kobo.csv"]
    assert 'person_ref: {member_of: "hh_id"}' in kobo and '"_id"' not in kobo.split("fields:")[1]
    # The officer answers the question marks; the check then finds only the bad rows.
    answered = {
        "padron.csv": muni.replace(', "X": "?"', "").replace('constant: "?"', 'constant: "USD"'),
        "kobo.csv": kobo.replace(', "other": "?"', ""),
    }
    expected = {"padron.csv": ["row shape", "column 'Sexo (H/M)'", "column 'Fecha de nacimiento'",
                               "column 'Monto (Bs.)'"],
                "kobo.csv": ["column 'sex'"]}
    for name, text in answered.items():
        load_mapping(text)
        (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
        report = check_report(str(tmp_path / "m.yaml"), sample=str(tmp_path / name))
        assert [p.split(":")[0] for p in report.problems] == expected[name], report.problems
    (tmp_path / "m.yaml").write_text(ong, encoding="utf-8")
    assert "'?' is not a valid sex" in "\n".join(check_report(str(tmp_path / "m.yaml")).problems)
