"""Status categories at the extraction date and valid flexjobs (SPEC sections 2-3)."""

import pandas as pd
from conftest import typed

from evalkit.data.schema import CASE_COLUMNS, HOURS_COLUMNS
from evalkit.stats.status import STATUS_CATEGORIES, status_at, status_counts, valid_flexjob

E = pd.Timestamp("2021-12-31")




def cases_frame(rows):
    base = {"municipality": "A", "round": 1, "caseworker_id": "w1", "target_group": "ledighedsydelse",
            "project_entry": "2021-01-01"}
    return typed([{**base, **r} for r in rows], CASE_COLUMNS)


def test_status_rules_each_case_by_hand():
    cases = cases_frame([
        # exit_date <= E: udgået, even with a flexjob before the exit
        {"case_id": "exit", "flexjob_start": "2021-03-01", "exit_date": "2021-06-01", "benefit_start": "2020-12-01"},
        # flexjob on the exit day is valid, but the exit (<= E) decides the status
        {"case_id": "exit_day", "flexjob_start": "2021-05-01", "exit_date": "2021-05-01"},
        # valid flexjob without any hours row: fleksjob_0_10
        {"case_id": "no_hours", "flexjob_start": "2021-02-01", "benefit_start": "2020-11-01"},
        # latest hours 12 > 10: over 10
        {"case_id": "over", "flexjob_start": "2021-02-01"},
        # latest hours at or before E is 8; the 15 of January 2022 is after E and ignored
        {"case_id": "after_e", "flexjob_start": "2021-02-01"},
        # exactly 10 is not above 10
        {"case_id": "ten", "flexjob_start": "2021-02-01"},
        # latest row decides (first 14, last 6)
        {"case_id": "dropped", "flexjob_start": "2021-02-01"},
        # benefit, flexjob only after E: ledighedsydelse
        {"case_id": "late_job", "benefit_start": "2020-10-01", "flexjob_start": "2022-02-01"},
        # exit after E does not count
        {"case_id": "late_exit", "benefit_start": "2020-10-01", "exit_date": "2022-01-15"},
        # nothing: før_rehab
        {"case_id": "rehab", "target_group": "rehab"},
        # a given status wins over the derived one (would be ledighedsydelse)
        {"case_id": "given", "benefit_start": "2020-10-01", "status": "før_rehab"},
    ])
    hours = typed([
        {"case_id": "over", "month": "2021-11-01", "effective_hours": 12.0},
        {"case_id": "after_e", "month": "2021-11-01", "effective_hours": 8.0},
        {"case_id": "after_e", "month": "2022-01-01", "effective_hours": 15.0},
        {"case_id": "ten", "month": "2021-12-01", "effective_hours": 10.0},
        {"case_id": "dropped", "month": "2021-12-01", "effective_hours": 6.0},
        {"case_id": "dropped", "month": "2021-03-01", "effective_hours": 14.0},
        {"case_id": "exit", "month": "2021-04-01", "effective_hours": 20.0},
    ], HOURS_COLUMNS)
    expected = {
        "exit": "udgået", "exit_day": "udgået", "no_hours": "fleksjob_0_10", "over": "fleksjob_over_10",
        "after_e": "fleksjob_0_10", "ten": "fleksjob_0_10", "dropped": "fleksjob_0_10",
        "late_job": "ledighedsydelse", "late_exit": "ledighedsydelse", "rehab": "før_rehab", "given": "før_rehab",
    }
    got = dict(zip(cases["case_id"], status_at(cases, hours, E)))
    assert got == expected
    counts = status_counts(cases, hours, E)
    assert list(counts) == list(STATUS_CATEGORIES)
    assert counts == {"før_rehab": 2, "ledighedsydelse": 2, "fleksjob_0_10": 4, "fleksjob_over_10": 1, "udgået": 2}


def test_status_counts_lists_all_five_categories_with_zeros():
    cases = cases_frame([{"case_id": "a", "benefit_start": "2020-10-01"}])
    hours = typed([], HOURS_COLUMNS)
    assert status_counts(cases, hours, E) == {
        "før_rehab": 0, "ledighedsydelse": 1, "fleksjob_0_10": 0, "fleksjob_over_10": 0, "udgået": 0}


def test_valid_flexjob_edges():
    cases = cases_frame([
        {"case_id": "on_exit_day", "flexjob_start": "2021-05-01", "exit_date": "2021-05-01"},  # valid
        {"case_id": "after_exit", "flexjob_start": "2021-05-02", "exit_date": "2021-05-01"},  # another course
        {"case_id": "on_e", "flexjob_start": "2021-12-31"},  # started on E: valid
        {"case_id": "after_e", "flexjob_start": "2022-01-01"},  # not yet
        {"case_id": "none"},
        {"case_id": "exit_later", "flexjob_start": "2021-05-01", "exit_date": "2021-09-01"},  # valid
    ])
    assert list(valid_flexjob(cases, E)) == [True, False, True, False, False, True]
