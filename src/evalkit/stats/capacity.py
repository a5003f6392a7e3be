"""The capacity calculator (Ressourceberegner, SPEC section 4).

Conversations a year for N citizens at f a year: N x f. With intensified effort
for a share p at f_i and the legal minimum 4 for the rest:
round(N x p) x f_i + (N - round(N x p)) x 4, rounding halves up. Capacity of k
full-time staff at c conversations a day, D days a week, W weeks a year:
c x D x W x k. Arithmetic is done in decimals so that 0.3 x 330 is exactly 99.
"""

from __future__ import annotations

import re
from decimal import Decimal

from evalkit import rounding
from evalkit.errors import InputError

LEGAL_MINIMUM = 4
EVERYBODY_FREQUENCIES = (4, 6, 12)  # legal minimum, every second month, monthly
INTENSIFIED_FREQUENCIES = (24, 12, 6)  # twice a month, monthly, every second month
STAFF = range(1, 10)
CONVERSATIONS_PER_DAY = range(1, 9)

_SHARE = re.compile(r"^\s*(\d+(?:[.,]\d*)?|[.,]\d+)\s*(%?)\s*$")


_dec = rounding.as_decimal  # the decimal a person wrote: 0.3, not 0.29999...


def _plain(x: Decimal) -> int | float:
    """An int where the value is whole, else a float."""
    return int(x) if x == x.to_integral_value() else float(x)


def round_half_up(x) -> int:
    """Round to a whole number with halves up (2.5 -> 3), unlike Python's round (2.5 -> 2)."""
    return int(rounding.round_half_up(x))


def parse_share(text: str) -> float:
    """A share from "0.3", "0,3" or "30%"; a number above 1 needs its % sign."""
    m = _SHARE.match(str(text))
    if not m:
        raise InputError("--intensive-share", f"{text!r} is not a share: write a fraction (0.3) or a percentage (30%)")
    value = Decimal(m.group(1).replace(",", "."))
    if m.group(2):
        value /= 100
    if not 0 <= value <= 1:
        hint = " (a percentage needs its % sign: 30%)" if not m.group(2) else ""
        raise InputError("--intensive-share", f"{text!r} is outside 0-1{hint}")
    return float(value)


def _check_inputs(citizens, days, weeks, intensive_share) -> None:
    if int(citizens) != citizens or citizens < 0:
        raise InputError("--citizens", "must be a whole number, 0 or more")
    if not days > 0:
        raise InputError("--days", "must be above 0")
    if not weeks > 0:
        raise InputError("--weeks", "must be above 0")
    if not 0 <= intensive_share <= 1:
        raise InputError("--intensive-share", "must be between 0 and 1")


def capacity_tables(citizens: int, days: float, weeks: float, intensive_share: float) -> dict:
    """The tables of SPEC section 4 in the JSON shape of section 6.

    inputs, everybody{"4","6","12"}, intensified{"24","12","6": {intensive, regular, total}},
    staff_table{"1".."9": {"1".."8": capacity}} (staff -> conversations a day).
    """
    _check_inputs(citizens, days, weeks, intensive_share)
    n, d, w = int(citizens), _dec(days), _dec(weeks)
    n_intensive = round_half_up(n * _dec(intensive_share))
    intensified = {}
    for f in INTENSIFIED_FREQUENCIES:
        intensive, regular = n_intensive * f, (n - n_intensive) * LEGAL_MINIMUM
        intensified[str(f)] = {"intensive": intensive, "regular": regular, "total": intensive + regular}
    return {
        "inputs": {"citizens": n, "days": _plain(d), "weeks": _plain(w), "intensive_share": _plain(_dec(intensive_share))},
        "everybody": {str(f): n * f for f in EVERYBODY_FREQUENCIES},
        "intensified": intensified,
        "staff_table": {str(k): {str(c): _plain(c * d * w * k) for c in CONVERSATIONS_PER_DAY} for k in STAFF},
    }


def staff_needed(conversations: float, per_day: float, days: float, weeks: float) -> float:
    """Full-time staff (årsværk) needed: conversations / (conversations a day x D x W)."""
    return _plain(_dec(conversations) / (_dec(per_day) * _dec(days) * _dec(weeks)))
