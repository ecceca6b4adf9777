"""Money: amounts are integer minor units; ISO 4217 says how many digits a currency's minor
unit has. The one table and the one formatter every door, mapping and export uses."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 minor-unit exponents other than 2 (the list of 2024; every other code has 2).
MINOR_UNIT_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                     "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
DEFAULT_EXPONENT = 2


def minor_exponent(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (2 when the code is not listed)."""
    return MINOR_UNIT_EXPONENTS.get(currency.strip().upper(), DEFAULT_EXPONENT)


def to_major(amount_minor: int, currency: str) -> Decimal:
    """1000 CLP -> 1000; 1000 USD -> 10.00; exact (Decimal), never through floats."""
    exponent = minor_exponent(currency)
    return Decimal(int(amount_minor)).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def format_money(amount_minor: int, currency: str, *, with_currency: bool = True) -> str:
    """Minor units for reading: 150000, "USD" -> "1,500.00 USD"; 1000, "CLP" -> "1,000 CLP"."""
    exponent = minor_exponent(currency)
    text = f"{to_major(amount_minor, currency):,.{exponent}f}"
    return f"{text} {currency}" if with_currency else text
