"""Every rule of SPEC section 1 "Rejected input", through `evalkit validate`.

Each case edits one line of the small valid dataset of conftest.py (header =
row 1, so the n-th data line is row n + 1), runs the command and expects exit
code 2, a message on stderr naming the file, the rule and exactly those rows,
nothing on stdout and nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SMALL_CASES, SMALL_CONTACTS, SMALL_TABLES, SMALL_YML, write_dataset

from evalkit.cli import main
from evalkit.data.dataset import load_dataset
from evalkit.data.privacy import contains_cpr, identifying_column_name, identifying_text
from evalkit.errors import InputError

CASES_HEADER = SMALL_CASES.split("\n", 1)[0]


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture edit {old!r} must match exactly once"
    return text.replace(old, new)


def drop_column(text: str, name: str) -> str:
    """The CSV text without one column (header and values)."""
    lines = [line.split(",") for line in text.splitlines()]
    j = lines[0].index(name)
    return "".join(",".join(cells[:j] + cells[j + 1:]) + "\n" for cells in lines)


def run_validate(folder: Path):
    before = sorted(str(p.relative_to(folder.parent)) for p in folder.parent.rglob("*"))
    result = CliRunner().invoke(main, ["validate", str(folder)])
    after = sorted(str(p.relative_to(folder.parent)) for p in folder.parent.rglob("*"))
    assert after == before, "validate must not write anything"
    return result


def assert_rejected(folder: Path, file: str, rule: str, rows: list[int]):
    result = run_validate(folder)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    err = result.stderr
    assert str(folder / file) in err, err
    assert rule in err, err
    if rows:
        assert f"(rows {', '.join(map(str, rows[:10]))}" in err, err
    else:
        assert "(rows" not in err, err
    return err


# (table, old text, new text, rule shown, rows): one broken rule each (old None: drop column `new`).
CASES_RULES = {
    "missing required column": (
        "cases", None, "caseworker_id", "missing required column caseworker_id", []),
    "unparseable date": (
        "cases", "C2,Tønder,1,W1,rehab,2019-06-10", "C2,Tønder,1,W1,rehab,2019-06-31",
        "unparseable date in project_entry", [3]),
    "unparseable round": (
        "cases", "C3,Albertslund,1,", "C3,Albertslund,en,", "unparseable number in round", [4]),
    "round not a whole number": (
        "cases", "C3,Albertslund,1,", "C3,Albertslund,1.5,", "round is not a whole number", [4]),
    "duplicate case_id": (
        "cases", "C3,Albertslund", "C1,Albertslund", "duplicate case_id", [2, 4]),
    "exit before entry": (
        "cases", "2020-02-28,flyttet", "2019-06-09,flyttet", "exit_date before project_entry", [3]),
    "flexjob before entry": (
        "cases", "2019-01-15,2019-11-04", "2019-01-15,2019-04-30",
        "flexjob_start before project_entry (allowed only for target_group fleksjob)", [2]),
    "benefit after flexjob": (
        "cases", "2017-03-01,2018-09-01", "2018-09-02,2018-09-01", "benefit_start after flexjob_start", [4]),
    "benefit missing for ledighedsydelse": (
        "cases", "2020-11-02,2020-08-03", "2020-11-02,", "benefit_start missing for a ledighedsydelse case", [5]),
    "unknown target_group": (
        "cases", "W2,fleksjob", "W2,flexjob", "unknown target_group", [4]),
    "round not in dataset.yml": (
        "cases", "C4,København,2", "C4,København,3", "round not listed under rounds in dataset.yml", [5]),
    "missing value in a required column": (
        "cases", "C4,København,2,W3", "C4,,2,W3", "missing municipality", [5]),
    "unknown status": (
        "cases", "udgået", "væk", "unknown status category", [3]),
    "too many fields": (
        "cases", "M,50-59,udgået", "M,50-59,udgået,extra", "wrong number of fields (the header has 13)", [3]),
    "too few fields": (
        "cases", ",,M,18-29,", ",M,18-29,", "wrong number of fields (the header has 13)", [5]),
}
HOURS_RULES = {
    "unknown case_id": ("hours", "C1,2019-12-01", "C9,2019-12-01", "unknown case_id (not in cases)", [3]),
    "effective above 37": ("hours", "C3,2019-04-15,3,3", "C3,2019-04-15,37.5,38", "effective_hours outside 0-37", [4]),
    "negative effective": ("hours", "C3,2019-04-15,3,3", "C3,2019-04-15,-1,3", "effective_hours outside 0-37", [4]),
    "attended above 37": ("hours", "10.25,12", "10.25,37.01", "attended_hours outside 0-37", [5]),
    "effective above attended": ("hours", "10.25,12", "12.5,12", "effective_hours above attended_hours", [5]),
    "unparseable hours": ("hours", "C1,2019-11,4.5", "C1,2019-11,fire", "unparseable number in effective_hours", [2]),
    "decimal comma with comma separator": (
        "hours", "C1,2019-11,4.5,6", 'C1,2019-11,"4,5",6', "unparseable number in effective_hours", [2]),
    "unparseable month": ("hours", "C1,2019-11,", "C1,2019-13,", "unparseable date in month", [2]),
    "missing effective_hours": ("hours", "C1,2019-12-01,5,", "C1,2019-12-01,,", "missing effective_hours", [3]),
    "two rows for one month": (
        "hours", "C1,2019-12-01", "C1,2019-11-20", "more than one row for a case_id and month", [2, 3]),
}
CONTACT_RULES = {
    "unknown case_id": ("contacts", "C4,2021", "C5,2021", "unknown case_id (not in cases)", [4]),
    "unknown channel": ("contacts", "telefon,samtale", "brev,samtale", "unknown channel", [2]),
    "unknown kind": ("contacts", "virksomhedsbesøg,opfølgning", "virksomhedsbesøg,møde", "unknown kind", [3]),
    "unparseable date": ("contacts", "2019-05-20", "20/05/2019", "unparseable date in date", [2]),
    "missing kind": ("contacts", "fysisk,step_up", "fysisk,", "missing kind", [4]),
}
GOAL_RULES = {
    "week 53 of a 52-week year": ("goals", "2020-W53", "2021-W53", "invalid ISO week in week", [3]),
    "week 0": ("goals", "2020-W03", "2020-W00", "invalid ISO week in week", [2]),
    "not a week": ("goals", "2020-W03", "2020-03", "invalid ISO week in week", [2]),
    "negative realised": ("goals", "jobåbninger,2,3", "jobåbninger,-2,3", "negative realised", [2]),
    "negative target": ("goals", "virksomhedskontakter,12,10", "virksomhedskontakter,12,-1", "negative target", [3]),
    "target not whole": ("goals", "jobåbninger,2,3", "jobåbninger,2,2.5", "target is not a whole number", [2]),
    "missing column": ("goals", None, "team", "missing required column team", []),
}
RULES = {f"{t[0]}: {name}": t for group in (CASES_RULES, HOURS_RULES, CONTACT_RULES, GOAL_RULES)
         for name, t in group.items()}


@pytest.mark.parametrize("case", sorted(RULES))
def test_each_rule_is_refused_with_file_rule_and_rows(tmp_path, case):
    table, old, new, rule, rows = RULES[case]
    text = SMALL_TABLES[table]
    tables = {**SMALL_TABLES, table: drop_column(text, new) if old is None else edit(text, old, new)}
    folder = write_dataset(tmp_path / "data", tables)
    assert_rejected(folder, f"{table}.csv", rule, rows)


def test_only_the_first_ten_rows_are_listed(tmp_path):
    lines = [f"C{i},Tønder,1,W1,rehab,2019-06-10,,,2019-06-01,,,," for i in range(1, 13)]  # exit before entry
    folder = write_dataset(tmp_path / "data", {"cases": CASES_HEADER + "\n" + "\n".join(lines) + "\n"})
    err = assert_rejected(folder, "cases.csv", "exit_date before project_entry", list(range(2, 12)))
    assert "(and 2 more)" in err


def test_rows_count_blank_lines_and_semicolon_files(tmp_path):
    """A blank line still counts as a row, as in a spreadsheet; the same rule in a ';' file."""
    cases = edit(SMALL_CASES, "2020-02-28,flyttet", "2019-06-09,flyttet").replace("C2,", "\nC2,")
    cases = cases.replace(",", ";")
    folder = write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases})
    assert_rejected(folder, "cases.csv", "exit_date before project_entry", [4])


def test_cases_table_with_no_rows(tmp_path):
    folder = write_dataset(tmp_path / "data", {"cases": CASES_HEADER + "\n"})
    assert_rejected(folder, "cases.csv", "cases table has no rows", [])


def test_empty_cases_file(tmp_path):
    folder = write_dataset(tmp_path / "data", {"cases": ""})
    assert_rejected(folder, "cases.csv", "empty file: no header row", [])


def test_missing_dataset_yml(tmp_path):
    folder = write_dataset(tmp_path / "data", yml=None)
    assert_rejected(folder, "dataset.yml", "missing dataset.yml", [])


@pytest.mark.parametrize(
    "yml, rule",
    [(SMALL_YML.replace("extraction_date: 2021-12-31\n", ""), "missing extraction_date"),
     (SMALL_YML.replace("2021-12-31\n", "31/12/2021\n", 1), "extraction_date is not a date"),
     (SMALL_YML.replace("name: Lille testdatasæt\n", ""), "missing name"),
     (SMALL_YML.replace("end: 2020-09-30", "end: 2019-01-01"), "rounds: round 1 ends before it starts")],
)
def test_bad_dataset_yml(tmp_path, yml, rule):
    folder = write_dataset(tmp_path / "data", yml=yml)
    assert_rejected(folder, "dataset.yml", rule, [])


def test_not_a_folder(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a dataset folder" in result.stderr


def test_bytes_windows_1252_does_not_define_name_their_row(tmp_path):
    cases = edit(SMALL_CASES, "flyttet til Århus", "flyttet til XX").encode("utf-8").replace(b"XX", b"\x81\xf8")
    folder = write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases})
    assert_rejected(folder, "cases.csv", "not UTF-8 or Windows-1252 text", [3])


# --------------------------------------------------------------------------- identifying data


@pytest.mark.parametrize("value", ["010190-1234", "0101901234", "290200-4321", "ringet fra 311299 1234",
                                   "cpr_0101901234"])
def test_cpr_like_values_are_refused_without_showing_them(tmp_path, value):
    cases = CASES_HEADER + ",ref\n" + "".join(
        line + ("," + value if i == 1 else ",x") + "\n" for i, line in enumerate(SMALL_CASES.splitlines()[1:])
    )
    folder = write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases})
    err = assert_rejected(folder, "cases.csv", "column 'ref' has values that look like CPR numbers", [3])
    assert value not in err and value[:6] not in err


def test_a_file_without_header_is_refused_without_showing_the_cpr(tmp_path):
    """Without a header row the first data row becomes the header: a CPR there is named by position."""
    cases = "".join(line + ",010190-1234\n" for line in SMALL_CASES.splitlines()[1:])
    folder = write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases})
    err = assert_rejected(folder, "cases.csv", "column 14 has a header that looks like a CPR number", [])
    assert "010190" not in err


def test_cpr_in_an_optional_table_is_refused_before_other_rules(tmp_path):
    """Identifying data is refused first, even in a table that also breaks another rule."""
    contacts = edit(SMALL_CONTACTS, "C4,2021-06-01", "1506781234,2021-06-01")  # also an unknown case_id
    folder = write_dataset(tmp_path / "data", {**SMALL_TABLES, "contacts": contacts})
    assert_rejected(folder, "contacts.csv", "column 'case_id' has values that look like CPR numbers", [4])


@pytest.mark.parametrize("value", ["3213991234", "0113991234", "3002991234", "C010190123456", "01019012345",
                                   "x0101901234"])
def test_ten_digits_without_a_valid_date_are_not_cpr(tmp_path, value):
    """Day 32, month 13 and 30 February are no dates; longer digit runs and ids with
    letters attached are no CPR numbers either: the extra column loads and is dropped."""
    cases = CASES_HEADER + ",ref\n" + "".join(line + "," + value + "\n" for line in SMALL_CASES.splitlines()[1:])
    ds = load_dataset(write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases}))
    assert "ref" not in ds.cases.columns and len(ds.cases) == 4


def test_cpr_in_parquet_integer_column(tmp_path):
    """A CPR stored as a number loses its leading zero; it is still recognised."""

    folder = write_dataset(tmp_path / "data")
    cases = load_dataset(folder).cases
    cases.assign(person=[101901234, 5, 6, 7]).to_parquet(folder / "cases.parquet", index=False)
    (folder / "cases.csv").unlink()
    with pytest.raises(InputError, match="column 'person' has values that look like CPR numbers") as info:
        load_dataset(folder)
    assert info.value.rows == [2]


@pytest.mark.parametrize("column", ["Navn", "name", "Fornavn", "efternavn", "Fulde navn", "borger_navn", "first_name",
                                    "Adresse", "address_line_1", "Telefon", "telefonnummer", "tlf_nr", "Mobil",
                                    "phone", "e-mail", "Email", "mail", "kontakt_email", "CPR", "cpr_nr"])
def test_identifying_column_names_are_refused(tmp_path, column):
    cases = CASES_HEADER + f", {column} \n" + "".join(line + ",x\n" for line in SMALL_CASES.splitlines()[1:])
    folder = write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases})
    assert_rejected(folder, "cases.csv", f"column '{column}' is named like a name, address, phone, e-mail or CPR", [])


@pytest.mark.parametrize("column", ["case_id", "caseworker_id", "municipality", "municipality_name", "kommunenavn",
                                    "team", "channel", "kind", "mobilitet", "indicator", "exit_reason", "round"])
def test_ordinary_column_names_are_not_identifying(column):
    assert not identifying_column_name(column)


def test_contains_cpr_checks_the_date_part():
    # DDMMYY: 29 February exists in 2000 (YY = 00), not in 2001.
    assert contains_cpr("290200-1234") and not contains_cpr("290201-1234")
    assert contains_cpr("311299-0000") and not contains_cpr("311399-0000")
    assert not contains_cpr("2020-03-01") and not contains_cpr("12345")


# --------------------------------------------------------------------------- e-mail and phone numbers in kept text
# (issue 8, points 13 and 14): every text column the loader keeps, and dataset.yml's name
# and round numbers, are refused when they hold an e-mail address, a phone number or a CPR.

PHONES = ["20112233", "20 11 22 33", "2011 2233", "20-11-22-33", "20.11.22.33", "+4520112233", "+45 20 11 22 33",
          "0045 74123456", "(+45) 7412 3456", "+45-12345678"]
NOT_PHONES = ["2019-04-01", "01.04.2019", "20.11.2019", "2019 2021", "JF20112233", "123456789", "1234 5678",
              "201122334", "kl. 10.30", "3,5 timer", "C20112233", "12345678", "andet job 2019-2021"]


@pytest.mark.parametrize("value", PHONES)
def test_phone_numbers_are_recognised(value):
    assert identifying_text(f"ring {value} i morgen") == "a phone number"
    assert identifying_text(value) == "a phone number"


@pytest.mark.parametrize("value", NOT_PHONES)
def test_dates_years_ids_and_other_numbers_are_not_phone_numbers(value):
    assert identifying_text(value) is None


def test_e_mail_and_cpr_are_recognised():
    assert identifying_text("skriv til anne.hansen@tonder.dk") == "an e-mail address"
    assert identifying_text("Åse+x@kommune.dk") == "an e-mail address"
    assert identifying_text("se 020202-2222") == "a CPR number"
    assert identifying_text("team@") is None and identifying_text("@tonder") is None


# (table, old text, new text with {} for the detail, detail, column, kind, rows)
KEPT_TEXT = {
    "exit_reason phone": ("cases", "flyttet til Århus", "ring {}", "20 11 22 33", "exit_reason", "a phone number", [3]),
    "exit_reason e-mail": ("cases", "flyttet til Århus", "{}", "mads@example.dk", "exit_reason", "an e-mail address",
                           [3]),
    "municipality phone": ("cases", "C3,Albertslund", "C3,{}", "+4520112233", "municipality", "a phone number", [4]),
    "caseworker_id e-mail": ("cases", "C4,København,2,W3", "C4,København,2,{}", "anne@tonder.dk", "caseworker_id",
                             "an e-mail address", [5]),
    "sex phone": ("cases", ",K,60+,", ",{},60+,", "74123456", "sex", "a phone number", [4]),
    "team e-mail": ("goals", "Team Syd,W1", "{},W1", "team@tonder.dk", "team", "an e-mail address", [2]),
    "employee_id phone": ("goals", "Team Syd,W2", "Team Syd,{}", "2011 2233", "employee_id", "a phone number", [3]),
    "indicator phone": ("goals", "jobåbninger", "ring {}", "20112233", "indicator", "a phone number", [2]),
    "case_id e-mail": ("contacts", "C4,2021-06-01", "{},2021-06-01", "a@b.dk", "case_id", "an e-mail address", [4]),
}


@pytest.mark.parametrize("case", sorted(KEPT_TEXT))
def test_kept_text_with_an_e_mail_or_phone_number_is_refused(tmp_path, case):
    table, old, new, detail, column, kind, rows = KEPT_TEXT[case]
    tables = {**SMALL_TABLES, table: edit(SMALL_TABLES[table], old, new.format(detail))}
    folder = write_dataset(tmp_path / "data", tables)
    err = assert_rejected(folder, f"{table}.csv", f"column '{column}' has values with {kind}", rows)
    assert detail not in err and detail.replace(" ", "") not in err


def test_eight_digit_case_numbers_are_not_phone_numbers(tmp_path):
    """case_id is a case number: eight digits are allowed there (the CPR and e-mail checks still apply)."""
    cases = SMALL_CASES.replace("\nC4,", "\n20112233,")
    contacts = SMALL_CONTACTS.replace("C4,", "20112233,")
    ds = load_dataset(write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases, "contacts": contacts}))
    assert "20112233" in set(ds.cases["case_id"])


def test_ordinary_text_with_dates_and_years_loads(tmp_path):
    cases = edit(SMALL_CASES, "flyttet til Århus", "ophørt 01.04.2021 efter 2019 2021 (sag 27.15.00)")
    ds = load_dataset(write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases}))
    assert ds.cases["exit_reason"].iloc[1] == "ophørt 01.04.2021 efter 2019 2021 (sag 27.15.00)"


@pytest.mark.parametrize("name, kind", [("Udtræk 010190-1234", "a CPR number"),
                                        ("Tønder, kontakt anne@tonder.dk", "an e-mail address"),
                                        ("Fleksjob (tlf 74 12 34 56)", "a phone number")])
def test_dataset_name_with_identifying_detail_is_refused(tmp_path, name, kind):
    folder = write_dataset(tmp_path / "data", yml=SMALL_YML.replace("Lille testdatasæt", name))
    err = assert_rejected(folder, "dataset.yml", f"name contains {kind} (identifying data is refused)", [])
    assert "010190" not in err and "anne@" not in err and "74 12" not in err


def test_indicators_and_reports_refuse_a_cpr_in_the_name_too(tmp_path):
    folder = write_dataset(tmp_path / "data", yml=SMALL_YML.replace("Lille testdatasæt", "Lille 0101901234"))
    for args in (["indicators", str(folder), "--json"], ["reports", str(folder), "--out", str(tmp_path / "r")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "0101901234" not in result.output + result.stderr
        assert "dataset.yml" in result.stderr
    assert not (tmp_path / "r").exists()


def test_a_cpr_like_round_number_is_refused(tmp_path):
    """101901234 is 010190-1234 without its leading zero; round labels are printed in reports."""
    yml = SMALL_YML + "  101901234: {start: 2021-01-01, end: 2021-12-31}\n"
    folder = write_dataset(tmp_path / "data", yml=yml)
    err = assert_rejected(folder, "dataset.yml", "rounds: a round number looks like a CPR or phone number", [])
    assert "101901234" not in err


def test_a_name_with_years_loads(tmp_path):
    folder = write_dataset(tmp_path / "data", yml=SMALL_YML.replace("Lille testdatasæt", "Fleksjob 2019 2021"))
    assert load_dataset(folder).name == "Fleksjob 2019 2021"


@pytest.mark.parametrize("header", ["anne@tonder.dk", "20 11 22 33"])
def test_a_header_with_an_e_mail_or_phone_number_is_named_by_position(tmp_path, header):
    """A file whose first data row became its header must not have that row echoed."""
    cases = SMALL_CASES.replace(CASES_HEADER, CASES_HEADER + f",{header}", 1)
    cases = "".join(line + ",x\n" if i else line + "\n" for i, line in enumerate(cases.splitlines()))
    folder = write_dataset(tmp_path / "data", {**SMALL_TABLES, "cases": cases})
    err = assert_rejected(folder, "cases.csv", "column 14 has a header that looks like", [])
    assert header not in err
