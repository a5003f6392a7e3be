"""Input that used to be lost or bent without a word (issue 8, points 5-10).

Each test writes its own small dataset (the conftest one with one defect), and
checks the promise: exit 2, the file and the rows named on stderr, nothing on
stdout and nothing written; or, where the input is admissible, that it loads to
the values written.
"""

from __future__ import annotations

import builtins
import datetime as dt
import io
import json
import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SMALL_CASES, SMALL_GOALS, SMALL_HOURS, SMALL_TABLES, SMALL_YML, write_dataset

from evalkit.cli import main
from evalkit.data.dataset import load_dataset, subset
from evalkit.data.names import MAX_NAME_LENGTH, find_municipality, municipality_key
from evalkit.errors import InputError
from evalkit.runner.plan import _check_request, slug
from evalkit.stats.criteria import load_targets, target_for

HEADER = SMALL_CASES.split("\n", 1)[0]


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture edit {old!r} must match exactly once"
    return text.replace(old, new)


def snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if not p.is_symlink()}


def refused(folder: Path, file: str, words: tuple[str, ...], rows: list[int] | None = None,
            commands=("validate", "indicators")) -> str:
    """Every command exits 2 naming `file` (a path ending so), the rule's words and
    exactly `rows` (header = row 1); nothing on stdout, nothing written anywhere."""
    root = folder.parent
    before = snapshot(root)
    cwd, home = root / "cwd", os.getcwd()
    cwd.mkdir()
    os.chdir(cwd)
    try:
        messages = []
        for command in commands:
            args = [command, str(folder)] + (["--json"] if command == "indicators" else [])
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 2, (args, result.exit_code, result.output, result.exception)
            assert result.stdout == ""
            err = result.stderr
            assert "Traceback" not in err
            assert str(folder / file) in err, err
            for word in words:
                assert word in err, (word, err)
            if rows is not None:
                assert (f"(rows {', '.join(map(str, rows))})" in err) if rows else "(rows" not in err, err
            messages.append(err)
    finally:
        os.chdir(home)
    cwd.rmdir()  # fails if anything was written there
    assert snapshot(root) == before
    return messages[0]


# --------------------------------------------------------------------------- 5: strict CSV quoting

EIGHT_CASES = HEADER + "\n" + "".join(
    f"C{i},Tønder,1,W1,rehab,2019-06-{10 + i},,,,,M,50-59,\n" for i in range(1, 9))


def test_the_eight_case_file_loads_eight_rows(tmp_path):
    ds = load_dataset(write_dataset(tmp_path / "d", {"cases": EIGHT_CASES}))
    assert list(ds.cases["case_id"]) == [f"C{i}" for i in range(1, 9)]


def test_a_quote_that_never_closes_is_refused_at_the_row_it_opens(tmp_path):
    """Before: the field swallowed rows 4-9 and 8 rows loaded as 3, exit 0."""
    cases = edit(EIGHT_CASES, "C3,Tønder,1,W1,rehab,2019-06-13,,,,,", 'C3,Tønder,1,W1,rehab,2019-06-13,,,,"flyttet,')
    folder = write_dataset(tmp_path / "d", {"cases": cases})
    refused(folder, "cases.csv", ("never closed", "end of the file"), [4])


def test_a_quote_closed_rows_later_in_the_same_column_is_refused(tmp_path):
    """The swallowed record has the header's number of fields, so only the line count shows it."""
    cases = edit(EIGHT_CASES, "C3,Tønder,1,W1,rehab,2019-06-13,,,,,", 'C3,Tønder,1,W1,rehab,2019-06-13,,,,"syg,')
    cases = edit(cases, "C6,Tønder,1,W1,rehab,2019-06-16,,,,,", 'C6,Tønder,1,W1,rehab,2019-06-16,,,,syg",')
    folder = write_dataset(tmp_path / "d", {"cases": cases})
    refused(folder, "cases.csv", ("runs over 4 lines",), [4])


def test_a_line_break_inside_a_quoted_cell_is_refused(tmp_path):
    cases = edit(SMALL_CASES, "flyttet til Århus", '"flyttet\ntil Århus"')
    refused(write_dataset(tmp_path / "d", {"cases": cases}), "cases.csv", ("line break",), [3])


def test_text_after_a_closing_quote_is_refused(tmp_path):
    cases = edit(SMALL_CASES, "flyttet til Århus", '"flyttet" til Århus')
    refused(write_dataset(tmp_path / "d", {"cases": cases}), "cases.csv", ("closing quote",), [3])


def test_quoted_fields_with_separators_and_doubled_quotes_still_load(tmp_path):
    cases = edit(SMALL_CASES, "flyttet til Århus", '"flyttet, ""til"" Århus"')
    ds = load_dataset(write_dataset(tmp_path / "d", {"cases": cases}))
    assert ds.cases.loc[1, "exit_reason"] == 'flyttet, "til" Århus'
    assert len(ds.cases) == 4


# --------------------------------------------------------------------------- 6: XLSX sheets and formulas


def rows_of(text: str) -> list[list]:
    return [line.split(",") for line in text.strip().split("\n")]


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append([None if v == "" else v for v in row])
    book.save(path)


def xlsx_dataset(folder: Path, sheets: dict[str, list[list]]) -> Path:
    write_dataset(folder, {"cases": None, "hours": None, "contacts": None, "goals": None})
    write_xlsx(folder / "cases.xlsx", sheets)
    return folder


def test_a_formula_cell_without_a_saved_value_is_refused_naming_sheet_and_cell(tmp_path):
    """Before: the exit_date read as empty and a citizen who left counted as active."""
    rows = rows_of(SMALL_CASES)
    rows[3][8] = "=DATE(2020,2,28)"  # C3's exit_date (column I, row 4); openpyxl saves no value
    folder = xlsx_dataset(tmp_path / "d", {"Ark1": rows})
    err = refused(folder, "cases.xlsx", ("formula", "'Ark1'", "I4"), [4])
    assert "DATE(" not in err


def test_data_on_two_sheets_is_refused_naming_the_sheets(tmp_path):
    """Before: the second sheet's cases were dropped."""
    rows = rows_of(SMALL_CASES)
    folder = xlsx_dataset(tmp_path / "d", {"Runde 1": rows[:4], "Runde 2": [rows[0], rows[4]], "Tom": []})
    refused(folder, "cases.xlsx", ("more than one sheet", "'Runde 1'", "'Runde 2'", "name its sheet cases"), [])


def test_a_sheet_named_after_the_table_is_used(tmp_path):
    rows = rows_of(SMALL_CASES)
    folder = xlsx_dataset(tmp_path / "d", {"Noter": [["kommentar"], ["intern"]], " Cases ": rows})
    assert list(load_dataset(folder).cases["case_id"]) == ["C1", "C2", "C3", "C4"]


def test_the_only_sheet_with_data_is_used_even_when_not_first(tmp_path):
    folder = xlsx_dataset(tmp_path / "d", {"Forside": [], "Data": rows_of(SMALL_CASES)})
    assert list(load_dataset(folder).cases["case_id"]) == ["C1", "C2", "C3", "C4"]


def test_values_under_an_empty_header_cell_are_refused(tmp_path):
    rows = rows_of(SMALL_CASES)
    rows[2].append("note")  # C2's row has a value right of the header
    refused(xlsx_dataset(tmp_path / "d", {"Ark1": rows}), "cases.xlsx", ("without a name",), [3])


# --------------------------------------------------------------------------- 7: one key per municipality


@pytest.mark.parametrize("variant, kind", [
    ("TØNDER", "case"), ("Toender", "æ/ø/å"), ("tønder ", "case"), ("tØnder", "case"),
    ("Tønder.", "slug"), ("Ｔønder", "NFKC"),
])
def test_spelling_variants_of_one_municipality_are_refused(tmp_path, variant, kind):
    """Before: validate and reports kept them apart (two reports on one file name), indicators merged them."""
    cases = edit(SMALL_CASES, "C2,Tønder,", f"C2,{variant},")
    cases += "C5,Tønder,1,W1,rehab,2019-06-10,,,,,M,50-59,\n"
    refused(write_dataset(tmp_path / "d", {"cases": cases}), "cases.csv", ("more than one way",), [2, 3])


def test_variants_are_named_by_every_row_of_the_rarer_spelling(tmp_path):
    cases = SMALL_CASES.replace("C3,Albertslund", "C3,Aabenraa").replace("C4,København", "C4,Åbenrå")
    cases += "C5,Aabenraa,1,W2,rehab,2019-06-10,,,,,M,50-59,\nC6,Åbenrå,1,W2,rehab,2019-06-10,,,,,M,50-59,\n"
    cases += "C7,Åbenrå,1,W2,rehab,2019-06-10,,,,,M,50-59,\n"
    refused(write_dataset(tmp_path / "d", {"cases": cases}), "cases.csv", ("more than one way",), [4, 5, 6],
            commands=("validate",))


def test_a_municipality_without_letters_is_refused(tmp_path):
    cases = edit(SMALL_CASES, "C3,Albertslund,", "C3,--,")
    refused(write_dataset(tmp_path / "d", {"cases": cases}), "cases.csv", ("no letter or digit",), [4])


def test_the_key(tmp_path):
    assert {municipality_key(n) for n in ("Tønder", "TØNDER", "Toender", " tønder", "TOENDER", "Tǿnder")} == {"toender"}
    assert municipality_key("Lyngby-Taarbæk") == municipality_key("lyngby taarbaek") == "lyngby-taarbaek"
    assert municipality_key("Åbenrå") == municipality_key("Aabenraa") == municipality_key("A\u030abenra\u030a")
    assert municipality_key("Høje-Taastrup") != municipality_key("Hoje-Taastrup")  # a guess would be needed
    assert slug("Tønder") == "toender" and slug("Ærø") == "aeroe"


def test_municipality_option_matches_by_the_key_in_every_command(small_dataset):
    """Before: `indicators --municipality toender` was exit 2 while reports knew "Tønder" only."""
    runner = CliRunner()
    by_name = runner.invoke(main, ["indicators", str(small_dataset), "--municipality", "Tønder", "--json"])
    assert by_name.exit_code == 0, by_name.output
    expected = json.loads(by_name.stdout)
    assert expected["n_cases"] == 2
    for variant in ("toender", "TØNDER", " tønder ", "Toender"):
        result = runner.invoke(main, ["indicators", str(small_dataset), "--municipality", variant, "--json"])
        assert result.exit_code == 0, (variant, result.output)
        assert json.loads(result.stdout) == expected
    ds = load_dataset(small_dataset)
    assert _check_request(ds, ["toender", "TØNDER"]) == ["Tønder"]
    assert _check_request(ds, ["koebenhavn", "Albertslund"]) == ["København", "Albertslund"]
    assert subset(ds, municipality="TOENDER").cases["case_id"].tolist() == ["C1", "C2"]
    assert find_municipality(ds.cases["municipality"], "tønder") == "Tønder"


def test_an_unknown_municipality_is_exit_2_listing_the_known_names(small_dataset):
    for command in (["indicators", str(small_dataset)], ["reports", str(small_dataset), "--out",
                                                         str(small_dataset.parent / "out")]):
        result = CliRunner().invoke(main, command + ["--municipality", "Tonder"])
        assert result.exit_code == 2, result.output
        assert "unknown municipality" in result.stderr and "Albertslund, København, Tønder" in result.stderr
    assert not (small_dataset.parent / "out").exists()


def test_a_targets_file_matches_municipalities_by_the_key(small_dataset, tmp_path):
    """Before: a target for "Toender" silently did not apply to "Tønder"."""
    targets = tmp_path / "targets.yml"
    targets.write_text("municipalities:\n  toender: {sc1: 0.5}\n", encoding="utf-8")
    assert target_for(load_targets(targets), "sc1", municipality="Tønder") == 0.5
    result = CliRunner().invoke(main, ["indicators", str(small_dataset), "--municipality", "TØNDER",
                                       "--targets", str(targets), "--json"])
    assert json.loads(result.stdout)["sc1"]["target"] == 0.5
    targets.write_text("municipalities:\n  toender: {sc1: 0.5}\n  Tønder: {sc1: 0.4}\n", encoding="utf-8")
    with pytest.raises(InputError, match="more than one way"):
        load_targets(targets)


# --------------------------------------------------------------------------- 8: dataset.yml


@pytest.mark.parametrize("yml, words", [
    (SMALL_YML.replace("2021-12-31\n", "2921-12-31\n", 1), ("extraction_date", "plausible")),
    (SMALL_YML.replace("2021-12-31\n", "1921-12-31\n", 1), ("extraction_date", "plausible")),
    (SMALL_YML.replace("2021-12-31\n", "2021-12-31 10:00:00+01:00\n", 1), ("extraction_date", "time zone")),
    (SMALL_YML.replace("2021-12-31\n", "2021-12-31T00:00:00\n", 1), ("extraction_date", "time")),
    (SMALL_YML.replace("2021-12-31\n", "[2021, 12, 31]\n", 1), ("extraction_date", "not a date")),
    (SMALL_YML.replace("name: Lille testdatasæt", "name: 2021"), ("name must be text",)),
    (SMALL_YML.replace("name: Lille testdatasæt", "name: [a, b]"), ("name must be text",)),
    (SMALL_YML.replace("name: Lille testdatasæt", "name: " + "x" * 201), ("name longer than 200",)),
    (SMALL_YML.replace("name: Lille testdatasæt", 'name: "Lille\\ntestdatasæt"'), ("one line",)),
    (SMALL_YML.replace("rounds:", "round:"), ("unknown key 'round'",)),
    (SMALL_YML + "name: Andet navn\n", ("key is given twice",)),
    (SMALL_YML.replace("  1: {", "  true: {"), ("not an integer",)),
    (SMALL_YML.replace("  1: {", "  1.5: {"), ("not an integer",)),
    (SMALL_YML.replace("  1: {", '  "1": {'), ("not an integer",)),
    (SMALL_YML.replace("end: 2020-09-30", "end: 2020-09-30, slut: 2020-10-01"), ("exactly start and end",)),
    (SMALL_YML.replace("end: 2020-09-30", "end: 20200-09-30"), ("rounds 1 end", "not a date")),
    (SMALL_YML.replace("start: 2019-04-01", "start: 1019-04-01"), ("rounds 1 start", "plausible")),
    (SMALL_YML.replace("rounds:\n", "rounds: []\n").split("  1:")[0], ("rounds must map",)),
    ("- name\n- extraction_date\n", ("must be a mapping",)),
    ("name: [unclosed\n", ("YAML", "line")),
    (SMALL_YML.replace("2021-12-31\n", "2021-02-30\n", 1), ("date that does not exist",)),
    ("name: Lille\xf8\nextraction_date: 2021-12-31\n".encode("latin-1"), ("UTF-8",)),
    ("name: " + "[" * 5000 + "\n", ("YAML",)),
])
def test_dataset_yml_is_validated_fully(tmp_path, yml, words):
    """Before: a year 2921 or a time zone passed validate and crashed indicators with a traceback."""
    folder = write_dataset(tmp_path / "d", yml="")
    (folder / "dataset.yml").write_bytes(yml if isinstance(yml, bytes) else yml.encode("utf-8"))
    refused(folder, "dataset.yml", words, [])


def test_yaml_aliases_are_refused(tmp_path):
    """A 'billion laughs' file: before, `name` expanded to a huge text and was accepted."""
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for level in "bcde":
        prev = chr(ord(level) - 1)
        laughs += f"{level}: &{level} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    yml = laughs + "name: *e\nextraction_date: 2021-12-31\n"
    refused(write_dataset(tmp_path / "d", yml=yml), "dataset.yml", ("anchors and aliases",), [])
    refused(write_dataset(tmp_path / "e", yml="name: &n Lille\nextraction_date: 2021-12-31\n"), "dataset.yml",
            ("anchors and aliases", "line 1"), [])


def test_a_large_dataset_yml_is_refused(tmp_path):
    yml = SMALL_YML + "#" + "x" * (64 * 1024) + "\n"
    refused(write_dataset(tmp_path / "d", yml=yml), "dataset.yml", ("larger than 64 KiB",), [])


def test_extraction_date_bounds_and_text_dates(tmp_path):
    next_year = dt.date.today() + dt.timedelta(days=365)
    for text, expected in ((f"{next_year:%Y-%m-%d}", pd.Timestamp(next_year)), ("'31.12.2021'", pd.Timestamp("2021-12-31"))):
        yml = SMALL_YML.replace("2021-12-31\n", f"{text}\n", 1)
        folder = write_dataset(tmp_path / text.strip("'"), yml=yml)
        assert load_dataset(folder).extraction_date == expected
    early = {"cases": HEADER + "\nC1,Tønder,1,W1,rehab,1999-12-01,,,,,M,50-59,\n", "hours": None, "contacts": None}
    folder = write_dataset(tmp_path / "early", early, yml="name: Tidlig\nextraction_date: 2000-01-01\n")
    assert load_dataset(folder).extraction_date == pd.Timestamp("2000-01-01")
    folder = write_dataset(tmp_path / "too-early", early, yml="name: Tidlig\nextraction_date: 1999-12-31\n")
    refused(folder, "dataset.yml", ("plausible",), [])


def test_cases_entering_after_the_extraction_date_are_refused(tmp_path):
    """Before: a case that had not started yet was counted."""
    cases = edit(SMALL_CASES, "C4,København,2,W3,ledighedsydelse,2020-11-02,2020-08-03",
                 "C4,København,2,W3,ledighedsydelse,2022-01-01,2020-08-03")
    cases = edit(cases, "C2,Tønder,1,W1,rehab,2019-06-10,,,2020-02-28",
                 "C2,Tønder,1,W1,rehab,2022-06-10,,,2022-07-28")
    refused(write_dataset(tmp_path / "d", {"cases": cases}), "cases.csv", ("project_entry after the extraction_date",),
            [3, 5])


def test_a_case_entering_on_the_extraction_date_is_kept(tmp_path):
    cases = edit(SMALL_CASES, "2020-11-02,2020-08-03", "2021-12-31,2020-08-03")
    assert len(load_dataset(write_dataset(tmp_path / "d", {"cases": cases})).cases) == 4


# --------------------------------------------------------------------------- 9: thousands separators, odd files


def semicolon(text: str) -> str:
    return text.replace(",", ";")


def test_a_dot_grouping_thousands_in_a_decimal_comma_file_is_refused(tmp_path):
    """Before: 1.607 in a ';' file read as 1.607 hours; a Danish reader means 1607 (or 1,607)."""
    hours = semicolon(SMALL_HOURS).replace("10.25", "10,25").replace("4.5", "4,5").replace("7.5", "7,5")
    hours = edit(hours, "C1;2019-12-01;5;", "C1;2019-12-01;1.607;")
    hours = edit(hours, "C3;2019-04-15;3;3", "C3;2019-04-15;3;3.000")
    refused(write_dataset(tmp_path / "d", {**SMALL_TABLES, "hours": hours}), "hours.csv", ("thousands separator",), [3],
            commands=("validate",))
    hours = edit(hours, "C1;2019-12-01;1.607;", "C1;2019-12-01;5;")
    refused(write_dataset(tmp_path / "e", {**SMALL_TABLES, "hours": hours}), "hours.csv",
            ("thousands separator in attended_hours",), [4])


def test_unambiguous_decimal_marks_still_load(tmp_path):
    hours = semicolon(SMALL_HOURS).replace("4.5", "4,5").replace("7.5", "7,5")  # 10.25 stays: not a grouping
    assert load_dataset(write_dataset(tmp_path / "d", {**SMALL_TABLES, "hours": hours})).hours["effective_hours"].tolist() == \
        [4.5, 5.0, 3.0, 10.25]
    goals = edit(SMALL_GOALS, "jobåbninger,2,3", "jobåbninger,1607,3")
    assert load_dataset(write_dataset(tmp_path / "e", {**SMALL_TABLES, "goals": goals})).goals["realised"].tolist() == [1607, 12]


def test_a_comma_grouping_thousands_in_a_comma_file_is_refused(tmp_path):
    goals = edit(SMALL_GOALS, "jobåbninger,2,3", 'jobåbninger,"1,607",3')
    refused(write_dataset(tmp_path / "d", {**SMALL_TABLES, "goals": goals}), "goals.csv", ("thousands separator in realised",), [2])


@pytest.mark.parametrize("make", ["folder", "dangling link", "link to a folder"])
def test_a_table_name_that_is_not_a_file_is_refused(tmp_path, make):
    """Before: `hours.csv/` or a broken `hours.parquet` link was skipped and the hours silently missing."""
    folder = write_dataset(tmp_path / "d", {**SMALL_TABLES, "hours": None})
    target = folder / "hours.parquet"
    if make == "folder":
        target.mkdir()
    elif make == "dangling link":
        target.symlink_to(tmp_path / "nowhere.parquet")
    else:
        (tmp_path / "elsewhere").mkdir()
        target.symlink_to(tmp_path / "elsewhere")
    refused(folder, "hours.parquet", ("named like the hours table",), [])


# --------------------------------------------------------------------------- 10: unreadable input, long names


@pytest.fixture
def unreadable(monkeypatch):
    """Make opening one path fail with 'Permission denied' (the tests may run as root,
    who can read a file whatever its mode)."""
    denied = set()
    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)) and Path(file).resolve() in denied:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    return lambda path: denied.add(Path(path).resolve())


@pytest.mark.parametrize("file", ["cases.csv", "hours.csv", "dataset.yml"])
def test_an_unreadable_file_is_exit_2_naming_it(small_dataset, unreadable, file):
    """Before: a PermissionError traceback, exit 1."""
    unreadable(small_dataset / file)
    refused(small_dataset, file, ("cannot read the file", "Permission denied"), [])


def test_a_folder_named_dataset_yml_is_named(tmp_path):
    folder = write_dataset(tmp_path / "d", yml=None)
    (folder / "dataset.yml").mkdir()
    refused(folder, "dataset.yml", ("cannot read the file",), [])


def test_a_dataset_that_is_not_a_folder(tmp_path):
    (tmp_path / "data.csv").write_text(SMALL_CASES, encoding="utf-8")
    for path in (tmp_path / "data.csv", tmp_path / "missing"):
        result = CliRunner().invoke(main, ["validate", str(path)])
        assert result.exit_code == 2 and str(path) in result.stderr and "not a dataset folder" in result.stderr


def test_long_municipality_and_team_names_are_refused(tmp_path):
    """Before: a 300-character name loaded and crashed the report run on its file name."""
    long = "Ø" * (MAX_NAME_LENGTH + 1)
    cases = edit(SMALL_CASES, "C3,Albertslund,", f"C3,{long},")
    err = refused(write_dataset(tmp_path / "d", {"cases": cases}), "cases.csv",
                  (f"municipality longer than {MAX_NAME_LENGTH} characters",), [4])
    assert long not in err
    goals = edit(SMALL_GOALS, "Team Syd,W2", f"{'T' * 300},W2")
    refused(write_dataset(tmp_path / "e", {**SMALL_TABLES, "goals": goals}), "goals.csv", ("team longer than",), [3])
    cases = edit(SMALL_CASES, "C3,Albertslund,", f"C3,{'Ø' * MAX_NAME_LENGTH},")
    assert len(load_dataset(write_dataset(tmp_path / "f", {"cases": cases})).cases) == 4


def test_a_formula_cell_with_a_saved_value_loads_that_value(tmp_path):
    """What Excel writes: the formula and its last value; the value is read."""
    import zipfile

    rows = rows_of(SMALL_GOALS)
    rows[1][4] = "=1+1"  # W1's realised (E2)
    folder = write_dataset(tmp_path / "d", {**SMALL_TABLES, "goals": None})
    plain = tmp_path / "plain.xlsx"
    write_xlsx(plain, {"Ark1": rows})
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(folder / "goals.xlsx", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert data.count(b"<f>1+1</f><v />") == 1
                data = data.replace(b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>")
            dst.writestr(item, data)
    assert load_dataset(folder).goals["realised"].tolist() == [2, 12]


def test_pseudonymise_names_an_unreadable_raw_file(tmp_path, unreadable):
    from test_pseudonymise import write_key, write_raw

    raw = write_raw(tmp_path / "raw")
    key = write_key(tmp_path / "secret.key")
    unreadable(raw / "hours.csv")
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file", str(key)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert str(raw / "hours.csv") in result.stderr and "Permission denied" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_an_unlistable_dataset_folder_is_exit_2_naming_it(small_dataset, monkeypatch):
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self.resolve() == small_dataset.resolve():
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    result = CliRunner().invoke(main, ["validate", str(small_dataset)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert f"{small_dataset}: cannot read the folder (Permission denied)" in result.stderr
