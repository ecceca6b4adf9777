"""The upload page drafts a mapping from a chosen file, as `spmis intake mapping draft` does."""

from __future__ import annotations

from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from spmis.intake.draft import draft_mapping
from spmis.intake.models import Submission
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db

# A municipality's list: Windows-1252, semicolons, a title row, Spanish headers.
FILE = ("Listado de beneficiarios - marzo\n\n"
        "Cédula;Nombres;Apellidos;Sexo (H/M);Fecha de nacimiento;Municipio;Monto\n"
        "12345;José;Núñez Pérez;H;03/04/1980;XY0101001;128,47\n"
        "67890;María;López;M;21/11/1975;XY0101001;128,47\n").encode("cp1252")


def draft(client, source="NGO_HOME", data=FILE, name="marzo.csv"):
    return client.post("/intake/upload/", {
        "action": "draft", "source": source, "period": "",
        "file": SimpleUploadedFile(name, data, "text/csv")})


def test_the_upload_page_drafts_a_mapping_and_submits_nothing(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    assert "Draft a mapping from this file" in client.get("/intake/upload/").content.decode()
    response = draft(client)
    assert response.status_code == 200
    page = response.content.decode()
    expected = draft_mapping(FILE, filename="marzo.csv", schemes=["CHILD_GRANT"],
                             source="NGO_HOME")
    assert "Draft mapping" in page
    assert "header_row: 3" in expected and "Sexo (H/M)" in expected
    assert expected.strip() in unescape(page)  # the same draft as the command's
    assert not Submission.objects.exists()


def test_a_draft_needs_one_of_your_sources_and_a_readable_file(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    assert "Choose one of your sources" in draft(client, source="NGO_AWAY").content.decode()
    empty = draft(client, data=b"", name="empty.csv").content.decode()
    assert "Draft mapping" not in empty and "empty" in empty.lower()


def test_the_upload_page_shows_what_the_chosen_source_expects(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    page = client.get("/intake/upload/").content.decode()
    assert '<option value="" selected>' in page  # no source chosen for the user
    columns = client.get("/intake/upload/columns/?source=NGO_HOME").content.decode()
    for column in ("Code bénéficiaire", "Naissance", "Montant"):
        assert f"<code>{column}</code>" in columns
    assert "%d/%m/%Y" in columns and "CM, EN, EP" in columns
    assert "Code bénéficiaire;Ménage;NIN" in columns  # an example header line
    # Another district's source answers like a source without a mapping: nothing shown of it.
    theirs = client.get("/intake/upload/columns/?source=NGO_AWAY").content.decode()
    assert "Naissance" not in theirs
