"""Load and validate a dataset folder (SPEC section 1).

A dataset is a folder with dataset.yml, cases and optional hours, contacts and
goals tables (CSV, Parquet or XLSX). `load_dataset` returns a `Dataset` of typed
frames; every optional table is present as an empty frame with its columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

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
