"""Danish number and date formats: the one formatter of reports, figures and the command line.

Numbers are written as Danish readers expect them (`1.607`, `23,4 %`,
`5,2 pct.-point`, `31.12.2021`), with babel's `da_DK` locale supplying the
separators and grouping. Rounding is done here first, halves up on the
decimal number (`evalkit.rounding`), because babel, like Python, rounds halves
to even (0,25 -> 0,2); babel then only writes the already rounded number.
A value that is missing (None, NaN, NaT, pd.NA) is written as MISSING.
"""

from __future__ import annotations

import functools
import sys

import numpy as np
from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, format_decimal, parse_pattern

from evalkit.rounding import as_decimal, round_half_up

LOCALE = Locale.parse("da_DK")
MISSING = "–"  # no value (not computed, not applicable)
HIDDEN = "x"  # suppressed value


def is_missing(x) -> bool:
    """True for None, NaN, NaT and pd.NA."""
    if x is None:
        return True
    pd = sys.modules.get("pandas")  # not imported here: `evalkit capacity` starts without pandas
    if pd is not None and (x is pd.NA or x is pd.NaT):  # (without pandas loaded, x is neither)
        return True
    try:
        return bool(np.isnan(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x, decimals: int = 1) -> str:
    """A number in Danish format: thousands '.', decimal ',', halves rounded up (1607.25 -> '1.607,3')."""
    if is_missing(x):
        return MISSING
    d = round_half_up(x, decimals)
    if d == 0:
        d = abs(d)  # no "-0,0"
    return format_decimal(d, _pattern(decimals), locale=LOCALE)


@functools.cache
def _pattern(decimals: int) -> NumberPattern:
    """Grouped thousands and exactly `decimals` decimals (parsed once: a report formats thousands of numbers)."""
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals > 0 else ""))


def fmt_int(n) -> str:
    """A whole number with '.' as thousands separator (1607 -> '1.607')."""
    return fmt_num(n, 0)


def fmt_pct(share, decimals: int = 1) -> str:
    """A share (0.234) as a Danish percentage ('23,4 %')."""
    return MISSING if is_missing(share) else f"{fmt_num(as_decimal(share) * 100, decimals)} %"


def fmt_pp(diff, decimals: int = 1) -> str:
    """A difference of shares (0.052) in percentage points ('5,2 pct.-point')."""
    return MISSING if is_missing(diff) else f"{fmt_num(as_decimal(diff) * 100, decimals)} pct.-point"


def fmt_p(p) -> str:
    """A p-value: '0,012', or '<0,001' below that."""
    if is_missing(p):
        return MISSING
    return "<0,001" if p < 0.001 else fmt_num(p, 3)


def p_relation(p) -> str:
    """'= 0,012' or '< 0,001' for a sentence."""
    text = fmt_p(p)
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"


def fmt_date(ts) -> str:
    """A date as Danish writes it: 31.12.2021."""
    import pandas as pd

    return MISSING if is_missing(ts) else format_date(pd.Timestamp(ts).date(), "dd.MM.yyyy", locale=LOCALE)


def fmt_ci(low, high, hidden: bool = False, pct: bool = True, decimals: int = 1) -> str:
    """A 95 % interval as '31,2–54,4 %' (or 'x' when hidden); ' til ' between negative ends."""
    if hidden:
        return HIDDEN
    if is_missing(low) or is_missing(high):
        return MISSING
    if pct:
        low, high = as_decimal(low) * 100, as_decimal(high) * 100
    sep = " til " if low < 0 or high < 0 else "–"  # '-0,06–-0,04' would read as a range of dashes
    return f"{fmt_num(low, decimals)}{sep}{fmt_num(high, decimals)}" + (" %" if pct else "")
