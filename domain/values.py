"""Value checks shared by the aggregates: money, shares, months, currencies, text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import ValidationError
from domain.months import check_month

# Active ISO 4217 codes (2024 list, funds and precious metals excluded).
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()  # noqa: SIM905 - a list literal of 160 codes is less readable
)

DECISIONS = ("invest", "continue", "reshape", "suspend", "resume", "delay", "stop", "complete")
INITIATIVE_KINDS = ("programme", "project", "product", "service")
BENEFIT_CATEGORIES = ("cashable", "non_cashable", "quantitative", "qualitative")
MEASURE_KINDS = ("flow", "level")
DIRECTIONS = ("increase", "decrease")


@dataclass(frozen=True)
class Meta:
    """Who caused a change and in which request: recorded on every event."""

    actor: str = "system"
    request_id: str = ""


#: Decimals given as text: ASCII digits, an optional sign and fraction, nothing else.
DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def decimal(value: object, field: str) -> Decimal:
    """A finite Decimal from a Decimal, int or numeric string (never a float)."""
    if isinstance(value, (bool, float)):
        raise ValidationError("must be a decimal number given as a string or integer", field)
    if isinstance(value, str) and not DECIMAL_TEXT.fullmatch(value):
        # Decimal() also takes fullwidth digits, "1_000", " 12" and "1e5": one spelling only.
        raise ValidationError(f"{value!r} is not a decimal number like -1234.50", field)
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{value!r} is not a number", field) from None
    if not result.is_finite():
        raise ValidationError("must be a finite number", field)
    check_magnitude(result, field)
    return result


#: Bounds on accepted numbers: far beyond any real amount, well inside Decimal's arithmetic.
MAX_DIGITS = 34
MAX_ADJUSTED_EXPONENT = 24


def check_magnitude(value: Decimal, field: str) -> None:
    """Refuse numbers with absurd size or precision (they would overflow the value rules)."""
    if value.is_zero():
        return
    if abs(value.adjusted()) > MAX_ADJUSTED_EXPONENT:
        raise ValidationError("is out of range (magnitude at most 1E+24, at least 1E-24)", field)
    if len(value.as_tuple().digits) > MAX_DIGITS:
        raise ValidationError(f"has more than {MAX_DIGITS} significant digits", field)


def amount(value: object, field: str, *, negative: bool = False) -> Decimal:
    """A money amount; negative only where allowed (e.g. refunds)."""
    result = decimal(value, field)
    if not negative and result < 0:
        raise ValidationError("must not be negative", field)
    return result


def positive(value: object, field: str) -> Decimal:
    """A strictly positive number (weights)."""
    result = decimal(value, field)
    if result <= 0:
        raise ValidationError("must be greater than 0", field)
    return result


def probability(value: object, field: str) -> Decimal:
    """A number from 0 to 1 inclusive (confidence)."""
    result = decimal(value, field)
    if not Decimal(0) <= result <= Decimal(1):
        raise ValidationError("must be between 0 and 1", field)
    return result


def share(value: object, field: str) -> Decimal:
    """An attribution share in (0, 1]."""
    result = decimal(value, field)
    if not Decimal(0) < result <= Decimal(1):
        raise ValidationError("must be greater than 0 and at most 1", field)
    return result


#: What no store can hold as text (NUL, lone surrogates), and the other C0 control characters
#: but tab, line feed and carriage return: the same text must be storable on every backend.
UNSTORABLE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
UNSTORABLE_MESSAGE = "must not contain control characters (U+0000-U+001F but tab and line breaks)"


def storable(value: str, field: str) -> str:
    """The text unchanged, or a ValidationError if it holds a character no store can hold."""
    if UNSTORABLE_TEXT.search(value):
        raise ValidationError(UNSTORABLE_MESSAGE, field)
    return value


def text(value: object, field: str, *, required: bool = True, limit: int = 10_000) -> str:
    """A string; non-blank when required."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationError("must be text", field)
    storable(value, field)
    if required and not value.strip():
        raise ValidationError("must not be blank", field)
    if len(value) > limit:
        raise ValidationError(f"must be at most {limit} characters", field)
    return value


def choice(value: object, options: tuple[str, ...], field: str) -> str:
    """One of the listed options."""
    if value not in options:
        raise ValidationError(f"must be one of: {', '.join(options)}", field)
    return str(value)


def currency(value: object, field: str = "currency") -> str:
    """An active ISO 4217 currency code."""
    if not isinstance(value, str) or value not in ISO_4217:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code", field)
    return value


def periods(
    values: Mapping[str, object], field: str = "periods", *, negative: bool = False
) -> dict[str, Decimal]:
    """A {month: amount} mapping with valid months, sorted by month."""
    if not isinstance(values, Mapping):
        raise ValidationError("must map months (YYYY-MM) to amounts", field)
    result: dict[str, Decimal] = {}
    for month in sorted(values):
        check_month(month, f"{field}.{month}")
        result[month] = amount(values[month], f"{field}.{month}", negative=negative)
    return result


def fte_map(values: Mapping[str, object], field: str) -> dict[str, Decimal]:
    """A {role: full-time equivalents} mapping, non-negative."""
    if not isinstance(values, Mapping):
        raise ValidationError("must map role names to FTE", field)
    result: dict[str, Decimal] = {}
    for role in sorted(values):
        text(role, f"{field}.role", limit=200)
        result[role] = amount(values[role], f"{field}.{role}")
    return result
