"""Counts linked across reports (evalkit.report.linked): hand-made systems, checked by brute force.

The reader here enumerates every whole-number assignment of the hidden counts within what their
symbols tell ('<5': 1-4, 'x' and unpublished: 0 up to a cap well above every value) that solves the
equations: independent of the integer programming in evalkit.report.linked.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from evalkit.report import linked, plots
from evalkit.report import suppression as sup
from evalkit.report.municipality import caseload_figure

T = 5
CAP = 40


def possible_values(lc: linked.LinkedCounts) -> dict:
    """key -> set of values a reader cannot rule out, by enumeration (small systems only)."""
    hidden = [k for k in lc.value if lc.state[k] != sup.SHOWN]
    ranges = []
    for k in hidden:
        if lc.state[k] == sup.PRIMARY:
            ranges.append(range(1, T))
        elif lc.state[k] == sup.SECONDARY and lc.value[k] >= T:
            ranges.append(range(T, CAP + 1))
        else:
            ranges.append(range(CAP + 1))
    seen = {k: set() for k in hidden}
    for combo in itertools.product(*ranges):
        values = {**{k: v for k, v in lc.value.items() if lc.state[k] == sup.SHOWN}, **dict(zip(hidden, combo))}
        if all(sum(c * values[k] for k, c in coef.items()) == rhs for coef, rhs in lc.equations):
            for k, v in zip(hidden, combo):
                seen[k].add(v)
    return seen


def leaks(lc: linked.LinkedCounts) -> list:
    """'<5' or unpublished counts of 1-4 with one possible value, 'x' confined to 1-4."""
    out = []
    for k, values in possible_values(lc).items():
        if not 0 < lc.value[k] < T:
            continue
        confined = lc.state[k] == sup.SECONDARY and values and min(values) >= 1 and max(values) < T
        if confined or (lc.state[k] != sup.SECONDARY and len(values) == 1):
            out.append(k)
    return out


def leak_0_1_0() -> linked.LinkedCounts:
    """Criterion 3: 45,7 % of 35 (k = 16 shown through the share); bands 6, 7, 6, 3, 8, 5."""
    lc = linked.LinkedCounts(T)
    lc.add("n", 35)
    lc.add("k", 16, fixed=True)
    for b, v in enumerate([6, 7, 6, 3, 8, 5]):
        lc.add(("band", b), v)
    lc.equal("n", [("band", b) for b in range(6)])
    lc.equal("k", [("band", b) for b in (3, 4, 5)])
    return lc


def test_the_0_1_0_leak_is_found_and_closed():
    lc = leak_0_1_0()
    assert leaks(lc) == [("band", 3)]  # the brute-force reader: the '<5' is 3
    assert lc.disclosed() == [("band", 3)]
    assert lc.protect() == 1
    assert lc.disclosed() == [] and leaks(lc) == []
    # least information lost: the smallest shown band tied to it (5, from one hour up) is the one hidden
    assert [k for k in lc.value if lc.state[k] == sup.SECONDARY] == [("band", 5)]
    assert lc.state["k"] == sup.SHOWN  # the share stays published


def test_protection_is_deterministic():
    a, b = leak_0_1_0(), leak_0_1_0()
    a.protect(), b.protect()
    assert a.state == b.state


def test_small_cells_that_pin_each_other_are_shown_as_x():
    """Four '<5' adding up to a '<5' total are all 1 whatever else is hidden: one is shown as 'x'
    (which does not say it is small), and then none is pinned."""
    lc = linked.LinkedCounts(T)
    lc.add("total", 4)
    for i in range(4):
        lc.add(("part", i), 1)
    lc.add(("zero", 0), 0)
    lc.equal("total", [*(("part", i) for i in range(4)), ("zero", 0)])
    assert sorted(leaks(lc), key=repr) == sorted([("part", i) for i in range(4)] + ["total"], key=repr)
    lc.protect()
    assert leaks(lc) == [] and lc.disclosed() == []
    assert sum(lc.state[k] == sup.SECONDARY for k in lc.value) >= 1


def test_an_x_confined_to_1_to_4_is_disclosed():
    """An 'x' hiding a count of 3 whose range a reader narrows to 1-4 tells it is small."""
    lc = linked.LinkedCounts(T)
    lc.add("whole", 10)
    lc.add("part", 3, hidden=True)
    lc.add("other", 7)
    lc.state["part"] = sup.SECONDARY  # shown as x
    lc.equal("whole", ["part", "other"])
    assert lc.disclosed() == ["part"] and leaks(lc) == ["part"]
    lc.protect()
    assert leaks(lc) == []


def test_a_link_that_does_not_hold_is_not_added():
    lc = linked.LinkedCounts(T)
    lc.add("a", 5), lc.add("b", 3), lc.add("c", 9)
    assert not lc.equal("c", ["a", "b"])  # 5 + 3 is not 9
    assert lc.equations == []


def test_cross_report_sum_of_numbers_at_risk():
    """Municipalities' numbers at risk add up to the project's, each shown in a different report."""
    lc = linked.LinkedCounts(T)
    lc.add("P", 40)
    for m, v in {"A": 3, "B": 12, "C": 25}.items():
        lc.add(m, v)
    lc.equal("P", ["A", "B", "C"])
    assert leaks(lc) == ["A"]
    lc.protect()
    assert leaks(lc) == [] and lc.state["B"] == sup.SECONDARY  # the smaller shown one


# --- employees (issue 8, point 4) ---------------------------------------------------------------


def points(own: int, others: int, small: int = 0) -> pd.DataFrame:
    """Caseworkers: `own` of the municipality and `others` drawable, `small` with too few cases."""
    rows = [{"caseworker_id": f"own{i}", "caseload": 10 + i, "n": 10, "k": 5, "mean": 0.5} for i in range(own)]
    rows += [{"caseworker_id": f"oth{i}", "caseload": 20 + i, "n": 12, "k": 6, "mean": 0.5} for i in range(others)]
    rows += [{"caseworker_id": f"few{i}", "caseload": 5 + i, "n": 3, "k": 1, "mean": 1 / 3} for i in range(small)]
    return pd.DataFrame(rows)


def figure_texts(plot) -> list[str]:
    fig = plot.figure
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        texts += [t.get_text() for t in legend.get_texts()] if legend else []
    return texts


@pytest.mark.parametrize("own", [1, 2, 4])
def test_fewer_than_5_own_caseworkers_are_not_highlighted(own):
    p = points(own, 8, small=3)
    plot = caseload_figure(p, None, [f"own{i}" for i in range(own)] + ["few0"], T, "Tønder", "Andel")
    texts = figure_texts(plot)
    assert not any("Jobformidlere i Tønder" in t for t in texts)
    colors = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in plot.figure.axes[0].collections}
    highlight = tuple(np.round(np.array([int(plots.HIGHLIGHT[i:i + 2], 16) for i in (1, 3, 5)]) / 255, 3))
    assert highlight not in colors
    # no exact count of 1-4 caseworkers anywhere (three with too few cases, `own` of the municipality)
    assert not any(re.search(r"(?<![\d.,])[1-4] jobformidlere", t) for t in texts)
    assert any("fremhæves ikke" in t for t in texts)


def test_five_own_caseworkers_are_highlighted_and_no_count_is_printed():
    p = points(5, 8, small=2)
    plot = caseload_figure(p, None, [f"own{i}" for i in range(5)], T, "Tønder", "Andel")
    texts = figure_texts(plot)
    assert "Jobformidlere i Tønder" in texts
    hidden_note = [t for t in texts if "for få forløb" in t]
    assert hidden_note and not re.search(r"\d", hidden_note[0])


def test_the_caseworkers_left_out_are_not_recoverable_from_the_regression():
    """Drawn dots can be counted; with the regression's number of caseworkers shown, the number left
    out (1-4) would follow: the decision hides the regression's count instead."""
    lc = linked.LinkedCounts(T)
    lc.add("all", 23, published=False)
    lc.add("drawn", 20, fixed=True)
    lc.add("not drawn", 3, published=False)
    lc.add("regression", 23)
    lc.equal("all", ["drawn", "not drawn"])
    lc.equal("regression", ["all"])
    assert leaks(lc) == ["not drawn"]
    lc.protect()
    assert leaks(lc) == [] and lc.state["regression"] == sup.SECONDARY
