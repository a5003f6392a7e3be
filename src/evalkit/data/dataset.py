"""Load and validate a dataset folder (SPEC section 1).

A dataset is a folder with dataset.yml, cases and optional hours, contacts and
goals tables (CSV, Parquet or XLSX). `load_dataset` returns a `Dataset` of typed
frames; every optional table is present as an empty frame with its columns.

Loading never guesses: every table is read as text (CSV) or as stored
(Parquet, XLSX), refused when it holds identifying data (evalkit.data.privacy), then
each column is converted explicitly and the rules of SPEC "Rejected input" are
checked. Any broken rule raises `InputError(file, rule, rows)` with row numbers
as a person counts them in the file (header = row 1).

The steps live beside it: metadata.py (dataset.yml), readers.py (bytes to a frame of
text), convert.py (text to typed columns), rules.py (SPEC's rules), schema.py (the columns).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from evalkit.data.convert import _select_columns, convert_table
from evalkit.data.metadata import _read_yml
from evalkit.data.names import find_municipality, municipality_key
from evalkit.data.privacy import refuse_identifying, refuse_identifying_metadata
from evalkit.data.readers import read_input, read_table
from evalkit.data.rules import _check_known_case_ids, _check_names, _check_rules
from evalkit.data.schema import TABLE_COLUMNS, TABLE_FORMATS
from evalkit.errors import InputError
from evalkit.spec import TARGET_GROUPS


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


def input_fingerprint(path) -> str:
    """The `input_hash` that `load_dataset(path)` gives the dataset, from the files' bytes alone
    (nothing parsed or checked): the key of the dataset cache (evalkit.runner.cache). InputError when a
    file cannot be read, as in `load_dataset`."""
    from evalkit.data.metadata import YML_MAX_BYTES

    folder = Path(path)
    if not _is_dir(folder):
        raise InputError(str(folder), "not a dataset folder (expected a folder with dataset.yml and cases)")
    yml = folder / "dataset.yml"
    if not yml.exists() and not yml.is_symlink():
        raise InputError(str(yml), "missing dataset.yml")
    files = {"dataset.yml": read_input(yml, limit=YML_MAX_BYTES)}
    for table_path in _table_files(folder).values():
        files[table_path.name] = read_input(table_path)
    return _input_hash(files)


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
    (evalkit.data.names: "toender" finds "Tønder"); unknown names raise InputError
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
