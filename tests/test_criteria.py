"""Wilson intervals, success criterion 1 and targets (SPEC section 3)."""

import math

import pandas as pd
import pytest
from conftest import typed
from statsmodels.stats.proportion import proportion_confint

from evalkit.data.schema import CASE_COLUMNS
from evalkit.errors import InputError
from evalkit.stats.criteria import Z, load_targets, sc1, target_for, target_met, wilson_interval

E = pd.Timestamp("2021-12-31")


def typed_cases(rows: list[dict]) -> pd.DataFrame:
    base = {"municipality": "A", "round": 1, "caseworker_id": "w1", "target_group": "ledighedsydelse",
            "project_entry": "2021-01-01", "benefit_start": "2020-12-01"}
    return typed([{**base, **r} for r in rows], CASE_COLUMNS)


def textbook_wilson(k, n, z=Z):
    """Wilson (1927) as usually written: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    centre = p + z**2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n)


def test_z_is_the_two_sided_95_quantile():
    from scipy.stats import norm

    assert Z == pytest.approx(norm.ppf(0.975), abs=1e-15)


@pytest.mark.parametrize("k, n", [(0, 10), (10, 10), (3, 10), (81, 263), (1, 1), (0, 1), (50, 100)])
def test_wilson_against_closed_form_and_statsmodels(k, n):
    low, high = wilson_interval(k, n)
    exp_low, exp_high = textbook_wilson(k, n)
    assert low == pytest.approx(max(exp_low, 0.0), abs=1e-12)
    assert high == pytest.approx(min(exp_high, 1.0), abs=1e-12)
    sm_low, sm_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (low, high) == pytest.approx((sm_low, sm_high), abs=1e-9)


def test_wilson_edges_by_hand():
    z2 = Z**2  # 3.841458820694124
    # k = 0: low is exactly 0 and high = z² / (n + z²); for n = 10: 3.8415 / 13.8415 = 0.27753
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(z2 / (10 + z2), abs=1e-12)
    assert high == pytest.approx(0.2775328, abs=1e-6)
    # k = n: high is exactly 1 and low = n / (n + z²); for n = 10: 10 / 13.8415 = 0.72247
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(10 / (10 + z2), abs=1e-12)
    assert wilson_interval(0, 0) == (None, None)


def test_sc1_counts_only_valid_flexjobs_of_ledighedsydelse_cases():
    cases = typed_cases([
        {"case_id": "valid", "flexjob_start": "2021-04-01"},
        {"case_id": "on_exit_day", "flexjob_start": "2021-06-01", "exit_date": "2021-06-01"},  # valid
        {"case_id": "after_exit", "flexjob_start": "2021-06-02", "exit_date": "2021-06-01"},  # not valid
        {"case_id": "after_e", "flexjob_start": "2022-01-03"},  # not valid
        {"case_id": "none"},
        {"case_id": "rehab", "target_group": "rehab", "flexjob_start": "2021-04-01", "benefit_start": None},
        {"case_id": "flex", "target_group": "fleksjob", "flexjob_start": "2020-04-01", "benefit_start": None},
    ])
    result = sc1(cases, E)
    # 5 ledighedsydelse cases, 2 with a valid flexjob
    assert result["n"] == 5 and result["k"] == 2
    assert result["value"] == pytest.approx(0.4)
    exp_low, exp_high = textbook_wilson(2, 5)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((exp_low, exp_high))


def test_sc1_empty_group():
    cases = typed_cases([{"case_id": "r", "target_group": "rehab"}])
    assert sc1(cases, E) == {"n": 0, "k": 0, "value": None, "ci_low": None, "ci_high": None}


def test_shipped_targets():
    t = load_targets()
    assert t["default"] == {"sc1": 0.35, "sc2": 0.65, "sc3": 0.25}
    assert target_for(t, "sc1") == 0.35 and target_for(t, "sc2", round_=2, municipality="Tønder") == 0.65


def test_user_targets_override_most_specific_wins(tmp_path):
    f = tmp_path / "targets.yml"
    f.write_text(
        "default: {sc3: 0.2}\n"
        "rounds:\n  2: {sc1: 0.4, sc3: 0.3}\n"
        "municipalities:\n  Tønder: {sc1: 0.5}\n",
        encoding="utf-8",
    )
    t = load_targets(f)
    assert target_for(t, "sc1") == 0.35  # shipped default kept
    assert target_for(t, "sc3") == 0.2  # user default
    assert target_for(t, "sc1", round_=2) == 0.4  # round
    assert target_for(t, "sc3", round_=2, municipality="Tønder") == 0.3  # municipality has no sc3 -> round
    assert target_for(t, "sc1", round_=2, municipality="Tønder") == 0.5  # municipality beats round
    assert target_for(t, "sc1", round_=1, municipality="Viborg") == 0.35
    assert target_for(t, "sc2", round_=2) == 0.65


@pytest.mark.parametrize("text", [
    "default: {sc9: 0.3}\n", "default: {sc1: 1.5}\n", "rounds:\n  two: {sc1: 0.3}\n",
    "colours: {}\n", "default: [1, 2]\n", "default: {sc1: [\n",
])
def test_bad_targets_file_is_an_input_error(tmp_path, text):
    f = tmp_path / "bad.yml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_targets(f)
    assert str(f) in str(err.value)


def test_target_met_directions():
    assert target_met("sc1", 0.35, 0.35) is True
    assert target_met("sc1", 0.34, 0.35) is False
    assert target_met("sc2", 0.60, 0.65) is True  # lower S(39) is better
    assert target_met("sc2", 0.70, 0.65) is False
    assert target_met("sc3", 0.25, 0.25) is True
    assert target_met("sc1", None, 0.35) is None
    assert target_met("sc1", 0.5, None) is None
