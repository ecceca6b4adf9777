"""French number separators as CLDR has them (spmis.core.formatting, the browser's Intl): a
narrow no-break space between thousands; everything else is Django's French format."""

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\u202f"
