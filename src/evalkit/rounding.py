"""Rounding as a person rounds the written number: halves up, on decimals.

SPEC rounds halves up (the capacity calculator's round(N x p), the 2-decimal
change in effective hours), and so do the reports' numbers (0,25 -> 0,3).
Python's round() and format() round halves to even, on the binary float
(round(2.5) == 2, f"{1.005:.2f}" == "1.00"), so every figure that is rounded
for a reader or by a SPEC rule goes through here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from numbers import Integral


def as_decimal(x) -> Decimal:
    """x as the decimal number it prints as: 0.125 -> Decimal('0.125'), not its binary neighbour.

    Whole numbers stay exact (no detour through float); a Decimal is returned as it is.
    """
    if isinstance(x, Decimal):
        return x
    if isinstance(x, Integral):
        return Decimal(int(x))
    return Decimal(repr(float(x)))


def round_half_up(x, decimals: int = 0) -> Decimal:
    """x rounded to `decimals` places with halves away from zero (2.5 -> 3, -2.5 -> -3, 0.125 -> 0.13)."""
    return as_decimal(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
