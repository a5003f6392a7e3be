"""Success criterion 3: progression in effective hours (SPEC section 3).

Hours rows before the month of project_entry and after E are ignored. A case is
eligible when its first effective_hours <= 10 and its last month is at least 6
calendar months after the first (month index difference >= 6). Change = last
minus first effective_hours rounded (halves up) to 2 decimals; progressed when
change >= 1.0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.stats.criteria import proportion

MAX_FIRST_EFFECTIVE = 10.0
MIN_MONTHS = 6
MIN_CHANGE = 1.0

TABLE_COLUMNS = [
    "case_id", "first_month", "last_month", "first_effective", "last_effective",
    "first_attended", "last_attended", "change", "progressed",
]


def round_half_up_2(x) -> np.ndarray:
    """Round to 2 decimals with halves up, as a person rounds the decimal number (0.995 -> 1.0).

    Scaling by 100 and rounding at 6 decimals first removes binary noise such as
    1.005 * 100 = 100.49999999999999 before the half-up step.
    """
    return np.floor(np.round(np.asarray(x, dtype=float) * 100, 6) + 0.5) / 100


def _month_index(dates: pd.Series) -> pd.Series:
    return dates.dt.year * 12 + dates.dt.month


def progression_table(cases: pd.DataFrame, hours: pd.DataFrame, extraction_date: pd.Timestamp) -> pd.DataFrame:
    """One row per case eligible for success criterion 3, with its first and last month."""
    entry = cases.set_index("case_id")["project_entry"]
    h = hours[hours["case_id"].isin(entry.index) & (hours["month"] <= extraction_date)]
    h = h[_month_index(h["month"]) >= _month_index(h["case_id"].map(entry))]
    if "attended_hours" not in h:
        h = h.assign(attended_hours=np.nan)
    h = h.sort_values(["case_id", "month"], kind="stable")
    by_case = h.groupby("case_id", sort=True)
    first, last = by_case.head(1).set_index("case_id"), by_case.tail(1).set_index("case_id")
    table = pd.DataFrame({
        "first_month": first["month"],
        "last_month": last["month"],
        "first_effective": first["effective_hours"].astype(float),
        "last_effective": last["effective_hours"].astype(float),
        "first_attended": first["attended_hours"].astype(float),
        "last_attended": last["attended_hours"].astype(float),
    })
    months_apart = _month_index(table["last_month"]) - _month_index(table["first_month"])
    table = table[(table["first_effective"] <= MAX_FIRST_EFFECTIVE) & (months_apart >= MIN_MONTHS)]
    change = round_half_up_2(table["last_effective"] - table["first_effective"])
    table = table.assign(change=change, progressed=change >= MIN_CHANGE)
    return table.rename_axis("case_id").reset_index()[TABLE_COLUMNS]


def sc3_from_table(table: pd.DataFrame) -> dict:
    """{n, k, value, ci_low, ci_high, mean_change, median_change} from a progression table."""
    result = proportion(int(table["progressed"].sum()), len(table))
    result["mean_change"] = float(table["change"].mean()) if len(table) else None
    result["median_change"] = float(table["change"].median()) if len(table) else None
    return result


def sc3(cases: pd.DataFrame, hours: pd.DataFrame, extraction_date: pd.Timestamp) -> dict:
    """Success criterion 3: share of eligible cases that progressed, with mean and median change."""
    return sc3_from_table(progression_table(cases, hours, extraction_date))
