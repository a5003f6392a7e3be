"""Valid flexjobs and status categories at the extraction date (SPEC sections 2-3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.spec import STATUS_CATEGORIES


def valid_flexjob(cases: pd.DataFrame, extraction_date: pd.Timestamp) -> pd.Series:
    """True where a flexjob started on or before E and not after the case's exit_date.

    A flexjob after an exit belongs to another course; one on the exit day counts.
    """
    start = cases["flexjob_start"]
    exit_ = cases["exit_date"]
    return start.notna() & (start <= extraction_date) & (exit_.isna() | (start <= exit_))


def latest_effective_hours(hours: pd.DataFrame, extraction_date: pd.Timestamp) -> pd.Series:
    """Each case's latest effective_hours at or before E (index: case_id)."""
    h = hours[hours["month"] <= extraction_date]
    if h.empty:
        return pd.Series(dtype=float, name="effective_hours")
    last = h.sort_values(["case_id", "month"]).groupby("case_id").tail(1)
    return last.set_index("case_id")["effective_hours"]


def status_at(cases: pd.DataFrame, hours: pd.DataFrame, extraction_date: pd.Timestamp) -> pd.Series:
    """Status category of each case at E: the given `status` where present, else derived.

    Order of the rules: udgået (exit_date <= E), fleksjob_over_10 / fleksjob_0_10
    (valid flexjob; over 10 if the latest effective hours at or before E exceed 10,
    0-10 when there is no hours row), ledighedsydelse (benefit_start present),
    else før_rehab.
    """
    e = extraction_date
    latest = cases["case_id"].map(latest_effective_hours(hours, e))
    flex = valid_flexjob(cases, e)
    # np.select takes the first rule that holds, in the order of SPEC section 2
    derived = pd.Series(np.select(
        [(cases["exit_date"] <= e).to_numpy(), (flex & (latest > 10)).to_numpy(), flex.to_numpy(),
         cases["benefit_start"].notna().to_numpy()],
        ["udgået", "fleksjob_over_10", "fleksjob_0_10", "ledighedsydelse"],
        default="før_rehab",
    ).astype(object), index=cases.index)
    given = cases["status"] if "status" in cases else pd.Series(pd.NA, index=cases.index)
    return given.where(given.notna(), derived).rename("status")


def status_counts(cases: pd.DataFrame, hours: pd.DataFrame, extraction_date: pd.Timestamp) -> dict[str, int]:
    """Number of cases per status category, all five categories, zeros included."""
    counts = status_at(cases, hours, extraction_date).value_counts()
    return {cat: int(counts.get(cat, 0)) for cat in STATUS_CATEGORIES}
