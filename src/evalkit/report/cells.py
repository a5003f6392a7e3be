"""Table cells that count persons or rest on a count: '<5' for a small count, 'x' for a hidden share (SPEC section 5)."""

from __future__ import annotations

from evalkit.report import suppression as sup
from evalkit.report.blocks import Markup
from evalkit.report.format import (  # the one Danish formatter; its names are used from here too
    HIDDEN,
    MISSING,
    fmt_int,
    fmt_pct,
)
from evalkit.report.format import is_missing as _missing


def fmt_count(n, threshold: int = sup.THRESHOLD) -> str:
    """A count of persons: '<5' for 1 to threshold-1 (SPEC section 5), else Danish format."""
    if _missing(n):
        return MISSING
    return f"<{threshold}" if sup.is_small(n, threshold) else fmt_int(n)


def fmt_masked(n, code, threshold: int = sup.THRESHOLD) -> str:
    """A count under its suppression-mask code: '<5' (primary), 'x' (secondary) or the number."""
    if code == sup.SECONDARY:
        return HIDDEN
    return fmt_count(n, threshold) if code == sup.PRIMARY else fmt_int(n)


def fmt_share(k, n, value=None, threshold: int = sup.THRESHOLD, decimals: int = 1) -> str:
    """The share k/n, or 'x' when it is computed from too few persons."""
    if n is None or n == 0:
        return MISSING
    if sup.share_suppressed(k, n, threshold):
        return HIDDEN
    return fmt_pct(k / n if value is None else value, decimals)


def suppression_note(threshold: int = sup.THRESHOLD) -> str:
    return (f"Diskretionering: antal på 1-{threshold - 1} personer vises som <{threshold}; x betyder skjult, "
            f"fordi tallet bygger på under {threshold} personer eller ellers kunne udledes af en total.")


def met_text(met) -> Markup:
    if met is True:
        return Markup('<span class="ek-met">Opfyldt</span>')
    if met is False:
        return Markup('<span class="ek-notmet">Ikke opfyldt</span>')
    return Markup("Kan ikke vurderes")


def hide_if(text: str, hidden: bool) -> str:
    """`text`, or 'x' when `hidden` (a missing value stays '–')."""
    return HIDDEN if hidden and text != MISSING else text


def fmt_subset(k, n, threshold: int = sup.THRESHOLD) -> str:
    """A count k of a published whole n: 'x' when the rest, n - k, is 1 to threshold-1 (else recoverable)."""
    if not _missing(k) and not _missing(n) and k > 0 and sup.is_small(n - k, threshold):
        return HIDDEN
    return fmt_count(k, threshold)
