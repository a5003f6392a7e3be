"""Time to flexjob (SPEC section 3, success criterion 2).

Every expected number comes from a hand calculation written out here, a closed
form, or a second method (lifelines, a direct numpy loop over risk sets).
Risk-set rule throughout: a case is at risk at t when entry < t <= time.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test as lifelines_logrank
from lifelines.statistics import multivariate_logrank_test

from evalkit.stats.survival import at_risk_at, cox_model, logrank_test, survival_data, time_to_flexjob

Z = 1.959963984540054
BASE = pd.Timestamp("2019-01-07")  # benefit_start of every constructed case
E = pd.Timestamp("2024-12-31")
NaT = pd.NaT


def cases_from_days(rows, **columns) -> pd.DataFrame:
    """Cases with benefit_start = BASE from (entry_days, time_days, event) triples.

    Event: flexjob_start at time; censored: exit_date at time (before E).
    Extra keyword columns (lists) are added as they are (group, round, sex ...).
    """
    out = []
    for i, (entry, time, event) in enumerate(rows):
        end = BASE + pd.Timedelta(days=time)
        out.append(
            {
                "case_id": f"c{i:04d}",
                "target_group": "ledighedsydelse",
                "benefit_start": BASE,
                "project_entry": BASE + pd.Timedelta(days=entry),
                "flexjob_start": end if event else NaT,
                "exit_date": NaT if event else end,
            }
        )
    date_cols = ["benefit_start", "project_entry", "flexjob_start", "exit_date"]
    frame = pd.DataFrame(out, columns=["case_id", "target_group", *date_cols])
    frame = frame.astype({c: "datetime64[ns]" for c in date_cols})
    for name, values in columns.items():
        frame[name] = values
    return frame


def weeks(rows):
    """(entry_weeks, time_weeks, event) in whole weeks -> days."""
    return [(7 * a, 7 * b, ev) for a, b, ev in rows]


# Hand-worked example (weeks): (entry, time, event)
#   A (0, 10] event      B (0, 20] event      C (0, 20] event (tie with B)
#   D (0, 20] censored at the event time 20 (still at risk at 20)
#   E (5, 30] event      F (20, 45] censored: enters exactly at the event time 20
#   G (15, 39] event exactly at 39            H (25, 60] censored
#   I (35, 50] censored
# Risk sets (entry < t <= time) at the event times:
#   t=10: A B C D E          Y=5 d=1  S = 4/5             = 0.8
#   t=20: B C D E G (not F)  Y=5 d=2  S = 0.8  * 3/5      = 0.48
#   t=30: E F G H            Y=4 d=1  S = 0.48 * 3/4      = 0.36
#   t=39: F G H I            Y=4 d=1  S = 0.36 * 3/4      = 0.27
# Censoring times 45 (F, H I at risk: Y=3), 50 (H I: Y=2), 60 (H: Y=1).
# at risk at 39: F G H I = 4.  Median: first S <= 0.5 is S(20) = 0.48 -> 20.
EXAMPLE = [
    (0, 10, True), (0, 20, True), (0, 20, True), (0, 20, False), (5, 30, True),
    (20, 45, False), (15, 39, True), (25, 60, False), (35, 50, False),
]
HAND_Y = np.array([5, 5, 4, 4])
HAND_D = np.array([1, 2, 1, 1])


def hand_loglog_ci(y, d):
    """R's log-log CI from risk sets: S^exp(+-z se), se = sqrt(sum d/(Y(Y-d))) / |log S|."""
    s = np.prod(1 - d / y)
    se = np.sqrt(np.sum(d / (y * (y - d)))) / abs(np.log(s))
    return s ** np.exp(Z * se), s ** np.exp(-Z * se)


def test_hand_worked_kaplan_meier_with_left_truncation():
    summary = time_to_flexjob(cases_from_days(weeks(EXAMPLE)), E)
    assert summary.n == 9 and summary.events == 5 and summary.n_never_at_risk == 0
    curve = summary.curve
    assert curve["weeks"].tolist() == [0, 10, 20, 30, 39, 45, 50, 60]
    np.testing.assert_allclose(curve["survival"], [1, 0.8, 0.48, 0.36, 0.27, 0.27, 0.27, 0.27], rtol=1e-12)
    # t = 0 row: the 4 cases starting at the origin (A B C D); then Y(t) from the table above
    assert curve["at_risk"].tolist() == [4, 5, 5, 4, 4, 3, 2, 1]
    assert curve["events"].tolist() == [0, 1, 2, 1, 1, 0, 0, 0]
    assert summary.s39 == pytest.approx(0.27, rel=1e-12)  # includes G's event at exactly 39
    assert summary.at_risk_39 == 4
    assert summary.median_weeks == 20
    assert summary.s39_reason is None

    # Greenwood log(-log) CI at 39 in closed form from the hand risk sets:
    # Greenwood sum = 1/(5*4) + 2/(5*3) + 1/(4*3) + 1/(4*3) = 0.35
    assert np.sum(HAND_D / (HAND_Y * (HAND_Y - HAND_D))) == pytest.approx(0.35)
    low, high = hand_loglog_ci(HAND_Y, HAND_D)
    assert summary.s39_ci_low == pytest.approx(low, rel=1e-10)
    assert summary.s39_ci_high == pytest.approx(high, rel=1e-10)
    # CI at t = 20 from the first two risk sets only
    low20, high20 = hand_loglog_ci(HAND_Y[:2], HAND_D[:2])
    assert curve.loc[2, "ci_low"] == pytest.approx(low20) and curve.loc[2, "ci_high"] == pytest.approx(high20)
    # before any event S = 1 and the log-log interval is undefined (NA in R)
    assert curve.loc[0, ["ci_low", "ci_high"]].isna().all()

    assert summary.to_json() == {
        "n": 9, "events": 5, "s39": pytest.approx(0.27), "s39_ci_low": pytest.approx(low),
        "s39_ci_high": pytest.approx(high), "at_risk_39": 4, "median_weeks": 20.0,
        "s39_reason": None,
    }


def test_lifelines_agrees_with_the_hand_example():
    """Second method: lifelines' estimate and its exponential Greenwood CI equal R's log-log CI."""
    entry, time, event = (np.array(x, dtype=float) for x in zip(*EXAMPLE))
    km = KaplanMeierFitter(alpha=0.05).fit(time, event, entry=entry)
    assert km.predict(39.0) == pytest.approx(0.27)
    ci = km.confidence_interval_.loc[39.0].to_numpy()
    low, high = hand_loglog_ci(HAND_Y, HAND_D)
    np.testing.assert_allclose(ci, [low, high], rtol=1e-10)
    # lifelines' event table counts F as at risk at 20 (6, not 5): only its estimate follows the rule
    assert km.event_table.loc[20.0, "at_risk"] == 6


def test_curve_matches_lifelines_on_tied_random_data():
    """Second method on data full of tied times and entries at event times (whole weeks)."""
    rng = np.random.default_rng(17)
    entry = rng.integers(0, 20, 300)
    time = entry + rng.integers(1, 60, 300)
    event = rng.random(300) < 0.5
    entry[:3], time[:3], event[:3] = 0, 100, False  # a few followed from 0 to the end: no gap
    summary = time_to_flexjob(cases_from_days([(7 * a, 7 * b, ev) for a, b, ev in zip(entry, time, event)]), E)
    km = KaplanMeierFitter().fit(time, event, entry=entry)
    curve = summary.curve
    np.testing.assert_allclose(curve["survival"], km.predict(curve["weeks"].to_numpy()), rtol=1e-12)
    ci = km.confidence_interval_.reindex(curve["weeks"].to_numpy(), method="ffill").to_numpy()
    # lifelines reports (1, 1) where S = 1; R (and evalkit) leave the log-log interval undefined there
    below_one = (curve["survival"] < 1.0).to_numpy()
    assert curve.loc[~below_one, ["ci_low", "ci_high"]].isna().all().all()
    np.testing.assert_allclose(curve.loc[below_one, ["ci_low", "ci_high"]].to_numpy(), ci[below_one], rtol=1e-10)
    direct = [int(((entry < t) & (t <= time)).sum()) for t in curve["weeks"][1:]]
    assert curve["at_risk"][1:].tolist() == direct


def test_ignoring_entry_gives_a_different_wrong_answer():
    # Without truncation every case is at risk from 0:
    #   t=10: Y=9 d=1; t=20: Y=8 d=2 (A gone); t=30: E F G H I Y=5 d=1; t=39: F G H I Y=4 d=1
    #   S(39) = 8/9 * 6/8 * 4/5 * 3/4 = 0.4   (the truncated answer is 0.27)
    naive = time_to_flexjob(cases_from_days([(0, t, ev) for _, t, ev in weeks(EXAMPLE)]), E)
    assert naive.s39 == pytest.approx(0.4)
    _, time, event = zip(*EXAMPLE)
    assert KaplanMeierFitter().fit(time, event).predict(39.0) == pytest.approx(0.4)
    truncated = time_to_flexjob(cases_from_days(weeks(EXAMPLE)), E)
    assert truncated.s39 == pytest.approx(0.27)
    assert naive.s39 - truncated.s39 == pytest.approx(0.13)


def test_survival_data_from_dates():
    e = pd.Timestamp("2021-12-31")
    d = pd.Timestamp
    rows = [
        # case, target_group, benefit_start, project_entry, flexjob_start, exit_date
        ("c1", "ledighedsydelse", d("2020-01-06"), d("2020-03-02"), d("2020-06-01"), NaT),
        ("c2", "rehab", d("2020-02-03"), d("2020-01-01"), d("2020-06-01"), d("2020-05-04")),
        ("c3", "ledighedsydelse", d("2021-06-07"), d("2021-06-07"), d("2022-01-10"), NaT),
        ("c4", "fleksjob", d("2019-05-01"), d("2020-01-15"), d("2019-12-01"), NaT),
        ("c5", "rehab", NaT, d("2020-01-15"), NaT, NaT),
        ("c6", "fleksjob", d("2020-09-01"), d("2020-10-01"), d("2020-11-02"), NaT),
        ("c7", "ledighedsydelse", d("2021-10-01"), d("2021-11-01"), NaT, d("2022-02-01")),
        ("c8", "ledighedsydelse", d("2021-01-04"), d("2021-02-01"), d("2021-02-01"), NaT),
        ("c9", "ledighedsydelse", d("2021-03-01"), d("2021-03-01"), d("2021-04-12"), d("2021-04-12")),
        ("c10", "ledighedsydelse", d("2021-12-03"), d("2021-12-03"), d("2021-12-31"), NaT),
    ]
    cases = pd.DataFrame(
        rows, columns=["case_id", "target_group", "benefit_start", "project_entry", "flexjob_start", "exit_date"]
    )
    data = survival_data(cases, e)
    # Days counted on the calendar (2020 is a leap year):
    # c1: entry Jan 6 -> Mar 2 = 56 d = 8 w; flexjob Jan 6 -> Jun 1 = 147 d = 21 w, event
    # c2: benefit after entry -> entry 0; exit Feb 3 -> May 4 = 91 d = 13 w; flexjob after exit: no event
    # c3: flexjob after E -> censored at E: Jun 7 -> Dec 31 2021 = 207 d
    # c4: fleksjob case employed before entry -> excluded; c5: no benefit_start -> excluded
    # c6: fleksjob case, flexjob after entry: entry Sep 1 -> Oct 1 = 30 d; flexjob Sep 1 -> Nov 2 = 62 d
    # c7: exit after E -> censored at E: Oct 1 -> Dec 31 = 91 d; entry 31 d
    # c8: flexjob on the entry day: entry = time = 28 d (kept, never at risk)
    # c9: flexjob on the exit day is valid: Mar 1 -> Apr 12 = 42 d, event
    # c10: flexjob on E itself is valid: Dec 3 -> Dec 31 = 28 d, event
    expected = pd.DataFrame(
        {
            "case_id": ["c1", "c2", "c3", "c6", "c7", "c8", "c9", "c10"],
            "entry": [56 / 7, 0, 0, 30 / 7, 31 / 7, 28 / 7, 0, 0],
            "time": [147 / 7, 91 / 7, 207 / 7, 62 / 7, 91 / 7, 28 / 7, 42 / 7, 28 / 7],
            "event": [True, False, False, True, False, True, True, True],
        },
        index=[0, 1, 2, 5, 6, 7, 8, 9],
    )
    pd.testing.assert_frame_equal(data, expected, check_exact=False, rtol=1e-12)

    summary = time_to_flexjob(cases, e)
    # c8 is never at risk (entry < t <= time is empty): left out of n and events
    assert (summary.n, summary.events, summary.n_never_at_risk) == (7, 4, 1)


def test_s39_missing_with_reason_and_median_missing():
    # Everybody leaves before 39: (0,10] event, (0,20] and (0,30] censored; S = 2/3 never <= 0.5
    early = time_to_flexjob(cases_from_days(weeks([(0, 10, True), (0, 20, False), (0, 30, False)])), E)
    assert early.s39 is None and early.s39_ci_low is None and early.s39_ci_high is None
    assert "30.0" in early.s39_reason and early.at_risk_39 == 0
    assert early.median_weeks is None
    block = early.to_json()
    json.dumps(block, allow_nan=False)  # no NaN or infinity anywhere
    assert block["s39"] is None and block["median_weeks"] is None and block["n"] == 3

    # The risk set empties at 12 and refills at 20: S(39) is not identified although 2 are at risk at 39
    gap = time_to_flexjob(
        cases_from_days(weeks([(0, 10, True), (0, 12, False), (20, 50, True), (20, 60, False)])), E
    )
    assert gap.at_risk_39 == 2 and gap.s39 is None and "12.0" in gap.s39_reason
    assert gap.curve["weeks"].max() == 12  # the curve stops where the risk set empties

    # Everybody enters after week 39
    late = time_to_flexjob(cases_from_days(weeks([(40, 50, True)])), E)
    assert late.s39 is None and late.s39_reason

    # No cases at all
    none = time_to_flexjob(cases_from_days([]), E)
    assert none.n == 0 and none.s39 is None and none.s39_reason and none.median_weeks is None
    assert none.to_json()["at_risk_39"] == 0

    # S reaching exactly 0.5 counts: (0,10] event, (0,20] censored -> S(10) = 1/2, median 10
    half = time_to_flexjob(cases_from_days(weeks([(0, 10, True), (0, 20, False)])), E)
    assert half.median_weeks == 10


def test_event_at_exactly_39_is_included():
    # (0,39] event, (0,40] censored, (0,50] censored: Y(39) = 3, S(39) = 2/3 (not 1)
    s = time_to_flexjob(cases_from_days(weeks([(0, 39, True), (0, 40, False), (0, 50, False)])), E)
    assert s.s39 == pytest.approx(2 / 3) and s.at_risk_39 == 3
    # one day later the event is not yet counted: S(39) = 1, log-log CI undefined (NA in R)
    s = time_to_flexjob(cases_from_days([(0, 274, True), (0, 280, False)]), E)
    assert s.s39 == 1.0 and (s.s39_ci_low, s.s39_ci_high) == (None, None)


def test_survival_reaching_zero_has_no_interval():
    # (0,10] event and (10,50] censored: at 10 only the first is at risk (Y=1, d=1) -> S = 0 from 10 on;
    # the second takes over at 10, so the risk set never empties before 39 and S(39) = 0.
    # log(-log 0) is undefined: the CI is missing (R gives NA), never NaN in JSON.
    s = time_to_flexjob(cases_from_days(weeks([(0, 10, True), (10, 50, False)])), E)
    assert s.s39 == 0.0 and s.at_risk_39 == 1 and s.median_weeks == 10
    assert s.to_json()["s39_ci_low"] is None and s.to_json()["s39_ci_high"] is None
    assert s.curve["ci_low"].isna().tolist() == [True, True, True]  # S = 1 at t = 0, then S = 0


def test_at_risk_at_counts_the_rule():
    data = survival_data(cases_from_days(weeks(EXAMPLE)), E)
    times = [0, 5, 10, 20, 20.5, 35, 39, 60, 61]
    direct = [int(((data["entry"] < t) & (t <= data["time"])).sum()) for t in times]
    # by hand: at 5: A B C D (E enters at 5, not yet at risk); at 20: B C D E G (F not yet);
    # at 20.5: E F G (B C D left at 20); at 35: F G H (E left at 30, I enters at 35)
    assert direct == [0, 4, 5, 5, 3, 3, 4, 1, 0]
    assert at_risk_at(data, times) == direct


# ---------------------------------------------------------------- log-rank


def numpy_efron_score_test(entry, time, event, group):
    """Cox score test at beta = 0, Efron ties, straight from the risk sets (entry < t <= time).

    At beta = 0 the j-th of d tied events (j = 0..d-1) has denominator n - j and
    mean (S1_R - j/d S1_D) / (n - j); U = sum_D x - sum_j mean_j,
    I = sum_j [(S2_R - j/d S2_D) / (n - j) - mean_j mean_j'].
    """
    levels = sorted(set(group))
    x = np.column_stack([(np.asarray(group) == g).astype(float) for g in levels[1:]])
    k = x.shape[1]
    u, info = np.zeros(k), np.zeros((k, k))
    for t in np.unique(time[event]):
        r = (entry < t) & (t <= time)
        dd = r & (time == t) & event
        n, d = r.sum(), dd.sum()
        s1r, s1d = x[r].sum(0), x[dd].sum(0)
        s2r, s2d = x[r].T @ x[r], x[dd].T @ x[dd]
        u += s1d
        for j in range(d):
            w = j / d
            mean = (s1r - w * s1d) / (n - j)
            u -= mean
            info += (s2r - w * s2d) / (n - j) - np.outer(mean, mean)
    return float(u @ np.linalg.solve(info, u))


def test_logrank_without_truncation_equals_lifelines():
    rng = np.random.default_rng(7)
    days = rng.choice(np.arange(1, 600), size=40, replace=False)  # distinct times: no ties
    event = rng.random(40) < 0.7
    group = np.where(rng.random(40) < 0.5, "A", "B")
    cases = cases_from_days([(0, t, ev) for t, ev in zip(days, event)], municipality=group)
    ours = logrank_test(cases, E, "municipality")
    a, b = group == "A", group == "B"
    theirs = lifelines_logrank(days[a], days[b], event[a], event[b])
    assert ours["statistic"] == pytest.approx(theirs.test_statistic, rel=1e-9)
    assert ours["p_value"] == pytest.approx(theirs.p_value, rel=1e-7)
    assert ours["df"] == 1

    group3 = rng.choice(["x", "y", "z"], size=40)
    cases3 = cases_from_days([(0, t, ev) for t, ev in zip(days, event)], g=group3)
    theirs3 = multivariate_logrank_test(days, group3, event)
    ours3 = logrank_test(cases3, E, "g")
    assert ours3["statistic"] == pytest.approx(theirs3.test_statistic, rel=1e-9) and ours3["df"] == 2


def test_logrank_with_truncation_equals_risk_set_loop():
    rng = np.random.default_rng(11)
    n = 60
    days = rng.choice(np.arange(30, 900), size=n, replace=False)
    event = rng.random(n) < 0.6
    entry = (rng.random(n) * 0.8 * days).astype(int)
    # ten cases enter exactly at another case's event time (not at risk for that event)
    for i in range(10):
        earlier = days[event & (days < days[i])]
        if earlier.size:
            entry[i] = earlier.max()
    assert np.isin(entry, days[event]).sum() >= 5
    group = rng.choice(["r1", "r2", "r3"], size=n)
    cases = cases_from_days(list(zip(entry, days, event)), round=group)
    ours = logrank_test(cases, E, "round")

    # Direct numpy log-rank (observed minus expected, hypergeometric variance; no tied
    # event times, so it equals the Efron score test) over the risk sets entry < t <= time
    en, ti = entry / 7, days / 7
    x = np.column_stack([(group == g).astype(float) for g in ["r2", "r3"]])
    u, v = np.zeros(2), np.zeros((2, 2))
    for t in ti[event]:
        r = (en < t) & (t <= ti)
        p = x[r].sum(0) / r.sum()
        u += x[(ti == t) & event][0] - p
        v += np.diag(p) - np.outer(p, p)
    direct = float(u @ np.linalg.solve(v, u))
    assert ours["statistic"] == pytest.approx(direct, rel=1e-9)
    assert ours["statistic"] == pytest.approx(numpy_efron_score_test(en, ti, event, group), rel=1e-9)
    assert ours["df"] == 2

    # lifelines' log-rank ignores entry and gives another answer
    naive = multivariate_logrank_test(ti, group, event).test_statistic
    assert abs(naive - ours["statistic"]) > 0.05 * ours["statistic"]


def test_logrank_with_ties_matches_numpy_efron():
    rng = np.random.default_rng(3)
    n = 80
    days = rng.integers(5, 40, size=n) * 7  # whole weeks: many tied event times
    event = rng.random(n) < 0.6
    entry = rng.integers(0, 15, size=n) * 7  # entries on whole weeks too: some equal event times
    group = rng.choice(["K", "M"], size=n)
    keep = days > entry
    days, event, entry, group = days[keep], event[keep], entry[keep], group[keep]
    assert np.isin(entry, days[event]).sum() >= 5
    cases = cases_from_days(list(zip(entry, days, event)), sex=group)
    ours = logrank_test(cases, E, "sex")
    expected = numpy_efron_score_test(entry / 7, days / 7, event, group)
    assert ours["statistic"] == pytest.approx(expected, rel=1e-9)


def test_logrank_needs_two_groups():
    cases = cases_from_days(weeks(EXAMPLE), round=[1] * len(EXAMPLE))
    result = logrank_test(cases, E, "round")
    assert result["statistic"] is None and result["p_value"] is None and result["reason"]


# ---------------------------------------------------------------- Cox model


def test_cox_model_matches_lifelines_with_entry():
    """Second method: lifelines' CoxPHFitter with entry_col (Efron ties, rule entry < t)."""
    rng = np.random.default_rng(5)
    n = 300
    rnd = rng.choice([1, 2], size=n)
    sex = rng.choice(["K", "M"], size=n)
    age = rng.choice(["18-29", "30-39", "40-49"], size=n)
    rate = 0.02 * np.where(rnd == 2, 1.5, 1.0) * np.where(sex == "M", 0.8, 1.0)
    days = np.maximum(1, (rng.exponential(1 / rate) * 7).astype(int))
    entry = (rng.random(n) * 60).astype(int)
    keep = days > entry
    cens = np.minimum(days, entry + 7 + (rng.random(n) * 400).astype(int))
    event = days <= cens
    rows = list(zip(entry[keep], cens[keep], event[keep]))
    cases = cases_from_days(rows, round=rnd[keep], sex=sex[keep], age_band=age[keep])
    table = cox_model(cases, E, ["round", "sex", "age_band", "caseload_not_there"]).set_index("term")
    assert list(table.index) == ["round=2", "sex=M", "age_band=30-39", "age_band=40-49"]
    assert table.loc["round=2", "reference"] == "round=1"

    df = pd.DataFrame(
        {
            "T": cens[keep] / 7, "E": event[keep].astype(int), "entry": entry[keep] / 7,
            "round=2": (rnd[keep] == 2).astype(float), "sex=M": (sex[keep] == "M").astype(float),
            "age_band=30-39": (age[keep] == "30-39").astype(float),
            "age_band=40-49": (age[keep] == "40-49").astype(float),
        }
    )
    cph = CoxPHFitter().fit(df, "T", "E", entry_col="entry")
    s = cph.summary
    np.testing.assert_allclose(table["hazard_ratio"], s["exp(coef)"], rtol=1e-5)
    np.testing.assert_allclose(table["ci_low"], s["exp(coef) lower 95%"], rtol=1e-5)
    np.testing.assert_allclose(table["ci_high"], s["exp(coef) upper 95%"], rtol=1e-5)
    np.testing.assert_allclose(table["p_value"], s["p"], rtol=1e-4, atol=1e-12)
    assert table.attrs["n"] == keep.sum()


# ---------------------------------------------------------------- simulation


def test_simulated_exponential_with_left_truncation():
    """S(39) near exp(-lambda 39) for exponential times observed only if still on benefit at entry."""
    rng = np.random.default_rng(2024)
    lam = 0.02  # per week: true S(39) = exp(-0.78) = 0.4584
    n = 6000
    t = rng.exponential(1 / lam, size=n) * 7  # days
    entry = rng.uniform(0, 40 * 7, size=n)
    seen = t > entry  # left truncation: only those still on benefit at project entry
    cens = entry + rng.uniform(10 * 7, 120 * 7, size=n)
    days_t = np.ceil(np.minimum(t, cens)[seen]).astype(int)
    days_e = np.floor(entry[seen]).astype(int)
    rows = list(zip(days_e, days_t, (t <= cens)[seen]))
    summary = time_to_flexjob(cases_from_days(rows), E)
    truth = np.exp(-lam * 39)
    # SE on the log(-log) scale from the CI: half width / z
    se = (np.log(-np.log(summary.s39_ci_low)) - np.log(-np.log(summary.s39_ci_high))) / (2 * Z)
    z_obs = (np.log(-np.log(summary.s39)) - np.log(-np.log(truth))) / se
    assert abs(z_obs) < 3
    assert summary.s39_ci_low < truth < summary.s39_ci_high
    # the naive estimate (entry ignored) is biased upwards: survivors are over-represented
    naive = time_to_flexjob(cases_from_days([(0, b, ev) for _, b, ev in rows]), E)
    assert naive.s39 > summary.s39_ci_high
