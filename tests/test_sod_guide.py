"""The access guide's separation-of-duties table is what spmis refuses, pair for pair, and the
shipped rules keep every separated pair of permissions (access.policy.SEPARATED) apart between
roles as well as within them."""

from __future__ import annotations

import itertools
import re
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps

from spmis.access.models import Role
from spmis.access.policy import ROLE_PERMISSIONS, SEPARATED
from spmis.access.services import SeparationOfDuties, role_assign
from tests import factories

pytestmark = pytest.mark.django_db
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "access-and-audit.md"


def guide_rules() -> dict[frozenset[str], str]:
    """Section 4's table: each pair of roles that cannot be combined, with its reason."""
    text = GUIDE.read_text()
    section = text[text.index("## 4. Separation of duties"):text.index("## 5.")]
    rules: dict[frozenset[str], str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("Role", "") or set(cells[0]) <= {"-"}:
            continue
        for other in re.split(r",\s*", cells[1]):
            pair = frozenset({cells[0], other})
            assert pair not in rules, f"{sorted(pair)} twice in the guide"
            rules[pair] = cells[2]
    return rules


@pytest.fixture
def refused() -> dict[frozenset[str], str]:
    """Every pair of roles spmis refuses to give one user, with the reason it gives, found by
    trying each pair through the service that grants roles."""
    import_module("spmis.access.migrations.0003_seed_sod_rules").seed(apps, None)  # if flushed
    factories.area("XY")
    found: dict[frozenset[str], str] = {}
    for first, second in itertools.combinations(Role.values, 2):
        user = factories.user(first, area="XY", username=f"{first}+{second}".lower())
        try:
            role_assign(actor=None, user=user, role=second, area_code="XY")
        except SeparationOfDuties as exc:
            found[frozenset({first, second})] = exc.message.split(f"hold {first}. ")[-1]
    return found


def test_the_guides_table_is_what_spmis_refuses(refused):
    rules = guide_rules()
    assert frozenset({"SECURITY_ADMIN", "AUDITOR"}) in rules
    assert set(rules) == set(refused), (
        f"in the guide only: {[sorted(p) for p in set(rules) - set(refused)]}; "
        f"refused but not in the guide: {[sorted(p) for p in set(refused) - set(rules)]}")
    assert rules == refused


def test_no_user_can_hold_both_sides_of_a_separated_pair(refused):
    for one, other in SEPARATED:
        for a, b in itertools.product(ROLE_PERMISSIONS, ROLE_PERMISSIONS):
            if a != b and one in ROLE_PERMISSIONS[a] and other in ROLE_PERMISSIONS[b]:
                assert frozenset({a, b}) in refused, (a, b, one, other)
