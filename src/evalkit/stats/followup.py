"""Follow-up cadence in the first six months of a flexjob, and Step Up (SPEC section 3).

Follow-up: among valid flexjobs started on or after project_entry and on or
before E - 182 days (so the whole window is observed), the share with at least
2 (and at least 4) `opfølgning` contacts dated flexjob_start <= date <
flexjob_start + 182 days.

Step Up: cases on ledighedsydelse at E (status category) for 26 weeks or more
since project entry, with no flexjob, and whether they had a `step_up` contact.
"""

from __future__ import annotations

import pandas as pd

from evalkit.stats.status import status_at, valid_flexjob

WINDOW_DAYS = 182  # 26 weeks
STEP_UP_DAYS = 26 * 7
_NO_HOURS = pd.DataFrame({"case_id": pd.Series(dtype=object), "month": pd.Series(dtype="datetime64[ns]"),
                          "effective_hours": pd.Series(dtype=float)})


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def follow_up_counts(cases: pd.DataFrame, contacts: pd.DataFrame, extraction_date: pd.Timestamp) -> pd.Series:
    """Number of `opfølgning` contacts in the 182-day window, per case in the follow-up population (index case_id)."""
    e = pd.Timestamp(extraction_date)
    window = pd.Timedelta(days=WINDOW_DAYS)
    in_population = (
        valid_flexjob(cases, e)
        & (cases["flexjob_start"] >= cases["project_entry"])
        & (cases["flexjob_start"] <= e - window)
    )
    start = cases.loc[in_population].set_index("case_id")["flexjob_start"]
    c = contacts.loc[(contacts["kind"] == "opfølgning") & contacts["case_id"].isin(start.index), ["case_id", "date"]]
    case_start = c["case_id"].map(start)
    c = c[(c["date"] >= case_start) & (c["date"] < case_start + window)]
    counts = c.groupby("case_id").size()
    return counts.reindex(start.index, fill_value=0).rename("n_follow_ups")


def follow_up_summary(counts: pd.Series) -> dict:
    """{n, n_2, n_4, share_2, share_4} from `follow_up_counts`."""
    n, n_2, n_4 = len(counts), int((counts >= 2).sum()), int((counts >= 4).sum())
    return {"n": n, "n_2": n_2, "n_4": n_4, "share_2": _share(n_2, n), "share_4": _share(n_4, n)}


def follow_up(cases: pd.DataFrame, contacts: pd.DataFrame, extraction_date: pd.Timestamp) -> dict:
    """{n, n_2, n_4, share_2, share_4}: flexjobs followed up at least 2 and 4 times in 182 days."""
    return follow_up_summary(follow_up_counts(cases, contacts, extraction_date))


def step_up_flags(cases: pd.DataFrame, contacts: pd.DataFrame, extraction_date: pd.Timestamp,
                  status: pd.Series | None = None) -> pd.DataFrame:
    """Per case: `population` (on ledighedsydelse at E for 26+ weeks, no flexjob) and `had_step_up`.

    The 26 weeks count from project entry, or from benefit_start when the
    benefit began later (time on ledighedsydelse within the project).
    `status` may pass the cases' already computed `status_at`.
    """
    e = pd.Timestamp(extraction_date)
    if status is None:
        status = status_at(cases, _NO_HOURS, e)  # hours only split the flexjob categories
    since = cases["project_entry"].where(
        cases["benefit_start"].isna() | (cases["benefit_start"] <= cases["project_entry"]), cases["benefit_start"]
    )
    population = (status == "ledighedsydelse") & ((e - since).dt.days >= STEP_UP_DAYS) & ~valid_flexjob(cases, e)
    had = contacts.loc[(contacts["kind"] == "step_up") & (contacts["date"] <= e), "case_id"]
    return pd.DataFrame({"population": population, "had_step_up": population & cases["case_id"].isin(had)})


def step_up_summary(flags: pd.DataFrame) -> dict:
    """{n, n_with_step_up, share} from `step_up_flags`."""
    n, k = int(flags["population"].sum()), int(flags["had_step_up"].sum())
    return {"n": n, "n_with_step_up": k, "share": _share(k, n)}


def step_up(cases: pd.DataFrame, contacts: pd.DataFrame, extraction_date: pd.Timestamp,
            status: pd.Series | None = None) -> dict:
    """{n, n_with_step_up, share}: ledighedsydelse cases at E for 26+ weeks with no flexjob, and a step_up contact."""
    return step_up_summary(step_up_flags(cases, contacts, extraction_date, status))
