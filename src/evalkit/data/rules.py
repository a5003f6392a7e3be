"""The rules of SPEC "Rejected input" as pandera schemas, checked on the typed tables."""

from __future__ import annotations

import pandas as pd

from evalkit.data.names import refuse_long_names, refuse_spelling_variants
from evalkit.data.schema import MAX_WEEKLY_HOURS, NON_NULL_COLUMNS, TABLE_COLUMNS
from evalkit.errors import InputError
from evalkit.spec import CHANNELS, KINDS, STATUS_CATEGORIES, TARGET_GROUPS


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
    sane length, one spelling per municipality (evalkit.data.names), and no case that
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
