"""Pseudonymise a municipality's raw extract at the source (`evalkit pseudonymise`).

The raw extract is a folder laid out like a dataset (SPEC section 1) that still
carries the municipality's own identifiers:

```
<raw>/
  dataset.yml     as in a dataset (name, extraction_date, optional rounds); copied
  cases.csv       required; one row per course, with the columns of SPEC's cases
                  table except that
                    cpr               (instead of case_id) DDMMYY-XXXX or ten digits
                    caseworker_name   (instead of caseworker_id; also accepted:
                                      jobformidler, sagsbehandler, caseworker,
                                      or caseworker_id holding names)
                    birth_date        optional, instead of age_band (an age under
                                      18 at project_entry is refused)
  hours.csv       optional; `cpr` instead of case_id
  contacts.csv    optional; `cpr` instead of case_id
  goals.csv       optional; employee_name (or jobformidler, caseworker_name,
                  employee_id) instead of a pseudonymous employee_id
```
Tables may be CSV (UTF-8 or Windows-1252, `,` or `;`), Parquet or XLSX, with
column names matched case-insensitively after trimming: they are read and their
columns converted by the loader's own functions (evalkit.dataset), so a raw
extract reads exactly as a dataset does and errors name the raw file and row.
A cpr stored as a number (XLSX, Parquet) that lost its leading zero is refused,
not guessed.

Output, a dataset that passes `evalkit validate`:
- `case_id` = "C" + the first 16 hex digits of HMAC-SHA256(key, "case:<cpr>:<project_entry>")
  where cpr is the ten digits without dash and project_entry is YYYY-MM-DD: unique
  per course, and the same course keeps its case_id in later extracts;
- `person_id` (extra column in cases) = "P" + 16 hex of HMAC(key, "person:<cpr>"):
  the same citizen gets the same person_id in every extract pseudonymised with the
  same key. **Rounds and extracts are linked by person_id**: join the cases.csv
  files on it (load_dataset ignores the column); with another key nothing links;
- `caseworker_id` (and goals' `employee_id`) = "W" + 16 hex of
  HMAC(key, "caseworker:<name>") with the name trimmed, inner whitespace collapsed
  and case-folded, so "Anne  Hansen" and "anne hansen" are one caseworker;
- `birth_date` becomes `age_band` (18-29, 30-39, 40-49, 50-59, 60+) from the age
  in completed years at project_entry;
- hours and contacts rows get the case_id of the citizen's course: when a citizen
  has several courses, the latest course whose project_entry (its month, for
  hours) is on or before the row's month/date, or the first course when none is;
- dates are written as YYYY-MM-DD and numbers with a decimal point (UTF-8, `,`);
- every other column is dropped: only SPEC's columns are written, so names,
  addresses, phone numbers, e-mails (navn, adresse, telefon, email, ...) never
  reach the output. Free-text columns (exit_reason, ...) are refused when they
  contain a raw cpr or a caseworker's name.

The key file holds at least 32 bytes (trailing newline ignored); create one with
`python -c "import secrets; print(secrets.token_hex(32))" > key`, keep it apart
from the data and reuse it for every extract of the project. Without it the
pseudonyms cannot be recomputed, with it they can: it is as secret as the cpr
numbers. Nothing here writes or prints the key or a raw identifier; the output is
written to a temporary folder next to OUT (which must be new or empty), validated
with `load_dataset`, and only then renamed to OUT.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit import dataset
from evalkit.errors import InputError

MIN_KEY_BYTES = 32
CPR_COLUMNS = ("cpr", "cpr_nr", "cprnr", "personnummer")
CASEWORKER_COLUMNS = ("caseworker_name", "jobformidler", "sagsbehandler", "caseworker", "caseworker_id")
EMPLOYEE_COLUMNS = ("employee_name", "jobformidler", "caseworker_name", "employee_id")
ID_COLUMNS = ("case_id", "person_id", "caseworker_id", "employee_id")
AGE_BANDS = ((18, "18-29"), (30, "30-39"), (40, "40-49"), (50, "50-59"), (60, "60+"))
_CPR = re.compile(r"(\d{2})(\d{2})(\d{2})-?(\d{4})")
_CPR_IN_TEXT = re.compile(r"(?<!\d)(\d{6})[- ]?(\d{4})(?!\d)")


# --- keys and keyed hashes ---------------------------------------------------


def read_key(key_file: Path) -> bytes:
    """The secret key: the file's bytes without a trailing newline, at least 32 bytes."""
    key_file = Path(key_file)
    if not key_file.is_file():
        raise InputError(key_file, "key file not found: pseudonymisation needs a secret key file")
    key = key_file.read_bytes().rstrip(b"\r\n")
    if len(key) < MIN_KEY_BYTES:
        raise InputError(key_file, f"key shorter than {MIN_KEY_BYTES} bytes: create one with secrets.token_hex(32)")
    return key


def keyed_id(key: bytes, prefix: str, kind: str, value: str) -> str:
    """prefix + first 16 hex digits of HMAC-SHA256(key, "<kind>:<value>")."""
    digest = hmac.new(key, f"{kind}:{value}".encode("utf-8"), hashlib.sha256).hexdigest()
    return prefix + digest[:16]


def normalise_cpr(value) -> str | None:
    """The ten digits of a cpr number (DDMMYY-XXXX or ten digits), None when it is not one."""
    m = _CPR.fullmatch(str(value).strip())
    if not m or not (1 <= int(m.group(1)) <= 31 and 1 <= int(m.group(2)) <= 12):
        return None
    return "".join(m.group(i) for i in range(1, 5))


def normalise_name(value) -> str:
    """A caseworker's name as hashed: NFC, trimmed, inner whitespace collapsed, case-folded."""
    return " ".join(unicodedata.normalize("NFC", str(value)).split()).casefold()


def age_band(birth: pd.Timestamp, at: pd.Timestamp) -> str | None:
    """Band of the age in completed years on `at` (18-29, ..., 60+); None under 18."""
    age = at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))
    return next((label for low, label in reversed(AGE_BANDS) if age >= low), None)


# --- reading the raw extract with the loader's functions -------------------------


def _read_raw(path: Path, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A raw table as read (lower-case column names, index = row numbers as a person
    counts them) and its SPEC columns converted to their types by the loader."""
    frame, bad_width, decimal_comma = dataset.read_table(path, dataset.read_input(path))
    if bad_width:
        raise InputError(path, f"wrong number of fields (the header has {frame.shape[1]})", bad_width)
    frame = frame.set_axis([unicodedata.normalize("NFC", str(c)).strip().lower() for c in frame.columns], axis=1)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    return frame, dataset.convert_table(frame, table, str(path), decimal_comma)


def _table_path(folder: Path, table: str) -> Path | None:
    found = [p for p in folder.iterdir() if p.stem.lower() == table and p.suffix.lower() in dataset.TABLE_FORMATS]
    return found[0] if found else None


def _rows(mask: pd.Series) -> list[int]:
    return list(mask.index[mask.fillna(False).astype(bool)])


def _column(frame: pd.DataFrame, file: Path, names: tuple[str, ...], what: str) -> str:
    found = [c for c in names if c in frame.columns]
    if not found:
        raise InputError(file, f"missing required column {what} (one of: {', '.join(names)})")
    return found[0]


def _cprs(frame: pd.DataFrame, file: Path) -> pd.Series:
    values = frame[_column(frame, file, CPR_COLUMNS, "cpr")]
    text = dataset.parse_text(values)
    distinct = text.dropna().unique()  # hours and contacts repeat each cpr many times
    cpr = text.map(dict(zip(distinct, map(normalise_cpr, distinct))), na_action="ignore")
    if text.isna().any():
        raise InputError(file, "missing cpr", _rows(text.isna()))
    if cpr.isna().any():
        raise InputError(file, "cpr must be DDMMYY-XXXX or ten digits with a valid date part", _rows(cpr.isna()))
    return cpr


# --- the transformation ------------------------------------------------------


def _pseudonymise_cases(raw: pd.DataFrame, typed: pd.DataFrame, file: Path, key: bytes):
    """Typed output cases (SPEC columns + person_id) and the courses (cpr, project_entry, case_id)."""
    cpr = _cprs(raw, file)
    entry = typed["project_entry"]
    if entry.isna().any():
        raise InputError(file, "missing project_entry", _rows(entry.isna()))
    iso = entry.dt.strftime("%Y-%m-%d")
    dup = pd.Series(list(zip(cpr, iso)), index=raw.index).duplicated(keep=False)
    if dup.any():
        raise InputError(file, "duplicate course: same cpr and project_entry", _rows(dup))
    names = dataset.parse_text(raw[_column(raw, file, CASEWORKER_COLUMNS, "caseworker_name")])
    if names.isna().any():
        raise InputError(file, "missing caseworker name", _rows(names.isna()))

    out = typed.copy()
    out["case_id"] = [keyed_id(key, "C", "case", f"{c}:{d}") for c, d in zip(cpr, iso)]
    out["caseworker_id"] = [keyed_id(key, "W", "caseworker", normalise_name(n)) for n in names]
    out.insert(1, "person_id", [keyed_id(key, "P", "person", c) for c in cpr])
    if "birth_date" in raw.columns:
        birth = dataset.parse_dates(raw["birth_date"], str(file), "birth_date")
        band = pd.Series([age_band(b, e) if pd.notna(b) else None for b, e in zip(birth, entry)], index=raw.index)
        young = birth.notna() & band.isna()
        if young.any():
            raise InputError(file, "birth_date gives an age under 18 at project_entry", _rows(young))
        out["age_band"] = band.where(band.notna(), out["age_band"])
    courses = pd.DataFrame({"cpr": cpr, "project_entry": entry, "case_id": out["case_id"]})
    return out, courses, set(names.map(normalise_name))


def _assign_courses(cpr: pd.Series, when: pd.Series, courses: pd.DataFrame, month: bool) -> pd.Series:
    """case_id of each row: the citizen's latest course entered on or before `when`
    (compared by month for hours), else the citizen's first course."""
    start = courses["project_entry"].dt.to_period("M").dt.to_timestamp() if month else courses["project_entry"]
    course = courses.assign(start=start).sort_values("start")
    first = course.drop_duplicates("cpr").set_index("cpr")["case_id"]
    case_id = cpr.map(first).to_numpy(dtype=object)
    rows = pd.DataFrame({"cpr": cpr.to_numpy(), "when": when.to_numpy(), "pos": np.arange(len(cpr))})
    dated = rows.dropna(subset=["when"]).sort_values("when")
    latest = pd.merge_asof(dated, course[["cpr", "start", "case_id"]], left_on="when", right_on="start", by="cpr")
    found = latest.dropna(subset=["case_id"])
    case_id[found["pos"].to_numpy()] = found["case_id"].to_numpy()
    return pd.Series(case_id, index=cpr.index, dtype=object)


def _pseudonymise_events(raw, typed, file: Path, courses: pd.DataFrame, table: str) -> pd.DataFrame:
    """Hours or contacts with cpr replaced by the case_id of the citizen's course."""
    cpr = _cprs(raw, file)
    unknown = ~cpr.isin(set(courses["cpr"]))
    if unknown.any():
        raise InputError(file, "cpr not found in cases", _rows(unknown))
    when = typed["month" if table == "hours" else "date"]
    out = typed.copy()
    out["case_id"] = _assign_courses(cpr, when, courses, month=table == "hours")
    return out


def _pseudonymise_goals(raw, typed, file: Path, key: bytes) -> tuple[pd.DataFrame, set[str]]:
    names = dataset.parse_text(raw[_column(raw, file, EMPLOYEE_COLUMNS, "employee_name")])
    out = typed.copy()
    out["employee_id"] = names.map(lambda n: keyed_id(key, "W", "caseworker", normalise_name(n)), na_action="ignore")
    return out, set(names.dropna().map(normalise_name))


def _refuse_leaks(frame: pd.DataFrame, file: Path, cprs: set[str], names: set[str]) -> None:
    """Refuse text that contains a raw cpr (with or without dash) or a caseworker's name."""
    for col in frame.columns:
        if col in ID_COLUMNS or frame[col].dtype != object:
            continue
        leaked = set()
        for value in frame[col].dropna().unique():
            value = str(value)
            folded = normalise_name(value)
            if any(a + b in cprs for a, b in _CPR_IN_TEXT.findall(value)) or any(n in folded for n in names if n):
                leaked.add(value)
        if leaked:
            rows = _rows(frame[col].isin(leaked))
            raise InputError(file, f"column {col} contains a cpr number or a caseworker's name", rows)


def _write_table(frame: pd.DataFrame, path: Path, table: str) -> None:
    """UTF-8, `,`, dates YYYY-MM-DD, whole numbers without decimals."""
    frame = frame.copy()
    for column, kind in dataset.TABLE_COLUMNS[table].items():
        if kind == "int":
            frame[column] = frame[column].astype("Int64")
    frame.to_csv(path, index=False, date_format="%Y-%m-%d", encoding="utf-8")


def pseudonymise_extract(raw: Path, out: Path, key_file: Path) -> str:
    """Turn the raw extract in `raw` into a pseudonymised dataset in `out`; returns a summary.

    InputError (exit 2, nothing written) for a missing or short key, a raw table that
    breaks the rules above, or an output that would not pass `load_dataset`.
    """
    raw, out = Path(raw), Path(out)
    key = read_key(key_file)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(out, "output folder exists and is not empty")
    yml = raw / "dataset.yml"
    if not yml.is_file():
        raise InputError(yml, "missing dataset.yml")
    files = {t: p for t in dataset.TABLE_COLUMNS if (p := _table_path(raw, t)) is not None}
    if "cases" not in files:
        raise InputError(raw / "cases.csv", "missing cases table")

    raw_cases, typed = _read_raw(files["cases"], "cases")
    cases, courses, names = _pseudonymise_cases(raw_cases, typed, files["cases"], key)
    tables = {"cases": cases}
    for table in ("hours", "contacts", "goals"):
        if table not in files:
            continue
        frame, typed = _read_raw(files[table], table)
        if table == "goals":
            tables[table], employees = _pseudonymise_goals(frame, typed, files[table], key)
            names |= employees
        else:
            tables[table] = _pseudonymise_events(frame, typed, files[table], courses, table)
    cprs = set(courses["cpr"])
    for table, frame in tables.items():
        _refuse_leaks(frame, files[table], cprs, names)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        data = tmp / "data"
        data.mkdir()
        shutil.copyfile(yml, data / "dataset.yml")
        for table, frame in tables.items():
            _write_table(frame, data / f"{table}.csv", table)
        try:
            ds = dataset.load_dataset(data)
        except InputError as err:  # name the raw file and its rows, not the temporary copy
            table = Path(err.file).stem
            if table not in tables:
                raise InputError(yml if table == "dataset" else raw, err.rule) from None
            raw_rows = tables[table].index
            raise InputError(files[table], err.rule, [raw_rows[r - 2] for r in err.rows]) from None
        if out.exists():
            out.rmdir()
        data.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    persons, workers = cases["person_id"].nunique(), cases["caseworker_id"].nunique()
    counts = "".join(f", {len(f)} {t} rows" for t, f in tables.items() if t != "cases")
    dropped = sorted(set(raw_cases.columns) - set(cases.columns))
    return (
        f"Pseudonymised {len(cases)} courses of {persons} citizens, {workers} caseworkers{counts} "
        f"({ds.name}) into {out}\n"
        f"Columns not carried over from cases: {', '.join(dropped) if dropped else 'none'}\n"
        "Link extracts and rounds by person_id; keep the key file secret and apart from the data."
    )
