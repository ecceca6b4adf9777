"""The texts of the indicator catalogue (catalogue.yaml) that pages show, marked for translation
so that makemessages gathers them; pages show them through catalogue.shown(). Written by
`make messages` (python -m spmis.indicators.catalogue_messages); tests/test_i18n.py fails when
it and the catalogue disagree. Do not edit by hand."""

from __future__ import annotations

import sys
from pathlib import Path

from django.utils.translation import gettext_noop as _

MESSAGES = [
    _('Persons covered by at least one scheme'),
    _('Share of the population covered by at least one social protection scheme (any '
      'guarantee, cash or in kind), each person counted once across schemes.'),
    _('Covered for essential health care (R202 guarantee a)'),
    _('Share of the population enrolled in a health scheme.'),
    _('Children with income security (R202 guarantee b)'),
    _('Share of children under 18 covered by a scheme for children.'),
    _('Working-age persons with income security (R202 guarantee c)'),
    _('Share of persons aged 18-64 covered by a working-age scheme (disability, '
      'unemployment, maternity, public works).'),
    _('Older persons with income security (R202 guarantee d)'),
    _('Share of persons aged 65 and over covered by an old-age scheme.'),
    _('Population covered by at least one social protection cash benefit (SDG 1.3.1)'),
    _('Persons receiving (paid) at least one cash benefit in the period, or in a '
      'payment cycle covering it, as a share of the total population; enrolment without '
      'payment does not count (that is COV_ANY). Active contributors are not yet '
      'recorded, so contributory coverage without a benefit is not counted.'),
    _('Children receiving child or family cash benefits (SDG 1.3.1)'),
    _('Children under 18 receiving a child or family cash benefit.'),
    _('Persons above pensionable age receiving a pension (SDG 1.3.1)'),
    _('Persons aged 65 and over receiving an old-age pension, contributory or not.'),
    _('Persons with severe disabilities receiving disability cash benefits (SDG 1.3.1)'),
    _('Registered persons with severe functional difficulty receiving a disability cash '
      'benefit.'),
    _('Needs the number of persons with severe disabilities (census or survey with the '
      'Washington Group questions) in the population tables.'),
    _('Mothers with newborns receiving maternity cash benefits (SDG 1.3.1)'),
    _('Women receiving a maternity cash benefit.'),
    _('Needs the number of women giving birth in the period (civil registration of live '
      'births).'),
    _('Unemployed persons receiving unemployment cash benefits (SDG 1.3.1)'),
    _('Persons receiving an unemployment cash benefit (public works count here).'),
    _('Needs the number of unemployed persons (labour force survey).'),
    _('Vulnerable persons receiving social assistance cash benefits (SDG 1.3.1)'),
    _('Vulnerable persons (all children; working-age persons not covered by a '
      "contributory scheme at the period's end; older persons not receiving a "
      'contributory benefit in the period) paid a social assistance cash benefit in the '
      'period, as a share of all vulnerable persons. Denominator the population tables '
      "less the registry's working-age persons covered by a contributory scheme and "
      'older persons receiving a contributory benefit (those the registry knows are not '
      'vulnerable).'),
    _('Employed persons covered in case of employment injury (SDG 1.3.1)'),
    _("Persons aged 15 and over enrolled at the period's end in a scheme that covers "
      'employment injury (insured, as the scheme catalogue says), as a share of '
      'employed persons.'),
    _('Needs the number of employed persons (labour force survey); the population '
      'tables hold persons by area, sex and age only.'),
    _('Poor persons receiving social assistance cash benefits (SDG 1.3.1)'),
    _('Persons receiving a social assistance cash benefit (the registry does not know '
      'who is poor, so this is every recipient).'),
    _('Needs the number of poor persons (poverty line applied to a household survey); '
      'the registry does not know who is poor.'),
    _('Median cash benefit per recipient (vertical coverage)'),
    _('Median of the cash each recipient received in the month, summed across every '
      'scheme (major currency units).'),
    _('Mean cash benefit per recipient (vertical coverage)'),
    _('Mean of the cash each recipient received in the month, summed across schemes.'),
    _('Recipients receiving at least the poverty line'),
    _('Share of recipients whose cash benefits in the month, summed across schemes, '
      "reach the monthly poverty line per person in force at the period's end."),
    _('Median benefit as a share of the poverty line'),
    _('The median cash received per recipient in the month as a percentage of the '
      'monthly poverty line per person (R202 para. 8(b) adequacy).'),
    _('Eligible but not covered (administrative exclusion error)'),
    _("Registered persons who meet a scheme's declared criteria and are not covered by "
      'it, as a share of those who meet them. Per scheme; across schemes, persons '
      'eligible for at least one scheme who are covered by none of those they are '
      'eligible for.'),
    _('Covered but not eligible (administrative inclusion error)'),
    _('Persons covered by a scheme whose record shows they do not meet its declared '
      'criteria, as a share of those it covers. Per scheme; across schemes, persons '
      'covered by at least one scheme with declared criteria who fail those of at least '
      'one of them.'),
    _('Reporting rate (DHIS2 REPORTING_RATE)'),
    _('Submissions received for the period as a share of those expected, per area.'),
    _('Reporting rate on time (DHIS2 REPORTING_RATE_ON_TIME)'),
    _('Submissions received by their deadline as a share of those expected.'),
    _('Duplicate-record rate'),
    _('Person records that are not the first record of their identity, as a share of '
      'all person records (from the latest linkage).'),
    _('Open verification flags'),
    _('Verification flags (deaths, incomes, duplicate enrolments, double dipping) still '
      'open at the time of the run.'),
    _('Overdue verification flags'),
    _('Open verification flags past their deadline at the time of the run.'),
    _('Payments on time'),
    _("Payments for the period paid within the period's month, as a share of the "
      "period's payments."),
]


def _literal(text: str) -> str:
    """``    _("..."),`` wrapped into adjacent literals of at most 80 characters."""
    parts, line = [], ""
    for word in text.split(" "):
        if line and len(line) + len(word) + 1 > 80:
            parts.append(line + " ")
            line = word
        else:
            line = f"{line} {word}" if line else word
    parts.append(line)
    body = "\n      ".join(repr(p) for p in parts)
    return f"    _({body}),\n"


def write() -> None:
    """Rewrite this file's list from catalogue.yaml."""
    from spmis.indicators.catalogue import messages

    path = Path(__file__)
    text = path.read_text(encoding="utf-8")
    head, rest = text.split("MESSAGES = [\n", 1)
    tail = rest.split("\n]\n", 1)[1]
    lines = "".join(_literal(m) for m in messages())
    path.write_text(f"{head}MESSAGES = [\n{lines}]\n{tail}", encoding="utf-8")


if __name__ == "__main__":
    write()
    sys.exit(0)
