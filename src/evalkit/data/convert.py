"""Converting a table's text to typed columns (dates, numbers, ISO weeks, codes), refusing what does not parse."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import pandas as pd

from evalkit.data.schema import (
    _ISO_WEEK,
    _LOWERCASE_CODES,
    DATE_FORMATS,
    MONTH_FORMATS,
    REQUIRED_COLUMNS,
    TABLE_COLUMNS,
)
from evalkit.errors import InputError


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
