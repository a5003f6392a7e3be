"""The dataset as it would have been extracted on an earlier date D (SPEC section 7).

`as_of(ds, D)` keeps the cases with project_entry <= D; benefit_start,
flexjob_start and exit_date (with exit_reason) after D become absent; hours rows
(month's first day), contacts (date) and goals weeks (Monday) after D are
dropped, as are rows of cases not yet in the project; a given `status` is
dropped so status is derived at D; E becomes D. Round spans end at D when they
would end later (rounds that start after D are kept as given: no case of theirs
has a month start in its caseload span). Every indicator of the result is then
what `evalkit indicators` gives on that extract.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from evalkit.data.dataset import Dataset, subset
from evalkit.errors import InputError
from evalkit.stats.indicators import compute_indicators

DATE_COLUMNS = ("benefit_start", "flexjob_start", "exit_date")


def check_as_of(ds: Dataset, date) -> pd.Timestamp:
    """D as a Timestamp; InputError unless first project_entry <= D <= E."""
    d = pd.Timestamp(date).normalize()
    if d > ds.extraction_date:
        raise InputError("--as-of", f"date {d:%Y-%m-%d} is after the extraction date "
                                    f"{ds.extraction_date:%Y-%m-%d} (nothing is known after it)")
    if d < ds.cases["project_entry"].min():
        raise InputError("--as-of", f"date {d:%Y-%m-%d} is before the first project_entry in cases "
                                    "(no case had entered the project)")
    return d


def truncate_cases(cases: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """The cases known on D: project_entry <= D, later event dates absent, no given status."""
    d = pd.Timestamp(date)
    out = cases[cases["project_entry"] <= d].copy()
    later_exit = out["exit_date"] > d
    for column in DATE_COLUMNS:
        out[column] = out[column].where(~(out[column] > d))
    if "exit_reason" in out:
        out["exit_reason"] = out["exit_reason"].where(~later_exit)
    if "status" in out:
        out["status"] = np.nan
    return out.reset_index(drop=True)


def week_monday(weeks: pd.Series) -> pd.Series:
    """The Monday of ISO weeks written 'YYYY-Www' (NaT when missing)."""
    return pd.to_datetime(weeks.astype("string") + "-1", format="%G-W%V-%u", errors="coerce")


def as_of(ds: Dataset, date) -> Dataset:
    """The dataset as it would have been extracted on `date` (checked by `check_as_of`)."""
    d = check_as_of(ds, date)
    cases = truncate_cases(ds.cases, d)
    ids = cases["case_id"]
    hours = ds.hours[(ds.hours["month"] <= d) & ds.hours["case_id"].isin(ids)]
    contacts = ds.contacts[(ds.contacts["date"] <= d) & ds.contacts["case_id"].isin(ids)]
    goals = ds.goals[~(week_monday(ds.goals["week"]) > d)] if len(ds.goals) else ds.goals
    rounds = {r: (start, min(end, d)) if start <= d else (start, end) for r, (start, end) in ds.rounds.items()}
    return replace(
        ds,
        extraction_date=d,
        cases=cases,
        hours=hours.reset_index(drop=True),
        contacts=contacts.reset_index(drop=True),
        goals=goals.reset_index(drop=True),
        rounds=rounds,
    )


def indicators_as_of(ds: Dataset, date, municipality: str | None = None, round_: int | None = None,
                     targets_file=None) -> dict:
    """`compute_indicators` on the dataset as extracted on `date` (`evalkit indicators --as-of`).

    Municipality and round are checked against the full dataset first, so a
    selection with no case entered by D is named as such, not as unknown.
    """
    subset(ds, municipality=municipality, round_=round_)
    dated = as_of(ds, date)
    try:
        subset(dated, municipality=municipality, round_=round_)
    except InputError:  # the names exist (checked above): none of its cases had entered yet
        raise InputError("--as-of", f"no case of the selection had entered the project by "
                                    f"{dated.extraction_date:%Y-%m-%d}") from None
    return compute_indicators(dated, municipality=municipality, round_=round_, targets_file=targets_file)
