"""Refuse identifying data (SPEC section 1, "Rejected input").

evalkit only accepts pseudonymised data. A table is refused outright when a
column is named like a personal name, address, phone number or e-mail, or when
its values look like Danish CPR numbers (`DDMMYY-XXXX`, or ten digits whose
first six form a valid date DDMMYY). Messages name the file, the column and row
numbers, never the values.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from evalkit.errors import InputError

# Whole column names (lowercased, separators removed) that hold a person's name:
# navn, fornavn, efternavn, fulde navn, borger_navn, first_name, surname, ...
# Matched on the whole name so that municipality_name or kommunenavn pass.
_NAME_COLUMN = re.compile(
    r"(?:for|efter|mellem|fulde|fuldt|kalde|borger|borgers|person|citizen|full|first|last|given|family|sur|middle)?"
    r"(?:navn|navne|name|names)"
)
# Words (one part of a column name, or the whole name without separators) that
# hold contact details or a CPR number: email, e-mail, kontakt_email, telefon,
# telefonnummer, tlf_nr, mobil, phone, adresse, address_line_1, cpr, cpr_nr, ...
_CONTACT_WORD = re.compile(
    r"(?:borger|borgers|kontakt|privat|hjemme|home|contact|personal)?"
    r"(?:e?mail|telefon|telephone|tlf|phone|mobil|mobile|mobiltelefon|adresse|address|bopæl|cpr)"
    r"(?:nr|nummer|number|no|adresse|address|linje|line)?\d*"
)
# A CPR number standing alone in a value: six digits, optional '-' or space,
# four digits, with no letter or digit directly before or after (so digit runs
# inside hex hashes pass, while "cpr_0101901234" or "0101901234.0" are caught).
_CPR = re.compile(r"(?<![^\W_])(\d{2})(\d{2})(\d{2})[- ]?\d{4}(?![^\W_])")
_CPR_SHAPE = r"(?<![^\W_])\d{6}[- ]?\d{4}(?![^\W_])"  # the same without groups, for the vectorised first pass


def identifying_column_name(name: str) -> bool:
    """True when a column is named like a person's name, address, phone, e-mail or CPR."""
    lowered = str(name).strip().lower()
    squashed = re.sub(r"[^0-9a-zæøå]", "", lowered)
    if _NAME_COLUMN.fullmatch(squashed):
        return True
    words = [w for w in re.split(r"[^0-9a-zæøå]+", lowered) if w] + [squashed]
    return any(_CONTACT_WORD.fullmatch(w) for w in words)


def _valid_ddmmyy(day: str, month: str, year: str) -> bool:
    """True when DD, MM, YY form a calendar date (YY taken as 20YY: same leap years as CPR's 19YY/20YY
    except 1900, which no living person's CPR needs)."""
    try:
        dt.date(2000 + int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def contains_cpr(text: str) -> bool:
    """True when a value contains a CPR-like number with a valid DDMMYY date part."""
    return any(_valid_ddmmyy(*m.groups()) for m in _CPR.finditer(text))


def cpr_like(values: pd.Series) -> pd.Series:
    """Boolean mask of the values that contain a CPR-like number.

    Works on the distinct values, so a 600,000-row column with 60,000 ids stays fast.
    Integer columns are zero-padded to ten digits (a CPR stored as a number loses
    its leading zero).
    """
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_float_dtype(values):
        return pd.Series(False, index=values.index)
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.Series(False, index=values.index)
    if pd.api.types.is_integer_dtype(values):
        values = values.astype(str).str.zfill(10)
    codes, uniques = pd.factorize(values)  # fast for categorical columns (the CSV reader's)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype(str)
    candidates = distinct[distinct.str.contains(_CPR_SHAPE, regex=True)]
    flagged = [i for i, v in candidates.items() if contains_cpr(v)]
    return pd.Series(np.isin(codes, flagged), index=values.index)


def refuse_identifying(frame: pd.DataFrame, file: str) -> None:
    """Raise InputError when a column of `frame` is identifying.

    `frame` is a table as read (columns named as in the file, index = row
    numbers as a person counts them, header = row 1).
    """
    for position, column in enumerate(frame.columns, start=1):
        if contains_cpr(str(column)):
            # A header cell holding a CPR number (e.g. a file without a header row):
            # name the column by position only.
            raise InputError(
                file, f"column {position} has a header that looks like a CPR number (identifying data is refused)"
            )
        if identifying_column_name(column):
            raise InputError(
                file, f"column '{str(column).strip()}' is named like a name, address, phone, e-mail or CPR column "
                "(identifying data is refused)"
            )
    for column in frame.columns:
        values = frame[column]
        if isinstance(values, pd.DataFrame):  # duplicate header names: check each
            for i in range(values.shape[1]):
                _refuse_cpr_values(values.iloc[:, i], column, file)
        else:
            _refuse_cpr_values(values, column, file)


def _refuse_cpr_values(values: pd.Series, column, file: str) -> None:
    mask = cpr_like(values)
    if mask.any():
        raise InputError(
            file, f"column '{str(column).strip()}' has values that look like CPR numbers (identifying data is refused)",
            values.index[mask],
        )
