"""Follow-up cadence and Step Up (SPEC section 3)."""

import pandas as pd
from conftest import typed

from evalkit.data.schema import CASE_COLUMNS, CONTACT_COLUMNS
from evalkit.stats.followup import follow_up, follow_up_counts, step_up

E = pd.Timestamp("2021-12-31")
D = pd.Timedelta(days=1)




def cases_frame(rows):
    base = {"municipality": "A", "round": 1, "caseworker_id": "w", "target_group": "ledighedsydelse",
            "project_entry": pd.Timestamp("2021-01-01"), "benefit_start": pd.Timestamp("2020-10-01")}
    return typed([{**base, **r} for r in rows], CASE_COLUMNS)


def contacts_frame(rows):
    """rows: (case_id, date, kind)."""
    return typed([{"case_id": c, "date": d, "channel": "telefon", "kind": k} for c, d, k in rows], CONTACT_COLUMNS)


def test_follow_up_window_edges():
    s = pd.Timestamp("2021-03-01")
    last_start = E - 182 * D  # 2021-07-02: the last start whose whole window is observed
    cases = cases_frame([
        {"case_id": "a", "flexjob_start": s},  # day 0, 181 in; day 182 and day -1 out -> 2
        {"case_id": "b", "flexjob_start": s},  # 3 in the window + 1 samtale (not counted) -> 3
        {"case_id": "c", "flexjob_start": s},  # 4 in the window -> 4
        {"case_id": "d", "flexjob_start": last_start},  # start = E - 182: included, 0 follow-ups
        {"case_id": "e", "flexjob_start": last_start + D},  # E - 181: excluded
        {"case_id": "f", "flexjob_start": s, "exit_date": s - D},  # flexjob after exit: not valid
        {"case_id": "g", "target_group": "fleksjob", "project_entry": s, "flexjob_start": s - 30 * D,
         "benefit_start": None},  # started before project entry: excluded
        {"case_id": "h"},  # no flexjob
    ])
    contacts = contacts_frame([
        ("a", s, "opfølgning"), ("a", s + 181 * D, "opfølgning"), ("a", s + 182 * D, "opfølgning"),
        ("a", s - D, "opfølgning"),
        ("b", s + 10 * D, "opfølgning"), ("b", s + 20 * D, "opfølgning"), ("b", s + 30 * D, "opfølgning"),
        ("b", s + 40 * D, "samtale"),
        ("c", s + 1 * D, "opfølgning"), ("c", s + 2 * D, "opfølgning"), ("c", s + 3 * D, "opfølgning"),
        ("c", s + 100 * D, "opfølgning"),
        ("e", last_start + 5 * D, "opfølgning"), ("e", last_start + 6 * D, "opfølgning"),
        ("g", s, "opfølgning"), ("g", s + D, "opfølgning"),
    ])
    assert follow_up_counts(cases, contacts, E).to_dict() == {"a": 2, "b": 3, "c": 4, "d": 0}
    # n = 4 (a, b, c, d); at least 2: a, b, c; at least 4: c
    assert follow_up(cases, contacts, E) == {"n": 4, "n_2": 3, "n_4": 1, "share_2": 0.75, "share_4": 0.25}


def test_follow_up_empty():
    cases = cases_frame([{"case_id": "h"}])
    assert follow_up(cases, contacts_frame([]), E) == {"n": 0, "n_2": 0, "n_4": 0, "share_2": None, "share_4": None}


def test_step_up_population_and_contacts():
    cases = cases_frame([
        {"case_id": "a", "project_entry": E - 182 * D},  # exactly 26 weeks: in, has step_up
        {"case_id": "b", "project_entry": E - 181 * D},  # 25 weeks 6 days: out
        {"case_id": "c", "project_entry": E - 300 * D},  # in, only a samtale
        {"case_id": "d", "project_entry": E - 300 * D, "flexjob_start": E - 10 * D},  # flexjob: out
        {"case_id": "e", "project_entry": E - 300 * D, "exit_date": E - 5 * D},  # exited: out
        {"case_id": "f", "target_group": "rehab", "project_entry": E - 400 * D,
         "benefit_start": E - 100 * D},  # on benefit only 100 days within the project: out
        {"case_id": "g", "project_entry": E - 300 * D, "flexjob_start": E + 10 * D},  # flexjob after E: in
        {"case_id": "h", "target_group": "rehab", "project_entry": E - 300 * D, "benefit_start": None},  # før_rehab
    ])
    contacts = contacts_frame([
        ("a", E - 10 * D, "step_up"), ("b", E - 10 * D, "step_up"), ("c", E - 10 * D, "samtale"),
        ("g", E + 3 * D, "step_up"),  # after E: not seen
    ])
    # population a, c, g; with a step_up contact: a
    assert step_up(cases, contacts, E) == {"n": 3, "n_with_step_up": 1, "share": 1 / 3}
