"""Goal tracking (Målstyring): weekly and year-to-date sums checked by hand."""

import math

import pandas as pd
import pytest

from evalkit.errors import InputError
from evalkit.stats.goals import goal_tracking


def goals_frame(rows):
    return pd.DataFrame(rows, columns=["team", "employee_id", "week", "indicator", "realised", "target"]).astype(
        {"realised": "int64", "target": "int64"})


ROWS = [
    # team, employee, week, indicator, realised, target
    ("Nord", "e1", "2020-W52", "virksomhedskontakt", 3, 5),
    ("Nord", "e1", "2020-W53", "virksomhedskontakt", 6, 5),
    ("Nord", "e1", "2021-W01", "virksomhedskontakt", 2, 4),
    ("Nord", "e1", "2021-W02", "virksomhedskontakt", 5, 4),
    ("Nord", "e1", "2021-W01", "placering", 1, 0),  # target 0: no share
    ("Nord", "e2", "2021-W01", "virksomhedskontakt", 4, 4),
    ("Nord", "e2", "2021-W2", "virksomhedskontakt", 1, 4),  # week without leading zero
    ("Syd", "e3", "2021-W01", "virksomhedskontakt", 7, 6),
]


def test_weekly_and_year_to_date_sums_by_hand():
    g = goal_tracking(goals_frame(ROWS))
    ew = g["employee_week"].set_index(["employee_id", "indicator", "week"])
    assert ew.loc[("e1", "virksomhedskontakt", "2020-W53"), "share"] == pytest.approx(6 / 5)
    assert ew.loc[("e2", "virksomhedskontakt", "2021-W02"), "realised"] == 1
    assert math.isnan(ew.loc[("e1", "placering", "2021-W01"), "share"])

    # team Nord, virksomhedskontakt, 2021-W01: e1 2 + e2 4 = 6 of 4 + 4 = 8
    tw = g["team_week"].set_index(["team", "indicator", "week"])
    assert tw.loc[("Nord", "virksomhedskontakt", "2021-W01"), ["realised", "target"]].tolist() == [6, 8]
    assert tw.loc[("Nord", "virksomhedskontakt", "2021-W01"), "share"] == pytest.approx(0.75)

    # e1 year to date restarts in ISO year 2021: W52 3/5, W53 9/10; W01 2/4, W02 7/8
    ytd = g["employee_ytd"]
    e1 = ytd[(ytd["employee_id"] == "e1") & (ytd["indicator"] == "virksomhedskontakt")]
    assert e1[["week", "realised_ytd", "target_ytd"]].values.tolist() == [
        ["2020-W52", 3, 5], ["2020-W53", 9, 10], ["2021-W01", 2, 4], ["2021-W02", 7, 8]]

    # year totals: e1 2020 9/10, 2021 7/8; e2 2021 5/8
    ey = g["employee_year"].set_index(["employee_id", "indicator", "iso_year"])
    assert ey.loc[("e1", "virksomhedskontakt", 2020), ["realised_ytd", "target_ytd"]].tolist() == [9, 10]
    assert ey.loc[("e1", "virksomhedskontakt", 2021), ["realised_ytd", "target_ytd", "to_week"]].tolist() == [
        7, 8, "2021-W02"]
    assert ey.loc[("e2", "virksomhedskontakt", 2021), "share_ytd"] == pytest.approx(5 / 8)

    # team Nord 2021 virksomhedskontakt: 2 + 5 + 4 + 1 = 12 of 4 + 4 + 4 + 4 = 16; team Syd 7 of 6
    ty = g["team_year"].set_index(["team", "indicator", "iso_year"])
    assert ty.loc[("Nord", "virksomhedskontakt", 2021), ["realised_ytd", "target_ytd"]].tolist() == [12, 16]
    assert ty.loc[("Syd", "virksomhedskontakt", 2021), "share_ytd"] == pytest.approx(7 / 6)
    # team YTD equals the sum of its employees' YTD totals (second route to the same number)
    assert ty["realised_ytd"].sum() == goals_frame(ROWS)["realised"].sum()


def test_bad_week_is_an_input_error():
    with pytest.raises(InputError) as err:
        goal_tracking(goals_frame([("Nord", "e1", "2020-03", "x", 1, 1), ("Nord", "e1", "2020-W60", "x", 1, 1)]))
    assert err.value.rows == [2, 3]


def test_a_municipality_gets_its_caseworkers_goal_rows_else_its_named_teams():
    """Goal rows belong to a municipality through its caseworkers' ids; without any, through teams named
    after it: whole words, any case or spelling of its name, never a longer name that starts with it."""
    from evalkit.report.context import _goal_rows

    goals = goals_frame([
        ("Jobteam Viborg", "w1", "2021-W01", "jobåbninger", 1, 2),  # w1 is a caseworker in Viborg
        ("Jobteam faxe", "x1", "2021-W01", "jobåbninger", 3, 2),
        ("Team FAXE Syd", "x2", "2021-W01", "jobåbninger", 4, 2),
        ("Jobteam Faxeladeplads", "x3", "2021-W01", "jobåbninger", 5, 2),  # not Faxe's
        ("Jobteam Københavns Vestegn", "x4", "2021-W01", "jobåbninger", 6, 2),  # not København's
        ("Jobteam Koebenhavn", "x5", "2021-W01", "jobåbninger", 7, 2),
    ])
    cases = pd.DataFrame({"municipality": ["Viborg", "Faxe", "København", "Tønder"],
                          "caseworker_id": ["w1", "w2", "w3", "w4"]})
    rows = _goal_rows(goals, cases, ["Faxe", "København", "Tønder", "Viborg"])
    assert rows["Viborg"]["employee_id"].tolist() == ["w1"]
    assert rows["Faxe"]["employee_id"].tolist() == ["x1", "x2"]
    assert rows["København"]["employee_id"].tolist() == ["x5"]
    assert rows["Tønder"].empty
