"""Money: ISO 4217 minor units, one table, one formatter."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from spmis.core.money import MINOR_UNIT_EXPONENTS, format_money, minor_exponent, to_major


def test_the_currency_decides_the_decimals():
    assert format_money(1000, "CLP") == "1,000 CLP"  # no minor unit: not "10.00 CLP"
    assert format_money(150000, "USD") == "1,500.00 USD"
    assert format_money(1234, "KWD") == "1.234 KWD"
    assert format_money(5, "jpy", with_currency=False) == "5"
    assert format_money(-250, "EUR") == "-2.50 EUR"
    assert minor_exponent("XOF") == 0 and minor_exponent("CLF") == 4
    assert minor_exponent("ZZZ") == 2  # unknown codes: the usual two digits


@given(st.integers(min_value=-10**15, max_value=10**15),
       st.sampled_from([*MINOR_UNIT_EXPONENTS, "USD", "EUR", "KES"]))
def test_major_units_are_exact_and_go_back(amount, currency):
    major = to_major(amount, currency)
    assert major.scaleb(minor_exponent(currency)) == Decimal(amount)
    assert -major.as_tuple().exponent == minor_exponent(currency)  # type: ignore[operator]
    text = format_money(amount, currency, with_currency=False).replace(",", "")
    assert Decimal(text) == major


def test_pages_show_pesos_as_pesos():
    """The reported case: a 1000 CLP payment showed as "10.00 CLP" on a person's page."""
    from spmis.web.templatetags.spmis_format import money

    assert money(1000, "CLP") == "1,000 CLP"
    assert money(1000, "USD") == "10.00 USD"
