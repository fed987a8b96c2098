"""Currency custom fields: Abmatic records carry major units, ActiveCampaign stores cents.

The Abmatic model keeps money as a JSON number in major units (``1234.56`` = $1,234.56).
ActiveCampaign's currency custom fields take and return whole cents and need ``fieldCurrency``
on every write (spec §5.4, §11). Conversion is exact (Decimal from the number's shortest text,
never a float product), and a value with more than two decimal places is refused rather than
rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_CURRENCY = "USD"
_CODE = re.compile(r"^[A-Za-z]{3}$")


def _decimal(value: Any, title: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"Field {title!r} (currency) expects an amount, got {value!r}.")
    try:
        # str() of a float is its shortest repr: 1234.56 stays 1234.56, not 1234.5599999...
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"Field {title!r} (currency) expects an amount in major units "
                         f"(e.g. 1234.56), got {value!r}.") from None
    if not number.is_finite():
        raise ValueError(f"Field {title!r} (currency) expects an amount, got {value!r}.")
    return number


def currency_value(title: str, raw: Any, default_currency: str) -> tuple[str, str]:
    """(cents as ActiveCampaign stores them, ISO currency code) for a record's value.

    ``raw`` is an amount in major units (number or numeric string; currency from the
    ``default_currency`` setting) or ``{"amount": 1234.56, "currency": "EUR"}``."""
    currency = default_currency
    if isinstance(raw, dict):
        if "amount" not in raw:
            raise ValueError(f"Field {title!r} (currency) takes an amount or "
                             f'{{"amount": …, "currency": "EUR"}}, got {raw!r}.')
        currency = str(raw.get("currency") or default_currency)
        raw = raw["amount"]
    if not _CODE.match(currency.strip()):
        raise ValueError(f"Field {title!r} (currency): {currency!r} is not a three-letter "
                         "currency code.")
    cents = _decimal(raw, title) * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"Field {title!r} (currency) has more than two decimal places "
                         f"({raw!r}); ActiveCampaign stores whole cents.")
    return str(int(cents)), currency.strip().upper()


def same_money(current: Any, current_currency: Any, cents: str, currency: str) -> bool:
    """Whether AC's stored cents (and currency, when it returns one) equal the new value."""
    try:
        same_amount = Decimal(str(current).strip()) == Decimal(cents)
    except InvalidOperation:
        return False
    return same_amount and (not current_currency
                            or str(current_currency).strip().upper() == currency)
