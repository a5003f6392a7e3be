"""Loading a dataset folder (SPEC section 1): every admissible input variant gives
the same typed frames, written out by hand below (never taken from the loader).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SMALL_CASES, SMALL_CONTACTS, SMALL_GOALS, SMALL_HOURS, SMALL_TABLES, SMALL_YML, write_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.cli import main
from evalkit.data.convert import parse_dates
from evalkit.data.dataset import load_dataset, subset, summarise
from evalkit.data.schema import CASE_COLUMNS, CONTACT_COLUMNS, DATE_FORMATS, GOAL_COLUMNS, HOURS_COLUMNS
from evalkit.errors import InputError

NaN, NaT = np.nan, pd.NaT
D = pd.Timestamp
REPO = Path(__file__).resolve().parents[1]

# The small dataset of conftest.py as typed frames, by hand.
EXPECTED_CASES = pd.DataFrame(
    {
        "case_id": ["C1", "C2", "C3", "C4"],
        "municipality": ["Tønder", "Tønder", "Albertslund", "København"],
        "round": np.array([1, 1, 1, 2], dtype="int64"),
        "caseworker_id": ["W1", "W1", "W2", "W3"],
        "target_group": ["ledighedsydelse", "rehab", "fleksjob", "ledighedsydelse"],
        "project_entry": [D("2019-05-01"), D("2019-06-10"), D("2019-04-15"), D("2020-11-02")],
        "benefit_start": [D("2019-01-15"), NaT, D("2017-03-01"), D("2020-08-03")],
        "flexjob_start": [D("2019-11-04"), NaT, D("2018-09-01"), NaT],
        "exit_date": [NaT, D("2020-02-28"), NaT, NaT],
        "exit_reason": [NaN, "flyttet til Århus", NaN, NaN],
        "sex": ["K", "M", "K", "M"],
        "age_band": ["40-49", "50-59", "60+", "18-29"],
        "status": [NaN, "udgået", NaN, NaN],
    }
).astype({c: "datetime64[ns]" for c in ("project_entry", "benefit_start", "flexjob_start", "exit_date")})
EXPECTED_HOURS = pd.DataFrame(
    {
        "case_id": ["C1", "C1", "C3", "C3"],
        # "2019-11" and "2019-04-15" are normalised to the first day of their month
        "month": pd.to_datetime(["2019-11-01", "2019-12-01", "2019-04-01", "2020-04-01"]).astype("datetime64[ns]"),
        "effective_hours": [4.5, 5.0, 3.0, 10.25],
        "attended_hours": [6.0, 7.5, 3.0, 12.0],
    }
)
EXPECTED_CONTACTS = pd.DataFrame(
    {
        "case_id": ["C1", "C1", "C4"],
        "date": pd.to_datetime(["2019-05-20", "2019-12-02", "2021-06-01"]).astype("datetime64[ns]"),
        "channel": ["telefon", "virksomhedsbesøg", "fysisk"],
        "kind": ["samtale", "opfølgning", "step_up"],
    }
)
EXPECTED_GOALS = pd.DataFrame(
    {
        "team": ["Team Syd", "Team Syd"],
        "employee_id": ["W1", "W2"],
        "week": ["2020-W03", "2020-W53"],
        "indicator": ["jobåbninger", "virksomhedskontakter"],
        "realised": np.array([2, 12], dtype="int64"),
        "target": np.array([3, 10], dtype="int64"),
    }
)
EXPECTED = {"cases": EXPECTED_CASES, "hours": EXPECTED_HOURS, "contacts": EXPECTED_CONTACTS, "goals": EXPECTED_GOALS}


def assert_expected(ds) -> None:
    for table, expected in EXPECTED.items():
        pd.testing.assert_frame_equal(getattr(ds, table), expected, check_dtype=True, obj=table)
    assert ds.name == "Lille testdatasæt"
    assert ds.extraction_date == D("2021-12-31")
    assert ds.rounds == {1: (D("2019-04-01"), D("2020-09-30")), 2: (D("2020-10-01"), D("2021-12-31"))}


# --------------------------------------------------------------------------- input variants
# The Windows-1252 export: ';' separator, decimal comma, DD-MM-YYYY dates, CRLF line ends.
CP1252_CASES = """\
case_id;municipality;round;caseworker_id;target_group;project_entry;benefit_start;flexjob_start;exit_date;exit_reason;sex;age_band;status
C1;Tønder;1;W1;ledighedsydelse;01-05-2019;15-01-2019;04-11-2019;;;K;40-49;
C2;Tønder;1;W1;rehab;10-06-2019;;;28-02-2020;flyttet til Århus;M;50-59;udgået
C3;Albertslund;1;W2;fleksjob;15-04-2019;01-03-2017;01-09-2018;;;K;60+;
C4;København;2;W3;ledighedsydelse;02-11-2020;03-08-2020;;;;M;18-29;
"""
CP1252_HOURS = """\
case_id;month;effective_hours;attended_hours
C1;2019-11;4,5;6
C1;01-12-2019;5;7,5
C3;15-04-2019;3;3,0
C3;01-04-2020;10,25;12
"""
CP1252_CONTACTS = """\
case_id;date;channel;kind
C1;20-05-2019;telefon;samtale
C1;02-12-2019;virksomhedsbesøg;opfølgning
C4;01-06-2021;fysisk;step_up
"""
CP1252_GOALS = """\
team;employee_id;week;indicator;realised;target
Team Syd;W1;2020-W03;jobåbninger;2;3
Team Syd;W2;2020-W53;virksomhedskontakter;12;10
"""
CP1252 = {"cases": CP1252_CASES, "hours": CP1252_HOURS, "contacts": CP1252_CONTACTS, "goals": CP1252_GOALS}


def _encode(tables: dict[str, str], encoding: str, newline: str = "\n") -> dict[str, bytes]:
    return {t: text.replace("\n", newline).encode(encoding) for t, text in tables.items()}


def _dotted(text: str) -> str:
    """DD-MM-YYYY -> DD.MM.YYYY."""
    return re.sub(r"\b(\d{2})-(\d{2})-(\d{4})\b", r"\1.\2.\3", text)


def _shout_header(text: str) -> str:
    """Upper-case, space-padded column names."""
    header, rest = text.split("\n", 1)
    sep = ";" if ";" in header else ","
    return sep.join(f"  {name.upper()} " for name in header.split(sep)) + "\n" + rest


def _quote_all(text: str) -> str:
    """Every field in double quotes (as some exports write), read by the csv module path."""
    rows = list(csv.reader(text.splitlines()))
    out = []
    for row in rows:
        out.append(",".join('"' + v + '"' for v in row))
    return "\n".join(out) + "\n"


CSV_VARIANTS = {
    "utf8-comma-iso": _encode(SMALL_TABLES, "utf-8"),
    "utf8-bom": {t: b"\xef\xbb\xbf" + text.encode("utf-8") for t, text in SMALL_TABLES.items()},
    "utf8-crlf": _encode(SMALL_TABLES, "utf-8", "\r\n"),
    "cp1252-semicolon-ddmmyyyy": _encode(CP1252, "cp1252", "\r\n"),
    "cp1252-semicolon-dotted": _encode({t: _dotted(x) for t, x in CP1252.items()}, "cp1252"),
    "utf8-semicolon-ddmmyyyy": _encode(CP1252, "utf-8"),
    "shouting-padded-headers": _encode({t: _shout_header(x) for t, x in SMALL_TABLES.items()}, "utf-8"),
    "cp1252-shouting-headers": _encode({t: _shout_header(x) for t, x in CP1252.items()}, "cp1252"),
    "all-quoted": _encode({t: _quote_all(x) for t, x in SMALL_TABLES.items()}, "utf-8"),
    "blank-lines": _encode({t: x.replace("\n", "\n\n", 2) + "\n,,\n" for t, x in SMALL_TABLES.items()}, "utf-8"),
}


def test_cp1252_fixture_really_is_not_utf8():
    """The Windows-1252 variant must exercise the fallback: its ø is not valid UTF-8."""
    with pytest.raises(UnicodeDecodeError):
        CSV_VARIANTS["cp1252-semicolon-ddmmyyyy"]["cases"].decode("utf-8")


@pytest.mark.parametrize("variant", sorted(CSV_VARIANTS))
def test_every_csv_variant_loads_to_the_same_frames(tmp_path, variant):
    folder = write_dataset(tmp_path / variant, CSV_VARIANTS[variant])
    assert_expected(load_dataset(folder))


def test_parquet_and_xlsx_load_to_the_same_frames(tmp_path):
    parquet = write_dataset(tmp_path / "parquet", {})
    xlsx = write_dataset(tmp_path / "xlsx", {})
    for table, frame in EXPECTED.items():
        frame.to_parquet(parquet / f"{table}.parquet", index=False)
        frame.to_excel(xlsx / f"{table}.xlsx", index=False)
    assert_expected(load_dataset(parquet))
    assert_expected(load_dataset(xlsx))


def test_formats_can_be_mixed_per_table(tmp_path):
    folder = write_dataset(tmp_path / "mixed", {"cases": SMALL_CASES, "contacts": SMALL_CONTACTS})
    EXPECTED_HOURS.to_parquet(folder / "hours.parquet", index=False)
    EXPECTED_GOALS.to_excel(folder / "goals.xlsx", index=False)
    assert_expected(load_dataset(folder))


def test_xlsx_with_text_cells_and_month_text(tmp_path):
    """Municipal sheets often hold dates as text: DD-MM-YYYY text and YYYY-MM months in XLSX."""
    folder = write_dataset(tmp_path / "x", {"cases": SMALL_CASES, "contacts": SMALL_CONTACTS, "goals": SMALL_GOALS})
    hours = pd.DataFrame(
        {"case_id": ["C1", "C1", "C3", "C3"], "month": ["2019-11", "01-12-2019", "15.04.2019", "2020-04"],
         "effective_hours": [4.5, 5, 3, 10.25], "attended_hours": [6, 7.5, 3, 12]}
    )
    hours.to_excel(folder / "hours.xlsx", index=False)
    assert_expected(load_dataset(folder))


# --------------------------------------------------------------------------- columns and tables


def test_optional_columns_and_tables_are_present_when_absent(tmp_path):
    cases = "CASE_ID,Municipality,round,caseworker_id,target_group,project_entry,benefit_start,extra_note\n" \
            "C1,Tønder,1,W1,ledighedsydelse,2019-05-01,2019-01-15,something\n"
    ds = load_dataset(write_dataset(tmp_path / "d", {"cases": cases}))
    assert list(ds.cases.columns) == list(CASE_COLUMNS)  # extra_note dropped, optional columns added
    assert ds.cases["flexjob_start"].isna().all() and ds.cases["flexjob_start"].dtype == "datetime64[ns]"
    assert ds.cases["exit_reason"].isna().all() and ds.cases["exit_reason"].dtype == object
    for table, columns in (("hours", HOURS_COLUMNS), ("contacts", CONTACT_COLUMNS), ("goals", GOAL_COLUMNS)):
        frame = getattr(ds, table)
        assert frame.empty and list(frame.columns) == list(columns)
    assert ds.hours["month"].dtype == "datetime64[ns]" and ds.hours["effective_hours"].dtype == "float64"
    assert ds.goals["realised"].dtype == "int64"


def test_codes_are_compared_in_lower_case_and_text_is_trimmed(tmp_path):
    cases = SMALL_CASES.replace("C1,Tønder,1,W1,ledighedsydelse", "C1,  Tønder ,1,W1,Ledighedsydelse")
    contacts = SMALL_CONTACTS.replace("fysisk,step_up", "Fysisk,STEP_UP")
    ds = load_dataset(write_dataset(tmp_path / "d", {**SMALL_TABLES, "cases": cases, "contacts": contacts}))
    assert_expected(ds)


def test_two_formats_of_one_table_are_refused(tmp_path):
    folder = write_dataset(tmp_path / "d")
    EXPECTED_HOURS.to_parquet(folder / "hours.parquet", index=False)
    with pytest.raises(InputError, match=r"hours .*more than one file.*hours\.csv, hours\.parquet"):
        load_dataset(folder)


def test_missing_cases_table_is_refused(tmp_path):
    folder = write_dataset(tmp_path / "d", {"hours": SMALL_HOURS})
    with pytest.raises(InputError, match="missing cases table"):
        load_dataset(folder)


@pytest.mark.parametrize(
    "text, expected",
    [("2020-03-01", "2020-03-01"), ("01-03-2020", "2020-03-01"), ("01.03.2020", "2020-03-01"),
     ("1.3.2020", "2020-03-01"), ("2020-12-31", "2020-12-31"), ("31-12-2020", "2020-12-31"),
     # day 12, month 10: DD-MM-YYYY is never read as YYYY-MM-DD, or the other way round
     ("12-10-2020", "2020-10-12"), ("2020-10-12", "2020-10-12")],
)
def test_date_formats(text, expected):
    parsed = parse_dates(pd.Series([text], index=[2]), "x.csv", "project_entry")
    assert parsed.iloc[0] == D(expected)


@pytest.mark.parametrize("text", ["2020/03/01", "31-02-2020", "2020-13-01", "01-03-20", "20-2020-03", "marts 2020"])
def test_unparseable_dates_name_their_row(text):
    values = pd.Series(["2020-01-01", text, "2020-01-02"], index=[2, 3, 4])
    with pytest.raises(InputError, match="unparseable date in project_entry") as info:
        parse_dates(values, "x.csv", "project_entry")
    assert info.value.rows == [3]
    assert text not in str(info.value)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(day=st.dates(min_value=pd.Timestamp("1950-01-01").date(), max_value=pd.Timestamp("2035-12-31").date()))
def test_every_date_format_reads_back_the_same_day(day):
    """Python's strftime writes each accepted format; each must read back as the same day."""
    texts = [day.strftime(fmt) for _, fmt in DATE_FORMATS]
    parsed = parse_dates(pd.Series(texts, index=[2, 3, 4]), "x.csv", "date")
    assert (parsed == D(day)).all()


# --------------------------------------------------------------------------- metadata


def test_input_hash_follows_the_bytes_of_the_inputs(tmp_path):
    a = load_dataset(write_dataset(tmp_path / "a"))
    b_folder = write_dataset(tmp_path / "b")
    (b_folder / "README.txt").write_text("not part of the dataset")
    b = load_dataset(b_folder)
    assert a.input_hash == b.input_hash and len(a.input_hash) == 64
    c = load_dataset(write_dataset(tmp_path / "c", {**SMALL_TABLES, "goals": SMALL_GOALS.replace(",2,3", ",2,4")}))
    assert c.input_hash != a.input_hash
    d = load_dataset(write_dataset(tmp_path / "d", yml=SMALL_YML.replace("Lille", "Lidt")))
    assert d.input_hash != a.input_hash
    assert a.source == tmp_path / "a"


def test_dataset_without_rounds(tmp_path):
    yml = "name: Uden runder\nextraction_date: 2021-12-31\n"
    ds = load_dataset(write_dataset(tmp_path / "d", yml=yml))
    assert ds.rounds == {}
    assert len(ds.cases) == 4


def test_summary_names_counts_not_rows(small_dataset):
    text = summarise(load_dataset(small_dataset))
    assert "Lille testdatasæt" in text and "2021-12-31" in text
    assert "cases 4" in text and "hours 4" in text and "contacts 3" in text and "goals 2" in text
    assert "Municipalities: 3" in text
    assert "1 (2019-04-01 to 2020-09-30, 3 cases, 2 municipalities)" in text
    assert "2 (2020-10-01 to 2021-12-31, 1 cases, 1 municipalities)" in text
    assert "rehab 1, ledighedsydelse 2, fleksjob 1" in text
    for value in ("C1", "W1", "Tønder", "Århus", "2019-05-01"):  # no row data
        assert value not in text


# --------------------------------------------------------------------------- subset


def test_subset_by_municipality(small_dataset):
    ds = load_dataset(small_dataset)
    sub = subset(ds, municipality="tønder")  # matched case-insensitively
    assert sub.cases["case_id"].tolist() == ["C1", "C2"]
    assert sub.hours["case_id"].tolist() == ["C1", "C1"]  # C3's hours go with Albertslund
    assert sub.contacts["case_id"].tolist() == ["C1", "C1"]
    pd.testing.assert_frame_equal(sub.goals, ds.goals)  # goals are per team
    assert sub.extraction_date == ds.extraction_date and sub.rounds == ds.rounds


def test_subset_by_round_and_both(small_dataset):
    ds = load_dataset(small_dataset)
    assert subset(ds, round_=2).cases["case_id"].tolist() == ["C4"]
    assert subset(ds, round_=2).contacts["case_id"].tolist() == ["C4"]
    assert subset(ds, round_=2).hours.empty
    assert subset(ds, municipality="Albertslund", round_=1).cases["case_id"].tolist() == ["C3"]
    assert subset(ds).cases.equals(ds.cases)


def test_subset_refuses_unknown_names(small_dataset):
    ds = load_dataset(small_dataset)
    with pytest.raises(InputError) as info:
        subset(ds, municipality="Aarhus")
    assert info.value.file == "--municipality"
    assert "Albertslund, København, Tønder" in str(info.value)
    with pytest.raises(InputError) as info:
        subset(ds, round_=3)
    assert info.value.file == "--round" and "known: 1, 2" in str(info.value)
    with pytest.raises(InputError):
        subset(ds, municipality="København", round_=1)  # no cases there


# --------------------------------------------------------------------------- the command


def test_validate_prints_the_summary(small_dataset):
    result = CliRunner().invoke(main, ["validate", str(small_dataset)])
    assert result.exit_code == 0, result.output
    assert "Lille testdatasæt" in result.stdout and "cases 4" in result.stdout


def test_validate_the_committed_sample():
    """data/sample is committed (written by `evalkit sample --out data/sample`) and must validate."""
    folder = REPO / "data" / "sample"
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Udvikling i fleksjob II" in result.stdout
    assert "Municipalities: 19" in result.stdout  # the 19 project municipalities of DOMAIN.md

