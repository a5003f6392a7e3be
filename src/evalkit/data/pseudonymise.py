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
columns converted by the loader's own functions (evalkit.data.dataset), so a raw
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
  reach the output; dataset.yml is written anew with only name, extraction_date
  and rounds (comments and other keys of the raw one are not copied).
- kept text (exit_reason, municipality, sex, age_band, team, indicator, ...) is
  refused, naming the raw file, the column and the rows, never the value, when it
  contains (`_refuse_leaks`)
    a CPR number, an e-mail address or a Danish phone number (evalkit.data.privacy's
    patterns, the loader's own);
    a caseworker's name (any row's, as normalised for hashing);
    the row's own identifying values: the value (of 3 letters or more) of any
    column named like a name, address or contact detail (navn, fornavn, adresse,
    telefon, email, ...), and for names each part of 3 letters or more, for addresses the street line and the
    street name, matched as whole words after NFC, case-folding and collapsing
    whitespace; a contact value's last 8 digits (a phone number without +45) are
    also sought among the text's digits. Name and address parts are not sought in
    municipality (place names are surnames too), and none of this in the code
    columns the loader restricts to fixed codes (target_group, status, channel, kind).
  Free text is refused, not dropped: evalkit never changes data silently, and the
  rows named can be corrected in the source system or the extract.

The key file holds at least 32 bytes (trailing newline ignored) and must not be
guessable (`check_key`); `evalkit new-key K` writes a random one (64 hex digits,
file mode 0600). Keep it apart from the data and reuse it for every extract of the
project. Without it the pseudonyms cannot be recomputed, with it they can: it is
as secret as the cpr numbers. Nothing here writes or prints the key or a raw
identifier; the output is written to a temporary folder in OUT's nearest existing
parent (OUT must be new or empty), validated with `load_dataset`, and only then
are OUT's missing parents created and the folder renamed to OUT: a refused input
leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from evalkit.data import privacy
from evalkit.data.convert import convert_table, parse_dates, parse_text
from evalkit.data.dataset import Dataset, load_dataset
from evalkit.data.readers import read_input, read_table
from evalkit.data.schema import TABLE_COLUMNS, TABLE_FORMATS
from evalkit.errors import InputError

MIN_KEY_BYTES = 32
CPR_COLUMNS = ("cpr", "cpr_nr", "cprnr", "personnummer")
CASEWORKER_COLUMNS = ("caseworker_name", "jobformidler", "sagsbehandler", "caseworker", "caseworker_id")
EMPLOYEE_COLUMNS = ("employee_name", "jobformidler", "caseworker_name", "employee_id")
ID_COLUMNS = ("case_id", "person_id", "caseworker_id", "employee_id")
AGE_BANDS = ((18, "18-29"), (30, "30-39"), (40, "40-49"), (50, "50-59"), (60, "60+"))
# Kept columns the loader restricts to fixed codes: no free text can pass there.
CODE_COLUMNS = ("target_group", "status", "channel", "kind")
MIN_KEY_BITS = 80  # estimated, see check_key
_NEW_KEY = "create one with `evalkit new-key FILE`"


# --- keys and keyed hashes ---------------------------------------------------


def read_key(key_file: Path) -> bytes:
    """The secret key: the file's bytes without a trailing newline, checked by `check_key`."""
    key_file = Path(key_file)
    if not key_file.is_file():
        raise InputError(key_file, f"key file not found: pseudonymisation needs a secret key file ({_NEW_KEY})")
    try:
        key = key_file.read_bytes().rstrip(b"\r\n")
    except OSError as err:
        raise InputError(key_file, f"key file not readable ({type(err).__name__})") from None
    problem = check_key(key)
    if problem:
        raise InputError(key_file, f"{problem}: {_NEW_KEY}")
    return key


def _entropy_bits(data: bytes) -> float:
    """Length times the Shannon entropy (bits) of the byte frequencies."""
    n = len(data)
    return -sum(c * math.log2(c / n) for c in Counter(data).values()) if n else 0.0


def check_key(key: bytes) -> str | None:
    """Why a key is too weak, None when it is fit. A key is refused when it
    - is shorter than 32 bytes;
    - repeats a piece of 1-64 bytes throughout ("kkkk...", "abcabc...", a word typed twice);
    - has an estimated entropy under 80 bits: the lower of (length x the Shannon entropy of its
      byte frequencies) and (the same for the differences of neighbouring bytes, which catches
      runs like "abcdef..."). 32 random bytes estimate at 134 bits or more, 64 random hex digits
      (`evalkit new-key`) at 210 or more, a random 32-hex-digit or UUID key at 90 or more.
    Distinct byte values are not counted: 64 random hex digits miss one of the 16 a quarter of the time.
    """
    if len(key) < MIN_KEY_BYTES:
        return f"key shorter than {MIN_KEY_BYTES} bytes"
    if any(key[p:] == key[:-p] for p in range(1, min(64, len(key) // 2) + 1)):
        return "key repeats a short piece (guessable)"
    steps = bytes((b - a) % 256 for a, b in zip(key, key[1:]))
    if min(_entropy_bits(key), _entropy_bits(steps)) < MIN_KEY_BITS:
        return f"key too regular to be secret (estimated entropy under {MIN_KEY_BITS} bits)"
    return None


def write_new_key(key_file: Path) -> str:
    """Write a random key (64 hex digits of secrets.token_bytes(32) and a newline) to a new
    file readable by its owner only (mode 0600); an existing file is never overwritten."""
    key_file = Path(key_file)
    if key_file.exists() or key_file.is_symlink():
        raise InputError(key_file, "file exists: a key is never overwritten (its pseudonyms would be lost)")
    if not key_file.parent.is_dir():
        raise InputError(key_file, "folder does not exist")
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        raise InputError(key_file, f"cannot create the key file ({type(err).__name__})") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_bytes(32).hex() + "\n")
    return (f"Wrote a new random key to {key_file} (readable by you only). Keep it secret, apart from the data,\n"
            "and use it for every extract of the project: with another key nothing links.")


def keyed_id(key: bytes, prefix: str, kind: str, value: str) -> str:
    """prefix + first 16 hex digits of HMAC-SHA256(key, "<kind>:<value>")."""
    digest = hmac.new(key, f"{kind}:{value}".encode("utf-8"), hashlib.sha256).hexdigest()
    return prefix + digest[:16]


def normalise_cpr(value) -> str | None:
    """The ten digits of a cpr number (DDMMYY-XXXX or ten digits, a real date), None when it is not one."""
    return privacy.cpr_digits(value)


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
    frame, bad_width, decimal_comma = read_table(path, read_input(path))
    if bad_width:
        raise InputError(path, f"wrong number of fields (the header has {frame.shape[1]})", bad_width)
    frame = frame.set_axis([unicodedata.normalize("NFC", str(c)).strip().lower() for c in frame.columns], axis=1)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    return frame, convert_table(frame, table, str(path), decimal_comma)


def _table_path(folder: Path, table: str) -> Path | None:
    found = [p for p in folder.iterdir() if p.stem.lower() == table and p.suffix.lower() in TABLE_FORMATS]
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
    text = parse_text(values)
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
    names = parse_text(raw[_column(raw, file, CASEWORKER_COLUMNS, "caseworker_name")])
    if names.isna().any():
        raise InputError(file, "missing caseworker name", _rows(names.isna()))

    out = typed.copy()
    out["case_id"] = [keyed_id(key, "C", "case", f"{c}:{d}") for c, d in zip(cpr, iso)]
    out["caseworker_id"] = [keyed_id(key, "W", "caseworker", normalise_name(n)) for n in names]
    out.insert(1, "person_id", [keyed_id(key, "P", "person", c) for c in cpr])
    if "birth_date" in raw.columns:
        birth = parse_dates(raw["birth_date"], str(file), "birth_date")
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
    names = parse_text(raw[_column(raw, file, EMPLOYEE_COLUMNS, "employee_name")])
    out = typed.copy()
    out["employee_id"] = names.map(lambda n: keyed_id(key, "W", "caseworker", normalise_name(n)), na_action="ignore")
    return out, set(names.dropna().map(normalise_name))


def _phrases(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per identifying column of a raw table (named like a name, address or contact detail;
    cpr aside), per row: `value` normalised ("" with fewer than 3 letters), `parts` sought on
    their own (name parts of 3+ letters; an address's street line and street name) and
    `digits` (the value's last 8)."""
    out = {}
    for column in raw.columns:
        kind = privacy.identifying_column_kind(column)
        if kind is None or column in CPR_COLUMNS:
            continue
        values = parse_text(raw[column]).map(normalise_name, na_action="ignore")
        parts = values.map(_name_parts if kind == "name" else _street if kind == "address" else lambda v: (),
                           na_action="ignore")
        digits = values.map(lambda v: re.sub(r"\D", "", v)[-8:], na_action="ignore")
        whole = values.map(lambda v: "".join(_lettered([v])), na_action="ignore")
        out[column] = pd.DataFrame({"value": whole, "parts": parts, "digits": digits})
    return out


def _lettered(words) -> tuple[str, ...]:
    return tuple(w for w in words if sum(c.isalpha() for c in w) >= 3)


def _name_parts(name: str) -> tuple[str, ...]:
    return _lettered(re.split(r"[\s\-]+", name))


def _street(address: str) -> tuple[str, ...]:
    """The street line (up to the first comma) and the street name (up to the house number)."""
    line = re.split(r"[,\n]", address, maxsplit=1)[0].strip()
    return _lettered({line, re.split(r"\s\d", line, maxsplit=1)[0].strip()})


def _has_word(text: str, phrase: str) -> bool:
    """`phrase` occurs in `text` as whole words (both normalised)."""
    return phrase in text and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def _own_value_in(text: str, text_digits: str, own, with_parts: bool) -> bool:
    """Whether a normalised text holds the row's own value (its parts too `with_parts`)
    or, as digits, its phone number."""
    if not isinstance(own.value, str):
        return False
    if (own.value and _has_word(text, own.value)) or (with_parts and any(_has_word(text, p) for p in own.parts)):
        return True
    return len(own.digits) == 8 and own.digits in text_digits


def _refuse_leaks(frame: pd.DataFrame, raw: pd.DataFrame, file: Path, names: set[str]) -> None:
    """Refuse kept text holding a CPR number, e-mail address or phone number, a caseworker's
    name, or the row's own identifying values (see the module docstring). Rows are named,
    values never. `frame` and `raw` share their index (row numbers)."""
    phrases = _phrases(raw)
    for col in frame.columns:
        if col in ID_COLUMNS or frame[col].dtype != object:
            continue
        text = frame[col]
        privacy.refuse_identifying_values(text, str(file), f"column {col}")
        if col in CODE_COLUMNS:
            continue
        folded = text.dropna().map(normalise_name)
        distinct = {v: any(_has_word(v, n) for n in names if n) for v in folded.unique()}
        worker = folded.map(distinct).astype(bool)
        if worker.any():
            raise InputError(file, f"column {col} contains a caseworker's name (identifying data is refused)",
                             _rows(worker))
        digits = folded.str.replace(r"\D", "", regex=True)
        leaked, sources = pd.Series(False, index=folded.index), []
        for source, own in phrases.items():
            rows = own.loc[folded.index].itertuples(index=False)
            hit = pd.Series([_own_value_in(t, d, o, col != "municipality") for t, d, o in zip(folded, digits, rows)],
                            index=folded.index, dtype=bool)
            if hit.any():
                leaked |= hit
                sources.append(source)
        if sources:
            raise InputError(file, f"column {col} contains the row's own {', '.join(sources)} "
                             "(identifying data is refused)", _rows(leaked))


def _write_yml(ds: Dataset, path: Path) -> None:
    """dataset.yml with name, extraction_date and rounds as loaded."""
    meta = {"name": ds.name, "extraction_date": ds.extraction_date.date()}
    if ds.rounds:
        meta["rounds"] = {r: {"start": a.date(), "end": b.date()} for r, (a, b) in sorted(ds.rounds.items())}
    path.write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _write_table(frame: pd.DataFrame, path: Path, table: str) -> None:
    """UTF-8, `,`, dates YYYY-MM-DD, whole numbers without decimals."""
    frame = frame.copy()
    for column, kind in TABLE_COLUMNS[table].items():
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
    files = {t: p for t in TABLE_COLUMNS if (p := _table_path(raw, t)) is not None}
    if "cases" not in files:
        raise InputError(raw / "cases.csv", "missing cases table")

    raw_cases, typed = _read_raw(files["cases"], "cases")
    cases, courses, names = _pseudonymise_cases(raw_cases, typed, files["cases"], key)
    tables, raw_frames = {"cases": cases}, {"cases": raw_cases}
    for table in ("hours", "contacts", "goals"):
        if table not in files:
            continue
        frame, typed = _read_raw(files[table], table)
        raw_frames[table] = frame
        if table == "goals":
            tables[table], employees = _pseudonymise_goals(frame, typed, files[table], key)
            names |= employees
        else:
            tables[table] = _pseudonymise_events(frame, typed, files[table], courses, table)
    for table, frame in tables.items():
        _refuse_leaks(frame, raw_frames[table], files[table], names)

    # The temporary folder goes into OUT's nearest existing parent; OUT's missing parents
    # are made only once the output is valid, so a refusal leaves nothing behind.
    anchor = next(p for p in out.absolute().parents if p.exists())
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=anchor))
    except OSError as err:
        raise InputError(out, f"cannot write the output folder ({type(err).__name__})") from None
    try:
        data = tmp / "data"
        data.mkdir()
        shutil.copyfile(yml, data / "dataset.yml")
        for table, frame in tables.items():
            _write_table(frame, data / f"{table}.csv", table)
        try:
            ds = load_dataset(data)
        except InputError as err:  # name the raw file and its rows, not the temporary copy
            table = Path(err.file).stem
            if table not in tables:
                raise InputError(yml if table == "dataset" else raw, err.rule) from None
            raw_rows = tables[table].index
            raise InputError(files[table], err.rule, [raw_rows[r - 2] for r in err.rows]) from None
        _write_yml(ds, data / "dataset.yml")  # only what the loader read: no comments, no other keys
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists():
                out.rmdir()
            data.rename(out)
        except OSError as err:
            raise InputError(out, f"cannot write the output folder ({type(err).__name__})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    persons, workers = cases["person_id"].nunique(), cases["caseworker_id"].nunique()
    counts = "".join(f", {len(f)} {t} rows" for t, f in tables.items() if t != "cases")
    dropped = sorted(set(raw_cases.columns) - set(cases.columns))
    dropped = [c if privacy.identifying_text(c) is None else f"column {list(raw_cases.columns).index(c) + 1}"
               for c in dropped]  # a header holding a CPR, e-mail or phone number is not printed
    return (
        f"Pseudonymised {len(cases)} courses of {persons} citizens, {workers} caseworkers{counts} "
        f"({ds.name}) into {out}\n"
        f"Columns not carried over from cases: {', '.join(dropped) if dropped else 'none'}\n"
        "Link extracts and rounds by person_id; keep the key file secret and apart from the data."
    )
