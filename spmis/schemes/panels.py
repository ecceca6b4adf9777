"""The enrolments panel of the person page (registered in SchemesConfig.ready; see
registry.panels)."""

from __future__ import annotations

from typing import Any

from spmis.access.models import Clearance
from spmis.registry.panels import PersonPage
from spmis.schemes import selectors as schemes


def person_enrolments(page: PersonPage) -> tuple[str, dict[str, Any]] | None:
    """The enrolments of every record of the identity the user may see, each with the record
    it belongs to; shown from internal clearance up."""
    if page.user.clearance < Clearance.INTERNAL:
        return None
    return "schemes/_person_enrolments.html", {
        "enrolments": list(schemes.enrolment_list_for_records(user=page.user,
                                                              record_ids=page.record_ids)),
        "several": len(page.records) > 1,
        "died_on": page.died_on,
    }
