"""The tables of a dataset (SPEC section 1): their columns and types, which are required, the accepted formats."""

from __future__ import annotations

import re

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
