"""Property-based tests of the loader against hostile input (SPEC section 1, "Rejected input").

hypothesis builds small valid datasets as Python values, writes them as CSV the
way municipalities export them, then breaks them: missing and extra columns,
wrong types, mixed date formats, empty files, header-only files, duplicate ids,
non-UTF-8 bytes, huge values, ragged rows, identifying columns, e-mail addresses
and phone numbers in kept text, unbalanced
quotes, workbooks with several sheets or unsaved formulas, municipality names
spelled in several ways, and dataset.yml with aliases, odd types and dates. Each example
must either load with exactly the typed frames built here from the Python values
(never from the loader's output), or raise InputError naming the file, the rule
and the rows (header = row 1) without showing values; never another exception.
On error the command line exits 2, prints nothing on stdout and writes nothing.

Bounded and reproducible for CI: derandomize=True, no example database, small
max_examples (the file runs in about a minute on an idle machine).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import string
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from evalkit.cli import main
from evalkit.data.dataset import load_dataset
from evalkit.data.privacy import identifying_column_name
from evalkit.data.schema import CASE_COLUMNS, CONTACT_COLUMNS, GOAL_COLUMNS, HOURS_COLUMNS
from evalkit.errors import InputError

COLUMNS = {"cases": CASE_COLUMNS, "hours": HOURS_COLUMNS, "contacts": CONTACT_COLUMNS, "goals": GOAL_COLUMNS}
REQUIRED = {
    "cases": ("case_id", "municipality", "round", "caseworker_id", "target_group", "project_entry"),
    "hours": ("case_id", "month", "effective_hours"),
    "contacts": ("case_id", "date", "channel", "kind"),
    "goals": ("team", "employee_id", "week", "indicator", "realised", "target"),
}
MUNICIPALITIES = ("Tønder", "Albertslund", "Frederikshavn", "København", "Helsingør", "Faxe")
CHANNELS = ("fysisk", "telefon", "digital", "virksomhedsbesøg")
KINDS = ("samtale", "opfølgning", "step_up")
DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
E = "2021-12-31"
BASE = dt.date(2019, 4, 1)


def bounded(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),  # no "explain" phase: slow, and CI needs no more
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --------------------------------------------------------------------------- valid datasets as Python values


def _day(offset: int) -> dt.date:
    return BASE + dt.timedelta(days=offset)


@st.composite
def datasets(draw, max_cases: int = 5):
    """{table: list of row dicts (Python values, None = missing)} that satisfies every rule."""
    n = draw(st.integers(1, max_cases))
    cases, hours, contacts = [], [], []
    for i in range(n):
        target = draw(st.sampled_from(("rehab", "ledighedsydelse", "fleksjob")))
        entry = _day(draw(st.integers(0, 900)))
        benefit = None
        if target == "ledighedsydelse":
            benefit = entry - dt.timedelta(days=draw(st.integers(-60, 400)))
        if target == "fleksjob":
            flexjob = entry + dt.timedelta(days=draw(st.integers(-300, 300)))
        else:
            earliest = max(entry, benefit or entry)
            flexjob = draw(st.none() | st.integers(0, 400).map(lambda d: earliest + dt.timedelta(days=d)))
        exit_ = draw(st.none() | st.integers(0, 500).map(lambda d: entry + dt.timedelta(days=d)))
        cases.append({
            "case_id": f"K{i:03d}",
            "municipality": draw(st.sampled_from(MUNICIPALITIES)),
            "round": draw(st.sampled_from((1, 2))),
            "caseworker_id": draw(st.sampled_from(("W1", "W2", "W3"))),
            "target_group": target,
            "project_entry": entry,
            "benefit_start": benefit,
            "flexjob_start": flexjob,
            "exit_date": exit_,
            "exit_reason": draw(st.none() | st.sampled_from(("flyttet", "syg", "pension", "andet job"))),
            "sex": draw(st.none() | st.sampled_from(("K", "M"))),
            "age_band": draw(st.none() | st.sampled_from(("18-29", "30-39", "40-49", "50-59", "60+"))),
        })
        months = draw(st.sets(st.integers(0, 30), min_size=1 if i == 0 else 0, max_size=3))
        for m in sorted(months):
            effective = draw(st.integers(0, 148)) / 4  # quarter hours: exact in binary and in text
            attended = draw(st.none() | st.integers(int(effective * 4), 148).map(lambda q: q / 4))
            first = dt.date(entry.year + (entry.month - 1 + m) // 12, (entry.month - 1 + m) % 12 + 1, 1)
            hours.append({"case_id": f"K{i:03d}", "month": first, "effective_hours": effective,
                          "attended_hours": attended})
        for _ in range(draw(st.integers(1 if i == 0 else 0, 2))):
            contacts.append({"case_id": f"K{i:03d}", "date": entry + dt.timedelta(days=draw(st.integers(0, 300))),
                             "channel": draw(st.none() | st.sampled_from(CHANNELS)),
                             "kind": draw(st.sampled_from(KINDS))})
    goals = [{"team": draw(st.sampled_from(("Team Nord", "Team Syd"))), "employee_id": f"W{j}",
              "week": f"2020-W{draw(st.integers(1, 52)):02d}", "indicator": "virksomhedskontakter",
              "realised": draw(st.integers(0, 40)), "target": draw(st.integers(0, 40))}
             for j in range(draw(st.integers(1, 3)))]
    return {"cases": cases, "hours": hours, "contacts": contacts, "goals": goals}


def expected_frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """The typed frame SPEC promises, built directly from the Python values:
    dates datetime64[ns] (NaT), text object (NaN), round/realised/target int64, hours float64."""
    out = {}
    for column, kind in COLUMNS[table].items():
        values = [r.get(column) for r in rows]
        if kind == "date":
            out[column] = pd.Series([pd.Timestamp(v) if v is not None else pd.NaT for v in values],
                                    dtype="datetime64[ns]")
        elif kind == "int":
            out[column] = pd.Series(values, dtype="int64")
        elif kind == "float":
            out[column] = pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
        else:
            out[column] = pd.Series([np.nan if v is None else v for v in values], dtype=object)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- writing CSV as exported


class Style:
    """How a dataset is written: separator, encoding, line ends, date format per column."""

    def __init__(self, sep=",", encoding="utf-8", newline="\n", date_format="%Y-%m-%d", mixed_dates=None):
        self.sep, self.encoding, self.newline = sep, encoding, newline
        self.date_format = date_format
        self.mixed_dates = mixed_dates  # iterator of formats, one per date cell, or None

    def render(self, value) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.date):
            fmt = next(self.mixed_dates) if self.mixed_dates is not None else self.date_format
            return value.strftime(fmt)
        if isinstance(value, float):
            text = repr(value)
            return text.replace(".", ",") if self.sep == ";" else text
        return str(value)


def csv_bytes(header: list[str], cells: list[list[str]], style: Style) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=style.sep, lineterminator=style.newline)
    writer.writerow(header)
    writer.writerows(cells)
    return buf.getvalue().encode(style.encoding)


def table_cells(table: str, rows: list[dict], style: Style) -> tuple[list[str], list[list[str]]]:
    header = list(COLUMNS[table])
    return header, [[style.render(r.get(c)) for c in header] for r in rows]


def yml_text(with_rounds: bool) -> str:
    text = f"name: Hostile input\nextraction_date: {E}\n"
    if with_rounds:
        text += "rounds:\n  1: {start: 2019-04-01, end: 2020-09-30}\n  2: {start: 2020-10-01, end: 2021-12-31}\n"
    return text


def write_dataset(folder: Path, data: dict, style: Style | None = None, with_rounds: bool = True,
                  override: dict[str, bytes] | None = None) -> Path:
    """Write the dataset; `override` gives raw bytes for some tables."""
    style = style or Style()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yml").write_text(yml_text(with_rounds), encoding="utf-8")
    for table, rows in data.items():
        if override and table in override:
            (folder / f"{table}.csv").write_bytes(override[table])
        else:
            (folder / f"{table}.csv").write_bytes(csv_bytes(*table_cells(table, rows, style), style))
    return folder


# --------------------------------------------------------------------------- the two admissible outcomes


def snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def assert_loaded_exactly(folder: Path, data: dict) -> None:
    ds = load_dataset(folder)
    for table, rows in data.items():
        pd.testing.assert_frame_equal(getattr(ds, table), expected_frame(table, rows), check_dtype=True)


def assert_refused(folder: Path, file: str, rows: list[int] | None = None, words: tuple[str, ...] = (),
                   secret: str | None = None, cli: bool = True) -> InputError:
    """load_dataset raises InputError naming `file`, a rule, and (when given) exactly `rows`;
    the CLI exits 2 with nothing on stdout and nothing written."""
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    err = info.value
    assert Path(err.file).name == file, (err.file, file)
    assert err.rule.strip()
    message = str(err)
    assert file in message and err.rule in message
    for word in words:
        assert word in err.rule, (word, err.rule)
    if rows is not None:
        assert err.rows == rows, (err.rows, rows, err.rule)
        if rows:
            assert "rows " + ", ".join(map(str, rows[:10])) in message
        else:
            assert "(rows" not in message
    if secret is not None:
        assert secret not in message
    if cli:
        before = snapshot(folder.parent)
        cwd, home = folder.parent / "cwd", os.getcwd()
        cwd.mkdir()
        os.chdir(cwd)  # nothing may be written to the working folder either
        try:
            for args in (["validate", str(folder)], ["indicators", str(folder), "--json"]):
                result = CliRunner().invoke(main, args)
                assert result.exit_code == 2, (args, result.exit_code, result.output, result.exception)
                assert result.stdout == ""
                assert file in result.stderr
        finally:
            os.chdir(home)
        cwd.rmdir()  # fails if anything was written there
        assert snapshot(folder.parent) == before
    return err


def loads_or_refuses(folder: Path, *files: str) -> tuple[object, InputError | None]:
    """Either outcome is allowed (a refusal naming one of `files` and a rule); any other
    exception fails the test."""
    try:
        return load_dataset(folder), None
    except InputError as err:
        assert Path(err.file).name in files and err.rule.strip(), err
        return None, err


# --------------------------------------------------------------------------- properties


@bounded(40)
@given(
    data=datasets(),
    sep=st.sampled_from((",", ";")),
    encoding=st.sampled_from(("utf-8", "utf-8-sig", "cp1252")),
    newline=st.sampled_from(("\n", "\r\n")),
    date_format=st.sampled_from(DATE_FORMATS),
    with_rounds=st.booleans(),
    rnd=st.randoms(use_true_random=False),
    extra=st.lists(st.text(string.ascii_lowercase, min_size=3, max_size=8).map(lambda s: "x_" + s)
                   .filter(lambda s: not identifying_column_name(s)), max_size=3, unique=True),
)
def test_every_spec_variant_loads_exactly(data, sep, encoding, newline, date_format, with_rounds, rnd, extra):
    """Separators, encodings, BOM, CRLF, each date format, decimal commas, column names in any
    case with spaces and tabs around them, columns in any order, extra columns, padded
    values and codes in capitals: all load to the same typed frames."""
    style = Style(sep, encoding, newline, date_format)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data, style, with_rounds)
        for table, rows in data.items():
            header, cells = table_cells(table, rows, style)
            header = [rnd.choice((" ", "\t", "")) + "".join(rnd.choice((c.lower(), c.upper())) for c in name)
                      + rnd.choice((" ", "  ", "")) for name in header]
            cells = [[f" {v} " if v and rnd.random() < 0.3 else v for v in row] for row in cells]
            if table == "cases":
                cells = [[v.upper() if header[j].strip().lower() == "target_group" and rnd.random() < 0.3 else v
                          for j, v in enumerate(row)] for row in cells]
            header += extra
            cells = [row + ["fri tekst"] * len(extra) for row in cells]
            order = list(range(len(header)))
            rnd.shuffle(order)
            header = [header[j] for j in order]
            cells = [[row[j] for j in order] for row in cells]
            (folder / f"{table}.csv").write_bytes(csv_bytes(header, cells, style))
        assert_loaded_exactly(folder, data)


@bounded(20)
@given(data=datasets(), formats=st.lists(st.sampled_from(DATE_FORMATS), min_size=200, max_size=200))
def test_mixed_date_formats_in_one_column(data, formats):
    """Every date cell in its own format. Each format is unambiguous, so the loader may read
    them all, but it may also refuse; if it loads, every date is right."""
    style = Style(mixed_dates=iter(formats))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data, style)
        ds, err = loads_or_refuses(folder, "cases.csv", "hours.csv", "contacts.csv")
        if err is None:
            assert_loaded_exactly(folder, data)
        else:
            assert "date" in err.rule and err.rows


@bounded(15)
@given(data=datasets(max_cases=3), choice=st.data())
def test_missing_required_column(data, choice):
    table = choice.draw(st.sampled_from(tuple(REQUIRED)))
    column = choice.draw(st.sampled_from(REQUIRED[table]))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data)
        header, cells = table_cells(table, data[table], Style())
        j = header.index(column)
        (folder / f"{table}.csv").write_bytes(
            csv_bytes(header[:j] + header[j + 1:], [r[:j] + r[j + 1:] for r in cells], Style()))
        assert_refused(folder, f"{table}.csv", rows=[], words=("missing", column))


# Values of the wrong type for each kind of column; none is valid, none looks like a CPR.
JUNK = {
    "date": ("2020/01/15", "31-02-2020", "2020-13-01", "15.01.20", "i går", "2020-01-15T10:00", "20200115x"),
    "float": ("abc", "1.2.3", "--3", "nan", "inf", "1e400", "12 timer"),
    "int": ("1.5", "to", "1e400", "nan", "2,5"),
    "str": None,
}
CODES = {("cases", "target_group"): ("visiteret", "rehab2"), ("contacts", "channel"): ("brev",),
         ("contacts", "kind"): ("møde", "stepup")}
TYPED = [(t, c) for t, cols in COLUMNS.items() for c, k in cols.items() if k != "str"] + list(CODES)


@bounded(40)
@given(data=datasets(), choice=st.data(), sep=st.sampled_from((",", ";")),
       blank=st.lists(st.integers(0, 8), max_size=3))
def test_a_cell_of_the_wrong_type_is_refused_with_its_row(data, choice, sep, blank):
    """A bad value in any typed or coded column is refused naming the column and its row as a
    person counts lines in the file (blank lines included, header = 1), never showing the value."""
    table, column = choice.draw(st.sampled_from(TYPED))
    rows = data[table]
    kind = COLUMNS[table][column]
    junk = choice.draw(st.sampled_from(CODES.get((table, column)) or JUNK[kind]))
    i = choice.draw(st.integers(0, len(rows) - 1))
    style = Style(sep=sep)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data, style)
        header, cells = table_cells(table, rows, style)
        cells[i][header.index(column)] = junk
        lines = csv_bytes(header, cells, style).decode().split("\n")
        for position in sorted(blank, reverse=True):  # blank lines before data line `position`
            lines.insert(1 + min(position, len(cells)), "")
        (folder / f"{table}.csv").write_bytes("\n".join(lines).encode())
        row = 2 + i + sum(1 for position in blank if min(position, len(cells)) <= i)
        # the rule names the column (goals' negative checks say "realised"/"target" too)
        assert_refused(folder, f"{table}.csv", rows=[row], words=(column,),
                       secret=junk if len(junk) >= 4 else None)


@bounded(15)
@given(data=datasets(), choice=st.data())
def test_duplicate_case_ids_are_refused_with_their_rows(data, choice):
    cases = data["cases"]
    assume(len(cases) >= 2)
    i, j = sorted(choice.draw(st.lists(st.integers(0, len(cases) - 1), min_size=2, max_size=2, unique=True)))
    dup = [dict(r) for r in cases]
    old = dup[j]["case_id"]
    dup[j]["case_id"] = dup[i]["case_id"]
    other = {t: [r for r in rows if r.get("case_id") != old] for t, rows in data.items() if t != "cases"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", {"cases": dup, **other})
        err = assert_refused(folder, "cases.csv", words=("duplicate", "case_id"))
        assert err.rows and set(err.rows) <= {i + 2, j + 2}, err.rows


@bounded(15)
@given(data=datasets(), choice=st.data())
def test_duplicate_hours_month_is_refused_with_its_rows(data, choice):
    hours = data["hours"]
    i = choice.draw(st.integers(0, len(hours) - 1))
    copy = dict(hours[i])
    copy["effective_hours"] = 0.0
    copy["attended_hours"] = None
    data = {**data, "hours": hours + [copy]}
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data)
        err = assert_refused(folder, "hours.csv", words=("more than one row",), cli=False)
        assert err.rows == [i + 2, len(hours) + 2]


@bounded(16)
@given(data=datasets(max_cases=3), table=st.sampled_from(tuple(COLUMNS)),
       content=st.sampled_from(("empty", "blank lines", "header only", "header and blank lines")))
def test_empty_and_header_only_files(data, table, content):
    """An empty cases table is refused; an optional table with only a header is an empty table;
    an optional table with no header at all is either refused or empty."""
    header = ",".join(COLUMNS[table]).encode()
    raw = {"empty": b"", "blank lines": b"\n\n \n", "header only": header + b"\n",
           "header and blank lines": header + b"\n\n\n"}[content]
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data, override={table: raw})
        if table == "cases":
            others = [t for t in COLUMNS if t != "cases"]
            # hours/contacts would name unknown case_ids after an empty cases table; drop them
            for t in others:
                (folder / f"{t}.csv").unlink()
            assert_refused(folder, "cases.csv", words=("cases",) if "header" in content else ())
            return
        ds, err = loads_or_refuses(folder, f"{table}.csv")
        if "header" in content:
            assert err is None, err
            frame = getattr(ds, table)
            assert len(frame) == 0 and list(frame.columns) == list(COLUMNS[table])
            assert all(str(frame[c].dtype) == str(expected_frame(table, [])[c].dtype) for c in frame)
            for t in COLUMNS:
                if t != table:
                    pd.testing.assert_frame_equal(getattr(ds, t), expected_frame(t, data[t]))
        elif err is not None:
            assert_refused(folder, f"{table}.csv", rows=[])


UNDEFINED_IN_CP1252 = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


@bounded(25)
@given(data=datasets(), choice=st.data(),
       junk=st.binary(min_size=1, max_size=4).filter(lambda b: any(x >= 0x80 for x in b)))
def test_non_utf8_bytes_in_a_text_cell(data, choice, junk):
    """Stray bytes inside a cell of a UTF-8 cases file. Still valid UTF-8: read as UTF-8. Not
    UTF-8: the file is read as Windows-1252 (SPEC), so ids, dates and numbers stay exact. Bytes
    Windows-1252 does not define either: refused, naming the row that holds them."""
    junk = bytes(b for b in junk if b not in b",;\"\r\n\x00")
    assume(any(x >= 0x80 for x in junk))
    cases = [dict(r) for r in data["cases"]]
    i = choice.draw(st.integers(0, len(cases) - 1))
    cases[i]["exit_reason"] = "MARK"
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", {**data, "cases": cases})
        path = folder / "cases.csv"
        raw = path.read_bytes().replace(b"MARK", b"x" + junk + b"x")
        path.write_bytes(raw)
        ds, err = loads_or_refuses(folder, "cases.csv")
        try:
            decoded, encoding = junk.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            decoded, encoding = None, "cp1252"
        if encoding == "cp1252" and UNDEFINED_IN_CP1252 & set(raw):
            assert err is not None, "a byte neither UTF-8 nor Windows-1252 defines must be refused"
            assert err.rows == [i + 2], f"the refusal should name the row holding the byte ({err})"
            return
        assert err is None, err
        if decoded is None:
            decoded = junk.decode("cp1252")
        assert ds.cases.loc[i, "exit_reason"] == unicodedata.normalize("NFC", f"x{decoded}x").strip()
        for table in COLUMNS:
            expected = expected_frame(table, data[table] if table != "cases" else cases)
            for column, kind in COLUMNS[table].items():
                if kind != "str" or column == "case_id":
                    pd.testing.assert_series_equal(getattr(ds, table)[column], expected[column])


HUGE = {
    ("hours", "effective_hours"): ("1e308", "9" * 400, "37.0001", "-0.25", "1e6"),
    ("hours", "attended_hours"): ("1e308", "38", "-1"),
    ("cases", "round"): ("9" * 30, "99999999999999999999", "-1", "3"),
    ("goals", "realised"): ("9" * 30, "1e300", "-1"),
    ("goals", "target"): ("99999999999999999999", "-5"),
}


@bounded(25)
@given(data=datasets(), choice=st.data(), with_rounds=st.booleans())
def test_huge_and_out_of_range_numbers_are_refused(data, choice, with_rounds):
    """Out-of-range hours, rounds not in dataset.yml, and integers beyond int64 must be refused
    with their row (never wrapped around or rounded to another number)."""
    table, column = choice.draw(st.sampled_from(tuple(HUGE)))
    value = choice.draw(st.sampled_from(HUGE[(table, column)]))
    if (table, column) == ("cases", "round") and value in ("-1", "3") and not with_rounds:
        return  # any whole round is allowed when dataset.yml lists none
    rows = data[table]
    i = choice.draw(st.integers(0, len(rows) - 1))
    if column == "attended_hours":
        rows = [dict(r) for r in rows]
        rows[i]["effective_hours"] = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", {**data, table: rows}, with_rounds=with_rounds)
        header, cells = table_cells(table, rows, Style())
        cells[i][header.index(column)] = value
        (folder / f"{table}.csv").write_bytes(csv_bytes(header, cells, Style()))
        assert_refused(folder, f"{table}.csv", rows=[i + 2], cli=False)


@bounded(10)
@given(data=datasets(max_cases=3), length=st.integers(10_000, 200_000), choice=st.data())
def test_huge_text_loads_unchanged(data, length, choice):
    cases = [dict(r) for r in data["cases"]]
    i = choice.draw(st.integers(0, len(cases) - 1))
    cases[i]["exit_reason"] = ("flyttet til udlandet " * (length // 21 + 1))[:length].strip()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", {**data, "cases": cases})
        assert_loaded_exactly(folder, {**data, "cases": cases})


@bounded(15)
@given(data=datasets(), choice=st.data(), sep=st.sampled_from((",", ";")))
def test_a_row_with_the_wrong_number_of_fields_is_refused(data, choice, sep):
    table = choice.draw(st.sampled_from(tuple(COLUMNS)))
    rows = data[table]
    i = choice.draw(st.integers(0, len(rows) - 1))
    extra = choice.draw(st.booleans())
    style = Style(sep=sep)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data, style)
        header, cells = table_cells(table, rows, style)
        cells[i] = cells[i] + ["surplus"] if extra else cells[i][:-1]
        (folder / f"{table}.csv").write_bytes(csv_bytes(header, cells, style))
        assert_refused(folder, f"{table}.csv", rows=[i + 2], words=("fields",), cli=False)


IDENTIFYING_NAMES = ("Navn", "fornavn", "Efternavn", "Adresse", "E-mail", "email", "Telefon", "tlf_nr",
                     "Mobil", "CPR", "cpr_nr", "Borger navn", "phone", "address")


@bounded(20)
@given(data=datasets(), choice=st.data())
def test_identifying_data_is_refused_without_showing_it(data, choice):
    """A column named like a name/address/phone/e-mail/CPR, or CPR-like values in any column."""
    table = choice.draw(st.sampled_from(("cases", "hours", "contacts")))
    rows = data[table]
    by_values = choice.draw(st.booleans())
    i = choice.draw(st.integers(0, len(rows) - 1))
    day, month = choice.draw(st.integers(1, 28)), choice.draw(st.integers(1, 12))
    cpr = f"{day:02d}{month:02d}{choice.draw(st.integers(0, 99)):02d}-{choice.draw(st.integers(0, 9999)):04d}"
    cpr = cpr if choice.draw(st.booleans()) else cpr.replace("-", "")
    name = "note" if by_values else choice.draw(st.sampled_from(IDENTIFYING_NAMES))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data)
        header, cells = table_cells(table, rows, Style())
        cells = [row + [cpr if (k == i or not by_values) else "ok"] for k, row in enumerate(cells)]
        (folder / f"{table}.csv").write_bytes(csv_bytes(header + [name], cells, Style()))
        err = assert_refused(folder, f"{table}.csv", rows=[i + 2] if by_values else None, secret=cpr,
                             cli=choice.draw(st.booleans()))
        assert "identifying" in err.rule


KEPT_TEXT = {"cases": ("municipality", "caseworker_id", "exit_reason", "sex", "age_band"),
             "goals": ("team", "employee_id", "indicator")}


@st.composite
def contact_details(draw) -> str:
    """A Danish phone number in one of its written forms, or an e-mail address."""
    if draw(st.booleans()):
        local = draw(st.text(string.ascii_lowercase + string.digits + "._+-", min_size=1, max_size=12))
        domain = draw(st.text(string.ascii_lowercase + "æøå", min_size=1, max_size=10))
        return f"{local}@{domain}.{draw(st.sampled_from(('dk', 'com', 'kommune.dk')))}"
    digits = str(draw(st.integers(2, 9))) + "".join(str(draw(st.integers(0, 9))) for _ in range(7))
    pairs = [digits[k:k + 2] for k in range(0, 8, 2)]
    body = draw(st.sampled_from((digits, " ".join(pairs), "-".join(pairs), ".".join(pairs),
                                 f"{digits[:4]} {digits[4:]}")))
    return draw(st.sampled_from(("", "+45 ", "+45", "0045 ", "(+45) "))) + body


@bounded(25)
@given(data=datasets(), choice=st.data(), detail=contact_details(),
       around=st.tuples(st.sampled_from(("", "ring ", "skriv til ", "kontakt: ", "(")),
                        st.sampled_from(("", " i morgen", ".", ")", ", tak"))))
def test_an_e_mail_or_phone_number_in_kept_text_is_refused(data, choice, detail, around):
    """Any kept text column of any row: refused naming the row, never showing the detail."""
    table = choice.draw(st.sampled_from(tuple(KEPT_TEXT)))
    column = choice.draw(st.sampled_from(KEPT_TEXT[table]))
    rows = data[table]
    i = choice.draw(st.integers(0, len(rows) - 1))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data)
        header, cells = table_cells(table, rows, Style())
        cells[i][header.index(column)] = around[0] + detail + around[1]
        (folder / f"{table}.csv").write_bytes(csv_bytes(header, cells, Style()))
        err = assert_refused(folder, f"{table}.csv", rows=[i + 2], words=(column, "identifying"), secret=detail,
                             cli=choice.draw(st.booleans()))
        assert ("phone" in err.rule) != ("@" in detail)


@bounded(15)
@given(data=datasets(), choice=st.data())
def test_an_empty_required_value_is_refused_with_its_row(data, choice):
    table = choice.draw(st.sampled_from(tuple(REQUIRED)))
    column = choice.draw(st.sampled_from(REQUIRED[table] if table != "contacts" else ("case_id", "date", "kind")))
    rows = data[table]
    i = choice.draw(st.integers(0, len(rows) - 1))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data)
        header, cells = table_cells(table, rows, Style())
        cells[i][header.index(column)] = choice.draw(st.sampled_from(("", " ", "\t")))
        (folder / f"{table}.csv").write_bytes(csv_bytes(header, cells, Style()))
        assert_refused(folder, f"{table}.csv", rows=[i + 2], words=("missing", column), cli=False)


@bounded(10)
@given(data=datasets(), table=st.sampled_from(tuple(COLUMNS)), rnd=st.randoms(use_true_random=False))
def test_a_column_given_twice_is_refused(data, table, rnd):
    """Two columns that are the same after trimming and case folding: which one counts is a guess."""
    column = rnd.choice(REQUIRED[table])
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data)
        header, cells = table_cells(table, data[table], Style())
        j = header.index(column)
        (folder / f"{table}.csv").write_bytes(
            csv_bytes(header + [f" {column.upper()}"], [r + [r[j]] for r in cells], Style()))
        assert_refused(folder, f"{table}.csv", rows=[], words=(column,), cli=False)


@bounded(12)
@given(data=datasets(max_cases=4), fmt=st.sampled_from(("parquet", "xlsx")), dates_as_text=st.booleans(),
       choice=st.data())
def test_parquet_and_xlsx_load_exactly_or_name_the_bad_row(data, fmt, dates_as_text, choice):
    """The same tables stored as Parquet or XLSX (dates as dates or as DD.MM.YYYY text) load to
    the same typed frames; a text that is no date in a cases date column is refused with its row."""
    spoil = choice.draw(st.booleans())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "d"
        folder.mkdir()
        (folder / "dataset.yml").write_text(yml_text(True), encoding="utf-8")
        for table, rows in data.items():
            frame = expected_frame(table, rows)
            for column, kind in COLUMNS[table].items():
                if kind == "date" and (dates_as_text or (spoil and table == "cases")):
                    frame[column] = frame[column].dt.strftime("%d.%m.%Y").astype(object)
            if spoil and table == "cases":
                i = choice.draw(st.integers(0, len(rows) - 1))
                frame.loc[i, "project_entry"] = "sidste uge"
            path = folder / f"{table}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(path, index=False)
            else:
                frame.to_excel(path, index=False, engine="openpyxl")  # (pandas would take XlsxWriter, installed too)
        if spoil:
            assert_refused(folder, f"cases.{fmt}", rows=[i + 2], words=("project_entry",), secret="sidste uge",
                           cli=False)
        else:
            assert_loaded_exactly(folder, data)


# --------------------------------------------------------------------------- quotes, sheets, formulas, names, YAML


@bounded(20)
@given(data=datasets(), choice=st.data(), sep=st.sampled_from((",", ";")), close=st.booleans())
def test_an_unbalanced_quote_is_refused_at_the_row_it_opens(data, choice, sep, close):
    """A quote opening a field that does not close on its own line, whether it never closes
    or closes in a later row (which may even give the header's number of fields): the rows it
    would swallow are never loaded; refused naming the row where the quote opens."""
    table = choice.draw(st.sampled_from(tuple(COLUMNS)))
    rows = data[table]
    i = choice.draw(st.integers(0, len(rows) - 1))
    style = Style(sep=sep)
    header, cells = table_cells(table, rows, style)
    cells[i][choice.draw(st.integers(0, len(header) - 1))] = '"' + cells[i][choice.draw(st.integers(0, len(header) - 1))]
    if close and i + 1 < len(cells):
        k = choice.draw(st.integers(i + 1, len(cells) - 1))
        m = choice.draw(st.integers(0, len(header) - 1))
        cells[k][m] += '"'
    text = "".join(sep.join(row) + "\n" for row in [header] + cells)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data, style, override={table: text.encode("utf-8")})
        assert_refused(folder, f"{table}.csv", rows=[i + 2], words=("quote",), cli=choice.draw(st.booleans()))


@bounded(10)
@given(data=datasets(max_cases=4), choice=st.data(), defect=st.sampled_from(("two sheets", "formula", "named sheet")))
def test_xlsx_sheets_and_formula_cells(data, choice, defect):
    """A table split over two sheets is refused naming both; a formula cell without a saved value
    is refused naming its cell and row; a sheet named after the table is read whatever else the
    workbook holds, and loads exactly."""
    from openpyxl.utils import get_column_letter

    table = choice.draw(st.sampled_from(tuple(COLUMNS)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", data)
        (folder / f"{table}.csv").unlink()
        frame = expected_frame(table, data[table])
        path = folder / f"{table}.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as writer:  # the engine the cells below are edited with
            if defect == "two sheets":
                cut = choice.draw(st.integers(0, len(frame)))
                frame.iloc[:cut].to_excel(writer, sheet_name="Ark1", index=False)
                frame.iloc[cut:].to_excel(writer, sheet_name="Ark2", index=False)
            elif defect == "formula":
                i = choice.draw(st.integers(0, len(frame) - 1))
                j = choice.draw(st.integers(0, frame.shape[1] - 1))
                frame = frame.astype(object)
                frame.iat[i, j] = "=1+1"
                frame.to_excel(writer, sheet_name="Ark1", index=False)
            else:
                pd.DataFrame({"note": ["andet", "ark"]}).to_excel(writer, sheet_name="Noter", index=False)
                title = choice.draw(st.sampled_from((table, table.upper(), f" {table.title()} ")))
                frame.to_excel(writer, sheet_name=title, index=False)
                pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Pivot", index=False)
        if defect == "two sheets":
            assert_refused(folder, path.name, rows=[], words=("'Ark1'", "'Ark2'"), cli=False)
        elif defect == "formula":
            assert_refused(folder, path.name, rows=[i + 2], words=("formula", f"{get_column_letter(j + 1)}{i + 2}"),
                           cli=False)
        else:
            assert_loaded_exactly(folder, data)


def _fullwidth(name: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in name)


NAME_VARIANTS = {
    "upper": str.upper,
    "lower": str.lower,
    "ae/oe/aa": lambda s: s.translate(str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Ø": "Oe"})),
    "punctuation": lambda s: s + ".",
    "brackets": lambda s: f"({s})",
    "fullwidth": _fullwidth,
}


@bounded(15)
@given(data=datasets(), choice=st.data(), variant=st.sampled_from(tuple(NAME_VARIANTS)))
def test_spelling_variants_of_a_municipality(data, choice, variant):
    """A case whose municipality is another case's name in other case, with ae/oe/aa, punctuation
    or full-width letters is refused naming rows of every spelling (never merged, never kept
    apart); in a dataset that loads, every variant finds its municipality and no two
    municipalities share a report file name."""
    from evalkit.data.names import find_municipality, municipality_key
    from evalkit.runner.plan import slug

    cases = [dict(r) for r in data["cases"]]
    assume(len(cases) >= 2)
    i, k = choice.draw(st.lists(st.integers(0, len(cases) - 1), min_size=2, max_size=2, unique=True))
    spelled = NAME_VARIANTS[variant](cases[k]["municipality"])
    assume(spelled != cases[k]["municipality"])
    cases[i]["municipality"] = spelled
    names = sorted({r["municipality"] for r in data["cases"]})  # as loaded (test_every_spec_variant_loads_exactly)
    assert len({slug(n) for n in names}) == len(names)
    for name in names:
        assert find_municipality(names, NAME_VARIANTS[variant](name)) == name
    with tempfile.TemporaryDirectory() as tmp:
        err = assert_refused(write_dataset(Path(tmp) / "d", {**data, "cases": cases}), "cases.csv",
                             words=("more than one way",), cli=choice.draw(st.integers(0, 3)) == 0)
        key = municipality_key(spelled)
        group = {r: c["municipality"] for r, c in enumerate(cases, start=2) if municipality_key(c["municipality"]) == key}
        assert set(err.rows) <= set(group) and {group[r] for r in err.rows} == set(group.values())


# dataset.yml parts: (YAML text, valid?). Valid parts load to `name` "Hostile input"/"2021"/"Æblegrød"
# and E = 2021-12-31; every invalid one must be refused naming dataset.yml, never a traceback.
YML_NAMES = {"Hostile input": True, "'2021'": True, '"Æblegrød"': True, "2021": False, "[a, b]": False,
             "{a: 1}": False, "null": False, "yes": False, '""': False, "2021-12-31": False, "'x\\ny'": False}
YML_DATES = {"2021-12-31": True, "'31-12-2021'": True, '"31.12.2021"': True, "2921-12-31": False,
             "1999-12-31": False, "2021-12-31 10:00:00+01:00": False, "2021-12-31T00:00:00": False,
             "31/12/2021": False, "[2021]": False, "true": False, "20211231": False, "2021-02-30": False}
YML_ROUNDS = {
    "": True,
    "rounds: {}\n": True,
    "rounds:\n  1: {start: 2019-04-01, end: 2020-09-30}\n  2: {start: 2020-10-01, end: 2021-12-31}\n": True,
    "rounds:\n  true: {start: 2019-04-01, end: 2020-09-30}\n": False,
    "rounds:\n  1.5: {start: 2019-04-01, end: 2020-09-30}\n": False,
    "rounds:\n  '1': {start: 2019-04-01, end: 2020-09-30}\n": False,
    "rounds:\n  1: {start: 2020-09-30, end: 2019-04-01}\n": False,
    "rounds:\n  1: {start: 2019-04-01}\n": False,
    "rounds:\n  1: {start: 2019-04-01, end: 2020-09-30, note: x}\n": False,
    "rounds:\n  1: [2019-04-01, 2020-09-30]\n": False,
    "rounds: [1, 2]\n": False,
    "rounds:\n  1: {start: 2019-04-01, end: 9999-12-31}\n": False,
}


@bounded(40)
@given(data=datasets(max_cases=3), name=st.sampled_from(tuple(YML_NAMES)), date=st.sampled_from(tuple(YML_DATES)),
       rounds=st.sampled_from(tuple(YML_ROUNDS)), trick=st.sampled_from((None, "alias", "anchor", "twice", "unknown")),
       cli=st.integers(0, 3).map(lambda n: n == 0))
def test_dataset_yml_types_aliases_and_dates(data, name, date, rounds, trick, cli):
    cases = [dict(r, round=1) for r in data["cases"]]  # round 1 is in every valid rounds part
    text = f"name: {name}\nextraction_date: {date}\n{rounds}"
    if trick == "alias":
        text = f"name: &n {name}\nextraction_date: {date}\n{rounds}other: *n\n"
    elif trick == "anchor":
        text = text.replace("extraction_date: ", "extraction_date: &e ", 1)
    elif trick == "twice":
        text += f"name: {name}\n"
    elif trick == "unknown":
        text += "description: noget\n"
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp) / "d", {**data, "cases": cases})
        (folder / "dataset.yml").write_text(text, encoding="utf-8")
        if trick is None and YML_NAMES[name] and YML_DATES[date] and YML_ROUNDS[rounds]:
            ds = load_dataset(folder)
            assert ds.name == {"Hostile input": "Hostile input", "'2021'": "2021", '"Æblegrød"': "Æblegrød"}[name]
            assert ds.extraction_date == pd.Timestamp("2021-12-31")
            assert sorted(ds.rounds) == ([1, 2] if "2:" in rounds else [])
        else:
            assert_refused(folder, "dataset.yml", rows=[], cli=cli)
