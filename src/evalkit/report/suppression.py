"""Small-cell suppression for published tables and figures (SPEC section 5).

Every table or figure in an HTML report that counts persons goes through this
module, so the rule lives in one place:

- counts 1 to threshold-1 are shown as ``<5`` (primary suppression; 0 is shown);
- shares, means and medians computed from fewer than `threshold` persons are
  suppressed (`share_suppressed`, `stat_suppressed`);
- secondary suppression: where a suppressed cell is the only suppressed cell of a
  row or column with a published total, it could be recovered by subtraction, so
  the next smallest cell there is suppressed too, repeated until stable;
- then an audit: a suppressed count can also follow from several totals together
  with what "<5" tells (1 to 4), e.g. two "<5" cells of a row whose total leaves
  2 for them are both 1. While some primary cell's value is determined exactly
  (linear programming over the published cells and totals), the smallest shown
  cell whose suppression frees it is suppressed too;
- survival curves are drawn only while at least `threshold` are at risk
  (`mask_curve`).

The threshold is a setting: `THRESHOLD` (default 5, Statistics Denmark's rule)
or the ``EVALKIT_SUPPRESSION_THRESHOLD`` environment variable, and every
function takes it as an argument. JSON output of the command line is for
analysts with data access and is not suppressed.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

THRESHOLD = int(os.environ.get("EVALKIT_SUPPRESSION_THRESHOLD", "5"))

# Cell codes of a suppression mask.
SHOWN, PRIMARY, SECONDARY = 0, 1, 2


def is_small(n, threshold: int = THRESHOLD) -> bool:
    """True for a count of 1 to threshold-1 persons (0 and missing are not small)."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return False
    return 0 < n < threshold


def share_suppressed(k, n, threshold: int = THRESHOLD) -> bool:
    """True when a share k/n must not be published.

    Suppressed when it is computed from fewer than `threshold` persons: the
    denominator n is below the threshold, or the persons counted (k) or not
    counted (n - k) number 1 to threshold-1, since n and the share would reveal them.
    """
    if n is None or n < threshold:
        return True
    if k is None:
        return False
    return is_small(k, threshold) or is_small(n - k, threshold)


def stat_suppressed(n, threshold: int = THRESHOLD) -> bool:
    """True when a mean or median over n persons must not be published (n < threshold)."""
    return n is None or n < threshold


def primary_mask(counts: pd.DataFrame, threshold: int = THRESHOLD) -> pd.DataFrame:
    """PRIMARY where a count is 1 to threshold-1, else SHOWN."""
    values = counts.to_numpy(dtype=float)
    small = (values > 0) & (values < threshold)
    return pd.DataFrame(np.where(small, PRIMARY, SHOWN), index=counts.index, columns=counts.columns)


def _groups(counts: pd.DataFrame, total_row, total_col) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """(cells, total cell) of each line bound by a published total: every row when a
    total column is published, every column when a total row is published (cells
    include the total; the other cells add up to it)."""
    nrow, ncol = counts.shape
    groups = []
    if total_col is not None:
        tj = counts.columns.get_loc(total_col)
        groups += [([(i, j) for j in range(ncol)], (i, tj)) for i in range(nrow)]
    if total_row is not None:
        ti = counts.index.get_loc(total_row)
        groups += [([(i, j) for i in range(nrow)], (ti, j)) for j in range(ncol)]
    return groups


def pinned_cells(values: np.ndarray, mask: np.ndarray, groups, threshold: int = THRESHOLD,
                 cells=None) -> list[tuple[int, int]]:
    """Primary cells (of `cells`, default all) whose value follows exactly from the published cells and totals.

    In each line the cells add up to its total; with the shown cells known, the
    suppressed ones must solve these equations, primary cells within 1 to
    threshold-1 (what "<5" tells), secondary ones at least `threshold` (what a
    reader can tell of an "x": not small, else it would read "<5", and not 0,
    since secondary suppression takes positive cells). A primary cell whose
    smallest and largest solution coincide is disclosed (e.g. two "<5" cells
    that must add up to 2 are both 1). Solved as linear programs (HiGHS); the
    equations of a table with totals have integral vertices, so these are the
    bounds over whole numbers.
    """
    hidden = [tuple(c) for c in np.argwhere(mask != SHOWN)]
    index = {c: k for k, c in enumerate(hidden)}
    a_eq, b_eq = [], []
    for line, total in groups:
        row, rhs = np.zeros(len(hidden)), 0.0
        for c in line:
            sign = -1.0 if c == total else 1.0
            if c in index:
                row[index[c]] += sign
            else:
                rhs -= sign * values[c]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    if not a_eq:
        return []
    lower, upper = np.array([(1, threshold - 1) if mask[c] == PRIMARY else (threshold if values[c] > 0 else 0, np.inf)
                             for c in hidden], float).T
    from evalkit.report import lp  # only when there is something to solve (it imports scipy)

    a_eq, b_eq = np.array(a_eq), np.array(b_eq)
    pinned = []
    for c in hidden if cells is None else cells:
        if mask[c] != PRIMARY:
            continue
        objective = np.zeros(len(hidden))
        objective[index[c]] = 1.0
        low = lp.minimize(objective, a_eq, b_eq, lower, upper)
        high = lp.minimize(-objective, a_eq, b_eq, lower, upper)
        if low is not None and high is not None and -high[0] - low[0] < 0.5:
            pinned.append(c)
    return pinned


def suppress_counts(
    counts: pd.DataFrame,
    threshold: int = THRESHOLD,
    total_row=None,
    total_col=None,
    initial=None,
) -> pd.DataFrame:
    """Suppression mask (SHOWN / PRIMARY / SECONDARY) for a table of person counts.

    `initial` (a boolean array of the table's shape, optional) marks cells that
    must be hidden for a reason outside the table (hidden in another published
    table, or their complement in a whole is 1 to threshold-1); they start as
    SECONDARY unless primary, and the rules below protect them like any other.

    `counts` holds the published cells including any total row and column, named
    by `total_row` (an index label) and `total_col` (a column label); pass None
    for a total that is not published. A row (column) is protected when it has 0
    or at least 2 suppressed cells: where it has exactly one, the smallest shown
    cell of that row (column) with a positive count is suppressed too (a total
    only when no other cell is left; a zero cell only when nothing else is), and
    this repeats until no row or column has a single suppressed cell. Then, while
    a primary cell's value still follows exactly from the published cells and
    totals (`pinned_cells`), the first shown cell (same order) of a row or column
    holding a suppressed cell whose suppression frees it is suppressed too, and
    the single-cell rule applied again.
    """
    mask = primary_mask(counts, threshold).to_numpy().copy()
    if initial is not None:
        mask[np.asarray(initial, dtype=bool) & (mask == SHOWN)] = SECONDARY
    values = counts.to_numpy(dtype=float)
    total_i = counts.index.get_loc(total_row) if total_row is not None else None
    total_j = counts.columns.get_loc(total_col) if total_col is not None else None
    groups = _groups(counts, total_row, total_col)

    def candidate_key(cell):
        i, j = cell
        is_total = i == total_i or j == total_j
        # positive interior cells first, then totals, then zeros; smallest first
        return (values[i, j] <= 0, is_total, values[i, j], i, j)

    def protect_single_cells():
        changed = True
        while changed:
            changed = False
            for cells, _total in groups:
                suppressed = [c for c in cells if mask[c] != SHOWN]
                if len(suppressed) != 1:
                    continue
                candidates = [c for c in cells if mask[c] == SHOWN]
                if not candidates:
                    continue
                mask[min(candidates, key=candidate_key)] = SECONDARY
                changed = True

    protect_single_cells()
    while pinned := pinned_cells(values, mask, groups, threshold):
        # shown positive cells of lines that hold a suppressed cell, in the usual order; take
        # the first whose suppression frees the pinned cell (else the first: progress either way)
        touched = [line for line, _total in groups if any(mask[c] != SHOWN for c in line)]
        candidates = sorted({c for line in touched for c in line if mask[c] == SHOWN and values[c] > 0},
                            key=candidate_key)
        if not candidates:
            break  # everything around it is hidden already
        chosen = candidates[0]
        for c in candidates:
            mask[c] = SECONDARY
            freed = not pinned_cells(values, mask, groups, threshold, cells=[pinned[0]])
            mask[c] = SHOWN
            if freed:
                chosen = c
                break
        mask[chosen] = SECONDARY
        protect_single_cells()
    return pd.DataFrame(mask, index=counts.index, columns=counts.columns)


def suppress_series(counts: pd.Series, threshold: int = THRESHOLD, total_label=None) -> pd.Series:
    """`suppress_counts` for one column of counts (e.g. categories and their total)."""
    frame = counts.to_frame("n")
    return suppress_counts(frame, threshold, total_row=total_label)["n"]


def mask_curve(curve: pd.DataFrame, threshold: int = THRESHOLD, at_risk_col: str = "at_risk",
               time_col: str = "weeks") -> pd.DataFrame:
    """A survival curve cut where the number at risk first falls below `threshold`.

    From the first row after time 0 with fewer than `threshold` at risk onward,
    the values (every column but time and at-risk) become NaN, so the curve is
    drawn only while at least `threshold` are at risk. It does not reappear when
    late entrants (left truncation) refill the risk set: its level there would
    carry the events of the small risk set. The time-0 row (S = 1) is kept
    while anything after it is shown.
    """
    out = curve.copy()
    after_origin = (out[time_col] > 0).to_numpy()
    small = (out[at_risk_col] < threshold).to_numpy() & after_origin
    hidden = np.cumsum(small) > 0
    if hidden[after_origin].all():
        hidden[:] = True
    value_cols = [c for c in out.columns if c not in (time_col, at_risk_col)]
    out.loc[hidden, value_cols] = np.nan
    return out


def points_shown(points: pd.DataFrame, threshold: int = THRESHOLD) -> np.ndarray:
    """Which caseworker points (a share k of n cases each) a figure may draw: those whose share is
    not suppressed (`share_suppressed`)."""
    return np.array([not share_suppressed(k, n, threshold) for k, n in zip(points["k"], points["n"])], bool)


def caseload_points(points: pd.DataFrame, highlight, threshold: int = THRESHOLD) -> pd.DataFrame:
    """The caseworker points a caseload figure draws, with `mine` True for the highlighted ones.

    Points whose share is suppressed are left out; the caseworkers of `highlight` are marked only
    when at least `threshold` of them are drawn (fewer would single out employees).
    """
    shown = points[points_shown(points, threshold)]
    mine = shown["caseworker_id"].isin(set(highlight)).to_numpy()
    return shown.assign(mine=mine if mine.sum() >= threshold else np.zeros(len(shown), bool))
