"""The one formatter (spmis.core.formatting) and its template filters, in each language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from spmis.core import formatting
from spmis.indicators.selectors import display

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(("language", "count", "rate", "amount", "day", "month"), [
    ("en", "1,234,567", "49.4%", "1,500.00 USD", "Apr 3, 2026", "April 2026"),
    ("fr", f"1{NNBSP}234{NNBSP}567", f"49,4{NBSP}%", f"1{NNBSP}500,00 USD", "3 avr. 2026",
     "avril 2026"),
    ("es", "1.234.567", f"49,4{NBSP}%", "1.500,00 USD", "3 abr 2026", "abril de 2026"),
    ("pt", "1.234.567", "49,4%", "1.500,00 USD", "3 de abr. de 2026", "abril de 2026"),
])
def test_each_language_writes_figures_its_own_way(language, count, rate, amount, day, month):
    with translation.override(language):
        assert formatting.number(1234567) == count
        assert formatting.percent(49.44) == rate
        assert display(49.44, "PERCENT") == rate  # what the indicator pages print
        assert formatting.money(150000, "USD") == amount
        assert formatting.day(dt.date(2026, 4, 3)) == day
        assert formatting.month(dt.date(2026, 4, 1)) == month


def test_rounding_is_half_up_as_in_the_browser():
    """Intl.NumberFormat rounds 49.45 up; so must the page, or the chart and the table differ."""
    with translation.override("en"):
        assert formatting.percent(49.45) == "49.5%"
        assert formatting.percent(81.25) == "81.3%"
        assert formatting.number(2.5) == "3"


def test_amounts_keep_their_currency_and_its_decimals():
    with translation.override("fr"):
        assert formatting.money(1000, "CLP") == f"1{NNBSP}000 CLP"  # no minor unit
        assert formatting.money(1234, "KWD") == "1,234 KWD"  # three decimals
        assert formatting.money(None, "USD") == "—"


def test_intervals_part_their_bounds_without_a_second_comma():
    with translation.override("en"):
        assert formatting.interval(10.14, 14.46) == "[10.1, 14.5]"
    with translation.override("pt"):
        assert formatting.interval(10.14, 14.46) == "[10,1; 14,5]"


def test_the_filters_are_the_formatter():
    page = Template("{% load spmis_format %}{{ n|num }} {{ r|pct }} {{ a|money:'USD' }} "
                    "{{ d|day }} {{ m|month }} {{ p|num:3 }}")
    values = Context({"n": 1234, "r": 7.25, "a": 995, "d": dt.date(2026, 1, 31),
                      "m": dt.date(2026, 1, 1), "p": 0.98765})
    with translation.override("pt"):
        assert page.render(values) == "1.234 7,3% 9,95 USD 31 de jan. de 2026 janeiro de 2026 0,988"
