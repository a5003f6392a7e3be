"""Caseloads and caseload regressions (SPEC section 3, "Caseload")."""

import numpy as np
import pandas as pd
import pytest
from conftest import typed
from scipy import stats

from evalkit.data.schema import CASE_COLUMNS, HOURS_COLUMNS
from evalkit.stats.caseload import (
    case_caseloads,
    caseload_regressions,
    caseworker_caseloads,
    fit_caseload_model,
    regression_frame,
)

D = pd.Timedelta(days=1)




def cases_frame(rows):
    base = {"municipality": "A", "round": 1, "caseworker_id": "w1", "target_group": "ledighedsydelse"}
    return typed([{**base, **r} for r in rows], CASE_COLUMNS)


# Caseworker w1, round 1 = 2020-01-01..2020-04-30 (month starts Jan 1, Feb 1, Mar 1, Apr 1):
#   a: entry 2019-12-10, open             -> counts Jan, Feb, Mar, Apr
#   b: entry 2020-01-01, exit 2020-02-01  -> Jan only (exit <= Feb 1 ends it; entry on the day counts)
#   c: entry 2020-02-15, exit 2020-04-01  -> Mar only
#   d: entry 2020-03-01, open             -> Mar, Apr
#   caseload Jan 2, Feb 1, Mar 3, Apr 2 -> mean 8 / 4 = 2.0
# Caseworker w2 (municipality B): e: entry 2020-04-01 -> 0, 0, 0, 1 -> mean 0.25
# Round 2 = 2020-05-01..2020-06-30 (May 1, Jun 1), w1's case f: entry 2020-05-10:
#   May: a, d = 2; Jun: a, d, f = 3 -> mean 2.5 (c and b have left)
TIMELINE = [
    {"case_id": "a", "project_entry": "2019-12-10"},
    {"case_id": "b", "project_entry": "2020-01-01", "exit_date": "2020-02-01"},
    {"case_id": "c", "project_entry": "2020-02-15", "exit_date": "2020-04-01"},
    {"case_id": "d", "project_entry": "2020-03-01"},
    {"case_id": "e", "project_entry": "2020-04-01", "caseworker_id": "w2", "municipality": "B"},
    {"case_id": "f", "project_entry": "2020-05-10", "round": 2},
]
ROUNDS = {1: (pd.Timestamp("2020-01-01"), pd.Timestamp("2020-04-30")),
          2: (pd.Timestamp("2020-05-01"), pd.Timestamp("2020-06-30"))}


def test_case_caseloads_hand_timeline():
    cases = cases_frame(TIMELINE)
    got = case_caseloads(cases, pd.Timestamp("2020-12-31"), ROUNDS)
    assert got.to_dict() == {"a": 2.0, "b": 2.0, "c": 2.0, "d": 2.0, "e": 0.25, "f": 2.5}


def test_round_span_is_capped_at_extraction_date():
    # E = 2020-03-15: round 1 months Jan, Feb, Mar only -> w1: (2 + 1 + 3) / 3 = 2.0; w2: 0
    cases = cases_frame(TIMELINE[:5])
    got = case_caseloads(cases, pd.Timestamp("2020-03-15"), ROUNDS)
    assert got.to_dict() == {"a": 2.0, "b": 2.0, "c": 2.0, "d": 2.0, "e": 0.0}


def brute_force_caseloads(cases, E):
    """Direct loop: every month start from the first project_entry to E, count open cases."""
    first = cases["project_entry"].min()
    days = [d for d in pd.date_range(first, E, freq="D") if d.day == 1]
    out = {}
    for _, case in cases.iterrows():
        mine = cases[cases["caseworker_id"] == case["caseworker_id"]]
        loads = []
        for d in days:
            n = 0
            for _, other in mine.iterrows():
                if other["project_entry"] <= d and not (pd.notna(other["exit_date"]) and other["exit_date"] <= d):
                    n += 1
            loads.append(n)
        out[case["case_id"]] = sum(loads) / len(loads)
    return out


def test_case_caseloads_without_rounds_match_a_direct_loop():
    rng = np.random.default_rng(7)
    rows = []
    for i in range(40):
        entry = pd.Timestamp("2020-01-01") + int(rng.integers(0, 500)) * D
        exit_ = entry + int(rng.integers(0, 400)) * D if rng.random() < 0.5 else None
        rows.append({"case_id": f"c{i}", "caseworker_id": f"w{i % 4}", "project_entry": entry, "exit_date": exit_})
    cases = cases_frame(rows)
    E = pd.Timestamp("2021-06-30")
    got = case_caseloads(cases, E, None)
    expected = brute_force_caseloads(cases, E)
    assert got.to_dict() == pytest.approx(expected)


def test_caseworker_caseloads_table():
    cases = cases_frame([
        *TIMELINE[:4],
        {**TIMELINE[4]},
        {"case_id": "g", "project_entry": "2020-01-01", "flexjob_start": "2020-03-01"},
        {"case_id": "h", "project_entry": "2020-01-01", "target_group": "rehab"},
    ])
    # w1 round 1 now has a, b, c, d, g, h: Jan a b g h = 4, Feb a g h = 3, Mar a c d g h = 5, Apr a d g h = 4 -> 4.0
    table = caseworker_caseloads(cases, pd.Timestamp("2020-12-31"), ROUNDS).set_index("caseworker_id")
    w1 = table.loc["w1"]
    assert (w1["municipality"], w1["round"], w1["caseload"], w1["n_cases"]) == ("A", 1, 4.0, 6)
    # 5 ledighedsydelse cases (a, b, c, d, g), 1 with a valid flexjob (g)
    assert (w1["n_ledighedsydelse"], w1["n_flexjob"], w1["share_flexjob"]) == (5, 1, 0.2)
    assert table.loc["w2", "caseload"] == 0.25


def test_regression_frame_flexjob_39w_inclusion_rules():
    E = pd.Timestamp("2021-12-31")
    p = pd.Timestamp("2020-01-01")
    cases = cases_frame([
        {"case_id": "day273", "project_entry": p, "flexjob_start": p + 273 * D},  # y 1
        {"case_id": "day274", "project_entry": p, "flexjob_start": p + 274 * D},  # y 0, followed: in
        {"case_id": "short", "project_entry": E - 100 * D},  # not followed 273 days: out
        {"case_id": "short_job", "project_entry": E - 100 * D, "flexjob_start": E - 50 * D},  # y 1: in
        {"case_id": "exit200", "project_entry": p, "exit_date": p + 200 * D},  # out
        {"case_id": "exit273", "project_entry": p, "exit_date": p + 273 * D},  # followed exactly 273: in, y 0
        {"case_id": "job_after_exit", "project_entry": p, "exit_date": p + 50 * D,
         "flexjob_start": p + 100 * D},  # not valid, followed 50: out
        {"case_id": "flex", "target_group": "fleksjob", "project_entry": p, "flexjob_start": p},  # out
        {"case_id": "rehab", "target_group": "rehab", "project_entry": p, "flexjob_start": p + 10 * D},  # y 1
    ])
    caseloads = pd.Series(np.arange(9.0), index=cases["case_id"])
    frame = regression_frame(cases, typed([], HOURS_COLUMNS), E, caseloads, "flexjob_39w")
    assert dict(zip(frame["case_id"], frame["y"])) == {
        "day273": 1, "day274": 0, "short_job": 1, "exit273": 0, "rehab": 1}
    assert dict(zip(frame["case_id"], frame["caseload"])) == {
        "day273": 0.0, "day274": 1.0, "short_job": 3.0, "exit273": 5.0, "rehab": 8.0}


def test_single_municipality_uses_caseloads_of_all_cases():
    # w1 works in A and B; the caseload of its B case counts the A cases too.
    cases = cases_frame(TIMELINE[:4] + [{"case_id": "x", "project_entry": "2020-01-01", "municipality": "B",
                                         "flexjob_start": "2020-02-01"}])
    E = pd.Timestamp("2021-12-31")
    full = case_caseloads(cases, E, ROUNDS)
    # Jan a b x = 3, Feb a x = 2, Mar a c d x = 4, Apr a d x = 3 -> 3.0; alone x would be 1.0
    assert full["x"] == 3.0
    b_cases = cases[cases["municipality"] == "B"]
    frame = regression_frame(b_cases, typed([], HOURS_COLUMNS), E, full, "flexjob_39w")
    assert frame["caseload"].tolist() == [3.0]
    assert case_caseloads(b_cases, E, ROUNDS)["x"] == 1.0


# --- model fits -----------------------------------------------------------------


def simulated_frame(rng, kind, slope, n_workers=40, per_worker=25):
    """Caseworkers with caseloads 20-60 and a random caseworker effect; y depends on the caseload."""
    worker = np.repeat(np.arange(n_workers), per_worker)
    caseload = rng.uniform(20, 60, n_workers)[worker]
    u = rng.normal(0, 0.3, n_workers)[worker]
    sex = rng.choice(["K", "M"], worker.size)
    age = rng.choice(["18-29", "30-39", "40-49", "50-59"], worker.size)
    male = (sex == "M").astype(float)
    if kind == "logit":
        eta = -0.5 + slope * (caseload - 40) + 0.3 * male + u
        y = (rng.random(worker.size) < 1 / (1 + np.exp(-eta))).astype(int)
    else:
        y = 2 + slope * caseload + 0.2 * male + u + rng.normal(0, 1, worker.size)
    return pd.DataFrame({"case_id": [f"c{i}" for i in range(worker.size)],
                         "caseworker_id": [f"w{w:02d}" for w in worker],
                         "caseload": caseload, "y": y, "sex": sex, "age_band": age, "round": 1})


def design(frame):
    """const, caseload, sex M, age dummies (reference 18-29); round does not vary."""
    cols = [np.ones(len(frame)), frame["caseload"].values, (frame["sex"] == "M").values]
    cols += [(frame["age_band"] == a).values for a in ("30-39", "40-49", "50-59")]
    return np.column_stack(cols).astype(float)


def cluster_sandwich(X, scores, bread, groups):
    """CRV1: bread (sum_g s_g s_g') bread x G/(G-1) x (N-1)/(N-K)."""
    n, k = X.shape
    labels = np.unique(groups)
    meat = np.zeros((k, k))
    for g in labels:
        s = scores[groups == g].sum(axis=0)
        meat += np.outer(s, s)
    g = len(labels)
    return bread @ meat @ bread * g / (g - 1) * (n - 1) / (n - k)


def test_ols_cluster_standard_errors_match_the_sandwich_by_hand():
    frame = simulated_frame(np.random.default_rng(1), "ols", -0.05)
    X, y, groups = design(frame), frame["y"].values, frame["caseworker_id"].values
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    V = cluster_sandwich(X, X * (y - X @ beta)[:, None], np.linalg.inv(X.T @ X), groups)
    se = np.sqrt(V[1, 1])
    t = stats.t.ppf(0.975, 40 - 1)  # t with (clusters - 1) df
    got = fit_caseload_model(frame, "ols")
    assert got["slope"] == pytest.approx(beta[1], rel=1e-9)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((beta[1] - t * se, beta[1] + t * se), rel=1e-9)
    assert got["p_value"] == pytest.approx(2 * stats.t.sf(abs(beta[1] / se), 39), rel=1e-6)
    assert (got["n"], got["n_caseworkers"]) == (1000, 40)


def test_logit_cluster_standard_errors_match_newton_and_sandwich_by_hand():
    frame = simulated_frame(np.random.default_rng(2), "logit", -0.03)
    X, y, groups = design(frame), frame["y"].values, frame["caseworker_id"].values
    beta = np.zeros(X.shape[1])
    for _ in range(50):  # Newton-Raphson on the log-likelihood
        p = 1 / (1 + np.exp(-X @ beta))
        hessian = X.T @ (X * (p * (1 - p))[:, None])
        beta += np.linalg.solve(hessian, X.T @ (y - p))
    p = 1 / (1 + np.exp(-X @ beta))
    V = cluster_sandwich(X, X * (y - p)[:, None], np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None])), groups)
    se = np.sqrt(V[1, 1])
    z = stats.norm.ppf(0.975)
    got = fit_caseload_model(frame, "logit")
    assert got["slope"] == pytest.approx(beta[1], rel=1e-6)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((beta[1] - z * se, beta[1] + z * se), rel=1e-6)
    assert got["p_value"] == pytest.approx(2 * stats.norm.sf(abs(beta[1] / se)), rel=1e-5)


@pytest.mark.parametrize("kind, slope", [("logit", -0.03), ("ols", -0.05)])
def test_regressions_recover_a_planted_effect(kind, slope):
    rng = np.random.default_rng(20240601)
    results = [fit_caseload_model(simulated_frame(rng, kind, slope), kind) for _ in range(20)]
    right_sign = sum(r["slope"] < 0 for r in results)
    covered = sum(r["ci_low"] <= slope <= r["ci_high"] for r in results)
    assert right_sign == 20
    assert covered >= 16  # 95 % intervals: about 19 of 20 expected


def test_not_estimable_gives_none_and_a_reason():
    rng = np.random.default_rng(3)
    frame = simulated_frame(rng, "logit", -0.03)
    few = fit_caseload_model(frame.head(10), "ols")
    assert few["slope"] is None and few["p_value"] is None and "few" in few["reason"] and few["n"] == 10
    one_worker = fit_caseload_model(frame[frame["caseworker_id"].isin(["w00", "w01"])], "ols")
    assert one_worker["slope"] is None and "caseworkers" in one_worker["reason"]
    flat = fit_caseload_model(frame.assign(y=0), "logit")
    assert flat["slope"] is None and "vary" in flat["reason"]
    separated = fit_caseload_model(frame.assign(y=(frame["caseload"] < 40).astype(int)), "logit")
    assert separated["slope"] is None and "separation" in separated["reason"]
    constant_load = fit_caseload_model(frame.assign(caseload=30.0), "ols")
    assert constant_load["slope"] is None and "caseload" in constant_load["reason"]


def test_logit_drops_control_levels_that_predict_the_outcome():
    frame = simulated_frame(np.random.default_rng(4), "logit", -0.03)
    frame.loc[frame["age_band"] == "50-59", "y"] = 0  # nobody aged 50-59 gets a flexjob
    got = fit_caseload_model(frame, "logit")
    assert got["slope"] is not None
    assert got["n"] == int((frame["age_band"] != "50-59").sum())


def test_caseload_regressions_end_to_end():
    # 30 caseworkers, 20 ledighedsydelse cases each entering 2020-01-01 + i days; E far enough for 273 days
    rng = np.random.default_rng(5)
    rows = []
    for w in range(30):
        for i in range(20):
            entry = pd.Timestamp("2020-01-01") + int(rng.integers(0, 60)) * D
            job = entry + int(rng.integers(30, 500)) * D if rng.random() < 0.5 else None
            rows.append({"case_id": f"w{w}c{i}", "caseworker_id": f"w{w}", "project_entry": entry,
                         "flexjob_start": job, "exit_date": entry + int(rng.integers(1, 60)) * D if w < 5 else None,
                         "sex": rng.choice(["K", "M"]), "age_band": rng.choice(["18-29", "30-39"])})
    cases = cases_frame(rows)
    E = pd.Timestamp("2021-12-31")
    result = caseload_regressions(cases, typed([], HOURS_COLUMNS), E)
    assert set(result) == {"flexjob_39w", "hours_change"}
    assert result["flexjob_39w"]["slope"] is not None
    # no hours at all: the OLS cannot be estimated, which is reported, not raised
    assert result["hours_change"]["slope"] is None and result["hours_change"]["n"] == 0
