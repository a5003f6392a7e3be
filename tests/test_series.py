"""`evalkit series` (SPEC section 7): monthly stocks and flows, quarterly success criteria.

A six-case dataset whose series are worked out by hand below; on the sample, the
last point equals the snapshot indicators, every month-end's stocks equal the
status counts of the extract of that day, the quarter-ends equal `--as-of`
indicators (a second method), and the monthly entries equal counts taken from
the CSV file.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_dataset

from evalkit.cli import main
from evalkit.data.dataset import load_dataset, subset
from evalkit.stats.asof import as_of, indicators_as_of
from evalkit.stats.indicators import compute_all
from evalkit.stats.series import CSV_COLUMNS, NO_CASES, SC3_EMPTY, compute_series
from evalkit.stats.status import STATUS_CATEGORIES, status_at

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"

SIX_YML = "name: Seks forløb\nextraction_date: 2020-06-15\n"
# A: rehab; enters Jan, ledighedsydelse from 15 Feb, flexjob 3 Apr with 8 hours in April, 12 from May.
# B: ledighedsydelse (benefit before entry); leaves on 31 Mar, a month-end.
# C: fleksjob already at entry (1 Feb): no flexjob flow; 15 hours in January (before entry), 5 from March.
#    Its given status `udgået` describes nothing the series use: status is derived.
# D: rehab; enters 5 Mar, ledighedsydelse from 10 Jun (inside the last, partial month).
# E: ledighedsydelse; enters 31 May (a month-end), flexjob and exit on E (15 Jun): udgået, flexjob valid.
# F: rehab; enters and leaves in April; a flexjob after the exit is no flexjob of this course.
SIX_CASES = """\
case_id,municipality,round,caseworker_id,target_group,project_entry,benefit_start,flexjob_start,exit_date,status
A,Tønder,1,W1,rehab,2020-01-10,2020-02-15,2020-04-03,,
B,Tønder,1,W1,ledighedsydelse,2020-01-20,2019-11-01,,2020-03-31,
C,Tønder,1,W2,fleksjob,2020-02-01,,2019-06-01,,udgået
D,Tønder,1,W2,rehab,2020-03-05,2020-06-10,,,
E,Tønder,1,W1,ledighedsydelse,2020-05-31,2020-05-01,2020-06-15,2020-06-15,
F,Tønder,1,W2,rehab,2020-04-15,,2020-05-04,2020-04-20,
"""
SIX_HOURS = """\
case_id,month,effective_hours,attended_hours
A,2020-04,8,10
A,2020-05,12,14
C,2020-01,15,16
C,2020-03,5,6
"""
# point: (før_rehab, ledighedsydelse, fleksjob_0_10, fleksjob_over_10, udgået), (entered, to_ledighedsydelse,
# flexjob_started, left). The last point is E, 15 June.
SIX_EXPECTED = {
    "2020-01-31": ((1, 1, 0, 0, 0), (2, 0, 0, 0)),  # A before rehab, B on benefit
    "2020-02-29": ((0, 2, 0, 1, 0), (1, 1, 0, 0)),  # A on benefit; C in a flexjob, latest hours 15
    "2020-03-31": ((1, 1, 1, 0, 1), (1, 0, 0, 1)),  # D enters; B leaves on the day; C's March row: 5 hours
    "2020-04-30": ((1, 0, 2, 0, 2), (1, 0, 1, 1)),  # A's flexjob (8 hours); F enters and leaves
    "2020-05-31": ((1, 1, 1, 1, 2), (1, 0, 0, 0)),  # A 12 hours; E enters on the month-end; F's flexjob no flow
    "2020-06-15": ((0, 1, 1, 1, 3), (0, 1, 1, 1)),  # D on benefit; E's flexjob and exit
}


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def sample_series(sample):
    return compute_series(sample)


def close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_block_equal(got: dict, expected: dict, where):
    """Every key of the indicators block has the same value in the series block (the
    series' survival block leaves out the median)."""
    for key, value in expected.items():
        if key != "median_weeks":
            assert close(got[key], value), (where, key, got[key], value)


def test_hand_worked_monthly_series(tmp_path):
    folder = write_dataset(tmp_path / "six", {"cases": SIX_CASES, "hours": SIX_HOURS}, yml=SIX_YML)
    result = CliRunner().invoke(main, ["series", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["points"] == list(SIX_EXPECTED)
    assert set(out["scopes"]) == {"project", "round=1", "municipality=Tønder"}
    for label in out["scopes"]:
        monthly = out["scopes"][label]["monthly"]
        for point, (stocks, flows) in zip(monthly, SIX_EXPECTED.values()):
            assert tuple(point["status_counts"][c] for c in STATUS_CATEGORIES) == stocks, (label, point["date"])
            assert tuple(point["flows"].values()) == flows, (label, point["date"])
            assert point["n_cases"] == sum(stocks)
    # quarter-ends: 31 March and E. Criterion 1 among the ledighedsydelse cases entered by then:
    # 31 March only B (no flexjob) -> 0 of 1; at E, B and E, whose flexjob on the exit day counts -> 1 of 2.
    quarterly = out["scopes"]["project"]["quarterly"]
    assert [q["date"] for q in quarterly] == ["2020-03-31", "2020-06-15"]
    assert [(q["sc1"]["k"], q["sc1"]["n"], q["sc1"]["value"]) for q in quarterly] == [(0, 1, 0.0), (1, 2, 0.5)]
    # too thin for criteria 2 and 3: null values with the reason
    for q in quarterly:
        assert q["sc3"]["value"] is None and q["sc3"]["reason"] == SC3_EMPTY
        assert q["sc2"]["value"] is None and q["sc2"]["reason"] and q["sc2"]["ci_low"] is None


def test_thin_dataset_gives_nulls_with_reasons_in_json_and_csv(tmp_path):
    """Kommune Faxe enters only in round 2: before that, no cases and every criterion null with the reason."""
    yml = ("name: Tynd\nextraction_date: 2021-12-31\nrounds:\n  1: {start: 2019-04-01, end: 2020-09-30}\n"
           "  2: {start: 2020-10-01, end: 2021-12-31}\n")
    cases = ("case_id,municipality,round,caseworker_id,target_group,project_entry,benefit_start\n"
             "S1,Stevns,1,W1,ledighedsydelse,2019-04-02,2019-04-02\n"
             "K1,Faxe,2,W2,rehab,2020-10-05,\n")
    folder = write_dataset(tmp_path / "thin", {"cases": cases}, yml=yml)
    out = json.loads(CliRunner().invoke(main, ["series", str(folder), "--json", "--municipality", "faxe"]).output)
    assert list(out["scopes"]) == ["municipality=Faxe"]
    quarterly = out["scopes"]["municipality=Faxe"]["quarterly"]
    before = [q for q in quarterly if q["date"] < "2020-10-05"]
    after = [q for q in quarterly if q["date"] >= "2020-10-05"]
    assert len(before) == 6 and len(after) == 5
    for q in before:
        assert q["n_cases"] == 0
        for key in ("sc1", "sc2", "sc3"):
            assert q[key]["value"] is None and q[key]["reason"] == NO_CASES
    for q in after:  # one rehab case without benefit: no population for any criterion
        assert q["n_cases"] == 1
        assert q["sc1"]["value"] is None and q["sc1"]["reason"] == "no ledighedsydelse case by this date"
        assert q["sc2"]["value"] is None and q["sc2"]["reason"] == "no cases at risk"
    result = CliRunner().invoke(main, ["series", str(folder), "--csv", "--municipality", "Faxe"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert list(rows[0]) == CSV_COLUMNS
    criteria = [r for r in rows if r["measure"] in ("sc1", "sc2", "sc3")]
    assert len(criteria) == 3 * 11 and all(r["value"] == "" and r["reason"] for r in criteria)
    stocks = [r for r in rows if r["measure"] == "n_cases"]
    assert [r["value"] for r in stocks][-3:] == ["1", "1", "1"] and stocks[0]["value"] == "0"


def test_last_point_equals_the_snapshot_indicators(sample, sample_series):
    snapshot = compute_all(sample)
    expected = {"project": snapshot["project"]}
    expected.update({f"round={r}": v for r, v in snapshot["rounds"].items()})
    expected.update({f"municipality={m}": v for m, v in snapshot["municipalities"].items()})
    assert set(sample_series["scopes"]) == set(expected)
    for label, indicators in expected.items():
        scope = sample_series["scopes"][label]
        last_month, last_quarter = scope["monthly"][-1], scope["quarterly"][-1]
        assert last_month["date"] == last_quarter["date"] == "2021-12-31"
        assert last_month["status_counts"] == indicators["status_counts"], label
        assert last_month["n_cases"] == last_quarter["n_cases"] == indicators["n_cases"]
        for key in ("sc1", "sc2", "sc3", "survival"):
            assert_block_equal(last_quarter[key], indicators[key], (label, key))


def test_monthly_stocks_equal_status_of_the_extract_of_each_month_end(sample, sample_series):
    scopes = sample_series["scopes"]
    members = {label: subset(sample, municipality=s["municipality"], round_=s["round"]).cases["case_id"]
               for label, s in scopes.items()}
    for j, point in enumerate(sample_series["points"]):
        dated = as_of(sample, point)
        status = status_at(dated.cases, dated.hours, dated.extraction_date).set_axis(dated.cases["case_id"])
        for label, scope in scopes.items():
            counts = status[status.index.isin(members[label])].value_counts()
            expected = {c: int(counts.get(c, 0)) for c in STATUS_CATEGORIES}
            assert scope["monthly"][j]["status_counts"] == expected, (label, point)


@pytest.mark.parametrize("label", ["project", "round=2", "municipality=Tønder", "municipality=Glostrup"])
def test_quarter_ends_equal_as_of_indicators(sample, sample_series, label):
    scope = sample_series["scopes"][label]
    checked = 0
    for q in scope["quarterly"]:
        if q["n_cases"] == 0:  # before the scope's first case: --as-of refuses the selection
            assert all(q[k]["reason"] == NO_CASES for k in ("sc1", "sc2", "sc3"))
            continue
        indicators = indicators_as_of(sample, q["date"], municipality=scope["municipality"], round_=scope["round"])
        assert q["n_cases"] == indicators["n_cases"]
        for key in ("sc1", "sc2", "sc3", "survival"):
            assert_block_equal(q[key], indicators[key], (label, q["date"], key))
        checked += 1
    assert checked >= 5


def test_monthly_flows_equal_counts_from_the_csv(sample_series):
    with open(SAMPLE / "cases.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    monthly = sample_series["scopes"]["project"]["monthly"]
    entered = Counter(r["project_entry"][:7] for r in rows)
    left = Counter(r["exit_date"][:7] for r in rows if r["exit_date"])
    to_benefit = Counter(r["benefit_start"][:7] for r in rows if r["target_group"] == "rehab" and r["benefit_start"]
                         and r["benefit_start"] >= r["project_entry"]
                         and not (r["exit_date"] and r["benefit_start"] > r["exit_date"]))
    started = Counter(r["flexjob_start"][:7] for r in rows if r["flexjob_start"]
                      and r["flexjob_start"] >= r["project_entry"]
                      and not (r["exit_date"] and r["flexjob_start"] > r["exit_date"]))
    for point in monthly:
        month = point["date"][:7]
        assert point["flows"] == {"entered": entered[month], "to_ledighedsydelse": to_benefit[month],
                                  "flexjob_started": started[month], "left": left[month]}, month
    assert sum(p["flows"]["entered"] for p in monthly) == len(rows)
    assert sum(p["flows"]["to_ledighedsydelse"] for p in monthly) > 0


def test_cli_series_options(small_dataset):
    result = CliRunner().invoke(main, ["series", str(small_dataset), "--json", "--csv"])
    assert result.exit_code == 2 and result.stdout == ""
    result = CliRunner().invoke(main, ["series", str(small_dataset), "--municipality", "Atlantis"])
    assert result.exit_code == 2 and "Atlantis" in result.stderr and result.stdout == ""
    result = CliRunner().invoke(main, ["series", str(small_dataset), "--round", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.output)["scopes"]) == ["round=2"]
    result = CliRunner().invoke(main, ["series", str(small_dataset)])
    assert result.exit_code == 0, result.output
    assert "== project ==" in result.output and "== municipality=Tønder ==" in result.output
