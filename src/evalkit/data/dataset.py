"""Load and validate a dataset folder (SPEC section 1).

A dataset is a folder with dataset.yml, cases and optional hours, contacts and
goals tables (CSV, Parquet or XLSX). `load_dataset` returns a `Dataset` of typed
frames; every optional table is present as an empty frame with its columns.

Loading never guesses: every table is read as text (CSV) or as stored
(Parquet, XLSX), refused when it holds identifying data (evalkit.privacy), then
each column is converted explicitly and the rules of SPEC "Rejected input" are
checked. Any broken rule raises `InputError(file, rule, rows)` with row numbers
as a person counts them in the file (header = row 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from evalkit.errors import InputError
from evalkit.names import (
    find_municipality,
    municipality_key,
    refuse_long_names,
    refuse_spelling_variants,
)
from evalkit.privacy import refuse_identifying, refuse_identifying_metadata
from evalkit.status import STATUS_CATEGORIES

# Typed columns of every table after loading. Dates are datetime64[ns] (NaT when
# missing), text is object dtype holding str (NaN when missing).
CASE_COLUMNS = {
    "case_id": "str",
    "municipality": "str",
    "round": "int",
    "caseworker_id": "str",
    "target_group": "str",
    "project_entry": "date",
    "benefit_start": "date",
    "flexjob_start": "date",
    "exit_date": "date",
    "exit_reason": "str",
    "sex": "str",
    "age_band": "str",
    "status": "str",
}
HOURS_COLUMNS = {
    "case_id": "str",
    "month": "date",  # first day of the month
    "effective_hours": "float",
    "attended_hours": "float",
}
CONTACT_COLUMNS = {"case_id": "str", "date": "date", "channel": "str", "kind": "str"}
GOAL_COLUMNS = {
    "team": "str",
    "employee_id": "str",
    "week": "str",  # ISO week, e.g. 2020-W03
    "indicator": "str",
    "realised": "int",
    "target": "int",
}
TARGET_GROUPS = ("rehab", "ledighedsydelse", "fleksjob")
CHANNELS = ("fysisk", "telefon", "digital", "virksomhedsbesøg")
KINDS = ("samtale", "opfølgning", "step_up")

TABLE_COLUMNS = {"cases": CASE_COLUMNS, "hours": HOURS_COLUMNS, "contacts": CONTACT_COLUMNS, "goals": GOAL_COLUMNS}
# Columns a table must have (SPEC section 1); the others are optional.
REQUIRED_COLUMNS = {
    "cases": ("case_id", "municipality", "round", "caseworker_id", "target_group", "project_entry"),
    "hours": ("case_id", "month", "effective_hours"),
    "contacts": ("case_id", "date", "channel", "kind"),
    "goals": ("team", "employee_id", "week", "indicator", "realised", "target"),
}
# Columns whose values must be present in every row (contacts may leave channel empty).
NON_NULL_COLUMNS = {
    "cases": REQUIRED_COLUMNS["cases"],
    "hours": REQUIRED_COLUMNS["hours"],
    "contacts": ("case_id", "date", "kind"),
    "goals": REQUIRED_COLUMNS["goals"],
}
# Code columns compared in lower case, so "Rehab" and "rehab" are the same code.
_LOWERCASE_CODES = {"cases": ("target_group", "status"), "contacts": ("channel", "kind")}
TABLE_FORMATS = (".csv", ".parquet", ".xlsx")
MAX_WEEKLY_HOURS = 37

# Date formats accepted in CSV and as text elsewhere. Each value must match one
# pattern completely before it is parsed with that pattern's format, so a
# DD-MM-YYYY value can never be read as YYYY-MM-DD or the other way round.
DATE_FORMATS = (
    (r"\d{4}-\d{1,2}-\d{1,2}", "%Y-%m-%d"),
    (r"\d{1,2}-\d{1,2}-\d{4}", "%d-%m-%Y"),
    (r"\d{1,2}\.\d{1,2}\.\d{4}", "%d.%m.%Y"),
)
MONTH_FORMATS = DATE_FORMATS + ((r"\d{4}-\d{1,2}", "%Y-%m"),)
_ISO_WEEK = re.compile(r"(\d{4})-?[Ww](\d{1,2})")


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: metadata from dataset.yml and typed tables."""

    name: str
    extraction_date: pd.Timestamp
    cases: pd.DataFrame
    hours: pd.DataFrame
    contacts: pd.DataFrame
    goals: pd.DataFrame
    # round number -> (start, end) from dataset.yml; empty when not given
    rounds: dict[int, tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=dict)
    # sha256 over the input files (empty for in-memory datasets)
    input_hash: str = ""
    source: Path | None = None


# --------------------------------------------------------------------------- files


def read_input(path: Path, limit: int | None = None) -> bytes:
    """The bytes of an input file; InputError naming the path when it cannot be
    read (permission denied, a folder, a broken link) or is larger than `limit`."""
    try:
        with open(path, "rb") as fh:
            data = fh.read() if limit is None else fh.read(limit + 1)
    except OSError as err:
        raise InputError(str(path), f"cannot read the file ({err.strerror or type(err).__name__})") from None
    if limit is not None and len(data) > limit:
        raise InputError(str(path), f"file larger than {limit // 1024} KiB")
    return data


def _table_files(folder: Path) -> dict[str, Path]:
    """The file of each table present in the folder (file names matched case-insensitively).

    Anything named like a table that is not a readable file (a folder, a broken
    link) is refused rather than skipped: the table would silently be missing.
    """
    found: dict[str, list[Path]] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError as err:
        raise InputError(str(folder), f"cannot read the folder ({err.strerror or type(err).__name__})") from None
    for path in entries:
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if stem in TABLE_COLUMNS and suffix in TABLE_FORMATS:
            if not path.is_file():
                what = "a broken link" if path.is_symlink() and not path.exists() else "not a file"
                raise InputError(str(path), f"named like the {stem} table but {what}")
            found.setdefault(stem, []).append(path)
    for table, paths in found.items():
        if len(paths) > 1:
            names = ", ".join(sorted(p.name for p in paths))
            raise InputError(str(folder), f"table {table} is given in more than one file ({names}); keep one")
    if "cases" not in found:
        raise InputError(str(folder / "cases.csv"), "missing cases table (cases.csv, cases.parquet or cases.xlsx)")
    return {table: paths[0] for table, paths in found.items()}


def _input_hash(files: dict[str, bytes]) -> str:
    """sha256 over the input files, sorted by name: each name, a NUL byte, then its bytes."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode("utf-8") + b"\0")
        h.update(files[name])
    return h.hexdigest()


# --------------------------------------------------------------------------- dataset.yml


YML_MAX_BYTES = 64 * 1024  # dataset.yml is a few lines; a bigger file is not one
YML_KEYS = ("name", "extraction_date", "rounds")
NAME_MAX_LENGTH = 200
EARLIEST_DATE = dt.date(2000, 1, 1)  # no dataset.yml date before this is plausible
LATEST_ROUND_DATE = dt.date(2099, 12, 31)


class _RefusedYaml(yaml.YAMLError):
    """YAML that parses but that dataset.yml does not allow."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases (a dozen lines of them can
    expand to gigabytes) and a key given twice in one mapping (which one counts
    would be a guess)."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _RefusedYaml(f"anchors and aliases (& and *) are not allowed (line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):
            raise _RefusedYaml(f"a key is given twice in one mapping (line {node.start_mark.line + 1})")
        return mapping


def _yml_date(value, yml: str, key: str, latest: dt.date) -> pd.Timestamp:
    """A date from dataset.yml (a YAML date or text in one of DATE_FORMATS) between
    EARLIEST_DATE and `latest`; a time or a time zone is refused, not dropped."""
    if isinstance(value, dt.datetime):
        raise InputError(yml, f"{key} has a time or time zone; give a date only (YYYY-MM-DD)")
    day = None
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        parsed = _parse_text_dates(pd.Series([value.strip()], dtype=object), DATE_FORMATS).iloc[0]
        day = None if pd.isna(parsed) else parsed.date()
    if day is None:
        raise InputError(yml, f"{key} is not a date (YYYY-MM-DD)")
    if not EARLIEST_DATE <= day <= latest:
        raise InputError(yml, f"{key} is not a plausible date (expected {EARLIEST_DATE} to {latest})")
    return pd.Timestamp(day)


def _yml_name(value, yml: str) -> str:
    """The dataset's name: one line of text of at most NAME_MAX_LENGTH characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(yml, "missing name")
    if not isinstance(value, str):
        raise InputError(yml, "name must be text (put it in quotes)")
    name = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InputError(yml, "name must be one line of text (no line breaks or control characters)")
    if len(name) > NAME_MAX_LENGTH:
        raise InputError(yml, f"name longer than {NAME_MAX_LENGTH} characters")
    return name


def _yml_rounds(raw, yml: str) -> dict[int, tuple[pd.Timestamp, pd.Timestamp]]:
    """rounds: {round number (an integer): {start: date, end: date}} with start <= end."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(yml, "rounds must map a round number to {start, end}")
    rounds = {}
    for key, span in raw.items():
        if isinstance(key, bool) or not isinstance(key, int):
            raise InputError(yml, "rounds: a round number is not an integer")
        if not isinstance(span, dict) or set(span) != {"start", "end"}:
            raise InputError(yml, f"rounds: round {key} needs exactly start and end")
        start = _yml_date(span["start"], yml, f"rounds {key} start", LATEST_ROUND_DATE)
        end = _yml_date(span["end"], yml, f"rounds {key} end", LATEST_ROUND_DATE)
        if end < start:
            raise InputError(yml, f"rounds: round {key} ends before it starts")
        rounds[key] = (start, end)
    return rounds


def _read_yml(folder: Path) -> tuple[bytes, str, pd.Timestamp, dict]:
    """dataset.yml: its bytes, name, extraction_date and rounds {int: (start, end)}.

    Read with `_StrictLoader` (no aliases, no repeated keys), at most
    YML_MAX_BYTES, and checked fully: only the keys of YML_KEYS, each of its type,
    extraction_date a plain date from EARLIEST_DATE to a year from today.
    """
    path = folder / "dataset.yml"
    yml = str(path)
    if not path.exists() and not path.is_symlink():
        raise InputError(yml, "missing dataset.yml")
    data = read_input(path, limit=YML_MAX_BYTES)
    try:
        meta = yaml.load(data.decode("utf-8-sig"), Loader=_StrictLoader)  # a SafeLoader subclass
    except _RefusedYaml as err:
        raise InputError(yml, str(err)) from None
    except RecursionError:
        raise InputError(yml, "not readable as YAML (nested too deeply)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise InputError(yml, f"not readable as UTF-8 YAML ({type(err).__name__}{where})") from None
    except (ValueError, OverflowError):  # PyYAML's constructors, e.g. for 2021-02-30
        raise InputError(yml, "not readable as YAML (a date that does not exist, or a value out of range)") from None
    if not isinstance(meta, dict):
        raise InputError(yml, "must be a mapping with name and extraction_date")
    unknown = [k for k in meta if k not in YML_KEYS]
    if unknown:
        key = unknown[0]
        shown = f" '{key}'" if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][\w-]{0,39}", key) else ""
        raise InputError(yml, f"unknown key{shown} (allowed: {', '.join(YML_KEYS)})")
    if meta.get("extraction_date") is None:
        raise InputError(yml, "missing extraction_date")
    name = _yml_name(meta.get("name"), yml)
    latest = dt.date.today() + dt.timedelta(days=366)
    extraction_date = _yml_date(meta["extraction_date"], yml, "extraction_date", latest)
    return data, name, extraction_date, _yml_rounds(meta.get("rounds"), yml)


# --------------------------------------------------------------------------- reading tables
# Each reader returns the table as stored: columns named as in the file (trimmed),
# index = row numbers as a person counts them (header = row 1), fully blank rows
# left out, and the row numbers of rows with the wrong number of fields.


def _encoding(data: bytes, file: str) -> str:
    """The CSV's encoding: UTF-8 (with or without BOM), else Windows-1252.

    Bytes that Windows-1252 leaves undefined are refused, naming their rows.
    """
    if b"\x00" in data[:4096]:
        raise InputError(file, "not UTF-8 or Windows-1252 text (UTF-16 or binary?); export as CSV UTF-8")
    try:
        data.decode("utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    raw = np.frombuffer(data, dtype=np.uint8)
    undefined = np.flatnonzero(np.isin(raw, np.array([0x81, 0x8D, 0x8F, 0x90, 0x9D], dtype=np.uint8)))
    if undefined.size:
        line_breaks = np.flatnonzero(raw == ord("\n"))
        rows = np.searchsorted(line_breaks, undefined) + 1  # line number (header = 1)
        raise InputError(file, "not UTF-8 or Windows-1252 text (bytes Windows-1252 does not define)", rows)
    return "cp1252"


def _read_csv(data: bytes, file: str) -> tuple[pd.DataFrame, list[int], bool]:
    """A CSV table as text, its rows with the wrong number of fields, and whether
    numbers use a decimal comma (the separator is ';', sniffed from the header line).

    A plain file (no quote characters, no blank lines, every line with the
    header's number of fields) is read by pyarrow; anything else by the csv
    module, record by record, so bad rows can be named.
    """
    encoding = _encoding(data, file)
    header_line = data[: data.find(b"\n")] if b"\n" in data else data
    sep = ";" if header_line.count(b";") > header_line.count(b",") else ","
    frame = _read_plain_csv(data, encoding, sep)
    if frame is not None:
        return frame, [], sep == ";"
    frame, bad = _read_quoted_csv(data.decode(encoding), sep, file)
    return frame, bad, sep == ";"


def _read_plain_csv(data: bytes, encoding: str, sep: str) -> pd.DataFrame | None:
    """The fast path (pyarrow) for a clean file: None when the file has quote
    characters, lone carriage returns, blank rows or a row with the wrong number
    of fields. Then every line is one record and its row number is its line number."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if b'"' in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    if not data.rstrip(b"\r\n").count(b"\n"):
        return None  # empty or header only: the csv module path says so
    text_start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    header_bytes = data[text_start:].split(b"\n", 1)[0].rstrip(b"\r")
    header = header_bytes.decode(encoding).split(sep)
    names = [str(i) for i in range(len(header))]
    invalid_rows = []

    def on_invalid_row(row):
        invalid_rows.append(row)
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(
            skip_rows=1, column_names=names, encoding="utf8" if encoding == "utf-8-sig" else encoding
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=sep, quote_char=False, ignore_empty_lines=False, invalid_row_handler=on_invalid_row
        ),
        # dictionary-encoded text: pandas gets categorical columns, so the
        # conversions below see each distinct value once (see `_distinct`)
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.dictionary(pa.int32(), pa.string()) for n in names}, strings_can_be_null=False
        ),
    )
    if invalid_rows:
        return None
    if table.num_rows:
        blank = None
        for column in table.columns:
            empty = pc.equal(pc.utf8_trim_whitespace(column.cast(pa.string())), "")
            blank = empty if blank is None else pc.and_(blank, empty)
        if pc.any(blank).as_py():
            return None
    frame = table.to_pandas()
    frame.columns = [unicodedata.normalize("NFC", h).strip() for h in header]
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _read_quoted_csv(text: str, sep: str, file: str) -> tuple[pd.DataFrame, list[int]]:
    """The csv module path, with strict quoting: every record is one line, so
    row numbers are line numbers and no quote can swallow the rows after it.

    A field whose quote is never closed (it runs to the end of the file), text
    after a closing quote, and a quoted field spanning lines (a line break in a
    cell, or an unbalanced quote closed rows later) are refused, naming the row
    where the field began.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    records, numbers, bad = [], [], []
    header, width = None, 0
    while True:
        first_line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            if "end of data" in str(err):
                rule = "a quoted field is never closed (its opening quote runs to the end of the file)"
            elif "expected after" in str(err):
                rule = "text after the closing quote of a quoted field (a quote inside a field must be doubled)"
            else:  # e.g. a field above the csv module's size limit; its messages hold no data
                rule = f"not readable as CSV ({err})"
            raise InputError(file, rule, [first_line]) from None
        if reader.line_num != first_line:
            raise InputError(
                file,
                f"a quoted field runs over {reader.line_num - first_line + 1} lines (a quote is not closed in its "
                "row, or a cell holds a line break; remove line breaks inside cells)",
                [first_line],
            )
        if header is None:
            if not "".join(record).strip():
                break
            header, width = record, len(record)
            continue
        if not "".join(record).strip():
            continue  # a blank line, or a row of empty fields
        if len(record) != width:
            bad.append(first_line)
            record = (record + [""] * width)[:width]
        records.append(record)
        numbers.append(first_line)
    if header is None:
        raise InputError(file, "empty file: no header row")
    frame = pd.DataFrame(records, columns=range(width), dtype=object) if records else \
        pd.DataFrame({i: pd.Series(dtype=object) for i in range(width)})
    frame.columns = [unicodedata.normalize("NFC", h).strip() for h in header]
    frame.index = pd.Index(numbers, dtype="int64")
    return frame, bad


def _read_parquet(data: bytes, file: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise InputError(file, f"not a readable Parquet file ({type(err).__name__})") from None
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _xlsx_sheet(book, table: str, file: str):
    """The sheet holding the table: the one named after it (e.g. `cases`), else the
    only sheet with data. Data on several sheets is refused: reading one would drop the rest."""
    sheets = book.worksheets
    if not sheets:
        raise InputError(file, "no worksheet in the workbook")
    named = [ws for ws in sheets if ws.title.strip().casefold() == table]
    if len(named) == 1:
        return named[0]
    if named:
        raise InputError(file, f"more than one sheet is named {table}; keep one")
    with_data = [ws for ws in sheets if any(not _blank(v) for row in ws.iter_rows(values_only=True) for v in row)]
    if len(with_data) > 1:
        titles = ", ".join(f"'{ws.title}'" for ws in with_data)
        raise InputError(file, f"data on more than one sheet ({titles}); keep the table on one sheet or name "
                               f"its sheet {table}")
    return with_data[0] if with_data else sheets[0]


# A formula element of a sheet's XML (<f>, <f t="shared" .../>, <x:f>); not <formula>.
_FORMULA_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _xlsx_formula_cells(data: bytes, sheet) -> dict[tuple[int, int], str]:
    """{(row, column): coordinate} of the formula cells of one sheet: a second,
    formula-preserving read (the values read shows no formula), skipped when the
    sheet's XML has no formula element."""
    import zipfile

    import openpyxl

    part = getattr(sheet, "_worksheet_path", None)  # openpyxl's name of the sheet's XML part
    if part is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if not _FORMULA_ELEMENT.search(archive.read(part)):
                    return {}
        except (KeyError, zipfile.BadZipFile):
            pass  # look cell by cell below
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    cells = {(c.row, c.column): c.coordinate for row in book[sheet.title].iter_rows()
             for c in row if getattr(c, "data_type", None) == "f"}
    book.close()
    return cells


def _read_xlsx(data: bytes, file: str, table: str) -> tuple[pd.DataFrame, list[int]]:
    """The table's sheet (`_xlsx_sheet`), header in row 1, and the rows with a value
    right of the header. Integral numbers become int (Excel stores 3 as 3.0).

    A formula cell without a saved value (a file written by a program, never
    opened in Excel) would read as empty: refused, naming the sheet and cells.
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises several types for a damaged file
        raise InputError(file, f"not a readable XLSX file ({type(err).__name__})") from None
    sheet = _xlsx_sheet(book, table, file)
    formulas = _xlsx_formula_cells(data, sheet)
    rows = sheet.iter_rows(min_row=1, values_only=True)
    header = next(rows, None)
    if header is None or all(_blank(h) for h in header):
        raise InputError(file, f"empty sheet '{sheet.title}': no header row in row 1")
    width = len(header)
    records, numbers, bad, unsaved = [], [], [], []
    unsaved += [(1, j + 1) for j, v in enumerate(header) if v is None and (1, j + 1) in formulas]
    for row_number, row in enumerate(rows, start=2):
        cells = [_xlsx_cell(v) for v in row]
        unsaved += [(row_number, j + 1) for j, v in enumerate(cells) if v is None and (row_number, j + 1) in formulas]
        if all(_blank(v) for v in cells):
            continue
        if any(not _blank(v) for v in cells[width:]):
            bad.append(row_number)
        records.append((cells + [None] * width)[:width])
        numbers.append(row_number)
    book.close()
    if unsaved:
        shown = ", ".join(formulas[c] for c in unsaved[:10]) + (" ..." if len(unsaved) > 10 else "")
        raise InputError(file, f"formula cells without a saved value on sheet '{sheet.title}' ({shown}); open "
                               "and save the file in Excel, or paste the values", [r for r, _ in unsaved])
    names = ["" if h is None else str(h).strip() for h in header]
    frame = pd.DataFrame(records, columns=names, dtype=object)
    frame.index = pd.Index(numbers, dtype="int64")
    return frame, bad


def _xlsx_cell(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read_table(path: Path, data: bytes) -> tuple[pd.DataFrame, list[int], bool]:
    """The table as stored, with bad-width rows and the decimal-comma flag (CSV only)."""
    file = str(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(data, file)
    if suffix == ".parquet":
        return _read_parquet(data, file), [], False
    frame, bad = _read_xlsx(data, file, path.stem.lower())
    return frame, bad, False


def _select_columns(raw: pd.DataFrame, table: str, file: str) -> pd.DataFrame:
    """The table with its column names lowercased and trimmed (so they match
    case-insensitively); `_convert` then takes only the table's columns. A column
    with no name but with values (an XLSX cell right of the header) is refused."""
    names = [unicodedata.normalize("NFC", str(c)).strip().lower() for c in raw.columns]
    known = [n for n in names if n in TABLE_COLUMNS[table]]
    duplicates = sorted({n for n in known if known.count(n) > 1})
    if duplicates:
        raise InputError(file, f"column {duplicates[0]} appears more than once")
    missing = [c for c in REQUIRED_COLUMNS[table] if c not in names]
    if missing:
        word = "column" if len(missing) == 1 else "columns"
        raise InputError(file, f"missing required {word} {', '.join(missing)}")
    for j, name in enumerate(names):  # values under no name would be dropped without a word
        filled = parse_text(raw.iloc[:, j]).notna() if name == "" else None
        if filled is not None and filled.any():
            raise InputError(file, "values in a column without a name (its header cell is empty)", raw.index[filled])
    raw.columns = names
    return raw


# --------------------------------------------------------------------------- converting columns


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes (-1 where missing) and the distinct values: conversions work on the
    few distinct values of a long column and are mapped back with `_expand`."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # fast for categorical columns
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def _expand(codes: np.ndarray, converted: np.ndarray, missing) -> np.ndarray:
    """Per-row values from per-distinct-value results (`missing` where the code is -1)."""
    out = np.asarray(converted)[np.maximum(codes, 0)] if len(converted) else np.full(len(codes), missing)
    return np.where(codes >= 0, out, missing)


def _clean_text(distinct: pd.Series) -> pd.Series:
    """Trimmed str (NFC) for each value; NaN for empty text. Integral floats lose '.0'."""

    def as_str(v):
        if isinstance(v, str):
            return v
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    text = distinct.map(as_str).map(lambda v: unicodedata.normalize("NFC", v).strip())
    return text.where(text != "", np.nan)


def parse_text(values: pd.Series, lower: bool = False) -> pd.Series:
    """Trimmed str values (object dtype, lowercased for codes), NaN where missing or empty."""
    if pd.api.types.is_datetime64_any_dtype(values):
        values = values.dt.strftime("%Y-%m-%d")
    codes, distinct = _distinct(values)
    cleaned = _clean_text(distinct)
    if lower:
        cleaned = cleaned.str.lower()
    cleaned = cleaned.to_numpy(dtype=object)
    return pd.Series(_expand(codes, cleaned, np.nan), index=values.index, dtype=object)


def _parse_text_dates(text: pd.Series, formats) -> pd.Series:
    """Parse trimmed text with the first of `formats` whose pattern it matches
    completely; NaT when none matches (or the date does not exist, e.g. 31-02-2020)."""
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for pattern, fmt in formats:
        match = text.str.fullmatch(pattern, na=False) & parsed.isna()
        if match.any():
            parsed[match] = pd.to_datetime(text[match], format=fmt, errors="coerce")
    return parsed


def parse_dates(values: pd.Series, file: str, column: str, formats=DATE_FORMATS) -> pd.Series:
    """datetime64[ns] dates (NaT when missing) from text, dates or datetimes."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        return values.astype("datetime64[ns]").dt.normalize()
    codes, distinct = _distinct(values)
    is_date = distinct.map(lambda v: isinstance(v, (dt.date, pd.Timestamp))).astype(bool)
    parsed = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
    if is_date.any():  # XLSX cells or Parquet date32: date/datetime objects
        parsed[is_date] = pd.to_datetime(distinct[is_date].map(pd.Timestamp)).dt.normalize()
    text = _clean_text(distinct.where(~is_date, np.nan))
    parsed[~is_date] = _parse_text_dates(text[~is_date], formats)
    bad = (text.notna() & parsed.isna()).to_numpy()
    if bad.any():
        accepted = "YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY" + (" or YYYY-MM" if formats is MONTH_FORMATS else "")
        rows = values.index[np.isin(codes, np.flatnonzero(bad))]
        raise InputError(file, f"unparseable date in {column} (expected {accepted})", rows)
    out = _expand(codes, parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(out, index=values.index, dtype="datetime64[ns]")


# Digits grouped in threes by the mark that is not the decimal mark: 1.607 in a
# file with decimal commas is 1607 to a Danish reader, so neither reading is safe.
_GROUPED = {True: re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d*)?"),
            False: re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?")}


def _refuse_thousands_separators(values, codes, distinct, text, file: str, column: str, decimal_comma: bool):
    """InputError naming the rows whose text (not a stored number) uses a thousands separator."""
    is_text = distinct.map(lambda v: isinstance(v, str)).astype(bool)
    grouped = (is_text & text.str.fullmatch(_GROUPED[decimal_comma], na=False)).to_numpy()
    if grouped.any():
        mark, decimal = (".", "decimal commas") if decimal_comma else (",", "decimal points")
        rows = values.index[np.isin(codes, np.flatnonzero(grouped))]
        raise InputError(file, f"thousands separator in {column} ('{mark}' between groups of three digits is "
                               f"ambiguous in a file with {decimal}; write the number without it)", rows)


def _numbers(values: pd.Series, file: str, column: str, decimal_comma: bool) -> pd.Series:
    """float64 numbers (NaN when missing) from text or stored numbers.

    With decimal_comma (CSV separated by ';') a ',' in the value is the decimal mark.
    """
    if pd.api.types.is_bool_dtype(values):
        raise InputError(file, f"unparseable number in {column} (true/false values)", values.index)
    if pd.api.types.is_numeric_dtype(values):
        return pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=values.index)
    codes, distinct = _distinct(values)
    text = _clean_text(distinct)
    _refuse_thousands_separators(values, codes, distinct, text, file, column, decimal_comma)
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = (text.notna() & ~np.isfinite(numbers)).to_numpy()
    if bad.any():
        rows = values.index[np.isin(codes, np.flatnonzero(bad))]
        raise InputError(file, f"unparseable number in {column}", rows)
    return pd.Series(_expand(codes, numbers.to_numpy(), np.nan), index=values.index, dtype="float64")


def _whole_numbers(values: pd.Series, file: str, column: str, decimal_comma: bool) -> pd.Series:
    """Whole numbers as float64 (NaN when missing; int64 once missing values are ruled out)."""
    numbers = _numbers(values, file, column, decimal_comma)
    bad = numbers.notna() & (numbers != np.floor(numbers))
    if bad.any():
        raise InputError(file, f"{column} is not a whole number", bad.index[bad])
    huge = numbers.abs() > 2**53  # beyond this a float no longer holds every whole number
    if huge.any():
        raise InputError(file, f"number too large in {column}", huge.index[huge])
    return numbers


def _iso_weeks(text: pd.Series, file: str) -> pd.Series:
    """ISO weeks as 'YYYY-Www' (2020-W3 and 2020w03 accepted); a week the year does not have is an error."""

    def canonical(value: str):
        m = _ISO_WEEK.fullmatch(value)
        if not m:
            return None
        year, week = int(m.group(1)), int(m.group(2))
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            return None
        return f"{year:04d}-W{week:02d}"

    distinct = {v: canonical(v) for v in text.dropna().unique()}
    weeks = text.map(distinct, na_action="ignore")
    bad = text.notna() & weeks.isna()
    if bad.any():
        raise InputError(file, "invalid ISO week in week (expected e.g. 2020-W03)", bad.index[bad])
    return weeks.astype(object).where(weeks.notna(), np.nan)


def convert_table(frame: pd.DataFrame, table: str, file: str, decimal_comma: bool) -> pd.DataFrame:
    """Every column of the table converted to its type (ints still float64: checked
    for missing values before they become int64). Absent optional columns are all-missing."""
    out = {}
    for column, kind in TABLE_COLUMNS[table].items():
        if column not in frame:
            empty = {"str": np.nan, "date": pd.NaT, "float": np.nan, "int": np.nan}[kind]
            dtype = {"str": object, "date": "datetime64[ns]", "float": "float64", "int": "float64"}[kind]
            out[column] = pd.Series(empty, index=frame.index, dtype=dtype)
            continue
        values = frame[column]
        if kind == "date":
            formats = MONTH_FORMATS if (table, column) == ("hours", "month") else DATE_FORMATS
            out[column] = parse_dates(values, file, column, formats)
        elif kind == "float":
            out[column] = _numbers(values, file, column, decimal_comma)
        elif kind == "int":
            out[column] = _whole_numbers(values, file, column, decimal_comma)
        else:
            text = parse_text(values, lower=column in _LOWERCASE_CODES.get(table, ()))
            if (table, column) == ("goals", "week"):
                text = _iso_weeks(text, file)
            out[column] = text
    typed = pd.DataFrame(out, index=frame.index)
    if table == "hours":  # the month the hours describe, as its first day
        typed["month"] = typed["month"].dt.to_period("M").dt.to_timestamp()
    return typed


# --------------------------------------------------------------------------- rules


def _schema(table: str, case_rounds: tuple[int, ...] = ()):
    """pandera schema with the per-column and per-row rules of SPEC "Rejected input".

    Each check's `error` is the rule text shown to the user.
    """
    import pandera.pandas as pa

    def column(name, checks=(), unique=False):
        return pa.Column(
            None, nullable=name not in NON_NULL_COLUMNS[table], unique=unique, checks=list(checks), required=True
        )

    def row_rule(fn, error):
        return pa.Check(fn, error=error, ignore_na=False)

    columns = {name: column(name) for name in TABLE_COLUMNS[table]}
    checks = []
    if table == "cases":
        columns["case_id"] = column("case_id", unique=True)
        columns["target_group"] = column(
            "target_group", [pa.Check.isin(TARGET_GROUPS, error="unknown target_group (rehab, ledighedsydelse or fleksjob)")]
        )
        columns["status"] = column("status", [pa.Check.isin(STATUS_CATEGORIES, error="unknown status category")])
        if case_rounds:
            columns["round"] = column(
                "round", [pa.Check.isin(case_rounds, error="round not listed under rounds in dataset.yml")]
            )
        checks = [
            row_rule(
                lambda d: (d["target_group"] != "ledighedsydelse") | d["benefit_start"].notna(),
                "benefit_start missing for a ledighedsydelse case",
            ),
            row_rule(
                lambda d: ~(d["exit_date"] < d["project_entry"]),
                "exit_date before project_entry",
            ),
            row_rule(
                lambda d: (d["target_group"] == "fleksjob") | ~(d["flexjob_start"] < d["project_entry"]),
                "flexjob_start before project_entry (allowed only for target_group fleksjob)",
            ),
            row_rule(lambda d: ~(d["benefit_start"] > d["flexjob_start"]), "benefit_start after flexjob_start"),
        ]
    elif table == "hours":
        limit = f"outside 0-{MAX_WEEKLY_HOURS}"
        columns["effective_hours"] = column(
            "effective_hours", [pa.Check.in_range(0, MAX_WEEKLY_HOURS, error=f"effective_hours {limit}")]
        )
        columns["attended_hours"] = column(
            "attended_hours", [pa.Check.in_range(0, MAX_WEEKLY_HOURS, error=f"attended_hours {limit}")]
        )
        checks = [
            row_rule(
                lambda d: ~(d["effective_hours"] > d["attended_hours"]), "effective_hours above attended_hours"
            ),
            row_rule(
                lambda d: ~d.duplicated(["case_id", "month"], keep=False), "more than one row for a case_id and month"
            ),
        ]
    elif table == "contacts":
        columns["channel"] = column("channel", [pa.Check.isin(CHANNELS, error=f"unknown channel ({', '.join(CHANNELS)})")])
        columns["kind"] = column("kind", [pa.Check.isin(KINDS, error=f"unknown kind ({', '.join(KINDS)})")])
    elif table == "goals":
        columns["realised"] = column("realised", [pa.Check.ge(0, error="negative realised")])
        columns["target"] = column("target", [pa.Check.ge(0, error="negative target")])
    return pa.DataFrameSchema(columns, checks=checks)


def _rule_order(schema) -> list[str]:
    """Rule texts in the order they are reported: missing values, duplicates, column rules, row rules."""
    order = [f"missing {name}" for name in schema.columns]
    order += [f"duplicate {name}" for name, col in schema.columns.items() if col.unique]
    order += [c.error for col in schema.columns.values() for c in col.checks]
    order += [c.error for c in schema.checks]
    return order


def _check_rules(typed: pd.DataFrame, table: str, file: str, case_rounds: tuple[int, ...] = ()) -> None:
    """Validate with pandera (lazy, so every failure is collected) and raise the
    first broken rule with its row numbers (the frame's index). Values are never shown."""
    import pandera.pandas as pa

    schema = _schema(table, case_rounds)
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        failures = err.failure_cases
        rule = failures["check"].astype(str).copy()
        rule[failures["check"] == "not_nullable"] = "missing " + failures["column"].astype(str)
        rule[failures["check"] == "field_uniqueness"] = "duplicate " + failures["column"].astype(str)
        order = _rule_order(schema)
        broken = sorted(set(rule), key=lambda r: order.index(r) if r in order else len(order))
        first = broken[0]
        rows = pd.to_numeric(failures.loc[rule == first, "index"], errors="coerce").dropna().astype(int)
        raise InputError(file, first, rows) from None


def _check_names(typed: pd.DataFrame, table: str, file: str, extraction_date: pd.Timestamp) -> None:
    """Rules on names and on the extraction date: municipality and team names of a
    sane length, one spelling per municipality (evalkit.names), and no case that
    enters the project after the extraction date (it has not started yet)."""
    if table == "cases":
        refuse_long_names(typed["municipality"], file, "municipality")
        refuse_spelling_variants(typed["municipality"], file)
        late = typed["project_entry"] > extraction_date
        if late.any():
            raise InputError(file, "project_entry after the extraction_date of dataset.yml", typed.index[late])
    elif table == "goals":
        refuse_long_names(typed["team"], file, "team")


def _check_known_case_ids(typed: pd.DataFrame, case_ids: pd.Series, file: str) -> None:
    unknown = ~typed["case_id"].isin(case_ids)
    if unknown.any():
        raise InputError(file, "unknown case_id (not in cases)", typed.index[unknown])


def _finish(typed: pd.DataFrame, table: str) -> pd.DataFrame:
    """The typed frame as the Dataset holds it: ints as int64, a fresh 0..n-1 index."""
    for column, kind in TABLE_COLUMNS[table].items():
        if kind == "int":
            typed[column] = typed[column].astype("int64")
    return typed.reset_index(drop=True)


def empty_table(table: str) -> pd.DataFrame:
    """An empty typed frame with the table's columns."""
    dtypes = {"str": object, "date": "datetime64[ns]", "float": "float64", "int": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes[k]) for c, k in TABLE_COLUMNS[table].items()})


# --------------------------------------------------------------------------- public


def _is_dir(folder: Path) -> bool:
    try:
        return folder.is_dir()
    except OSError as err:
        raise InputError(str(folder), f"cannot read the folder ({err.strerror or type(err).__name__})") from None


def load_dataset(path) -> Dataset:
    """Load a dataset folder and check it against SPEC section 1.

    Raises InputError (file, rule, row numbers) for anything that breaks the
    contract, and for identifying data, before any output is written.
    """
    folder = Path(path)
    if not _is_dir(folder):
        raise InputError(str(folder), "not a dataset folder (expected a folder with dataset.yml and cases)")
    yml_bytes, name, extraction_date, rounds = _read_yml(folder)
    refuse_identifying_metadata(str(folder / "dataset.yml"), name, rounds)  # printed and published
    paths = _table_files(folder)
    files = {"dataset.yml": yml_bytes}
    raw = {}
    # Read every table and refuse identifying data before anything else is done with it.
    for table, table_path in paths.items():
        data = read_input(table_path)
        files[table_path.name] = data
        frame, bad_width, decimal_comma = read_table(table_path, data)
        refuse_identifying(frame, str(table_path), TABLE_COLUMNS[table])
        raw[table] = (frame, bad_width, decimal_comma)

    tables = {}
    for table in TABLE_COLUMNS:
        if table not in raw:
            tables[table] = empty_table(table)
            continue
        frame, bad_width, decimal_comma = raw[table]
        file = str(paths[table])
        if bad_width:
            raise InputError(file, f"wrong number of fields (the header has {frame.shape[1]})", bad_width)
        selected = _select_columns(frame, table, file)
        if table == "cases" and len(selected) == 0:
            raise InputError(file, "cases table has no rows")
        typed = convert_table(selected, table, file, decimal_comma)
        _check_rules(typed, table, file, tuple(rounds) if table == "cases" else ())
        _check_names(typed, table, file, extraction_date)
        if table in ("hours", "contacts"):
            _check_known_case_ids(typed, tables["cases"]["case_id"], file)
        tables[table] = _finish(typed, table)

    return Dataset(
        name=name,
        extraction_date=extraction_date,
        cases=tables["cases"],
        hours=tables["hours"],
        contacts=tables["contacts"],
        goals=tables["goals"],
        rounds=rounds,
        input_hash=_input_hash(files),
        source=folder,
    )


def summarise(ds: Dataset) -> str:
    """A short summary for `evalkit validate`: name, extraction date, rows per
    table, municipalities, rounds with spans and target groups. No row data."""
    cases = ds.cases
    lines = [
        f"Dataset: {ds.name}",
        f"Extraction date: {ds.extraction_date:%Y-%m-%d}",
        "Rows: " + ", ".join(f"{t} {len(getattr(ds, t)):,}" for t in TABLE_COLUMNS),
        f"Municipalities: {cases['municipality'].nunique()}",
    ]
    rounds = []
    for number, n in cases["round"].value_counts().sort_index().items():
        span = ds.rounds.get(int(number))
        where = f" {span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}" if span else ""
        municipalities = cases.loc[cases["round"] == number, "municipality"].nunique()
        rounds.append(f"{number} ({where.strip() + ', ' if where else ''}{n:,} cases, {municipalities} municipalities)")
    lines.append("Rounds: " + ("; ".join(rounds) if rounds else "none"))
    groups = cases["target_group"].value_counts()
    lines.append("Target groups: " + ", ".join(f"{g} {int(groups.get(g, 0)):,}" for g in TARGET_GROUPS))
    return "\n".join(lines)


def subset(ds: Dataset, municipality: str | None = None, round_: int | None = None) -> Dataset:
    """The dataset restricted to one municipality and/or round.

    Cases are filtered; hours and contacts keep the rows of the remaining
    case_ids; goals are per team, so they are kept unless they have a
    municipality column. The municipality is matched by its canonical key
    (evalkit.names: "toender" finds "Tønder"); unknown names raise InputError
    naming the known ones.
    """
    cases = ds.cases
    keep = pd.Series(True, index=cases.index)
    if municipality is not None:
        municipality = find_municipality(cases["municipality"].dropna().unique(), municipality)
        keep &= cases["municipality"] == municipality
    if round_ is not None:
        known_rounds = sorted(int(r) for r in cases["round"].unique())
        if int(round_) not in known_rounds:
            raise InputError("--round", f"unknown round {round_} (known: {', '.join(map(str, known_rounds))})")
        keep &= cases["round"] == int(round_)
        if not keep.any():
            raise InputError("--round", f"no cases of municipality '{municipality}' in round {round_}")
    kept = cases[keep].reset_index(drop=True)
    ids = kept["case_id"]
    goals = ds.goals
    if municipality is not None and "municipality" in goals:
        same = goals["municipality"].map(municipality_key, na_action="ignore") == municipality_key(municipality)
        goals = goals[same].reset_index(drop=True)
    return replace(
        ds,
        cases=kept,
        hours=ds.hours[ds.hours["case_id"].isin(ids)].reset_index(drop=True),
        contacts=ds.contacts[ds.contacts["case_id"].isin(ids)].reset_index(drop=True),
        goals=goals,
    )
