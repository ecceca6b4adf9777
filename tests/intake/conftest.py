"""Intake fixtures: NGO sources sending beneficiary lists, in the areas of the ``country``."""

from __future__ import annotations

import pytest

from spmis.geography.models import Area
from spmis.intake.models import Source
from tests.intake import helpers


@pytest.fixture
def ngo(country, monkeypatch: pytest.MonkeyPatch) -> Source:
    """NGO X (no area of its own), its mapping saved; its rows are in the first commune."""
    monkeypatch.setattr(helpers, "COMMUNE",
                        Area.objects.filter(level=3).order_by("code").first().code)
    return helpers.ngo_source("NGO_X", name="NGO X", institution="NGO X", error_threshold=40)


@pytest.fixture
def places(country, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Two districts, home and away, with an NGO source each (NGO_HOME, NGO_AWAY); rows are in
    the first commune of home."""
    home, away = Area.objects.filter(level=2).order_by("code")[:2]
    commune = Area.objects.filter(level=3, path__startswith=home.path).order_by("code").first()
    monkeypatch.setattr(helpers, "COMMUNE", commune.code)
    return {"home": home, "away": away, "commune": commune,
            "mine": helpers.ngo_source("NGO_HOME", home),
            "theirs": helpers.ngo_source("NGO_AWAY", away)}


@pytest.fixture
def district(ngo: Source) -> Area:
    """The NGO source placed in the first commune; its district (whose parent is the region)."""
    commune = Area.objects.filter(level=3).order_by("code").first()
    ngo.area = commune
    ngo.save(update_fields=["area"])
    return commune.parent


@pytest.fixture
def people(district: Area, make_user) -> dict:
    """A maker and a checker over the district, an approver over its region."""
    return {
        "maker": make_user("REGISTRAR", area=district.code, username="maker"),
        "checker": make_user("APPROVER", area=district.code, username="checker"),
        "region": make_user("APPROVER", area=district.parent.code, username="regional"),
    }
