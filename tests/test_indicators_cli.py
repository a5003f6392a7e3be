"""`evalkit indicators` and the indicator JSON of SPEC section 6."""

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import typed

from evalkit.cli import main
from evalkit.data.dataset import Dataset, load_dataset
from evalkit.data.schema import CASE_COLUMNS, CONTACT_COLUMNS, GOAL_COLUMNS, HOURS_COLUMNS
from evalkit.report.text import format_indicators
from evalkit.stats.indicators import compute_all, compute_indicators

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
E = pd.Timestamp("2021-12-31")
D = pd.Timedelta(days=1)

SPEC_KEYS = {
    "n_cases": None,
    "status_counts": {"før_rehab", "ledighedsydelse", "fleksjob_0_10", "fleksjob_over_10", "udgået"},
    "survival": {"n", "events", "s39", "s39_ci_low", "s39_ci_high", "at_risk_39", "median_weeks"},
    "sc1": {"n", "value", "ci_low", "ci_high", "target", "met"},
    "sc3": {"n", "value", "ci_low", "ci_high", "mean_change", "median_change", "target", "met"},
    "caseload_regression": {"flexjob_39w", "hours_change"},
    "follow_up": {"n", "share_2", "share_4"},
}
REGRESSION_KEYS = {"slope", "ci_low", "ci_high", "p_value", "n"}


def assert_spec_shape(result: dict):
    for key, inner in SPEC_KEYS.items():
        assert key in result, key
        if inner is not None:
            assert inner <= set(result[key]), (key, inner - set(result[key]))
    for outcome in ("flexjob_39w", "hours_change"):
        assert REGRESSION_KEYS <= set(result["caseload_regression"][outcome])
    assert sum(result["status_counts"].values()) == result["n_cases"]
    json.dumps(result, allow_nan=False)  # plain JSON, no NaN or infinity


def sample_cases_csv():
    with open(SAMPLE / "cases.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_cli_indicators_json_on_the_sample():
    result = CliRunner().invoke(main, ["indicators", str(SAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert_spec_shape(out)
    rows = sample_cases_csv()
    # independent counts straight from the CSV file
    assert out["n_cases"] == len(rows)
    assert out["sc1"]["n"] == sum(r["target_group"] == "ledighedsydelse" for r in rows)
    assert len({r["round"] for r in rows}) == 2
    assert {"statistic", "p_value"} <= set(out["logrank_rounds"])  # two rounds present
    assert out["logrank_rounds"]["p_value"] is not None
    assert out["sc2"]["value"] == out["survival"]["s39"]


def test_cli_indicators_municipality_json_on_the_sample():
    result = CliRunner().invoke(main, ["indicators", str(SAMPLE), "--municipality", "Tønder", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert_spec_shape(out)
    rows = [r for r in sample_cases_csv() if r["municipality"] == "Tønder"]
    assert out["n_cases"] == len(rows)
    assert out["selection"] == {"municipality": "Tønder", "round": None}
    assert "logrank_rounds" not in out  # Tønder ran in round 1 only
    for outcome in ("flexjob_39w", "hours_change"):  # estimated, or None with the reason
        r = out["caseload_regression"][outcome]
        assert r["slope"] is not None or r["reason"]


def test_cli_unknown_municipality_exits_2():
    result = CliRunner().invoke(main, ["indicators", str(SAMPLE), "--municipality", "Atlantis"])
    assert result.exit_code == 2
    assert "Atlantis" in result.output


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


def test_deterministic_and_compute_all_agrees_with_single_selections(sample, tmp_path):
    one = json.dumps(compute_indicators(sample, municipality="Odense"), sort_keys=True)
    assert one == json.dumps(compute_indicators(sample, municipality="Odense"), sort_keys=True)
    everything = compute_all(sample)
    assert len(everything["municipalities"]) == len({r["municipality"] for r in sample_cases_csv()})
    assert json.dumps(everything["municipalities"]["Odense"], sort_keys=True) == one
    assert json.dumps(everything["rounds"][2], sort_keys=True) == json.dumps(
        compute_indicators(sample, round_=2), sort_keys=True)
    # the municipalities' status counts add up to the project's
    for cat, n in everything["project"]["status_counts"].items():
        assert sum(m["status_counts"][cat] for m in everything["municipalities"].values()) == n


def test_text_output_is_readable(sample):
    text = format_indicators(compute_indicators(sample, municipality="Tønder"))
    for words in ("Tønder", "Statuskategori", "Succeskriterier", "S(39)", "Opfølgning", "Step Up"):
        assert words in text


# --- a hand-made dataset ----------------------------------------------------------




def hand_dataset() -> Dataset:
    p = pd.Timestamp("2020-01-01")
    base = {"municipality": "Tønder", "round": 1, "caseworker_id": "w1", "target_group": "ledighedsydelse",
            "project_entry": p, "benefit_start": p - 10 * D}
    cases = typed([{**base, **r} for r in [
        {"case_id": "a", "flexjob_start": p + 100 * D},  # fleksjob_0_10 (no hours), valid flexjob
        {"case_id": "b"},  # ledighedsydelse, 26+ weeks, step_up contact
        {"case_id": "c", "exit_date": p + 50 * D},  # udgået
        {"case_id": "d", "target_group": "rehab", "benefit_start": None},  # før_rehab
        {"case_id": "e", "municipality": "Viborg", "round": 2, "flexjob_start": p + 30 * D},  # over 10
        {"case_id": "f", "municipality": "Viborg", "round": 2},  # ledighedsydelse, no step_up
    ]], CASE_COLUMNS)
    hours = typed([{"case_id": "e", "month": "2021-06-01", "effective_hours": 12.0}], HOURS_COLUMNS)
    contacts = typed([
        {"case_id": "b", "date": p + 200 * D, "channel": "telefon", "kind": "step_up"},
        {"case_id": "a", "date": p + 110 * D, "channel": "virksomhedsbesøg", "kind": "opfølgning"},
        {"case_id": "a", "date": p + 150 * D, "channel": "virksomhedsbesøg", "kind": "opfølgning"},
    ], CONTACT_COLUMNS)
    rounds = {1: (pd.Timestamp("2019-06-01"), pd.Timestamp("2020-12-31")),
              2: (pd.Timestamp("2020-01-01"), pd.Timestamp("2021-12-31"))}
    return Dataset(name="hand", extraction_date=E, cases=cases, hours=hours, contacts=contacts,
                   goals=typed([], GOAL_COLUMNS), rounds=rounds)


def test_hand_dataset_figures(tmp_path):
    ds = hand_dataset()
    out = compute_indicators(ds)
    assert_spec_shape(out)
    assert out["n_cases"] == 6
    assert out["status_counts"] == {"før_rehab": 1, "ledighedsydelse": 2, "fleksjob_0_10": 1,
                                    "fleksjob_over_10": 1, "udgået": 1}
    # sc1: ledighedsydelse cases a, b, c, e, f; valid flexjobs a, e -> 2 / 5
    assert (out["sc1"]["n"], out["sc1"]["k"], out["sc1"]["value"]) == (5, 2, 0.4)
    assert out["sc1"]["target"] == 0.35 and out["sc1"]["met"] is True
    # follow-up: flexjobs a and e started before E - 182; a has 2 opfølgning in its window, e none
    assert out["follow_up"] == {"n": 2, "n_2": 1, "n_4": 0, "share_2": 0.5, "share_4": 0.0}
    # step up: b and f on ledighedsydelse for 26+ weeks, b had step_up
    assert out["step_up"] == {"n": 2, "n_with_step_up": 1, "share": 0.5}
    # six cases: the regressions cannot be estimated and say why
    for r in out["caseload_regression"].values():
        assert r["slope"] is None and r["reason"]
    assert "logrank_rounds" in out  # rounds 1 and 2
    assert out["sc3"]["n"] == 0 and out["sc3"]["value"] is None and out["sc3"]["met"] is None

    # a user's targets: Tønder's own sc1 target beats round 1's
    targets = tmp_path / "targets.yml"
    targets.write_text("rounds:\n  1: {sc1: 0.2}\nmunicipalities:\n  Tønder: {sc1: 0.9}\n", encoding="utf-8")
    t = compute_indicators(ds, municipality="Tønder", targets_file=targets)
    # Tønder: a, b, c ledighedsydelse; a valid -> 1 / 3, target 0.9 -> not met
    assert (t["sc1"]["n"], t["sc1"]["k"], t["sc1"]["target"], t["sc1"]["met"]) == (3, 1, 0.9, False)
    assert "logrank_rounds" not in t
    r1 = compute_indicators(ds, round_=1, targets_file=targets)
    assert (r1["sc1"]["target"], r1["sc1"]["met"]) == (0.2, True)
    assert json.dumps(compute_all(ds, targets_file=targets)["municipalities"]["Tønder"], sort_keys=True) == \
        json.dumps(t, sort_keys=True)


def test_targets_for_a_municipality_or_round_without_cases_are_named(small_dataset, tmp_path):
    """A misspelt municipality in a --targets file would leave it on the default targets without a word:
    every command that takes --targets names the unused entries on stderr (and suggests the name)."""
    targets = tmp_path / "targets.yml"
    targets.write_text("rounds:\n  2: {sc1: 0.5}\n  7: {sc1: 0.5}\n"
                       "municipalities:\n  Toender: {sc1: 0.9}\n  Albertslunds: {sc1: 0.1}\n", encoding="utf-8")
    runner = CliRunner()
    for command in (["indicators", "--json"], ["series", "--json"]):
        result = runner.invoke(main, [command[0], str(small_dataset), *command[1:], "--targets", str(targets)])
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.stderr.splitlines() if line.startswith("evalkit: warning:")]
        assert len(warnings) == 1, result.stderr
        # Toender is Tønder and round 2 has cases: used, not named
        assert "municipalities.Albertslunds (did you mean Albertslund?)" in warnings[0]
        assert "rounds.7" in warnings[0] and "Toender" not in warnings[0] and "rounds.2" not in warnings[0]
    result = json.loads(runner.invoke(main, ["indicators", str(small_dataset), "--json", "--municipality", "Tønder",
                                             "--targets", str(targets)]).stdout)
    assert result["sc1"]["target"] == 0.9  # the used entry applies
    targets.write_text("municipalities:\n  TØNDER: {sc1: 0.9}\n", encoding="utf-8")
    result = runner.invoke(main, ["indicators", str(small_dataset), "--targets", str(targets)])
    assert result.exit_code == 0 and "warning" not in result.stderr
