"""Valid but thin datasets through `compute_indicators` and `evalkit indicators --json`.

A municipality with one case, no events at all (median undefined), everyone
censored before 39 weeks, no one in the survival population, and no hours,
contacts or goals tables. Nothing may crash; where a figure cannot be computed it
is null (JSON null, never NaN or Infinity), with a reason where SPEC asks for one.
Every expected number is worked out by hand in the comments, or from the closed
forms written out here (Wilson, Kaplan-Meier with Greenwood's variance).
"""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.data.dataset import load_dataset
from evalkit.report.text import format_indicators
from evalkit.stats.indicators import compute_indicators

Z = 1.959963984540054
HEADER = "case_id,municipality,round,caseworker_id,target_group,project_entry,benefit_start,flexjob_start,exit_date"
ROUNDS = "rounds:\n  1: {start: 2019-04-01, end: 2020-09-30}\n  2: {start: 2020-10-01, end: 2021-12-31}\n"

# Each dataset: extraction date, dataset.yml rounds or not, cases rows (no hours, contacts or goals files).
DATASETS = {
    # Faxe has one case; Stevns three. Faxe's K1: benefit = entry 2020-01-06, never a flexjob.
    "one_case": ("2021-12-31", ROUNDS, [
        "K1,Faxe,2,W1,ledighedsydelse,2020-01-06,2020-01-06,,",
        "S1,Stevns,1,W2,ledighedsydelse,2019-06-03,2019-06-03,2019-09-02,",
        "S2,Stevns,1,W2,rehab,2019-06-03,,,",
        "S3,Stevns,2,W3,ledighedsydelse,2020-11-02,2020-10-05,,",
    ]),
    # No flexjob at all. Weeks since benefit_start (2020-01-06 unless said):
    #   N1 entry 2020-03-02 = 56 d = 8 wk, censored at E: 725 d = 103.57 wk -> at risk at 39
    #   N2 entry 2020-01-06 = 0 wk, exit 2020-06-01 = 147 d = 21 wk -> not at risk at 39
    #   N3 benefit 2019-01-07, entry 2020-01-06 = 364 d = 52 wk > 39 -> not at risk at 39
    # at_risk_39 = 1, S(t) = 1 throughout, median undefined; two rounds, no event -> log-rank null.
    "no_events": ("2021-12-31", ROUNDS, [
        "N1,Faxe,1,W1,ledighedsydelse,2020-03-02,2020-01-06,,",
        "N2,Faxe,2,W1,ledighedsydelse,2020-01-06,2020-01-06,,2020-06-01",
        "N3,Faxe,2,W2,ledighedsydelse,2020-01-06,2019-01-07,,",
    ]),
    # E = 2020-06-29; all start at benefit = entry 2020-01-06:
    #   C1 flexjob 2020-03-16 = 70 d = 10 wk (event); C2 exit 2020-05-25 = 140 d = 20 wk;
    #   C3 censored at E = 175 d = 25 wk. Risk set empty after week 25 -> S(39) null.
    #   S(10) = 2/3 and stays there: median undefined.
    "censored_before_39": ("2020-06-29", "", [
        "C1,Faxe,1,W1,ledighedsydelse,2020-01-06,2020-01-06,2020-03-16,",
        "C2,Faxe,1,W1,ledighedsydelse,2020-01-06,2020-01-06,,2020-05-25",
        "C3,Faxe,1,W2,ledighedsydelse,2020-01-06,2020-01-06,,",
    ]),
    # Nobody with benefit_start: empty survival population and no sc1 population.
    "no_population": ("2021-12-31", "", [
        "R1,Faxe,1,W1,rehab,2020-01-06,,,",
        "R2,Faxe,1,W1,rehab,2020-02-03,,,",
    ]),
    # Flexjobs but no hours, contacts or goals tables:
    #   F1 benefit = entry 2019-06-03, flexjob 2019-09-02 = 91 d = 13 wk (event)
    #   F2 benefit = entry 2019-06-03, never (censored at E = 134.7 wk)
    #   F3 fleksjob already at entry (flexjob 2019-01-07 < entry 2019-06-03): not in survival or sc1
    # KM: n = 2, S(13) = 1/2, so S(39) = 0.5 with 1 at risk; median = 13 weeks.
    "no_side_tables": ("2021-12-31", "", [
        "F1,Faxe,1,W1,ledighedsydelse,2019-06-03,2019-06-03,2019-09-02,",
        "F2,Faxe,1,W1,ledighedsydelse,2019-06-03,2019-06-03,,",
        "F3,Faxe,1,W2,fleksjob,2019-06-03,,2019-01-07,",
    ]),
}


def write(folder: Path, name: str) -> Path:
    e, rounds, rows = DATASETS[name]
    folder.mkdir(parents=True)
    (folder / "dataset.yml").write_text(f"name: {name}\nextraction_date: {e}\n{rounds}", encoding="utf-8")
    (folder / "cases.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return folder


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score interval, written out: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    centre = p + Z**2 / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return (centre - half) / (1 + Z**2 / n), (centre + half) / (1 + Z**2 / n)


def strict_json(text: str) -> dict:
    """JSON that must not contain NaN or Infinity."""
    def refuse(token):
        raise AssertionError(f"{token} in JSON output")
    return json.loads(text, parse_constant=refuse)


def run_cli(folder: Path, *args: str) -> dict:
    result = CliRunner().invoke(main, ["indicators", str(folder), "--json", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return strict_json(result.stdout)


def assert_cannot_compute_s39(survival: dict) -> None:
    """SPEC: S(39) is null, with the reason, when the risk set empties before 39 weeks."""
    assert survival["s39"] is None and survival["s39_ci_low"] is None and survival["s39_ci_high"] is None
    assert isinstance(survival.get("s39_reason"), str) and survival["s39_reason"].strip(), survival


def assert_regressions_explained(result: dict) -> None:
    for outcome in ("flexjob_39w", "hours_change"):
        block = result["caseload_regression"][outcome]
        assert block["slope"] is None and block["p_value"] is None
        assert isinstance(block.get("reason"), str) and block["reason"].strip()


@pytest.fixture(params=sorted(DATASETS))
def thin(request, tmp_path):
    return request.param, write(tmp_path / request.param, request.param)


def test_cli_json_is_strict_and_equals_the_library(thin):
    """Every thin dataset: exit 0, valid JSON without NaN/Infinity, same as compute_indicators,
    and the readable text output does not crash either."""
    name, folder = thin
    ds = load_dataset(folder)
    assert ds.hours.empty and ds.contacts.empty and ds.goals.empty
    expected = json.loads(json.dumps(compute_indicators(ds), ensure_ascii=False))
    assert run_cli(folder) == expected
    assert expected["n_cases"] == len(DATASETS[name][2])
    text = CliRunner().invoke(main, ["indicators", str(folder)])
    assert text.exit_code == 0 and "Forløb i alt" in text.stdout
    assert format_indicators(compute_indicators(ds)) == text.stdout.rstrip("\n")


def test_a_municipality_with_one_case(tmp_path):
    folder = write(tmp_path / "d", "one_case")
    result = run_cli(folder, "--municipality", "Faxe")
    assert result["n_cases"] == 1
    assert result["status_counts"] == {"før_rehab": 0, "ledighedsydelse": 1, "fleksjob_0_10": 0,
                                       "fleksjob_over_10": 0, "udgået": 0}
    s = result["survival"]
    # 725 days = 103.6 weeks on benefit, no event: S(39) = 1 with the one case at risk
    assert (s["n"], s["events"], s["s39"], s["at_risk_39"], s["median_weeks"]) == (1, 0, 1.0, 1, None)
    # R's log-log interval is NA where S = 1 (log(-log 1) is undefined): null, not [1, 1]
    assert s["s39_ci_low"] is None and s["s39_ci_high"] is None
    # sc1: 0 of 1; Wilson with k = 0: [0, z²/(n + z²)] = [0, 3.8415 / 4.8415]
    sc1 = result["sc1"]
    assert (sc1["n"], sc1["value"]) == (1, 0.0)
    assert sc1["ci_low"] == pytest.approx(0.0, abs=1e-12)
    assert sc1["ci_high"] == pytest.approx(Z**2 / (1 + Z**2), rel=1e-12)
    assert sc1["ci_high"] == pytest.approx(0.793450685622, rel=1e-9)
    # no hours: sc3 has no eligible case; no flexjob: follow-up has no population
    assert result["sc3"]["n"] == 0 and result["sc3"]["value"] is None
    assert result["sc3"]["mean_change"] is None and result["sc3"]["median_change"] is None
    assert result["sc3"]["met"] is None
    assert result["follow_up"]["n"] == 0
    assert result["follow_up"]["share_2"] is None and result["follow_up"]["share_4"] is None
    assert_regressions_explained(result)
    assert "logrank_rounds" not in result  # one round in the selection


def test_no_events_median_undefined_and_logrank_explained(tmp_path):
    result = run_cli(write(tmp_path / "d", "no_events"))
    s = result["survival"]
    assert (s["n"], s["events"], s["s39"], s["at_risk_39"], s["median_weeks"]) == (3, 0, 1.0, 1, None)
    assert s["s39_ci_low"] is None and s["s39_ci_high"] is None  # S = 1: R's log-log CI is NA
    sc1 = result["sc1"]
    assert (sc1["n"], sc1["value"]) == (3, 0.0)
    assert (sc1["ci_low"], sc1["ci_high"]) == pytest.approx(wilson(0, 3), abs=1e-12)
    assert sc1["ci_high"] == pytest.approx(Z**2 / (3 + Z**2), rel=1e-12)
    # two rounds present, no event: the log-rank test cannot be computed and says why
    lr = result["logrank_rounds"]
    assert lr["statistic"] is None and lr["p_value"] is None and lr["reason"]
    # status: N2 exited (udgået); N1, N3 still on ledighedsydelse
    assert result["status_counts"]["ledighedsydelse"] == 2 and result["status_counts"]["udgået"] == 1
    # Step Up: N1 (669 days since entry) and N3 (725 days) on ledighedsydelse >= 26 weeks, no contacts
    assert result["step_up"]["n"] == 2 and result["step_up"]["share"] == 0.0
    assert_regressions_explained(result)


def test_everyone_censored_before_39_weeks(tmp_path):
    result = run_cli(write(tmp_path / "d", "censored_before_39"))
    s = result["survival"]
    assert (s["n"], s["events"], s["at_risk_39"], s["median_weeks"]) == (3, 1, 0, None)
    assert_cannot_compute_s39(s)
    assert result["sc2"]["value"] is None and result["sc2"]["met"] is None
    # sc1: 1 of 3 ledighedsydelse cases has a valid flexjob
    sc1 = result["sc1"]
    assert (sc1["n"], sc1["value"]) == (3, pytest.approx(1 / 3))
    assert (sc1["ci_low"], sc1["ci_high"]) == pytest.approx(wilson(1, 3), rel=1e-12)
    # follow-up needs a flexjob on or before E - 182 d = 2019-12-30: C1's 2020-03-16 is too late
    assert result["follow_up"]["n"] == 0 and result["follow_up"]["share_2"] is None
    # Step Up needs 182 days on ledighedsydelse since entry: C3 has 175
    assert result["step_up"]["n"] == 0 and result["step_up"]["share"] is None
    assert result["status_counts"] == {"før_rehab": 0, "ledighedsydelse": 1, "fleksjob_0_10": 1,
                                       "fleksjob_over_10": 0, "udgået": 1}


def test_nobody_in_the_survival_or_sc1_population(tmp_path):
    result = run_cli(write(tmp_path / "d", "no_population"))
    s = result["survival"]
    assert (s["n"], s["events"], s["at_risk_39"], s["median_weeks"]) == (0, 0, 0, None)
    assert_cannot_compute_s39(s)
    sc1 = result["sc1"]
    assert sc1["n"] == 0 and sc1["value"] is None and sc1["ci_low"] is None and sc1["met"] is None
    assert result["status_counts"]["før_rehab"] == 2
    assert_regressions_explained(result)


def test_flexjobs_without_hours_contacts_or_goals(tmp_path):
    result = run_cli(write(tmp_path / "d", "no_side_tables"))
    # no hours row: every valid flexjob counts as fleksjob_0_10 (SPEC section 3)
    assert result["status_counts"] == {"før_rehab": 0, "ledighedsydelse": 1, "fleksjob_0_10": 2,
                                       "fleksjob_over_10": 0, "udgået": 0}
    s = result["survival"]
    assert (s["n"], s["events"], s["at_risk_39"]) == (2, 1, 1)
    assert s["s39"] == pytest.approx(0.5) and s["median_weeks"] == pytest.approx(13.0)
    # log-log CI at S = 1/2, Greenwood: var(log S) = d / (n (n - d)) = 1 / (2 * 1)
    se = math.sqrt(0.5) / abs(math.log(0.5))
    centre = math.log(-math.log(0.5))
    low, high = math.exp(-math.exp(centre + Z * se)), math.exp(-math.exp(centre - Z * se))
    assert (s["s39_ci_low"], s["s39_ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert (round(low, 4), round(high, 4)) == (0.006, 0.9104)
    # follow-up: F1's flexjob (2019-09-02, after entry, before E - 182 d) with no contacts at all
    f = result["follow_up"]
    assert (f["n"], f["share_2"], f["share_4"]) == (1, 0.0, 0.0)
    # sc1: F1 of F1, F2
    assert (result["sc1"]["n"], result["sc1"]["value"]) == (2, 0.5)
    # sc3 without hours
    assert result["sc3"]["n"] == 0 and result["sc3"]["value"] is None
    assert_regressions_explained(result)


def _visible_text(html_file: Path) -> str:
    """The text a reader sees: scripts, styles and tags removed, entities decoded, spaces collapsed."""
    page = html_file.read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_reports_for_a_thin_dataset_explain_instead_of_crashing(tmp_path):
    """`evalkit reports` on one municipality, one round, three cases, everyone censored before
    39 weeks and no side tables: every report is written and says why a figure is missing."""
    folder = write(tmp_path / "d", "censored_before_39")
    out = tmp_path / "reports"
    run = subprocess.run([sys.executable, "-m", "evalkit.cli", "reports", str(folder), "--out", str(out),
                          "--jobs", "2"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == ["index.html", "kommune-faxe.html", "rundesammenligning.html", "statusrapport.html"]
    assert not list(out.rglob("*.failed.ipynb"))
    text = {name: _visible_text(out / name) for name in pages}
    crash = re.compile(r"\b(Traceback|Error|Exception|NaN|nan|inf|Infinity)\b")
    for name, page in text.items():
        assert not crash.search(page), (name, crash.search(page))
    # each page explains what it cannot show (Danish wording of the report notebooks)
    assert "S(39) kan ikke beregnes" in text["kommune-faxe.html"]
    assert "Kan ikke vurderes" in text["kommune-faxe.html"] and "Kan ikke vurderes" in text["index.html"]
    assert "kan ikke sammenlignes" in text["rundesammenligning.html"]
    assert "ingen kommune har nok borgere" in text["statusrapport.html"]
    # three persons: published counts are suppressed (SPEC section 5)
    assert all("<5" in page for page in text.values())
