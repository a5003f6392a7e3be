"""Success criterion 3: progression in effective hours (SPEC section 3)."""

import pandas as pd
import pytest
from conftest import typed

from evalkit.data.schema import CASE_COLUMNS, HOURS_COLUMNS
from evalkit.stats.progression import progression_table, round_half_up_2, sc3

E = pd.Timestamp("2021-12-31")




def cases_frame(entries: dict) -> pd.DataFrame:
    return typed([{"case_id": c, "municipality": "A", "round": 1, "caseworker_id": "w", "target_group": "fleksjob",
                   "project_entry": d, "flexjob_start": d} for c, d in entries.items()], CASE_COLUMNS)


def hours_frame(rows) -> pd.DataFrame:
    """rows: (case_id, 'YYYY-MM', effective[, attended])."""
    return typed([{"case_id": r[0], "month": r[1] + "-01", "effective_hours": r[2],
                   "attended_hours": r[3] if len(r) > 3 else None} for r in rows], HOURS_COLUMNS)


def test_progression_edge_cases_by_hand():
    cases = cases_frame({
        "before_entry": "2020-03-15",  # Feb row ignored; Mar 5 -> Sep 6: 6 months, change 1.0, progressed
        "six": "2020-01-01",  # Jan -> Jul: exactly 6 months, eligible
        "five": "2020-01-01",  # Jan -> Jun: 5 months, not eligible
        "first_over_10": "2020-01-01",  # first 10.5 > 10: not eligible
        "first_10": "2020-01-01",  # first exactly 10: eligible, change 0.99 -> not progressed
        "half_up": "2020-01-01",  # 4.0 -> 4.995: change 0.995 rounds to 1.00 -> progressed
        "float_noise": "2020-01-01",  # 6.1 -> 7.1: binary 0.9999999999999991 rounds to 1.0 -> progressed
        "after_e": "2021-01-01",  # last row at or before E is Jul 2021 (6 months); Jan 2022 ignored
        "only_after_e": "2021-03-01",  # Mar 2021 -> (Jan 2022 ignored): no later month, not eligible
        "no_hours": "2020-01-01",
    })
    hours = hours_frame([
        ("before_entry", "2020-02", 1.0), ("before_entry", "2020-09", 6.0, 9.0), ("before_entry", "2020-03", 5.0, 8.0),
        ("six", "2020-01", 2.0), ("six", "2020-04", 2.5), ("six", "2020-07", 2.0),
        ("five", "2020-01", 2.0), ("five", "2020-06", 8.0),
        ("first_over_10", "2020-01", 10.5), ("first_over_10", "2020-12", 20.0),
        ("first_10", "2020-01", 10.0), ("first_10", "2020-12", 10.99),
        ("half_up", "2020-01", 4.0), ("half_up", "2020-07", 4.995),
        ("float_noise", "2020-01", 6.1), ("float_noise", "2020-08", 7.1),
        ("after_e", "2021-01", 3.0), ("after_e", "2021-07", 3.5), ("after_e", "2022-01", 9.0),
        ("only_after_e", "2021-03", 3.0), ("only_after_e", "2022-01", 9.0),
        ("unknown_case", "2020-01", 1.0), ("unknown_case", "2020-12", 9.0),
    ])
    table = progression_table(cases, hours, E).set_index("case_id")
    assert sorted(table.index) == sorted(["before_entry", "six", "first_10", "half_up", "float_noise", "after_e"])
    row = table.loc["before_entry"]
    assert row["first_month"] == pd.Timestamp("2020-03-01") and row["last_month"] == pd.Timestamp("2020-09-01")
    assert (row["first_effective"], row["last_effective"]) == (5.0, 6.0)
    assert (row["first_attended"], row["last_attended"]) == (8.0, 9.0)
    expected_change = {"before_entry": 1.0, "six": 0.0, "first_10": 0.99, "half_up": 1.0, "float_noise": 1.0,
                       "after_e": 0.5}
    assert table["change"].to_dict() == expected_change
    assert table["progressed"].to_dict() == {"before_entry": True, "six": False, "first_10": False,
                                             "half_up": True, "float_noise": True, "after_e": False}
    assert table.loc["after_e", "last_month"] == pd.Timestamp("2021-07-01")

    result = sc3(cases, hours, E)
    # 6 eligible, 3 progressed; changes 1.0, 0.0, 0.99, 1.0, 1.0, 0.5
    assert (result["n"], result["k"]) == (6, 3)
    assert result["value"] == 0.5
    assert result["mean_change"] == pytest.approx((1.0 + 0.0 + 0.99 + 1.0 + 1.0 + 0.5) / 6)
    assert result["median_change"] == pytest.approx((0.99 + 1.0) / 2)  # sorted: 0, .5, .99, 1, 1, 1
    assert result["ci_low"] is not None and result["ci_low"] < 0.5 < result["ci_high"]


def test_round_half_up_2():
    # as a person rounds the decimal number: 0.995 -> 1.00, 1.005 -> 1.01, 0.994 -> 0.99, 2.675 -> 2.68
    assert list(round_half_up_2([0.995, 1.005, 0.994, 2.675, 7.1 - 6.1, 0.285])) == [1.0, 1.01, 0.99, 2.68, 1.0, 0.29]


def test_no_eligible_cases():
    cases = cases_frame({"a": "2020-01-01"})
    result = sc3(cases, hours_frame([("a", "2020-01", 2.0)]), E)
    assert result == {"n": 0, "k": 0, "value": None, "ci_low": None, "ci_high": None,
                      "mean_change": None, "median_change": None}
