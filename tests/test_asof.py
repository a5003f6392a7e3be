"""`evalkit indicators --as-of D` (SPEC section 7): every figure as if the data had been extracted on D.

The equivalence test builds the extract of D independently of evalkit: it
filters the committed sample's CSV files with the csv module (ISO dates compare
as text), writes them with a dataset.yml whose extraction_date is D into
tmp_path, runs `evalkit indicators` on that folder, and compares the JSON with
`--as-of D` on the full sample.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import write_dataset

from evalkit.cli import main
from evalkit.data.dataset import load_dataset
from evalkit.stats.asof import as_of
from evalkit.stats.status import status_counts


class _NoAliases(yaml.SafeDumper):
    """The extract's dataset.yml without anchors (the loader refuses them)."""

    def ignore_aliases(self, data):
        return True

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def _read(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def _write(path: Path, fields: list[str], rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_extract(src: Path, dst: Path, d: str) -> dict:
    """The dataset in `src` as it would have been extracted on `d` (YYYY-MM-DD), written to `dst`.

    Returns the kept rows per table, for checks of the test's premises.
    """
    dst.mkdir(parents=True)
    fields, rows = _read(src / "cases.csv")
    cases = []
    for row in rows:
        if row["project_entry"] > d:
            continue
        row = {k: v for k, v in row.items() if k != "status"}
        for column in ("benefit_start", "flexjob_start"):
            if row[column] > d:
                row[column] = ""
        if row["exit_date"] > d:
            row["exit_date"] = row["exit_reason"] = ""
        cases.append(row)
    _write(dst / "cases.csv", [f for f in fields if f != "status"], cases)
    ids = {r["case_id"] for r in cases}
    kept = {"cases": cases}
    for table, date_column in (("hours", "month"), ("contacts", "date")):
        fields, rows = _read(src / f"{table}.csv")
        kept[table] = [r for r in rows if r["case_id"] in ids and r[date_column] <= d]
        _write(dst / f"{table}.csv", fields, kept[table])
    fields, rows = _read(src / "goals.csv")

    def monday(week: str) -> str:
        year, number = week.split("-W")
        return dt.date.fromisocalendar(int(year), int(number), 1).isoformat()

    kept["goals"] = [r for r in rows if monday(r["week"]) <= d]
    _write(dst / "goals.csv", fields, kept["goals"])
    meta = yaml.safe_load((src / "dataset.yml").read_text(encoding="utf-8"))
    day = dt.date.fromisoformat(d)
    meta["extraction_date"] = day
    meta["rounds"] = {r: {"start": s["start"], "end": min(s["end"], day) if s["start"] <= day else s["end"]}
                      for r, s in meta["rounds"].items()}
    (dst / "dataset.yml").write_text(yaml.dump(meta, Dumper=_NoAliases, allow_unicode=True), encoding="utf-8")
    return kept


def indicators_json(args: list[str]) -> dict:
    result = CliRunner().invoke(main, ["indicators", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# date -> (why it is here, selections as extra CLI arguments)
DATES = {
    "2019-04-01": ("the first project_entry (lowest date allowed)", [[]]),
    "2019-04-15": ("before any hours row of Stevns' cases", [[], ["--municipality", "Stevns"]]),
    "2020-09-30": ("the last day of round 1", [[], ["--round", "1"], ["--municipality", "Viborg"]]),
    "2020-10-01": ("the first day of round 2", [["--round", "2"], ["--municipality", "København"]]),
    "2020-10-20": ("before any hours row of Glostrup's cases", [["--municipality", "Glostrup"]]),
    "2021-02-16": ("inside the first month of flexjobs in Viborg and Odense", [
        [], ["--municipality", "Viborg"], ["--municipality", "Odense", "--round", "2"]]),
    "2021-12-31": ("the extraction date itself", [[]]),
}


@pytest.mark.parametrize("d", list(DATES))
def test_as_of_equals_indicators_of_the_extract_of_that_day(tmp_path, d):
    folder = tmp_path / "extract"
    write_extract(SAMPLE, folder, d)
    for selection in DATES[d][1]:
        expected = indicators_json([str(folder), *selection])
        got = indicators_json([str(SAMPLE), "--as-of", d, *selection])
        assert got == expected, (d, selection)
        assert got["extraction_date"] == d


def test_the_dates_test_what_they_claim(tmp_path):
    """The premises of DATES hold on the sample (else the equivalence test would prove less)."""
    _, cases = _read(SAMPLE / "cases.csv")
    assert min(r["project_entry"] for r in cases) == "2019-04-01"

    def extract(d):
        return write_extract(SAMPLE, tmp_path / d, d)

    def of(kept, municipality):
        return {r["case_id"] for r in kept["cases"] if r["municipality"] == municipality}

    for d, municipality in (("2019-04-15", "Stevns"), ("2020-10-20", "Glostrup")):
        kept = extract(d)
        ids = of(kept, municipality)
        assert ids and not [h for h in kept["hours"] if h["case_id"] in ids], municipality
    kept = extract("2021-02-16")
    for municipality in ("Viborg", "Odense"):
        started = {r["case_id"] for r in kept["cases"] if r["municipality"] == municipality
                   and r["flexjob_start"][:7] == "2021-02" and r["flexjob_start"] >= r["project_entry"]}
        with_row = {h["case_id"] for h in kept["hours"] if h["case_id"] in started and h["month"][:7] == "2021-02"}
        assert with_row, municipality  # the month's hours row decides the status of a new flexjob
    # dates after D were really there to be cut: cases, event dates, hours and contacts
    _, later = _read(SAMPLE / "cases.csv")
    d = "2020-09-30"
    assert any(r["project_entry"] > d for r in later)
    assert any(r["project_entry"] <= d < r["flexjob_start"] for r in later)
    assert any(r["project_entry"] <= d < r["exit_date"] for r in later)


def test_as_of_truncates_dates_rows_and_status(tmp_path):
    """Hand-checked on the small dataset of conftest (C2 is given status udgået, exit 2020-02-28)."""
    ds = load_dataset(write_dataset(tmp_path / "small"))
    dated = as_of(ds, "2020-01-13")  # Monday of 2020-W03
    cases = dated.cases.set_index("case_id")
    assert list(cases.index) == ["C1", "C2", "C3"]  # C4 enters 2020-11-02
    assert pd.isna(cases.loc["C2", "exit_date"]) and pd.isna(cases.loc["C2", "exit_reason"])
    assert cases["status"].isna().all()  # the given status is dropped ...
    counts = status_counts(dated.cases, dated.hours, dated.extraction_date)
    assert counts["før_rehab"] == 1 and counts["udgået"] == 0  # ... and derived: C2 is before rehab
    assert cases.loc["C1", "flexjob_start"] == pd.Timestamp("2019-11-04")
    assert list(dated.hours["month"].dt.strftime("%Y-%m")) == ["2019-11", "2019-12", "2019-04"]
    assert list(dated.contacts["date"].dt.strftime("%Y-%m-%d")) == ["2019-05-20", "2019-12-02"]
    assert list(dated.goals["week"]) == ["2020-W03"]  # its Monday is D; 2020-W53 is later
    assert list(as_of(ds, "2020-01-12").goals["week"]) == []
    assert dated.extraction_date == pd.Timestamp("2020-01-13")
    # round spans end at D; round 2 has not started and is kept as given
    assert dated.rounds == {1: (pd.Timestamp("2019-04-01"), pd.Timestamp("2020-01-13")),
                            2: (pd.Timestamp("2020-10-01"), pd.Timestamp("2021-12-31"))}
    assert as_of(ds, "2020-12-01").rounds == {1: (pd.Timestamp("2019-04-01"), pd.Timestamp("2020-09-30")),
                                              2: (pd.Timestamp("2020-10-01"), pd.Timestamp("2020-12-01"))}


@pytest.mark.parametrize("d, rule", [
    ("2022-01-01", "after the extraction date 2021-12-31"),
    ("2019-03-31", "before the first project_entry"),
])
def test_as_of_outside_the_data_exits_2(small_dataset, d, rule):
    result = CliRunner().invoke(main, ["indicators", str(small_dataset), "--as-of", d, "--json"])
    assert result.exit_code == 2
    assert "--as-of" in result.stderr and rule in result.stderr
    assert result.stdout == ""


def test_as_of_selection_not_yet_entered_exits_2(small_dataset):
    result = CliRunner().invoke(main, ["indicators", str(small_dataset), "--as-of", "2020-06-30",
                                       "--municipality", "København"])
    assert result.exit_code == 2
    assert "no case of the selection had entered the project by 2020-06-30" in result.stderr
    result = CliRunner().invoke(main, ["indicators", str(small_dataset), "--as-of", "2020-13-01"])
    assert result.exit_code == 2  # not a date
