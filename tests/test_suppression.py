"""Small-cell suppression (SPEC section 5) against tables whose masks are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.report import suppression as sup
from evalkit.report.suppression import PRIMARY as P
from evalkit.report.suppression import SECONDARY as S

_ = sup.SHOWN


def table(rows, index, columns):
    return pd.DataFrame(rows, index=index, columns=columns, dtype=float)


def test_primary_only_without_published_totals():
    # 3 is small, 0 is not (nothing to protect), 5 is at the threshold and shown.
    counts = table([[3, 10, 0, 5]], ["X"], list("abcd"))
    assert sup.suppress_counts(counts).to_numpy().tolist() == [[P, _, _, _]]


def test_two_way_table_with_totals():
    # Hand-worked: X.b = 3 is small (primary). Row X then has one suppressed cell,
    # so its smallest positive interior cell X.a = 10 goes too. Column b has one
    # (X.b): its next smallest Y.b = 9 goes. Column a now has one (X.a): Y.a = 8
    # goes. Every row and column then has 0 or 2 suppressed cells.
    counts = table(
        [[10, 3, 12, 25],
         [8, 9, 7, 24],
         [18, 12, 19, 49]],
        ["X", "Y", "I alt"], ["a", "b", "c", "I alt"],
    )
    expected = [
        [S, P, _, _],
        [S, S, _, _],
        [_, _, _, _],
    ]
    mask = sup.suppress_counts(counts, total_row="I alt", total_col="I alt")
    assert mask.to_numpy().tolist() == expected


def test_cells_hidden_for_an_outside_reason_are_protected_like_any_other():
    """`initial` hides a cell shown as 6 (hidden in another published table): its row then needs a
    second hidden cell (7, the smallest), and so do the two columns (8, then 9 to protect 8's row).

        6  7 | 13        x  x | 13
        8  9 | 17   ->   x  x | 17
       14 16 | 30       14 16 | 30
    """
    counts = pd.DataFrame([[6, 7, 13], [8, 9, 17], [14, 16, 30]], index=["a", "b", "T"], columns=["u", "v", "T"])
    initial = np.zeros((3, 3), dtype=bool)
    initial[0, 0] = True
    mask = sup.suppress_counts(counts, 5, total_row="T", total_col="T", initial=initial)
    assert mask.to_numpy().tolist() == [[S, S, 0], [S, S, 0], [0, 0, 0]]
    # a primary cell marked in `initial` stays primary ("<5", not "x")
    small = counts.copy()
    small.loc["a", "u"], small.loc["a", "T"], small.loc["T", "u"], small.loc["T", "T"] = 3, 10, 11, 27
    mask = sup.suppress_counts(small, 5, total_row="T", total_col="T", initial=initial)
    assert mask.loc["a", "u"] == P


def test_two_small_cells_protect_each_other_through_their_rows():
    # X.a = 2 and Y.b = 1 are small. Row X: one suppressed -> X.b = 6 (smallest
    # positive). Row Y: one suppressed -> Y.a = 6. Columns a and b then hold two each.
    counts = table(
        [[2, 6, 7, 15],
         [6, 1, 9, 16],
         [8, 7, 16, 31]],
        ["X", "Y", "I alt"], ["a", "b", "c", "I alt"],
    )
    expected = [
        [P, S, _, _],
        [S, P, _, _],
        [_, _, _, _],
    ]
    assert sup.suppress_counts(counts, total_row="I alt", total_col="I alt").to_numpy().tolist() == expected


def test_secondary_prefers_positive_cells_over_zeros():
    # Row with a published total: 3 is small; the zero is not used while a positive cell is left.
    counts = table([[3, 0, 20, 23]], ["X"], ["a", "b", "c", "I alt"])
    assert sup.suppress_counts(counts, total_col="I alt").to_numpy().tolist() == [[P, _, S, _]]


def test_small_total_is_itself_suppressed():
    counts = table([[1, 2, 3]], ["X"], ["a", "b", "I alt"])
    assert sup.suppress_counts(counts, total_col="I alt").to_numpy().tolist() == [[P, P, P]]


def test_series_with_total():
    # Status categories 0, 2, 15, 7, 30 and their total 54: 2 is small, the next
    # smallest positive category (7) is suppressed too; 0 stays shown.
    counts = pd.Series([0, 2, 15, 7, 30, 54], index=["a", "b", "c", "d", "e", "I alt"], dtype=float)
    mask = sup.suppress_series(counts, total_label="I alt")
    assert mask.tolist() == [_, P, _, S, _, _]


def test_threshold_is_a_setting():
    counts = pd.Series([7, 12, 19], index=["a", "b", "I alt"], dtype=float)
    assert sup.suppress_series(counts, threshold=5, total_label="I alt").tolist() == [_, _, _]
    assert sup.suppress_series(counts, threshold=10, total_label="I alt").tolist() == [P, S, _]


@pytest.mark.parametrize(
    "k, n, hidden",
    [
        (10, 20, False),  # 50 % of 20
        (3, 20, True),  # the share would reveal 3 persons
        (18, 20, True),  # ... or the 2 who did not
        (0, 20, False),  # nobody: nothing small to reveal
        (20, 20, False),
        (2, 4, True),  # fewer than 5 persons in all
        (0, 4, True),
        (0, 0, True),
        (5, 10, False),
    ],
)
def test_share_suppressed(k, n, hidden):
    assert sup.share_suppressed(k, n) is hidden


def test_stat_suppressed_for_means_and_medians():
    assert sup.stat_suppressed(4) and not sup.stat_suppressed(5)
    assert sup.stat_suppressed(None)


def test_mask_curve_cuts_at_first_small_risk_set():
    # at risk: 8 at the origin, then 9, 6, 4 (cut here), 7 (late entrants: stays cut)
    curve = pd.DataFrame({
        "weeks": [0.0, 1.0, 2.0, 3.0, 4.0],
        "survival": [1.0, 0.9, 0.8, 0.6, 0.5],
        "ci_low": [1.0, 0.7, 0.6, 0.3, 0.2],
        "ci_high": [1.0, 0.99, 0.95, 0.9, 0.8],
        "at_risk": [8, 9, 6, 4, 7],
        "events": [0, 1, 1, 2, 1],
    })
    masked = sup.mask_curve(curve, threshold=5)
    assert masked["survival"].isna().tolist() == [False, False, False, True, True]
    assert masked["ci_low"].isna().tolist() == [False, False, False, True, True]
    assert masked["at_risk"].tolist() == [8, 9, 6, 4, 7]  # time and counts stay for the axis


def test_mask_curve_hides_everything_when_the_first_risk_set_is_small():
    # a risk set of 3 right after the origin: nothing can be drawn, not even S = 1 at 0
    curve = pd.DataFrame({"weeks": [0.0, 1.0, 2.0], "survival": [1.0, 0.67, 0.33], "ci_low": [1.0, 0.1, 0.0],
                          "ci_high": [1.0, 0.9, 0.8], "at_risk": [3, 3, 2], "events": [0, 1, 1]})
    assert sup.mask_curve(curve, threshold=5)["survival"].isna().all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=2, max_size=5), min_size=2, max_size=6).filter(
    lambda rows: len({len(r) for r in rows}) == 1))
def test_no_suppressed_cell_can_be_recovered_by_subtraction(rows):
    """Invariant checked on random tables: every small count is suppressed, and with
    published row and column totals no row or column has exactly one suppressed cell
    (a single one would equal its total minus the shown cells)."""
    interior = pd.DataFrame(rows, dtype=float)
    counts = interior.copy()
    counts["T"] = interior.sum(axis=1)
    counts.loc["T"] = counts.sum(axis=0)
    mask = sup.suppress_counts(counts, total_row="T", total_col="T").to_numpy()
    values = counts.to_numpy()
    assert np.all(mask[(values > 0) & (values < 5)] == P)
    hidden = mask != 0
    for line in [*hidden, *hidden.T]:
        assert line.sum() != 1
