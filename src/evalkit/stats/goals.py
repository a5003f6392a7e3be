"""Goal tracking (Målstyring): realised versus target per employee, team and week, and year to date.

The goals table has one row per team, employee, ISO week and indicator (company
contacts, job openings, placements, ...). Indicators are never added together:
every frame keeps `indicator` as a column. Year to date is cumulative within the
ISO year of the week.
"""

from __future__ import annotations

import pandas as pd

from evalkit.errors import InputError

_WEEK = r"^(\d{4})-W(\d{1,2})$"


def _share(realised: pd.Series, target: pd.Series) -> pd.Series:
    """realised / target; NaN where the target is 0."""
    return realised / target.where(target > 0)


def _with_weeks(goals: pd.DataFrame) -> pd.DataFrame:
    parts = goals["week"].astype(str).str.strip().str.extract(_WEEK)
    bad = parts[0].isna() | (parts[1].astype(float) > 53) | (parts[1].astype(float) < 1)
    if bad.any():
        raise InputError("goals", "week is not an ISO week like 2020-W03", rows=[i + 2 for i in range(len(goals)) if bad.iloc[i]])
    year, week = parts[0].astype(int), parts[1].astype(int)
    return goals.assign(iso_year=year.values, week_no=week.values,
                        week=[f"{y}-W{w:02d}" for y, w in zip(year, week)])


def _sum_by(goals: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = goals.groupby(keys, sort=True, dropna=False)[["realised", "target"]].sum().reset_index()
    out["share"] = _share(out["realised"], out["target"])
    return out


def _year_to_date(weekly: pd.DataFrame, who: list[str]) -> pd.DataFrame:
    """Cumulative realised and target within each ISO year, week by week."""
    keys = [*who, "indicator", "iso_year"]
    ytd = weekly.sort_values([*keys, "week_no"]).copy()
    grouped = ytd.groupby(keys, sort=True, dropna=False)
    ytd["realised_ytd"] = grouped["realised"].cumsum()
    ytd["target_ytd"] = grouped["target"].cumsum()
    ytd["share_ytd"] = _share(ytd["realised_ytd"], ytd["target_ytd"])
    return ytd.reset_index(drop=True)


def goal_tracking(goals: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Frames ready for a report.

    - employee_week: team, employee_id, indicator, iso_year, week, realised, target, share
    - team_week: the same summed over the team's employees
    - employee_ytd / team_ytd: weekly rows with cumulative realised_ytd, target_ytd, share_ytd
    - employee_year / team_year: the year-to-date totals (last week of each ISO year present)
    """
    g = _with_weeks(goals)
    employee_week = _sum_by(g, ["team", "employee_id", "indicator", "iso_year", "week_no", "week"])
    team_week = _sum_by(g, ["team", "indicator", "iso_year", "week_no", "week"])
    employee_ytd = _year_to_date(employee_week, ["team", "employee_id"])
    team_ytd = _year_to_date(team_week, ["team"])

    def year_totals(ytd, who):
        last = ytd.groupby([*who, "indicator", "iso_year"], sort=True, dropna=False).tail(1)
        return last[[*who, "indicator", "iso_year", "week", "realised_ytd", "target_ytd", "share_ytd"]].rename(
            columns={"week": "to_week"}).reset_index(drop=True)

    drop = ["week_no"]
    return {
        "employee_week": employee_week.drop(columns=drop),
        "team_week": team_week.drop(columns=drop),
        "employee_ytd": employee_ytd.drop(columns=drop),
        "team_ytd": team_ytd.drop(columns=drop),
        "employee_year": year_totals(employee_ytd, ["team", "employee_id"]),
        "team_year": year_totals(team_ytd, ["team"]),
    }
