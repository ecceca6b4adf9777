"""An NGO's beneficiary list as it arrives: its mapping, messy CSV rows, and submitting them.

Shared by the intake tests (the fixtures that use them are in ``tests/intake/conftest.py``).
"""

from __future__ import annotations

import datetime as dt

from spmis.geography.models import Area
from spmis.intake.models import PeriodApproval, Source, Submission
from spmis.intake.services import mapping_save, submission_submit
from tests import factories

MAPPING = """
version: 1
source: NGO_X
record: beneficiary
national_id_check: luhn
fields:
  person_ref: {from: "Code bénéficiaire"}
  household_ref: {from: "Ménage"}
  national_id: {from: "NIN"}
  given_name: {from: "Prénom"}
  family_name: {from: "Nom"}
  sex: {from: "Sexe", codes: {"M": "M", "H": "M", "1": "M", "F": "F", "2": "F"}}
  date_of_birth: {from: "Naissance", date_format: "%d/%m/%Y"}
  area: {from: "Commune"}
  relationship_to_head: {from: "Lien", codes: {"CM": "HEAD", "EN": "CHILD", "EP": "SPOUSE"}}
  scheme: {constant: "CHILD_GRANT"}
  period: {from: "Mois", date_format: "%Y-%m"}
  amount: {from: "Montant", unit: "major"}
  currency: {constant: "USD"}
"""

HEADER = "Code bénéficiaire;Ménage;NIN;Prénom;Nom;Sexe;Naissance;Commune;Lien;Mois;Montant"
MAY = dt.date(2026, 5, 1)

# The commune rows are placed in unless they say otherwise: set by the fixtures that make the
# source (``ngo``, ``places``), or by a test.
COMMUNE = ""


def csv_bytes(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("cp1252")


def row(ref="B1", hh="H1", nin="", given="Amélie", family="Dubois", sex="F", dob="03/04/1980",
        commune=None, rel="CM", month="2026-05", amount="15.00") -> str:
    return ";".join([ref, hh, nin, given, family, sex, dob, commune or COMMUNE, rel, month,
                     amount])


def good_file() -> bytes:
    return csv_bytes([row(), row(ref="B2", given="Théo", sex="H", dob="01/02/2015", rel="EN")])


def bad_file() -> bytes:
    return csv_bytes([row(), row(ref="B2", sex="X", dob="31/02/2015", rel="EN")])


def submit(data: bytes, period="2026-05", name="list.csv", source="NGO_X") -> Submission:
    return submission_submit(actor=None, source_code=source,
                             period=dt.date.fromisoformat(period + "-01"), filename=name,
                             data=data)


def ngo_source(code: str = "NGO_X", area: Area | None = None, *, name: str | None = None,
               institution: str = "NGO", error_threshold: int = 60) -> Source:
    """An NGO (in ``area``, if given) sending the list above, with its mapping saved."""
    source = factories.source(code, kind="NGO", name=name, institution=institution, area=area,
                              error_threshold=error_threshold, schemes=("CHILD_GRANT",))
    mapping_save(actor=None, source_code=code, text=MAPPING.replace("NGO_X", code))
    return source


def approved(district: Area, people: dict) -> PeriodApproval:
    """May 2026 approved for ``district``: asked by ``people["maker"]``, approved by
    ``people["checker"]``."""
    from spmis.intake.approvals import period_approve_decide, period_approve_request

    period_approve_request(actor=people["maker"], area_code=district.code, period=MAY)
    return period_approve_decide(actor=people["checker"], area_code=district.code, period=MAY,
                                 approve=True)
