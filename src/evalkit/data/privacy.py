"""Refuse identifying data (SPEC section 1, "Rejected input").

evalkit only accepts pseudonymised data. A table is refused outright when a
column is named like a personal name, address, phone number or e-mail, or when
its values look like Danish CPR numbers (`DDMMYY-XXXX`, or ten digits whose
first six form a valid date DDMMYY). The text columns the loader keeps
(exit_reason, municipality, team, caseworker_id, ...) are refused when a value
contains an e-mail address or a Danish phone number too, and so is a dataset.yml
`name` or round number with any of the three (`identifying_text` holds the
patterns; `evalkit pseudonymise` uses the same function). Messages name the file,
the column and row numbers, never the values.
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
# The only CPR pattern in evalkit (evalkit.data.pseudonymise reads cpr columns with it).
_CPR = re.compile(r"(?<![^\W_])(\d{2})(\d{2})(\d{2})[- ]?(\d{4})(?![^\W_])")
_CPR_SHAPE = _CPR.pattern.replace("(\\d", "(?:\\d")  # the same without groups, for the vectorised first pass
# An e-mail address: name@domain.tld (letters of any script).
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A Danish phone number: eight digits, the first 2-9, written together
# ("20112233"), in pairs with one kind of separator ("20 11 22 33", "20-11-22-33",
# "20.11.22.33") or in fours ("2011 2233"), and any of these after +45, 0045 or
# (+45). No letter, digit or '+' directly before, no letter or digit after: dates
# (2019-04-01, 01.04.2019, 20.11.2019), ids (JF20112233) and longer digit runs are
# not phone numbers, nor are two years ("2019 2021", `_YEAR_PAIR`).
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)[^\S\r\n]?45\)?(?:[^\S\r\n]|-)?|(?=[2-9]))"
    r"(?:\d{8}|\d\d([^\S\r\n]|[.-])\d\d\1\d\d\1\d\d|\d{4}[^\S\r\n]\d{4})(?!\w)"
)
_YEAR_PAIR = re.compile(r"(?:19|20)\d\d\s(?:19|20)\d\d")
# Words of a column name that mean an address (the rest of _CONTACT_WORD: phone, e-mail, CPR).
_ADDRESS_WORD = re.compile(r"adresse|address|bopæl")


def identifying_column_kind(name: str) -> str | None:
    """"name", "address" or "contact" (phone, e-mail, CPR) for a column named like one; else None."""
    lowered = str(name).strip().lower()
    squashed = re.sub(r"[^0-9a-zæøå]", "", lowered)
    if _NAME_COLUMN.fullmatch(squashed):
        return "name"
    words = [w for w in re.split(r"[^0-9a-zæøå]+", lowered) if w] + [squashed]
    matched = [w for w in words if _CONTACT_WORD.fullmatch(w)]
    if not matched:
        return None
    return "address" if any(_ADDRESS_WORD.search(w) for w in matched) else "contact"


def identifying_column_name(name: str) -> bool:
    """True when a column is named like a person's name, address, phone, e-mail or CPR."""
    return identifying_column_kind(name) is not None


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
    return any(_valid_ddmmyy(*m.groups()[:3]) for m in _CPR.finditer(text))


def cpr_digits(value: str) -> str | None:
    """The ten digits of a value that is one CPR number (DDMMYY-XXXX, DDMMYY XXXX or ten
    digits, valid date part), None when it is not one."""
    m = _CPR.fullmatch(str(value).strip())
    if not m or not _valid_ddmmyy(*m.groups()[:3]):
        return None
    return "".join(m.groups())


def identifying_text(text: str, phone: bool = True) -> str | None:
    """What identifying detail a text contains: "a CPR number", "an e-mail address" or
    "a phone number" (`phone=False` skips the last, for case numbers); None when none.

    The one place of evalkit's CPR, e-mail and phone patterns (see the patterns above).
    """
    text = str(text)
    if contains_cpr(text):
        return "a CPR number"
    if _EMAIL.search(text):
        return "an e-mail address"
    if phone and any(not _YEAR_PAIR.fullmatch(m.group()) for m in _PHONE.finditer(text)):
        return "a phone number"
    return None


def identifying_values(values: pd.Series, phone: bool = True) -> pd.Series:
    """Per value, what `identifying_text` finds in it (None where nothing or missing).

    Works on the distinct values, so long columns of few values stay fast.
    """
    codes, uniques = pd.factorize(values)
    found = [identifying_text(v, phone) for v in np.asarray(uniques, dtype=object)]
    kinds = np.asarray(found + [None], dtype=object)[codes]  # code -1 (missing) takes the last: None
    return pd.Series(kinds, index=values.index, dtype=object)


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


def refuse_identifying(frame: pd.DataFrame, file: str, columns: dict[str, str] | None = None) -> None:
    """Raise InputError when a column of `frame` is identifying.

    `frame` is a table as read (columns named as in the file, index = row
    numbers as a person counts them, header = row 1). `columns` maps the table's
    column names to their kinds (dataset.TABLE_COLUMNS): the "str" columns among
    them, matched case-insensitively, are also searched for e-mail addresses and
    phone numbers (not case_id: case numbers may be eight digits).
    """
    for position, column in enumerate(frame.columns, start=1):
        kind = identifying_text(str(column))
        if kind:
            # A header cell holding a CPR number, e-mail address or phone number (e.g. a
            # file without a header row): name the column by position only.
            raise InputError(
                file, f"column {position} has a header that looks like {kind} (identifying data is refused)"
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
    text_columns = {c for c, kind in (columns or {}).items() if kind == "str"}
    for position, column in enumerate(frame.columns):
        name = str(column).strip().lower()
        if name in text_columns:
            refuse_identifying_values(frame.iloc[:, position], file, f"column '{str(column).strip()}'",
                                      phone=name != "case_id")


def refuse_identifying_values(values: pd.Series, file: str, where: str, phone: bool = True) -> None:
    """Raise InputError naming `where` and the rows (the index) whose values contain
    a CPR number, an e-mail address or (with `phone`) a phone number."""
    kinds = identifying_values(values, phone)
    found = kinds.notna()
    if found.any():
        order = ("a CPR number", "an e-mail address", "a phone number")
        what = " or ".join(k for k in order if k in set(kinds[found]))
        raise InputError(file, f"{where} has values with {what} (identifying data is refused)", values.index[found])


def refuse_identifying_metadata(file: str, name: str, rounds) -> None:
    """Raise InputError when dataset.yml's `name` or a round number (printed in reports and
    on the terminal) contains a CPR number, an e-mail address or a phone number.
    A round number is also read zero-padded to ten digits (a CPR without its leading zero)."""
    kind = identifying_text(name)
    if kind:
        raise InputError(file, f"name contains {kind} (identifying data is refused)")
    for number in rounds:
        if identifying_text(str(number)) or contains_cpr(str(number).zfill(10)):
            raise InputError(file, "rounds: a round number looks like a CPR or phone number (identifying data is refused)")


def _refuse_cpr_values(values: pd.Series, column, file: str) -> None:
    mask = cpr_like(values)
    if mask.any():
        raise InputError(
            file, f"column '{str(column).strip()}' has values that look like CPR numbers (identifying data is refused)",
            values.index[mask],
        )
