"""The time sections (issue 10): the disclosure rules of trend_mask worked by hand, and the sections'
behaviour on thin data (explanations instead of figures), the period parameter and the index arrows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_reports import write_dataset

from evalkit.data.dataset import load_dataset
from evalkit.report import trend_mask as tm
from evalkit.report import trends
from evalkit.report.blocks import Note
from evalkit.report.context import ReportContext, build_context

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample_ctx() -> ReportContext:
    return build_context(load_dataset(SAMPLE))


@pytest.mark.parametrize("n, rounded", [(0, 0), (1, 0), (2, 0), (3, 5), (5, 5), (7, 5), (8, 10), (12, 10),
                                        (13, 15), (1607, 1605), (1608, 1610)])
def test_round_base_5_is_the_nearest_multiple(n, rounded):
    assert tm.round_base(n) == rounded
    assert abs(tm.round_base(n) - n) <= 2  # a shown r leaves r-2..r+2 possible


def _point(date, n, k, value=0.5):
    return {"date": date, "sc1": {"n": n, "k": k, "value": value, "ci_low": 0.3, "ci_high": 0.7}}


def test_criteria_mask_worked_by_hand():
    """E (last) shown; from E backwards a point is shown only if n, k and n-k are 0 or >= 5 from every
    published point's. E: (k, n) = (10, 30).
    Q3 (9, 27): k 1 from E -> hidden.  Q2 (10, 25): n 5, k 0, rest 5 from E -> shown.
    Q1 (6, 16): n 9/14, k 4 from Q2 -> hidden.  Q0 (5, 14): k 5, n 11/16, rest 11/6 -> shown."""
    quarterly = [_point("q0", 14, 5), _point("q1", 16, 6), _point("q2", 25, 10), _point("q3", 27, 9),
                 _point("e", 30, 10)]
    anchor = tm.point_counts(quarterly[-1], "sc1")
    assert tm.criteria_mask(quarterly, "sc1", anchor, True, 5) == [True, False, True, False, True]
    # E hidden in the snapshot: E is not shown, but its counts still bind the other points
    assert tm.criteria_mask(quarterly, "sc1", anchor, False, 5) == [True, False, True, False, False]


def test_criteria_mask_applies_the_snapshot_rule_to_each_point():
    """A share from 1-4 persons (k = 3, or n - k = 2) is never shown, whatever its distance."""
    quarterly = [_point("a", 20, 3), _point("b", 40, 38), _point("e", 100, 50)]
    assert tm.criteria_mask(quarterly, "sc1", tm.point_counts(quarterly[-1], "sc1"), True, 5) == [False, False, True]


def test_stock_categories_and_flows_follow_the_snapshot_mask():
    shown_all = {"I alt": True, "udgået": True}
    cats = ["før_rehab", "ledighedsydelse", "udgået"]
    assert tm.stock_categories(shown_all, cats) == cats
    assert tm.stock_categories({"I alt": True, "udgået": False}, cats) == ["før_rehab", "ledighedsydelse"]
    assert tm.stock_categories({"I alt": False, "udgået": True}, cats) == []
    totals = {"entered": 12, "to_ledighedsydelse": 3, "flexjob_started": 8, "left": 4}
    assert tm.published_flows(totals, shown_all) == {"entered": 10, "to_ledighedsydelse": 5,
                                                     "flexjob_started": 10, "left": 5}
    assert tm.published_flows(totals, {"I alt": False, "udgået": False}) == {
        "entered": None, "to_ledighedsydelse": 5, "flexjob_started": 10, "left": None}


def test_quarterly_flows_add_up_to_the_period_totals():
    months = [{"date": d, "flows": {"entered": i, "left": 2 * i}}
              for i, d in enumerate(["2021-01-31", "2021-02-28", "2021-03-31", "2021-04-30", "2021-05-15"])]
    quarters = tm.quarterly_flows(months, ["2021-03-31", "2021-05-15"])
    assert quarters == [{"date": "2021-03-31", "flows": {"entered": 3, "left": 6}},
                        {"date": "2021-05-15", "flows": {"entered": 7, "left": 14}}]
    assert tm.flow_totals(months) == {"entered": 10, "left": 20}


def test_stock_points_leave_out_the_extraction_date():
    monthly = [{"date": d, "status_counts": {"a": n}} for d, n in (("2021-01-31", 4), ("2021-02-28", 9),
                                                                    ("2021-03-15", 11))]
    assert tm.rounded_stocks(monthly, ["a"]) == [{"date": "2021-01-31", "counts": {"a": 5}},
                                                 {"date": "2021-02-28", "counts": {"a": 10}}]


@pytest.mark.parametrize("before, after, lower, sign, better", [
    (0.30, 0.35, False, 1, True), (0.30, 0.35, True, 1, False), (0.40, 0.3999, False, 0, None),
    (0.5, 0.45, True, -1, True)])
def test_direction(before, after, lower, sign, better):
    d = tm.direction(before, after, lower)
    assert (d["sign"], d["better"]) == (sign, better)


# --- sections on thin data --------------------------------------------------------------


def _cases(rows):
    return [f"{cid},{m},1,W1,{tg},{entry},{benefit},{flex},{exit_},{reason},K,40-49"
            for cid, m, tg, entry, benefit, flex, exit_, reason in rows]


def test_thin_datasets_give_explanations_instead_of_figures(tmp_path):
    """One month before E (test_reports.YML: E 2021-12-31) and three cases: no figure, Danish notes instead."""
    rows = _cases([("A1", "Tønder", "ledighedsydelse", "2021-12-01", "2021-11-01", "", "", ""),
                   ("A2", "Tønder", "rehab", "2021-12-02", "", "", "", ""),
                   ("A3", "Tønder", "ledighedsydelse", "2021-12-03", "2021-11-01", "2021-12-20", "", "")])
    ctx = build_context(load_dataset(write_dataset(tmp_path / "d", rows)))
    trend = trends.MunicipalityTrend(ctx, "Tønder")
    for part in (trend.stocks_figure(), trend.criteria_figure()):
        assert isinstance(part, Note) and part.text
    status = trends.StatusTrends(ctx)
    assert isinstance(status.flow_figure(), Note)
    assert all(isinstance(status.criteria_grid(k), Note) for k in ("sc1", "sc2", "sc3"))
    assert all(v == "kan ikke vurderes" for v in trends.index_arrows(ctx, "Tønder").values())
    # the flows of 3 cases: entered and left are hidden with the status grid's cells, the rest rounds to 0 or 5
    flows = status.flow_table().frame
    assert set(flows.iloc[0, 1:]) <= {"x", "0", "5"}


def test_sections_on_the_sample_have_alt_text_with_numbers_and_tables(sample_ctx):
    trend = trends.MunicipalityTrend(sample_ctx, "Viborg")
    for figure, table in ((trend.stocks_figure(), trend.stocks_table()),
                          (trend.criteria_figure(), trend.criteria_table())):
        png, meta = figure._repr_png_()  # nbconvert writes meta["alt"] as the <img>'s alt
        alt = meta["alt"]
        assert png.startswith(b"\x89PNG") and "Viborg" in alt and re.search(r"\d+,\d %|\b\d+\b", alt)
        assert len(table.frame) >= 2
    status = trends.StatusTrends(sample_ctx)
    assert len(status.flow_figure()._repr_png_()[1]["alt"]) > 60
    assert len(status.flow_table().frame) == len(sample_ctx.municipalities) + 1


def test_period_limits_the_points_shown(sample_ctx):
    whole = trends.MunicipalityTrend(sample_ctx, "Viborg")
    part = trends.MunicipalityTrend(sample_ctx, "Viborg", period="2021-01-01/2021-06-30")
    dates = part.stocks_table().frame["Månedens udgang"].tolist()
    assert dates == ["31.01.2021", "28.02.2021", "31.03.2021", "30.04.2021", "31.05.2021", "30.06.2021"]
    assert part.criteria_table().frame["Kvartalets udgang"].tolist() == ["31.03.2021", "30.06.2021"]
    # the same quarters show the same cells as in the whole period (the mask does not depend on the period)
    full = whole.criteria_table().frame.set_index("Kvartalets udgang")
    assert part.criteria_table().frame.set_index("Kvartalets udgang").equals(full.loc[["31.03.2021", "30.06.2021"]])
    with pytest.raises(ValueError, match="start/end"):
        trends.MunicipalityTrend(sample_ctx, "Viborg", period="2021-01-01")


def test_index_arrows_are_words_not_colour_alone(sample_ctx):
    words = re.compile(r'^(<span aria-hidden="true">[↑↓→]</span> (steget|faldet|uændret)( \((bedre|dårligere)\))?'
                       r"|kan ikke vurderes)$")
    cells = [v for m in sample_ctx.municipalities for v in trends.index_arrows(sample_ctx, m).values()]
    assert len(cells) == 3 * len(sample_ctx.municipalities)
    assert all(words.match(str(c)) for c in cells)
    assert sum("steget" in c or "faldet" in c for c in cells) >= 10  # the sample has movement to show
    # "better" follows the criterion's direction: S(39) is better when it falls
    sc2 = [str(c) for m in sample_ctx.municipalities for k, c in trends.index_arrows(sample_ctx, m).items()
           if k.startswith("S(39)")]
    assert all(("faldet" in c) == ("bedre" in c) for c in sc2 if "steget" in c or "faldet" in c)
