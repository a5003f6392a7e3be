"""Reading a table file (CSV, Parquet, XLSX) into a frame of text or stored values, nothing converted yet."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import InputError


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
